/* fleetctl_acl: what provisioning grants, against the real broker.
 *  - a device may publish only its own faces/status and subscribe only to its
 *    own config (another device's topic, access topics and wildcards refused);
 *  - an integrator sees only its sites' access events and cannot publish;
 *    `fleetctl events watch` with its bundle prints them live;
 *  - anonymous and wrong-password clients are refused;
 *  - accounts are bound to their client ids: a device cannot log in as
 *    another device or the backend (issue: client id takeover). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet.pb-c.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"
#include "ff_test.h"
#include "test_fleetctl_common.h"

static char site1[40], site2[40], dev1[40], dev2[40], dev3[40], integ[40];

static void provision(void)
{
	fct_id(site1, sizeof(site1), "acl-a");
	fct_id(site2, sizeof(site2), "acl-b");
	fct_id(dev1, sizeof(dev1), "acl-d1-");
	fct_id(dev2, sizeof(dev2), "acl-d2-");
	fct_id(dev3, sizeof(dev3), "acl-d3-");
	fct_id(integ, sizeof(integ), "acl-i");
	/* sites are registered first (migration 008's registry) */
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site1), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site2), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site1, dev1), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site1, dev2), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site2, dev3), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("subscriber add --name %s --sites %s", integ, site1), 0);
	/* a second add of the same device is refused, not duplicated */
	CU_ASSERT_EQUAL(fct_run("device add --site %s --name %s", site1, dev1), 1);
	/* usage errors exit 2 */
	CU_ASSERT_EQUAL(fct_run("device add --name %s", dev1), 2);
	CU_ASSERT_EQUAL(fct_run("device add --site BAD_SITE --name x"), 2);
	CU_ASSERT_EQUAL(fct_run("device frobnicate"), 2);
	CU_ASSERT_EQUAL(fct_run("device --help"), 0);
	CU_ASSERT_EQUAL(fct_run("device list --format json --site %s", site1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), dev2));
}

static int device_connect(fct_client *c, const char *dev)
{
	return fct_connect_device(c, ff_test_env_need("FF_MQTT_URL"), dev, NULL, NULL, NULL);
}

static void test_device_acl(void)
{
	fct_client c;
	char t[256];
	provision();
	{
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev1);
		CU_ASSERT_EQUAL(access(path, R_OK), 0);
		CU_ASSERT_STRING_EQUAL(fct_bundle_get(path, "device_id"), dev1);
		CU_ASSERT_STRING_EQUAL(fct_bundle_get(path, "site_id"), site1);
		CU_ASSERT_EQUAL(strlen(fct_bundle_get(path, "mqtt_password")), 43);
	}
	FF_ASSERT_OK(device_connect(&c, dev1));
	if (!c.m)
		return;
	snprintf(t, sizeof(t), "fleet/%s/%s/faces", site1, dev1);
	FF_ASSERT_OK(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000));
	snprintf(t, sizeof(t), "fleet/%s/%s/status", site1, dev1);
	FF_ASSERT_OK(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000));
	/* another device's topic, its own access/config topics: refused */
	snprintf(t, sizeof(t), "fleet/%s/%s/faces", site1, dev2);
	CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/%s/access", site1, dev1);
	CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/%s/config", site1, dev1);
	CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	/* subscribe: its own config only */
	FF_ASSERT_OK(ff_mqtt_subscribe(c.m, t, 1, 5000));
	snprintf(t, sizeof(t), "fleet/%s/%s/config", site1, dev2);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, t, 1, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/+/faces", site1);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, t, 1, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/%s/+", site1, dev1);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, t, 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, "fleet/#", 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, "#", 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(c.m, "$CONTROL/dynamic-security/v1/response", 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, "$CONTROL/dynamic-security/v1", "{}", 2, 1, false, 5000),
			FF_ERR_AUTH);
	fct_close(&c);
}

static size_t access_event(uint8_t *buf, size_t cap, const char *site, const char *dev, uint64_t seq)
{
	Facefleet__V1__AccessEvent e = FACEFLEET__V1__ACCESS_EVENT__INIT;
	e.schema_version = 1;
	e.event_id = "00000000-0000-4000-8000-000000000001";
	e.site_id = (char *)site;
	e.device_id = (char *)dev;
	e.seq = seq;
	e.decided_time_us = 1763900000000000LL;
	e.decision = FACEFLEET__V1__DECISION__DECISION_GRANTED;
	e.identity = "Al_Pacino";
	e.score = 0.5f;
	e.model_id = "test";
	if (facefleet__v1__access_event__get_packed_size(&e) > cap)
		return 0;
	return facefleet__v1__access_event__pack(&e, buf);
}

static void test_integrator(void)
{
	fct_client in, svc;
	char t[256], path[512], cmd[2048], line[1024];
	uint8_t ev[512];
	size_t n;
	FILE *watch;
	int lines = 0;
	bool other_site_seen = false;

	char user[128];
	snprintf(path, sizeof(path), "%s/sub.%s.conf", fct_dir(), integ);
	snprintf(user, sizeof(user), "%s", fct_bundle_get(path, "watch_user")); /* static buffer */
	FF_ASSERT_OK(fct_connect(&in, ff_test_env_need("FF_MQTT_URL"), user, user,
				 fct_bundle_get(path, "watch_password"), NULL));
	if (!in.m)
		return;
	snprintf(t, sizeof(t), "fleet/%s/+/access", site2);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(in.m, t, 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(in.m, "fleet/+/+/access", 1, 5000), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(in.m, "fleet/#", 1, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/+/faces", site1);
	CU_ASSERT_EQUAL(ff_mqtt_subscribe(in.m, t, 1, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/+/access", site1);
	FF_ASSERT_OK(ff_mqtt_subscribe(in.m, t, 1, 5000));
	/* never publish, not even on its own sites' access topics */
	snprintf(t, sizeof(t), "fleet/%s/%s/access", site1, dev1);
	CU_ASSERT_EQUAL(ff_mqtt_publish(in.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	snprintf(t, sizeof(t), "fleet/%s/%s/faces", site1, dev1);
	CU_ASSERT_EQUAL(ff_mqtt_publish(in.m, t, "x", 1, 1, false, 5000), FF_ERR_AUTH);
	/* the account is bound to one client id: one session at a time, so
	 * this one ends before events watch logs in with the same bundle */
	fct_close(&in);

	/* `fleetctl events watch` with the integrator's bundle */
	snprintf(cmd, sizeof(cmd), "'%s' --config '%s' events watch --format json --count 2 --timeout-s 20",
		 getenv("FF_FLEETCTL_BIN"), path);
	watch = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(watch);
	sleep(2);

	FF_ASSERT_OK(fct_connect_service(&svc));
	if (svc.m) {
		/* the service account plays the backend: one event per site */
		snprintf(t, sizeof(t), "fleet/%s/%s/access", site2, dev3);
		n = access_event(ev, sizeof(ev), site2, dev3, 7);
		FF_ASSERT_OK(ff_mqtt_publish(svc.m, t, ev, n, 1, false, 5000));
		snprintf(t, sizeof(t), "fleet/%s/%s/access", site1, dev1);
		n = access_event(ev, sizeof(ev), site1, dev1, 1);
		FF_ASSERT_OK(ff_mqtt_publish(svc.m, t, ev, n, 1, false, 5000));
		n = access_event(ev, sizeof(ev), site1, dev1, 2);
		FF_ASSERT_OK(ff_mqtt_publish(svc.m, t, ev, n, 1, false, 5000));
	}
	while (fgets(line, sizeof(line), watch)) {
		fprintf(stderr, "watch: %s", line);
		if (strstr(line, "\"decision\":\"granted\"") && strstr(line, site1))
			lines++;
		if (strstr(line, site2))
			other_site_seen = true;
	}
	CU_ASSERT_EQUAL(pclose(watch), 0);
	CU_ASSERT_EQUAL(lines, 2);
	CU_ASSERT_FALSE(other_site_seen);
	fct_close(&svc);
	/* operator watch: a temporary account, deleted afterwards */
	CU_ASSERT_EQUAL(fct_run("events watch --site %s --timeout-s 1", site1), 0);
	CU_ASSERT_EQUAL(fct_run("audit query --action events.watch --limit 5 --format csv"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "temporary"));
}

static void test_refused(void)
{
	fct_client c;
	char path[512];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	CU_ASSERT_EQUAL(fct_connect(&c, url, NULL, NULL, NULL, NULL), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(fct_connect(&c, url, "nobody", NULL, "nothing", NULL), FF_ERR_AUTH);
	snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev1);
	char user[128];
	snprintf(user, sizeof(user), "%s", fct_bundle_get(path, "mqtt_username"));
	CU_ASSERT_EQUAL(fct_connect(&c, url, user, NULL, "wrong-password", NULL), FF_ERR_AUTH);
	/* a device's password does not open another device's account */
	CU_ASSERT_EQUAL(fct_connect(&c, url, "dev.nonexistent", NULL, fct_bundle_get(path, "mqtt_password"), NULL),
			FF_ERR_AUTH);
	/* the DB holds no password: the audit row names the role, never a secret */
	CU_ASSERT_EQUAL(fct_run("audit query --device %s --format json", dev1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "device.provision"));
	CU_ASSERT_PTR_NULL(strstr(fct_output(), fct_bundle_get(path, "mqtt_password")));
}

/* A device's account logs in only under its own client id: taking another
 * device's or the backend's id is refused, and the owner's session stays. */
static void test_client_id_takeover(void)
{
	fct_client owner, thief;
	char path[512], cid2[128], want[128];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev2);
	snprintf(cid2, sizeof(cid2), "%s", fct_bundle_get(path, "mqtt_client_id"));
	snprintf(want, sizeof(want), "%s-%s", site1, dev2);
	CU_ASSERT_STRING_EQUAL(cid2, want);
	FF_ASSERT_OK(device_connect(&owner, dev2));
	CU_ASSERT_PTR_NOT_NULL_FATAL(owner.m);
	CU_ASSERT_EQUAL(fct_connect_device(&thief, url, dev1, cid2, NULL, NULL), FF_ERR_AUTH);
	fct_close(&thief);
	CU_ASSERT_EQUAL(fct_connect_device(&thief, url, dev1, "fleet-backend-rt", NULL, NULL), FF_ERR_AUTH);
	fct_close(&thief);
	CU_ASSERT_EQUAL(fct_connect_device(&thief, url, dev1, "", NULL, NULL), FF_ERR_AUTH);
	fct_close(&thief);
	/* an integrator is bound to client id = its user name */
	snprintf(path, sizeof(path), "%s/sub.%s.conf", fct_dir(), integ);
	{
		char user[128];
		snprintf(user, sizeof(user), "%s", fct_bundle_get(path, "watch_user"));
		CU_ASSERT_EQUAL(fct_connect(&thief, url, user, cid2, fct_bundle_get(path, "watch_password"), NULL),
				FF_ERR_AUTH);
		fct_close(&thief);
	}
	CU_ASSERT_FALSE(fct_wait_disconnected(&owner, 300));
	CU_ASSERT_EQUAL(owner.lost, 0);
	fct_close(&owner);
}

/* A backend instance's two accounts (fleetctl backend add) log in only
 * under their own client ids: no one takes over its persistent session. */
static void test_backend_accounts_bound(void)
{
	fct_client c;
	char name[40], path[512], user[128], pub[128], pw[128], cid[128], want[200];
	const char *url = ff_test_env_need("FF_MQTT_URL");
	fct_id(name, sizeof(name), "acl-be");
	CU_ASSERT_EQUAL_FATAL(fct_run("backend add --name %s", name), 0);
	CU_ASSERT_EQUAL(fct_run("backend add --name %s", name), 1); /* exists */
	CU_ASSERT_EQUAL(fct_run("backend add --name BAD"), 2);
	snprintf(path, sizeof(path), "%s/backend.%s.conf", fct_dir(), name);
	snprintf(user, sizeof(user), "%s", fct_bundle_get(path, "mqtt_user"));
	snprintf(pub, sizeof(pub), "%s", fct_bundle_get(path, "mqtt_pub_user"));
	snprintf(pw, sizeof(pw), "%s", fct_bundle_get(path, "mqtt_password"));
	snprintf(cid, sizeof(cid), "%s", fct_bundle_get(path, "mqtt_client_id"));
	snprintf(want, sizeof(want), "fleet-backend-%s", name);
	CU_ASSERT_STRING_EQUAL(cid, want);
	FF_ASSERT_OK(fct_connect(&c, url, user, cid, pw, NULL));
	fct_close(&c);
	snprintf(want, sizeof(want), "%s-pub", cid);
	FF_ASSERT_OK(fct_connect(&c, url, pub, want, pw, NULL));
	fct_close(&c);
	/* each under another id: refused (the other's, another backend's, a device's) */
	CU_ASSERT_EQUAL(fct_connect(&c, url, user, want, pw, NULL), FF_ERR_AUTH);
	fct_close(&c);
	CU_ASSERT_EQUAL(fct_connect(&c, url, pub, cid, pw, NULL), FF_ERR_AUTH);
	fct_close(&c);
	CU_ASSERT_EQUAL(fct_connect(&c, url, user, "fleet-backend-rt", pw, NULL), FF_ERR_AUTH);
	fct_close(&c);
}

static CU_TestInfo acl_tests[] = {
	{ "device_acl", test_device_acl },
	{ "integrator_sees_only_its_sites", test_integrator },
	{ "anonymous_and_wrong_password_refused", test_refused },
	{ "client_id_takeover_refused", test_client_id_takeover },
	{ "backend_accounts_bound", test_backend_accounts_bound },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_acl", NULL, NULL, NULL, NULL, acl_tests });
