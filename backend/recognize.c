/* VQ decode -> MobileFaceNet -> gallery match (recognize.h). */
#include "recognize.h"

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "recognize"
#define FACE_FLOATS (112u * 112u * 3u)
#define DEC_SUFFIX ".dec.ffn"

struct be_recognizer {
	size_t n;
	ff_vq_decoder *dec[BE_MAX_VQ_MODELS];
	ff_embedder *recon_emb[BE_MAX_VQ_MODELS]; /* the decoder's own embedder, or NULL */
	ff_embedder *emb;
	size_t dim;
	float rgb[FACE_FLOATS];
	float vec[1024];
};

static int add_model(be_model_set *set, const char *path, char *errbuf, size_t errlen)
{
	ff_vq_decoder *d = NULL;
	int rc;
	if (set->n >= BE_MAX_VQ_MODELS) {
		snprintf(errbuf, errlen, "more than %d VQ models", BE_MAX_VQ_MODELS);
		return FF_ERR_RANGE;
	}
	rc = ff_vq_decoder_create(path, NULL, &d, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	if (be_model_set_find(set, ff_vq_decoder_info(d)->model_id) >= 0) {
		snprintf(errbuf, errlen, "%s: model id %s loaded twice", path,
			 ff_vq_decoder_info(d)->model_id);
		ff_vq_decoder_free(d);
		return FF_ERR_FORMAT;
	}
	rc = ff_entropy_table_open(path, ff_vq_decoder_info(d), &set->ent[set->n], errbuf, errlen);
	if (rc == FF_OK)
		ff_log_info(LOG_COMP, "event=entropy_tables model_id=%s bytes=%zu",
			    ff_vq_decoder_info(d)->model_id, ff_entropy_table_size(set->ent[set->n]));
	if (rc != FF_OK && rc != FF_ERR_NOTFOUND) { /* there but bad: say so, start nothing */
		ff_vq_decoder_free(d);
		return rc;
	}
	snprintf(set->path[set->n], sizeof(set->path[0]), "%s", path);
	set->info[set->n++] = *ff_vq_decoder_info(d);
	ff_vq_decoder_free(d);
	return FF_OK;
}

void be_model_set_free(be_model_set *set)
{
	for (size_t i = 0; i < BE_MAX_VQ_MODELS; i++) {
		ff_entropy_table_free(set->ent[i]);
		set->ent[i] = NULL;
	}
}

int be_model_set_load(be_model_set *set, const char *dir, const char *list, char *errbuf,
		      size_t errlen)
{
	char path[1024];
	int rc = FF_OK;
	memset(set, 0, sizeof(*set));
	if (list && *list) {
		char *copy = strdup(list), *save = NULL;
		if (!copy)
			return FF_ERR_NOMEM;
		for (char *id = strtok_r(copy, ", ", &save); id && rc == FF_OK;
		     id = strtok_r(NULL, ", ", &save)) {
			snprintf(path, sizeof(path), "%s/%s" DEC_SUFFIX, dir, id);
			rc = add_model(set, path, errbuf, errlen);
		}
		free(copy);
	} else {
		DIR *d = opendir(dir);
		struct dirent *e;
		if (!d) {
			snprintf(errbuf, errlen, "%s: cannot open the VQ model folder", dir);
			return FF_ERR_NOTFOUND;
		}
		while ((e = readdir(d)) && rc == FF_OK) {
			size_t n = strlen(e->d_name);
			if (n <= strlen(DEC_SUFFIX) ||
			    strcmp(e->d_name + n - strlen(DEC_SUFFIX), DEC_SUFFIX) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			rc = add_model(set, path, errbuf, errlen);
		}
		closedir(d);
	}
	if (rc == FF_OK && set->n == 0) {
		snprintf(errbuf, errlen, "%s: no *" DEC_SUFFIX " VQ decoder", dir);
		rc = FF_ERR_NOTFOUND;
	}
	if (rc != FF_OK)
		be_model_set_free(set);
	return rc;
}

int be_model_set_find(const be_model_set *set, const char *model_id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->info[i].model_id, model_id) == 0)
			return (int)i;
	return -1;
}

/* Model i's reconstruction-side embedder, when its decoder has one
 * (ff_vq_recon_embedder_path): the base embedder with its weight patch. */
static int open_recon_embedder(be_recognizer *r, size_t i, const char *dec_path,
			       const char *embed_path, const ff_nn_options *nn, char *errbuf,
			       size_t errlen)
{
	const char *id = ff_vq_decoder_info(r->dec[i])->model_id;
	int rc = ff_vq_recon_embedder_open(dec_path, embed_path, r->dim, nn, &r->recon_emb[i],
					   errbuf, errlen);
	if (rc == FF_ERR_NOTFOUND)
		return FF_OK;
	if (rc == FF_ERR_UNSUPPORTED) {
		/* made for another MobileFaceNet file than the one installed: the
		 * decoder's faces are still embedded, as before it had one */
		ff_log_error(LOG_COMP, "event=recon_embedder_refused model=%s err=\"%s\" note=\"using "
				       "MobileFaceNet and the decoder's adapter\"", id, errbuf);
		return FF_OK;
	}
	if (rc == FF_OK)
		ff_log_info(LOG_COMP, "event=recon_embedder model=%s", id);
	return rc;
}

int be_recognizer_create(const be_model_set *set, const char *embed_path,
			 const ff_nn_options *nn, be_recognizer **out, char *errbuf, size_t errlen)
{
	be_recognizer *r = calloc(1, sizeof(*r));
	int rc;
	if (!r)
		return FF_ERR_NOMEM;
	rc = ff_embedder_create(embed_path, nn, &r->emb, errbuf, errlen);
	if (rc != FF_OK)
		goto fail;
	r->dim = ff_embedder_dim(r->emb);
	if (r->dim > sizeof(r->vec) / sizeof(r->vec[0])) {
		snprintf(errbuf, errlen, "%s: embedding dimension %zu too large", embed_path, r->dim);
		rc = FF_ERR_UNSUPPORTED;
		goto fail;
	}
	for (size_t i = 0; i < set->n; i++) {
		rc = ff_vq_decoder_create(set->path[i], nn, &r->dec[i], errbuf, errlen);
		if (rc != FF_OK)
			goto fail;
		r->n++;
		if ((rc = open_recon_embedder(r, i, set->path[i], embed_path, nn, errbuf, errlen)) !=
		    FF_OK)
			goto fail;
		if (ff_vq_adapter_dim(r->dec[i]) && ff_vq_adapter_dim(r->dec[i]) != r->dim) {
			snprintf(errbuf, errlen, "%s: embed_adapter is %zu-d, the embedder %zu-d", set->path[i],
				 ff_vq_adapter_dim(r->dec[i]), r->dim);
			rc = FF_ERR_FORMAT;
			goto fail;
		}
	}
	*out = r;
	return FF_OK;
fail:
	be_recognizer_free(r);
	return rc;
}

void be_recognizer_free(be_recognizer *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		ff_vq_decoder_free(r->dec[i]);
		ff_embedder_free(r->recon_emb[i]);
	}
	ff_embedder_free(r->emb);
	free(r);
}

size_t be_recognizer_dim(const be_recognizer *r)
{
	return r->dim;
}

const float *be_recognizer_embedding(const be_recognizer *r)
{
	return r->vec;
}

/* The face model m just decoded into r->rgb, embedded by m's own embedder,
 * or by MobileFaceNet and then m's embedding adapter. */
static int embed_decoded(be_recognizer *r, int m, float *emb)
{
	int rc;
	if (r->recon_emb[m])
		return ff_embed_rgbf(r->recon_emb[m], r->rgb, emb, r->dim);
	rc = ff_embed_rgbf(r->emb, r->rgb, emb, r->dim);
	return rc == FF_OK ? ff_vq_adapt_embedding(r->dec[m], emb, r->dim) : rc;
}

int be_recognizer_embed_codes(be_recognizer *r, int m, const uint16_t *idx, size_t n, float *emb)
{
	int rc;
	if (m < 0 || (size_t)m >= r->n)
		return FF_ERR_INVAL;
	rc = ff_vq_decode(r->dec[m], idx, n, r->rgb, FACE_FLOATS);
	return rc == FF_OK ? embed_decoded(r, m, emb) : rc;
}

void be_recognize(be_recognizer *r, be_job *j, be_gallery *g, double threshold, int top_k)
{
	int64_t t0 = ff_mono_us(), t1, t2;
	int rc = ff_vq_decode(r->dec[j->model_index], j->idx, j->nidx, r->rgb, FACE_FLOATS);
	t1 = ff_mono_us();
	if (rc == FF_OK)
		rc = embed_decoded(r, j->model_index, r->vec);
	t2 = ff_mono_us();
	j->t_decode = t1 - t0;
	j->t_embed = t2 - t1;
	if (rc != FF_OK) {
		ff_log_error(LOG_COMP, "event=inference_failed device=%s seq=%llu err=\"%s\"",
			     j->device_id, (unsigned long long)j->seq, ff_strerror(rc));
		be_job_reject(j, BE_DECISION_INVALID, "internal_error");
		return;
	}
	j->threshold = (float)threshold;
	j->ntop = be_gallery_match(g, r->vec, j->site_id, top_k, j->top);
	j->t_match = ff_mono_us() - t2;
	j->score = j->ntop ? j->top[0].score : 0.0f;
	if (j->ntop == 0)
		be_job_reject(j, BE_DECISION_UNKNOWN, "empty_gallery");
	else if (j->top[0].score < threshold)
		be_job_reject(j, BE_DECISION_UNKNOWN, "below_threshold");
	else if (!j->top[0].allowed)
		be_job_reject(j, BE_DECISION_REJECTED, "not_allowed");
	else
		j->decision = BE_DECISION_GRANTED;
}
