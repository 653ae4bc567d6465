/* unit_backend_status_watch: what fleet-backend makes of the status topics
 * (backend/status_watch.h) without a broker: a registered device's
 * DeviceStatus is kept (live: seen now; retained: its own time, never in
 * the future), an unknown device's or another site's is counted and
 * dropped, malformed ones are counted as invalid and change nothing, a
 * cleared retained status forgets; the share-group members are counted per
 * group and state, a cleared presence removes its member, bad presence
 * payloads are ignored. */
#include "ff_test.h"
#include "status_watch.h"

#include "facefleet.pb-c.h"
#include "facefleet/clock.h"
#include "facefleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static be_devices *D;
static be_status_watch *W;

static int setup(void)
{
	if (be_devices_create(&D) != FF_OK || be_devices_set(D, "d-1", "s1", true) != FF_OK ||
	    be_status_watch_create(D, &W) != FF_OK)
		return -1;
	return 0;
}

static int teardown(void)
{
	be_status_watch_free(W);
	be_devices_free(D);
	return 0;
}

/* A DeviceStatus of (site, dev) in state made at time_us, into buf. */
static size_t status(uint8_t *buf, const char *site, const char *dev, int state, int64_t time_us)
{
	Facefleet__V1__DeviceStatus s = FACEFLEET__V1__DEVICE_STATUS__INIT;
	s.schema_version = 3;
	s.site_id = (char *)site;
	s.device_id = (char *)dev;
	s.state = (Facefleet__V1__DeviceState)state;
	s.time_us = time_us;
	return facefleet__v1__device_status__pack(&s, buf);
}

static void send(const char *topic, const uint8_t *p, size_t n, bool retained)
{
	be_status_watch_message(W, topic, p, n, retained);
}

/* True when /metrics has the line. */
static bool metric_line(const char *line)
{
	size_t len;
	char *text = be_metrics_render(&len);
	bool found = text && strstr(text, line) != NULL;
	free(text);
	return found;
}

static void test_filters(void)
{
	const char *const *f = be_status_watch_filters(W);
	CU_ASSERT_STRING_EQUAL(f[0], "fleet/+/+/status");
	CU_ASSERT_STRING_EQUAL(f[1], "facefleet/backend/+/status");
	CU_ASSERT_PTR_NULL(f[2]);
}

static void test_device_status(void)
{
	uint8_t buf[256];
	int state = -1;
	int64_t seen = -1, t0 = ff_now_us();
	size_t n;

	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 0); /* nothing received yet */
	/* live: seen now, whatever time the device wrote */
	n = status(buf, "s1", "d-1", 1, 1000);
	send("fleet/s1/d-1/status", buf, n, false);
	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 1);
	CU_ASSERT_TRUE(seen >= t0 && seen <= ff_now_us());
	/* retained: its own time; one from the future: now */
	n = status(buf, "s1", "d-1", 2, 1234567);
	send("fleet/s1/d-1/status", buf, n, true);
	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 2);
	CU_ASSERT_EQUAL(seen, 1234567);
	n = status(buf, "s1", "d-1", 3, ff_now_us() + 3600000000LL);
	send("fleet/s1/d-1/status", buf, n, true);
	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 3);
	CU_ASSERT_TRUE(seen <= ff_now_us());
	/* kept across nothing else: unknown devices, other sites, bad payloads */
	n = status(buf, "s1", "d-9", 2, 1);
	send("fleet/s1/d-9/status", buf, n, false);
	CU_ASSERT_FALSE(be_devices_status(D, "d-9", &state, &seen));
	n = status(buf, "s2", "d-1", 2, 1);
	send("fleet/s2/d-1/status", buf, n, false); /* d-1 is of s1 */
	n = status(buf, "s1", "d-2", 2, 1);
	send("fleet/s1/d-1/status", buf, n, false); /* names another device */
	n = status(buf, "s1", "d-1", 7, 1);
	send("fleet/s1/d-1/status", buf, n, false); /* no such state */
	n = status(buf, "s1", "d-1", 0, 1);
	send("fleet/s1/d-1/status", buf, n, false); /* unspecified */
	send("fleet/s1/d-1/status", (const uint8_t *)"\xff\xff\xff", 3, false);
	send("fleet/S1/d-1/status", buf, n, false); /* not an id */
	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 3);
	CU_ASSERT_TRUE(metric_line("ff_backend_device_status_total{result=\"invalid\"} 5\n"));
	CU_ASSERT_TRUE(metric_line("ff_backend_device_status_total{result=\"unknown_device\"} 2\n"));
	CU_ASSERT_TRUE(metric_line("ff_backend_device_status_total{result=\"online\"} 1\n"));
	/* the retained status cleared: nothing known */
	send("fleet/s1/d-1/status", NULL, 0, true);
	CU_ASSERT_TRUE(be_devices_status(D, "d-1", &state, &seen));
	CU_ASSERT_EQUAL(state, 0);
}

static const be_group_members *group(const be_group_members *g, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(g[i].group, name) == 0)
			return &g[i];
	return NULL;
}

static void presence(const char *instance, const char *group_name, const char *state)
{
	char topic[128], body[256];
	snprintf(topic, sizeof(topic), "facefleet/backend/%s/status", instance);
	snprintf(body, sizeof(body),
		 "{\"instance\":\"%s\",\"share_group\":\"%s\",\"session_expiry_s\":120,\"state\":\"%s\"}",
		 instance, group_name, state);
	send(topic, (const uint8_t *)body, strlen(body), true);
}

static void test_members(void)
{
	be_group_members g[4];
	const be_group_members *a, *b;
	size_t n;
	presence("b1", "ga", "online");
	presence("b2", "ga", "online");
	presence("b2", "ga", "lost"); /* the same member, newer state */
	presence("b3", "gb", "stopped");
	presence("b4", "ga", "asleep");          /* no such state: ignored */
	presence("b5", "g\\\"a", "online");      /* not a label-safe name: ignored */
	send("facefleet/backend/b6/status", (const uint8_t *)"{", 1, true);
	n = be_status_watch_members(W, "ga", g, 4);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(g[0].group, "ga");
	a = group(g, n, "ga");
	b = group(g, n, "gb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(a->n[BE_MEMBER_ONLINE], 1);
	CU_ASSERT_EQUAL(a->n[BE_MEMBER_LOST], 1);
	CU_ASSERT_EQUAL(a->n[BE_MEMBER_STOPPED], 0);
	CU_ASSERT_EQUAL(b->n[BE_MEMBER_STOPPED], 1);
	/* a cleared presence: the member is gone */
	send("facefleet/backend/b2/status", NULL, 0, true);
	/* room for one group only: it is the caller's own, however many others
	 * hold retained presence (stale groups must not hide it) */
	n = be_status_watch_members(W, "gb", g, 1);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(g[0].group, "gb");
	CU_ASSERT_EQUAL(g[0].n[BE_MEMBER_STOPPED], 1);
	n = be_status_watch_members(W, "gz", g, 1); /* a group nobody has announced */
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(g[0].group, "gz");
	CU_ASSERT_EQUAL(g[0].n[BE_MEMBER_ONLINE] + g[0].n[BE_MEMBER_STOPPED] + g[0].n[BE_MEMBER_LOST], 0);
	n = be_status_watch_members(W, "gz", g, 4);
	CU_ASSERT_EQUAL(n, 3);
	n = be_status_watch_members(W, "ga", g, 4);
	a = group(g, n, "ga");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->n[BE_MEMBER_LOST], 0);
	CU_ASSERT_EQUAL(a->n[BE_MEMBER_ONLINE], 1);
}

/* A full table (BE_STATUS_MEMBERS_MAX instances, e.g. a broker keeping every
 * past deployment's retained "stopped"): a newcomer takes a stopped member's
 * place; with only online or lost members it is left out. */
static void test_members_full(void)
{
	be_status_watch *shared = W;
	be_group_members g[4];
	char inst[32];
	CU_ASSERT_FATAL(be_status_watch_create(D, &W) == FF_OK);
	for (int i = 0; i < BE_STATUS_MEMBERS_MAX; i++) {
		snprintf(inst, sizeof(inst), "old-%d", i);
		presence(inst, "gold", i == 7 ? "stopped" : "lost");
	}
	presence("new-1", "gnew", "online"); /* takes old-7's place */
	CU_ASSERT_EQUAL(be_status_watch_members(W, "gnew", g, 4), 2);
	CU_ASSERT_EQUAL(g[0].n[BE_MEMBER_ONLINE], 1);
	CU_ASSERT_EQUAL(group(g, 2, "gold")->n[BE_MEMBER_STOPPED], 0);
	CU_ASSERT_EQUAL(group(g, 2, "gold")->n[BE_MEMBER_LOST], BE_STATUS_MEMBERS_MAX - 1);
	presence("new-2", "gnew", "online"); /* no stopped one left: ignored */
	be_status_watch_members(W, "gnew", g, 4);
	CU_ASSERT_EQUAL(g[0].n[BE_MEMBER_ONLINE], 1);
	be_status_watch_free(W);
	W = shared;
}

static CU_TestInfo tests[] = {
	{ "filters", test_filters },
	{ "device_status", test_device_status },
	{ "members", test_members },
	{ "members_full", test_members_full },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "status_watch", setup, teardown, NULL, NULL, tests });
