/* backend_presence: a backend's presence as a share-group member, retained
 * at the broker (backend/publisher.h), as `fleetctl stats` shows it: online
 * while it runs, "lost" (an offline member whose session holds a share of
 * the faces) after a SIGKILL, "stopped" after a clean stop. */
#include "ff_test.h"
#include "ff_test_env.h"
#include "test_backend_common.h"
#include "test_fleetctl_common.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Polls `fleetctl stats --format json` (10 s) until it shows instance
 * <run>-<name> in state; true when it does. */
static bool stats_show(const char *name, const char *state)
{
	char want[256];
	snprintf(want, sizeof(want),
		 "{\"instance\":\"%s-%s\",\"share_group\":\"%s-pres\",\"session_expiry_s\":120,"
		 "\"state\":\"%s\"}",
		 bt_run_id(), name, bt_run_id(), state);
	for (int i = 0; i < 50; i++) {
		if (fct_run("stats --format json") == 0 && strstr(fct_output(), want))
			return true;
		usleep(200 * 1000);
	}
	fprintf(stderr, "stats never showed %s; last output:\n%s\n", want, fct_output());
	return false;
}

/* Clears the retained presence of <run>-<name> and ends its broker session
 * (a SIGKILLed backend's lasts session_expiry_s): a clean-start login under
 * its client id with the stack's service account. */
static void forget(const char *name)
{
	fct_client c = { 0 };
	char topic[128], cid[128];
	snprintf(topic, sizeof(topic), "facefleet/backend/%s-%s/status", bt_run_id(), name);
	snprintf(cid, sizeof(cid), "fleet-backend-%s-%s", bt_run_id(), name);
	if (fct_connect(&c, ff_test_env_need("FF_MQTT_URL"), ff_test_env_need("FF_MQTT_USER"), cid,
			ff_test_env_need("FF_MQTT_PASSWORD"), NULL) == FF_OK)
		CU_ASSERT_EQUAL(ff_mqtt_publish(c.m, topic, "", 0, 1, true, 5000), FF_OK);
	fct_close(&c);
}

static void test_member_states(void)
{
	bt_proc a, b;
	const char *extra[] = { "--workers=1", NULL };
	int st;

	CU_ASSERT_FATAL(bt_start(&a, "pa", "pres", extra));
	CU_ASSERT(stats_show("pa", "online"));
	kill(a.pid, SIGKILL);
	waitpid(a.pid, &st, 0);
	CU_ASSERT(stats_show("pa", "lost"));
	CU_ASSERT(strstr(fct_output(), "\"share_group_members_offline\":") != NULL);
	CU_ASSERT_EQUAL(fct_run("stats"), 0); /* the table says what "lost" means */
	CU_ASSERT(strstr(fct_output(), "offline member") != NULL);

	CU_ASSERT_FATAL(bt_start(&b, "pb", "pres", extra));
	CU_ASSERT(stats_show("pb", "online"));
	CU_ASSERT_EQUAL(bt_stop(&b), 0);
	CU_ASSERT(stats_show("pb", "stopped"));
	forget("pa");
	forget("pb");
}

static CU_TestInfo tests[] = {
	{ "member_states", test_member_states },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_presence", NULL, NULL, NULL, NULL, tests });
