/* MTCNN box arithmetic, following the original MTCNN (Zhang et al. 2016)
 * and its TensorFlow/TFLite ports (facenet's detect_face.py, the expo
 * Kotlin port these .tflite files come from). */
#include "mtcnn_boxes.h"

#include <math.h>
#include <stdlib.h>

size_t ff_mtcnn_pyramid_scales(int width, int height, float min_face, float factor,
			       float *scales, size_t max)
{
	double m, minl;
	size_t n = 0;

	if (width <= 0 || height <= 0 || !(min_face > 0) || !(factor > 0 && factor < 1))
		return 0;
	m = 12.0 / min_face;
	minl = (width < height ? width : height) * m;
	for (double s = m; minl >= 12.0; s *= factor, minl *= factor) {
		if (scales && n < max)
			scales[n] = (float)s;
		n++;
	}
	return n;
}

int ff_mtcnn_pnet_out(int side)
{
	/* conv 3x3 valid, max-pool 2x2 stride 2 SAME, conv 3x3, conv 3x3 */
	int v = (side - 2 + 1) / 2 - 4;
	return v > 0 ? v : 0;
}

size_t ff_mtcnn_generate(const float *prob, const float *reg, int ow, int oh, int transposed,
			 float scale, float threshold, ff_mtcnn_box *out, size_t cap)
{
	size_t n = 0;

	for (int y = 0; y < oh; y++) {
		for (int x = 0; x < ow; x++) {
			size_t cell = transposed ? (size_t)x * oh + y : (size_t)y * ow + x;
			float score = prob[2 * cell + 1];
			ff_mtcnn_box *b;

			if (!(score > threshold))
				continue;
			if (!out) {
				n++;
				continue;
			}
			if (n >= cap)
				return n;
			b = &out[n++];
			b->x1 = roundf(2.0f * x / scale);
			b->y1 = roundf(2.0f * y / scale);
			b->x2 = roundf((2.0f * x + 11.0f) / scale);
			b->y2 = roundf((2.0f * y + 11.0f) / scale);
			b->score = score;
			for (int k = 0; k < 4; k++)
				b->reg[k] = reg[4 * cell + k];
			for (int k = 0; k < 10; k++)
				b->landmarks[k] = 0;
		}
	}
	return n;
}

static int by_score_desc(const void *a, const void *b)
{
	const ff_mtcnn_box *x = a, *y = b;

	if (x->score > y->score)
		return -1;
	if (x->score < y->score)
		return 1;
	/* deterministic order for equal scores */
	if (x->x1 != y->x1)
		return x->x1 < y->x1 ? -1 : 1;
	if (x->y1 != y->y1)
		return x->y1 < y->y1 ? -1 : 1;
	return 0;
}

static float box_area(const ff_mtcnn_box *b)
{
	return (b->x2 - b->x1 + 1) * (b->y2 - b->y1 + 1);
}

float ff_mtcnn_overlap(const ff_mtcnn_box *p, const ff_mtcnn_box *q, int method)
{
	float iw = fminf(p->x2, q->x2) - fmaxf(p->x1, q->x1) + 1;
	float ih = fminf(p->y2, q->y2) - fmaxf(p->y1, q->y1) + 1;
	float inter, denom;

	if (iw <= 0 || ih <= 0)
		return 0;
	inter = iw * ih;
	denom = method == FF_NMS_MIN ? fminf(box_area(p), box_area(q))
				     : box_area(p) + box_area(q) - inter;
	return denom > 0 ? inter / denom : 0;
}

size_t ff_mtcnn_nms(ff_mtcnn_box *b, size_t n, float threshold, int method)
{
	size_t kept = 0;

	if (!b || n == 0)
		return 0;
	qsort(b, n, sizeof(*b), by_score_desc);
	for (size_t i = 0; i < n; i++) {
		int keep = 1;
		for (size_t k = 0; k < kept && keep; k++)
			keep = !(ff_mtcnn_overlap(&b[k], &b[i], method) > threshold);
		if (keep)
			b[kept++] = b[i];
	}
	return kept;
}

size_t ff_mtcnn_drop_known(ff_mtcnn_box *b, size_t n, const ff_mtcnn_box *known, size_t nk,
			   float threshold)
{
	size_t kept = 0;

	for (size_t i = 0; b && i < n; i++) {
		int keep = 1;
		for (size_t k = 0; k < nk && keep; k++)
			keep = !(ff_mtcnn_overlap(&known[k], &b[i], FF_NMS_UNION) > threshold);
		if (keep)
			b[kept++] = b[i];
	}
	return kept;
}

void ff_mtcnn_regress(ff_mtcnn_box *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float w = b[i].x2 - b[i].x1 + 1, h = b[i].y2 - b[i].y1 + 1;
		b[i].x1 += b[i].reg[0] * w;
		b[i].y1 += b[i].reg[1] * h;
		b[i].x2 += b[i].reg[2] * w;
		b[i].y2 += b[i].reg[3] * h;
		for (int k = 0; k < 4; k++)
			b[i].reg[k] = 0;
	}
}

void ff_mtcnn_square(ff_mtcnn_box *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float w = b[i].x2 - b[i].x1 + 1, h = b[i].y2 - b[i].y1 + 1;
		float l = fmaxf(w, h);
		float cx = b[i].x1 + 0.5f * w, cy = b[i].y1 + 0.5f * h;
		b[i].x1 = floorf(cx - 0.5f * l + 0.5f);
		b[i].y1 = floorf(cy - 0.5f * l + 0.5f);
		b[i].x2 = b[i].x1 + roundf(l) - 1;
		b[i].y2 = b[i].y1 + roundf(l) - 1;
	}
}

void ff_mtcnn_landmarks(ff_mtcnn_box *b, const float *rel10)
{
	float w = b->x2 - b->x1 + 1, h = b->y2 - b->y1 + 1;

	for (int k = 0; k < 5; k++) {
		b->landmarks[2 * k] = b->x1 + rel10[k] * w;
		b->landmarks[2 * k + 1] = b->y1 + rel10[k + 5] * h;
	}
}
