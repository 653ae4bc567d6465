/* backend_thresholds: the effective threshold of a face is its device's
 * override, else its site's, else the global `threshold` (issue 16 section
 * 5, backend/THRESHOLD.md), set with fleetctl (its runtime role) and picked
 * up by a running backend through its device cache's NOTIFY reload.
 *
 * The enrolled template is the normalised mix of a person's and a stranger's
 * embeddings, so the person's face scores s (computed here as the backend
 * does, about 0.7) against it; the global threshold is s - 0.1:
 *   seq 1  no override                       granted (global)
 *   seq 2  site threshold s + 0.05           unknown (the site's)
 *   seq 3  device threshold s - 0.05         granted (the device's wins)
 *   seq 4  device threshold default          unknown (its site's again)
 *   seq 5  site threshold default            granted (the global one)
 * Each event's audit detail says the threshold that applied. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_fleetctl_common.h"

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "recognize.h"

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM_MAX 512

static const char cleanup_sql[] =
	"DELETE FROM face_templates WHERE identity_id IN (SELECT identity_id FROM identities "
	"WHERE external_id ~ '^t[0-9]+-thr-')";

static int suite_cleanup(void)
{
	PGconn *db = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	PQclear(PQexec(db, cleanup_sql));
	PQfinish(db);
	return 0;
}

/* Sends seq, waits for its AccessEvent; returns its decision (0: none). */
static int decide(bt_client *cli, const char *topic, const char *dev, uint64_t seq,
		  const uint16_t *idx)
{
	uint8_t msg[512];
	size_t len = bt_face_codes(msg, sizeof(msg), seq, idx);
	int have = bt_access_count(cli), d = 0;
	char who[160], id[37];
	if (!len || !bt_publish(cli, topic, msg, len) || bt_access_wait(cli, have + 1, 20000) < have + 1)
		return 0;
	return bt_access_find(cli, dev, seq, &d, who, sizeof(who), id) ? d : 0;
}

/* The threshold in seq's audit row, -1 when absent. */
static double audited(PGconn *db, const char *dev, uint64_t seq)
{
	char s[24], v[32];
	const char *p[2] = { dev, s };
	PGresult *r;
	double t = -1;
	snprintf(s, sizeof(s), "%llu", (unsigned long long)seq);
	r = PQexecParams(db, "SELECT detail->>'threshold' FROM audit_log WHERE action = 'event.decide' "
			     "AND detail->>'device' = $1 AND detail->>'seq' = $2", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		snprintf(v, sizeof(v), "%s", PQgetvalue(r, 0, 0));
		t = strtod(v, NULL);
	}
	PQclear(r);
	return t;
}

/* fleetctl NOUN threshold ID VALUE, then time for the backend's reload */
static void set_threshold(const char *noun, const char *id, const char *value)
{
	CU_ASSERT_EQUAL(fct_run("%s threshold %s %s", noun, id, value), 0);
	poll(NULL, 0, 1500);
}

static void test_thresholds(void)
{
	PGconn *db = bt_db();
	be_recognizer *rec = NULL;
	ff_vq_encoder *enc = NULL;
	static uint16_t person_idx[FF_VQ_MAX_CODES], stranger_idx[FF_VQ_MAX_CODES];
	float person[DIM_MAX], stranger[DIM_MAX], mix[DIM_MAX], s;
	char site[40], dev[40], ext[64], topic[128], thr[64], tthr[64], v[32];
	const char *extra[3];
	bt_proc proc;
	bt_client *cli;
	size_t dim;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_FATAL(bt_recognizer_open(&rec, &enc));
	dim = be_recognizer_dim(rec);
	CU_ASSERT_FATAL(dim <= DIM_MAX);
	CU_ASSERT_FATAL(bt_encode_aligned(enc, rec, "Aitor_Gonzalez", "Aitor_Gonzalez_0001.jpg",
					  person_idx, person));
	CU_ASSERT_FATAL(bt_encode_aligned(enc, rec, "Adam_Ant", "Adam_Ant_0001.jpg", stranger_idx,
					  stranger));
	for (size_t d = 0; d < dim; d++)
		mix[d] = person[d] + stranger[d];
	ff_l2_normalize(mix, dim);
	s = ff_cosine(person, mix, dim);
	printf("\n  score of the person's face against the mixed template: %.4f\n", s);
	CU_ASSERT_FATAL(s > 0.2f && s < 0.9f);

	snprintf(site, sizeof(site), "%s-ts", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-tcam", bt_run_id());
	snprintf(ext, sizeof(ext), "%s-thr-aitor", bt_run_id());
	{
		const char *p[1] = { site };
		CU_ASSERT_FATAL(bt_exec(db, "INSERT INTO sites (site_id) VALUES ($1) ON CONFLICT DO NOTHING",
					1, p));
	}
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(bt_exec(db, cleanup_sql, 0, NULL));
	CU_ASSERT_FATAL(bt_enrol(db, ext, "{}", mix, dim, "backend_thresholds"));

	snprintf(thr, sizeof(thr), "--threshold=%.4f", s - 0.1f);
	snprintf(tthr, sizeof(tthr), "--track-threshold=%.4f", s - 0.1f);
	extra[0] = thr;
	extra[1] = tthr;
	extra[2] = NULL;
	CU_ASSERT_FATAL(bt_start(&proc, "thresholds", "thresholds", extra));
	cli = bt_client_new("thresholds");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));
	bt_faces_topic(topic, sizeof(topic), site, dev);

	CU_ASSERT_EQUAL(decide(cli, topic, dev, 1, person_idx), 1);
	snprintf(v, sizeof(v), "%.4f", s + 0.05f);
	set_threshold("site", site, v);
	CU_ASSERT_EQUAL(fct_run("site list --format json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), v));
	CU_ASSERT_EQUAL(decide(cli, topic, dev, 2, person_idx), 2);
	snprintf(v, sizeof(v), "%.4f", s - 0.05f);
	set_threshold("device", dev, v);
	CU_ASSERT_EQUAL(fct_run("device list --site %s --format json", site), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), v));
	CU_ASSERT_EQUAL(decide(cli, topic, dev, 3, person_idx), 1);
	set_threshold("device", dev, "default");
	CU_ASSERT_EQUAL(decide(cli, topic, dev, 4, person_idx), 2);
	set_threshold("site", site, "default");
	CU_ASSERT_EQUAL(decide(cli, topic, dev, 5, person_idx), 1);

	/* the audit says which applied */
	{
		const char *p[1] = { dev };
		CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE action = "
						 "'event.decide' AND detail->>'device' = $1", 1, p, 5, 10000), 5);
	}
	CU_ASSERT(fabs(audited(db, dev, 1) - (s - 0.1)) < 2e-4);
	CU_ASSERT(fabs(audited(db, dev, 2) - (s + 0.05)) < 2e-4);
	CU_ASSERT(fabs(audited(db, dev, 3) - (s - 0.05)) < 2e-4);
	CU_ASSERT(fabs(audited(db, dev, 5) - (s - 0.1)) < 2e-4);
	/* the changes are audited; bad values and unknown ids refused */
	{
		const char *p[2] = { site, dev };
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE (action = "
						  "'site.threshold' AND subject = $1) OR (action = "
						  "'device.threshold' AND subject = $2)", 2, p), 4);
	}
	CU_ASSERT_EQUAL(fct_run("site threshold %s 1.5", site), 2);
	CU_ASSERT_EQUAL(fct_run("site threshold %s 0", site), 2);
	CU_ASSERT_EQUAL(fct_run("device threshold %s abc", dev), 2);
	CU_ASSERT_EQUAL(fct_run("site threshold no-such-site-x 0.5"), 1);

	bt_client_free(cli);
	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	be_recognizer_free(rec);
	ff_vq_encoder_free(enc);
	PQfinish(db);
}

static CU_TestInfo threshold_tests[] = {
	{ "thresholds", test_thresholds },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "backend_thresholds", NULL, suite_cleanup, NULL, NULL, threshold_tests });
