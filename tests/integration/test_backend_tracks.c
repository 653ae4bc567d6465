/* backend_tracks: decisions per face track (backend/track_fusion.h). One
 * device sends three faces of one track (FaceCodes track_id 1, track_index
 * 0..2, with qualities) and one face without a track:
 *   seq 1  a stranger (Adam Ant), quality 0.8         track unknown: AccessEvent
 *   seq 2  the enrolled person (Aitor Gonzalez), quality 0.6  fused 2: granted: AccessEvent
 *   seq 3  the enrolled person again, quality 0 (weight 1)  still granted: row only
 *   seq 4  the stranger, no track                     one AccessEvent, as ever
 * Every face gets its row and its Receipt; AccessEvents only where the
 * track's decision changed; the rows hold track_id, track_index,
 * faces_fused and the track's decision, score (the quality-weighted fusion,
 * computed here the same way) and whether it changed. Redelivered faces
 * repeat what was stored: seq 2 its AccessEvent, seq 3 none.
 *
 * The thresholds are set from the embeddings themselves (between the
 * stranger alone and the fusion of both), so the test holds with the
 * trained VQ model and with the tiny test one alike. Its people are none of
 * backend_recognize's, and its template goes in the suite's cleanup, so a
 * failed run cannot leave an exact copy of another test's face enrolled.
 * fleetctl (as its runtime role) shows the tracks: events query and audit
 * query with --track. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_fleetctl_common.h"

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/store.h"
#include "facefleet/vq.h"
#include "recognize.h"

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM_MAX 512

typedef struct face {
	const char *person, *file;
	uint16_t idx[FF_VQ_MAX_CODES];
	float emb[DIM_MAX];
} face;

static const char cleanup_sql[] =
	"DELETE FROM face_templates WHERE identity_id IN (SELECT identity_id FROM identities "
	"WHERE external_id ~ '^t[0-9]+-track-')";

/* this and earlier runs' templates leave the gallery, even after a failed
 * assertion (their events keep the identities) */
static int suite_cleanup(void)
{
	PGconn *db = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	PQclear(PQexec(db, cleanup_sql));
	PQfinish(db);
	return 0;
}

/* The fusion as the backend makes it: sum of weight x unit embedding, unit. */
static void fuse(float *out, size_t dim, const face *const *f, const float *w, int n)
{
	double s = 0;
	memset(out, 0, dim * sizeof(float));
	for (int i = 0; i < n; i++)
		for (size_t d = 0; d < dim; d++)
			out[d] += w[i] * f[i]->emb[d];
	for (size_t d = 0; d < dim; d++)
		s += (double)out[d] * out[d];
	for (size_t d = 0; d < dim; d++)
		out[d] = (float)(out[d] / sqrt(s));
}

/* The best score of emb against every mobilefacenet-v1 template in the
 * database (what the backend's gallery holds), and whose it is. */
static float gallery_best(PGconn *db, const float *emb, size_t dim, char *who, size_t cap)
{
	PGresult *r = PQexec(db, "SELECT i.external_id, t.embedding FROM face_templates t "
				 "JOIN identities i USING (identity_id) "
				 "WHERE t.model_id = 'mobilefacenet-v1'");
	float best = -2.0f, *e = malloc(dim * sizeof(float));
	who[0] = '\0';
	for (int i = 0; e && PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
		float c;
		if (ff_store_vector_parse(PQgetvalue(r, i, 1), e, dim) != FF_OK)
			continue;
		ff_l2_normalize(e, dim);
		c = ff_cosine(emb, e, dim);
		if (c > best) {
			best = c;
			snprintf(who, cap, "%s", PQgetvalue(r, i, 0));
		}
	}
	free(e);
	PQclear(r);
	return best;
}

/* One row of the device's events, track columns joined by '|'. */
static void row_of(PGconn *db, const char *dev, int seq, char *out, size_t cap)
{
	char s[16];
	const char *p[2] = { dev, s };
	PGresult *r;
	snprintf(s, sizeof(s), "%d", seq);
	r = PQexecParams(db,
			 "SELECT concat_ws('|', e.decision, coalesce(e.track_id::text, '-'), "
			 "       coalesce(e.track_index::text, '-'), coalesce(e.faces_fused::text, '-'), "
			 "       coalesce(e.track_decision, '-'), coalesce(ti.external_id, '-'), "
			 "       coalesce(e.track_reason, '-'), coalesce(e.track_changed::text, '-')) "
			 "FROM recognition_events e "
			 "LEFT JOIN identities ti ON ti.identity_id = e.track_identity_id "
			 "WHERE e.device_id = $1 AND e.seq = $2::bigint",
			 2, NULL, p, NULL, NULL, 0);
	snprintf(out, cap, "%s",
		 PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0)
									   : "(no row)");
	PQclear(r);
}

static double track_score(PGconn *db, const char *dev, int seq)
{
	char s[16];
	const char *p[2] = { dev, s };
	PGresult *r;
	double v = -9;
	snprintf(s, sizeof(s), "%d", seq);
	r = PQexecParams(db, "SELECT track_score FROM recognition_events WHERE device_id = $1 "
			     "AND seq = $2::bigint AND track_score IS NOT NULL",
			 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtod(PQgetvalue(r, 0, 0), NULL);
	PQclear(r);
	return v;
}

static void expect_row(PGconn *db, const char *dev, int seq, const char *want)
{
	char got[512];
	row_of(db, dev, seq, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fprintf(stderr, "seq %d: row %s, expected %s\n", seq, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* fleetctl, as its runtime role, shows the tracks */
static void check_fleetctl(const char *dev, const char *ext)
{
	char id[200];
	CU_ASSERT_EQUAL(fct_run("events query --device %s --track 1 --format json", dev), 0);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"event_id\""), 3);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"track_id\":1,"), 3);
	CU_ASSERT_PTR_NULL(strstr(fct_output(), "\"seq\":4,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"faces_fused\":3,\"track_decision\":\"granted\""));
	snprintf(id, sizeof(id), "\"track_identity\":\"%s\"", ext);
	CU_ASSERT_EQUAL(count_of(fct_output(), id), 2);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"track_changed\":true"), 2);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"track_changed\":false"), 1);
	CU_ASSERT_EQUAL(fct_run("events query --device %s --format csv", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), ",reason,track_id,track_index,faces_fused,track_decision,"
						   "track_identity,track_score,track_changed,event_id"));
	CU_ASSERT_EQUAL(fct_run("events query --device %s --track -1", dev), 2);
	CU_ASSERT_EQUAL(fct_run("events query --device %s --track 1x", dev), 2);
	CU_ASSERT_EQUAL(fct_run("events query --device %s 1", dev), 2);
	CU_ASSERT_EQUAL(fct_run("audit query --device %s --action event.decide --track 1 --format json", dev),
			0);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"event.decide\""), 3);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"track_decision\": \"granted\""), 2);
	CU_ASSERT_EQUAL(fct_run("audit query --device %s --track 2 --format json", dev), 0);
	CU_ASSERT_EQUAL(count_of(fct_output(), "\"event.decide\""), 0);
}

/* The AccessEvent of (dev, seq) has want's decision and track fields. */
static bt_access expect_event(bt_client *cli, const char *dev, uint64_t seq, bt_access want)
{
	bt_access ev;
	memset(&ev, 0, sizeof(ev));
	CU_ASSERT(bt_access_get(cli, dev, seq, &ev));
	if (ev.decision != want.decision || ev.track_id != want.track_id ||
	    ev.track_index != want.track_index || ev.faces_fused != want.faces_fused ||
	    ev.face_decision != want.face_decision)
		fprintf(stderr, "seq %llu: AccessEvent decision %d track %llu/%u fused %u face %d\n",
			(unsigned long long)seq, ev.decision, (unsigned long long)ev.track_id,
			ev.track_index, ev.faces_fused, ev.face_decision);
	CU_ASSERT_EQUAL(ev.decision, want.decision);
	CU_ASSERT_EQUAL(ev.track_id, want.track_id);
	CU_ASSERT_EQUAL(ev.track_index, want.track_index);
	CU_ASSERT_EQUAL(ev.faces_fused, want.faces_fused);
	CU_ASSERT_EQUAL(ev.face_decision, want.face_decision);
	return ev;
}

static void test_tracks(void)
{
	const ff_vq_info *vi = bt_vq_info();
	PGconn *db = bt_db();
	be_recognizer *rec = NULL;
	ff_vq_encoder *enc = NULL;
	bt_proc proc;
	bt_client *cli;
	char site[40], dev[40], topic[128], ext_a[64], want[256], who[160], thr[64], tthr[64];
	const char *extra[3];
	static face stranger = { "Adam_Ant", "Adam_Ant_0001.jpg", { 0 }, { 0 } };
	static face person = { "Aitor_Gonzalez", "Aitor_Gonzalez_0001.jpg", { 0 }, { 0 } };
	const face *track[3] = { &stranger, &person, &person };
	const float q[3] = { 0.8f, 0.6f, 0.0f }, w[3] = { 0.8f, 0.6f, 1.0f };
	float f12[DIM_MAX], f123[DIM_MAX], s1, s12, s123, t;
	uint8_t msg[5][512];
	size_t len[5];
	size_t dim;
	bt_access ev;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vi);
	CU_ASSERT_FATAL(bt_recognizer_open(&rec, &enc));
	dim = be_recognizer_dim(rec);
	CU_ASSERT_FATAL(dim <= DIM_MAX);
	CU_ASSERT_FATAL(bt_encode_aligned(enc, rec, stranger.person, stranger.file, stranger.idx,
					  stranger.emb));
	CU_ASSERT_FATAL(bt_encode_aligned(enc, rec, person.person, person.file, person.idx,
					  person.emb));

	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-cam", bt_run_id());
	snprintf(ext_a, sizeof(ext_a), "%s-track-aitor-gonzalez", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(bt_exec(db, cleanup_sql, 0, NULL));
	CU_ASSERT_FATAL(bt_enrol(db, ext_a, "{}", person.emb, dim, "backend_tracks"));

	/* what the backend will see: the stranger alone stays under t, the
	 * fusions of both go over it, with the enrolled person on top */
	fuse(f12, dim, track, w, 2);
	fuse(f123, dim, track, w, 3);
	s1 = gallery_best(db, stranger.emb, dim, who, sizeof(who));
	s12 = gallery_best(db, f12, dim, who, sizeof(who));
	CU_ASSERT_STRING_EQUAL(who, ext_a);
	s123 = gallery_best(db, f123, dim, who, sizeof(who));
	CU_ASSERT_STRING_EQUAL(who, ext_a);
	printf("\n  stranger alone %.4f, fused 2 %.4f, fused 3 %.4f\n", s1, s12, s123);
	CU_ASSERT_FATAL(s12 - s1 > 0.004f && s123 >= s12 - 1e-4f);
	t = (s1 + s12) / 2;
	snprintf(thr, sizeof(thr), "--threshold=%.4f", t);
	snprintf(tthr, sizeof(tthr), "--track-threshold=%.4f", t);
	extra[0] = thr;
	extra[1] = tthr;
	extra[2] = NULL;

	for (int i = 0; i < 3; i++)
		len[i] = bt_face_codes_track(msg[i], sizeof(msg[i]), (uint64_t)i + 1, track[i]->idx, 1,
					     (uint32_t)i, q[i]);
	len[3] = bt_face_codes(msg[3], sizeof(msg[3]), 4, stranger.idx);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_FATAL(len[i] > 0);

	CU_ASSERT_FATAL(bt_start(&proc, "tracks", "tracks", extra));
	cli = bt_client_new("tracks");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));
	CU_ASSERT_FATAL(bt_client_watch_receipts(cli, site, dev));
	bt_faces_topic(topic, sizeof(topic), site, dev);

	/* seq 1: the track's first decision (unknown) is announced */
	CU_ASSERT(bt_publish(cli, topic, msg[0], len[0]));
	CU_ASSERT_EQUAL(bt_access_wait(cli, 1, 20000), 1);
	expect_event(cli, dev, 1, (bt_access){ .decision = 2, .track_id = 1, .track_index = 0,
					       .faces_fused = 1, .face_decision = 2 });
	/* seq 2: fused with the enrolled person: unknown -> granted (the person
	 * alone scores 1: granted too) */
	CU_ASSERT(bt_publish(cli, topic, msg[1], len[1]));
	CU_ASSERT_EQUAL(bt_access_wait(cli, 2, 20000), 2);
	ev = expect_event(cli, dev, 2, (bt_access){ .decision = 1, .track_id = 1, .track_index = 1,
						    .faces_fused = 2, .face_decision = 1 });
	CU_ASSERT_STRING_EQUAL(ev.identity, ext_a);
	CU_ASSERT(fabsf(ev.score - s12) < 2e-3f);
	/* seq 3: granted still, the same person: its row and receipt only */
	CU_ASSERT(bt_publish(cli, topic, msg[2], len[2]));
	CU_ASSERT(bt_receipt_wait(cli, 3, "recorded", 20000));
	/* seq 4, no track: one AccessEvent of its own, as before tracks */
	CU_ASSERT(bt_publish(cli, topic, msg[3], len[3]));
	CU_ASSERT_EQUAL(bt_access_wait(cli, 3, 20000), 3);
	expect_event(cli, dev, 4, (bt_access){ .decision = 2 });
	CU_ASSERT(bt_receipt_wait(cli, 4, "recorded", 20000));
	poll(NULL, 0, 500);
	CU_ASSERT_EQUAL(bt_access_count_seq(cli, dev, 3), 0);
	CU_ASSERT_EQUAL(bt_access_count(cli), 3);

	/* one row per face, with its track */
	{
		const char *p[1] = { dev };
		CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE "
						 "device_id = $1", 1, p, 4, 10000), 4);
	}
	expect_row(db, dev, 1, "unknown|1|0|1|unknown|-|below_threshold|true");
	snprintf(want, sizeof(want), "granted|1|1|2|granted|%s||true", ext_a);
	expect_row(db, dev, 2, want);
	snprintf(want, sizeof(want), "granted|1|2|3|granted|%s||false", ext_a);
	expect_row(db, dev, 3, want);
	expect_row(db, dev, 4, "unknown|-|-|-|-|-|-|-");
	CU_ASSERT(fabs(track_score(db, dev, 1) - s1) < 2e-3);
	CU_ASSERT(fabs(track_score(db, dev, 2) - s12) < 2e-3);
	CU_ASSERT(fabs(track_score(db, dev, 3) - s123) < 2e-3);
	/* the audit rows say it too */
	{
		const char *p[1] = { dev };
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE "
						  "action = 'event.decide' AND detail->>'device' = $1 "
						  "AND detail->>'track_id' = '1' AND (detail->>'faces_fused')::int "
						  "= (detail->>'track_index')::int + 1", 1, p), 3);
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE "
						  "action = 'event.decide' AND detail->>'device' = $1 "
						  "AND (detail->>'track_changed')::boolean", 1, p), 2);
	}
	check_fleetctl(dev, ext_a);
	CU_ASSERT_EQUAL(bt_metric(&proc, "ff_backend_track_faces_total"), 3);
	CU_ASSERT_EQUAL(bt_metric(&proc, "ff_backend_track_changes_total"), 2);
	CU_ASSERT_EQUAL(bt_metric(&proc, "ff_backend_tracks"), 1);

	/* redeliveries repeat what was stored: seq 3 gets a receipt and no
	 * AccessEvent, seq 2 its AccessEvent again (same event id) */
	{
		char first_id[37];
		CU_ASSERT_FATAL(bt_access_get(cli, dev, 2, &ev));
		memcpy(first_id, ev.event_id, sizeof(first_id));
		CU_ASSERT(bt_publish(cli, topic, msg[2], len[2]));
		CU_ASSERT(bt_receipt_wait(cli, 3, "duplicate", 20000));
		CU_ASSERT(bt_publish(cli, topic, msg[1], len[1]));
		CU_ASSERT_EQUAL(bt_access_wait(cli, 4, 20000), 4);
		CU_ASSERT_EQUAL(bt_access_count_seq(cli, dev, 2), 2);
		CU_ASSERT_EQUAL(bt_access_count_seq(cli, dev, 3), 0);
		ev = expect_event(cli, dev, 2, (bt_access){ .decision = 1, .track_id = 1,
							    .track_index = 1, .faces_fused = 2,
							    .face_decision = 1 });
		CU_ASSERT_STRING_EQUAL(ev.event_id, first_id);
		CU_ASSERT_STRING_EQUAL(ev.identity, ext_a);
	}
	/* everything acknowledged, the rows-only faces included */
	for (int i = 0; i < 100 && bt_metric(&proc, "ff_backend_queue_depth{queue=\"unacked\"}") != 0;
	     i++)
		poll(NULL, 0, 50);
	CU_ASSERT_EQUAL(bt_metric(&proc, "ff_backend_queue_depth{queue=\"unacked\"}"), 0);

	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	bt_client_free(cli);
	ff_vq_encoder_free(enc);
	be_recognizer_free(rec);
	PQfinish(db);
}

static CU_TestInfo tests[] = {
	{ "decisions_per_track", test_tracks },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_tracks", NULL, suite_cleanup, NULL, NULL, tests });
