/* device_scan: where the detector looks in video frames (device/scan.c,
 * ff_detect_near), on 640x480 frames made here from sample faces pasted on
 * a grey background (skips, 77, without the MTCNN models):
 *  - the schedule alone: whole frames every N, and after a lost face;
 *  - a face entering is found at most N-1 frames late, then followed near
 *    its last place in every frame while it walks and grows, with the box
 *    and landmarks a whole-frame scan of the same frame gives (within a few
 *    percent of the face's size), and landmarks as close to the face's true
 *    ones (found on the source photo) as the whole scan's;
 *  - a second face entering while the first is followed is found at the next
 *    whole scan, at most N-1 frames late;
 *  - a face leaving: the next frame is scanned whole, then nothing is known. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "facefleet/detect.h"
#include "facefleet/error.h"
#include "ff_test.h"

#define W 640
#define H 480
#define N 3 /* detector_full_scan_every */

static ff_detector *det;
static ff_image face_a, face_b;

/* In the suite's set-up: no assertion there, a failure says why. */
static int load(const char *name, ff_image *im)
{
	char rel[512], path[1024], why[256] = "";
	int rc;
	snprintf(rel, sizeof(rel), "faces/lfw/%s", name);
	rc = ff_image_load(ff_test_data_path(path, sizeof(path), rel), NULL, im, why, sizeof(why));
	if (rc != FF_OK)
		fprintf(stderr, "%s: %s\n", path, why);
	return rc;
}

static int suite_init(void)
{
	const char *dir = getenv("FF_MODELS_DIR");
	ff_detector_options o = FF_DETECTOR_OPTIONS_INIT;
	char d[2048], p[2100], err[512] = "";

	if (!dir)
		ff_test_skip("FF_MODELS_DIR not set");
	snprintf(d, sizeof(d), "%s/ffn", dir);
	snprintf(p, sizeof(p), "%s/onet.ffn", d);
	if (access(p, R_OK) != 0)
		ff_test_skip("models not fetched: %s missing (run models/fetch)", p);
	o.min_face_size = 40; /* the device's default */
	if (ff_detector_create(d, &o, &det, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "cannot load the detector: %s\n", err);
		return 1;
	}
	return load("Al_Pacino/Al_Pacino_0001.jpg", &face_a) != FF_OK ||
	       load("Alan_Greenspan/Alan_Greenspan_0001.jpg", &face_b) != FF_OK;
}

static int suite_clean(void)
{
	ff_detector_free(det);
	ff_image_free(&face_a);
	ff_image_free(&face_b);
	return 0;
}

/* A person in a frame: face image src scaled to side x side at (x, y). */
typedef struct person {
	const ff_image *src;
	int x, y, side;
} person;

/* A grey 640x480 frame with the people pasted in (np may be 0). */
static void make_frame(const person *p, int np, ff_image *out)
{
	FF_ASSERT_OK(ff_image_alloc(out, W, H));
	memset(out->data, 0x6e, (size_t)out->stride * H);
	for (int i = 0; i < np; i++) {
		ff_image s = FF_IMAGE_EMPTY;
		FF_ASSERT_OK(ff_image_resize(p[i].src, p[i].side, p[i].side, &s));
		for (int y = 0; y < s.height && p[i].y + y < H; y++)
			memcpy(out->data + (size_t)(p[i].y + y) * out->stride + (size_t)p[i].x * 3,
			       s.data + (size_t)y * s.stride, (size_t)s.width * 3);
		ff_image_free(&s);
	}
}

static float iou(const ff_face *a, const ff_face *b)
{
	float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0) + 1;
	float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0) + 1;
	float ua = (a->x1 - a->x0 + 1) * (a->y1 - a->y0 + 1);
	float ub = (b->x1 - b->x0 + 1) * (b->y1 - b->y0 + 1);
	return ix <= 0 || iy <= 0 ? 0 : ix * iy / (ua + ub - ix * iy);
}

/* The face of faces[0..n) over the box of want, or NULL. */
static const ff_face *match(const ff_face *faces, size_t n, const ff_face *want)
{
	for (size_t i = 0; i < n; i++)
		if (iou(&faces[i], want) > 0.5f)
			return &faces[i];
	return NULL;
}

/* Mean landmark distance of a and b over the face's side. */
static float lm_err(const ff_face *a, const ff_face *b)
{
	float d = 0;
	for (int k = 0; k < 5; k++)
		d += hypotf(a->landmarks[2 * k] - b->landmarks[2 * k],
			    a->landmarks[2 * k + 1] - b->landmarks[2 * k + 1]);
	return d / 5 / (b->x1 - b->x0 + 1);
}

static void test_schedule(void)
{
	dev_scan *s = NULL;
	ff_image frame = FF_IMAGE_EMPTY;
	ff_face faces[8];
	size_t n = 0;

	CU_ASSERT_EQUAL(dev_scan_create(0, 8, &s), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(dev_scan_create(N, 0, &s), FF_ERR_INVAL);
	FF_ASSERT_OK(dev_scan_create(N, 8, &s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	make_frame(NULL, 0, &frame);
	/* an empty scene: whole frames 0, N, 2N... (the near scans find nothing) */
	for (int i = 0; i < 3 * N; i++) {
		CU_ASSERT_EQUAL(dev_scan_full_due(s), i % N == 0);
		FF_ASSERT_OK(dev_scan_frame(s, det, &frame, faces, 8, &n));
		CU_ASSERT_EQUAL(n, 0);
	}
	CU_ASSERT_EQUAL(s->full, 3);
	CU_ASSERT_EQUAL(s->near, 3 * N - 3);
	/* a new input forgets: the next frame is whole */
	FF_ASSERT_OK(dev_scan_frame(s, det, &frame, faces, 8, &n));
	CU_ASSERT_FALSE(dev_scan_full_due(s));
	dev_scan_reset(s);
	CU_ASSERT_TRUE(dev_scan_full_due(s));
	dev_scan_free(s);
	/* N = 1: every frame whole, as ff_detect */
	FF_ASSERT_OK(dev_scan_create(1, 8, &s));
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(dev_scan_full_due(s));
		FF_ASSERT_OK(dev_scan_frame(s, det, &frame, faces, 8, &n));
	}
	CU_ASSERT_EQUAL(s->near, 0);
	dev_scan_free(s);
	ff_image_free(&frame);
}

/* One frame through the schedule and through ff_detect; returns the
 * schedule's count and checks every face it found against the whole scan. */
/* Person A's landmarks detected on the source photo (250x250), and where
 * they land in a frame that pastes it as p: what the frame's detections
 * should find. */
static ff_face truth_a;
static float err_scan, err_whole;
static int err_n;

/* Mean landmark distance of f from where A's truly are, over A's box side. */
static float truth_err(const ff_face *f, const person *p)
{
	float k = (float)p->side / 250.0f;
	ff_face t = truth_a;

	for (int j = 0; j < 10; j++)
		t.landmarks[j] = (truth_a.landmarks[j] + 0.5f) * k - 0.5f + (float)(j % 2 ? p->y : p->x);
	t.x0 = 0;
	t.x1 = (truth_a.x1 - truth_a.x0 + 1) * k - 1;
	return lm_err(f, &t);
}

static size_t step(dev_scan *s, const person *p, int np, ff_face *faces)
{
	ff_image frame = FF_IMAGE_EMPTY;
	ff_face ref[8];
	size_t n = 0, nr = 0;

	make_frame(p, np, &frame);
	FF_ASSERT_OK(dev_scan_frame(s, det, &frame, faces, 8, &n));
	FF_ASSERT_OK(ff_detect(det, &frame, ref, 8, &nr));
	for (size_t i = 0; i < n; i++) {
		const ff_face *r = match(ref, nr, &faces[i]);
		CU_ASSERT_PTR_NOT_NULL(r); /* no face the whole scan does not see */
		if (r) { /* O-Net's box from another crop: a few percent apart */
			CU_ASSERT(iou(&faces[i], r) > 0.7f);
			CU_ASSERT(lm_err(&faces[i], r) < 0.06f);
		}
		if (r && np == 1 && p[0].src == &face_a) {
			float e = truth_err(&faces[i], p);
			CU_ASSERT(e < 0.03f);
			err_scan += e;
			err_whole += truth_err(r, p);
			err_n++;
		}
	}
	ff_image_free(&frame);
	return n;
}

static void test_enter_follow_leave(void)
{
	dev_scan *s = NULL;
	ff_face faces[8];
	person p[2];
	int first_a = -1, first_b = -1;
	size_t n;

	FF_ASSERT_OK(ff_detect(det, &face_a, &truth_a, 1, &n));
	CU_ASSERT_EQUAL_FATAL(n, 1);
	FF_ASSERT_OK(dev_scan_create(N, 8, &s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* frames 0-1 empty; A from frame 2 (not a whole-scan frame), walking
	 * right 8 px and growing 3 px a frame */
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(step(s, NULL, 0, faces), 0);
	for (int i = 2; i < 20; i++) {
		p[0] = (person){ &face_a, 20 + 8 * i, 80, 150 + 3 * i };
		n = step(s, p, 1, faces);
		if (first_a < 0 && n == 1)
			first_a = i;
		if (first_a >= 0)
			CU_ASSERT_EQUAL(n, 1); /* followed in every frame once found */
	}
	CU_ASSERT(first_a >= 2 && first_a <= 2 + N - 1);
	/* the landmarks followed near the last place are about as good as a
	 * whole scan's (mean within 1 % of the face's side) */
	CU_ASSERT_FATAL(err_n >= 15);
	CU_ASSERT(err_scan / (float)err_n < err_whole / (float)err_n + 0.01f);
	CU_ASSERT(s->near >= 10); /* most frames looked near A only */
	/* B enters at frame 20 on the right while A is followed */
	for (int i = 20; i < 30; i++) {
		p[0] = (person){ &face_a, 20 + 8 * 19, 80, 150 + 3 * 19 }; /* A stops */
		p[1] = (person){ &face_b, 440 - 4 * (i - 20), 200, 180 };
		n = step(s, p, 2, faces);
		CU_ASSERT(n >= 1);
		if (first_b < 0 && n == 2)
			first_b = i;
		if (first_b >= 0)
			CU_ASSERT_EQUAL(n, 2);
	}
	CU_ASSERT(first_b >= 20 && first_b <= 20 + N - 1);
	/* both leave: the first frame without them looks near them, finds
	 * nothing, and the next is scanned whole */
	CU_ASSERT_EQUAL(step(s, NULL, 0, faces), 0);
	/* unless that frame was a whole scan (since 0), which knows it all */
	CU_ASSERT_EQUAL(dev_scan_full_due(s), s->since != 0);
	CU_ASSERT_EQUAL(s->nhints, 0);
	dev_scan_free(s);
}

static CU_TestInfo tests[] = {
	{ "schedule", test_schedule },
	{ "enter_follow_leave", test_enter_follow_leave },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "device_scan", suite_init, suite_clean, NULL, NULL, tests });
