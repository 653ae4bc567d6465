/* A face's quality from what the device already has, without another
 * network: its size, the sharpness of its aligned crop, and its pose from
 * the five landmarks. The track policy (track.c) sends the better faces of a
 * track; the score also travels as FaceCodes.quality so that the backend can
 * weight the faces it fuses. */
#include "device.h"

#include <math.h>

#include "facefleet/align.h"

/* A face this wide fills most of the 112x112 crop: bigger adds little detail. */
#define FULL_PX 100.0f
/* Laplacian variance at which sharpness scores 0.5. Measured on the 64
 * aligned LFW crops of tests/data/faces: median 175 (15 to 880); a 3x3 box
 * blur takes them to 6-120; the test video's faces (mpeg4, scaled) 40-250. */
#define SHARP_HALF 50.0
/* Roll at which the pose factor has lost half (the aligner undoes roll, so
 * it weighs less than yaw), and yaw offset at which a face is in profile. */
#define ROLL_HALF_DEG 45.0f
#define YAW_PROFILE 0.5f
/* The crop's centre only: the black border of a face at the frame's edge and
 * the background behind the cheeks are not the face's sharpness. */
#define MARGIN 20

static float clamp01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double grey(const uint8_t *p)
{
	return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

double dev_laplacian_variance(const ff_image *img)
{
	double sum = 0, sum2 = 0;
	size_t n = 0;
	int m = img->width > 4 * MARGIN && img->height > 4 * MARGIN ? MARGIN : 1;

	for (int y = m; y < img->height - m; y++) {
		const uint8_t *r = img->data + (size_t)y * img->stride;
		for (int x = m; x < img->width - m; x++) {
			const uint8_t *c = r + 3 * x;
			double lap = grey(c - 3) + grey(c + 3) + grey(c - img->stride) +
				     grey(c + img->stride) - 4 * grey(c);
			sum += lap;
			sum2 += lap * lap;
			n++;
		}
	}
	if (!n)
		return 0;
	sum /= (double)n;
	return sum2 / (double)n - sum * sum;
}

float dev_pose_roll_deg(const float lm[10])
{
	return (float)(atan2(lm[3] - lm[1], lm[2] - lm[0]) * 180.0 / M_PI);
}

float dev_pose_yaw(const float lm[10])
{
	float ex = lm[2] - lm[0], ey = lm[3] - lm[1];
	float d2 = ex * ex + ey * ey;
	float nx = lm[4] - (lm[0] + lm[2]) / 2, ny = lm[5] - (lm[1] + lm[3]) / 2;
	/* the nose's offset from the eyes' midpoint, along the eye line, in eye distances */
	return d2 > 0 ? (nx * ex + ny * ey) / d2 : 1.0f;
}

void dev_quality_measure(const ff_face *f, const ff_image *crop, dev_quality *q)
{
	float side = fminf(f->x1 - f->x0, f->y1 - f->y0) + 1;
	float roll = fminf(fabsf(dev_pose_roll_deg(f->landmarks)) / ROLL_HALF_DEG, 2.0f);

	q->roll_deg = dev_pose_roll_deg(f->landmarks);
	q->yaw = dev_pose_yaw(f->landmarks);
	q->lap_var = crop ? dev_laplacian_variance(crop) : 0;
	q->size = clamp01(side / FULL_PX);
	q->sharpness = (float)(q->lap_var / (q->lap_var + SHARP_HALF));
	q->pose = clamp01(1 - fabsf(q->yaw) / YAW_PROFILE) * clamp01(1 - roll / 2);
	q->score = q->size * q->sharpness * q->pose;
}
