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
