/* backend_tls: fleet-backend on another host talks TLS to the broker. Its
 * inbound session (the hand-written MQTT v5 client that acknowledges after
 * the commit) and its outbound publisher both connect to the stack's TLS
 * listener, verify the broker against the project CA, and decide faces;
 * with another CA the handshake is refused and nothing is received. */
#include "ff_test.h"
#include "test_backend_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_tls_end_to_end(void)
{
	PGconn *db = bt_db();
	bt_proc good, bad;
	bt_client *cli;
	char site[40], dev[40], topic[128], url[300], ca[600], other[700], cmd[1400];
	const char *p[1] = { dev };
	uint8_t buf[512];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-tls", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	snprintf(url, sizeof(url), "--mqtt-url=%s", ff_test_env_need("FF_MQTT_TLS_URL"));
	snprintf(ca, sizeof(ca), "--mqtt-ca-file=%s", ff_test_env_need("FF_MQTT_CA_FILE"));
	{
		const char *extra[] = { url, ca, NULL };
		CU_ASSERT_FATAL(bt_start(&good, "tls", "tls", extra));
	}
	cli = bt_client_new("pub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));
	n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 1, 15000), 1);
	CU_ASSERT_EQUAL(bt_access_wait(cli, 1, 15000), 1); /* the AccessEvent, published over TLS */

	/* another CA: the broker's certificate does not verify, nothing gets in */
	snprintf(cmd, sizeof(cmd), "'%s/broker-config/make-certs' --out '/tmp/ff-othca-%s' >/dev/null 2>&1",
		 getenv("FF_SOURCE_DIR"), bt_run_id());
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(other, sizeof(other), "--mqtt-ca-file=/tmp/ff-othca-%s/ca.crt", bt_run_id());
	{
		const char *extra[] = { url, other, NULL };
		CU_ASSERT_FATAL(bt_start(&bad, "tls-bad", "tls-bad", extra));
	}
	CU_ASSERT_TRUE(bt_log_has(bad.log, "event=tls_failed"));
	CU_ASSERT_FALSE(bt_log_has(bad.log, "event=subscribed"));
	CU_ASSERT_EQUAL(bt_stop(&bad), 0);
	CU_ASSERT_EQUAL(bt_stop(&good), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '/tmp/ff-othca-%s'", bt_run_id());
	CU_ASSERT_EQUAL(system(cmd), 0);
	bt_client_free(cli);
	PQfinish(db);
}

static CU_TestInfo tests[] = {
	{ "tls_end_to_end", test_tls_end_to_end },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_tls", NULL, NULL, NULL, NULL, tests });
