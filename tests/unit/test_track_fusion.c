/* unit_track_fusion: the backend's face tracks (backend/track_fusion.h):
 * the quality-weighted mean of normalised embeddings, renormalised; a seq
 * fused once; the faces kept per track; the TTL and the bound on tracks;
 * when a decision counts as a change (the one face that carries the
 * track's AccessEvent). */
#include "ff_test.h"
#include "track_fusion.h"

#include "facefleet/error.h"

#include <math.h>

#define S (1000000LL)
#define DIM 4

static be_tracks *make(size_t max_tracks, int max_faces, int64_t ttl_us)
{
	be_tracks_options o = { DIM, max_tracks, max_faces, ttl_us };
	be_tracks *t = NULL;
	CU_ASSERT_EQUAL_FATAL(be_tracks_create(&o, &t), FF_OK);
	return t;
}

static const float E0[DIM] = { 1, 0, 0, 0 }, E1[DIM] = { 0, 1, 0, 0 }, E2[DIM] = { 0, 0, 1, 0 };

static bool near(float a, float b)
{
	return fabsf(a - b) < 1e-5f;
}

static void test_weight(void)
{
	CU_ASSERT(near(be_track_weight(0.5f), 0.5f));
	CU_ASSERT(near(be_track_weight(1.0f), 1.0f));
	CU_ASSERT(near(be_track_weight(0.0f), 1.0f)); /* not computed */
	CU_ASSERT(near(be_track_weight(-0.3f), 1.0f));
	CU_ASSERT(near(be_track_weight(1.7f), 1.0f));
	CU_ASSERT(near(be_track_weight(NAN), 1.0f));
	CU_ASSERT(near(be_track_weight(INFINITY), 1.0f));
}

/* sum w_i e_i / |sum w_i e_i|, inputs normalised first */
static void test_weighted_mean(void)
{
	be_tracks *t = make(16, 3, 30 * S);
	float f[DIM];
	uint64_t v1 = 0, v2 = 0, v3 = 0;
	const float big[DIM] = { 0, 5, 0, 0 }; /* E1, not unit: normalised when added */
	CU_ASSERT_EQUAL(be_tracks_add(t, "door-1", 7, 7, 0.75f, E0, 0, f, &v1), 1);
	CU_ASSERT(near(f[0], 1) && near(f[1], 0) && near(f[2], 0) && near(f[3], 0));
	CU_ASSERT_EQUAL(be_tracks_add(t, "door-1", 7, 8, 0.25f, big, 1 * S, f, &v2), 2);
	{
		float n = sqrtf(0.75f * 0.75f + 0.25f * 0.25f);
		CU_ASSERT(near(f[0], 0.75f / n));
		CU_ASSERT(near(f[1], 0.25f / n));
		CU_ASSERT(near(f[2], 0) && near(f[3], 0));
	}
	CU_ASSERT(v2 > v1);
	/* quality 0 (not computed) weighs 1 */
	CU_ASSERT_EQUAL(be_tracks_add(t, "door-1", 7, 9, 0.0f, E2, 2 * S, f, &v3), 3);
	{
		float n = sqrtf(0.75f * 0.75f + 0.25f * 0.25f + 1.0f);
		CU_ASSERT(near(f[0], 0.75f / n));
		CU_ASSERT(near(f[1], 0.25f / n));
		CU_ASSERT(near(f[2], 1.0f / n));
	}
	CU_ASSERT(v3 > v2);
	/* the same track id on another device is another track */
	CU_ASSERT_EQUAL(be_tracks_add(t, "door-2", 7, 7, 0.5f, E1, 2 * S, f, &v1), 1);
	CU_ASSERT(near(f[1], 1));
	CU_ASSERT_EQUAL(be_tracks_count(t), 2);
	be_tracks_free(t);
}

/* a redelivered face (same seq) is fused once */
static void test_same_seq_once(void)
{
	be_tracks *t = make(16, 3, 30 * S);
	float f[DIM];
	uint64_t v1 = 0, v2 = 0;
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 1, 0.5f, E0, 0, f, &v1), 1);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 2, 0.5f, E1, 0, f, &v1), 2);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 2, 0.5f, E1, 0, f, &v2), 2);
	CU_ASSERT_EQUAL(v1, v2);
	CU_ASSERT(near(f[0], sqrtf(0.5f)) && near(f[1], sqrtf(0.5f)));
	be_tracks_free(t);
}

/* at most max_faces per track: the lowest weight goes (the oldest among
 * equals); a face lighter than every kept one changes nothing */
static void test_faces_bound(void)
{
	be_tracks *t = make(16, 2, 30 * S);
	float f[DIM];
	uint64_t v = 0, w = 0;
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 1, 0.9f, E0, 0, f, &v), 1);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 2, 0.2f, E1, 0, f, &v), 2);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 3, 0.5f, E2, 0, f, &v), 2); /* replaces seq 2 */
	{
		float n = sqrtf(0.81f + 0.25f);
		CU_ASSERT(near(f[0], 0.9f / n));
		CU_ASSERT(near(f[1], 0));
		CU_ASSERT(near(f[2], 0.5f / n));
	}
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 4, 0.1f, E1, 0, f, &w), 2); /* not kept */
	CU_ASSERT_EQUAL(v, w);
	CU_ASSERT(near(f[1], 0));
	/* equal weights: the newest replaces the oldest */
	be_tracks_free(t);
	t = make(16, 2, 30 * S);
	be_tracks_add(t, "d", 1, 1, 0, E0, 0, f, &v);
	be_tracks_add(t, "d", 1, 2, 0, E1, 0, f, &v);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 3, 0, E2, 0, f, &v), 2);
	CU_ASSERT(near(f[0], 0) && near(f[1], sqrtf(0.5f)) && near(f[2], sqrtf(0.5f)));
	be_tracks_free(t);
}

/* a track idle past the TTL is forgotten: swept by the next add, or
 * started again when its own next face comes */
static void test_ttl(void)
{
	be_tracks *t = make(16, 3, 30 * S);
	float f[DIM];
	uint64_t v = 0, expired = 0, evicted = 0;
	be_tracks_add(t, "d", 1, 1, 0, E0, 0, f, &v);
	be_tracks_add(t, "d", 2, 2, 0, E1, 20 * S, f, &v);
	CU_ASSERT_EQUAL(be_tracks_count(t), 2);
	be_tracks_add(t, "d", 1, 3, 0, E1, 29 * S, f, &v); /* within 30 s of its last face */
	CU_ASSERT_EQUAL(be_tracks_count(t), 2);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 3, 4, 0, E2, 55 * S, f, &v), 1);
	CU_ASSERT_EQUAL(be_tracks_count(t), 2); /* track 2 (last at 20 s) swept */
	be_tracks_dropped(t, &expired, &evicted);
	CU_ASSERT_EQUAL(expired, 1);
	CU_ASSERT_EQUAL(evicted, 0);
	/* track 1 (last at 29 s) comes back after 31 s: a new track */
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 5, 0, E2, 60 * S, f, &v), 1);
	CU_ASSERT(near(f[2], 1));
	CU_ASSERT(!be_tracks_decide(t, "d", 2, 2, 99, BE_DECISION_GRANTED, 5)); /* gone */
	be_tracks_free(t);
}

/* at most max_tracks: a new track evicts the least recently fed */
static void test_tracks_bound(void)
{
	be_tracks *t = make(2, 3, 30 * S);
	float f[DIM];
	uint64_t v = 0, expired = 0, evicted = 0;
	be_tracks_add(t, "d", 1, 1, 0, E0, 0, f, &v);
	be_tracks_add(t, "d", 2, 2, 0, E1, 1 * S, f, &v);
	be_tracks_add(t, "d", 1, 3, 0, E1, 2 * S, f, &v); /* track 1 fed again */
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 3, 4, 0, E2, 3 * S, f, &v), 1);
	CU_ASSERT_EQUAL(be_tracks_count(t), 2);
	be_tracks_dropped(t, &expired, &evicted);
	CU_ASSERT_EQUAL(evicted, 1);
	CU_ASSERT_EQUAL(expired, 0);
	/* track 1 kept both faces, track 2 was the one evicted */
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 1, 5, 0, E2, 4 * S, f, &v), 3);
	CU_ASSERT_EQUAL(be_tracks_add(t, "d", 2, 6, 0, E2, 5 * S, f, &v), 1);
	for (uint64_t i = 10; i < 1000; i++) /* many devices, never more than 2 held */
		be_tracks_add(t, i % 2 ? "a" : "b", i, i, 0, E0, 6 * S, f, &v);
	CU_ASSERT_EQUAL(be_tracks_count(t), 2);
	be_tracks_free(t);
}

/* a change is a new decision or a new identity, in fusion order */
static void test_decide(void)
{
	be_tracks *t = make(16, 3, 30 * S);
	float f[DIM];
	uint64_t v1 = 0, v2 = 0, v3 = 0, v4 = 0;
	be_tracks_add(t, "d", 1, 1, 0, E0, 0, f, &v1);
	CU_ASSERT(be_tracks_decide(t, "d", 1, 1, v1, BE_DECISION_UNKNOWN, 0)); /* the first */
	be_tracks_add(t, "d", 1, 2, 0, E1, 0, f, &v2);
	CU_ASSERT(!be_tracks_decide(t, "d", 1, 2, v2, BE_DECISION_UNKNOWN, 0));
	be_tracks_add(t, "d", 1, 3, 0, E2, 0, f, &v3);
	be_tracks_add(t, "d", 1, 4, 0, E0, 0, f, &v4);
	/* two workers: the newer fusion decided first, the older one is stale */
	CU_ASSERT(be_tracks_decide(t, "d", 1, 4, v4, BE_DECISION_GRANTED, 42));
	CU_ASSERT(!be_tracks_decide(t, "d", 1, 3, v3, BE_DECISION_UNKNOWN, 0));
	/* seq 4 again (a redelivery before its first delivery was stored): the
	 * same answer; another face on the same fusion (not kept) is no change */
	be_tracks_add(t, "d", 1, 4, 0, E0, 0, f, &v3);
	CU_ASSERT_EQUAL(v3, v4);
	CU_ASSERT(be_tracks_decide(t, "d", 1, 4, v4, BE_DECISION_GRANTED, 42));
	CU_ASSERT(!be_tracks_decide(t, "d", 1, 9, v4, BE_DECISION_GRANTED, 42));
	be_tracks_add(t, "d", 1, 5, 1.0f, E1, 0, f, &v1);
	CU_ASSERT(be_tracks_decide(t, "d", 1, 5, v1, BE_DECISION_GRANTED, 43)); /* other identity */
	be_tracks_add(t, "d", 1, 6, 1.0f, E1, 0, f, &v2);
	CU_ASSERT(!be_tracks_decide(t, "d", 1, 6, v2, BE_DECISION_GRANTED, 43));
	CU_ASSERT(!be_tracks_decide(t, "d", 1, 5, v1, BE_DECISION_GRANTED, 43)); /* superseded */
	be_tracks_free(t);
}

static void test_options(void)
{
	be_tracks *t = NULL;
	be_tracks_options o = { DIM, 16, 3, 30 * S };
	o.dim = 0;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	o.dim = BE_TRACK_DIM_MAX + 1;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	o.dim = DIM;
	o.max_faces = 0;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	o.max_faces = BE_TRACK_FACES_MAX + 1;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	o.max_faces = 3;
	o.max_tracks = 0;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	o.max_tracks = 16;
	o.ttl_us = 0;
	CU_ASSERT_EQUAL(be_tracks_create(&o, &t), FF_ERR_INVAL);
	CU_ASSERT_PTR_NULL(t);
	be_tracks_free(NULL);
}

static CU_TestInfo tests[] = {
	{ "weight", test_weight },
	{ "weighted_mean", test_weighted_mean },
	{ "same_seq_once", test_same_seq_once },
	{ "faces_bound", test_faces_bound },
	{ "ttl", test_ttl },
	{ "tracks_bound", test_tracks_bound },
	{ "decide", test_decide },
	{ "options", test_options },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "track_fusion", NULL, NULL, NULL, NULL, tests });
