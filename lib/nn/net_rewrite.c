/* net_rewrite.c: the graph a float net builds (nn_internal.h, struct
 * ffn_plan): the file's graph, rewritten where an exact algebraic identity
 * saves multiply-adds. Three rewrites, each applied only where it does:
 *
 *  - a zero branch: an addition one of whose inputs is a convolution with
 *    weights and bias all zero is its other input; the branch's ops go (a
 *    weight patch drops a residual block by zeroing its last convolution).
 *  - resize, then 1x1: a 1x1 convolution that reads only an upsampling
 *    bilinear resize and does not widen the channels runs before it, on the
 *    smaller grid. Both are linear and the resize's weights sum to 1, so the
 *    bias commutes; the convolution's clamp becomes its own op after the
 *    resize. The VQ decoders' two upsampling stages: vq7's decoder 162 M ->
 *    114 M multiply-adds.
 *  - 1x1, then 1x1: two 1x1 convolutions with nothing between (the first
 *    unclamped, its output read only by the second) become one, W2 W1 and
 *    W2 b1 + b2, when that is cheaper (MobileFaceNet's two such pairs: -13.1 M).
 *
 * The results equal the file's graph's to float rounding (runtime_ops runs
 * both and compares them with numpy). int8 nets build the file's graph. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

enum { KEEP, DEAD, SWAP, FUSE, ALIAS };

/* A 1x1, stride-1, unpadded, ungrouped convolution with constant weights. */
static int pointwise(const ff_model *m, const ff_shape *s, const struct ffn_op *op)
{
	const ff_shape *w = &s[op->in[1]];
	const int32_t *ip = op->ip;
	if (op->type != FFN_OP_CONV_2D || !m->tensors[op->in[1]].data ||
	    !m->tensors[op->in[2]].data || w->rank != 4 || s[op->in[0]].rank != 4)
		return 0;
	return w->dims[1] == 1 && w->dims[2] == 1 && ip[FFN_P_STRIDE_H] == 1 &&
	       ip[FFN_P_STRIDE_W] == 1 && ip[FFN_P_GROUPS] == 1 &&
	       ff_shape_numel(&s[op->in[2]]) == w->dims[0] &&
	       (ip[FFN_P_PADMODE] == FFN_PAD_SAME ||
		!(ip[FFN_P_PAD_T] | ip[FFN_P_PAD_R] | ip[FFN_P_PAD_B] | ip[FFN_P_PAD_L]));
}

static int unclamped(const struct ffn_op *op)
{
	return isinf(op->fp[0]) && op->fp[0] < 0 && isinf(op->fp[1]) && op->fp[1] > 0;
}

static double area(const ff_shape *s)
{
	return (double)s->dims[1] * s->dims[2];
}

/* What op (a 1x1 convolution whose input only it reads, made by prev)
 * becomes: SWAP, FUSE or KEEP. */
static int rewrite_kind(const ff_model *m, const ff_shape *s, const struct ffn_op *op,
			const struct ffn_op *prev)
{
	double cout = s[op->in[1]].dims[0], cin = s[op->in[1]].dims[3];
	if (prev->type == FFN_OP_RESIZE_BILINEAR)
		return area(&s[prev->in[0]]) < area(&s[prev->out[0]]) && cout <= cin ? SWAP : KEEP;
	if (pointwise(m, s, prev) && unclamped(prev)) {
		double cin0 = s[prev->in[1]].dims[3];
		return cin0 * cout < cin0 * cin + cin * cout ? FUSE : KEEP;
	}
	return KEEP;
}

static int all_zero(const struct ffn_tensor *t)
{
	for (uint32_t k = 0; t->data && k < t->data_size / sizeof(float); k++)
		if (t->data[k] != 0.0f)
			return 0;
	return t->data != NULL;
}

/* The input of ADD op i that is its result because the other one is a
 * convolution's exact zero (weights, bias all 0, clamp holding 0); -1 if none. */
static int64_t zero_branch_other(const ff_model *m, const ff_shape *s, const struct ffn_op *op)
{
	if (op->type != FFN_OP_ADD || !unclamped(op) || m->tensors[op->in[0]].data ||
	    m->tensors[op->in[1]].data)
		return -1;
	for (int k = 0; k < 2; k++) {
		int32_t p = m->tensors[op->in[k]].producer;
		const struct ffn_op *c = p >= 0 ? &m->ops[p] : NULL;
		const ff_shape *a = &s[op->in[1 - k]], *y = &s[op->out[0]];
		if (c && (c->type == FFN_OP_CONV_2D || c->type == FFN_OP_DEPTHWISE_CONV_2D) &&
		    c->fp[0] <= 0 && c->fp[1] >= 0 && all_zero(&m->tensors[c->in[1]]) &&
		    all_zero(&m->tensors[c->in[2]]) && a->rank == y->rank &&
		    ff_shape_numel(a) == ff_shape_numel(y))
			return op->in[1 - k];
	}
	return -1;
}

/* Floats of the constants that fusing second(first(x)) makes: W [cout][cin], b [cout]. */
static size_t fused_floats(const ff_shape *s, const struct ffn_op *first,
			   const struct ffn_op *second)
{
	return (size_t)s[second->in[1]].dims[0] * (s[first->in[1]].dims[3] + 1);
}

/* kind[] of every op, the alias of every tensor, and how much the rewritten
 * graph needs beyond the file's: tensors, ops and floats of new constants.
 * Returns whether anything changes. ops[] gets every op with its inputs
 * resolved through the aliases (each alias is set to a resolved tensor, so
 * one lookup resolves). */
static int plan_rewrites(const ff_model *m, const ff_shape *s, struct ffn_op *ops, uint8_t *kind,
			 uint32_t *alias, uint32_t *uses, uint32_t *more_tensors, uint32_t *more_ops,
			 size_t *floats)
{
	int changed = 0;
	for (uint32_t t = 0; t < m->n_tensors; t++)
		alias[t] = t;
	for (uint32_t k = 0; k < m->n_outputs; k++)
		uses[m->outputs[k]] = 2; /* a graph output stays as it is (and is live) */
	for (uint32_t i = 0; i < m->n_ops; i++) {
		int64_t other = uses[m->ops[i].out[0]] ? -1 : zero_branch_other(m, s, &m->ops[i]);
		if (other >= 0) {
			kind[i] = ALIAS;
			alias[m->ops[i].out[0]] = alias[other];
			changed = 1;
		}
		ops[i] = m->ops[i];
		for (uint32_t k = 0; k < ops[i].n_in; k++)
			ops[i].in[k] = alias[ops[i].in[k]];
	}
	/* what the outputs still need: the rest is dead */
	for (uint32_t i = m->n_ops; i-- > 0;) {
		if (kind[i] == ALIAS || !uses[ops[i].out[0]]) {
			kind[i] = kind[i] == ALIAS ? ALIAS : DEAD;
			continue;
		}
		for (uint32_t k = 0; k < ops[i].n_in; k++)
			uses[ops[i].in[k]]++;
	}
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const struct ffn_op *op = &ops[i];
		int32_t p = m->tensors[op->in[0]].producer;
		if (kind[i] != KEEP || !pointwise(m, s, op) || p < 0 || uses[op->in[0]] != 1 ||
		    kind[p] != KEEP)
			continue;
		kind[i] = (uint8_t)rewrite_kind(m, s, op, &ops[p]);
		if (kind[i] == KEEP)
			continue;
		changed = 1;
		kind[p] = DEAD;
		*more_tensors += 2;
		if (kind[i] == SWAP)
			*more_ops += 1;
		else
			*floats += fused_floats(s, &ops[p], op);
	}
	return changed;
}

static uint32_t new_tensor(struct ffn_plan *p, const ff_shape *shape, const float *data,
			   int32_t producer)
{
	uint32_t t = p->m.n_tensors++;
	struct ffn_tensor *r = &p->tensors[t];
	memset(r, 0, sizeof *r);
	r->data = data;
	r->data_size = data ? (uint32_t)(ff_shape_numel(shape) * sizeof(float)) : 0;
	r->producer = producer;
	p->shapes[t] = *shape;
	return t;
}

static struct ffn_op *new_op(struct ffn_plan *p, const struct ffn_op *like)
{
	struct ffn_op *op = &p->ops[p->m.n_ops++];
	*op = *like;
	return op;
}

/* conv(resize(x)) -> [clamp](resize(conv(x))) */
static void emit_swap(struct ffn_plan *p, const struct ffn_op *resize, const struct ffn_op *conv)
{
	const ff_shape *xs = &p->shapes[resize->in[0]];
	ff_shape low = {4, {xs->dims[0], xs->dims[1], xs->dims[2], p->shapes[conv->in[1]].dims[0]}};
	uint32_t y = conv->out[0];
	struct ffn_op *c = new_op(p, conv), *r;
	uint32_t t = new_tensor(p, &low, NULL, (int32_t)(c - p->ops));
	c->in[0] = resize->in[0];
	c->out[0] = t;
	c->fp[0] = -INFINITY;
	c->fp[1] = INFINITY;
	r = new_op(p, resize);
	r->in[0] = t;
	r->out[0] = y;
	if (!unclamped(conv)) {
		struct ffn_op clamp = {.type = FFN_OP_CLAMP, .n_in = 1, .n_out = 1, .out = {y},
				       .fp = {conv->fp[0], conv->fp[1]}};
		r->out[0] = new_tensor(p, &p->shapes[y], NULL, (int32_t)(r - p->ops));
		clamp.in[0] = r->out[0];
		new_op(p, &clamp);
	}
}

/* conv2(conv1(x)) -> conv(x), W = W2 W1 ([cout][cin], OHWI with 1x1), b = W2 b1 + b2 */
static void emit_fuse(struct ffn_plan *p, const struct ffn_op *first, const struct ffn_op *second,
		      float *w)
{
	const ff_shape *s1 = &p->shapes[first->in[1]], *s2 = &p->shapes[second->in[1]];
	uint32_t cin = s1->dims[3], mid = s1->dims[0], cout = s2->dims[0];
	const float *w1 = p->tensors[first->in[1]].data, *b1 = p->tensors[first->in[2]].data;
	const float *w2 = p->tensors[second->in[1]].data, *b2 = p->tensors[second->in[2]].data;
	float *b = w + (size_t)cout * cin;
	ff_shape ws = {4, {cout, 1, 1, cin}}, bs = {1, {cout, 0, 0, 0}};
	for (uint32_t o = 0; o < cout; o++) {
		double acc_b = b2[o];
		for (uint32_t i = 0; i < cin; i++) {
			double acc = 0;
			for (uint32_t k = 0; k < mid; k++)
				acc += (double)w2[(size_t)o * mid + k] * w1[(size_t)k * cin + i];
			w[(size_t)o * cin + i] = (float)acc;
		}
		for (uint32_t k = 0; k < mid; k++)
			acc_b += (double)w2[(size_t)o * mid + k] * b1[k];
		b[o] = (float)acc_b;
	}
	struct ffn_op *c = new_op(p, second);
	c->in[0] = first->in[0];
	c->in[1] = new_tensor(p, &ws, w, -1);
	c->in[2] = new_tensor(p, &bs, b, -1);
}

int ffn_plan_build(const ff_model *m, const ff_shape *input_shapes, int rewrite,
		   struct ffn_plan *p, char *errbuf, size_t errlen)
{
	uint8_t *kind = NULL;
	ff_shape *shapes;
	struct ffn_op *ops = NULL;
	uint32_t *alias = NULL, *uses = NULL, more_t = 0, more_o = 0;
	size_t floats = 0, used = 0;
	int rc = FF_ERR_NOMEM;

	memset(p, 0, sizeof *p);
	p->m = *m;
	kind = calloc(m->n_ops, 1);
	ops = malloc(m->n_ops * sizeof *ops);
	alias = malloc(m->n_tensors * sizeof *alias);
	uses = calloc(m->n_tensors, sizeof *uses);
	if (!kind || !ops || !alias || !uses ||
	    !(p->shapes = calloc(m->n_tensors, sizeof *p->shapes)))
		goto exit;
	if ((rc = ffn_infer_shapes(m, input_shapes, p->shapes, errbuf, errlen)))
		goto exit;
	if (!rewrite || !plan_rewrites(m, p->shapes, ops, kind, alias, uses, &more_t, &more_o,
				       &floats))
		goto exit; /* the file's graph */
	rc = FF_ERR_NOMEM;
	shapes = realloc(p->shapes, (m->n_tensors + more_t) * sizeof *shapes);
	if (shapes)
		p->shapes = shapes;
	p->tensors = malloc((m->n_tensors + more_t) * sizeof *p->tensors);
	p->ops = malloc((m->n_ops + more_o) * sizeof *p->ops);
	p->weights = floats ? malloc(floats * sizeof(float)) : NULL;
	if (!shapes || !p->tensors || !p->ops || (floats && !p->weights))
		goto exit;
	memcpy(p->tensors, m->tensors, m->n_tensors * sizeof *p->tensors);
	p->m.tensors = p->tensors;
	p->m.ops = p->ops;
	p->m.n_ops = 0;
	p->m.range = NULL; /* ranges are for int8 nets, which are not rewritten */
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const struct ffn_op *op = &ops[i];
		int32_t prev = m->tensors[op->in[0]].producer;
		if (kind[i] == KEEP)
			new_op(p, op);
		else if (kind[i] == SWAP)
			emit_swap(p, &ops[prev], op);
		else if (kind[i] == FUSE) {
			emit_fuse(p, &ops[prev], op, p->weights + used);
			used += fused_floats(p->shapes, &ops[prev], op);
		}
		p->rewrites += kind[i] == SWAP || kind[i] == FUSE || kind[i] == ALIAS;
	}
	rc = FF_OK;
exit:
	if (rc == FF_ERR_NOMEM)
		ff_seterr(errbuf, errlen, "out of memory");
	if (rc)
		ffn_plan_free(p);
	free(kind);
	free(ops);
	free(alias);
	free(uses);
	return rc;
}

void ffn_plan_free(struct ffn_plan *p)
{
	free(p->shapes);
	free(p->tensors);
	free(p->ops);
	free(p->weights);
	memset(p, 0, sizeof *p);
}
