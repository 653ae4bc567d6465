/* backend_review: human review of a recorded event (issue 16 section 3).
 * A face sent as codes makes an event row that keeps those codes (the
 * model's packed size, byte for byte what was sent); ff_review_event_png
 * renders it as a PNG and writes the event.view_face audit row; an unknown
 * or malformed event id is FF_ERR_NOTFOUND. fleetctl (its runtime role):
 * events show ID prints the event with its top-k, --image writes the same
 * kind of PNG and an audit row per view. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_fleetctl_common.h"

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long views(PGconn *db, const char *event_id, const char *actor_like)
{
	const char *p[2] = { event_id, actor_like };
	return bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = 'event.view_face' "
				 "AND subject = $1 AND actor LIKE $2", 2, p);
}

static bool file_is_png(const char *path, long *size)
{
	unsigned char sig[8];
	FILE *f = fopen(path, "rb");
	bool ok = f && fread(sig, 1, 8, f) == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
	if (f) {
		fseek(f, 0, SEEK_END);
		*size = ftell(f);
		fclose(f);
	}
	return ok;
}

static void check_fleetctl(PGconn *db, const char *event_id)
{
	char png[1200];
	long size = 0;
	CU_ASSERT_EQUAL(fct_run("events show %s", event_id), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "top-k:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "latency_ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), event_id));
	CU_ASSERT_EQUAL(fct_run("events show %s --format json", event_id), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"has_face\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"topk\":["));
	snprintf(png, sizeof(png), "%s/review.png", fct_dir());
	remove(png);
	CU_ASSERT_EQUAL(fct_run("events show %s --image %s --vq-dir %s", event_id, png, bt_vq_dir(NULL)), 0);
	CU_ASSERT(file_is_png(png, &size));
	CU_ASSERT(size > 1000);
	CU_ASSERT_EQUAL(views(db, event_id, "fleetctl:%"), 1);
	{
		const char *p[1] = { event_id };
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = "
						  "'event.show' AND subject = $1", 1, p), 3);
	}
	/* refused: not an id (usage), no such event, no model folder */
	CU_ASSERT_EQUAL(fct_run("events show not-a-uuid"), 2);
	CU_ASSERT_EQUAL(fct_run("events show 00000000-0000-0000-0000-000000000000"), 1);
	CU_ASSERT_EQUAL(fct_run("events show %s --image %s --vq-dir /nonexistent", event_id, png), 1);
	CU_ASSERT_EQUAL(views(db, event_id, "fleetctl:%"), 1);
}

static void test_review(void)
{
	const ff_vq_info *vi = bt_vq_info();
	PGconn *db = bt_db();
	bt_proc proc;
	bt_client *cli;
	ff_review *rv = NULL;
	char site[40], dev[40], topic[128], event_id[37], ident[160], err[512] = "";
	uint8_t msg[512];
	size_t len, png_len = 0;
	unsigned char *png = NULL;
	int decision = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vi);
	snprintf(site, sizeof(site), "%s-rs", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-rcam", bt_run_id());
	{
		const char *p[1] = { site };
		CU_ASSERT_FATAL(bt_exec(db, "INSERT INTO sites (site_id) VALUES ($1) ON CONFLICT DO NOTHING",
					1, p));
	}
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	len = bt_face_codes(msg, sizeof(msg), 1, NULL);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(bt_start(&proc, "review", "review", NULL));
	cli = bt_client_new("review");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));
	bt_faces_topic(topic, sizeof(topic), site, dev);
	CU_ASSERT(bt_publish(cli, topic, msg, len));
	CU_ASSERT_EQUAL_FATAL(bt_access_wait(cli, 1, 20000), 1);
	CU_ASSERT_FATAL(bt_access_find(cli, dev, 1, &decision, ident, sizeof(ident), event_id));

	/* the row keeps the codes: the model's packed size */
	{
		const char *p[1] = { event_id };
		CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT coalesce(octet_length(codes), -1) FROM "
						 "recognition_events WHERE event_id = $1::uuid", 1, p,
					     (long)ff_bitpack_size(vi->num_codes, vi->bits_per_index), 10000),
				(long)ff_bitpack_size(vi->num_codes, vi->bits_per_index));
	}
	/* ff_review: a PNG and its audit row, in one call */
	CU_ASSERT_EQUAL_FATAL(ff_review_open(&rv, bt_vq_dir(NULL), err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL(views(db, event_id, "%"), 0);
	CU_ASSERT_EQUAL(ff_review_event_png(rv, db, event_id, "test:reviewer", &png, &png_len, err,
					    sizeof(err)), FF_OK);
	CU_ASSERT(png && png_len > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
	free(png);
	png = NULL;
	CU_ASSERT_EQUAL(views(db, event_id, "test:reviewer"), 1);
	/* unknown and malformed ids: not found, nothing audited */
	CU_ASSERT_EQUAL(ff_review_event_png(rv, db, "00000000-0000-0000-0000-000000000000", "test:reviewer",
					    &png, &png_len, err, sizeof(err)), FF_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(ff_review_event_png(rv, db, "x'; DROP TABLE audit_log; --", "test:reviewer", &png,
					    &png_len, err, sizeof(err)), FF_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(png);
	CU_ASSERT_EQUAL(views(db, event_id, "test:reviewer"), 1);
	ff_review_close(rv);

	check_fleetctl(db, event_id);
	bt_client_free(cli);
	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	PQfinish(db);
}

static CU_TestInfo review_tests[] = {
	{ "review", test_review },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "backend_review", NULL, NULL, NULL, NULL, review_tests });
