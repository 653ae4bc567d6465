/* backend_device_status: what fleet-backend reads of the retained status
 * topics (backend/status_watch.h), through its own surfaces:
 *  - GET /api/v1/devices says online while a real fleet-device is connected
 *    (its DeviceStatus ONLINE), offline once its connection dies (SIGKILL:
 *    the broker publishes its last will) and after a clean stop (its
 *    OFFLINE status); a malformed status or an unknown device's changes
 *    nothing and is counted (ff_backend_device_status_total), the backend
 *    lives on;
 *  - /metrics counts the share group's members by state: a second member
 *    shows online, "lost" once SIGKILLed, gone once its retained presence
 *    is cleared. */
#define _GNU_SOURCE /* pipe2 */
#include "dev_test.h"
#include "ff_test.h"
#include "ff_test_env.h"
#include "test_backend_common.h"
#include "test_backend_http_common.h"

#include "facefleet.pb-c.h"
#include "facefleet/clock.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITE "test-site" /* the site dt_agent_start gives its devices */

static struct {
	PGconn *db;
	bt_proc be;
	bt_client *cli;
	char dev[40], token[128];
} W;

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
	return v ? v : "";
}

/* The state of W.dev in GET /api/v1/devices (into out), "" when absent. */
static const char *api_state(char *out, size_t cap, bool *seen)
{
	ht_reply r = ht_get("/api/v1/devices?site=" SITE, W.token);
	cJSON *j = ht_json(&r), *d;
	snprintf(out, cap, "%s", "");
	cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "devices"))
	{
		if (strcmp(str(d, "device"), W.dev) != 0)
			continue;
		snprintf(out, cap, "%s", str(d, "state"));
		if (seen)
			*seen = cJSON_IsString(cJSON_GetObjectItem(d, "last_seen"));
	}
	cJSON_Delete(j);
	ht_free(&r);
	return out;
}

/* Polls the API (15 s) until W.dev is in state; true when it is. */
static bool api_says(const char *state)
{
	char got[32] = "";
	for (int i = 0; i < 75; i++) {
		if (strcmp(api_state(got, sizeof(got), NULL), state) == 0)
			return true;
		dt_sleep_ms(200);
	}
	fprintf(stderr, "devices API: %s is %s, not %s\n", W.dev, got, state);
	return false;
}

/* Polls W.be's /metrics (15 s) until the sample name reads want. */
static bool metric_is(const char *name, double want)
{
	double v = -1;
	for (int i = 0; i < 75; i++) {
		if ((v = bt_metric(&W.be, name)) == want)
			return true;
		dt_sleep_ms(200);
	}
	fprintf(stderr, "%s is %g, not %g\n", name, v, want);
	return false;
}

static int setup(void)
{
	char base[64], name[48];
	W.db = bt_db();
	snprintf(name, sizeof(name), "ds-%s", bt_run_id());
	snprintf(W.dev, sizeof(W.dev), "ds-%s", bt_run_id());
	if (!W.db || !ht_site(W.db, SITE) || !bt_add_device(W.db, W.dev, SITE, true) ||
	    !ht_token(W.db, name, "operator", NULL, W.token, sizeof(W.token)))
		return -1;
	if (!bt_start(&W.be, "ds", "ds", NULL) || !(W.cli = bt_client_new("ds")))
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", W.be.metrics_port);
	ht_base(base, NULL);
	return 0;
}

static int teardown(void)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "fleet/" SITE "/%s/status", W.dev);
	if (W.cli) /* no retained status of this run left behind */
		bt_publish_retained(W.cli, topic, "", 0);
	bt_client_free(W.cli);
	if (W.be.pid)
		bt_stop(&W.be);
	PQfinish(W.db);
	return 0;
}

/* fleet-device on a pipe that sends no frame: connected and idle until the
 * pipe closes (then a clean stop) or it is killed. */
static pid_t device_start(dt_run *run, int *pipe_w)
{
	int fds[2];
	pid_t pid;
	/* the agent gets the read end as stdin and no copy of the write end */
	CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC) == 0);
	pid = dt_agent_start(run->log, fds[0], W.dev, ff_test_env_need("FF_MQTT_URL"), run->outbox,
			     "--source=stdin", "--width=64", "--height=64", NULL);
	close(fds[0]);
	*pipe_w = fds[1];
	return pid;
}

static void test_device_online_offline(void)
{
	dt_run run;
	int pipe_w, st;
	bool seen = false;
	char got[32];
	pid_t pid;

	dt_need_models();
	dt_run_init(&run, "ds");
	CU_ASSERT(api_says("offline")); /* no status, no face */
	/* connected -> online (DeviceStatus ONLINE), with a last_seen */
	pid = device_start(&run, &pipe_w);
	CU_ASSERT(api_says("online"));
	api_state(got, sizeof(got), &seen);
	CU_ASSERT(seen);
	/* its connection dies: the broker publishes its last will */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(pipe_w);
	CU_ASSERT(api_says("offline"));
	/* again, then a clean stop: its own OFFLINE status */
	pid = device_start(&run, &pipe_w);
	CU_ASSERT(api_says("online"));
	close(pipe_w); /* end of input: the agent drains and stops */
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 0);
	CU_ASSERT(api_says("offline"));
	dt_cleanup(run.tmp);
}

static void test_bad_statuses(void)
{
	Facefleet__V1__DeviceStatus s = FACEFLEET__V1__DEVICE_STATUS__INIT;
	uint8_t buf[256];
	char topic[128], other[40];
	double invalid = bt_metric(&W.be, "ff_backend_device_status_total{result=\"invalid\"}");
	double unknown = bt_metric(&W.be, "ff_backend_device_status_total{result=\"unknown_device\"}");
	size_t n;

	CU_ASSERT_FATAL(invalid >= 0 && unknown >= 0);
	CU_ASSERT(api_says("offline"));
	snprintf(topic, sizeof(topic), "fleet/" SITE "/%s/status", W.dev);
	CU_ASSERT(bt_publish(W.cli, topic, "\xff\xff\xff\xff", 4)); /* not a DeviceStatus */
	s.schema_version = 3;
	s.site_id = (char *)SITE;
	s.device_id = (char *)"someone-else"; /* not the topic's device */
	s.state = FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE;
	s.time_us = ff_now_us();
	n = facefleet__v1__device_status__pack(&s, buf);
	CU_ASSERT(bt_publish(W.cli, topic, buf, n));
	CU_ASSERT(metric_is("ff_backend_device_status_total{result=\"invalid\"}", invalid + 2));
	/* a device not in the registry: counted, not kept */
	snprintf(other, sizeof(other), "dx-%s", bt_run_id());
	snprintf(topic, sizeof(topic), "fleet/" SITE "/%s/status", other);
	s.device_id = other;
	n = facefleet__v1__device_status__pack(&s, buf);
	CU_ASSERT(bt_publish(W.cli, topic, buf, n));
	CU_ASSERT(metric_is("ff_backend_device_status_total{result=\"unknown_device\"}", unknown + 1));
	CU_ASSERT(api_says("offline"));
	CU_ASSERT(bt_alive(&W.be));
}

static void test_members(void)
{
	bt_proc b;
	char online[160], lost[160], topic[128];
	int st;
	snprintf(online, sizeof(online),
		 "ff_backend_share_group_members{share_group=\"%s-ds\",state=\"online\"}", bt_run_id());
	snprintf(lost, sizeof(lost),
		 "ff_backend_share_group_members{share_group=\"%s-ds\",state=\"lost\"}", bt_run_id());
	CU_ASSERT(metric_is(online, 1)); /* itself */
	CU_ASSERT(metric_is(lost, 0));
	CU_ASSERT_FATAL(bt_start(&b, "ds2", "ds", NULL));
	CU_ASSERT(metric_is(online, 2));
	kill(b.pid, SIGKILL);
	waitpid(b.pid, &st, 0);
	CU_ASSERT(metric_is(lost, 1));
	CU_ASSERT(metric_is(online, 1));
	/* the member taken out for good: its retained presence cleared */
	snprintf(topic, sizeof(topic), "facefleet/backend/%s-ds2/status", bt_run_id());
	CU_ASSERT(bt_publish_retained(W.cli, topic, "", 0));
	CU_ASSERT(metric_is(lost, 0));
}

static CU_TestInfo tests[] = {
	{ "device_online_offline", test_device_online_offline },
	{ "bad_statuses", test_bad_statuses },
	{ "members", test_members },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_device_status", setup, teardown, NULL, NULL, tests });
