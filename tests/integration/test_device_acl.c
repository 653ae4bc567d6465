/* device_acl: fleet-device under a per-device broker account, made as
 * broker-config/ACL.md describes (dynamic security: role dev.<device> may
 * publish its faces and status and subscribe to its config, nothing else),
 * through mosquitto_ctrl with the stack's admin account:
 *  - with its own account a device delivers faces, its status and last will,
 *    and receives its retained config;
 *  - a device posing as another device with those credentials is refused:
 *    nothing it sends arrives, and it says so (publish_refused,
 *    subscribe_refused). */
#include "ff_test.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_test.h"
#include "facefleet.pb-c.h"
#include "facefleet/error.h"

static char dev[40], pw[40];

/* Runs `mosquitto_ctrl ... dynsec <args>` as the stack's admin; returns its status. */
static int dynsec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dynsec(const char *fmt, ...)
{
	char args[512], cmd[1024];
	va_list ap;
	int rc;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "mosquitto_ctrl -h 127.0.0.1 -p %s -u %s -P %s dynsec %s >/dev/null 2>&1",
		 ff_test_env_need("FF_MQTT_PORT"), ff_test_env_need("FF_MQTT_ADMIN_USER"),
		 ff_test_env_need("FF_MQTT_ADMIN_PASSWORD"), args);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "mosquitto_ctrl dynsec %s: status %d\n", args, rc);
	return rc;
}

static int suite_init(void)
{
	if (!ff_test_env_get("FF_MQTT_ADMIN_USER") || system("command -v mosquitto_ctrl >/dev/null") != 0)
		ff_test_skip("no dynamic-security admin account or mosquitto_ctrl in this stack");
	snprintf(dev, sizeof(dev), "acl-%ld", (long)getpid());
	snprintf(pw, sizeof(pw), "pw%08lx%08lx", (unsigned long)getpid(), (unsigned long)time(NULL));
	/* the role fleetctl gives a device (ACL.md) */
	if (dynsec("createRole dev.%s", dev) ||
	    dynsec("addRoleACL dev.%s publishClientSend fleet/test-site/%s/faces allow", dev, dev) ||
	    dynsec("addRoleACL dev.%s publishClientSend fleet/test-site/%s/status allow", dev, dev) ||
	    dynsec("addRoleACL dev.%s subscribeLiteral fleet/test-site/%s/config allow", dev, dev) ||
	    dynsec("addRoleACL dev.%s publishClientReceive fleet/test-site/%s/config allow", dev, dev) ||
	    dynsec("addRoleACL dev.%s subscribeLiteral fleet/test-site/%s/receipt allow", dev, dev) ||
	    dynsec("addRoleACL dev.%s publishClientReceive fleet/test-site/%s/receipt allow", dev, dev) ||
	    dynsec("createClient dev.%s -p %s", dev, pw) || dynsec("addClientRole dev.%s dev.%s", dev, dev))
		return 1;
	return 0;
}

static int suite_clean(void)
{
	dynsec("deleteClient dev.%s", dev);
	dynsec("deleteRole dev.%s", dev);
	return 0;
}

/* Starts the agent as device `as` with dev.<dev>'s account. */
static pid_t start_as(dt_run *run, const char *as, const char *extra)
{
	char user[80], pass[80], img[1024];
	snprintf(user, sizeof(user), "--mqtt-username=dev.%s", dev);
	snprintf(pass, sizeof(pass), "--mqtt-password=%s", pw);
	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	return dt_agent_start(run->log, -1, as, ff_test_env_need("FF_MQTT_URL"), run->outbox, user, pass,
			      "--repeat=2", extra, img, NULL);
}

static void test_own_account(void)
{
	Facefleet__V1__DeviceConfig c = FACEFLEET__V1__DEVICE_CONFIG__INIT;
	char filter[128], topic[128];
	uint8_t buf[64];
	dt_inbox ib;
	dt_run run;
	ff_mqtt *svc;
	pid_t pid;

	dt_need_models();
	dt_inbox_init(&ib);
	snprintf(filter, sizeof(filter), "fleet/test-site/%s/#", dev);
	svc = dt_client(ff_test_env_need("FF_MQTT_URL"), "test-acl-svc", false, &ib, filter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	/* a retained config the device may read: gate at 41 px */
	snprintf(topic, sizeof(topic), "fleet/test-site/%s/config", dev);
	c.schema_version = 1;
	c.config_version = 3;
	c.min_face_px = 41;
	FF_ASSERT_OK(ff_mqtt_publish(svc, topic, buf, facefleet__v1__device_config__pack(&c, buf), 1,
				     true, 5000));

	dt_run_init(&run, "acl-own");
	pid = start_as(&run, dev, "--log-level=info");
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_inbox_wait(&ib, "/faces", 2, 10), 2);
	CU_ASSERT(dt_inbox_count(&ib, "/status") >= 1);
	CU_ASSERT_FALSE(dt_file_contains(run.log, "_refused"));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=config_applied version=3 min_face_px=41"));
	FF_ASSERT_OK(ff_mqtt_publish(svc, topic, "", 0, 1, true, 5000)); /* clear it */
	ff_mqtt_disconnect(svc, 2000);
	ff_mqtt_destroy(svc);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

static void test_posing_as_another_device(void)
{
	char other[48], filter[128];
	dt_inbox ib;
	dt_run run;
	ff_mqtt *svc;
	pid_t pid;

	dt_need_models();
	snprintf(other, sizeof(other), "%s-x", dev);
	dt_inbox_init(&ib);
	snprintf(filter, sizeof(filter), "fleet/test-site/%s/#", other);
	svc = dt_client(ff_test_env_need("FF_MQTT_URL"), "test-acl-svc2", false, &ib, filter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	dt_run_init(&run, "acl-other");
	pid = start_as(&run, other, "--log-level=info");
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0); /* refused faces are dropped, not retried */
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=subscribe_refused"));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=publish_refused"));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "dropped=2"));
	dt_sleep_ms(500);
	CU_ASSERT_EQUAL(dt_inbox_count(&ib, NULL), 0); /* no face, no status */
	ff_mqtt_disconnect(svc, 2000);
	ff_mqtt_destroy(svc);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

static CU_TestInfo acl_tests[] = {
	{ "own_account", test_own_account },
	{ "posing_as_another_device", test_posing_as_another_device },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_acl", suite_init, suite_clean, NULL, NULL, acl_tests });
