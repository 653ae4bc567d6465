/* fleetctl_tls: the broker's TLS listener with the project CA, end to end:
 * a device bundle written for the TLS url (with its copy of the CA) logs in
 * and publishes with certificate verification; a client given another CA
 * (a second make-certs run) or no TLS at all is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "ff_test.h"
#include "test_fleetctl_common.h"

static void test_tls_end_to_end(void)
{
	char site[40], dev[40], path[512], ca[600], pw[128], t[256], cmd[1200];
	const char *tls = ff_test_env_need("FF_MQTT_TLS_URL");
	fct_client c;
	fct_id(site, sizeof(site), "tls-s");
	fct_id(dev, sizeof(dev), "tls-d");
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s --device-mqtt-url %s", site, dev, tls), 0);
	snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev);
	CU_ASSERT_STRING_EQUAL(fct_bundle_get(path, "mqtt_url"), tls);
	/* the bundle names its CA copy relative to itself */
	snprintf(ca, sizeof(ca), "%s/%s", fct_dir(), fct_bundle_get(path, "tls_ca_file"));
	snprintf(pw, sizeof(pw), "%s", fct_bundle_get(path, "mqtt_password"));

	FF_ASSERT_OK(fct_connect_device(&c, tls, dev, NULL, pw, ca));
	if (c.m) {
		snprintf(t, sizeof(t), "fleet/%s/%s/faces", site, dev);
		FF_ASSERT_OK(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000));
		snprintf(t, sizeof(t), "fleet/%s/other/faces", site);
		CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	}
	fct_close(&c);
	/* a wrong password over TLS is still refused */
	CU_ASSERT_EQUAL(fct_connect_device(&c, tls, dev, NULL, "wrong", ca), FF_ERR_AUTH);
	fct_close(&c);

	/* another CA: certificate verification fails, no login happens */
	snprintf(cmd, sizeof(cmd), "'%s/broker-config/make-certs' --out '%s/otherca' >&2", getenv("FF_SOURCE_DIR"),
		 fct_dir());
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(ca, sizeof(ca), "%s/otherca/ca.crt", fct_dir());
	int rc = fct_connect_device(&c, tls, dev, NULL, pw, ca);
	CU_ASSERT_NOT_EQUAL(rc, FF_OK);
	CU_ASSERT_NOT_EQUAL(rc, FF_ERR_AUTH); /* refused by TLS, before any MQTT */
	fct_close(&c);
	/* plain MQTT against the TLS port does not get in either */
	{
		char plain[256];
		const char *port = strrchr(tls, ':');
		snprintf(plain, sizeof(plain), "tcp://127.0.0.1%s", port ? port : ":0");
		CU_ASSERT_NOT_EQUAL(fct_connect_device(&c, plain, dev, NULL, pw, NULL), FF_OK);
		fct_close(&c);
	}
}

static CU_TestInfo tls_tests[] = {
	{ "tls_with_project_ca", test_tls_end_to_end },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_tls", NULL, NULL, NULL, NULL, tls_tests });
