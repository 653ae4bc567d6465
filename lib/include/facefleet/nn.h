/* facefleet/nn.h: load .ffn model files and run them on XNNPACK.
 *
 * A model (ff_model) is the parsed, bounds-checked file: tensors, weights,
 * operator list, metadata. A net (ff_net) is a runnable XNNPACK runtime built
 * from a model for one fixed input shape; build one per shape and reuse it
 * (building packs the weights, running does not). Knows nothing of faces.
 * The file format is specified in models/FORMAT.md. Tensors are float32 NHWC. */
#ifndef FACEFLEET_NN_H
#define FACEFLEET_NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_model ff_model;
typedef struct ff_net ff_net;

#define FF_NN_MAX_RANK 4

typedef struct ff_shape {
	uint32_t rank;                 /* 1..4 */
	uint32_t dims[FF_NN_MAX_RANK]; /* NHWC for images */
} ff_shape;

typedef struct ff_nn_options {
	int threads;            /* worker threads for XNNPACK; 0 or 1 = caller's thread only */
	size_t max_file_bytes;  /* reject larger model files; 0 = 256 MiB */
	int int8;               /* build the int8 graph (needs ff_model_set_ranges) */
	int as_written;         /* 1: the file's ops exactly; 0: float nets rewritten where an
				 * exact identity saves work (lib/nn/net_rewrite.c) */
} ff_nn_options;
#define FF_NN_OPTIONS_INIT { 1, 0, 0, 0 }

/* Loads and validates a .ffn file. Every offset, length, tensor id and shape
 * is checked before use. Returns FF_OK, FF_ERR_IO (unreadable), FF_ERR_FORMAT
 * (corrupt, truncated, inconsistent), FF_ERR_UNSUPPORTED (unknown version/op),
 * FF_ERR_RANGE (over size limit), FF_ERR_NOMEM. On error *out is NULL and, if
 * errbuf is non-NULL, a one-line reason is written there. */
int ff_model_load(const char *path, const ff_nn_options *opt, ff_model **out,
		  char *errbuf, size_t errlen);
/* Same as ff_model_load, from memory (the buffer is copied). */
int ff_model_load_memory(const void *buf, size_t len, const ff_nn_options *opt,
			 ff_model **out, char *errbuf, size_t errlen);
void ff_model_free(ff_model *m);

/* Replaces constants of m with those of a weight patch (.ffp, models/FORMAT.md),
 * before any net is built from m. The patch names the base by its data
 * section's size and CRC-32 and is checked whole before anything is written,
 * so on error m is unchanged. Returns FF_OK, FF_ERR_IO/FF_ERR_NOTFOUND
 * (unreadable), FF_ERR_FORMAT (corrupt: magic, CRC, a record that does not
 * match a constant of m, a value not finite), FF_ERR_UNSUPPORTED (made for
 * another base), FF_ERR_RANGE (over 64 MiB), FF_ERR_INVAL. */
int ff_model_patch(ff_model *m, const char *path, char *errbuf, size_t errlen);
int ff_model_patch_memory(ff_model *m, const void *buf, size_t len, char *errbuf, size_t errlen);

/* Attaches calibrated activation ranges (.q8, models/FORMAT.md "Activation
 * ranges"; models/tools/calibrate_int8.py) so that nets built with
 * ff_nn_options.int8 run convolutions and additions in int8 (XNNPACK qs8,
 * per-channel weights), the other ops in float between conversions. Bound to
 * the base file by its data CRC like a weight patch; checked whole before
 * anything is kept. Returns FF_OK, FF_ERR_IO/FF_ERR_NOTFOUND, FF_ERR_FORMAT
 * (corrupt; a range not finite or not holding 0; a tensor that is a constant),
 * FF_ERR_UNSUPPORTED (another base), FF_ERR_NOMEM, FF_ERR_INVAL. */
int ff_model_set_ranges(ff_model *m, const char *path, char *errbuf, size_t errlen);
int ff_model_set_ranges_memory(ff_model *m, const void *buf, size_t len, char *errbuf,
			       size_t errlen);
/* The ranges that ship next to a model or weight patch: path with its
 * extension replaced by ".q8" (models/vq/vq2.dec.ffn -> vq2.dec.q8, vq2.emb.ffp
 * -> vq2.emb.q8), when that file exists (none: FF_OK, nothing attached).
 * ff_model_load calls it when opt->int8; ff_embedder_create_patched for the
 * patch. Errors as ff_model_set_ranges. */
int ff_model_load_ranges_for(ff_model *m, const char *path, char *errbuf, size_t errlen);

/* Metadata value for key (e.g. "name", "model_id"), or NULL if absent. */
const char *ff_model_meta(const ff_model *m, const char *key);
/* Declared shape of input/output i (input dims may be 0 = any size). Returns
 * FF_OK or FF_ERR_RANGE for a bad index. */
int ff_model_input_shape(const ff_model *m, unsigned i, ff_shape *out);
int ff_model_output_shape(const ff_model *m, unsigned i, ff_shape *out);
unsigned ff_model_num_inputs(const ff_model *m);
unsigned ff_model_num_outputs(const ff_model *m);
/* A constant tensor by name (e.g. "codebook"): data pointer and shape, or
 * FF_ERR_NOTFOUND. The data lives as long as the model. */
int ff_model_constant(const ff_model *m, const char *name, const float **data,
		      ff_shape *shape);

/* Builds a runnable net for the given input shapes (NULL = the model's
 * declared shapes, which must then be fully known). Shapes of every
 * intermediate and output tensor are inferred. With opt->int8 and no ranges
 * attached: FF_ERR_UNSUPPORTED. Returns FF_OK, FF_ERR_INVAL,
 * FF_ERR_RANGE (shape mismatch), FF_ERR_BACKEND, FF_ERR_NOMEM. The model must
 * outlive the net. */
int ff_net_create(const ff_model *m, const ff_shape *input_shapes,
		  const ff_nn_options *opt, ff_net **out);
/* Same as ff_net_create; on error, if errbuf is non-NULL, a one-line reason
 * is written there ("op 3 (CONV_2D): input [1,12,12,3] ..."). May also return
 * FF_ERR_UNSUPPORTED (e.g. a filter that is not a constant). */
int ff_net_create_ex(const ff_model *m, const ff_shape *input_shapes,
		     const ff_nn_options *opt, ff_net **out, char *errbuf, size_t errlen);
void ff_net_free(ff_net *n);
/* How many rewrites the net's graph got (ff_nn_options.as_written): 0 for a
 * graph built as the file has it. */
unsigned ff_net_rewrites(const ff_net *n);

/* Buffers owned by the net: write inputs, call ff_net_run, read outputs.
 * Pointers stay valid until ff_net_free. shape may be NULL. */
float *ff_net_input(ff_net *n, unsigned i, ff_shape *shape);
const float *ff_net_output(const ff_net *n, unsigned i, ff_shape *shape);
/* Runs the graph once. Returns FF_OK or FF_ERR_BACKEND. */
int ff_net_run(ff_net *n);

static inline size_t ff_shape_numel(const ff_shape *s)
{
	size_t n = 1;
	for (uint32_t i = 0; i < s->rank; i++)
		n *= s->dims[i];
	return n;
}

#ifdef __cplusplus
}
#endif
#endif
