/* unit_vision_mtcnn: MTCNN box arithmetic without weights: pyramid scales,
 * P-Net box generation (transposed layout), NMS (union / min), regression,
 * squaring and landmark mapping. */
#include <math.h>
#include <string.h>

#include "facefleet/error.h"
#include "ff_test.h"
#include "mtcnn_boxes.h"

static ff_mtcnn_box box(float x1, float y1, float x2, float y2, float score)
{
	ff_mtcnn_box b;

	memset(&b, 0, sizeof(b));
	b.x1 = x1;
	b.y1 = y1;
	b.x2 = x2;
	b.y2 = y2;
	b.score = score;
	return b;
}

static void test_pyramid(void)
{
	float s[64];
	size_t n = ff_mtcnn_pyramid_scales(250, 250, 20.0f, 0.709f, s, 64);

	/* 12/20 = 0.6; 250 * 0.6 * 0.709^k >= 12 for k = 0..7 */
	CU_ASSERT_EQUAL(n, 8u);
	CU_ASSERT_DOUBLE_EQUAL(s[0], 0.6, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(s[1], 0.6 * 0.709, 1e-6);
	CU_ASSERT(250 * s[n - 1] >= 12.0f);
	CU_ASSERT(250 * s[n - 1] * 0.709f < 12.0f);
	/* the smaller side decides; counts beyond max are still reported */
	CU_ASSERT_EQUAL(ff_mtcnn_pyramid_scales(1000, 250, 20.0f, 0.709f, s, 2), 8u);
	CU_ASSERT_EQUAL(ff_mtcnn_pyramid_scales(10, 10, 20.0f, 0.709f, s, 64), 0u);
	CU_ASSERT_EQUAL(ff_mtcnn_pyramid_scales(100, 100, 20.0f, 1.5f, s, 64), 0u);
	/* P-Net output sizes: 12 -> 1, 150 -> 70 (the Kotlin port's
	 * ceil(w * 0.5 - 5)) */
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(12), 1);
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(13), 2);
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(150), 70);
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(151), 71);
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(11), 1); /* SAME pooling pads */
	CU_ASSERT_EQUAL(ff_mtcnn_pnet_out(10), 0);
}

static void test_generate(void)
{
	/* output map W=3, H=2 in the transposed layout [W][H][c] */
	float prob[3 * 2 * 2] = { 0 }, reg[3 * 2 * 4] = { 0 };
	ff_mtcnn_box out[6];
	size_t n;
	/* cell x = 2, y = 1 -> index (2 * 2 + 1) */
	prob[2 * 5 + 1] = 0.9f;
	reg[4 * 5 + 0] = 0.1f;
	reg[4 * 5 + 3] = -0.2f;
	prob[2 * 0 + 1] = 0.5f; /* below threshold */
	n = ff_mtcnn_generate(prob, reg, 3, 2, 1, 0.5f, 0.6f, out, 6);
	CU_ASSERT_EQUAL_FATAL(n, 1u);
	CU_ASSERT_DOUBLE_EQUAL(out[0].x1, 8, 1e-6);  /* 2 * 2 / 0.5 */
	CU_ASSERT_DOUBLE_EQUAL(out[0].y1, 4, 1e-6);  /* 2 * 1 / 0.5 */
	CU_ASSERT_DOUBLE_EQUAL(out[0].x2, 30, 1e-6); /* (4 + 11) / 0.5 */
	CU_ASSERT_DOUBLE_EQUAL(out[0].y2, 26, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[0].score, 0.9, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[0].reg[0], 0.1, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(out[0].reg[3], -0.2, 1e-6);
	/* the same map read as [H][W][c]: cell index 5 is now x = 2, y = 1 too
	 * (5 = 1 * 3 + 2), so the box is identical */
	n = ff_mtcnn_generate(prob, reg, 3, 2, 0, 0.5f, 0.6f, out, 6);
	CU_ASSERT_EQUAL(n, 1u);
	CU_ASSERT_DOUBLE_EQUAL(out[0].x1, 8, 1e-6);
	/* counting mode */
	CU_ASSERT_EQUAL(ff_mtcnn_generate(prob, reg, 3, 2, 1, 0.5f, 0.6f, NULL, 0), 1u);
	CU_ASSERT_EQUAL(ff_mtcnn_generate(prob, reg, 3, 2, 1, 0.5f, 0.4f, NULL, 0), 2u);
	/* capacity is respected */
	prob[1] = 0.95f;
	CU_ASSERT_EQUAL(ff_mtcnn_generate(prob, reg, 3, 2, 1, 0.5f, 0.6f, out, 1), 1u);
}

static void test_nms_union(void)
{
	ff_mtcnn_box b[5];
	size_t n;

	b[0] = box(0, 0, 9, 9, 0.8f);
	b[1] = box(1, 1, 10, 10, 0.9f);    /* IoU with b[0] = 81/119 = 0.68 */
	b[2] = box(50, 50, 59, 59, 0.7f);  /* disjoint */
	b[3] = box(0, 5, 9, 14, 0.95f);    /* IoU with b[1] = 54/146 = 0.37 */
	b[4] = box(52, 52, 61, 61, 0.71f); /* IoU with b[2] = 64/136 = 0.47 */
	n = ff_mtcnn_nms(b, 5, 0.5f, FF_NMS_UNION);
	CU_ASSERT_EQUAL_FATAL(n, 4u);
	/* sorted by score, b[0] suppressed by the better b[1] */
	CU_ASSERT_DOUBLE_EQUAL(b[0].score, 0.95, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b[1].score, 0.9, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b[2].score, 0.71, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b[3].score, 0.7, 1e-6);
	/* a stricter threshold also merges the 0.47 pair */
	n = ff_mtcnn_nms(b, n, 0.3f, FF_NMS_UNION);
	CU_ASSERT_EQUAL(n, 2u);
	CU_ASSERT_EQUAL(ff_mtcnn_nms(b, 0, 0.5f, FF_NMS_UNION), 0u);
}

static void test_nms_min(void)
{
	ff_mtcnn_box b[3];
	size_t n;

	/* a small box inside a big one: IoU 0.25 but overlap/min = 1 */
	b[0] = box(0, 0, 19, 19, 0.9f);
	b[1] = box(5, 5, 14, 14, 0.8f);
	b[2] = box(100, 100, 120, 120, 0.5f);
	n = ff_mtcnn_nms(b, 3, 0.7f, FF_NMS_UNION);
	CU_ASSERT_EQUAL(n, 3u);
	n = ff_mtcnn_nms(b, 3, 0.7f, FF_NMS_MIN);
	CU_ASSERT_EQUAL_FATAL(n, 2u);
	CU_ASSERT_DOUBLE_EQUAL(b[0].x2, 19, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b[1].x1, 100, 1e-6);
}

static void test_regress_square(void)
{
	ff_mtcnn_box b = box(10, 20, 29, 59, 1.0f); /* 20 x 40 */

	b.reg[0] = 0.1f;
	b.reg[1] = -0.05f;
	b.reg[2] = 0.2f;
	b.reg[3] = 0.0f;
	ff_mtcnn_regress(&b, 1);
	CU_ASSERT_DOUBLE_EQUAL(b.x1, 12, 1e-5);
	CU_ASSERT_DOUBLE_EQUAL(b.y1, 18, 1e-5);
	CU_ASSERT_DOUBLE_EQUAL(b.x2, 33, 1e-5);
	CU_ASSERT_DOUBLE_EQUAL(b.y2, 59, 1e-5);
	CU_ASSERT_DOUBLE_EQUAL(b.reg[0], 0, 0);
	/* now 22 wide, 42 high: square of side 42 around the same centre */
	ff_mtcnn_square(&b, 1);
	CU_ASSERT_DOUBLE_EQUAL(b.x2 - b.x1 + 1, 42, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b.y2 - b.y1 + 1, 42, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b.x1, 2, 1e-6); /* centre 23 - 21 */
	CU_ASSERT_DOUBLE_EQUAL(b.y1, 18, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b.x1, floorf(b.x1), 0);
}

static void test_landmarks(void)
{
	ff_mtcnn_box b = box(100, 50, 147, 97, 1.0f); /* 48 x 48 */
	const float rel[10] = { 0.25f, 0.75f, 0.5f, 0.3f, 0.7f, 0.4f, 0.4f, 0.6f, 0.8f, 0.8f };

	ff_mtcnn_landmarks(&b, rel);
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[0], 112, 1e-5); /* left eye x */
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[1], 69.2, 1e-4); /* left eye y */
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[2], 136, 1e-5); /* right eye x */
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[5], 78.8, 1e-4); /* nose y */
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[8], 133.6, 1e-4); /* right mouth x */
	CU_ASSERT_DOUBLE_EQUAL(b.landmarks[9], 88.4, 1e-4);
}

/* Candidates over a face O-Net already confirmed are dropped, the others
 * keep their order. */
static void test_drop_known(void)
{
	ff_mtcnn_box b[4], known[2];

	known[0] = box(0, 0, 9, 9, 0.99f);
	known[1] = box(100, 100, 139, 139, 0.99f);
	b[0] = box(1, 1, 10, 10, 0.8f);      /* IoU 81/119 = 0.68 with known[0] */
	b[1] = box(50, 50, 59, 59, 0.7f);    /* touches nothing */
	b[2] = box(110, 110, 149, 149, 0.9f); /* IoU 900/2300 = 0.39 with known[1] */
	b[3] = box(130, 130, 169, 169, 0.6f); /* IoU 100/3100 = 0.03 */
	CU_ASSERT_DOUBLE_EQUAL(ff_mtcnn_overlap(&b[0], &known[0], FF_NMS_UNION), 81.0 / 119, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(ff_mtcnn_overlap(&b[1], &known[0], FF_NMS_UNION), 0, 1e-9);
	CU_ASSERT_EQUAL(ff_mtcnn_drop_known(b, 4, known, 0, 0.3f), 4u); /* nothing known */
	CU_ASSERT_EQUAL_FATAL(ff_mtcnn_drop_known(b, 4, known, 2, 0.3f), 2u);
	CU_ASSERT_DOUBLE_EQUAL(b[0].score, 0.7, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(b[1].score, 0.6, 1e-6);
}

static CU_TestInfo mtcnn_tests[] = {
	{ "drop_known", test_drop_known },
	{ "pyramid", test_pyramid },
	{ "generate", test_generate },
	{ "nms_union", test_nms_union },
	{ "nms_min", test_nms_min },
	{ "regress_square", test_regress_square },
	{ "landmarks", test_landmarks },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vision_mtcnn", NULL, NULL, NULL, NULL, mtcnn_tests });
