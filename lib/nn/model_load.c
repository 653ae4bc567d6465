/* model_load.c: bounds-checked parser of .ffn model files (models/FORMAT.md).
 *
 * The parse is pure (bytes in, struct out): every offset, length, count, id
 * and parameter is checked before it is used, so any input, however broken,
 * gives an error code and a one-line reason and never a crash. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "nn_internal.h"

#define FFN_MAX_PARAM 65536 /* bound of strides, pads, kernel and block sizes */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static const char *const op_names[FFN_OP__MAX] = {
	[FFN_OP_CONV_2D] = "CONV_2D",
	[FFN_OP_DEPTHWISE_CONV_2D] = "DEPTHWISE_CONV_2D",
	[FFN_OP_FULLY_CONNECTED] = "FULLY_CONNECTED",
	[FFN_OP_MAX_POOL_2D] = "MAX_POOL_2D",
	[FFN_OP_AVERAGE_POOL_2D] = "AVERAGE_POOL_2D",
	[FFN_OP_ADD] = "ADD",
	[FFN_OP_SUB] = "SUB",
	[FFN_OP_MUL] = "MUL",
	[FFN_OP_PRELU] = "PRELU",
	[FFN_OP_CLAMP] = "CLAMP",
	[FFN_OP_SOFTMAX] = "SOFTMAX",
	[FFN_OP_RESHAPE] = "RESHAPE",
	[FFN_OP_SIGMOID] = "SIGMOID",
	[FFN_OP_DEPTH_TO_SPACE] = "DEPTH_TO_SPACE",
	[FFN_OP_GLOBAL_AVERAGE_POOL] = "GLOBAL_AVERAGE_POOL",
	[FFN_OP_RESIZE_BILINEAR] = "RESIZE_BILINEAR",
};

/* Number of inputs each op type takes (0 = unknown type). */
static const uint8_t op_arity[FFN_OP__MAX] = {
	[FFN_OP_CONV_2D] = 3, [FFN_OP_DEPTHWISE_CONV_2D] = 3, [FFN_OP_FULLY_CONNECTED] = 3,
	[FFN_OP_MAX_POOL_2D] = 1, [FFN_OP_AVERAGE_POOL_2D] = 1,
	[FFN_OP_ADD] = 2, [FFN_OP_SUB] = 2, [FFN_OP_MUL] = 2, [FFN_OP_PRELU] = 2,
	[FFN_OP_CLAMP] = 1, [FFN_OP_SOFTMAX] = 1, [FFN_OP_RESHAPE] = 1, [FFN_OP_SIGMOID] = 1,
	[FFN_OP_DEPTH_TO_SPACE] = 1, [FFN_OP_GLOBAL_AVERAGE_POOL] = 1,
	[FFN_OP_RESIZE_BILINEAR] = 1,
};

const char *ffn_op_name(uint32_t type)
{
	return type < FFN_OP__MAX ? op_names[type] : NULL;
}

/* Whether fparam[0..1] is the output clamp of this op type. */
static int op_has_clamp(uint32_t type)
{
	switch (type) {
	case FFN_OP_CONV_2D: case FFN_OP_DEPTHWISE_CONV_2D: case FFN_OP_FULLY_CONNECTED:
	case FFN_OP_MAX_POOL_2D: case FFN_OP_AVERAGE_POOL_2D: case FFN_OP_ADD: case FFN_OP_SUB:
	case FFN_OP_MUL: case FFN_OP_CLAMP: case FFN_OP_GLOBAL_AVERAGE_POOL:
		return 1;
	default:
		return 0;
	}
}

uint8_t *ffn_alloc_buffer(size_t len)
{
	/* 64-byte aligned so that the (64-aligned) data section is too. */
	size_t sz = (len + 63) & ~(size_t)63;
	return aligned_alloc(64, sz ? sz : 64);
}

void ff_model_free(ff_model *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m->tensors);
	free(m->ops);
	free(m->meta_text);
	free(m->meta);
	free(m->range);
	free(m);
}

/* Parse state: the model being built and where to report. */
struct parse {
	ff_model *m;
	const char *label;
	char *err;
	size_t errlen;
};

#define FAIL(code, ...)                                                     \
	do {                                                                \
		char _msg[192];                                             \
		snprintf(_msg, sizeof _msg, __VA_ARGS__);                   \
		ff_seterr(ps->err, ps->errlen, "%s: %s", ps->label, _msg);  \
		return (code);                                              \
	} while (0)

struct region {
	const char *name;
	uint64_t off, size;
};

static int check_regions(struct parse *ps, const struct region *r, size_t n)
{
	const ff_model *m = ps->m;
	for (size_t i = 0; i < n; i++) {
		if (r[i].size == 0)
			continue;
		if (r[i].off < FFN_HEADER_SIZE)
			FAIL(FF_ERR_FORMAT, "%s region at %llu overlaps the %u-byte header", r[i].name,
			     (unsigned long long)r[i].off, FFN_HEADER_SIZE);
		if (r[i].off + r[i].size > m->len)
			FAIL(FF_ERR_FORMAT, "%s region %llu+%llu outside file of %zu bytes", r[i].name,
			     (unsigned long long)r[i].off, (unsigned long long)r[i].size, m->len);
		for (size_t j = 0; j < i; j++) {
			if (r[j].size == 0)
				continue;
			if (r[i].off < r[j].off + r[j].size && r[j].off < r[i].off + r[i].size)
				FAIL(FF_ERR_FORMAT, "%s region %llu+%llu overlaps %s region %llu+%llu",
				     r[i].name, (unsigned long long)r[i].off,
				     (unsigned long long)r[i].size, r[j].name,
				     (unsigned long long)r[j].off, (unsigned long long)r[j].size);
		}
	}
	return FF_OK;
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Splits "key=value\n" lines into NUL-terminated pairs. */
static int parse_meta(struct parse *ps, const uint8_t *p, size_t n)
{
	ff_model *m = ps->m;
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	m->meta_text = malloc(n + 1);
	m->meta = calloc(lines + 1, sizeof *m->meta);
	if (!m->meta_text || !m->meta)
		FAIL(FF_ERR_NOMEM, "out of memory for metadata");
	memcpy(m->meta_text, p, n);
	m->meta_text[n] = '\0';
	char *s = m->meta_text, *end = m->meta_text + n;
	size_t lineno = 0;
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *eol = nl ? nl : end;
		lineno++;
		if (eol == s) { /* empty line */
			s = eol + 1;
			continue;
		}
		char *eq = memchr(s, '=', (size_t)(eol - s));
		if (!eq || eq == s)
			FAIL(FF_ERR_FORMAT, "metadata line %zu is not key=value", lineno);
		for (char *k = s; k < eq; k++)
			if (!is_key_char(*k))
				FAIL(FF_ERR_FORMAT, "metadata line %zu: key has a character outside [a-z0-9_]",
				     lineno);
		if (memchr(eq, '\0', (size_t)(eol - eq)))
			FAIL(FF_ERR_FORMAT, "metadata line %zu contains a NUL byte", lineno);
		*eq = '\0';
		*eol = '\0';
		m->meta[m->n_meta].key = s;
		m->meta[m->n_meta].value = eq + 1;
		m->n_meta++;
		s = eol + 1;
	}
	return FF_OK;
}

static int parse_tensors(struct parse *ps, const uint8_t *rec, const uint8_t *data,
			 uint32_t data_size)
{
	ff_model *m = ps->m;
	for (uint32_t i = 0; i < m->n_tensors; i++, rec += FFN_TENSOR_REC) {
		struct ffn_tensor *t = &m->tensors[i];
		memcpy(t->name, rec, FFN_NAME_LEN);
		t->name[FFN_NAME_LEN] = '\0';
		t->producer = -1;
		uint32_t dtype = ffn_rd32(rec + 40), rank = ffn_rd32(rec + 44);
		if (dtype != 1)
			FAIL(FF_ERR_UNSUPPORTED, "tensor %u: dtype %u not supported (only 1 = float32)", i,
			     dtype);
		if (rank > FF_NN_MAX_RANK)
			FAIL(FF_ERR_FORMAT, "tensor %u: rank %u > %u", i, rank, FF_NN_MAX_RANK);
		t->shape.rank = rank;
		for (uint32_t d = 0; d < FF_NN_MAX_RANK; d++) {
			t->shape.dims[d] = ffn_rd32(rec + 48 + 4 * d);
			if (d >= rank && t->shape.dims[d] != 0)
				FAIL(FF_ERR_FORMAT, "tensor %u: unused dim %u is %u, not 0", i, d,
				     t->shape.dims[d]);
		}
		uint32_t off = ffn_rd32(rec + 64), size = ffn_rd32(rec + 68);
		t->data_size = size;
		if (size == 0)
			continue;
		uint64_t numel = 1;
		for (uint32_t d = 0; d < rank; d++) {
			numel *= t->shape.dims[d];
			if (numel > data_size) /* also catches overflow: dims are < 2^32 */
				break;
		}
		if (numel > data_size || (uint64_t)size != 4 * numel)
			FAIL(FF_ERR_FORMAT, "tensor %u: data_size %u != 4 * %llu elements of its shape", i,
			     size, (unsigned long long)numel);
		if (off % 4)
			FAIL(FF_ERR_FORMAT, "tensor %u: data offset %u not a multiple of 4", i, off);
		if ((uint64_t)off + size > data_size)
			FAIL(FF_ERR_FORMAT, "tensor %u: data range %u+%u outside data section of %u bytes",
			     i, off, size, data_size);
		t->data = (const float *)(const void *)(data + off);
	}
	return FF_OK;
}

/* Static parameter checks that do not depend on shapes. */
static int check_params(struct parse *ps, uint32_t i, const struct ffn_op *op)
{
	const char *nm = ffn_op_name(op->type);
	const int32_t *ip = op->ip;
	switch (op->type) {
	case FFN_OP_CONV_2D:
	case FFN_OP_DEPTHWISE_CONV_2D:
	case FFN_OP_MAX_POOL_2D:
	case FFN_OP_AVERAGE_POOL_2D: {
		int conv = op->type == FFN_OP_CONV_2D || op->type == FFN_OP_DEPTHWISE_CONV_2D;
		static const int pos[] = {FFN_P_STRIDE_H, FFN_P_STRIDE_W, FFN_P_DIL_H, FFN_P_DIL_W,
					  FFN_P_GROUPS};
		for (size_t k = 0; k < sizeof pos / sizeof pos[0] - !conv; k++)
			if (ip[pos[k]] < 1 || ip[pos[k]] > FFN_MAX_PARAM)
				FAIL(FF_ERR_FORMAT, "op %u (%s): iparam[%d] = %d outside 1..%d", i, nm,
				     pos[k], ip[pos[k]], FFN_MAX_PARAM);
		if (ip[FFN_P_PADMODE] != FFN_PAD_EXPLICIT && ip[FFN_P_PADMODE] != FFN_PAD_SAME)
			FAIL(FF_ERR_FORMAT, "op %u (%s): padding mode %d is neither 0 nor 1", i, nm,
			     ip[FFN_P_PADMODE]);
		for (int k = FFN_P_PAD_T; k <= FFN_P_PAD_L; k++)
			if (ip[k] < 0 || ip[k] > FFN_MAX_PARAM)
				FAIL(FF_ERR_FORMAT, "op %u (%s): pad iparam[%d] = %d outside 0..%d", i, nm,
				     k, ip[k], FFN_MAX_PARAM);
		break;
	}
	case FFN_OP_RESHAPE: {
		int minus = 0;
		if (ip[0] < 1 || ip[0] > FF_NN_MAX_RANK)
			FAIL(FF_ERR_FORMAT, "op %u (%s): rank %d outside 1..%d", i, nm, ip[0],
			     FF_NN_MAX_RANK);
		for (int k = 1; k <= ip[0]; k++) {
			if (ip[k] < -1)
				FAIL(FF_ERR_FORMAT, "op %u (%s): dim %d is %d", i, nm, k - 1, ip[k]);
			minus += ip[k] == -1;
		}
		if (minus > 1)
			FAIL(FF_ERR_FORMAT, "op %u (%s): more than one -1 dim", i, nm);
		break;
	}
	case FFN_OP_DEPTH_TO_SPACE:
		if (ip[0] < 1 || ip[0] > FFN_MAX_PARAM)
			FAIL(FF_ERR_FORMAT, "op %u (%s): block size %d outside 1..%d", i, nm, ip[0],
			     FFN_MAX_PARAM);
		break;
	case FFN_OP_RESIZE_BILINEAR:
		if (ip[0] < 1 || ip[1] < 1 || ip[0] > FFN_MAX_PARAM || ip[1] > FFN_MAX_PARAM)
			FAIL(FF_ERR_FORMAT, "op %u (%s): output size %dx%d outside 1..%d", i, nm, ip[0],
			     ip[1], FFN_MAX_PARAM);
		if (ip[2] != 0 && ip[2] != 1)
			FAIL(FF_ERR_FORMAT, "op %u (%s): align_corners %d is neither 0 nor 1", i, nm,
			     ip[2]);
		break;
	default:
		break;
	}
	if (op_has_clamp(op->type)) {
		float lo = op->fp[0], hi = op->fp[1];
		if (isnan(lo) || isnan(hi) || lo > hi)
			FAIL(FF_ERR_FORMAT, "op %u (%s): output clamp [%g, %g] is empty or NaN", i, nm,
			     (double)lo, (double)hi);
	}
	return FF_OK;
}

static int parse_ops(struct parse *ps, const uint8_t *rec)
{
	ff_model *m = ps->m;
	for (uint32_t i = 0; i < m->n_ops; i++, rec += FFN_OP_REC) {
		struct ffn_op *op = &m->ops[i];
		op->type = ffn_rd32(rec);
		op->n_in = ffn_rd32(rec + 4);
		op->n_out = ffn_rd32(rec + 8);
		const char *nm = ffn_op_name(op->type);
		if (!nm)
			FAIL(FF_ERR_UNSUPPORTED, "op %u: unknown op type %u", i, op->type);
		if (op->n_in != op_arity[op->type] || op->n_out != 1)
			FAIL(FF_ERR_FORMAT, "op %u (%s): %u inputs and %u outputs, expected %u and 1", i,
			     nm, op->n_in, op->n_out, op_arity[op->type]);
		for (int k = 0; k < 16; k++)
			op->ip[k] = (int32_t)ffn_rd32(rec + 36 + 4 * k);
		for (int k = 0; k < 4; k++)
			op->fp[k] = ffn_rdf32(rec + 100 + 4 * k);
		for (uint32_t k = 0; k < FFN_MAX_OP_IN; k++)
			op->in[k] = k < op->n_in ? ffn_rd32(rec + 12 + 4 * k) : FFN_NONE_ID;
		for (uint32_t k = 0; k < FFN_MAX_OP_OUT; k++)
			op->out[k] = k < op->n_out ? ffn_rd32(rec + 28 + 4 * k) : FFN_NONE_ID;
		for (uint32_t k = 0; k < op->n_in + op->n_out; k++) {
			int is_out = k >= op->n_in;
			uint32_t slot = is_out ? k - op->n_in : k;
			uint32_t id = is_out ? op->out[slot] : op->in[slot];
			if (id >= m->n_tensors)
				FAIL(FF_ERR_FORMAT, "op %u (%s): %s %u is tensor %u, out of range 0..%u", i,
				     nm, is_out ? "output" : "input", slot, id, m->n_tensors - 1);
		}
		for (uint32_t k = 0; k < op->n_in; k++) {
			const struct ffn_tensor *t = &m->tensors[op->in[k]];
			if (!t->data && t->producer == -1)
				FAIL(FF_ERR_FORMAT,
				     "op %u (%s): input %u (tensor %u '%s') is not a graph input, a "
				     "constant or the output of an earlier op",
				     i, nm, k, op->in[k], t->name);
		}
		for (uint32_t k = 0; k < op->n_out; k++) {
			uint32_t id = op->out[k];
			struct ffn_tensor *t = &m->tensors[id];
			if (t->data)
				FAIL(FF_ERR_FORMAT, "op %u (%s): output tensor %u '%s' is a constant", i, nm,
				     id, t->name);
			if (t->producer == -2)
				FAIL(FF_ERR_FORMAT, "op %u (%s): output tensor %u '%s' is a graph input", i,
				     nm, id, t->name);
			if (t->producer >= 0)
				FAIL(FF_ERR_FORMAT, "op %u (%s): output tensor %u '%s' already produced by op %d",
				     i, nm, id, t->name, t->producer);
			t->producer = (int32_t)i;
		}
		int rc = check_params(ps, i, op);
		if (rc)
			return rc;
	}
	return FF_OK;
}

/* Reads the graph input/output ids; inputs are marked before the ops. */
static int parse_io(struct parse *ps, const uint8_t *p, int outputs)
{
	ff_model *m = ps->m;
	uint32_t n = outputs ? m->n_outputs : m->n_inputs;
	uint32_t *ids = outputs ? m->outputs : m->inputs;
	const char *what = outputs ? "output" : "input";
	if (outputs)
		p += 4 * m->n_inputs;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t id = ffn_rd32(p + 4 * k);
		if (id >= m->n_tensors)
			FAIL(FF_ERR_FORMAT, "graph %s %u is tensor %u, out of range 0..%u", what, k, id,
			     m->n_tensors - 1);
		for (uint32_t j = 0; j < k; j++)
			if (ids[j] == id)
				FAIL(FF_ERR_FORMAT, "graph %s %u repeats tensor %u", what, k, id);
		struct ffn_tensor *t = &m->tensors[id];
		ids[k] = id;
		if (t->data)
			FAIL(FF_ERR_FORMAT, "graph %s %u (tensor %u '%s') is a constant", what, k, id,
			     t->name);
		if (!outputs) {
			if (t->shape.rank < 1)
				FAIL(FF_ERR_FORMAT, "graph input %u (tensor %u '%s') has rank 0", k, id,
				     t->name);
			t->producer = -2;
		} else if (t->producer < 0) {
			FAIL(FF_ERR_FORMAT, "graph output %u (tensor %u '%s') is not produced by any op",
			     k, id, t->name);
		}
	}
	return FF_OK;
}

static int parse_all(struct parse *ps)
{
	ff_model *m = ps->m;
	const uint8_t *b = m->buf;
	if (m->len < FFN_HEADER_SIZE)
		FAIL(FF_ERR_FORMAT, "file of %zu bytes is shorter than the %u-byte header", m->len,
		     FFN_HEADER_SIZE);
	if (memcmp(b, "FFNN", 4) != 0)
		FAIL(FF_ERR_FORMAT, "bad magic (not an .ffn file)");
	uint16_t vmaj = rd16(b + 4), vmin = rd16(b + 6);
	if (vmaj != 1)
		FAIL(FF_ERR_UNSUPPORTED, "format version %u.%u not supported (need 1.x)", vmaj, vmin);
	uint32_t hsize = ffn_rd32(b + 8);
	if (hsize != FFN_HEADER_SIZE)
		FAIL(FF_ERR_FORMAT, "header_size %u, expected %u", hsize, FFN_HEADER_SIZE);
	m->n_tensors = ffn_rd32(b + 12);
	m->n_ops = ffn_rd32(b + 16);
	m->n_inputs = ffn_rd32(b + 20);
	m->n_outputs = ffn_rd32(b + 24);
	if (m->n_tensors < 1 || m->n_tensors > FFN_MAX_TENSORS)
		FAIL(FF_ERR_FORMAT, "n_tensors %u outside 1..%u", m->n_tensors, FFN_MAX_TENSORS);
	if (m->n_ops < 1 || m->n_ops > FFN_MAX_OPS)
		FAIL(FF_ERR_FORMAT, "n_ops %u outside 1..%u", m->n_ops, FFN_MAX_OPS);
	if (m->n_inputs < 1 || m->n_inputs > FFN_MAX_IO)
		FAIL(FF_ERR_FORMAT, "n_inputs %u outside 1..%u", m->n_inputs, FFN_MAX_IO);
	if (m->n_outputs < 1 || m->n_outputs > FFN_MAX_IO)
		FAIL(FF_ERR_FORMAT, "n_outputs %u outside 1..%u", m->n_outputs, FFN_MAX_IO);
	uint32_t meta_off = ffn_rd32(b + 28), meta_size = ffn_rd32(b + 32);
	uint32_t t_off = ffn_rd32(b + 36), o_off = ffn_rd32(b + 40), io_off = ffn_rd32(b + 44);
	uint32_t d_off = ffn_rd32(b + 48), d_size = ffn_rd32(b + 52), crc = ffn_rd32(b + 56);
	if (d_off % 64)
		FAIL(FF_ERR_FORMAT, "data_offset %u not a multiple of 64", d_off);
	const struct region regions[] = {
		{"metadata", meta_off, meta_size},
		{"tensor", t_off, (uint64_t)m->n_tensors * FFN_TENSOR_REC},
		{"op", o_off, (uint64_t)m->n_ops * FFN_OP_REC},
		{"io", io_off, 4ull * (m->n_inputs + m->n_outputs)},
		{"data", d_off, d_size},
	};
	int rc = check_regions(ps, regions, sizeof regions / sizeof regions[0]);
	if (rc)
		return rc;
	uint32_t got = (uint32_t)crc32_z(0L, b + d_off, (size_t)d_size); /* zlib: the CRC-32 of FORMAT.md */
	if (got != crc)
		FAIL(FF_ERR_FORMAT, "data section CRC-32 %08x != header %08x (corrupt weights)", got,
		     crc);
	m->tensors = calloc(m->n_tensors, sizeof *m->tensors);
	m->ops = calloc(m->n_ops, sizeof *m->ops);
	if (!m->tensors || !m->ops)
		FAIL(FF_ERR_NOMEM, "out of memory for %u tensors and %u ops", m->n_tensors, m->n_ops);
	if ((rc = parse_meta(ps, b + meta_off, meta_size)) ||
	    (rc = parse_tensors(ps, b + t_off, b + d_off, d_size)) ||
	    (rc = parse_io(ps, b + io_off, 0)) || (rc = parse_ops(ps, b + o_off)) ||
	    (rc = parse_io(ps, b + io_off, 1)))
		return rc;
	return FF_OK;
}

int ffn_parse(uint8_t *buf, size_t len, const char *label, ff_model **out, char *errbuf,
	      size_t errlen)
{
	ff_model *m = calloc(1, sizeof *m);
	if (!m) {
		free(buf);
		ff_seterr(errbuf, errlen, "%s: out of memory", label);
		return FF_ERR_NOMEM;
	}
	m->buf = buf;
	m->len = len;
	struct parse ps = {m, label, errbuf, errlen};
	int rc = parse_all(&ps);
	if (rc) {
		ff_model_free(m);
		m = NULL;
	} else if (errbuf && errlen) {
		errbuf[0] = '\0';
	}
	*out = m;
	return rc;
}

static size_t max_bytes(const ff_nn_options *opt)
{
	return opt && opt->max_file_bytes ? opt->max_file_bytes : FFN_DEFAULT_MAX_FILE;
}

/* A copy of buf in an aligned buffer, parsed; label prefixes errors. */
static int load_buffer(const void *buf, size_t len, const char *label, const ff_nn_options *opt,
		       ff_model **out, char *errbuf, size_t errlen)
{
	if (!out || (!buf && len)) {
		ff_seterr(errbuf, errlen, "%s: invalid argument", label);
		if (out)
			*out = NULL;
		return FF_ERR_INVAL;
	}
	*out = NULL;
	if (len > max_bytes(opt)) {
		ff_seterr(errbuf, errlen, "%s: %zu bytes over the limit of %zu", label, len,
			 max_bytes(opt));
		return FF_ERR_RANGE;
	}
	uint8_t *copy = ffn_alloc_buffer(len);
	if (!copy) {
		ff_seterr(errbuf, errlen, "%s: out of memory for %zu bytes", label, len);
		return FF_ERR_NOMEM;
	}
	if (len)
		memcpy(copy, buf, len);
	return ffn_parse(copy, len, label, out, errbuf, errlen);
}

int ff_model_load_memory(const void *buf, size_t len, const ff_nn_options *opt, ff_model **out,
			 char *errbuf, size_t errlen)
{
	return load_buffer(buf, len, "ffn", opt, out, errbuf, errlen);
}

int ff_model_load(const char *path, const ff_nn_options *opt, ff_model **out, char *errbuf,
		  size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;
	if (!out || !path) {
		ff_seterr(errbuf, errlen, "ffn: invalid argument");
		if (out)
			*out = NULL;
		return FF_ERR_INVAL;
	}
	*out = NULL;
	/* one bounded read (lib/util); a missing file is unreadable (FF_ERR_IO) here */
	rc = ff_file_read(path, max_bytes(opt), &buf, &len, errbuf, errlen);
	if (rc != FF_OK)
		return rc == FF_ERR_NOTFOUND ? FF_ERR_IO : rc;
	rc = load_buffer(buf, len, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, opt, out,
			 errbuf, errlen);
	free(buf);
	if (rc == FF_OK && opt && opt->int8 && (rc = ff_model_load_ranges_for(*out, path, errbuf,
									      errlen)) != FF_OK) {
		ff_model_free(*out);
		*out = NULL;
	}
	return rc;
}

const char *ff_model_meta(const ff_model *m, const char *key)
{
	if (!m || !key)
		return NULL;
	for (size_t i = 0; i < m->n_meta; i++)
		if (strcmp(m->meta[i].key, key) == 0)
			return m->meta[i].value;
	return NULL;
}

unsigned ff_model_num_inputs(const ff_model *m)
{
	return m ? m->n_inputs : 0;
}

unsigned ff_model_num_outputs(const ff_model *m)
{
	return m ? m->n_outputs : 0;
}

static int io_shape(const ff_model *m, unsigned i, int outputs, ff_shape *out)
{
	if (!m || !out || i >= (outputs ? m->n_outputs : m->n_inputs))
		return FF_ERR_RANGE;
	*out = m->tensors[outputs ? m->outputs[i] : m->inputs[i]].shape;
	return FF_OK;
}

int ff_model_input_shape(const ff_model *m, unsigned i, ff_shape *out)
{
	return io_shape(m, i, 0, out);
}

int ff_model_output_shape(const ff_model *m, unsigned i, ff_shape *out)
{
	return io_shape(m, i, 1, out);
}

int ff_model_constant(const ff_model *m, const char *name, const float **data, ff_shape *shape)
{
	if (!m || !name)
		return FF_ERR_NOTFOUND;
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct ffn_tensor *t = &m->tensors[i];
		if (t->data && strcmp(t->name, name) == 0) {
			if (data)
				*data = t->data;
			if (shape)
				*shape = t->shape;
			return FF_OK;
		}
	}
	return FF_ERR_NOTFOUND;
}
