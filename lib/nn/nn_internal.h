/* lib/nn internals: the parsed model shared by the loader (model_load.c),
 * shape inference (shape_infer.c) and the XNNPACK builder (net_xnnpack.c).
 * Not installed; nothing outside lib/nn includes it (tests may). */
#ifndef FF_NN_INTERNAL_H
#define FF_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/nn.h"

/* Format constants (models/FORMAT.md). */
#define FFN_HEADER_SIZE 64u
#define FFN_TENSOR_REC 80u
#define FFN_OP_REC 128u
#define FFN_NAME_LEN 40u
#define FFN_MAX_TENSORS 65536u
#define FFN_MAX_OPS 65536u
#define FFN_MAX_IO 4u
#define FFN_MAX_OP_IN 4u
#define FFN_MAX_OP_OUT 2u
#define FFN_NONE_ID 0xFFFFFFFFu
#define FFN_DEFAULT_MAX_FILE ((size_t)256 << 20)

enum ffn_op_type {
	FFN_OP_CONV_2D = 1,
	FFN_OP_DEPTHWISE_CONV_2D = 2,
	FFN_OP_FULLY_CONNECTED = 3,
	FFN_OP_MAX_POOL_2D = 4,
	FFN_OP_AVERAGE_POOL_2D = 5,
	FFN_OP_ADD = 6,
	FFN_OP_SUB = 7,
	FFN_OP_MUL = 8,
	FFN_OP_PRELU = 9,
	FFN_OP_CLAMP = 10,
	FFN_OP_SOFTMAX = 11,
	FFN_OP_RESHAPE = 12,
	FFN_OP_SIGMOID = 14,
	FFN_OP_DEPTH_TO_SPACE = 15,
	FFN_OP_GLOBAL_AVERAGE_POOL = 16,
	FFN_OP_RESIZE_BILINEAR = 17,
	FFN_OP__MAX = 18
};

/* iparam indices of conv/pool ops. */
enum {
	FFN_P_STRIDE_H = 0, FFN_P_STRIDE_W = 1,
	FFN_P_PAD_T = 2, FFN_P_PAD_R = 3, FFN_P_PAD_B = 4, FFN_P_PAD_L = 5,
	FFN_P_DIL_H = 6, FFN_P_DIL_W = 7, /* pool_h, pool_w for pools */
	FFN_P_GROUPS = 8,                 /* depth multiplier for depthwise */
	FFN_P_PADMODE = 9
};
#define FFN_PAD_EXPLICIT 0
#define FFN_PAD_SAME 1

struct ffn_tensor {
	char name[FFN_NAME_LEN + 1];
	ff_shape shape;       /* declared shape */
	const float *data;    /* constant data inside the model buffer, or NULL */
	uint32_t data_size;   /* bytes */
	int32_t producer;     /* op index, -1 = none (constant/unused), -2 = graph input */
};

struct ffn_op {
	uint32_t type;
	uint32_t n_in, n_out;
	uint32_t in[FFN_MAX_OP_IN];
	uint32_t out[FFN_MAX_OP_OUT];
	int32_t ip[16];
	float fp[4];
};

struct ffn_meta {
	const char *key;
	const char *value;
};

/* Calibrated activation range of one tensor (model_ranges.c). */
struct ffn_range {
	float lo, hi;
	uint8_t have;
};

struct ff_model {
	uint8_t *buf;         /* the whole file (owned, 64-byte aligned) */
	size_t len;
	uint32_t n_tensors, n_ops, n_inputs, n_outputs;
	struct ffn_tensor *tensors;
	struct ffn_op *ops;
	uint32_t inputs[FFN_MAX_IO];
	uint32_t outputs[FFN_MAX_IO];
	char *meta_text;      /* NUL-separated keys and values */
	struct ffn_meta *meta;
	size_t n_meta;
	struct ffn_range *range; /* per tensor, from ff_model_set_ranges; NULL: none */
};

static inline uint32_t ffn_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline float ffn_rdf32(const uint8_t *p)
{
	uint32_t u = ffn_rd32(p);
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Sidecar readers' (model_patch.c, model_ranges.c) error exit: the reason
 * into errbuf, return rc. */
#define FFN_SIDECAR_FAIL(rc, ...)                       \
	do {                                            \
		ff_seterr(errbuf, errlen, __VA_ARGS__); \
		return (rc);                            \
	} while (0)

/* Sidecar files of a model (weight patches, activation ranges): bound to the
 * base file by its header's data size and CRC-32, which their header repeats
 * at offsets 4 (CRC) and 8 (size). */
static inline int ffn_bound_to(const ff_model *m, const uint8_t *sidecar)
{
	return ffn_rd32(sidecar + 4) == ffn_rd32(m->buf + 56) &&
	       ffn_rd32(sidecar + 8) == ffn_rd32(m->buf + 52);
}

/* Reads the sidecar at path (at most max bytes) and hands it to apply;
 * errors as apply's, or the file's, prefixed with the path (model_patch.c). */
int ffn_apply_file(ff_model *m, const char *path, size_t max,
		   int (*apply)(ff_model *, const void *, size_t, char *, size_t), char *errbuf,
		   size_t errlen);

/* Op type name ("CONV_2D"), or NULL for an unknown type. */
const char *ffn_op_name(uint32_t type);

/* Parses and validates a complete .ffn file held in buf (ownership of buf,
 * allocated with ffn_alloc_buffer, passes to the model, also on error it is
 * freed). label prefixes error messages. */
int ffn_parse(uint8_t *buf, size_t len, const char *label, ff_model **out,
	      char *errbuf, size_t errlen);
uint8_t *ffn_alloc_buffer(size_t len);

/* Infers the shape of every tensor from the graph input shapes. shapes has
 * n_tensors entries; constants get their declared shape. Returns FF_OK,
 * FF_ERR_RANGE (inconsistent shapes) or FF_ERR_UNSUPPORTED, with a reason in
 * errbuf. */
int ffn_infer_shapes(const ff_model *m, const ff_shape *input_shapes, ff_shape *shapes,
		     char *errbuf, size_t errlen);

/* The graph a net builds (net_rewrite.c): the model's, or a rewritten copy
 * where exact algebraic identities save multiply-adds (a 1x1 convolution moved
 * before the bilinear resize it reads; two 1x1 convolutions in a row made
 * one). m is a shallow copy of the model whose ops and tensors (and their
 * counts) are the rewritten ones when rewrites > 0; shapes holds every
 * tensor's shape for the given inputs; weights holds the new constants and
 * must outlive the net's runtime. */
struct ffn_plan {
	ff_model m;
	ff_shape *shapes;
	unsigned rewrites;
	struct ffn_tensor *tensors; /* owned: NULL when nothing was rewritten */
	struct ffn_op *ops;
	float *weights;
};
/* rewrite 0: the file's graph as it is. Errors as ffn_infer_shapes, or
 * FF_ERR_NOMEM. */
int ffn_plan_build(const ff_model *m, const ff_shape *input_shapes, int rewrite,
		   struct ffn_plan *p, char *errbuf, size_t errlen);
void ffn_plan_free(struct ffn_plan *p);

/* Resolved 2-D window geometry of a conv/pool op on a given input. */
struct ffn_window {
	uint32_t kh, kw, sh, sw, dh, dw;
	uint32_t pad_t, pad_r, pad_b, pad_l;
	uint32_t out_h, out_w;
};
int ffn_window(const struct ffn_op *op, uint32_t in_h, uint32_t in_w, uint32_t kh, uint32_t kw,
	       uint32_t dh, uint32_t dw, struct ffn_window *w);

#endif
