/* backend_http_revoke: POST /api/v1/devices/{device}/revoke against a real
 * fleet-backend, broker and database, with devices provisioned by fleetctl
 * (a broker account each, logged in with its bundle).
 * - With the broker admin account (the stack's backend-admin.conf): the
 *   device's open session is dropped at once, its password no longer logs
 *   in, reply and audit row say broker_account disabled; a device without a
 *   broker account says not_found.
 * - Without it (backend.conf): broker_account not_configured, the account
 *   still logs in, and the backend refuses the revoked device's faces
 *   (device_disabled, no event).
 * - With an admin account the broker refuses: 503, nothing changed. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_backend_http_common.h"
#include "test_fleetctl_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facefleet/error.h"
#include "facefleet/exit.h"

static PGconn *db;
static char site[48], tok[160];

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A fleetctl-provisioned device of the test's site, its id into dev. */
static void add_device(char *dev, size_t cap, const char *prefix)
{
	fct_id(dev, cap, prefix);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), FF_EXIT_OK);
}

/* Starts a backend (extra: --config=... or NULL) and points the client at it. */
static void start_backend(bt_proc *be, const char *name, const char *const *extra)
{
	char base[64];
	CU_ASSERT_FATAL(bt_start(be, name, name, extra));
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", be->metrics_port);
	ht_base(base, NULL);
}

/* POST .../revoke of dev: the status; the reply's broker_account into ba. */
static long revoke(const char *dev, char *ba, size_t cap)
{
	char path[160];
	const char *v;
	ht_reply r;
	cJSON *o;
	long st;
	snprintf(path, sizeof(path), "/api/v1/devices/%s/revoke", dev);
	r = ht_call("POST", path, tok, NULL, 0, NULL);
	st = r.status;
	o = ht_json(&r);
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "broker_account"));
	snprintf(ba, cap, "%s", v ? v : "");
	if (st == 200)
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"state\":\"revoked\""));
	cJSON_Delete(o);
	ht_free(&r);
	return st;
}

/* Audit rows of the API's revoke of dev whose broker_account is ba. */
static long audited(const char *dev, const char *ba)
{
	const char *p[2] = { dev, ba };
	return bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = 'device.revoke' "
				 "AND subject = $1 AND actor LIKE 'api:%' AND detail->>'broker_account' = $2",
			     2, p);
}

static long enabled(const char *dev)
{
	const char *p[1] = { dev };
	return bt_query_long(db, "SELECT count(*) FROM devices WHERE device_id = $1 AND enabled", 1, p);
}

static void test_setup(void)
{
	char name[48];
	db = bt_db();
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	fct_id(site, sizeof(site), "rvs");
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), FF_EXIT_OK);
	snprintf(name, sizeof(name), "%s-rv", bt_run_id());
	CU_ASSERT_FATAL(ht_token(db, name, "operator", NULL, tok, sizeof(tok)));
}

static void test_with_admin(void)
{
	char dev[48], bare[48], ba[64], conf[600], arg[640], t[160];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	const char *extra[2] = { arg, NULL };
	fct_client c, again;
	bt_proc be;

	snprintf(conf, sizeof(conf), "%s/backend-admin.conf", ff_test_env_need("FF_STACK_DIR"));
	snprintf(arg, sizeof(arg), "--config=%s", conf); /* the last --config wins */
	add_device(dev, sizeof(dev), "rva");
	FF_ASSERT_OK(fct_connect_device(&c, url, dev, NULL, NULL, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.m);
	snprintf(t, sizeof(t), "fleet/%s/%s/faces", site, dev);
	FF_ASSERT_OK(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000));
	start_backend(&be, "rvadmin", extra);

	CU_ASSERT_EQUAL(revoke(dev, ba, sizeof(ba)), 200);
	CU_ASSERT_STRING_EQUAL(ba, "disabled");
	CU_ASSERT_TRUE(fct_wait_disconnected(&c, 2000)); /* its session dropped */
	fct_close(&c);
	CU_ASSERT_EQUAL(fct_connect_device(&again, url, dev, NULL, NULL, NULL), FF_ERR_AUTH);
	fct_close(&again);
	CU_ASSERT_EQUAL(audited(dev, "disabled"), 1);
	CU_ASSERT_EQUAL(enabled(dev), 0);

	/* a device row without a broker account (made before fleetctl, or by hand) */
	fct_id(bare, sizeof(bare), "rvb");
	CU_ASSERT_FATAL(bt_add_device(db, bare, site, true));
	CU_ASSERT_EQUAL(revoke(bare, ba, sizeof(ba)), 200);
	CU_ASSERT_STRING_EQUAL(ba, "not_found");
	CU_ASSERT_EQUAL(audited(bare, "not_found"), 1);
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
}

static void test_without_admin(void)
{
	char dev[48], ba[64], t[160];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	const char *p[1] = { dev };
	uint8_t buf[512];
	size_t n;
	fct_client c;
	bt_proc be;
	double before;

	add_device(dev, sizeof(dev), "rvn");
	FF_ASSERT_OK(fct_connect_device(&c, url, dev, NULL, NULL, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.m);
	start_backend(&be, "rvplain", NULL);
	CU_ASSERT_EQUAL(revoke(dev, ba, sizeof(ba)), 200);
	CU_ASSERT_STRING_EQUAL(ba, "not_configured");
	CU_ASSERT_EQUAL(audited(dev, "not_configured"), 1);
	/* the account still works: only the backend refuses the device now */
	sleep_ms(500);
	CU_ASSERT_EQUAL(c.lost, 0);
	before = bt_metric(&be, "ff_backend_rejected_total{reason=\"device_disabled\"}");
	n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	CU_ASSERT_FATAL(n > 0);
	FF_ASSERT_OK(ff_mqtt_publish(c.m, bt_faces_topic(t, sizeof(t), site, dev), buf, n, 1, false, 5000));
	for (int i = 0; i < 100 && bt_metric(&be, "ff_backend_rejected_total{reason=\"device_disabled\"}") <
					   before + 1; i++)
		sleep_ms(100);
	CU_ASSERT(bt_metric(&be, "ff_backend_rejected_total{reason=\"device_disabled\"}") >= before + 1);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				      1, p), 0);
	fct_close(&c);
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
}

/* an admin account the broker refuses: 503, the device stays enabled */
static void test_broker_refuses(void)
{
	char dev[48], ba[64], user[80];
	const char *extra[2] = { user, NULL };
	bt_proc be;
	snprintf(user, sizeof(user), "--broker-admin-user=%s-nobody", bt_run_id());
	add_device(dev, sizeof(dev), "rvf");
	start_backend(&be, "rvbad", extra);
	CU_ASSERT_EQUAL(revoke(dev, ba, sizeof(ba)), 503);
	CU_ASSERT_EQUAL(enabled(dev), 1);
	CU_ASSERT_EQUAL(audited(dev, "disabled") + audited(dev, "not_configured"), 0);
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
}

static CU_TestInfo tests[] = {
	{ "setup", test_setup },
	{ "with_admin_disables_account", test_with_admin },
	{ "without_admin_not_configured", test_without_admin },
	{ "broker_refuses_503", test_broker_refuses },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_http_revoke", NULL, NULL, NULL, NULL, tests });
