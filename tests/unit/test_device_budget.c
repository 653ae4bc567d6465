/* unit_device_budget: the per-device token bucket (backend/registry.h) that
 * drops a flooding device's excess before any decoding, and the work
 * queue's second lane, where a device spending its burst waits. */
#include "ff_test.h"
#include "registry.h"

static bool taken(be_budget_verdict v)
{
	return v == BE_BUDGET_OK || v == BE_BUDGET_OK_BURST;
}

#define S (1000000LL)

/* a full bucket of `burst` faces at once, then `rate` a second */
static void test_burst_then_rate(void)
{
	be_budget b = { 0 };
	uint64_t dropped = 0;
	int ok = 0;
	for (int i = 0; i < 400; i++)
		ok += taken(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 1 * S, &dropped));
	CU_ASSERT_EQUAL(ok, 300);
	ok = 0;
	for (int i = 0; i < 100; i++) /* 2 s later: 20 more */
		ok += taken(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 3 * S, &dropped));
	CU_ASSERT_EQUAL(ok, 20);
	/* a quiet device refills up to the burst, never beyond */
	ok = 0;
	for (int i = 0; i < 400; i++)
		ok += taken(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 3600 * S, &dropped));
	CU_ASSERT_EQUAL(ok, 300);
}

/* one audited drop a minute, carrying the count since the last */
static void test_audit_once_a_minute(void)
{
	be_budget b = { 0 };
	uint64_t dropped = 0;
	int audited = 0;
	be_budget_take(&b, &(be_budget_limits){ 1, 1, 0 }, 1 * S, &dropped); /* the one token */
	for (int i = 0; i < 1000; i++) {
		be_budget_verdict v = be_budget_take(&b, &(be_budget_limits){ 1e-9, 1, 0 }, 1 * S + i, &dropped);
		CU_ASSERT_NOT_EQUAL(v, BE_BUDGET_OK);
		audited += v == BE_BUDGET_DROP_AUDIT;
	}
	CU_ASSERT_EQUAL(audited, 1);
	CU_ASSERT_EQUAL(dropped, 1);
	CU_ASSERT_EQUAL(be_budget_take(&b, &(be_budget_limits){ 1e-9, 1, 0 }, 62 * S, &dropped), BE_BUDGET_DROP_AUDIT);
	CU_ASSERT_EQUAL(dropped, 1000); /* the 999 silent ones and this one */
}

/* a device at its rate stays in lane 0; one more than 2 s of rate beyond
 * it (a flood, a long outbox drain) is served after the others */
static void test_burst_lane(void)
{
	be_budget b = { 0 };
	uint64_t dropped = 0;
	for (int t = 0; t < 100; t++) /* 5 a second, under the rate of 10 */
		for (int i = 0; i < 5; i++)
			CU_ASSERT_EQUAL(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 10 * S + t * S, &dropped), BE_BUDGET_OK);
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 200 * S, &dropped), BE_BUDGET_OK);
	CU_ASSERT_EQUAL(be_budget_take(&b, &(be_budget_limits){ 10, 300, 0 }, 200 * S, &dropped), BE_BUDGET_OK_BURST);
}

static void test_queue_lanes(void)
{
	be_queue q;
	int a = 1, b = 2, c = 3;
	CU_ASSERT_EQUAL_FATAL(be_queue_init(&q, 4), 0);
	CU_ASSERT(be_queue_push_lane(&q, &a, 1));
	CU_ASSERT(be_queue_push_lane(&q, &b, 0));
	CU_ASSERT(be_queue_push(&q, &c));
	CU_ASSERT_EQUAL(be_queue_depth(&q), 3);
	CU_ASSERT_PTR_EQUAL(be_queue_pop(&q, 0), &b);
	CU_ASSERT_PTR_EQUAL(be_queue_pop(&q, 0), &c);
	CU_ASSERT_PTR_EQUAL(be_queue_pop(&q, 0), &a);
	CU_ASSERT_PTR_NULL(be_queue_pop(&q, 0));
	be_queue_close(&q);
	CU_ASSERT_FALSE(be_queue_push_lane(&q, &a, 1));
	be_queue_destroy(&q);
}

/* a device over budget for disable_after without 10 s of calm: one
 * DISABLE verdict (carrying the drop count), then every face dropped; a
 * pause of 10 s in the drops starts the count again */
static void test_flood_disable(void)
{
	be_budget b = { 0 };
	const be_budget_limits l = { 10, 20, 30 * S };
	uint64_t dropped = 0;
	int disabled = 0;
	for (int64_t t = 1 * S; t < 25 * S; t += S / 100) /* 100/s for 24 s */
		be_budget_take(&b, &l, t, &dropped);
	for (int64_t t = 36 * S; t < 70 * S; t += S / 100) { /* calm, then 100/s */
		be_budget_verdict v = be_budget_take(&b, &l, t, &dropped);
		disabled += v == BE_BUDGET_DISABLE;
		if (t >= 67 * S) /* 30 s into the new flood: everything dropped */
			CU_ASSERT(v == BE_BUDGET_DROP || v == BE_BUDGET_DROP_AUDIT);
	}
	CU_ASSERT_EQUAL(disabled, 1);
	CU_ASSERT_TRUE(b.disabled);
	CU_ASSERT_NOT_EQUAL(be_budget_take(&b, &l, 3600 * S, &dropped), BE_BUDGET_OK);
}

static void test_unlimited(void)
{
	be_budget b = { 0 };
	uint64_t dropped = 0;
	for (int i = 0; i < 10000; i++)
		CU_ASSERT_EQUAL_FATAL(be_budget_take(&b, &(be_budget_limits){ 0, 1, 0 }, 1 * S, &dropped), BE_BUDGET_OK);
}

static CU_TestInfo budget_tests[] = {
	{ "burst_then_rate", test_burst_then_rate },
	{ "audit_once_a_minute", test_audit_once_a_minute },
	{ "burst_lane", test_burst_lane },
	{ "flood_disable", test_flood_disable },
	{ "unlimited", test_unlimited },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo queue_tests[] = {
	{ "lane_0_first", test_queue_lanes },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "device_budget", NULL, NULL, NULL, NULL, budget_tests },
	       { "queue", NULL, NULL, NULL, NULL, queue_tests });
