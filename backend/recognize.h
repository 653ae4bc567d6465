/* backend/recognize.h: the VQ models this backend decodes and recognition
 * (recognize.c) of one validated job (validate.h), run by the worker threads. */
#ifndef BE_BACKEND_RECOGNIZE_H
#define BE_BACKEND_RECOGNIZE_H

#include <stddef.h>

#include "backend.h"
#include "facefleet/entropy.h"
#include "facefleet/vq.h"
#include "registry.h"

#define BE_MAX_VQ_MODELS 8

/* The VQ models this backend can decode (file paths and their metadata). */
typedef struct be_model_set {
	size_t n;
	char path[BE_MAX_VQ_MODELS][512];
	ff_vq_info info[BE_MAX_VQ_MODELS];
	ff_entropy_table *ent[BE_MAX_VQ_MODELS]; /* the model's rANS tables (PREFIX.codes.ent),
						    NULL: it takes packed codes only */
} be_model_set;

/* Finds <dir>/<id>.dec.ffn for each id of the comma-separated list, or every
 * *.dec.ffn of dir when list is empty, and reads their metadata and their
 * rANS tables (<dir>/<id>.codes.ent, when there). Returns FF_OK (n >= 1),
 * FF_ERR_NOTFOUND (none / a listed one missing), or the decoder's or the
 * tables' load errors (a table file that is there must be good); reason in
 * errbuf. be_model_set_free releases what it loaded. */
int be_model_set_load(be_model_set *set, const char *dir, const char *list, char *errbuf,
		      size_t errlen);
void be_model_set_free(be_model_set *set);
/* Index of model_id in set, or -1. */
int be_model_set_find(const be_model_set *set, const char *model_id);

/* One worker's nets: a decoder per model of the set and an embedder. */
typedef struct be_recognizer be_recognizer;

/* nn: how its nets are built (NULL: lib/nn's defaults). */
int be_recognizer_create(const be_model_set *set, const char *embed_path,
			 const ff_nn_options *nn, be_recognizer **out, char *errbuf, size_t errlen);
void be_recognizer_free(be_recognizer *r);
size_t be_recognizer_dim(const be_recognizer *r);

/* Decodes a clean job, embeds the face, matches the gallery and sets the
 * decision (granted / unknown / rejected; invalid on an internal failure). */
void be_recognize(be_recognizer *r, be_job *j, be_gallery *g, double threshold, int top_k);
/* The embedding be_recognize matched last (dim floats, unit length), until
 * its next call on r: what a face of a track adds to its track. */
const float *be_recognizer_embedding(const be_recognizer *r);

/* Decodes indices of model m and embeds the reconstruction into emb (dim
 * floats, unit length): what be_recognize does before matching, exposed for
 * enrolment and evaluation tools. Returns FF_OK or the codec/embed error. */
int be_recognizer_embed_codes(be_recognizer *r, int m, const uint16_t *idx, size_t n,
			      float *emb);

#endif
