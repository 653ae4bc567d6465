/* VQ-VAE decoder (backend side): indices -> codebook lookup into
 * [1, grid_h, grid_w, codes_per_cell * code_dim] -> net -> [1,112,112,3] in
 * the net's normalised space -> rgb = out / output_scale + output_mean.
 * Indices are validated before any work. No allocation per call. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "vq_internal.h"

FF_VQ_DEFINE_HANDLE(decoder, FF_VQ_ROLE_DECODER)

int ff_vq_decode(ff_vq_decoder *d, const uint16_t *idx, size_t n, float *rgb, size_t rgb_len)
{
	const ff_vq_info *vi;
	const float *img;
	float *in;
	size_t dim_bytes;
	int rc;

	if (!d || !idx || !rgb)
		return FF_ERR_INVAL;
	vi = &d->h.info;
	if (n != vi->num_codes || rgb_len < FF_VQ_FACE_FLOATS)
		return FF_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= vi->codebook_size)
			return FF_ERR_RANGE;
	in = ff_net_input(d->h.net, 0, NULL);
	dim_bytes = (size_t)vi->code_dim * sizeof(float);
	for (size_t i = 0; i < n; i++)
		memcpy(in + i * vi->code_dim, d->h.codebook + (size_t)idx[i] * vi->code_dim,
		       dim_bytes);
	if ((rc = ff_net_run(d->h.net)) != FF_OK)
		return rc;
	img = ff_net_output(d->h.net, 0, NULL);
	for (size_t i = 0; i < FF_VQ_FACE_FLOATS; i++)
		rgb[i] = img[i] / d->h.scale + d->h.mean;
	return FF_OK;
}

size_t ff_vq_adapter_dim(const ff_vq_decoder *d)
{
	return d && d->h.adapter ? d->h.adapter_dim : 0;
}

int ff_vq_adapt_embedding(const ff_vq_decoder *d, float *emb, size_t dim)
{
	float out[FF_VQ_MAX_EMBED_DIM];
	double norm = 0.0;

	if (!d || !emb)
		return FF_ERR_INVAL;
	if (!d->h.adapter)
		return FF_OK;
	if (dim != d->h.adapter_dim)
		return FF_ERR_INVAL;
	for (size_t j = 0; j < dim; j++)
		out[j] = 0.0f;
	for (size_t i = 0; i < dim; i++) { /* row i of A scaled by emb[i]: contiguous reads */
		const float *row = d->h.adapter + i * dim;
		for (size_t j = 0; j < dim; j++)
			out[j] += emb[i] * row[j];
	}
	for (size_t j = 0; j < dim; j++)
		norm += (double)out[j] * out[j];
	norm = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
	for (size_t j = 0; j < dim; j++)
		emb[j] = (float)(out[j] * norm);
	return FF_OK;
}

int ff_vq_rgbf_to_image(const float *rgb, ff_image *out)
{
	int rc;

	if (!rgb || !out)
		return FF_ERR_INVAL;
	if ((rc = ff_image_alloc(out, FF_VQ_FACE_SIZE, FF_VQ_FACE_SIZE)) != FF_OK)
		return rc;
	for (int y = 0; y < FF_VQ_FACE_SIZE; y++) {
		uint8_t *row = out->data + (size_t)y * out->stride;
		const float *src = rgb + (size_t)y * 3u * FF_VQ_FACE_SIZE;
		for (int x = 0; x < 3 * FF_VQ_FACE_SIZE; x++) {
			float v = src[x];
			/* NaN -> 0 */
			row[x] = v >= 255.0f ? 255 : v > 0.0f ? (uint8_t)lrintf(v) : 0;
		}
	}
	return FF_OK;
}

int ff_vq_recon_embedder_path(const char *decoder_path, char *out, size_t cap)
{
	static const char dec[] = ".dec.ffn", emb[] = ".emb.ffp";
	size_t n = decoder_path ? strlen(decoder_path) : 0;
	if (!out || n < sizeof(dec) || strcmp(decoder_path + n - (sizeof(dec) - 1), dec) != 0)
		return FF_ERR_INVAL;
	if (n >= cap)
		return FF_ERR_RANGE;
	memcpy(out, decoder_path, n - (sizeof(dec) - 1));
	memcpy(out + n - (sizeof(dec) - 1), emb, sizeof(emb));
	return access(out, R_OK) == 0 ? FF_OK : FF_ERR_NOTFOUND;
}

int ff_vq_recon_embedder_open(const char *decoder_path, const char *base_path, size_t dim,
			      const ff_nn_options *opt, ff_embedder **out, char *errbuf,
			      size_t errlen)
{
	char patch[4096];
	int rc = ff_vq_recon_embedder_path(decoder_path, patch, sizeof(patch));
	if (rc == FF_OK)
		rc = ff_embedder_create_patched(base_path, patch, opt, out, errbuf, errlen);
	if (rc == FF_OK && ff_embedder_dim(*out) != dim) {
		snprintf(errbuf, errlen, "%.400s: %zu-d embeddings, the gallery's are %zu-d", patch,
			 ff_embedder_dim(*out), dim);
		ff_embedder_free(*out);
		*out = NULL;
		rc = FF_ERR_FORMAT;
	}
	return rc;
}
