/* device_track: fleet-device's face tracks and their policy (device/track.c)
 * and the face quality score (device/quality.c), without models or broker:
 *  - a face moving and growing over frames stays one track; two faces are
 *    two tracks whatever their order in the detector's list; a face unseen
 *    longer than track_timeout_ms comes back as a new track; a box that jumps
 *    with landmarks that stay is the same face; the clock going back ends
 *    every track; more faces than slots end the least recently seen;
 *  - the policy sends the first face that passes the quality gate at once,
 *    then only better ones (by the margin) or later ones (moment_ms), never
 *    more than max_faces, never a gated face; the track id is the seq of its
 *    first sent face;
 *  - sharpness ranks a sample face above its blurred copy; roll and yaw
 *    from the landmarks; the score grows with size and falls with pose. */
#include "ff_test.h"

#include <math.h>
#include <string.h>

#include "device.h"
#include "facefleet/error.h"

/* A frontal face with its box at (x, y), side s, landmarks where MTCNN puts them. */
static ff_face face_at(float x, float y, float s)
{
	ff_face f = { x, y, x + s - 1, y + s - 1, 0.99f, { 0 } };
	const float lm[10] = { 0.3f, 0.4f, 0.7f, 0.4f, 0.5f, 0.6f, 0.35f, 0.8f, 0.65f, 0.8f };
	for (int i = 0; i < 5; i++) {
		f.landmarks[2 * i] = x + lm[2 * i] * s;
		f.landmarks[2 * i + 1] = y + lm[2 * i + 1] * s;
	}
	return f;
}

static dev_tracker *tracker(int timeout_ms, int max_faces, float min_q, float margin, int moment_ms)
{
	dev_track_options o = { timeout_ms, max_faces, min_q, margin, moment_ms };
	dev_tracker *t = NULL;
	FF_ASSERT_OK(dev_tracker_create(&o, &t));
	return t;
}

/* One frame of n faces at t_ms, all of quality q; sends what the policy
 * picks with seqs from *seq. Returns how many were sent. */
static int frame(dev_tracker *t, int64_t t_ms, const ff_face *f, size_t n, float q, uint64_t *seq,
		 dev_track_verdict *v)
{
	float qs[8] = { 0 };
	int sent = 0;
	for (size_t i = 0; i < n; i++)
		qs[i] = q;
	FF_ASSERT_OK(dev_tracker_frame(t, t_ms, f, qs, n, v));
	for (size_t i = 0; i < n; i++)
		if (v[i].send) {
			dev_tracker_sent(t, &v[i], ++*seq);
			sent++;
		}
	return sent;
}

static dev_track_stats stats(const dev_tracker *t)
{
	dev_track_stats st;
	dev_tracker_stats(t, &st);
	return st;
}

static void test_moving_face_one_track(void)
{
	dev_tracker *t = tracker(1000, 3, 0.2f, 0.1f, 1000);
	dev_track_verdict v[1];
	uint64_t seq = 100, first_id = 0;
	int sent = 0;

	for (int k = 0; k < 40; k++) { /* 4 s at 10 fps: walks right, grows */
		ff_face f = face_at(50 + 8.0f * k, 80 + 2.0f * k, 80 + 2.0f * k);
		int s = frame(t, 100 * k, &f, 1, 0.5f, &seq, v);
		if (s && !first_id)
			first_id = v[0].track_id;
		if (s) {
			CU_ASSERT_EQUAL(v[0].index, (uint32_t)sent);
			CU_ASSERT_EQUAL(v[0].track_id, first_id);
			/* constant quality: only the moment counts, 1 s apart */
			CU_ASSERT_EQUAL(k, sent * 10);
		}
		sent += s;
	}
	CU_ASSERT_EQUAL(sent, 3);
	CU_ASSERT_EQUAL(first_id, 101); /* the seq of its first face */
	dev_tracker_flush(t);
	CU_ASSERT_EQUAL(stats(t).started, 1);
	CU_ASSERT_EQUAL(stats(t).with_faces, 1);
	CU_ASSERT_EQUAL(stats(t).live, 0);
	dev_tracker_free(t);
}

static void test_two_faces_two_tracks(void)
{
	dev_tracker *t = tracker(1000, 3, 0.2f, 0.1f, 1000);
	dev_track_verdict v[2];
	uint64_t seq = 0, id_left = 0, id_right = 0;

	for (int k = 0; k < 20; k++) {
		ff_face a = face_at(40 + 5.0f * k, 100, 90), b = face_at(400 - 5.0f * k, 120, 100);
		ff_face f[2] = { k % 2 ? a : b, k % 2 ? b : a }; /* the detector's order changes */
		frame(t, 66 * k, f, 2, 0.6f, &seq, v);
		for (int i = 0; i < 2; i++) {
			uint64_t *id = f[i].x0 < 250 ? &id_left : &id_right;
			if (v[i].track_id && !*id)
				*id = v[i].track_id;
			CU_ASSERT(v[i].track_id == 0 || v[i].track_id == *id);
		}
	}
	CU_ASSERT(id_left && id_right && id_left != id_right);
	CU_ASSERT_EQUAL(stats(t).started, 2);
	dev_tracker_free(t);
}

static void test_timeout_ends_track(void)
{
	dev_tracker *t = tracker(500, 3, 0.2f, 0.1f, 1000);
	ff_face f = face_at(100, 100, 100);
	dev_track_verdict v[1];
	uint64_t seq = 0;

	CU_ASSERT_EQUAL(frame(t, 0, &f, 1, 0.5f, &seq, v), 1);
	CU_ASSERT_EQUAL(frame(t, 400, &f, 1, 0.5f, &seq, v), 0); /* within the timeout: same track */
	CU_ASSERT_EQUAL(frame(t, 400, NULL, 0, 0.5f, &seq, v), 0);
	CU_ASSERT_EQUAL(frame(t, 901, &f, 1, 0.5f, &seq, v), 1); /* 501 ms unseen: a new track */
	CU_ASSERT_EQUAL(v[0].index, 0);
	CU_ASSERT_EQUAL(v[0].track_id, 2);
	CU_ASSERT_EQUAL(stats(t).started, 2);
	CU_ASSERT_EQUAL(stats(t).ended, 1);
	dev_tracker_free(t);
}

static void test_jumping_box_same_landmarks(void)
{
	dev_tracker *t = tracker(1000, 3, 0.2f, 0.1f, 1000);
	ff_face a = face_at(100, 100, 100), b = a, far = face_at(300, 100, 100);
	dev_track_verdict v[1];
	uint64_t seq = 0;

	b.x0 += 75, b.x1 += 75; /* box overlap 0.14, landmarks where they were */
	frame(t, 0, &a, 1, 0.5f, &seq, v);
	frame(t, 100, &b, 1, 0.5f, &seq, v);
	CU_ASSERT_EQUAL(stats(t).started, 1);
	frame(t, 200, &far, 1, 0.5f, &seq, v); /* moved 2 face widths at once: someone else */
	CU_ASSERT_EQUAL(stats(t).started, 2);
	dev_tracker_free(t);
}

static void test_clock_back_and_crowd(void)
{
	dev_tracker *t = tracker(1000, 3, 0.2f, 0.1f, 1000);
	ff_face f = face_at(100, 100, 100);
	dev_track_verdict v[1];
	uint64_t seq = 0;

	frame(t, 5000, &f, 1, 0.5f, &seq, v);
	frame(t, 10, &f, 1, 0.5f, &seq, v); /* the file started again */
	CU_ASSERT_EQUAL(stats(t).started, 2);
	CU_ASSERT_EQUAL(stats(t).ended, 1);
	for (int k = 0; k < 70; k++) { /* 70 faces one after the other, each its own track */
		ff_face g = face_at(1000.0f * k, 0, 50);
		frame(t, 20 + k, &g, 1, 0.5f, &seq, v);
	}
	CU_ASSERT_EQUAL(stats(t).started, 72);
	CU_ASSERT_EQUAL(stats(t).live, 64);
	dev_tracker_free(t);
}

static void test_policy(void)
{
	/* quality per frame, 100 ms apart (moment_ms 10 s: only "better" counts) */
	const float q[] = { 0.1f, -1, 0.3f, 0.35f, 0.45f, 0.5f, 0.56f, 0.9f, 0.95f };
	const bool want[] = { false, false, true, false, true, false, true, false, false };
	dev_tracker *t = tracker(1000, 3, 0.2f, 0.1f, 10000);
	ff_face f = face_at(100, 100, 100);
	dev_track_verdict v[1];
	uint64_t seq = 0;
	uint32_t index = 0;

	for (size_t k = 0; k < sizeof(q) / sizeof(q[0]); k++) {
		CU_ASSERT_EQUAL(frame(t, 100 * (int64_t)k, &f, 1, q[k], &seq, v), want[k]);
		if (want[k])
			CU_ASSERT_EQUAL(v[0].index, index++);
	}
	CU_ASSERT_EQUAL(seq, 3); /* at most max_faces */
	dev_tracker_free(t);

	/* max_faces 1: the first good face only, however long the track */
	t = tracker(1000, 1, 0.2f, 0.1f, 100);
	seq = 0;
	for (int k = 0; k < 30; k++)
		frame(t, 100 * k, &f, 1, k < 2 ? 0.3f : 0.9f, &seq, v);
	CU_ASSERT_EQUAL(seq, 1);
	dev_tracker_free(t);
}

static void test_bad_arguments(void)
{
	dev_track_options o = DEV_TRACK_OPTIONS_INIT;
	dev_tracker *t = NULL;
	ff_face f = face_at(0, 0, 50);
	dev_track_verdict v[1];

	o.max_faces = 0;
	CU_ASSERT_EQUAL(dev_tracker_create(&o, &t), FF_ERR_INVAL);
	o.max_faces = 3;
	FF_ASSERT_OK(dev_tracker_create(&o, &t));
	CU_ASSERT_EQUAL(dev_tracker_frame(t, 0, &f, NULL, 1, v), FF_ERR_INVAL);
	FF_ASSERT_OK(dev_tracker_frame(t, 0, NULL, NULL, 0, NULL));
	dev_tracker_free(t);
}

/* ---- quality ---- */

static void box_blur(const ff_image *src, ff_image *dst)
{
	FF_ASSERT_OK(ff_image_alloc(dst, src->width, src->height));
	for (int y = 0; y < src->height; y++)
		for (int x = 0; x < src->width; x++)
			for (int c = 0; c < 3; c++) {
				int sum = 0, n = 0;
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int yy = y + dy, xx = x + dx;
						if (yy < 0 || xx < 0 || yy >= src->height || xx >= src->width)
							continue;
						sum += src->data[(size_t)yy * src->stride + 3 * (size_t)xx + c];
						n++;
					}
				dst->data[(size_t)y * dst->stride + 3 * (size_t)x + c] = (uint8_t)(sum / n);
			}
}

static void test_sharpness(void)
{
	ff_image img = FF_IMAGE_EMPTY, blurred = FF_IMAGE_EMPTY, flat = FF_IMAGE_EMPTY;
	char path[1024];

	ff_test_data_path(path, sizeof(path), "faces/aligned112/Alan_Greenspan/Alan_Greenspan_0001.jpg");
	FF_ASSERT_OK(ff_image_load(path, NULL, &img, NULL, 0));
	if (!img.data)
		return;
	box_blur(&img, &blurred);
	FF_ASSERT_OK(ff_image_alloc(&flat, 112, 112));
	memset(flat.data, 128, flat.stride * 112);
	CU_ASSERT(dev_laplacian_variance(&img) > 2 * dev_laplacian_variance(&blurred));
	CU_ASSERT(dev_laplacian_variance(&blurred) > 0);
	CU_ASSERT_DOUBLE_EQUAL(dev_laplacian_variance(&flat), 0, 1e-9);
	ff_image_free(&img);
	ff_image_free(&blurred);
	ff_image_free(&flat);
}

static void test_pose(void)
{
	ff_face f = face_at(0, 0, 100);
	float a = (float)(30 * M_PI / 180);

	CU_ASSERT_DOUBLE_EQUAL(dev_pose_roll_deg(f.landmarks), 0, 1e-4);
	CU_ASSERT_DOUBLE_EQUAL(dev_pose_yaw(f.landmarks), 0, 1e-4);
	/* rotate every point by 30 degrees about the origin: roll 30, yaw still 0 */
	for (int i = 0; i < 5; i++) {
		float x = f.landmarks[2 * i], y = f.landmarks[2 * i + 1];
		f.landmarks[2 * i] = x * cosf(a) - y * sinf(a);
		f.landmarks[2 * i + 1] = x * sinf(a) + y * cosf(a);
	}
	CU_ASSERT_DOUBLE_EQUAL(dev_pose_roll_deg(f.landmarks), 30, 1e-3);
	CU_ASSERT_DOUBLE_EQUAL(dev_pose_yaw(f.landmarks), 0, 1e-4);
	/* nose under the right eye: turned half away */
	f = face_at(0, 0, 100);
	f.landmarks[4] = f.landmarks[2];
	CU_ASSERT_DOUBLE_EQUAL(dev_pose_yaw(f.landmarks), 0.5, 1e-4);
}

static void test_score(void)
{
	ff_face small = face_at(0, 0, 40), big = face_at(0, 0, 120), turned = face_at(0, 0, 120);
	ff_image img = FF_IMAGE_EMPTY;
	dev_quality qs, qb, qt;
	char path[1024];

	ff_test_data_path(path, sizeof(path), "faces/aligned112/Allison_Janney/Allison_Janney_0001.jpg");
	FF_ASSERT_OK(ff_image_load(path, NULL, &img, NULL, 0));
	turned.landmarks[4] = turned.landmarks[0] + 0.1f * (turned.landmarks[2] - turned.landmarks[0]);
	dev_quality_measure(&small, &img, &qs);
	dev_quality_measure(&big, &img, &qb);
	dev_quality_measure(&turned, &img, &qt);
	CU_ASSERT(qs.score < qb.score);
	CU_ASSERT(qt.score < 0.5f * qb.score); /* nearly in profile */
	CU_ASSERT_DOUBLE_EQUAL(qb.size, 1, 1e-6);
	CU_ASSERT(qb.score > 0.4f && qb.score <= 1); /* a good sample face passes the default gate easily */
	CU_ASSERT_DOUBLE_EQUAL(qb.score, qb.size * qb.sharpness * qb.pose, 1e-6);
	ff_image_free(&img);
}

static CU_TestInfo track_tests[] = {
	{ "moving_face_one_track", test_moving_face_one_track },
	{ "two_faces_two_tracks", test_two_faces_two_tracks },
	{ "timeout_ends_track", test_timeout_ends_track },
	{ "jumping_box_same_landmarks", test_jumping_box_same_landmarks },
	{ "clock_back_and_crowd", test_clock_back_and_crowd },
	{ "policy", test_policy },
	{ "bad_arguments", test_bad_arguments },
	CU_TEST_INFO_NULL,
};
static CU_TestInfo quality_tests[] = {
	{ "sharpness", test_sharpness },
	{ "pose", test_pose },
	{ "score", test_score },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_track", NULL, NULL, NULL, NULL, track_tests },
	       { "device_quality", NULL, NULL, NULL, NULL, quality_tests });
