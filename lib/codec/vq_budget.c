/* Rate control of the device's codes (facefleet/entropy.h,
 * ff_vq_encode_coded): a face whose entropy-coded indices would pass the
 * byte budget is quantised again, rate-distortion optimised: each index
 * becomes the codeword, among the few nearest its latent, that minimises
 * squared distance + lambda x its cost in bits, with the smallest lambda
 * (binary search) whose stream fits. At lambda = 0 that is the nearest
 * codeword; as lambda grows each index tends to its context's most likely
 * one. The decoder needs nothing: every choice is an ordinary index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "vq_internal.h"

#define SEARCH 6    /* bisection steps on lambda, on a log scale: within 2.2 % of the smallest
                     * that fits; 10 sent the same bytes on DevTest (121.00 against 120.99 B a
                     * controlled face) for ~150 us more a face */

/* The FF_VQ_NEAR nearest codewords of v (rate control's candidates), nearest first: around v's rounding for a
 * lattice codebook (27 of vq6's 147 looked at, ~10 % of a controlled face's
 * time), else the whole codebook. */
static void nearest_set(const struct ff_vq_half *h, const float *v, struct ff_vq_near *c)
{
	const ff_vq_info *vi = &h->info;
	if (ff_vq_lattice_near(&h->lattice, h->codebook, v, c))
		return;
	c->n = 0;
	for (uint32_t k = 0; k < vi->codebook_size; k++)
		ff_vq_near_insert(c, (uint16_t)k,
				  ff_vq_dist2(v, h->codebook + (size_t)k * vi->code_dim, vi->code_dim));
}

/* Each index's choice at lambda, in wire order, so that its context (the
 * left and upper neighbours, already chosen) is the one it will be coded in;
 * then the stream. */
static int code_at(const ff_entropy_table *t, const struct ff_vq_near *c, uint32_t num,
		   double lambda, uint16_t *idx, uint8_t *out, size_t cap, size_t *len)
{
	for (uint32_t i = 0; i < num; i++) {
		double best = INFINITY, bits[FF_VQ_NEAR];
		ff_entropy_costs(t, idx, i, c[i].k, c[i].n, bits);
		for (unsigned j = 0; j < c[i].n; j++) {
			double cost = c[i].d[j] + lambda * bits[j];
			if (cost < best) {
				best = cost;
				idx[i] = c[i].k[j];
			}
		}
	}
	return ff_entropy_encode(t, idx, num, out, cap, len);
}

int ff_vq_encode_coded(ff_vq_encoder *e, const ff_image *face, const ff_entropy_table *t,
		       size_t max_bytes, uint16_t *idx, size_t n, uint8_t *out, size_t *len,
		       size_t *moved)
{
	const struct ff_vq_half *h = (const struct ff_vq_half *)e; /* the handle is the half */
	static _Thread_local struct ff_vq_near c[FF_VQ_MAX_CODES];
	uint16_t nearest[FF_VQ_MAX_CODES];
	const float *lat;
	uint32_t num;
	double lo, hi = 1e-3;
	int rc;

	if (!e || !t || !idx || !out || !len || n < h->info.num_codes ||
	    ff_entropy_table_num_codes(t) != h->info.num_codes)
		return FF_ERR_INVAL;
	num = h->info.num_codes;
	if (moved)
		*moved = 0;
	if ((rc = ff_vq_encode(e, face, idx, n)) != FF_OK ||
	    (rc = ff_entropy_encode(t, idx, num, out, max_bytes, len)) != FF_ERR_RANGE)
		return rc;
	memcpy(nearest, idx, num * sizeof(*idx));
	lat = ff_net_output(h->net, 0, NULL);
	for (uint32_t i = 0; i < num; i++)
		nearest_set(h, lat + (size_t)i * h->info.code_dim, &c[i]);
	/* a lambda that fits, then nearly the smallest such (the stream shrinks as
	 * it grows), bisected on a log scale */
	while (code_at(t, c, num, hi, idx, out, max_bytes, len) != FF_OK)
		if ((hi *= 4.0) > 1e6)
			return FF_ERR_RANGE;
	lo = hi / 4.0;
	for (int s = 0; s < SEARCH; s++) {
		double mid = sqrt(lo * hi);
		if (code_at(t, c, num, mid, idx, out, max_bytes, len) == FF_OK)
			hi = mid;
		else
			lo = mid;
	}
	if ((rc = code_at(t, c, num, hi, idx, out, max_bytes, len)) != FF_OK)
		return rc;
	for (uint32_t i = 0; moved && i < num; i++)
		*moved += idx[i] != nearest[i];
	return FF_OK;
}
