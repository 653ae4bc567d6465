/* MobileFaceNet embeddings on lib/nn. */
#include "facefleet/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/align.h"
#include "facefleet/error.h"
#include "image_internal.h"

struct ff_embedder {
	ff_model *model;
	ff_net *net;
	ff_input_norm norm;
	size_t dim;
};

int ff_embedder_create(const char *path, const ff_nn_options *opt, ff_embedder **out,
		       char *errbuf, size_t errlen)
{
	return ff_embedder_create_patched(path, NULL, opt, out, errbuf, errlen);
}

int ff_embedder_create_patched(const char *path, const char *patch_path, const ff_nn_options *opt,
			       ff_embedder **out, char *errbuf, size_t errlen)
{
	ff_shape in = { 4, { 1, FF_ALIGN_SIZE, FF_ALIGN_SIZE, 3 } }, osh;
	char why[256] = "";
	ff_embedder *e = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!path || !out)
		return FF_ERR_INVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return FF_ERR_NOMEM;
	rc = ff_model_load(path, opt, &e->model, why, sizeof(why));
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "%s: %s", path, why[0] ? why : ff_strerror(rc));
		goto out;
	}
	if (patch_path && ((rc = ff_model_patch(e->model, patch_path, errbuf, errlen)) != FF_OK ||
			   (opt && opt->int8 &&
			    (rc = ff_model_load_ranges_for(e->model, patch_path, errbuf, errlen)) != FF_OK)))
		goto out;
	if ((rc = ff_vision_input_norm(e->model, &e->norm)) != FF_OK || e->norm.transposed) {
		ff_seterr(errbuf, errlen, "%s: bad input metadata", path);
		rc = FF_ERR_FORMAT;
		goto out;
	}
	rc = ff_net_create(e->model, &in, opt, &e->net);
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "%s: cannot build net: %s", path, ff_strerror(rc));
		goto out;
	}
	if (!ff_net_output(e->net, 0, &osh) || osh.dims[0] != 1 || ff_shape_numel(&osh) < 2) {
		ff_seterr(errbuf, errlen, "%s: not an embedding model", path);
		rc = FF_ERR_FORMAT;
		goto out;
	}
	e->dim = ff_shape_numel(&osh);
	*out = e;
	e = NULL;
	rc = FF_OK;
out:
	ff_embedder_free(e);
	return rc;
}

void ff_embedder_free(ff_embedder *e)
{
	if (!e)
		return;
	ff_net_free(e->net);
	ff_model_free(e->model);
	free(e);
}

size_t ff_embedder_dim(const ff_embedder *e)
{
	return e ? e->dim : 0;
}

static int run_and_copy(ff_embedder *e, float *out, size_t dim)
{
	int rc = ff_net_run(e->net);

	if (rc != FF_OK)
		return rc;
	memcpy(out, ff_net_output(e->net, 0, NULL), e->dim * sizeof(float));
	ff_l2_normalize(out, e->dim);
	(void)dim;
	return FF_OK;
}

int ff_embed_image(ff_embedder *e, const ff_image *face, float *out, size_t dim)
{
	if (!e || !face || !face->data || !out || dim < e->dim ||
	    face->width != FF_ALIGN_SIZE || face->height != FF_ALIGN_SIZE)
		return FF_ERR_INVAL;
	ff_vision_fill_input(ff_net_input(e->net, 0, NULL), face, &e->norm);
	return run_and_copy(e, out, dim);
}

int ff_embed_rgbf(ff_embedder *e, const float *rgb, float *out, size_t dim)
{
	float *in;

	if (!e || !rgb || !out || dim < e->dim)
		return FF_ERR_INVAL;
	in = ff_net_input(e->net, 0, NULL);
	for (size_t i = 0; i < (size_t)FF_ALIGN_SIZE * FF_ALIGN_SIZE * 3u; i++)
		in[i] = (rgb[i] - e->norm.mean) * e->norm.scale;
	return run_and_copy(e, out, dim);
}

void ff_l2_normalize(float *v, size_t dim)
{
	double s = 0;

	for (size_t i = 0; i < dim; i++)
		s += (double)v[i] * v[i];
	if (s <= 0)
		return;
	s = 1.0 / sqrt(s);
	for (size_t i = 0; i < dim; i++)
		v[i] = (float)(v[i] * s);
}

float ff_cosine(const float *a, const float *b, size_t dim)
{
	/* eight partial sums, so the compiler can keep them in one vector
	 * register (the backend scores every face against the whole gallery) */
	double acc[8] = { 0 }, s = 0;
	size_t i = 0;

	for (; i + 8 <= dim; i += 8)
		for (size_t k = 0; k < 8; k++)
			acc[k] += (double)a[i + k] * b[i + k];
	for (; i < dim; i++)
		s += (double)a[i] * b[i];
	for (size_t k = 0; k < 8; k++)
		s += acc[k];
	return (float)s;
}
