/* A codebook that is a whole regular lattice, as an FSQ export writes it
 * (index = sum of digit_d x basis_d, dimension 0 fastest; value_d = low_d +
 * digit_d x step_d): found when the model loads, so that the encoder rounds
 * each dimension instead of measuring the distance to every codeword. Other
 * codebooks keep the search (vq_encoder.c). */
#include <math.h>

#include "vq_internal.h"

/* Dimension d's candidate axis: lowest value, step (the smallest gap above
 * it) and the number of levels they span; ff_vq_lattice_find then checks
 * every codeword against it. */
static int axis(const float *cb, uint32_t k, uint32_t dim, uint32_t d, uint32_t *n, float *low,
		float *step)
{
	float lo = INFINITY, hi = -INFINITY, gap = INFINITY;
	for (uint32_t i = 0; i < k; i++) {
		lo = fminf(lo, cb[(size_t)i * dim + d]);
		hi = fmaxf(hi, cb[(size_t)i * dim + d]);
	}
	for (uint32_t i = 0; i < k; i++) {
		float g = cb[(size_t)i * dim + d] - lo;
		if (g > 1e-6f)
			gap = fminf(gap, g);
	}
	*low = lo;
	*step = isfinite(gap) ? gap : 1.0f;
	*n = isfinite(gap) ? (uint32_t)lrintf((hi - lo) / gap) + 1 : 1;
	return *n <= FF_VQ_LATTICE_MAX_LEVELS;
}

void ff_vq_lattice_find(const float *cb, uint32_t k, uint32_t dim, struct ff_vq_lattice *l)
{
	uint64_t prod = 1;
	l->ok = 0;
	if (dim == 0 || dim > FF_VQ_LATTICE_MAX_DIMS)
		return;
	for (uint32_t d = 0; d < dim; d++) {
		if (!axis(cb, k, dim, d, &l->levels[d], &l->low[d], &l->step[d]))
			return;
		l->basis[d] = (uint32_t)prod;
		prod *= l->levels[d];
	}
	if (prod != k)
		return;
	for (uint32_t i = 0; i < k; i++)
		for (uint32_t d = 0; d < dim; d++) {
			float want = l->low[d] + (float)((i / l->basis[d]) % l->levels[d]) * l->step[d];
			if (fabsf(cb[(size_t)i * dim + d] - want) > 1e-5f * fmaxf(1.0f, fabsf(want)))
				return;
		}
	l->dims = dim;
	l->ok = 1;
}

uint16_t ff_vq_lattice_nearest(const struct ff_vq_lattice *l, const float *v)
{
	uint32_t idx = 0;
	for (uint32_t d = 0; d < l->dims; d++) {
		long j = lrintf((v[d] - l->low[d]) / l->step[d]);
		j = j < 0 ? 0 : j >= (long)l->levels[d] ? (long)l->levels[d] - 1 : j;
		idx += (uint32_t)j * l->basis[d];
	}
	return (uint16_t)idx;
}

void ff_vq_near_insert(struct ff_vq_near *c, uint16_t k, double d)
{
	unsigned j = c->n < FF_VQ_NEAR ? c->n++ : FF_VQ_NEAR;
	if (j == FF_VQ_NEAR && d >= c->d[FF_VQ_NEAR - 1])
		return;
	if (j == FF_VQ_NEAR)
		j = FF_VQ_NEAR - 1;
	while (j > 0 && c->d[j - 1] > d) {
		c->d[j] = c->d[j - 1];
		c->k[j] = c->k[j - 1];
		j--;
	}
	c->d[j] = d;
	c->k[j] = k;
}

#define BOX_DIMS 4 /* 3^4 points at most */

int ff_vq_lattice_near(const struct ff_vq_lattice *l, const float *cb, const float *v,
		       struct ff_vq_near *c)
{
	uint32_t lo[BOX_DIMS], hi[BOX_DIMS], dig[BOX_DIMS];
	double near2[BOX_DIMS], all2 = 0.0, gap2[BOX_DIMS];
	double bound = INFINITY; /* a lower bound on the distance of any point outside the box */

	if (!l->ok || l->dims > BOX_DIMS)
		return 0;
	for (uint32_t d = 0; d < l->dims; d++) {
		long r = lrintf((v[d] - l->low[d]) / l->step[d]);
		double g = INFINITY;
		r = r < 0 ? 0 : r >= (long)l->levels[d] ? (long)l->levels[d] - 1 : r;
		lo[d] = r > 0 ? (uint32_t)r - 1 : 0;
		hi[d] = (uint32_t)r + 1 < l->levels[d] ? (uint32_t)r + 1 : (uint32_t)r;
		/* v's distance in d to its nearest value, and to the nearest value outside the box */
		near2[d] = pow(v[d] - (l->low[d] + (float)r * l->step[d]), 2);
		all2 += near2[d];
		if (lo[d] > 0)
			g = fmin(g, fmax(0.0, v[d] - (l->low[d] + (float)(lo[d] - 1) * l->step[d])));
		if (hi[d] + 1 < l->levels[d])
			g = fmin(g, fmax(0.0, l->low[d] + (float)(hi[d] + 1) * l->step[d] - v[d]));
		gap2[d] = g * g;
		dig[d] = lo[d];
	}
	/* a point outside lies beyond the box in some d and at least as far as
	 * the nearest values in the others */
	for (uint32_t d = 0; d < l->dims; d++)
		bound = fmin(bound, gap2[d] + (all2 - near2[d]));
	c->n = 0;
	for (;;) { /* the box in ascending index: dimension 0 fastest, as the basis */
		uint32_t k = 0, d = 0;
		for (uint32_t e = 0; e < l->dims; e++)
			k += dig[e] * l->basis[e];
		ff_vq_near_insert(c, (uint16_t)k, ff_vq_dist2(v, cb + (size_t)k * l->dims, l->dims));
		while (d < l->dims && dig[d] == hi[d]) {
			dig[d] = lo[d];
			d++;
		}
		if (d == l->dims)
			break;
		dig[d]++;
	}
	return bound == INFINITY || (c->n == FF_VQ_NEAR && c->d[FF_VQ_NEAR - 1] < bound);
}
