/* models_vision_detect: MTCNN + alignment + MobileFaceNet on the committed
 * LFW sample (tests/data/faces). Needs the fetched models in FF_MODELS_DIR
 * (pnet/rnet/onet/mobilefacenet.ffn, directly or under ffn/); skips (77)
 * when they are absent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/align.h"
#include "facefleet/detect.h"
#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "ff_test.h"

static ff_detector *det;
static ff_embedder *emb;
static char models_dir[2048];

static const char *const samples[] = {
	"Al_Pacino/Al_Pacino_0001.jpg",		  "Al_Pacino/Al_Pacino_0002.jpg",
	"Al_Pacino/Al_Pacino_0003.jpg",		  "Allison_Janney/Allison_Janney_0001.jpg",
	"Allison_Janney/Allison_Janney_0002.jpg", "Alan_Greenspan/Alan_Greenspan_0001.jpg",
	"Alan_Greenspan/Alan_Greenspan_0002.jpg", "Alan_Greenspan/Alan_Greenspan_0003.jpg",
	"Aitor_Gonzalez/Aitor_Gonzalez_0001.jpg", "Aitor_Gonzalez/Aitor_Gonzalez_0002.jpg",
	"AJ_Lamas/AJ_Lamas_0001.jpg",		  "Adam_Ant/Adam_Ant_0001.jpg",
	"Aileen_Riggin_Soule/Aileen_Riggin_Soule_0001.jpg", "Adrian_Annus/Adrian_Annus_0001.jpg",
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static int suite_init(void)
{
	const char *dir = getenv("FF_MODELS_DIR");
	char d[2048], p[2100], err[512] = "";
	ff_nn_options nnopt = FF_NN_OPTIONS_INIT;

	if (!dir)
		ff_test_skip("FF_MODELS_DIR not set");
	snprintf(d, sizeof(d), "%s/ffn", dir);
	snprintf(p, sizeof(p), "%s/pnet.ffn", d);
	if (access(p, R_OK) != 0)
		snprintf(d, sizeof(d), "%s", dir);
	snprintf(p, sizeof(p), "%s/mobilefacenet.ffn", d);
	if (access(p, R_OK) != 0)
		ff_test_skip("models not fetched: %s missing (run models/fetch)", p);
	snprintf(models_dir, sizeof(models_dir), "%s", d);
	if (ff_detector_create(d, NULL, &det, err, sizeof(err)) != FF_OK ||
	    ff_embedder_create(p, &nnopt, &emb, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "cannot load models: %s\n", err);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	ff_detector_free(det);
	ff_embedder_free(emb);
	return 0;
}

static void load(const char *sub, const char *name, ff_image *im)
{
	char rel[512], path[1024];

	snprintf(rel, sizeof(rel), "faces/%s/%s", sub, name);
	FF_ASSERT_OK(ff_image_load(ff_test_data_path(path, sizeof(path), rel), NULL, im, NULL, 0));
}

/* Own pipeline: detect, pick the central face, align, embed. */
static int embed_lfw(const char *name, float *e, ff_face *face_out)
{
	ff_image im = FF_IMAGE_EMPTY, crop = FF_IMAGE_EMPTY;
	ff_face faces[16];
	size_t n = 0;
	int k, rc = FF_ERR_NOTFOUND;

	load("lfw", name, &im);
	FF_ASSERT_OK(ff_detect(det, &im, faces, 16, &n));
	k = ff_face_pick_central(faces, n, im.width, im.height);
	if (k >= 0) {
		*face_out = faces[k];
		FF_ASSERT_OK(rc = ff_align_face(&im, faces[k].landmarks, &crop));
		if (rc == FF_OK)
			FF_ASSERT_OK(rc = ff_embed_image(emb, &crop, e, 192));
	}
	ff_image_free(&crop);
	ff_image_free(&im);
	return rc;
}

static void test_detect_and_align(void)
{
	float e[192], g[192];

	CU_ASSERT_EQUAL_FATAL(ff_embedder_dim(emb), 192u);
	for (size_t i = 0; i < NSAMPLES; i++) {
		ff_image gold = FF_IMAGE_EMPTY;
		ff_face f;
		float cos;

		CU_ASSERT_EQUAL_FATAL(embed_lfw(samples[i], e, &f), FF_OK);
		/* a confident face around the centre of the 250x250 image, eyes
		 * above the nose above the mouth, left eye left of the right eye */
		CU_ASSERT(f.score > 0.9f);
		CU_ASSERT(f.x0 < 125 && f.x1 > 125 && f.y0 < 125 && f.y1 > 125);
		CU_ASSERT(f.x1 - f.x0 > 50 && f.x1 - f.x0 < 200);
		CU_ASSERT(f.landmarks[0] < f.landmarks[2]);
		CU_ASSERT(f.landmarks[1] < f.landmarks[5] && f.landmarks[3] < f.landmarks[5]);
		CU_ASSERT(f.landmarks[5] < f.landmarks[7] && f.landmarks[5] < f.landmarks[9]);
		/* our crop's embedding agrees with the gold crop's */
		load("aligned112", samples[i], &gold);
		FF_ASSERT_OK(ff_embed_image(emb, &gold, g, 192));
		cos = ff_cosine(e, g, 192);
		if (cos < 0.9f)
			fprintf(stderr, "%s: cosine %.4f\n", samples[i], cos);
		CU_ASSERT(cos >= 0.9f);
		ff_image_free(&gold);
	}
}

static void test_identity(void)
{
	float a1[192], a2[192], b[192];
	ff_face f;

	/* same person closer than different people */
	CU_ASSERT_EQUAL_FATAL(embed_lfw("Al_Pacino/Al_Pacino_0001.jpg", a1, &f), FF_OK);
	CU_ASSERT_EQUAL_FATAL(embed_lfw("Al_Pacino/Al_Pacino_0002.jpg", a2, &f), FF_OK);
	CU_ASSERT_EQUAL_FATAL(embed_lfw("Allison_Janney/Allison_Janney_0001.jpg", b, &f), FF_OK);
	CU_ASSERT(ff_cosine(a1, a2, 192) > ff_cosine(a1, b, 192) + 0.1f);
	CU_ASSERT(ff_cosine(a1, a2, 192) > 0.4f);
	/* unit norm */
	CU_ASSERT_DOUBLE_EQUAL(ff_cosine(a1, a1, 192), 1.0, 1e-4);
}

static void test_no_face(void)
{
	ff_image im = FF_IMAGE_EMPTY;
	ff_face faces[4];
	size_t n = 99;

	FF_ASSERT_OK(ff_image_alloc(&im, 200, 160));
	memset(im.data, 128, im.stride * 160);
	FF_ASSERT_OK(ff_detect(det, &im, faces, 4, &n));
	CU_ASSERT_EQUAL(n, 0u);
	ff_image_free(&im);
	/* smaller than the smallest face: no pyramid level, still no error */
	FF_ASSERT_OK(ff_image_alloc(&im, 8, 8));
	memset(im.data, 0, im.stride * 8);
	FF_ASSERT_OK(ff_detect(det, &im, faces, 4, &n));
	CU_ASSERT_EQUAL(n, 0u);
	CU_ASSERT_EQUAL(ff_detect(det, NULL, faces, 4, &n), FF_ERR_INVAL);
	ff_image_free(&im);
}

static void test_rotated_and_scaled(void)
{
	/* the same face rotated 15 degrees and enlarged to 400x400 is still
	 * found, and the aligned embedding matches the upright one */
	ff_image im = FF_IMAGE_EMPTY, big = FF_IMAGE_EMPTY, crop = FF_IMAGE_EMPTY;
	const double th = 15.0 * M_PI / 180.0, s = 250.0 / 400.0;
	double m[6];
	float e0[192], e1[192];
	ff_face faces[8], f;
	size_t n = 0;
	int k;

	CU_ASSERT_EQUAL_FATAL(embed_lfw("Alan_Greenspan/Alan_Greenspan_0001.jpg", e0, &f), FF_OK);
	load("lfw", "Alan_Greenspan/Alan_Greenspan_0001.jpg", &im);
	/* output (x, y) -> source: rotate about the centres, scale by s */
	m[0] = s * cos(th);
	m[1] = -s * sin(th);
	m[3] = s * sin(th);
	m[4] = s * cos(th);
	m[2] = 124.5 - (m[0] * 199.5 + m[1] * 199.5);
	m[5] = 124.5 - (m[3] * 199.5 + m[4] * 199.5);
	FF_ASSERT_OK(ff_image_warp_affine(&im, m, 400, 400, NULL, &big));
	FF_ASSERT_OK(ff_detect(det, &big, faces, 8, &n));
	k = ff_face_pick_central(faces, n, 400, 400);
	CU_ASSERT_FATAL(k >= 0);
	FF_ASSERT_OK(ff_align_face(&big, faces[k].landmarks, &crop));
	FF_ASSERT_OK(ff_embed_image(emb, &crop, e1, 192));
	CU_ASSERT(ff_cosine(e0, e1, 192) > 0.85f);
	ff_image_free(&crop);
	ff_image_free(&big);
	ff_image_free(&im);
}

static void test_large_image(void)
{
	/* a 2000x2000 image is detected at the 1280 working size (max_side) and
	 * the results come back in its own coordinates: the same as detecting
	 * on a 1280 copy and scaling by 2000/1280 (pixel centres aligned) */
	ff_image im = FF_IMAGE_EMPTY, big = FF_IMAGE_EMPTY, work = FF_IMAGE_EMPTY;
	ff_face small[8], large[8], ref[8];
	size_t ns = 0, nl = 0, nr = 0;
	int ks, kl, kr;
	const float s = 2000.0f / 1280.0f;

	load("lfw", "Allison_Janney/Allison_Janney_0001.jpg", &im);
	FF_ASSERT_OK(ff_image_resize(&im, 2000, 2000, &big));
	FF_ASSERT_OK(ff_image_resize(&big, 1280, 1280, &work));
	FF_ASSERT_OK(ff_detect(det, &im, small, 8, &ns));
	FF_ASSERT_OK(ff_detect(det, &big, large, 8, &nl));
	{
		/* the working-size detection uses min_face scaled the same way */
		ff_detector_options o = FF_DETECTOR_OPTIONS_INIT;
		ff_detector *d2 = NULL;
		o.min_face_size = 20.0f / s;
		o.max_side = 0;
		FF_ASSERT_OK(ff_detector_create(models_dir, &o, &d2, NULL, 0));
		CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
		FF_ASSERT_OK(ff_detect(d2, &work, ref, 8, &nr));
		ff_detector_free(d2);
	}
	ks = ff_face_pick_central(small, ns, 250, 250);
	kl = ff_face_pick_central(large, nl, 2000, 2000);
	kr = ff_face_pick_central(ref, nr, 1280, 1280);
	CU_ASSERT_FATAL(ks >= 0 && kl >= 0 && kr >= 0);
	for (int k = 0; k < 10; k++) {
		float want = (ref[kr].landmarks[k] + 0.5f) * s - 0.5f;
		/* exact mapping */
		CU_ASSERT(fabsf(want - large[kl].landmarks[k]) < 0.5f);
		/* and roughly where the 250x250 detection puts it (MTCNN itself
		 * varies by a few percent of the face size across scales) */
		CU_ASSERT(fabsf((small[ks].landmarks[k] + 0.5f) * 8.0f - 0.5f -
				large[kl].landmarks[k]) < 0.06f * (large[kl].x1 - large[kl].x0));
	}
	CU_ASSERT(fabsf((ref[kr].x0 + 0.5f) * s - 0.5f - large[kl].x0) < 0.5f);
	ff_image_free(&work);
	ff_image_free(&big);
	ff_image_free(&im);
}

static CU_TestInfo model_tests[] = {
	{ "detect_and_align", test_detect_and_align },
	{ "identity", test_identity },
	{ "no_face", test_no_face },
	{ "rotated_and_scaled", test_rotated_and_scaled },
	{ "large_image", test_large_image },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vision_models", suite_init, suite_clean, NULL, NULL, model_tests });
