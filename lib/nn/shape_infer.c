/* shape_infer.c: infers every tensor's shape from the graph input shapes,
 * checking that each op's operands agree (models/FORMAT.md op table). */
#include <stdio.h>
#include <string.h>

#include "facefleet/error.h"
#include "nn_internal.h"

/* Memory bounds on what a model file can make a net allocate. The largest real
 * net, P-Net on a 1280x1280 frame (the detector's default max_side, small faces),
 * stays under 2^24 floats per tensor and 2^27 in all (counted without reuse).
 * With 2^26 per tensor a crafted file drove one net past 1.7 GB. */
#define FFN_MAX_NUMEL ((uint64_t)1 << 24)       /* 64 MiB of floats per tensor */
#define FFN_MAX_TOTAL_NUMEL ((uint64_t)1 << 27) /* 512 MiB for all activations */
#define FFN_MAX_WINDOW_TAPS ((uint64_t)1 << 25) /* OH*OW*KH*KW (indirection size) */

static uint64_t numel64(const ff_shape *s)
{
	uint64_t n = 1;
	for (uint32_t i = 0; i < s->rank && i < FF_NN_MAX_RANK; i++)
		n *= s->dims[i] < FFN_MAX_NUMEL ? s->dims[i] : FFN_MAX_NUMEL; /* no overflow */
	return n;
}

static void fmt_shape(const ff_shape *s, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	used += (size_t)snprintf(buf, len, "[");
	for (uint32_t i = 0; i < s->rank && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, i ? ",%u" : "%u", s->dims[i]);
	if (used < len)
		snprintf(buf + used, len - used, "]");
}

int ffn_window(const struct ffn_op *op, uint32_t in_h, uint32_t in_w, uint32_t kh, uint32_t kw,
	       uint32_t dh, uint32_t dw, struct ffn_window *w)
{
	const int32_t *ip = op->ip;
	uint32_t in[2] = {in_h, in_w}, k[2] = {kh, kw}, d[2] = {dh, dw};
	uint32_t s[2] = {(uint32_t)ip[FFN_P_STRIDE_H], (uint32_t)ip[FFN_P_STRIDE_W]};
	uint32_t pre[2], post[2], out[2];
	for (int a = 0; a < 2; a++) {
		if (k[a] < 1 || d[a] < 1 || s[a] < 1)
			return FF_ERR_RANGE;
		uint64_t ek = (uint64_t)(k[a] - 1) * d[a] + 1;
		if (ip[FFN_P_PADMODE] == FFN_PAD_SAME) {
			uint64_t o = ((uint64_t)in[a] + s[a] - 1) / s[a];
			uint64_t need = (o - 1) * s[a] + ek;
			uint64_t total = need > in[a] ? need - in[a] : 0;
			if (o < 1 || total > 0xFFFFFFFFull)
				return FF_ERR_RANGE;
			pre[a] = (uint32_t)(total / 2);
			post[a] = (uint32_t)(total - total / 2);
			out[a] = (uint32_t)o;
		} else {
			pre[a] = (uint32_t)ip[a ? FFN_P_PAD_L : FFN_P_PAD_T];
			post[a] = (uint32_t)ip[a ? FFN_P_PAD_R : FFN_P_PAD_B];
			uint64_t padded = (uint64_t)in[a] + pre[a] + post[a];
			/* a window entirely inside the padding makes no sense */
			if (padded < ek || pre[a] >= ek || post[a] >= ek)
				return FF_ERR_RANGE;
			out[a] = (uint32_t)((padded - ek) / s[a] + 1);
		}
	}
	w->kh = kh, w->kw = kw, w->sh = s[0], w->sw = s[1], w->dh = dh, w->dw = dw;
	w->pad_t = pre[0], w->pad_b = post[0], w->pad_l = pre[1], w->pad_r = post[1];
	w->out_h = out[0], w->out_w = out[1];
	if ((uint64_t)out[0] * out[1] * kh * kw > FFN_MAX_WINDOW_TAPS)
		return FF_ERR_RANGE;
	return FF_OK;
}

static ff_shape shape4(uint32_t n, uint32_t h, uint32_t w, uint32_t c)
{
	ff_shape s = {4, {n, h, w, c}};
	return s;
}

/* Infers the output shape of op i from the (already known) input shapes. */
static int infer_op(const ff_model *m, uint32_t i, ff_shape *shapes, char *err, size_t errlen)
{
	const struct ffn_op *op = &m->ops[i];
	const char *nm = ffn_op_name(op->type);
	const ff_shape *x = &shapes[op->in[0]];
	const ff_shape *b = op->n_in > 1 ? &shapes[op->in[1]] : NULL;
	const ff_shape *c = op->n_in > 2 ? &shapes[op->in[2]] : NULL;
	ff_shape o = *x;
	struct ffn_window w;
	char s1[64], s2[64];
	fmt_shape(x, s1, sizeof s1);
	s2[0] = '\0';
	if (b)
		fmt_shape(b, s2, sizeof s2);
#define BAD(...)                                                                  \
	do {                                                                      \
		char _m[256];                                                     \
		snprintf(_m, sizeof _m, __VA_ARGS__);                             \
		ff_seterr(err, errlen, "op %u (%s): %s", i, nm, _m);               \
		return FF_ERR_RANGE;                                              \
	} while (0)

	switch (op->type) {
	case FFN_OP_CONV_2D: {
		uint32_t g = (uint32_t)op->ip[FFN_P_GROUPS];
		if (x->rank != 4 || b->rank != 4)
			BAD("input %s and filter %s must be 4-D", s1, s2);
		uint32_t oc = b->dims[0];
		if (x->dims[3] != b->dims[3] * (uint64_t)g || oc % g)
			BAD("input %s, filter %s and %u groups disagree", s1, s2, g);
		if (numel64(c) != oc)
			BAD("bias has %llu elements, expected %u", (unsigned long long)numel64(c), oc);
		if (ffn_window(op, x->dims[1], x->dims[2], b->dims[1], b->dims[2],
			       (uint32_t)op->ip[FFN_P_DIL_H], (uint32_t)op->ip[FFN_P_DIL_W], &w))
			BAD("window %s does not fit padded input %s (or too large)", s2, s1);
		o = shape4(x->dims[0], w.out_h, w.out_w, oc);
		break;
	}
	case FFN_OP_DEPTHWISE_CONV_2D: {
		uint32_t mult = (uint32_t)op->ip[FFN_P_GROUPS];
		if (x->rank != 4 || b->rank != 4 || b->dims[0] != 1)
			BAD("input %s must be 4-D and filter %s [1,KH,KW,C*M]", s1, s2);
		if ((uint64_t)x->dims[3] * mult != b->dims[3])
			BAD("input %s, filter %s and depth multiplier %u disagree", s1, s2, mult);
		if (numel64(c) != b->dims[3])
			BAD("bias has %llu elements, expected %u", (unsigned long long)numel64(c),
			    b->dims[3]);
		if (ffn_window(op, x->dims[1], x->dims[2], b->dims[1], b->dims[2],
			       (uint32_t)op->ip[FFN_P_DIL_H], (uint32_t)op->ip[FFN_P_DIL_W], &w))
			BAD("window %s does not fit padded input %s (or too large)", s2, s1);
		o = shape4(x->dims[0], w.out_h, w.out_w, b->dims[3]);
		break;
	}
	case FFN_OP_FULLY_CONNECTED: {
		if (x->rank < 2 || b->rank != 2)
			BAD("input %s must be at least 2-D and weights %s 2-D", s1, s2);
		uint64_t k = numel64(x) / x->dims[0];
		if (k != b->dims[1])
			BAD("input %s flattens to K=%llu, weights %s", s1, (unsigned long long)k, s2);
		if (numel64(c) != b->dims[0])
			BAD("bias has %llu elements, expected %u", (unsigned long long)numel64(c),
			    b->dims[0]);
		o.rank = 2;
		o.dims[0] = x->dims[0];
		o.dims[1] = b->dims[0];
		o.dims[2] = o.dims[3] = 0;
		break;
	}
	case FFN_OP_MAX_POOL_2D:
	case FFN_OP_AVERAGE_POOL_2D:
		if (x->rank != 4)
			BAD("input %s must be 4-D", s1);
		if (ffn_window(op, x->dims[1], x->dims[2], (uint32_t)op->ip[6], (uint32_t)op->ip[7],
			       1, 1, &w))
			BAD("pool %dx%d does not fit padded input %s (or too large)", op->ip[6],
			    op->ip[7], s1);
		o = shape4(x->dims[0], w.out_h, w.out_w, x->dims[3]);
		break;
	case FFN_OP_ADD:
	case FFN_OP_SUB:
	case FFN_OP_MUL: {
		o.rank = x->rank > b->rank ? x->rank : b->rank;
		for (uint32_t d = 0; d < o.rank; d++) {
			/* align the trailing dims, numpy style */
			uint32_t da = d + x->rank >= o.rank ? x->dims[d + x->rank - o.rank] : 1;
			uint32_t db = d + b->rank >= o.rank ? b->dims[d + b->rank - o.rank] : 1;
			if (da != db && da != 1 && db != 1)
				BAD("operands %s and %s do not broadcast", s1, s2);
			o.dims[d] = da == 1 ? db : da;
		}
		for (uint32_t d = o.rank; d < FF_NN_MAX_RANK; d++)
			o.dims[d] = 0;
		break;
	}
	case FFN_OP_PRELU:
		if (x->rank < 1 || numel64(b) != x->dims[x->rank - 1])
			BAD("slope %s does not match the channels of input %s", s2, s1);
		break;
	case FFN_OP_CLAMP:
	case FFN_OP_SIGMOID:
		break;
	case FFN_OP_SOFTMAX:
		if (x->rank < 1)
			BAD("input must have at least one dim");
		break;
	case FFN_OP_RESHAPE: {
		uint32_t r = (uint32_t)op->ip[0];
		int infer = -1;
		uint64_t known = 1;
		memset(&o, 0, sizeof o);
		o.rank = r;
		for (uint32_t d = 0; d < r; d++) {
			int32_t v = op->ip[1 + d];
			if (v == 0) {
				if (d >= x->rank)
					BAD("dim %u copies a dim that input %s lacks", d, s1);
				o.dims[d] = x->dims[d];
			} else if (v == -1) {
				infer = (int)d;
				continue;
			} else {
				o.dims[d] = (uint32_t)v;
			}
			known *= o.dims[d];
			if (known > FFN_MAX_NUMEL)
				BAD("new shape too large");
		}
		if (infer >= 0) {
			if (numel64(x) % known)
				BAD("input %s does not divide into the new shape", s1);
			o.dims[infer] = (uint32_t)(numel64(x) / known);
		} else if (known != numel64(x)) {
			BAD("input %s has %llu elements, new shape %llu", s1,
			    (unsigned long long)numel64(x), (unsigned long long)known);
		}
		break;
	}
	case FFN_OP_DEPTH_TO_SPACE: {
		uint64_t bs = (uint64_t)op->ip[0];
		if (x->rank != 4 || x->dims[3] % (bs * bs))
			BAD("input %s not 4-D with channels a multiple of %llu", s1,
			    (unsigned long long)(bs * bs));
		if (x->dims[1] * bs > 0xFFFFFFFFull || x->dims[2] * bs > 0xFFFFFFFFull)
			BAD("output too large");
		o = shape4(x->dims[0], (uint32_t)(x->dims[1] * bs), (uint32_t)(x->dims[2] * bs),
			   (uint32_t)(x->dims[3] / (bs * bs)));
		break;
	}
	case FFN_OP_GLOBAL_AVERAGE_POOL:
		if (x->rank != 4)
			BAD("input %s must be 4-D", s1);
		o = shape4(x->dims[0], 1, 1, x->dims[3]);
		break;
	case FFN_OP_RESIZE_BILINEAR:
		if (x->rank != 4)
			BAD("input %s must be 4-D", s1);
		o = shape4(x->dims[0], (uint32_t)op->ip[0], (uint32_t)op->ip[1], x->dims[3]);
		break;
	default:
		ff_seterr(err, errlen, "op %u: unknown type %u", i, op->type);
		return FF_ERR_UNSUPPORTED;
	}
	for (uint32_t d = 0; d < o.rank; d++)
		if (o.dims[d] == 0)
			BAD("output dim %u is 0", d);
	if (numel64(&o) >= FFN_MAX_NUMEL)
		BAD("output of %llu elements over the limit", (unsigned long long)numel64(&o));
	shapes[op->out[0]] = o;
	return FF_OK;
#undef BAD
}

int ffn_infer_shapes(const ff_model *m, const ff_shape *input_shapes, ff_shape *shapes,
		     char *errbuf, size_t errlen)
{
	memset(shapes, 0, sizeof *shapes * m->n_tensors);
	for (uint32_t t = 0; t < m->n_tensors; t++)
		if (m->tensors[t].data)
			shapes[t] = m->tensors[t].shape;
	for (uint32_t k = 0; k < m->n_inputs; k++) {
		const ff_shape *decl = &m->tensors[m->inputs[k]].shape;
		const ff_shape *s = input_shapes ? &input_shapes[k] : decl;
		if (s->rank != decl->rank) {
			ff_seterr(errbuf, errlen, "input %u: rank %u, model declares %u", k, s->rank,
				 decl->rank);
			return FF_ERR_RANGE;
		}
		for (uint32_t d = 0; d < s->rank; d++) {
			if (s->dims[d] == 0 || (decl->dims[d] && decl->dims[d] != s->dims[d])) {
				ff_seterr(errbuf, errlen, "input %u: dim %u is %u, model declares %u%s", k,
					 d, s->dims[d], decl->dims[d], decl->dims[d] ? "" : " (any)");
				return FF_ERR_RANGE;
			}
		}
		shapes[m->inputs[k]] = *s;
		for (uint32_t d = s->rank; d < FF_NN_MAX_RANK; d++)
			shapes[m->inputs[k]].dims[d] = 0;
		if (numel64(s) >= FFN_MAX_NUMEL) {
			ff_seterr(errbuf, errlen, "input %u: too many elements", k);
			return FF_ERR_RANGE;
		}
	}
	uint64_t total = 0;
	for (uint32_t i = 0; i < m->n_ops; i++) {
		int rc = infer_op(m, i, shapes, errbuf, errlen);
		if (rc)
			return rc;
		total += numel64(&shapes[m->ops[i].out[0]]);
		if (total > FFN_MAX_TOTAL_NUMEL) {
			ff_seterr(errbuf, errlen, "op %u: activations exceed %llu floats in total", i,
				 (unsigned long long)FFN_MAX_TOTAL_NUMEL);
			return FF_ERR_RANGE;
		}
	}
	return FF_OK;
}
