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
#define VERSION 1u        /* kinds 0-2 */
#define VERSION_DIGITS 2u /* kind 3: the header, then the digit block */
#define HEADER 64u
#define DIGIT_BLOCK 8u    /* u8 number of digits, u8 radix[7] */
#define MODEL_ID_LEN 32u
#define PREC_MIN 10u
#define PREC_MAX 15u
#define RANS_L (1u << 23) /* lower end of the state interval */
#define MIN_TAG_BITS 3u   /* CRC bits at least in the start state */
#define MAX_FILE (HEADER + DIGIT_BLOCK + 2u * FF_ENTROPY_MAX_FREQS)

struct ff_entropy_table {
	char model_id[MODEL_ID_LEN + 1];
	uint32_t grid_h, grid_w, cpc, k;
	uint32_t kind, prec, nctx;
	uint32_t crc;
	size_t num_codes;
	/* an index is coded as digits (kinds 0-2: one, the index itself):
	 * digit j = idx / base[j] % radix[j], its rows at freq + off[j] */
	uint32_t ndig, radix[FF_ENTROPY_MAX_DIGITS], base[FF_ENTROPY_MAX_DIGITS];
	size_t off[FF_ENTROPY_MAX_DIGITS], nfreq, body; /* body: bytes after the header */
	float *cost;     /* cost[f]: prec - log2(f), the bits of a frequency f (rate control) */
	uint16_t freq[]; /* each row summing to 2^prec */
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The digits of an index: the file's digit block for kind 3, the index
 * itself otherwise. NULL or what is wrong. */
static const char *read_digits(const uint8_t *b, size_t len, ff_entropy_table *h)
{
	uint64_t prod = 1;
	h->ndig = 1;
	h->radix[0] = h->k;
	if (h->kind != FF_ENTROPY_CTX_DIGITS)
		return NULL;
	if (len < HEADER + DIGIT_BLOCK)
		return "digit block cut short";
	h->ndig = b[HEADER];
	if (h->ndig < 1 || h->ndig > FF_ENTROPY_MAX_DIGITS)
		return "number of digits outside 1..FF_ENTROPY_MAX_DIGITS";
	for (uint32_t j = 0; j < DIGIT_BLOCK - 1; j++) {
		uint32_t r = b[HEADER + 1 + j];
		if (j >= h->ndig ? r != 0 : r < 2)
			return "a digit's radix below 2 (or one past the digits not 0)";
		if (j < h->ndig) {
			h->radix[j] = r;
			prod *= r;
		}
	}
	if (prod != h->k)
		return "the digits' radices do not multiply to K";
	return NULL;
}

/* Rows and frequencies the kind implies for the layout (off, base, nfreq,
 * body); the number of rows, 0 for an unknown kind. */
static uint64_t layout(ff_entropy_table *h)
{
	uint64_t rows = 0, n = h->num_codes, k = h->k;
	h->base[0] = 1;
	h->off[0] = 0;
	switch (h->kind) {
	case FF_ENTROPY_CTX_SINGLE:
		rows = 1;
		break;
	case FF_ENTROPY_CTX_POSITION:
		rows = n;
		break;
	case FF_ENTROPY_CTX_LEFT_UP:
		rows = (k + 1) * (k + 1);
		break;
	case FF_ENTROPY_CTX_DIGITS: {
		uint64_t freqs = 0;
		for (uint32_t j = 0; j < h->ndig; j++) {
			uint64_t r = h->radix[j];
			if (j > 0)
				h->base[j] = h->base[j - 1] * h->radix[j - 1];
			h->off[j] = (size_t)freqs;
			rows += n * (r + 1) * (r + 1);
			freqs += n * (r + 1) * (r + 1) * r;
		}
		h->nfreq = (size_t)(freqs <= FF_ENTROPY_MAX_FREQS ? freqs : FF_ENTROPY_MAX_FREQS + 1);
		h->body = DIGIT_BLOCK + 2u * h->nfreq;
		return rows;
	}
	default:
		return 0;
	}
	h->nfreq = (size_t)(rows * k <= FF_ENTROPY_MAX_FREQS ? rows * k : FF_ENTROPY_MAX_FREQS + 1);
	h->body = 2u * h->nfreq;
	return rows;
}

/* The header's fields, each against its limits. NULL or what is wrong. */
static const char *parse_header(const uint8_t *b, size_t len, ff_entropy_table *h)
{
	uint64_t cells, rows;
	const char *why;

	if (len < HEADER || memcmp(b, MAGIC, 4) != 0)
		return "not an entropy table (magic FFEC)";
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
	if (rd16(b + 4) != (h->kind == FF_ENTROPY_CTX_DIGITS ? VERSION_DIGITS : VERSION))
		return "unsupported version (kinds 0-2: 1, kind 3: 2)";
	if (h->prec < PREC_MIN || h->prec > PREC_MAX)
		return "precision outside 10..15";
	if (h->k < 2 || h->k > (1u << h->prec))
		return "codebook size outside 2..2^precision";
	cells = (uint64_t)h->grid_h * h->grid_w;
	if (cells == 0 || h->cpc == 0 || cells * h->cpc > FF_VQ_MAX_CODES)
		return "code layout outside 1..FF_VQ_MAX_CODES";
	h->num_codes = (size_t)(cells * h->cpc);
	if ((why = read_digits(b, len, h)) != NULL)
		return why;
	rows = layout(h);
	if (rows == 0)
		return "unknown context kind";
	if (h->nctx != rows)
		return "context count does not match the kind";
	if (h->nfreq > FF_ENTROPY_MAX_FREQS)
		return "tables larger than FF_ENTROPY_MAX_FREQS";
	if (len != HEADER + h->body)
		return "file size does not match the tables";
	if ((uint32_t)crc32_z(0L, b + HEADER, len - HEADER) != h->crc)
		return "CRC mismatch";
	return NULL;
}

/* Every frequency >= 1, each row (a digit's, in one context) summing to 2^prec. */
static const char *read_freqs(const uint8_t *b, ff_entropy_table *t)
{
	for (uint32_t j = 0; j < t->ndig; j++) {
		size_t end = j + 1 < t->ndig ? t->off[j + 1] : t->nfreq;
		for (size_t r = t->off[j]; r < end; r += t->radix[j]) {
			uint32_t sum = 0;
			for (size_t s = r; s < r + t->radix[j]; s++) {
				uint16_t f = rd16(b + 2u * s);
				if (f == 0)
					return "a frequency of 0 (every index must stay codable)";
				t->freq[s] = f;
				sum += f;
			}
			if (sum != (1u << t->prec))
				return "a context's frequencies do not sum to 2^precision";
		}
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
	t = malloc(sizeof(*t) + 2u * h.nfreq);
	h.cost = malloc(((size_t)1 << h.prec) * sizeof(float) + sizeof(float));
	if (!t || !h.cost) {
		free(t);
		free(h.cost);
		return FF_ERR_NOMEM;
	}
	for (uint32_t f = 1; f <= (1u << h.prec); f++)
		h.cost[f] = (float)((double)h.prec - log2((double)f));
	h.cost[0] = (float)h.prec;
	*t = h;
	why = read_freqs(buf + len - 2u * h.nfreq, t);
	if (why) {
		snprintf(errbuf, errlen, "%s", why);
		ff_entropy_table_free(t);
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
	if (t)
		free(t->cost);
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
	return HEADER + t->body;
}

/* Digit j of index v (kinds 0-2: v itself). */
static uint32_t digit(const ff_entropy_table *t, uint32_t v, uint32_t j)
{
	return v / t->base[j] % t->radix[j];
}

/* The frequency row of digit j of index i in its context (idx: the whole
 * face; only indices before i are read). */
static const uint16_t *row(const ff_entropy_table *t, const uint16_t *idx, size_t i, uint32_t j)
{
	size_t c = 0, cell = i / t->cpc, x = cell % t->grid_w, y = cell / t->grid_w;
	size_t step_up = (size_t)t->grid_w * t->cpc, r = t->radix[j];

	switch (t->kind) {
	case FF_ENTROPY_CTX_POSITION:
		c = i;
		break;
	case FF_ENTROPY_CTX_LEFT_UP:
		c = (x ? idx[i - t->cpc] : t->k) * (t->k + 1) + (y ? idx[i - step_up] : t->k);
		break;
	case FF_ENTROPY_CTX_DIGITS:
		c = (i * (r + 1) + (x ? digit(t, idx[i - t->cpc], j) : r)) * (r + 1) +
		    (y ? digit(t, idx[i - step_up], j) : r);
		break;
	default:
		break;
	}
	return t->freq + t->off[j] + c * r;
}

void ff_entropy_costs(const ff_entropy_table *t, const uint16_t *idx, size_t i, const uint16_t *syms,
		      size_t n, double *bits)
{
	const uint16_t *f[FF_ENTROPY_MAX_DIGITS];
	for (uint32_t j = 0; j < t->ndig; j++) /* the context is the same for every candidate */
		f[j] = row(t, idx, i, j);
	for (size_t c = 0; c < n; c++) {
		bits[c] = 0.0;
		for (uint32_t j = 0; j < t->ndig; j++)
			bits[c] += t->cost[f[j][digit(t, syms[c], j)]];
	}
}

double ff_entropy_bits(const ff_entropy_table *t, const uint16_t *idx, size_t i, uint16_t sym)
{
	double bits;
	ff_entropy_costs(t, idx, i, &sym, 1, &bits);
	return bits;
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

/* Puts symbol s (of a row f) on the state, bytes out below p. */
static void encode_symbol(const ff_entropy_table *t, const uint16_t *f, uint32_t s, uint32_t *x,
			  uint8_t **p)
{
	uint32_t start = 0, freq = f[s];
	uint32_t x_max = ((RANS_L >> t->prec) << 8) * freq;
	for (uint32_t q = 0; q < s; q++)
		start += f[q];
	while (*x >= x_max) {
		*--*p = (uint8_t)(*x & 0xff);
		*x >>= 8;
	}
	*x = ((*x / freq) << t->prec) + (*x % freq) + start;
}

int ff_entropy_encode(const ff_entropy_table *t, const uint16_t *idx, size_t n, uint8_t *out,
		      size_t cap, size_t *len)
{
	/* at most 2 bytes out per digit (precision <= 15 < 16) plus the state */
	uint8_t tmp[FF_ENTROPY_MAX_STREAM], *p = tmp + sizeof(tmp);
	tail tl;
	uint32_t x;

	if (!t || !idx || !out || !len || n != t->num_codes)
		return FF_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= t->k)
			return FF_ERR_RANGE;
	tl = tail_of(t);
	x = start_state(t, &tl, idx);
	for (size_t i = n - tl.r; i-- > 0;) /* the decoder's order, reversed */
		for (uint32_t j = t->ndig; j-- > 0;)
			encode_symbol(t, row(t, idx, i, j), digit(t, idx[i], j), &x, &p);
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
static uint32_t decode_symbol(const ff_entropy_table *t, const uint16_t *f, uint32_t r, uint32_t *x)
{
	uint32_t mask = (1u << t->prec) - 1, slot = *x & mask, start = 0, s = 0;
	while (s + 1u < r && start + f[s] <= slot)
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
		uint32_t v = 0;
		for (uint32_t j = 0; j < t->ndig; j++) {
			v += decode_symbol(t, row(t, idx, i, j), t->radix[j], &x) * t->base[j];
			while (x < RANS_L) {
				if (pos >= len)
					return FF_ERR_FORMAT; /* truncated */
				x = (x << 8) | in[pos++];
			}
		}
		idx[i] = (uint16_t)v; /* < K: the radices multiply to K */
	}
	/* every byte used, back in a start state of this table: the stream, whole */
	return pos == len && read_tail(t, &tl, x, idx) ? FF_OK : FF_ERR_FORMAT;
}
