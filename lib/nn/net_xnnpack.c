/* net_xnnpack.c: builds an XNNPACK runtime from a loaded model for one set of
 * input shapes (Debian's libxnnpack 0.0~git20220216 subgraph API), owns the
 * external input/output buffers and runs it. Weights are packed once at
 * create; a run allocates nothing.
 *
 * int8 (ff_nn_options.int8, with the model's activation ranges): convolutions,
 * depthwise convolutions and additions whose tensors all have ranges run in qs8 (per-channel int8 weights, int32 biases); every other op
 * (PReLU and bilinear resize, which this XNNPACK's subgraph has only in float,
 * among them) runs in float, with
 * a conversion inserted where a tensor crosses from one to the other. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "facefleet/error.h"
#include "nn_internal.h"

struct ff_net {
	const ff_model *m;
	xnn_runtime_t rt;
	pthreadpool_t pool;
	unsigned n_in, n_out;
	float *in_buf[FFN_MAX_IO];
	float *out_buf[FFN_MAX_IO];
	ff_shape in_shape[FFN_MAX_IO];
	ff_shape out_shape[FFN_MAX_IO];
	void **owned;         /* quantised weights and their scales, alive with the runtime */
	size_t n_owned;
	float *rewritten;     /* constants of the rewritten graph (net_rewrite.c), the same */
	unsigned rewrites;
};

static pthread_once_t xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status xnn_init_status = xnn_status_uninitialized;

static void xnn_init_once(void)
{
	xnn_init_status = xnn_initialize(NULL);
}

/* Builder state while the subgraph is defined. */
struct build {
	const ff_model *m;
	const ff_shape *shapes;
	xnn_subgraph_t sg;
	uint32_t *vid;    /* tensor id -> XNNPACK value id (float) */
	uint32_t *qid;    /* tensor id -> its qint8 value id; NULL: a float net */
	ff_net *net;
	char *err;
	size_t errlen;
};

static int backend_err(struct build *b, const char *what)
{
	ff_seterr(b->err, b->errlen, "%s failed", what);
	return FF_ERR_BACKEND;
}

static int define_value(struct build *b, const ff_shape *s, const float *data, uint32_t ext,
			uint32_t flags, uint32_t *id)
{
	size_t dims[FF_NN_MAX_RANK];
	for (uint32_t d = 0; d < s->rank; d++)
		dims[d] = s->dims[d];
	if (xnn_define_tensor_value(b->sg, xnn_datatype_fp32, s->rank, dims, data, ext, flags, id) !=
	    xnn_status_success) {
		ff_seterr(b->err, b->errlen, "xnn_define_tensor_value failed");
		return FF_ERR_BACKEND;
	}
	return FF_OK;
}

/* The float XNNPACK value of tensor t, defining it on first use (converted
 * from its int8 value when an int8 op produced it). */
static int value_of(struct build *b, uint32_t t, uint32_t *id)
{
	if (b->vid[t] == XNN_INVALID_VALUE_ID) {
		int rc = define_value(b, &b->shapes[t], b->m->tensors[t].data, XNN_INVALID_VALUE_ID,
				      0, &b->vid[t]);
		if (rc)
			return rc;
		if (b->qid && b->qid[t] != XNN_INVALID_VALUE_ID &&
		    xnn_define_convert(b->sg, b->qid[t], b->vid[t], 0) != xnn_status_success)
			return backend_err(b, "xnn_define_convert (int8 to float)");
	}
	*id = b->vid[t];
	return FF_OK;
}

/* A 1-D view [n] of constant t (bias, slope), whatever its declared rank. */
static int const_1d(struct build *b, uint32_t t, uint32_t *id)
{
	ff_shape s = {1, {(uint32_t)ff_shape_numel(&b->shapes[t]), 0, 0, 0}};
	return define_value(b, &s, b->m->tensors[t].data, XNN_INVALID_VALUE_ID, 0, id);
}

static int need_const(struct build *b, uint32_t i, uint32_t k)
{
	const struct ffn_op *op = &b->m->ops[i];
	if (!b->m->tensors[op->in[k]].data) {
		ff_seterr(b->err, b->errlen, "op %u (%s): input %u must be a constant for XNNPACK", i,
			 ffn_op_name(op->type), k);
		return FF_ERR_UNSUPPORTED;
	}
	return FF_OK;
}

static int define_op(struct build *b, uint32_t i)
{
	const struct ffn_op *op = &b->m->ops[i];
	const ff_shape *xs = &b->shapes[op->in[0]];
	const ff_shape *ws = op->n_in > 1 ? &b->shapes[op->in[1]] : NULL;
	uint32_t x, w = 0, bias = 0, y;
	float lo = op->fp[0], hi = op->fp[1];
	struct ffn_window win;
	enum xnn_status st = xnn_status_invalid_parameter;
	int rc;

	/* XNNPACK computes on activations only; converters fold constants. */
	int binary = op->type == FFN_OP_ADD || op->type == FFN_OP_SUB || op->type == FFN_OP_MUL;
	if (b->m->tensors[op->in[0]].data && (!binary || b->m->tensors[op->in[1]].data)) {
		ff_seterr(b->err, b->errlen, "op %u (%s): computes on constants only (not folded)", i,
			 ffn_op_name(op->type));
		return FF_ERR_UNSUPPORTED;
	}
	if ((rc = value_of(b, op->in[0], &x)) || (rc = value_of(b, op->out[0], &y)))
		return rc;
	switch (op->type) {
	case FFN_OP_CONV_2D:
	case FFN_OP_DEPTHWISE_CONV_2D:
	case FFN_OP_FULLY_CONNECTED:
		if ((rc = need_const(b, i, 1)) || (rc = need_const(b, i, 2)) ||
		    (rc = value_of(b, op->in[1], &w)) || (rc = const_1d(b, op->in[2], &bias)))
			return rc;
		break;
	case FFN_OP_PRELU:
		if ((rc = need_const(b, i, 1)) || (rc = const_1d(b, op->in[1], &w)))
			return rc;
		break;
	case FFN_OP_ADD:
	case FFN_OP_SUB:
	case FFN_OP_MUL:
		if ((rc = value_of(b, op->in[1], &w)))
			return rc;
		break;
	default:
		break;
	}

	switch (op->type) {
	case FFN_OP_CONV_2D: {
		uint32_t g = (uint32_t)op->ip[FFN_P_GROUPS];
		ffn_window(op, xs->dims[1], xs->dims[2], ws->dims[1], ws->dims[2],
			   (uint32_t)op->ip[FFN_P_DIL_H], (uint32_t)op->ip[FFN_P_DIL_W], &win);
		st = xnn_define_convolution_2d(b->sg, win.pad_t, win.pad_r, win.pad_b, win.pad_l,
					       win.kh, win.kw, win.sh, win.sw, win.dh, win.dw, g,
					       ws->dims[3], ws->dims[0] / g, lo, hi, x, w, bias, y, 0);
		break;
	}
	case FFN_OP_DEPTHWISE_CONV_2D:
		ffn_window(op, xs->dims[1], xs->dims[2], ws->dims[1], ws->dims[2],
			   (uint32_t)op->ip[FFN_P_DIL_H], (uint32_t)op->ip[FFN_P_DIL_W], &win);
		st = xnn_define_depthwise_convolution_2d(
			b->sg, win.pad_t, win.pad_r, win.pad_b, win.pad_l, win.kh, win.kw, win.sh, win.sw,
			win.dh, win.dw, (uint32_t)op->ip[FFN_P_GROUPS], xs->dims[3], lo, hi, x, w, bias, y,
			0);
		break;
	case FFN_OP_FULLY_CONNECTED:
		st = xnn_define_fully_connected(b->sg, lo, hi, x, w, bias, y,
						xs->rank == 2 ? 0 : XNN_FLAG_TENSORFLOW_RESHAPE_2D);
		break;
	case FFN_OP_MAX_POOL_2D:
	case FFN_OP_AVERAGE_POOL_2D:
		ffn_window(op, xs->dims[1], xs->dims[2], (uint32_t)op->ip[6], (uint32_t)op->ip[7], 1, 1,
			   &win);
		if (op->type == FFN_OP_MAX_POOL_2D)
			st = xnn_define_max_pooling_2d(b->sg, win.pad_t, win.pad_r, win.pad_b, win.pad_l,
						       win.kh, win.kw, win.sh, win.sw, 1, 1, lo, hi, x,
						       y, 0);
		else
			st = xnn_define_average_pooling_2d(b->sg, win.pad_t, win.pad_r, win.pad_b,
							   win.pad_l, win.kh, win.kw, win.sh, win.sw, lo,
							   hi, x, y, 0);
		break;
	case FFN_OP_ADD:
		st = xnn_define_add2(b->sg, lo, hi, x, w, y, 0);
		break;
	case FFN_OP_SUB:
		st = xnn_define_subtract(b->sg, lo, hi, x, w, y, 0);
		break;
	case FFN_OP_MUL:
		st = xnn_define_multiply2(b->sg, lo, hi, x, w, y, 0);
		break;
	case FFN_OP_PRELU:
		st = xnn_define_prelu(b->sg, x, w, y, 0);
		break;
	case FFN_OP_CLAMP:
		st = xnn_define_clamp(b->sg, lo, hi, x, y, 0);
		break;
	case FFN_OP_SOFTMAX:
		st = xnn_define_softmax(b->sg, x, y, 0);
		break;
	case FFN_OP_RESHAPE: {
		const ff_shape *os = &b->shapes[op->out[0]];
		size_t dims[FF_NN_MAX_RANK];
		for (uint32_t d = 0; d < os->rank; d++)
			dims[d] = os->dims[d];
		st = xnn_define_static_reshape(b->sg, os->rank, dims, x, y, 0);
		break;
	}
	case FFN_OP_SIGMOID:
		st = xnn_define_sigmoid(b->sg, x, y, 0);
		break;
	case FFN_OP_DEPTH_TO_SPACE:
		st = xnn_define_depth_to_space(b->sg, x, y, (uint32_t)op->ip[0], 0);
		break;
	case FFN_OP_GLOBAL_AVERAGE_POOL:
		st = xnn_define_global_average_pooling_2d(b->sg, lo, hi, x, y, 0);
		break;
	case FFN_OP_RESIZE_BILINEAR:
		st = xnn_define_static_resize_bilinear_2d(b->sg, (size_t)op->ip[0], (size_t)op->ip[1],
							  x, y,
							  op->ip[2] ? XNN_FLAG_ALIGN_CORNERS : 0);
		break;
	default:
		ff_seterr(b->err, b->errlen, "op %u: unsupported type %u", i, op->type);
		return FF_ERR_UNSUPPORTED;
	}
	if (st != xnn_status_success) {
		ff_seterr(b->err, b->errlen, "op %u (%s): XNNPACK rejected it (status %d)", i,
			 ffn_op_name(op->type), (int)st);
		return FF_ERR_BACKEND;
	}
	return FF_OK;
}

/* ---- int8 ---- */

static void *owned_alloc(struct build *b, size_t bytes)
{
	void **list = realloc(b->net->owned, (b->net->n_owned + 1) * sizeof *list);
	void *p;
	if (!list)
		return NULL;
	b->net->owned = list;
	if (!(p = calloc(1, bytes + XNN_EXTRA_BYTES)))
		return NULL;
	return list[b->net->n_owned++] = p;
}

static int has_range(const struct build *b, uint32_t t)
{
	return !b->m->tensors[t].data && b->m->range[t].have;
}

/* Scale and zero point of tensor t's calibrated range on [-128, 127]. */
static void act_qparams(const struct build *b, uint32_t t, float *scale, int32_t *zero)
{
	const struct ffn_range *r = &b->m->range[t];
	*scale = (r->hi - r->lo) / 255.0f;
	long z = lrintf(-128.0f - r->lo / *scale);
	*zero = (int32_t)(z < -128 ? -128 : z > 127 ? 127 : z);
}

/* The qint8 value of activation t: defined on first use, converted from its
 * float value when a float op (or the caller) produced it. */
static int qvalue_of(struct build *b, uint32_t t, int produced_here, uint32_t *id)
{
	if (b->qid[t] == XNN_INVALID_VALUE_ID) {
		const ff_shape *s = &b->shapes[t];
		size_t dims[FF_NN_MAX_RANK];
		float scale;
		int32_t zero;
		for (uint32_t d = 0; d < s->rank; d++)
			dims[d] = s->dims[d];
		act_qparams(b, t, &scale, &zero);
		if (xnn_define_quantized_tensor_value(b->sg, xnn_datatype_qint8, zero, scale, s->rank,
						      dims, NULL, XNN_INVALID_VALUE_ID, 0,
						      &b->qid[t]) != xnn_status_success)
			return backend_err(b, "xnn_define_quantized_tensor_value");
		if (!produced_here) {
			uint32_t f;
			int rc = value_of(b, t, &f);
			if (rc)
				return rc;
			if (xnn_define_convert(b->sg, f, b->qid[t], 0) != xnn_status_success)
				return backend_err(b, "xnn_define_convert (float to int8)");
		}
	}
	*id = b->qid[t];
	return FF_OK;
}

/* Per-output-channel int8 weights (channel axis cdim of w's shape) and int32
 * biases at input scale x_scale. */
static int quant_weights(struct build *b, uint32_t wt, uint32_t bt, uint32_t cdim, float x_scale,
			 uint32_t *w_id, uint32_t *b_id)
{
	const ff_shape *ws = &b->shapes[wt];
	const float *w = b->m->tensors[wt].data, *bias = b->m->tensors[bt].data;
	size_t n = ff_shape_numel(ws), nc = ws->dims[cdim], inner = 1, dims[FF_NN_MAX_RANK];
	for (uint32_t d = cdim + 1; d < ws->rank; d++)
		inner *= ws->dims[d];
	if (ff_shape_numel(&b->shapes[bt]) != nc) {
		ff_seterr(b->err, b->errlen, "int8: bias of %zu values for %zu channels",
			  ff_shape_numel(&b->shapes[bt]), nc);
		return FF_ERR_FORMAT;
	}
	float *ws_scale = owned_alloc(b, nc * sizeof(float));
	float *bs_scale = owned_alloc(b, nc * sizeof(float));
	int8_t *wq = owned_alloc(b, n);
	int32_t *bq = owned_alloc(b, nc * sizeof(int32_t));
	if (!ws_scale || !bs_scale || !wq || !bq) {
		ff_seterr(b->err, b->errlen, "out of memory");
		return FF_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) { /* channel of element i: (i / inner) % nc */
		size_t c = (i / inner) % nc;
		ws_scale[c] = fmaxf(ws_scale[c], fabsf(w[i]));
	}
	for (size_t c = 0; c < nc; c++) {
		ws_scale[c] = ws_scale[c] > 0.0f ? ws_scale[c] / 127.0f : 1.0f;
		bs_scale[c] = ws_scale[c] * x_scale;
		bq[c] = (int32_t)lrintf(bias[c] / bs_scale[c]);
	}
	for (size_t i = 0; i < n; i++)
		wq[i] = (int8_t)lrintf(fminf(fmaxf(w[i] / ws_scale[(i / inner) % nc], -127.0f), 127.0f));
	for (uint32_t d = 0; d < ws->rank; d++)
		dims[d] = ws->dims[d];
	if (xnn_define_channelwise_quantized_tensor_value(b->sg, xnn_datatype_qcint8, ws_scale,
							  ws->rank, cdim, dims, wq,
							  XNN_INVALID_VALUE_ID, 0,
							  w_id) != xnn_status_success ||
	    xnn_define_channelwise_quantized_tensor_value(b->sg, xnn_datatype_qcint32, bs_scale, 1,
							  0, &nc, bq, XNN_INVALID_VALUE_ID, 0,
							  b_id) != xnn_status_success)
		return backend_err(b, "xnn_define_channelwise_quantized_tensor_value");
	return FF_OK;
}

/* Whether op i runs in int8: a kind XNNPACK has in qs8, every activation it
 * reads or writes calibrated. */
static int op_is_int8(const struct build *b, uint32_t i)
{
	const struct ffn_op *op = &b->m->ops[i];
	if (!b->qid || !has_range(b, op->in[0]) || !has_range(b, op->out[0]))
		return 0;
	switch (op->type) {
	case FFN_OP_CONV_2D:
	case FFN_OP_DEPTHWISE_CONV_2D:
		return op->n_in == 3 && b->m->tensors[op->in[1]].data &&
		       b->m->tensors[op->in[2]].data && b->shapes[op->in[1]].rank == 4;
	case FFN_OP_ADD:
		return has_range(b, op->in[1]);
	default: /* this XNNPACK's subgraph has RESIZE_BILINEAR in float only */
		return 0;
	}
}

static int define_qop(struct build *b, uint32_t i)
{
	const struct ffn_op *op = &b->m->ops[i];
	const ff_shape *xs = &b->shapes[op->in[0]], *ws = &b->shapes[op->in[1]];
	uint32_t x, w, bias, x2, y;
	float lo = op->fp[0], hi = op->fp[1], x_scale;
	int32_t x_zero;
	struct ffn_window win;
	enum xnn_status st;
	int rc;

	if ((rc = qvalue_of(b, op->in[0], 0, &x)) || (rc = qvalue_of(b, op->out[0], 1, &y)))
		return rc;
	act_qparams(b, op->in[0], &x_scale, &x_zero);
	switch (op->type) {
	case FFN_OP_CONV_2D:
	case FFN_OP_DEPTHWISE_CONV_2D: {
		int dw = op->type == FFN_OP_DEPTHWISE_CONV_2D;
		uint32_t g = (uint32_t)op->ip[FFN_P_GROUPS];
		if ((rc = quant_weights(b, op->in[1], op->in[2], dw ? 3 : 0, x_scale, &w, &bias)))
			return rc;
		ffn_window(op, xs->dims[1], xs->dims[2], ws->dims[1], ws->dims[2],
			   (uint32_t)op->ip[FFN_P_DIL_H], (uint32_t)op->ip[FFN_P_DIL_W], &win);
		st = dw ? xnn_define_depthwise_convolution_2d(
				  b->sg, win.pad_t, win.pad_r, win.pad_b, win.pad_l, win.kh, win.kw,
				  win.sh, win.sw, win.dh, win.dw, g, xs->dims[3], lo, hi, x, w, bias, y, 0)
			: xnn_define_convolution_2d(b->sg, win.pad_t, win.pad_r, win.pad_b, win.pad_l,
						    win.kh, win.kw, win.sh, win.sw, win.dh, win.dw,
						    g, ws->dims[3], ws->dims[0] / g, lo, hi, x, w,
						    bias, y, 0);
		break;
	}
	default: /* FFN_OP_ADD */
		if ((rc = qvalue_of(b, op->in[1], 0, &x2)))
			return rc;
		st = xnn_define_add2(b->sg, lo, hi, x, x2, y, 0);
		break;
	}
	if (st != xnn_status_success) {
		ff_seterr(b->err, b->errlen, "op %u (%s): XNNPACK rejected it in int8 (status %d)", i,
			  ffn_op_name(op->type), (int)st);
		return FF_ERR_BACKEND;
	}
	return FF_OK;
}

/* A graph output an int8 op produced: into its external float value. */
static int convert_outputs(struct build *b)
{
	for (uint32_t k = 0; b->qid && k < b->m->n_outputs; k++) {
		uint32_t t = b->m->outputs[k];
		if (b->qid[t] != XNN_INVALID_VALUE_ID &&
		    xnn_define_convert(b->sg, b->qid[t], b->vid[t], 0) != xnn_status_success)
			return backend_err(b, "xnn_define_convert (int8 output)");
	}
	return FF_OK;
}

static float *alloc_io(const ff_shape *s)
{
	size_t bytes = ff_shape_numel(s) * sizeof(float) + XNN_EXTRA_BYTES;
	float *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/* Defines the graph inputs/outputs as external values and allocates their buffers. */
static int define_io(struct build *b, ff_net *n)
{
	const ff_model *m = b->m;
	for (unsigned k = 0; k < m->n_inputs + m->n_outputs; k++) {
		int is_out = k >= m->n_inputs;
		uint32_t t = is_out ? m->outputs[k - m->n_inputs] : m->inputs[k];
		ff_shape *s = is_out ? &n->out_shape[k - m->n_inputs] : &n->in_shape[k];
		float **buf = is_out ? &n->out_buf[k - m->n_inputs] : &n->in_buf[k];
		*s = b->shapes[t];
		int rc = define_value(b, s, NULL, k,
				      is_out ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT
					     : XNN_VALUE_FLAG_EXTERNAL_INPUT,
				      &b->vid[t]);
		if (rc)
			return rc;
		if (!(*buf = alloc_io(s))) {
			ff_seterr(b->err, b->errlen, "out of memory for graph %s %u",
				 is_out ? "output" : "input", k);
			return FF_ERR_NOMEM;
		}
	}
	return FF_OK;
}

int ff_net_create_ex(const ff_model *m, const ff_shape *input_shapes, const ff_nn_options *opt,
		     ff_net **out, char *errbuf, size_t errlen)
{
	int rc = FF_OK;
	struct ffn_plan plan = {0};
	struct build b = {0};
	ff_net *n = NULL;
	uint8_t *live = NULL;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out || !m) {
		ff_seterr(errbuf, errlen, "invalid argument");
		return FF_ERR_INVAL;
	}
	*out = NULL;
	if (opt && opt->threads < 0) {
		ff_seterr(errbuf, errlen, "threads %d < 0", opt->threads);
		return FF_ERR_INVAL;
	}
	pthread_once(&xnn_once, xnn_init_once);
	if (xnn_init_status != xnn_status_success) {
		ff_seterr(errbuf, errlen, "xnn_initialize failed (status %d)", (int)xnn_init_status);
		return FF_ERR_BACKEND;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		ff_seterr(errbuf, errlen, "out of memory");
		rc = FF_ERR_NOMEM;
		goto out;
	}
	if ((rc = ffn_plan_build(m, input_shapes, !(opt && (opt->int8 || opt->as_written)), &plan,
				 errbuf, errlen)))
		goto out;
	n->m = m;
	m = &plan.m; /* the graph to build from here on */
	n->rewritten = plan.weights;
	n->rewrites = plan.rewrites;
	plan.weights = NULL;
	b.vid = malloc(m->n_tensors * sizeof *b.vid);
	if (!b.vid) {
		ff_seterr(errbuf, errlen, "out of memory");
		rc = FF_ERR_NOMEM;
		goto out;
	}
	if (opt && opt->int8) {
		if (!m->range) {
			ff_seterr(errbuf, errlen, "int8 asked for, but the model has no activation ranges");
			rc = FF_ERR_UNSUPPORTED;
			goto out;
		}
		if (!(b.qid = malloc(m->n_tensors * sizeof *b.qid))) {
			ff_seterr(errbuf, errlen, "out of memory");
			rc = FF_ERR_NOMEM;
			goto out;
		}
		for (uint32_t t = 0; t < m->n_tensors; t++)
			b.qid[t] = XNN_INVALID_VALUE_ID;
	}
	b.net = n;
	n->n_in = m->n_inputs;
	n->n_out = m->n_outputs;
	for (uint32_t t = 0; t < m->n_tensors; t++)
		b.vid[t] = XNN_INVALID_VALUE_ID;
	b.m = m;
	b.shapes = plan.shapes;
	b.err = errbuf;
	b.errlen = errlen;
	if (xnn_create_subgraph(m->n_inputs + m->n_outputs, 0, &b.sg) != xnn_status_success) {
		ff_seterr(errbuf, errlen, "xnn_create_subgraph failed");
		rc = FF_ERR_BACKEND;
		goto out;
	}
	if ((rc = define_io(&b, n)))
		goto out;
	/* Ops whose output nothing uses are dropped: XNNPACK's optimizer clears
	 * unused values but would still build (and assert on) their nodes. */
	live = calloc(m->n_tensors, 1);
	if (!live) {
		ff_seterr(errbuf, errlen, "out of memory");
		rc = FF_ERR_NOMEM;
		goto out;
	}
	for (uint32_t k = 0; k < m->n_outputs; k++)
		live[m->outputs[k]] = 1;
	for (uint32_t i = m->n_ops; i-- > 0;)
		if (live[m->ops[i].out[0]])
			for (uint32_t k = 0; k < m->ops[i].n_in; k++)
				live[m->ops[i].in[k]] = 1;
	for (uint32_t i = 0; i < m->n_ops; i++)
		if (live[m->ops[i].out[0]] &&
		    (rc = op_is_int8(&b, i) ? define_qop(&b, i) : define_op(&b, i)))
			goto out;
	if ((rc = convert_outputs(&b)))
		goto out;
	if (opt && opt->threads > 1 && !(n->pool = pthreadpool_create((size_t)opt->threads))) {
		ff_seterr(errbuf, errlen, "pthreadpool_create(%d) failed", opt->threads);
		rc = FF_ERR_NOMEM;
		goto out;
	}
	if (xnn_create_runtime_v2(b.sg, n->pool, 0, &n->rt) != xnn_status_success) {
		ff_seterr(errbuf, errlen, "xnn_create_runtime_v2 failed");
		rc = FF_ERR_BACKEND;
		goto out;
	}
	struct xnn_external_value ext[2 * FFN_MAX_IO];
	for (unsigned k = 0; k < n->n_in; k++)
		ext[k] = (struct xnn_external_value){k, n->in_buf[k]};
	for (unsigned k = 0; k < n->n_out; k++)
		ext[n->n_in + k] = (struct xnn_external_value){n->n_in + k, n->out_buf[k]};
	if (xnn_setup_runtime(n->rt, n->n_in + n->n_out, ext) != xnn_status_success) {
		ff_seterr(errbuf, errlen, "xnn_setup_runtime failed");
		rc = FF_ERR_BACKEND;
		goto out;
	}
out:
	if (b.sg)
		xnn_delete_subgraph(b.sg);
	free(b.vid);
	free(b.qid);
	free(live);
	ffn_plan_free(&plan);
	if (rc) {
		ff_net_free(n);
		n = NULL;
	}
	*out = n;
	return rc;
}

int ff_net_create(const ff_model *m, const ff_shape *input_shapes, const ff_nn_options *opt,
		  ff_net **out)
{
	return ff_net_create_ex(m, input_shapes, opt, out, NULL, 0);
}

void ff_net_free(ff_net *n)
{
	if (!n)
		return;
	if (n->rt)
		xnn_delete_runtime(n->rt);
	if (n->pool)
		pthreadpool_destroy(n->pool);
	for (unsigned k = 0; k < FFN_MAX_IO; k++) {
		free(n->in_buf[k]);
		free(n->out_buf[k]);
	}
	for (size_t k = 0; k < n->n_owned; k++)
		free(n->owned[k]);
	free(n->owned);
	free(n->rewritten);
	free(n);
}

unsigned ff_net_rewrites(const ff_net *n)
{
	return n ? n->rewrites : 0;
}

float *ff_net_input(ff_net *n, unsigned i, ff_shape *shape)
{
	if (!n || i >= n->n_in)
		return NULL;
	if (shape)
		*shape = n->in_shape[i];
	return n->in_buf[i];
}

const float *ff_net_output(const ff_net *n, unsigned i, ff_shape *shape)
{
	if (!n || i >= n->n_out)
		return NULL;
	if (shape)
		*shape = n->out_shape[i];
	return n->out_buf[i];
}

int ff_net_run(ff_net *n)
{
	if (!n || !n->rt)
		return FF_ERR_BACKEND;
	return xnn_invoke_runtime(n->rt) == xnn_status_success ? FF_OK : FF_ERR_BACKEND;
}
