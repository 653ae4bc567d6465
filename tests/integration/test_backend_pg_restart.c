/* backend_pg_restart: PostgreSQL is restarted (deploy/stack restart-pg)
 * while faces stream in; fleet-backend holds the messages unacknowledged,
 * retries, and when the database is back every published face has exactly
 * one event: nothing lost, nothing doubled. */
#include "ff_test.h"
#include "test_backend_common.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define N_FACES 300

static void *restart_pg(void *arg)
{
	char cmd[1024];
	int *rc = arg;
	poll(NULL, 0, 1000); /* a second into the stream */
	snprintf(cmd, sizeof(cmd), "FF_PG_DOWN_S=3 '%s/deploy/stack' restart-pg --dir '%s' >&2",
		 getenv("FF_SOURCE_DIR"), ff_test_env_need("FF_STACK_DIR"));
	*rc = system(cmd);
	return NULL;
}

static void test_restart_mid_stream(void)
{
	PGconn *db = bt_db();
	bt_proc proc;
	bt_client *cli;
	char site[40], dev[40], topic[128];
	const char *p[1] = { dev };
	const char *extra[] = { "--batch-ms=10", NULL };
	pthread_t th;
	int restart_rc = -1;
	long events;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-pg", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	PQfinish(db);
	CU_ASSERT_FATAL(bt_start(&proc, "pg", "pg", extra));
	cli = bt_client_new("pub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);

	pthread_create(&th, NULL, restart_pg, &restart_rc);
	for (uint64_t s = 1; s <= N_FACES; s++) {
		uint8_t buf[512];
		size_t n = bt_face_codes(buf, sizeof(buf), s, NULL);
		CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
		poll(NULL, 0, 20); /* ~50 faces/s: the stream spans the outage */
	}
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(restart_rc, 0);

	db = bt_db();
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	events = bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1", 1,
			      p, N_FACES, 40000);
	CU_ASSERT_EQUAL(events, N_FACES);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(DISTINCT seq) FROM recognition_events "
					  "WHERE device_id = $1", 1, p), N_FACES);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = "
					  "'event.decide' AND detail->>'device' = $1", 1, p), N_FACES);
	CU_ASSERT(bt_metric(&proc, "ff_backend_db_errors_total") >= 1); /* it did see the outage */
	CU_ASSERT(bt_alive(&proc));
	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	bt_client_free(cli);
	PQfinish(db);
}

static CU_TestInfo tests[] = {
	{ "restart_mid_stream", test_restart_mid_stream },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_pg_restart", NULL, NULL, NULL, NULL, tests });
