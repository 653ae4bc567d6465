/* VQ-VAE model halves: loading, strict metadata validation, net building.
 * Shared by vq_encoder.c and vq_decoder.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/ids.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "vq_internal.h"

/* Writes the reason to errbuf (in scope as errbuf, errlen) and yields code. */
#define FAIL(code, ...) (ff_seterr(errbuf, errlen, __VA_ARGS__), (code))

/* Metadata integer: plain decimal digits only, lo..hi. */
static int meta_u32(const ff_model *m, const char *key, uint32_t lo, uint32_t hi, uint32_t *out,
		    char *errbuf, size_t errlen)
{
	const char *v = ff_model_meta(m, key);
	unsigned long long x = 0;

	if (!v)
		return FAIL(FF_ERR_FORMAT, "metadata key %s missing", key);
	if (!*v || strlen(v) > 10)
		goto bad;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		x = x * 10u + (unsigned)(*p - '0');
	}
	if (x < lo || x > hi)
		return FAIL(FF_ERR_FORMAT, "metadata %s=%s outside %u..%u", key, v,
			      lo, hi);
	*out = (uint32_t)x;
	return FF_OK;
bad:
	return FAIL(FF_ERR_FORMAT, "metadata %s='%s' is not an integer", key, v);
}

/* Metadata float: the whole value parses, finite; nonzero when asked. */
static int meta_float(const ff_model *m, const char *key, int nonzero, float *out, char *errbuf,
		      size_t errlen)
{
	const char *v = ff_model_meta(m, key);
	char *end;
	float x;

	if (!v)
		return FAIL(FF_ERR_FORMAT, "metadata key %s missing", key);
	errno = 0;
	x = strtof(v, &end);
	if (end == v || *end || errno || !isfinite(x) || (nonzero && x == 0.0f))
		return FAIL(FF_ERR_FORMAT, "metadata %s='%s' is not a usable number",
			      key, v);
	*out = x;
	return FF_OK;
}

static int check_model_id(const char *id, ff_vq_info *info, char *errbuf, size_t errlen)
{
	size_t n = id ? strlen(id) : 0;

	if (!id)
		return FAIL(FF_ERR_FORMAT, "metadata key model_id missing");
	if (!ff_id_valid(id))
		return FAIL(FF_ERR_FORMAT,
			      "metadata model_id '%.40s' is not [a-z0-9-]{1,32}", id);
	memcpy(info->model_id, id, n + 1);
	return FF_OK;
}

/* The layout keys and their consistency (num_codes, bits, payload). */
static int read_info(const ff_model *m, ff_vq_info *info, char *errbuf, size_t errlen)
{
	int rc;
	uint64_t codes;
	unsigned bits;

	memset(info, 0, sizeof(*info));
	if ((rc = check_model_id(ff_model_meta(m, "model_id"), info, errbuf, errlen)) != FF_OK ||
	    (rc = meta_u32(m, "grid_h", 1, FF_VQ_MAX_CODES, &info->grid_h, errbuf, errlen)) ||
	    (rc = meta_u32(m, "grid_w", 1, FF_VQ_MAX_CODES, &info->grid_w, errbuf, errlen)) ||
	    (rc = meta_u32(m, "codes_per_cell", 1, FF_VQ_MAX_CODES, &info->codes_per_cell, errbuf,
			   errlen)) ||
	    (rc = meta_u32(m, "code_dim", 1, 256, &info->code_dim, errbuf, errlen)) ||
	    (rc = meta_u32(m, "codebook_size", 2, 65536, &info->codebook_size, errbuf, errlen)) ||
	    (rc = meta_u32(m, "bits_per_index", 1, FF_BITPACK_MAX_BITS, &info->bits_per_index,
			   errbuf, errlen)))
		return rc;
	codes = (uint64_t)info->grid_h * info->grid_w * info->codes_per_cell;
	if (codes > FF_VQ_MAX_CODES)
		return FAIL(FF_ERR_FORMAT, "%llu codes per face, limit %d",
			      (unsigned long long)codes, FF_VQ_MAX_CODES);
	info->num_codes = (uint32_t)codes;
	bits = ff_bitpack_bits_for(info->codebook_size);
	if (bits != info->bits_per_index)
		return FAIL(FF_ERR_FORMAT,
			      "bits_per_index=%u but codebook_size=%u needs %u", info->bits_per_index,
			      info->codebook_size, bits);
	if (ff_bitpack_size(info->num_codes, bits) > FF_VQ_MAX_PACKED)
		return FAIL(FF_ERR_FORMAT, "packed indices %zu bytes, limit %d",
			      ff_bitpack_size(info->num_codes, bits), FF_VQ_MAX_PACKED);
	info->fine = 1;
	if (ff_model_meta(m, "fsq_fine") &&
	    (rc = meta_u32(m, "fsq_fine", 1, 16, &info->fine, errbuf, errlen)))
		return rc;
	if ((uint64_t)info->codes_per_cell * info->code_dim > 65536)
		return FAIL(FF_ERR_FORMAT, "latent channels too many");
	return FF_OK;
}

static int read_codebook(const ff_model *m, struct ff_vq_half *h, char *errbuf, size_t errlen)
{
	ff_shape s;
	size_t n;

	if (ff_model_constant(m, "codebook", &h->codebook, &s) != FF_OK)
		return FAIL(FF_ERR_FORMAT, "no \"codebook\" constant");
	if (s.rank != 2 || s.dims[0] != h->info.codebook_size || s.dims[1] != h->info.code_dim)
		return FAIL(FF_ERR_FORMAT,
			      "codebook shape [%u,%u] (rank %u), metadata says [%u,%u]", s.dims[0],
			      s.dims[1], s.rank, h->info.codebook_size, h->info.code_dim);
	n = (size_t)h->info.codebook_size * h->info.code_dim;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(h->codebook[i]))
			return FAIL(FF_ERR_FORMAT, "codebook value %zu not finite", i);
	ff_vq_lattice_find(h->codebook, h->info.codebook_size, h->info.code_dim, &h->lattice);
	return FF_OK;
}

/* The decoder's optional "embed_adapter": a square map applied to the
 * embedding of a reconstruction (ff_vq_adapt_embedding). */
static int read_adapter(const ff_model *m, enum ff_vq_role role, struct ff_vq_half *h,
			char *errbuf, size_t errlen)
{
	ff_shape s;

	if (role != FF_VQ_ROLE_DECODER || ff_model_constant(m, "embed_adapter", &h->adapter, &s) != FF_OK) {
		h->adapter = NULL;
		return FF_OK;
	}
	if (s.rank != 2 || s.dims[0] != s.dims[1] || s.dims[0] < 1 || s.dims[0] > FF_VQ_MAX_EMBED_DIM)
		return FAIL(FF_ERR_FORMAT, "embed_adapter shape [%u,%u] (rank %u) is not square 1..%u",
			      s.dims[0], s.dims[1], s.rank, FF_VQ_MAX_EMBED_DIM);
	for (size_t i = 0; i < (size_t)s.dims[0] * s.dims[1]; i++)
		if (!isfinite(h->adapter[i]))
			return FAIL(FF_ERR_FORMAT, "embed_adapter value %zu not finite", i);
	h->adapter_dim = s.dims[0];
	return FF_OK;
}

static int shape_is(const ff_shape *s, const uint32_t want[4])
{
	if (s->rank != 4)
		return 0;
	for (int i = 0; i < 4; i++)
		if (s->dims[i] != want[i])
			return 0;
	return 1;
}

static void shape_str(const ff_shape *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < s->rank && i < FF_NN_MAX_RANK && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, i ? ",%u" : "%u", s->dims[i]);
}

/* The declared input may leave dims open (0); each fixed dim must match. */
static int declared_input_ok(const ff_shape *s, const uint32_t want[4])
{
	if (s->rank != 4)
		return 0;
	for (int i = 0; i < 4; i++)
		if (s->dims[i] != 0 && s->dims[i] != want[i])
			return 0;
	return 1;
}

static int read_role(const ff_model *m, enum ff_vq_role role, struct ff_vq_half *h,
		     char *errbuf, size_t errlen)
{
	const char *want_name = role == FF_VQ_ROLE_ENCODER ? "vq-encoder" : "vq-decoder";
	const char *name = ff_model_meta(m, "name"), *layout;
	int rc;

	if (!name || strcmp(name, want_name) != 0)
		return FAIL(FF_ERR_FORMAT, "metadata name '%.40s', expected %s",
			      name ? name : "(missing)", want_name);
	if (ff_model_num_inputs(m) != 1 || ff_model_num_outputs(m) != 1)
		return FAIL(FF_ERR_FORMAT, "%u inputs, %u outputs; expected 1, 1",
			      ff_model_num_inputs(m), ff_model_num_outputs(m));
	if (role == FF_VQ_ROLE_ENCODER) {
		layout = ff_model_meta(m, "input_layout");
		if (layout && strcmp(layout, "nhwc") != 0)
			return FAIL(FF_ERR_FORMAT, "input_layout '%.16s' not nhwc",
				      layout);
		if ((rc = meta_float(m, "input_mean", 0, &h->mean, errbuf, errlen)) != FF_OK)
			return rc;
		return meta_float(m, "input_scale", 1, &h->scale, errbuf, errlen);
	}
	if ((rc = meta_float(m, "output_mean", 0, &h->mean, errbuf, errlen)) != FF_OK)
		return rc;
	return meta_float(m, "output_scale", 1, &h->scale, errbuf, errlen);
}

/* Builds the batch-1 net and checks the graph against the metadata. */
static int build_net(struct ff_vq_half *h, enum ff_vq_role role, const ff_nn_options *opt,
		     char *errbuf, size_t errlen)
{
	const ff_vq_info *vi = &h->info;
	const uint32_t face[4] = { 1, FF_VQ_FACE_SIZE, FF_VQ_FACE_SIZE, 3 };
	const uint32_t latent[4] = { 1, vi->grid_h, vi->grid_w, vi->codes_per_cell * vi->code_dim };
	const uint32_t *want_in = role == FF_VQ_ROLE_ENCODER ? face : latent;
	const uint32_t *want_out = role == FF_VQ_ROLE_ENCODER ? latent : face;
	ff_shape in, out;
	char a[64], b[64];
	int rc;

	if ((rc = ff_model_input_shape(h->model, 0, &in)) != FF_OK)
		return FAIL(FF_ERR_FORMAT, "no input shape");
	if (!declared_input_ok(&in, want_in)) {
		shape_str(&in, a, sizeof(a));
		return FAIL(FF_ERR_FORMAT,
			      "input [%s] does not match metadata [1,%u,%u,%u]", a, want_in[1],
			      want_in[2], want_in[3]);
	}
	in.rank = 4;
	memcpy(in.dims, want_in, sizeof(in.dims));
	if ((rc = ff_net_create_ex(h->model, &in, opt, &h->net, errbuf, errlen)) != FF_OK)
		return rc;
	ff_net_output(h->net, 0, &out);
	if (!shape_is(&out, want_out)) {
		shape_str(&out, a, sizeof(a));
		snprintf(b, sizeof(b), "%u,%u,%u,%u", want_out[0], want_out[1], want_out[2],
			 want_out[3]);
		return FAIL(FF_ERR_FORMAT, "output [%s], metadata says [%s]", a, b);
	}
	return FF_OK;
}

int ff_vq_half_open(struct ff_vq_half *h, enum ff_vq_role role, const char *path,
		    const ff_nn_options *opt, char *errbuf, size_t errlen)
{
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!h)
		return FF_ERR_INVAL;
	memset(h, 0, sizeof(*h));
	if (!path)
		return FAIL(FF_ERR_INVAL, "no model path");
	if ((rc = ff_model_load(path, opt, &h->model, errbuf, errlen)) != FF_OK ||
	    (rc = read_info(h->model, &h->info, errbuf, errlen)) != FF_OK ||
	    (rc = read_role(h->model, role, h, errbuf, errlen)) != FF_OK ||
	    (rc = read_codebook(h->model, h, errbuf, errlen)) != FF_OK ||
	    (rc = read_adapter(h->model, role, h, errbuf, errlen)) != FF_OK ||
	    (rc = build_net(h, role, opt, errbuf, errlen)) != FF_OK)
		ff_vq_half_close(h);
	return rc;
}

void ff_vq_half_close(struct ff_vq_half *h)
{
	if (!h)
		return;
	ff_net_free(h->net);
	ff_model_free(h->model);
	memset(h, 0, sizeof(*h));
}

int ff_vq_half_new(enum ff_vq_role role, const char *path, const ff_nn_options *opt,
		   struct ff_vq_half **out, char *errbuf, size_t errlen)
{
	struct ff_vq_half *h;
	int rc;

	if (!out)
		return FF_ERR_INVAL;
	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return FF_ERR_NOMEM;
	if ((rc = ff_vq_half_open(h, role, path, opt, errbuf, errlen)) != FF_OK) {
		free(h);
		return rc;
	}
	*out = h;
	return FF_OK;
}

void ff_vq_half_delete(struct ff_vq_half *h)
{
	ff_vq_half_close(h);
	free(h);
}

int ff_vq_coded_only(const ff_vq_info *vi)
{
	return ff_bitpack_size(vi->num_codes, vi->bits_per_index) > FF_VQ_MAX_PAYLOAD;
}
