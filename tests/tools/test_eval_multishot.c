/* unit_fleet_eval_multishot: fleet-eval multishot's fusion of K embeddings
 * (the backend's track fusion: weighted mean of the L2-normalised
 * embeddings, renormalised), its probe groups and the identify / open-set
 * splits it makes from sorted image names, and its --shots list. No models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "eval_multishot.h"
#include "ff_test.h"

#define DIM 192

static float norm(const float *v, size_t dim)
{
	double s = 0;

	for (size_t d = 0; d < dim; d++)
		s += (double)v[d] * v[d];
	return (float)sqrt(s);
}

static void test_fuse_equal_weights(void)
{
	float a[4] = { 3, 0, 0, 0 }, b[4] = { 0, 0.5f, 0, 0 }, out[4];
	const float *e[2] = { a, b };

	/* each is normalised first: the scale of an input does not weigh it */
	FF_ASSERT_OK(ev_fuse(e, NULL, 2, 4, out));
	CU_ASSERT_DOUBLE_EQUAL(out[0], 1 / sqrt(2.0), 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[1], 1 / sqrt(2.0), 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[2], 0, 0);
	/* one embedding: itself, unit */
	FF_ASSERT_OK(ev_fuse(e, NULL, 1, 4, out));
	CU_ASSERT_DOUBLE_EQUAL(out[0], 1, 1e-7);
	CU_ASSERT_DOUBLE_EQUAL(out[1], 0, 0);
}

static void test_fuse_weighted(void)
{
	float a[3] = { 1, 0, 0 }, b[3] = { 0, 2, 0 }, z[3] = { 0, 0, 0 }, out[3];
	const float *e[3] = { a, b, z };
	float w[3] = { 3, 1, 5 };

	/* 3 e_a + 1 e_b, renormalised; the zero vector adds nothing whatever its weight */
	FF_ASSERT_OK(ev_fuse(e, w, 3, 3, out));
	CU_ASSERT_DOUBLE_EQUAL(out[0], 3 / sqrt(10.0), 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[1], 1 / sqrt(10.0), 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(norm(out, 3), 1, 1e-6);
	/* weight 0 leaves a face out; equal weights equal w NULL */
	w[0] = 0;
	FF_ASSERT_OK(ev_fuse(e, w, 2, 3, out));
	CU_ASSERT_DOUBLE_EQUAL(out[1], 1, 1e-7);
	w[0] = w[1] = 2;
	{
		float ref[3];
		FF_ASSERT_OK(ev_fuse(e, NULL, 2, 3, ref));
		FF_ASSERT_OK(ev_fuse(e, w, 2, 3, out));
		CU_ASSERT(memcmp(ref, out, sizeof(out)) == 0);
	}
}

static void test_fuse_refused(void)
{
	float a[2] = { 1, 0 }, na[2] = { -1, 0 }, z[2] = { 0, 0 }, out[2] = { 7, 7 };
	const float *e[2] = { a, na }, *zz[2] = { z, z };
	float neg[2] = { 1, -1 }, nan_w[2] = { 1, NAN }, zero[2] = { 0, 0 };

	CU_ASSERT_EQUAL(ev_fuse(e, NULL, 0, 2, out), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_fuse(e, NULL, 2, 0, out), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_fuse(e, neg, 2, 2, out), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_fuse(e, nan_w, 2, 2, out), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_fuse(e, zero, 2, 2, out), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_fuse(zz, NULL, 2, 2, out), FF_ERR_INVAL);
	/* opposite faces cancel: nothing left to decide on */
	CU_ASSERT_EQUAL(ev_fuse(e, NULL, 2, 2, out), FF_ERR_INVAL);
	CU_ASSERT(out[0] == 0 && out[1] == 0);
}

/* Against the definition, on pseudo-random 192-d embeddings of any scale. */
static void test_fuse_matches_definition(void)
{
	static float v[3][DIM];
	float out[DIM];
	double ref[DIM] = { 0 }, rn = 0;
	const float *e[3] = { v[0], v[1], v[2] };
	const float w[3] = { 0.9f, 0.5f, 0.2f };
	unsigned s = 12345;

	for (int i = 0; i < 3; i++)
		for (int d = 0; d < DIM; d++) {
			s = s * 1103515245u + 12345u;
			v[i][d] = ((float)((s >> 8) & 0xffff) / 65535.0f - 0.5f) * (float)(i + 1);
		}
	for (int i = 0; i < 3; i++) {
		double n = norm(v[i], DIM);
		for (int d = 0; d < DIM; d++)
			ref[d] += w[i] * v[i][d] / n;
	}
	for (int d = 0; d < DIM; d++)
		rn += ref[d] * ref[d];
	FF_ASSERT_OK(ev_fuse(e, w, 3, DIM, out));
	for (int d = 0; d < DIM; d++)
		CU_ASSERT_DOUBLE_EQUAL(out[d], ref[d] / sqrt(rn), 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(norm(out, DIM), 1, 1e-6);
}

static void test_groups(void)
{
	struct ev_ms_probe p[4];

	/* 7 images at rows 10..16, the first the gallery's: 2 groups of 3 */
	CU_ASSERT_EQUAL(ev_ms_groups(10, 7, 1, 3, 5, p, 4), 2);
	CU_ASSERT(p[0].rows[0] == 11 && p[0].rows[1] == 12 && p[0].rows[2] == 13);
	CU_ASSERT(p[1].rows[0] == 14 && p[1].rows[2] == 16);
	CU_ASSERT(p[0].truth == 5 && p[1].truth == 5);
	/* a stranger: every image counts */
	CU_ASSERT_EQUAL(ev_ms_groups(10, 7, 0, 3, EV_MS_STRANGER, p, 4), 2);
	CU_ASSERT(p[0].rows[0] == 10 && p[1].rows[2] == 15 && p[1].truth == EV_MS_STRANGER);
	/* 1 + kmax images needed when enrolled, kmax for a stranger */
	CU_ASSERT_EQUAL(ev_ms_groups(0, 3, 1, 3, 0, p, 4), 0);
	CU_ASSERT_EQUAL(ev_ms_groups(0, 4, 1, 3, 0, p, 4), 1);
	CU_ASSERT_EQUAL(ev_ms_groups(0, 3, 0, 3, 0, p, 4), 1);
	CU_ASSERT_EQUAL(ev_ms_groups(0, 1, 1, 1, 0, p, 4), 0);
	/* counted even when out has no room */
	CU_ASSERT_EQUAL(ev_ms_groups(0, 9, 0, 2, 0, NULL, 0), 4);
}

/* A 5, B 1, C 4, D 2, E 3, F 7 images, sorted as ev_list_images sorts them */
static char *names[] = {
	"A/A_1.jpg", "A/A_2.jpg", "A/A_3.jpg", "A/A_4.jpg", "A/A_5.jpg",                /* 0-4 */
	"B/B_1.jpg",                                                                    /* 5 */
	"C/C_1.jpg", "C/C_2.jpg", "C/C_3.jpg", "C/C_4.jpg",                             /* 6-9 */
	"D/D_1.jpg", "D/D_2.jpg",                                                       /* 10-11 */
	"E/E_1.jpg", "E/E_2.jpg", "E/E_3.jpg",                                          /* 12-14 */
	"F/F_1.jpg", "F/F_2.jpg", "F/F_3.jpg", "F/F_4.jpg", "F/F_5.jpg", "F/F_6.jpg", "F/F_7.jpg", /* 15-21 */
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void test_split_identify(void)
{
	struct ev_ms_split sp;

	/* gallery: first image of A, C, D, E, F (2+ images); probes from 4+ */
	FF_ASSERT_OK(ev_ms_split(names, NNAMES, 3, EV_MS_IDENTIFY, &sp));
	CU_ASSERT_EQUAL(sp.ng, 5);
	CU_ASSERT(sp.ng == 5 && sp.gallery[0] == 0 && sp.gallery[1] == 6 && sp.gallery[2] == 10 &&
		  sp.gallery[3] == 12 && sp.gallery[4] == 15);
	CU_ASSERT_EQUAL(sp.ngen, 4);
	CU_ASSERT_EQUAL(sp.people_genuine, 3);
	CU_ASSERT_EQUAL(sp.nstr, 0);
	if (sp.ngen == 4) {
		CU_ASSERT(sp.genuine[0].rows[0] == 1 && sp.genuine[0].rows[2] == 3 &&
			  sp.genuine[0].truth == 0);
		CU_ASSERT(sp.genuine[1].rows[0] == 7 && sp.genuine[1].rows[2] == 9 &&
			  sp.genuine[1].truth == 1);
		CU_ASSERT(sp.genuine[2].rows[0] == 16 && sp.genuine[3].rows[0] == 19 &&
			  sp.genuine[3].rows[2] == 21 && sp.genuine[3].truth == 4);
	}
	ev_ms_split_free(&sp);
	/* kmax 1 is identify's split: every other image of a 2+ person */
	FF_ASSERT_OK(ev_ms_split(names, NNAMES, 1, EV_MS_IDENTIFY, &sp));
	CU_ASSERT_EQUAL(sp.ngen, 4 + 3 + 1 + 2 + 6);
	CU_ASSERT_EQUAL(sp.people_genuine, 5);
	ev_ms_split_free(&sp);
}

static void test_split_openset(void)
{
	struct ev_ms_split sp;

	/* 2+ people alternate: A enrolled, C stranger, D enrolled, E stranger, F enrolled */
	FF_ASSERT_OK(ev_ms_split(names, NNAMES, 3, EV_MS_OPENSET, &sp));
	CU_ASSERT(sp.ng == 3 && sp.gallery[0] == 0 && sp.gallery[1] == 10 && sp.gallery[2] == 15);
	CU_ASSERT_EQUAL(sp.people_enrolled, 3);
	CU_ASSERT_EQUAL(sp.people_strangers, 3); /* B, C, E */
	CU_ASSERT_EQUAL(sp.ngen, 3);             /* A 1, F 2; D has too few */
	CU_ASSERT_EQUAL(sp.people_genuine, 2);
	CU_ASSERT_EQUAL(sp.nstr, 2);             /* C 6-8, E 12-14; B has one image */
	CU_ASSERT_EQUAL(sp.people_stranger_probes, 2);
	if (sp.ngen == 3 && sp.nstr == 2) {
		CU_ASSERT(sp.genuine[0].truth == 0 && sp.genuine[1].truth == 2 &&
			  sp.genuine[2].truth == 2 && sp.genuine[2].rows[2] == 21);
		CU_ASSERT(sp.strangers[0].rows[0] == 6 && sp.strangers[0].rows[2] == 8 &&
			  sp.strangers[0].truth == EV_MS_STRANGER);
		CU_ASSERT(sp.strangers[1].rows[0] == 12 && sp.strangers[1].rows[2] == 14);
	}
	ev_ms_split_free(&sp);
	/* kmax 1 is openset's split: every image of a stranger is a probe */
	FF_ASSERT_OK(ev_ms_split(names, NNAMES, 1, EV_MS_OPENSET, &sp));
	CU_ASSERT_EQUAL(sp.ngen, 4 + 1 + 6);
	CU_ASSERT_EQUAL(sp.nstr, 1 + 4 + 3);
	ev_ms_split_free(&sp);
}

static void test_split_refused(void)
{
	struct ev_ms_split sp;

	CU_ASSERT_EQUAL(ev_ms_split(names, NNAMES, 0, EV_MS_IDENTIFY, &sp), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ev_ms_split(names, NNAMES, EV_MS_MAX_SHOTS + 1, EV_MS_IDENTIFY, &sp),
			FF_ERR_INVAL);
	/* nobody with 1 + 7 images */
	CU_ASSERT_EQUAL(ev_ms_split(names, NNAMES, 7, EV_MS_IDENTIFY, &sp), FF_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(sp.gallery);
	/* F gives a genuine probe of 6, but no stranger (B, C, E) has 6 images */
	CU_ASSERT_EQUAL(ev_ms_split(names, NNAMES, 6, EV_MS_OPENSET, &sp), FF_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(ev_ms_split(names, 0, 1, EV_MS_IDENTIFY, &sp), FF_ERR_NOTFOUND);
	ev_ms_split_free(&sp);
}

static void test_parse_shots(void)
{
	int k[EV_MS_MAX_SHOTS];

	CU_ASSERT_EQUAL(ev_ms_parse_shots("1,2,3", k), 3);
	CU_ASSERT(k[0] == 1 && k[1] == 2 && k[2] == 3);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("3,1,3", k), 2);
	CU_ASSERT(k[0] == 1 && k[1] == 3);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("8", k), 1);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("0", k), -1);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("9", k), -1);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("", k), -1);
	CU_ASSERT_EQUAL(ev_ms_parse_shots("1,x", k), -1);
	CU_ASSERT_EQUAL(ev_ms_parse_shots(NULL, k), -1);
}

static CU_TestInfo fuse_tests[] = {
	{ "fuse_equal_weights", test_fuse_equal_weights },
	{ "fuse_weighted", test_fuse_weighted },
	{ "fuse_refused", test_fuse_refused },
	{ "fuse_matches_definition", test_fuse_matches_definition },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo probe_tests[] = {
	{ "groups", test_groups },
	{ "split_identify", test_split_identify },
	{ "split_openset", test_split_openset },
	{ "split_refused", test_split_refused },
	{ "parse_shots", test_parse_shots },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "multishot_fusion", NULL, NULL, NULL, NULL, fuse_tests },
	       { "multishot_probes", NULL, NULL, NULL, NULL, probe_tests });
