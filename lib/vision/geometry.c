/* Image geometry: resize (bilinear up, area down), crop, affine warp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/image.h"

/* One output sample along an axis: `count` source taps from `start`. */
struct ff_taps {
	int start;
	int count;
	float w[]; /* max_taps weights per entry, flexible */
};

/* Weight table for resampling an axis of n source pixels to m output
 * pixels. Entry i is at byte offset i * stride. Returns NULL on OOM. */
static unsigned char *make_taps(int n, int m, int *max_taps, size_t *stride)
{
	double scale = (double)n / m;
	int mt = m >= n ? 2 : (int)ceil(scale) + 2;
	size_t st = sizeof(struct ff_taps) + (size_t)mt * sizeof(float);
	unsigned char *tab = calloc((size_t)m, st);

	if (!tab)
		return NULL;
	for (int i = 0; i < m; i++) {
		struct ff_taps *t = (struct ff_taps *)(tab + (size_t)i * st);
		if (m >= n) { /* bilinear, half-pixel centres, clamped at edges */
			double f = (i + 0.5) * scale - 0.5;
			int i0;
			if (f < 0)
				f = 0;
			if (f > n - 1)
				f = n - 1;
			i0 = (int)floor(f);
			t->start = i0;
			t->w[0] = (float)(1.0 - (f - i0));
			t->count = 1;
			if (i0 + 1 < n) {
				t->w[1] = (float)(f - i0);
				t->count = 2;
			}
		} else { /* area: overlap of [i*s, (i+1)*s) with each source pixel */
			double a = i * scale, b = (i + 1) * scale;
			int s0 = (int)floor(a), s1 = (int)ceil(b);
			if (s1 > n)
				s1 = n;
			t->start = s0;
			t->count = 0;
			for (int s = s0; s < s1 && t->count < mt; s++) {
				double lo = s > a ? s : a, hi = s + 1 < b ? s + 1 : b;
				if (hi > lo)
					t->w[t->count] = (float)((hi - lo) / scale);
				t->count++;
			}
		}
	}
	*max_taps = mt;
	*stride = st;
	return tab;
}

static const uint8_t black[3] = { 0, 0, 0 };

/* Common start of the functions making a new width x height image from src:
 * empties *out, validates, allocates. */
static int new_output(const ff_image *src, int width, int height, ff_image *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!src || !src->data || !out || src->width <= 0 || src->height <= 0 || width <= 0 ||
	    height <= 0)
		return FF_ERR_INVAL;
	return ff_image_alloc(out, width, height);
}

static uint8_t clamp_u8(float v)
{
	if (v <= 0.0f)
		return 0;
	if (v >= 255.0f)
		return 255;
	return (uint8_t)(v + 0.5f);
}

int ff_image_resize(const ff_image *src, int width, int height, ff_image *out)
{
	unsigned char *tx = NULL, *ty = NULL;
	float *tmp = NULL;
	size_t sx, sy;
	int mx, my, rc;

	rc = new_output(src, width, height, out);
	if (rc != FF_OK)
		return rc;
	tx = make_taps(src->width, width, &mx, &sx);
	ty = make_taps(src->height, height, &my, &sy);
	tmp = malloc((size_t)src->height * (size_t)width * 3u * sizeof(float));
	if (!tx || !ty || !tmp) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	/* horizontal pass: src rows -> tmp [src_h][width][3] */
	for (int y = 0; y < src->height; y++) {
		const uint8_t *row = src->data + (size_t)y * src->stride;
		float *d = tmp + (size_t)y * width * 3u;
		for (int x = 0; x < width; x++) {
			const struct ff_taps *t = (const struct ff_taps *)(tx + (size_t)x * sx);
			float r = 0, g = 0, b = 0;
			for (int k = 0; k < t->count; k++) {
				const uint8_t *p = row + (size_t)(t->start + k) * 3u;
				r += t->w[k] * p[0];
				g += t->w[k] * p[1];
				b += t->w[k] * p[2];
			}
			d[3 * x] = r;
			d[3 * x + 1] = g;
			d[3 * x + 2] = b;
		}
	}
	/* vertical pass */
	for (int y = 0; y < height; y++) {
		const struct ff_taps *t = (const struct ff_taps *)(ty + (size_t)y * sy);
		uint8_t *d = out->data + (size_t)y * out->stride;
		for (int x = 0; x < width * 3; x++) {
			float v = 0;
			for (int k = 0; k < t->count; k++)
				v += t->w[k] * tmp[(size_t)(t->start + k) * width * 3u + (size_t)x];
			d[x] = clamp_u8(v);
		}
	}
	rc = FF_OK;
out:
	free(tx);
	free(ty);
	free(tmp);
	if (rc != FF_OK)
		ff_image_free(out);
	return rc;
}

int ff_image_crop(const ff_image *src, int x, int y, int width, int height,
		  const uint8_t border[3], ff_image *out)
{
	int rc = new_output(src, width, height, out);

	if (rc != FF_OK)
		return rc;
	if (!border)
		border = black;
	for (int j = 0; j < height; j++) {
		int sy = y + j;
		uint8_t *d = out->data + (size_t)j * out->stride;
		for (int i = 0; i < width; i++) {
			int sxp = x + i;
			const uint8_t *p = border;
			if (sy >= 0 && sy < src->height && sxp >= 0 && sxp < src->width)
				p = src->data + (size_t)sy * src->stride + (size_t)sxp * 3u;
			memcpy(d + 3 * i, p, 3);
		}
	}
	return FF_OK;
}

int ff_image_warp_affine(const ff_image *src, const double m[6], int width, int height,
			 const uint8_t border[3], ff_image *out)
{
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	for (int i = 0; m && i < 6; i++)
		if (!isfinite(m[i]))
			return FF_ERR_INVAL;
	if (!m)
		return FF_ERR_INVAL;
	rc = new_output(src, width, height, out);
	if (rc != FF_OK)
		return rc;
	if (!border)
		border = black;
	for (int y = 0; y < height; y++) {
		uint8_t *d = out->data + (size_t)y * out->stride;
		for (int x = 0; x < width; x++) {
			double fx = m[0] * x + m[1] * y + m[2];
			double fy = m[3] * x + m[4] * y + m[5];
			double flx, fly;
			long x0, y0;
			float ax, ay, acc[3] = { 0, 0, 0 };

			if (!(fx > -2.0 && fx < src->width + 1.0 && fy > -2.0 &&
			      fy < src->height + 1.0)) {
				memcpy(d + 3 * x, border, 3);
				continue;
			}
			flx = floor(fx);
			fly = floor(fy);
			x0 = (long)flx;
			y0 = (long)fly;
			ax = (float)(fx - flx);
			ay = (float)(fy - fly);
			for (int k = 0; k < 4; k++) {
				long xx = x0 + (k & 1), yy = y0 + (k >> 1);
				float w = ((k & 1) ? ax : 1.0f - ax) * ((k >> 1) ? ay : 1.0f - ay);
				const uint8_t *p = border;
				if (xx >= 0 && xx < src->width && yy >= 0 && yy < src->height)
					p = src->data + (size_t)yy * src->stride + (size_t)xx * 3u;
				acc[0] += w * p[0];
				acc[1] += w * p[1];
				acc[2] += w * p[2];
			}
			d[3 * x] = clamp_u8(acc[0]);
			d[3 * x + 1] = clamp_u8(acc[1]);
			d[3 * x + 2] = clamp_u8(acc[2]);
		}
	}
	return FF_OK;
}
