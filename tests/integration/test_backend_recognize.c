/* backend_recognize: identities enrolled while fleet-backend runs (the
 * gallery reloads on NOTIFY) are recognised from published codes; a face of
 * someone not enrolled is `unknown`; an enrolled identity not allowed at the
 * site is `rejected`. Every decision has its event row and AccessEvent.
 *
 * Enrolment embeds the reconstruction path (encode -> decode ->
 * MobileFaceNet) of the aligned crops in tests/data/faces/aligned112. With
 * the trained model in models/vq (DEFAULT) a second image of the enrolled
 * person must match at a threshold for codes on both sides (below); with only
 * the tiny test model the
 * reconstructions carry no identity, so the test checks the plumbing with
 * exact re-sends of the enrolled images at threshold 0.999. */
#include "ff_test.h"
#include "test_backend_common.h"

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/vq.h"
#include "recognize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct face {
	const char *person, *file;
	uint16_t idx[FF_VQ_MAX_CODES];
	float emb[512];
} face;

static bool encode_face(ff_vq_encoder *enc, be_recognizer *rec, face *f)
{
	return bt_encode_aligned(enc, rec, f->person, f->file, f->idx, f->emb);
}

static bool enrol(PGconn *db, const char *ext, const char *sites, const face *f, size_t dim)
{
	return bt_enrol(db, ext, sites, f->emb, dim, "backend_recognize");
}

/* earlier runs' templates of the same images leave the gallery (their events
 * keep the identities) */
static const char cleanup_sql[] =
	"DELETE FROM face_templates WHERE identity_id IN (SELECT identity_id FROM identities "
	"WHERE external_id ~ '^t[0-9]+-(al-pacino|alan-greenspan)$')";

static void test_recognise(void)
{
	bool real = false;
	const ff_vq_info *vi = bt_vq_info();
	PGconn *db = bt_db();
	be_recognizer *rec = NULL;
	ff_vq_encoder *enc = NULL;
	bt_proc proc;
	bt_client *cli;
	char site[40], dev[40], topic[128], ext_a[64], ext_b[64], sites_b[64];
	char thr[48];
	const char *extra[3] = { NULL, NULL, NULL };
	static face faces[] = {
		{ "Al_Pacino", "Al_Pacino_0001.jpg", { 0 }, { 0 } },           /* enrolled A */
		{ "Alan_Greenspan", "Alan_Greenspan_0002.jpg", { 0 }, { 0 } }, /* enrolled B, other site */
		{ "Allison_Janney", "Allison_Janney_0001.jpg", { 0 }, { 0 } }, /* never enrolled */
		{ "Al_Pacino", "Al_Pacino_0002.jpg", { 0 }, { 0 } },           /* A, another image */
	};
	size_t dim;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vi);
	bt_vq_dir(&real);
	CU_ASSERT_FATAL(bt_recognizer_open(&rec, &enc));
	dim = be_recognizer_dim(rec);
	for (size_t i = 0; i < sizeof(faces) / sizeof(faces[0]); i++)
		CU_ASSERT_FATAL(encode_face(enc, rec, &faces[i]));

	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-door", bt_run_id());
	snprintf(ext_a, sizeof(ext_a), "%s-al-pacino", bt_run_id());
	snprintf(ext_b, sizeof(ext_b), "%s-alan-greenspan", bt_run_id());
	snprintf(sites_b, sizeof(sites_b), "{%s-elsewhere}", bt_run_id());
	CU_ASSERT_FATAL(bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(bt_exec(db, cleanup_sql, 0, NULL)); /* earlier runs' identical faces */
	/* The shipped threshold (0.451) is set for galleries enrolled from photos;
	 * this gallery is enrolled from reconstructions (codes on both sides),
	 * whose genuine scores are lower: Al_Pacino 0001 -> 0002 scores 0.43 with
	 * vq2 and its reconstruction-side MobileFaceNet, the stranger 0.14. */
	snprintf(thr, sizeof(thr), "--threshold=%s", real ? "0.35" : "0.999");
	extra[0] = thr;
	CU_ASSERT_FATAL(bt_start(&proc, "rec", "rec", extra));
	cli = bt_client_new("pub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli);
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));

	/* enrol while running: NOTIFY -> reload */
	{
		double before = bt_metric(&proc, "ff_backend_gallery_templates");
		CU_ASSERT_FATAL(enrol(db, ext_a, "{}", &faces[0], dim));
		CU_ASSERT_FATAL(enrol(db, ext_b, sites_b, &faces[1], dim));
		for (int i = 0; i < 100 && bt_metric(&proc, "ff_backend_gallery_templates") < before + 2;
		     i++)
			PQclear(PQexec(db, "SELECT pg_sleep(0.05)"));
		CU_ASSERT(bt_metric(&proc, "ff_backend_gallery_templates") >= before + 2);
	}

	size_t nprobe = real ? 4 : 3, first_len = 0;
	uint8_t first[512];
	for (size_t i = 0; i < nprobe; i++) {
		uint8_t buf[512];
		size_t n = bt_face_codes(buf, sizeof(buf), i + 1, faces[i].idx);
		CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
		if (i == 0)
			memcpy(first, buf, first_len = n);
	}
	CU_ASSERT_EQUAL(bt_access_wait(cli, (int)nprobe, 20000), (int)nprobe);
	{
		int decision = 0;
		char who[160] = "", eid[37] = "";
		const char *p[1] = { eid };
		CU_ASSERT(bt_access_find(cli, dev, 1, &decision, who, sizeof(who), eid));
		CU_ASSERT_EQUAL(decision, 1); /* GRANTED */
		CU_ASSERT_STRING_EQUAL(who, ext_a);
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM recognition_events e JOIN "
						  "identities i USING (identity_id) WHERE e.event_id = "
						  "$1::uuid AND e.decision = 'granted'", 1, p), 1);
		CU_ASSERT(bt_access_find(cli, dev, 2, &decision, who, sizeof(who), NULL));
		CU_ASSERT_EQUAL(decision, 3); /* REJECTED: not allowed at this site */
		CU_ASSERT_STRING_EQUAL(who, ext_b);
		CU_ASSERT(bt_access_find(cli, dev, 3, &decision, who, sizeof(who), NULL));
		CU_ASSERT_EQUAL(decision, 2); /* UNKNOWN */
		CU_ASSERT_STRING_EQUAL(who, "");
		if (real) {
			CU_ASSERT(bt_access_find(cli, dev, 4, &decision, who, sizeof(who), NULL));
			CU_ASSERT_EQUAL(decision, 1);
			CU_ASSERT_STRING_EQUAL(who, ext_a);
		}
	}
	{
		const char *p[1] = { dev };
		CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE "
						  "device_id = $1 AND jsonb_array_length(topk) >= 2",
					      1, p),
				(long)nprobe);
	}
	/* a redelivery repeats the stored decision, even once the gallery would
	 * decide otherwise (A's templates gone: a fresh decision is not A) */
	{
		const char *p[1] = { ext_a };
		int decision = 0;
		char who[160] = "";
		double before = bt_metric(&proc, "ff_backend_gallery_templates");
		CU_ASSERT(bt_exec(db, "DELETE FROM face_templates WHERE identity_id = "
				      "(SELECT identity_id FROM identities WHERE external_id = $1)", 1, p));
		for (int i = 0; i < 100 && bt_metric(&proc, "ff_backend_gallery_templates") >= before; i++)
			PQclear(PQexec(db, "SELECT pg_sleep(0.05)"));
		CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), first, first_len));
		CU_ASSERT_EQUAL(bt_access_wait(cli, (int)nprobe + 1, 20000), (int)nprobe + 1);
		CU_ASSERT(bt_access_find(cli, dev, 1, &decision, who, sizeof(who), NULL));
		CU_ASSERT_EQUAL(decision, 1);
		CU_ASSERT_STRING_EQUAL(who, ext_a);
	}
	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	bt_exec(db, cleanup_sql, 0, NULL);
	bt_client_free(cli);
	ff_vq_encoder_free(enc);
	be_recognizer_free(rec);
	PQfinish(db);
}

static CU_TestInfo tests[] = {
	{ "recognise", test_recognise },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_recognize", NULL, NULL, NULL, NULL, tests });
