/* Private parts shared by the VQ encoder and decoder (lib/codec/vq_*.c). */
#ifndef FF_CODEC_VQ_INTERNAL_H
#define FF_CODEC_VQ_INTERNAL_H

#include <stddef.h>

#include "facefleet/nn.h"
#include "facefleet/vq.h"

#define FF_VQ_FACE_SIZE 112
#define FF_VQ_FACE_FLOATS ((size_t)FF_VQ_FACE_SIZE * FF_VQ_FACE_SIZE * 3u)

#define FF_VQ_LATTICE_MAX_DIMS 8
#define FF_VQ_LATTICE_MAX_LEVELS 256

/* A codebook that is a whole regular lattice (vq_lattice.c); ok = 0: not one. */
struct ff_vq_lattice {
	int ok;
	uint32_t dims;
	uint32_t levels[FF_VQ_LATTICE_MAX_DIMS], basis[FF_VQ_LATTICE_MAX_DIMS];
	float low[FF_VQ_LATTICE_MAX_DIMS], step[FF_VQ_LATTICE_MAX_DIMS];
};
void ff_vq_lattice_find(const float *cb, uint32_t k, uint32_t dim, struct ff_vq_lattice *l);
/* The index of the codeword nearest v (per-dimension rounding), l->ok only. */
uint16_t ff_vq_lattice_nearest(const struct ff_vq_lattice *l, const float *v);

/* The FF_VQ_NEAR codewords nearest a vector so far, nearest first (rate
 * control's candidates, vq_budget.c). */
#define FF_VQ_NEAR 8
struct ff_vq_near {
	uint16_t k[FF_VQ_NEAR];
	double d[FF_VQ_NEAR]; /* squared distance to codeword k */
	unsigned n;
};
/* Offers codeword k at squared distance d; offered in ascending k, a tie
 * keeps the lower index first. */
void ff_vq_near_insert(struct ff_vq_near *c, uint16_t k, double d);

static inline double ff_vq_dist2(const float *a, const float *b, uint32_t dim)
{
	double d = 0.0;
	for (uint32_t j = 0; j < dim; j++)
		d += (double)(a[j] - b[j]) * (a[j] - b[j]);
	return d;
}

/* The FF_VQ_NEAR codewords of the lattice codebook cb (l->ok, l->dims
 * dimensions) nearest v, found among the points within one step of v's
 * rounding in every dimension, when that is provably the whole codebook's
 * answer (no point outside that box is nearer than the last one kept).
 * Returns 1 with *c filled, 0 when it cannot vouch for it (search all). */
int ff_vq_lattice_near(const struct ff_vq_lattice *l, const float *cb, const float *v,
		       struct ff_vq_near *c);

/* Which half of the VQ-VAE a file must be. */
enum ff_vq_role { FF_VQ_ROLE_ENCODER, FF_VQ_ROLE_DECODER };

/* One loaded, validated half: model, batch-1 net, layout, codebook and the
 * affine map between pixels (0..255) and the net's image space
 * (x' = (x - mean) * scale: input_* for the encoder, output_* for the decoder). */
struct ff_vq_half {
	ff_model *model;
	ff_net *net;
	ff_vq_info info;
	const float *codebook; /* [codebook_size, code_dim], owned by model */
	struct ff_vq_lattice lattice; /* the codebook as a lattice, when it is one */
	const float *adapter;  /* decoder only, optional: [dim, dim] embedding map, owned by model */
	uint32_t adapter_dim;
	float mean, scale;
};

/* Loads path, validates metadata, codebook and graph shapes for role and
 * builds the net. Returns FF_OK, the errors of ff_model_load / ff_net_create,
 * FF_ERR_FORMAT (metadata or shapes wrong; reason in errbuf), FF_ERR_INVAL
 * (NULL arguments), FF_ERR_NOMEM. On error h is left empty. */
int ff_vq_half_open(struct ff_vq_half *h, enum ff_vq_role role, const char *path,
		    const ff_nn_options *opt, char *errbuf, size_t errlen);
void ff_vq_half_close(struct ff_vq_half *h);
/* ff_vq_half_open on a new heap half (*out NULL on error); NULL-safe delete. */
int ff_vq_half_new(enum ff_vq_role role, const char *path, const ff_nn_options *opt,
		   struct ff_vq_half **out, char *errbuf, size_t errlen);
void ff_vq_half_delete(struct ff_vq_half *h);

/* The public handle of one half (kind = encoder or decoder) and its create,
 * free and info functions (facefleet/vq.h): the struct's only member is the
 * half, so the half that ff_vq_half_new allocates is the handle. */
#define FF_VQ_DEFINE_HANDLE(kind, role)                                                      \
	struct ff_vq_##kind {                                                                 \
		struct ff_vq_half h;                                                          \
	};                                                                                    \
	int ff_vq_##kind##_create(const char *path, const ff_nn_options *opt,                 \
				  ff_vq_##kind **out, char *errbuf, size_t errlen)             \
	{                                                                                     \
		struct ff_vq_half *h = NULL;                                                  \
		int rc;                                                                       \
		if (!out)                                                                     \
			return FF_ERR_INVAL;                                                  \
		rc = ff_vq_half_new(role, path, opt, &h, errbuf, errlen);                     \
		*out = (ff_vq_##kind *)h;                                                     \
		return rc;                                                                    \
	}                                                                                     \
	void ff_vq_##kind##_free(ff_vq_##kind *x)                                             \
	{                                                                                     \
		ff_vq_half_delete(x ? &x->h : NULL);                                          \
	}                                                                                     \
	const ff_vq_info *ff_vq_##kind##_info(const ff_vq_##kind *x)                          \
	{                                                                                     \
		return x ? &x->h.info : NULL;                                                 \
	}

#endif
