/* backend_shared: two fleet-backend processes on one shared subscription
 * split the stream between them, and every face has exactly one event. */
#include "ff_test.h"
#include "test_backend_common.h"

#include <stdio.h>
#include <stdlib.h>

#define N_FACES 200

static void test_two_backends_split(void)
{
	PGconn *db = bt_db();
	bt_proc a, b;
	bt_client *cli;
	char site[40], dev[40], topic[128], ia[64], ib[64];
	const char *p[1] = { dev };
	const char *extra[] = { "--workers=1", NULL };
	long events, by_a, by_b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-sh", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(bt_start(&a, "a", "shared", extra));
	CU_ASSERT_FATAL(bt_start(&b, "b", "shared", extra));
	cli = bt_client_new("pub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));

	for (uint64_t s = 1; s <= N_FACES; s++) {
		uint8_t buf[512];
		size_t n = bt_face_codes(buf, sizeof(buf), s, NULL);
		CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
	}
	events = bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1", 1,
			      p, N_FACES, 40000);
	CU_ASSERT_EQUAL(events, N_FACES);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(DISTINCT seq) FROM recognition_events "
					  "WHERE device_id = $1", 1, p), N_FACES);
	snprintf(ia, sizeof(ia), "backend:%s-a", bt_run_id());
	snprintf(ib, sizeof(ib), "backend:%s-b", bt_run_id());
	{
		const char *pa[2] = { dev, ia }, *pb[2] = { dev, ib };
		by_a = bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					 "AND backend = $2", 2, pa);
		by_b = bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					 "AND backend = $2", 2, pb);
	}
	fprintf(stderr, "split: a=%ld b=%ld\n", by_a, by_b);
	CU_ASSERT(by_a > 0);
	CU_ASSERT(by_b > 0);
	CU_ASSERT_EQUAL(by_a + by_b, N_FACES);
	/* one AccessEvent per face */
	CU_ASSERT_EQUAL(bt_access_wait(cli, N_FACES, 10000), N_FACES);
	CU_ASSERT_EQUAL(bt_stop(&a), 0);
	CU_ASSERT_EQUAL(bt_stop(&b), 0);
	bt_client_free(cli);
	PQfinish(db);
}

/* A share-group member stopped cleanly unsubscribes its shared filter: it
 * holds no share of the faces published after it stopped (seen: deploy/demo
 * --keep's stopped backend kept 2 of 5 faces waiting in its persistent
 * session). The publisher here never sends again, so a face routed to a's
 * old session would stay missing and the count would stop short. */
static void test_stopped_member_holds_nothing(void)
{
	PGconn *db = bt_db();
	bt_proc a, b;
	bt_client *cli;
	char site[40], dev[40], topic[128];
	const char *p[1] = { dev };
	const char *extra[] = { "--workers=1", NULL };

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-lv", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(bt_start(&a, "la", "leave", extra));
	CU_ASSERT_FATAL(bt_start(&b, "lb", "leave", extra));
	CU_ASSERT_EQUAL(bt_stop(&a), 0);
	CU_ASSERT(bt_log_has(a.log, "event=unsubscribed"));
	cli = bt_client_new("pub-leave");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	for (uint64_t s = 1; s <= 20; s++) {
		uint8_t buf[512];
		size_t n = bt_face_codes(buf, sizeof(buf), s, NULL);
		CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
	}
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 20, 20000),
			20);
	CU_ASSERT_EQUAL(bt_stop(&b), 0);
	bt_client_free(cli);
	PQfinish(db);
}

static CU_TestInfo tests[] = {
	{ "two_backends_split", test_two_backends_split },
	{ "stopped_member_holds_nothing", test_stopped_member_holds_nothing },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_shared", NULL, NULL, NULL, NULL, tests });
