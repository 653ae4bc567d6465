/* Rate control of the device's codes (facefleet/entropy.h,
 * ff_vq_encode_coded): a face whose entropy-coded indices would pass the
 * byte budget sends some cells on the coarser code its model contains (the
 * codewords on the integer lattice of an FSQ model exported with fsq_fine >
 * 1), the cells that lose the least fidelity per bit saved first. The
 * decoder needs nothing: a coarse codeword is an ordinary index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "vq_internal.h"

struct move {
	uint32_t i;      /* index position */
	uint16_t coarse; /* the codeword it moves to */
	double rank;     /* fidelity lost per bit saved: lowest first */
};

static double dist2(const float *a, const float *b, uint32_t dim)
{
	double d = 0.0;
	for (uint32_t j = 0; j < dim; j++)
		d += (double)(a[j] - b[j]) * (a[j] - b[j]);
	return d;
}

static int on_lattice(const float *v, uint32_t dim)
{
	for (uint32_t j = 0; j < dim; j++)
		if (fabsf(v[j] - rintf(v[j])) > 1e-4f)
			return 0;
	return 1;
}

/* The nearest codeword of v on the integer lattice (ties: lowest index). */
static uint16_t nearest_coarse(const struct ff_vq_half *h, const float *v)
{
	const ff_vq_info *vi = &h->info;
	double best = INFINITY;
	uint16_t arg = 0;
	for (uint32_t k = 0; k < vi->codebook_size; k++) {
		const float *c = h->codebook + (size_t)k * vi->code_dim;
		double d;
		if (on_lattice(c, vi->code_dim) && (d = dist2(v, c, vi->code_dim)) < best) {
			best = d;
			arg = (uint16_t)k;
		}
	}
	return arg;
}

static int by_rank(const void *a, const void *b)
{
	double x = ((const struct move *)a)->rank, y = ((const struct move *)b)->rank;
	return (x > y) - (x < y);
}

/* The moves of every cell whose coarse codeword differs, best first. */
static size_t plan(const struct ff_vq_half *h, const ff_entropy_table *t, const float *lat,
		   const uint16_t *idx, struct move *m)
{
	const ff_vq_info *vi = &h->info;
	size_t n = 0;
	for (uint32_t i = 0; i < vi->num_codes; i++) {
		const float *v = lat + (size_t)i * vi->code_dim;
		uint16_t c = nearest_coarse(h, v);
		double saved, lost;
		if (c == idx[i])
			continue;
		saved = ff_entropy_bits(t, idx, i, idx[i]) - ff_entropy_bits(t, idx, i, c);
		lost = dist2(v, h->codebook + (size_t)c * vi->code_dim, vi->code_dim) -
		       dist2(v, h->codebook + (size_t)idx[i] * vi->code_dim, vi->code_dim);
		m[n++] = (struct move){ i, c, saved > 0.0 ? lost / saved : 1e30 + lost };
	}
	qsort(m, n, sizeof(*m), by_rank);
	return n;
}

/* The first k moves applied to the nearest codewords, then coded. */
static int code_with(const ff_entropy_table *t, const uint16_t *fine, const struct move *m,
		     size_t k, uint32_t num, uint16_t *idx, uint8_t *out, size_t cap, size_t *len)
{
	memcpy(idx, fine, num * sizeof(*idx));
	for (size_t j = 0; j < k; j++)
		idx[m[j].i] = m[j].coarse;
	return ff_entropy_encode(t, idx, num, out, cap, len);
}

int ff_vq_encode_coded(ff_vq_encoder *e, const ff_image *face, const ff_entropy_table *t,
		       size_t max_bytes, uint16_t *idx, size_t n, uint8_t *out, size_t *len,
		       size_t *coarsened)
{
	const struct ff_vq_half *h = (const struct ff_vq_half *)e; /* the handle is the half */
	static _Thread_local struct move m[FF_VQ_MAX_CODES];
	uint16_t fine[FF_VQ_MAX_CODES];
	size_t nm, lo, hi;
	int rc;

	if (!e || !t || !idx || !out || !len || n < h->info.num_codes ||
	    ff_entropy_table_num_codes(t) != h->info.num_codes)
		return FF_ERR_INVAL;
	if (coarsened)
		*coarsened = 0;
	if ((rc = ff_vq_encode(e, face, idx, n)) != FF_OK ||
	    (rc = ff_entropy_encode(t, idx, h->info.num_codes, out, max_bytes, len)) != FF_ERR_RANGE)
		return rc;
	memcpy(fine, idx, h->info.num_codes * sizeof(*idx));
	nm = plan(h, t, ff_net_output(h->net, 0, NULL), fine, m);
	/* the fewest moves that fit: the stream shrinks with k nearly always, so a
	 * binary search, then onwards past any k where it did not */
	if (nm == 0 || code_with(t, fine, m, nm, h->info.num_codes, idx, out, max_bytes, len))
		return FF_ERR_RANGE;
	for (lo = 1, hi = nm; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (code_with(t, fine, m, mid, h->info.num_codes, idx, out, max_bytes, len) == FF_OK)
			hi = mid;
		else
			lo = mid + 1;
	}
	while (code_with(t, fine, m, lo, h->info.num_codes, idx, out, max_bytes, len) != FF_OK)
		lo++;
	if (coarsened)
		*coarsened = lo;
	return FF_OK;
}
