/* fleetctl_revoke: revocation and rotation take effect at once, without a
 * broker restart: `device revoke` drops the device's open session and its
 * password stops working; `device rotate-credentials` drops sessions made
 * with the old password, which is refused afterwards, while the new bundle
 * logs in. The database marks the device disabled; both are audit-logged. */
#include <stdio.h>
#include <string.h>

#include "facefleet/error.h"
#include "ff_test.h"
#include "test_fleetctl_common.h"

static void bundle_password(const char *dev, char *pw, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev);
	snprintf(pw, cap, "%s", fct_bundle_get(path, "mqtt_password"));
}

/* Provisions a fresh device and connects with its bundle (c->m NULL on failure). */
static void add_connected(const char *sp, const char *dp, char *site, char *dev, char *pw, fct_client *c)
{
	fct_id(site, 40, sp);
	fct_id(dev, 40, dp);
	CU_ASSERT_EQUAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL(fct_run("device add --site %s --name %s", site, dev), 0);
	bundle_password(dev, pw, 128);
	FF_ASSERT_OK(fct_connect_device(c, ff_test_env_need("FF_MQTT_URL"), dev, NULL, pw, NULL));
}

static void test_revoke_drops_session(void)
{
	char site[40], dev[40], pw[128], t[256];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	fct_client c, again;
	add_connected("rv-s", "rv-d", site, dev, pw, &c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.m);
	snprintf(t, sizeof(t), "fleet/%s/%s/faces", site, dev);
	FF_ASSERT_OK(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000));

	CU_ASSERT_EQUAL(fct_run("device revoke %s", dev), 0);
	/* the broker kicks the open session: gone well within a second */
	CU_ASSERT_TRUE(fct_wait_disconnected(&c, 1000));
	CU_ASSERT_NOT_EQUAL(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 1000), FF_OK);
	fct_close(&c);
	CU_ASSERT_EQUAL(fct_connect_device(&again, url, dev, NULL, pw, NULL), FF_ERR_AUTH);
	fct_close(&again);

	CU_ASSERT_EQUAL(fct_run("device list --site %s --format csv", site), 0);
	{
		char want[128];
		snprintf(want, sizeof(want), "%s,%s,f,", dev, site);
		CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), want));
	}
	CU_ASSERT_EQUAL(fct_run("audit query --action device.revoke --device %s --format json", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"actor\":\"fleetctl:ctest\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"broker_account\": \"disabled\"")); /* as the API's */
	/* rotating a revoked device gives it a new password but keeps it revoked */
	CU_ASSERT_EQUAL(fct_run("device rotate-credentials %s", dev), 0);
	bundle_password(dev, pw, sizeof(pw));
	CU_ASSERT_EQUAL(fct_connect_device(&again, url, dev, NULL, pw, NULL), FF_ERR_AUTH);
	fct_close(&again);
	CU_ASSERT_EQUAL(fct_run("device revoke no-such-device-%d", 1), 1);
}

static void test_rotate(void)
{
	char site[40], dev[40], oldpw[128], pw[128], t[256];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	fct_client c, again;
	add_connected("ro-s", "ro-d", site, dev, oldpw, &c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.m);

	CU_ASSERT_EQUAL(fct_run("device rotate-credentials --name %s", dev), 0);
	CU_ASSERT_TRUE(fct_wait_disconnected(&c, 1000));
	fct_close(&c);
	bundle_password(dev, pw, sizeof(pw));
	CU_ASSERT_STRING_NOT_EQUAL(pw, oldpw);
	CU_ASSERT_EQUAL(fct_connect_device(&again, url, dev, NULL, oldpw, NULL), FF_ERR_AUTH);
	fct_close(&again);
	FF_ASSERT_OK(fct_connect_device(&again, url, dev, NULL, pw, NULL));
	if (again.m) {
		snprintf(t, sizeof(t), "fleet/%s/%s/faces", site, dev);
		FF_ASSERT_OK(ff_mqtt_publish(again.m, t, "x", 1, 1, false, 5000));
	}
	fct_close(&again);
}

/* reset-seq sets the replay mark (either way), bumps the generation the
 * backends watch, and is audited with the old and new mark */
static void test_reset_seq(void)
{
	char site[40], dev[40], want[160];
	fct_id(site, sizeof(site), "rs-s");
	fct_id(dev, sizeof(dev), "rs-d");
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), 0);
	CU_ASSERT_EQUAL(fct_run("device reset-seq --name %s --seq 42", dev), 0);
	CU_ASSERT_EQUAL(fct_run("device list --site %s --format csv", site), 0);
	snprintf(want, sizeof(want), ",42,");
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), want));
	CU_ASSERT_EQUAL(fct_run("device reset-seq --name %s --seq 7", dev), 0);
	CU_ASSERT_EQUAL(fct_run("audit query --action device.reset_seq --device %s --format json", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"to\": 7, \"from\": 42") /* jsonb key order */);
	CU_ASSERT_EQUAL(fct_run("device reset-seq --name %s", dev), 2);
	CU_ASSERT_EQUAL(fct_run("device reset-seq --name no-such-device-%d --seq 1", 1), 1);
}

static CU_TestInfo revoke_tests[] = {
	{ "revoke_drops_open_session", test_revoke_drops_session },
	{ "reset_seq", test_reset_seq },
	{ "rotate_credentials", test_rotate },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_revoke", NULL, NULL, NULL, NULL, revoke_tests });
