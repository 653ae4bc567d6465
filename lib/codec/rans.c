/* Static-table rANS coding of VQ code indices (facefleet/entropy.h).
 * Byte-wise rANS after Duda and Giesen's ryg_rans: 32-bit state kept in
 * [2^23, 2^31), one byte out or in at a time. The cumulative frequency of a
 * symbol is summed when needed (K is small; the tables stay the file's size,
 * which matters on a device). */
#include "facefleet/entropy.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "facefleet/error.h"
#include "facefleet/file.h"

#define MAGIC "FFEC"
#define VERSION 1u
#define HEADER 64u
#define MODEL_ID_LEN 32u
#define PREC_MIN 10u
#define PREC_MAX 15u
#define RANS_L (1u << 23) /* lower end of the state interval */
#define MIN_TAG_BITS 3u   /* CRC bits at least in the start state */
#define MAX_FILE (HEADER + 2u * FF_ENTROPY_MAX_FREQS)

struct ff_entropy_table {
	char model_id[MODEL_ID_LEN + 1];
	uint32_t grid_h, grid_w, cpc, k;
	uint32_t kind, prec, nctx;
	uint32_t crc;
	size_t num_codes;
	uint16_t freq[]; /* nctx x k, each context's summing to 2^prec */
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Number of contexts the kind implies for the layout; 0 for an unknown kind. */
static uint64_t contexts_for(uint32_t kind, uint64_t num_codes, uint64_t k)
{
	switch (kind) {
	case FF_ENTROPY_CTX_SINGLE:
		return 1;
	case FF_ENTROPY_CTX_POSITION:
		return num_codes;
	case FF_ENTROPY_CTX_LEFT_UP:
		return (k + 1) * (k + 1);
	default:
		return 0;
	}
}

/* The header's fields, each against its limits. NULL or what is wrong. */
static const char *parse_header(const uint8_t *b, size_t len, ff_entropy_table *h)
{
	uint64_t cells;

	if (len < HEADER || memcmp(b, MAGIC, 4) != 0)
		return "not an entropy table (magic FFEC)";
	if (rd16(b + 4) != VERSION)
		return "unsupported version";
	h->kind = b[6];
	h->prec = b[7];
	if (b[8] == '\0' || memchr(b + 8, '\0', MODEL_ID_LEN) == NULL)
		return "model id empty or not NUL-terminated";
	memcpy(h->model_id, b + 8, MODEL_ID_LEN);
	h->model_id[MODEL_ID_LEN] = '\0';
	h->grid_h = rd32(b + 40);
	h->grid_w = rd32(b + 44);
	h->cpc = rd32(b + 48);
	h->k = rd32(b + 52);
	h->nctx = rd32(b + 56);
	h->crc = rd32(b + 60);
	if (h->prec < PREC_MIN || h->prec > PREC_MAX)
		return "precision outside 10..15";
	if (h->k < 2 || h->k > (1u << h->prec))
		return "codebook size outside 2..2^precision";
	cells = (uint64_t)h->grid_h * h->grid_w;
	if (cells == 0 || h->cpc == 0 || cells * h->cpc > FF_VQ_MAX_CODES)
		return "code layout outside 1..FF_VQ_MAX_CODES";
	h->num_codes = (size_t)(cells * h->cpc);
	if (contexts_for(h->kind, h->num_codes, h->k) == 0)
		return "unknown context kind";
	if (h->nctx != contexts_for(h->kind, h->num_codes, h->k))
		return "context count does not match the kind";
	if ((uint64_t)h->nctx * h->k > FF_ENTROPY_MAX_FREQS)
		return "tables larger than FF_ENTROPY_MAX_FREQS";
	if (len != HEADER + 2u * (size_t)h->nctx * h->k)
		return "file size does not match the tables";
	if ((uint32_t)crc32_z(0L, b + HEADER, len - HEADER) != h->crc)
		return "CRC mismatch";
	return NULL;
}

/* Every frequency >= 1, each context summing to 2^prec. */
static const char *read_freqs(const uint8_t *b, ff_entropy_table *t)
{
	for (uint32_t c = 0; c < t->nctx; c++) {
		uint32_t sum = 0;
		for (uint32_t s = 0; s < t->k; s++) {
			uint16_t f = rd16(b + 2u * ((size_t)c * t->k + s));
			if (f == 0)
				return "a frequency of 0 (every index must stay codable)";
			t->freq[(size_t)c * t->k + s] = f;
			sum += f;
		}
		if (sum != (1u << t->prec))
			return "a context's frequencies do not sum to 2^precision";
	}
	return NULL;
}

int ff_entropy_table_parse(const uint8_t *buf, size_t len, ff_entropy_table **out, char *errbuf,
			   size_t errlen)
{
	ff_entropy_table h = { 0 }, *t;
	const char *why;

	if (!buf || !out)
		return FF_ERR_INVAL;
	why = parse_header(buf, len, &h);
	if (why) {
		snprintf(errbuf, errlen, "%s", why);
		return FF_ERR_FORMAT;
	}
	t = malloc(sizeof(*t) + 2u * (size_t)h.nctx * h.k);
	if (!t)
		return FF_ERR_NOMEM;
	*t = h;
	why = read_freqs(buf + HEADER, t);
	if (why) {
		snprintf(errbuf, errlen, "%s", why);
		free(t);
		return FF_ERR_FORMAT;
	}
	*out = t;
	return FF_OK;
}

int ff_entropy_table_path(const char *model_path, char *out, size_t cap)
{
	static const char *const suffixes[] = { ".enc.ffn", ".dec.ffn" };
	size_t n = model_path ? strlen(model_path) : 0;

	if (!model_path || !out)
		return FF_ERR_INVAL;
	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);
		if (n <= sl || strcmp(model_path + n - sl, suffixes[i]) != 0)
			continue;
		if ((size_t)snprintf(out, cap, "%.*s%s", (int)(n - sl), model_path,
				     FF_ENTROPY_SUFFIX) >= cap)
			return FF_ERR_RANGE;
		return FF_OK;
	}
	return FF_ERR_INVAL;
}

/* The table against the model it is used with. */
static const char *check_model(const ff_entropy_table *t, const ff_vq_info *vi)
{
	uint32_t cpc = vi->codes_per_cell ? vi->codes_per_cell : 1;
	if (strcmp(t->model_id, vi->model_id) != 0)
		return "made for another model id";
	if (t->grid_h != vi->grid_h || t->grid_w != vi->grid_w || t->cpc != cpc ||
	    t->k != vi->codebook_size || t->num_codes != vi->num_codes)
		return "code layout differs from the model's";
	return NULL;
}

int ff_entropy_table_open(const char *model_path, const ff_vq_info *vi, ff_entropy_table **out,
			  char *errbuf, size_t errlen)
{
	char path[4096], *buf = NULL, why[256] = "";
	const char *bad;
	size_t len;
	int rc;

	if (!vi || !out)
		return FF_ERR_INVAL;
	rc = ff_entropy_table_path(model_path, path, sizeof(path));
	if (rc != FF_OK) {
		snprintf(errbuf, errlen, "%s: not a .enc.ffn/.dec.ffn path", model_path ? model_path : "");
		return rc;
	}
	rc = ff_file_read(path, MAX_FILE, &buf, &len, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	rc = ff_entropy_table_parse((const uint8_t *)buf, len, out, why, sizeof(why));
	if (rc == FF_OK && (bad = check_model(*out, vi)) != NULL) {
		snprintf(why, sizeof(why), "%s (table %s, model %s)", bad, (*out)->model_id,
			 vi->model_id);
		ff_entropy_table_free(*out);
		*out = NULL;
		rc = FF_ERR_FORMAT;
	}
	if (rc != FF_OK)
		snprintf(errbuf, errlen, "%s: %s", path, why[0] ? why : ff_strerror(rc));
	free(buf);
	return rc;
}

void ff_entropy_table_free(ff_entropy_table *t)
{
	free(t);
}

const char *ff_entropy_table_model_id(const ff_entropy_table *t)
{
	return t->model_id;
}

size_t ff_entropy_table_num_codes(const ff_entropy_table *t)
{
	return t->num_codes;
}

uint32_t ff_entropy_table_crc(const ff_entropy_table *t)
{
	return t->crc;
}

size_t ff_entropy_table_size(const ff_entropy_table *t)
{
	return HEADER + 2u * (size_t)t->nctx * t->k;
}

/* The frequency row of index i's context (idx: the whole face). */
static const uint16_t *row(const ff_entropy_table *t, const uint16_t *idx, size_t i)
{
	size_t c = 0;
	if (t->kind == FF_ENTROPY_CTX_POSITION) {
		c = i;
	} else if (t->kind == FF_ENTROPY_CTX_LEFT_UP) {
		size_t cell = i / t->cpc, x = cell % t->grid_w, y = cell / t->grid_w;
		size_t left = x ? idx[i - t->cpc] : t->k;
		size_t up = y ? idx[i - (size_t)t->grid_w * t->cpc] : t->k;
		c = left * (t->k + 1) + up;
	}
	return t->freq + c * t->k;
}

double ff_entropy_bits(const ff_entropy_table *t, const uint16_t *idx, size_t i, uint16_t sym)
{
	return (double)t->prec - log2((double)row(t, idx, i)[sym]);
}

/* The start state x0 = 2^23 + v travels whole to the decoder (in the final
 * state), so its 23 low bits carry data instead of costing 3 bytes: the
 * last indices of the face, raw (their context is never needed: nothing
 * follows them), and in the bits left the table's CRC (a check). */
typedef struct tail {
	size_t r;          /* indices kept raw in v: the last r */
	unsigned bits;     /* bits per raw index: ceil(log2 K) */
	unsigned tag_bits; /* 23 - r * bits: the CRC's low bits */
} tail;

static tail tail_of(const ff_entropy_table *t)
{
	tail tl = { 0, 1, 23 };
	while ((1u << tl.bits) < t->k)
		tl.bits++;
	tl.r = (23 - MIN_TAG_BITS) / tl.bits;
	if (tl.r > t->num_codes)
		tl.r = t->num_codes;
	tl.tag_bits = 23 - (unsigned)tl.r * tl.bits;
	return tl;
}

static uint32_t start_state(const ff_entropy_table *t, const tail *tl, const uint16_t *idx)
{
	uint32_t v = t->crc & ((1u << tl->tag_bits) - 1);
	size_t n = t->num_codes;
	for (size_t j = 0; j < tl->r; j++)
		v |= (uint32_t)idx[n - tl->r + j] << (tl->tag_bits + j * tl->bits);
	return RANS_L + v;
}

/* The decoder's final state back into the raw tail; false when it is not
 * a start state of this table (corrupt, or another table's stream). */
static bool read_tail(const ff_entropy_table *t, const tail *tl, uint32_t x, uint16_t *idx)
{
	uint32_t v = x - RANS_L, mask = (1u << tl->bits) - 1;
	size_t n = t->num_codes;
	if (x < RANS_L || v >= RANS_L || (v & ((1u << tl->tag_bits) - 1)) !=
						  (t->crc & ((1u << tl->tag_bits) - 1)))
		return false;
	for (size_t j = 0; j < tl->r; j++) {
		uint32_t s = (v >> (tl->tag_bits + j * tl->bits)) & mask;
		if (s >= t->k)
			return false;
		idx[n - tl->r + j] = (uint16_t)s;
	}
	return true;
}

int ff_entropy_encode(const ff_entropy_table *t, const uint16_t *idx, size_t n, uint8_t *out,
		      size_t cap, size_t *len)
{
	/* at most 2 bytes out per index (precision <= 15 < 16) plus the state */
	uint8_t tmp[2 * FF_VQ_MAX_CODES + 4], *p = tmp + sizeof(tmp);
	tail tl;
	uint32_t x;

	if (!t || !idx || !out || !len || n != t->num_codes)
		return FF_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= t->k)
			return FF_ERR_RANGE;
	tl = tail_of(t);
	x = start_state(t, &tl, idx);
	for (size_t i = n - tl.r; i-- > 0;) {
		const uint16_t *f = row(t, idx, i);
		uint32_t start = 0, freq = f[idx[i]];
		uint32_t x_max = ((RANS_L >> t->prec) << 8) * freq;
		for (uint16_t s = 0; s < idx[i]; s++)
			start += f[s];
		while (x >= x_max) {
			*--p = (uint8_t)(x & 0xff);
			x >>= 8;
		}
		x = ((x / freq) << t->prec) + (x % freq) + start;
	}
	for (int b = 3; b >= 0; b--)
		*--p = (uint8_t)(x >> (8 * b));
	*len = (size_t)(tmp + sizeof(tmp) - p);
	if (*len > cap)
		return FF_ERR_RANGE;
	memcpy(out, p, *len);
	return FF_OK;
}

/* One index out of the state: the symbol whose slot range holds x's low
 * bits. Every frequency is >= 1 and a row sums to 2^prec, so one is found. */
static uint16_t decode_symbol(const ff_entropy_table *t, const uint16_t *f, uint32_t *x)
{
	uint32_t mask = (1u << t->prec) - 1, slot = *x & mask, start = 0;
	uint16_t s = 0;
	while (s + 1u < t->k && start + f[s] <= slot)
		start += f[s++];
	*x = f[s] * (*x >> t->prec) + slot - start;
	return s;
}

int ff_entropy_decode(const ff_entropy_table *t, const uint8_t *in, size_t len, uint16_t *idx,
		      size_t n)
{
	size_t pos = 4;
	tail tl;
	uint32_t x;

	if (!t || !in || !idx || n != t->num_codes)
		return FF_ERR_INVAL;
	if (len < 4)
		return FF_ERR_FORMAT;
	x = rd32(in);
	if (x < RANS_L || x >= (RANS_L << 8))
		return FF_ERR_FORMAT;
	tl = tail_of(t);
	for (size_t i = 0; i < n - tl.r; i++) {
		idx[i] = decode_symbol(t, row(t, idx, i), &x);
		while (x < RANS_L) {
			if (pos >= len)
				return FF_ERR_FORMAT; /* truncated */
			x = (x << 8) | in[pos++];
		}
	}
	/* every byte used, back in a start state of this table: the stream, whole */
	return pos == len && read_tail(t, &tl, x, idx) ? FF_OK : FF_ERR_FORMAT;
}
