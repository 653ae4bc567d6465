/* unit_vision_geometry: resize, crop, affine warp, similarity estimation
 * and alignment to the ArcFace template. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/align.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "ff_test.h"

static uint8_t *at(const ff_image *im, int x, int y)
{
	return im->data + (size_t)y * im->stride + (size_t)x * 3u;
}

/* A w x h image with a smooth, position-dependent pattern. */
static void make_pattern(ff_image *im, int w, int h)
{
	FF_ASSERT_OK(ff_image_alloc(im, w, h));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = at(im, x, y);
			p[0] = (uint8_t)(x * 3 + y);
			p[1] = (uint8_t)(y * 2);
			p[2] = (uint8_t)(128 + x - y);
		}
}

static void test_resize(void)
{
	ff_image a = FF_IMAGE_EMPTY, b = FF_IMAGE_EMPTY;

	/* same size: exact copy */
	make_pattern(&a, 17, 11);
	FF_ASSERT_OK(ff_image_resize(&a, 17, 11, &b));
	for (int y = 0; y < 11; y++)
		CU_ASSERT(memcmp(at(&a, 0, y), at(&b, 0, y), 17 * 3) == 0);
	ff_image_free(&b);
	ff_image_free(&a);

	/* 2x downscale of a 2x2 checkerboard of 0/200 averages every block */
	FF_ASSERT_OK(ff_image_alloc(&a, 8, 6));
	for (int y = 0; y < 6; y++)
		for (int x = 0; x < 8; x++)
			memset(at(&a, x, y), ((x + y) & 1) ? 200 : 0, 3);
	FF_ASSERT_OK(ff_image_resize(&a, 4, 3, &b));
	CU_ASSERT_EQUAL(b.width, 4);
	CU_ASSERT_EQUAL(b.height, 3);
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 4; x++)
			CU_ASSERT_EQUAL(at(&b, x, y)[1], 100);
	ff_image_free(&b);
	/* a non-integer shrink keeps a constant image constant */
	memset(a.data, 77, a.stride * 6);
	FF_ASSERT_OK(ff_image_resize(&a, 5, 4, &b));
	for (int i = 0; i < 5 * 4 * 3; i++)
		CU_ASSERT_EQUAL(b.data[i], 77);
	ff_image_free(&b);
	ff_image_free(&a);

	/* 2x upscale of [0, 100]: half-pixel bilinear gives 0, 25, 75, 100 */
	FF_ASSERT_OK(ff_image_alloc(&a, 2, 1));
	memset(at(&a, 0, 0), 0, 3);
	memset(at(&a, 1, 0), 100, 3);
	FF_ASSERT_OK(ff_image_resize(&a, 4, 1, &b));
	CU_ASSERT_EQUAL(at(&b, 0, 0)[0], 0);
	CU_ASSERT_EQUAL(at(&b, 1, 0)[0], 25);
	CU_ASSERT_EQUAL(at(&b, 2, 0)[0], 75);
	CU_ASSERT_EQUAL(at(&b, 3, 0)[0], 100);
	ff_image_free(&b);
	ff_image_free(&a);

	CU_ASSERT_EQUAL(ff_image_resize(NULL, 4, 4, &b), FF_ERR_INVAL);
	make_pattern(&a, 4, 4);
	CU_ASSERT_EQUAL(ff_image_resize(&a, 0, 4, &b), FF_ERR_INVAL);
	ff_image_free(&a);
}

static void test_crop(void)
{
	static const uint8_t grey[3] = { 9, 9, 9 };
	ff_image a = FF_IMAGE_EMPTY, b = FF_IMAGE_EMPTY;

	make_pattern(&a, 10, 10);
	FF_ASSERT_OK(ff_image_crop(&a, -2, 8, 4, 4, grey, &b));
	CU_ASSERT(memcmp(at(&b, 0, 0), grey, 3) == 0);       /* x = -2 */
	CU_ASSERT(memcmp(at(&b, 2, 0), at(&a, 0, 8), 3) == 0); /* inside */
	CU_ASSERT(memcmp(at(&b, 3, 1), at(&a, 1, 9), 3) == 0);
	CU_ASSERT(memcmp(at(&b, 3, 2), grey, 3) == 0);       /* y = 10 */
	ff_image_free(&b);
	ff_image_free(&a);
}

static void test_warp(void)
{
	static const double ident[6] = { 1, 0, 0, 0, 1, 0 };
	static const double shift[6] = { 1, 0, 3, 0, 1, -2 }; /* out(x,y) = in(x+3, y-2) */
	static const uint8_t red[3] = { 255, 0, 0 };
	ff_image a = FF_IMAGE_EMPTY, b = FF_IMAGE_EMPTY;

	make_pattern(&a, 20, 15);
	FF_ASSERT_OK(ff_image_warp_affine(&a, ident, 20, 15, NULL, &b));
	for (int y = 0; y < 15; y++)
		CU_ASSERT(memcmp(at(&a, 0, y), at(&b, 0, y), 60) == 0);
	ff_image_free(&b);

	FF_ASSERT_OK(ff_image_warp_affine(&a, shift, 20, 15, red, &b));
	CU_ASSERT(memcmp(at(&b, 0, 2), at(&a, 3, 0), 3) == 0);
	CU_ASSERT(memcmp(at(&b, 10, 10), at(&a, 13, 8), 3) == 0);
	CU_ASSERT(memcmp(at(&b, 5, 0), red, 3) == 0);  /* source y = -2 */
	CU_ASSERT(memcmp(at(&b, 19, 5), red, 3) == 0); /* source x = 22 */
	ff_image_free(&b);

	/* half-pixel shift blends the two neighbours */
	{
		static const double half[6] = { 1, 0, 0.5, 0, 1, 0 };
		FF_ASSERT_OK(ff_image_warp_affine(&a, half, 20, 15, NULL, &b));
		CU_ASSERT(abs(at(&b, 4, 4)[1] - at(&a, 4, 4)[1]) <= 1);
		CU_ASSERT(abs((int)at(&b, 4, 4)[0] - (at(&a, 4, 4)[0] + at(&a, 5, 4)[0] + 1) / 2) <=
			  1);
		ff_image_free(&b);
	}
	{
		double bad[6] = { 1, 0, NAN, 0, 1, 0 };
		CU_ASSERT_EQUAL(ff_image_warp_affine(&a, bad, 4, 4, NULL, &b), FF_ERR_INVAL);
	}
	ff_image_free(&a);
}

static void apply(const double m[6], double x, double y, double *ox, double *oy)
{
	*ox = m[0] * x + m[1] * y + m[2];
	*oy = m[3] * x + m[4] * y + m[5];
}

static void test_similarity(void)
{
	const double th = 0.52, s = 1.7, tx = -13.25, ty = 40.5;
	const double truth[6] = { s * cos(th), -s * sin(th), tx, s * sin(th), s * cos(th), ty };
	double src[10], dst[10], m[6], inv[6];

	for (int i = 0; i < 5; i++) {
		src[2 * i] = ff_arcface_template[2 * i] * 1.3 + 7;
		src[2 * i + 1] = ff_arcface_template[2 * i + 1] * 0.9 - 3;
		apply(truth, src[2 * i], src[2 * i + 1], &dst[2 * i], &dst[2 * i + 1]);
	}
	FF_ASSERT_OK(ff_similarity_estimate(src, dst, 5, m));
	for (int i = 0; i < 6; i++)
		CU_ASSERT_DOUBLE_EQUAL(m[i], truth[i], 1e-9);

	/* with noise the estimate stays close and is least squares: moving it
	 * does not reduce the residual */
	{
		static const double noise[10] = { 0.3, -0.2, -0.1, 0.4, 0.2, 0.1, -0.3, -0.2, 0.1, 0.25 };
		double nd[10], r0 = 0, r1 = 0;
		for (int i = 0; i < 10; i++)
			nd[i] = dst[i] + noise[i];
		FF_ASSERT_OK(ff_similarity_estimate(src, nd, 5, m));
		for (int i = 0; i < 6; i++)
			CU_ASSERT_DOUBLE_EQUAL(m[i], truth[i], (i == 2 || i == 5) ? 1.0 : 0.01);
		for (int i = 0; i < 5; i++) {
			double x, y;
			apply(m, src[2 * i], src[2 * i + 1], &x, &y);
			r0 += (x - nd[2 * i]) * (x - nd[2 * i]) + (y - nd[2 * i + 1]) * (y - nd[2 * i + 1]);
			m[2] += 0.01;
			apply(m, src[2 * i], src[2 * i + 1], &x, &y);
			m[2] -= 0.01;
			r1 += (x - nd[2 * i]) * (x - nd[2 * i]) + (y - nd[2 * i + 1]) * (y - nd[2 * i + 1]);
		}
		CU_ASSERT(r0 < r1);
	}

	/* a mirrored point set is not fitted by a reflection */
	{
		double mir[10];
		FF_ASSERT_OK(ff_similarity_estimate(src, dst, 5, m));
		for (int i = 0; i < 5; i++) {
			mir[2 * i] = -src[2 * i];
			mir[2 * i + 1] = src[2 * i + 1];
		}
		FF_ASSERT_OK(ff_similarity_estimate(src, mir, 5, m));
		CU_ASSERT(m[0] * m[4] - m[1] * m[3] >= 0);
	}

	FF_ASSERT_OK(ff_affine_invert(truth, inv));
	{
		double x, y, bx, by;
		apply(truth, 3, 4, &x, &y);
		apply(inv, x, y, &bx, &by);
		CU_ASSERT_DOUBLE_EQUAL(bx, 3, 1e-9);
		CU_ASSERT_DOUBLE_EQUAL(by, 4, 1e-9);
	}
	{
		double same[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
		static const double zero[6] = { 0, 0, 1, 0, 0, 1 };
		CU_ASSERT_EQUAL(ff_similarity_estimate(same, dst, 5, m), FF_ERR_INVAL);
		CU_ASSERT_EQUAL(ff_similarity_estimate(src, dst, 1, m), FF_ERR_INVAL);
		CU_ASSERT_EQUAL(ff_affine_invert(zero, inv), FF_ERR_INVAL);
	}
}

static void test_align(void)
{
	ff_image a = FF_IMAGE_EMPTY, b = FF_IMAGE_EMPTY, big = FF_IMAGE_EMPTY;
	float lm[10];

	/* landmarks already on the template: the crop is the image itself */
	make_pattern(&a, FF_ALIGN_SIZE, FF_ALIGN_SIZE);
	FF_ASSERT_OK(ff_align_face(&a, ff_arcface_template, &b));
	CU_ASSERT_EQUAL(b.width, FF_ALIGN_SIZE);
	CU_ASSERT_EQUAL(b.height, FF_ALIGN_SIZE);
	for (int y = 0; y < FF_ALIGN_SIZE; y++)
		CU_ASSERT(memcmp(at(&a, 0, y), at(&b, 0, y), FF_ALIGN_SIZE * 3) == 0);
	ff_image_free(&b);

	/* the face drawn at 2x scale shifted by (10, 20): aligning recovers it */
	FF_ASSERT_OK(ff_image_alloc(&big, 260, 270));
	memset(big.data, 0, big.stride * 270);
	for (int y = 0; y < 270; y++)
		for (int x = 0; x < 260; x++) {
			double sx = (x - 10) / 2.0, sy = (y - 20) / 2.0;
			if (sx >= 0 && sy >= 0 && sx <= FF_ALIGN_SIZE - 1 && sy <= FF_ALIGN_SIZE - 1)
				memcpy(at(&big, x, y), at(&a, (int)lround(sx), (int)lround(sy)), 3);
		}
	for (int i = 0; i < 5; i++) {
		lm[2 * i] = 2.0f * ff_arcface_template[2 * i] + 10.0f;
		lm[2 * i + 1] = 2.0f * ff_arcface_template[2 * i + 1] + 20.0f;
	}
	FF_ASSERT_OK(ff_align_face(&big, lm, &b));
	for (int y = 4; y < FF_ALIGN_SIZE - 4; y += 9)
		for (int x = 4; x < FF_ALIGN_SIZE - 4; x += 9)
			for (int c = 0; c < 3; c++)
				CU_ASSERT(abs(at(&b, x, y)[c] - at(&a, x, y)[c]) <= 3);
	ff_image_free(&b);

	lm[3] = NAN;
	CU_ASSERT_EQUAL(ff_align_face(&big, lm, &b), FF_ERR_INVAL);
	CU_ASSERT_PTR_NULL(b.data);
	ff_image_free(&big);
	ff_image_free(&a);
}

static CU_TestInfo geometry_tests[] = {
	{ "resize", test_resize },	   { "crop", test_crop },   { "warp", test_warp },
	{ "similarity", test_similarity }, { "align", test_align }, CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vision_geometry", NULL, NULL, NULL, NULL, geometry_tests });
