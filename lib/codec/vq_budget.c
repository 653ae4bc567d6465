/* Rate control of the device's codes (facefleet/entropy.h,
 * ff_vq_encode_coded): a face whose entropy-coded indices would pass the
 * byte budget is quantised again, rate-distortion optimised: each index
 * becomes the codeword, among the few nearest its latent, that minimises
 * squared distance + lambda x its cost in bits, with the smallest lambda
 * (binary search) whose stream fits. At lambda = 0 that is the nearest
 * codeword; as lambda grows each index tends to its context's most likely
 * one. When the few nearest cannot fit at any lambda (their cheapest is not
 * cheap enough: ~1 LFW face in 8,000 at 121 B), the search runs again over
 * the whole codebook, which reaches every context's cheapest codeword: then
 * only a budget under the tables' cheapest stream is refused. The decoder
 * needs nothing: every choice is an ordinary index. */
#include <math.h>
#include <stdbool.h>
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

/* What one pass of rate control needs: each index's candidates (the few
 * nearest, or, wide, the whole codebook) and where the stream goes. */
struct rc_pass {
	const struct ff_vq_half *h;
	const ff_entropy_table *t;
	const struct ff_vq_near *c; /* the nearest few of each index */
	const float *lat;           /* the latents (wide: distances computed from them) */
	bool wide;
	uint16_t *idx;
	uint8_t *out;
	size_t cap, *len;
};

#define WIDE_CHUNK 64 /* codewords costed at once in a wide pass */

/* Index i's choice at lambda among the whole codebook: reaches its context's
 * cheapest codewords, which a face's few nearest may not hold. */
static uint16_t choose_wide(const struct rc_pass *p, uint32_t i, double lambda)
{
	const ff_vq_info *vi = &p->h->info;
	const float *v = p->lat + (size_t)i * vi->code_dim;
	uint16_t syms[WIDE_CHUNK], pick = 0;
	double bits[WIDE_CHUNK], best = INFINITY;
	for (uint32_t k0 = 0; k0 < vi->codebook_size; k0 += WIDE_CHUNK) {
		uint32_t n = vi->codebook_size - k0 < WIDE_CHUNK ? vi->codebook_size - k0 : WIDE_CHUNK;
		for (uint32_t j = 0; j < n; j++)
			syms[j] = (uint16_t)(k0 + j);
		ff_entropy_costs(p->t, p->idx, i, syms, n, bits);
		for (uint32_t j = 0; j < n; j++) {
			double cost = ff_vq_dist2(v, p->h->codebook + (size_t)(k0 + j) * vi->code_dim,
						  vi->code_dim) + lambda * bits[j];
			if (cost < best) {
				best = cost;
				pick = syms[j];
			}
		}
	}
	return pick;
}

/* Index i's choice at lambda among its few nearest. */
static uint16_t choose_near(const struct rc_pass *p, uint32_t i, double lambda)
{
	const struct ff_vq_near *c = &p->c[i];
	double best = INFINITY, bits[FF_VQ_NEAR];
	uint16_t pick = c->k[0];
	ff_entropy_costs(p->t, p->idx, i, c->k, c->n, bits);
	for (unsigned j = 0; j < c->n; j++) {
		double cost = c->d[j] + lambda * bits[j];
		if (cost < best) {
			best = cost;
			pick = c->k[j];
		}
	}
	return pick;
}

/* Each index's choice at lambda, in wire order, so that its context (the
 * left and upper neighbours, already chosen) is the one it will be coded in;
 * then the stream. */
static int code_at(const struct rc_pass *p, double lambda)
{
	uint32_t num = p->h->info.num_codes;
	for (uint32_t i = 0; i < num; i++)
		p->idx[i] = p->wide ? choose_wide(p, i, lambda) : choose_near(p, i, lambda);
	return ff_entropy_encode(p->t, p->idx, num, p->out, p->cap, p->len);
}

/* A lambda that fits, then nearly the smallest such (the stream shrinks as it
 * grows), bisected on a log scale; FF_ERR_RANGE when none up to 1e6 does. */
static int search_lambda(const struct rc_pass *p)
{
	double lo, hi = 1e-3;
	while (code_at(p, hi) != FF_OK)
		if ((hi *= 4.0) > 1e6)
			return FF_ERR_RANGE;
	lo = hi / 4.0;
	for (int s = 0; s < SEARCH; s++) {
		double mid = sqrt(lo * hi);
		if (code_at(p, mid) == FF_OK)
			hi = mid;
		else
			lo = mid;
	}
	return code_at(p, hi);
}

int ff_vq_encode_coded(ff_vq_encoder *e, const ff_image *face, const ff_entropy_table *t,
		       size_t max_bytes, uint16_t *idx, size_t n, uint8_t *out, size_t *len,
		       size_t *moved)
{
	const struct ff_vq_half *h = (const struct ff_vq_half *)e; /* the handle is the half */
	static _Thread_local struct ff_vq_near c[FF_VQ_MAX_CODES];
	uint16_t nearest[FF_VQ_MAX_CODES];
	struct rc_pass p;
	uint32_t num;
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
	p = (struct rc_pass){ .h = h, .t = t, .c = c, .lat = ff_net_output(h->net, 0, NULL),
			      .wide = false, .idx = idx, .out = out, .cap = max_bytes, .len = len };
	for (uint32_t i = 0; i < num; i++)
		nearest_set(h, p.lat + (size_t)i * h->info.code_dim, &c[i]);
	/* a face the few nearest cannot bring under the budget (~1 in 8,000 LFW
	 * faces at 121 B) is searched again over the whole codebook */
	if ((rc = search_lambda(&p)) == FF_ERR_RANGE) {
		p.wide = true;
		rc = search_lambda(&p);
	}
	if (rc != FF_OK)
		return rc;
	for (uint32_t i = 0; moved && i < num; i++)
		*moved += idx[i] != nearest[i];
	return FF_OK;
}
