/* unit_entropy: static-table rANS coding of code indices (facefleet/entropy.h):
 * round trips (random, real vq2 faces, worst case, all-same, every symbol),
 * corrupt and truncated streams, and table files with every kind of error. */
#include "ff_test.h"

#include "facefleet/entropy.h"
#include "facefleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HDR 64

static uint32_t rng_state = 2463534242u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A table file as fit_entropy.py writes it: skewed random frequencies
 * (symbol 0 likeliest) >= 1 summing to 2^prec per context. */
typedef struct tfile {
	uint8_t *b;
	size_t len;
} tfile;

static size_t n_contexts(int kind, uint32_t n, uint32_t k)
{
	return kind == FF_ENTROPY_CTX_SINGLE ? 1 : kind == FF_ENTROPY_CTX_POSITION ? n : (k + 1) * (k + 1);
}

static void refresh_crc(tfile *t)
{
	wr32(t->b + 60, (uint32_t)crc32_z(0L, t->b + HDR, t->len - HDR));
}

/* nrows rows of k skewed random frequencies at p. */
static void fill_rows(uint8_t *p, size_t nrows, uint32_t k, int prec)
{
	for (size_t c = 0; c < nrows; c++) {
		uint32_t left = 1u << prec;
		uint8_t *row = p + 2 * c * k;
		for (uint32_t s = k; s-- > 1;) { /* each takes a share of what is left */
			uint32_t f = 1 + rng() % (left / (s + 1) > 1 ? left / (s + 1) : 1);
			wr16(row + 2 * s, (uint16_t)f);
			left -= f;
		}
		wr16(row, (uint16_t)left);
	}
}

static tfile new_file(int kind, uint32_t gh, uint32_t gw, uint32_t cpc, uint32_t k, int prec,
		      size_t nrows, size_t body)
{
	tfile t = { calloc(1, HDR + body), HDR + body };
	memcpy(t.b, "FFEC", 4);
	t.b[4] = kind == FF_ENTROPY_CTX_DIGITS ? 2 : 1;
	t.b[6] = (uint8_t)kind;
	t.b[7] = (uint8_t)prec;
	memcpy(t.b + 8, "vqt", 3);
	wr32(t.b + 40, gh);
	wr32(t.b + 44, gw);
	wr32(t.b + 48, cpc);
	wr32(t.b + 52, k);
	wr32(t.b + 56, (uint32_t)nrows);
	return t;
}

static tfile make_table(int kind, uint32_t gh, uint32_t gw, uint32_t cpc, uint32_t k, int prec)
{
	size_t nctx = n_contexts(kind, gh * gw * cpc, k);
	tfile t = new_file(kind, gh, gw, cpc, k, prec, nctx, 2 * nctx * k);
	fill_rows(t.b + HDR, nctx, k, prec);
	refresh_crc(&t);
	return t;
}

/* Kind 3: the digit block, then per digit (position, left, up) rows. */
static tfile make_digit_table(uint32_t gh, uint32_t gw, uint32_t cpc, const uint8_t *radix,
			      unsigned nd, int prec)
{
	size_t n = gh * gw * cpc, rows = 0, freqs = 0, at = HDR + 8;
	uint32_t k = 1;
	for (unsigned j = 0; j < nd; j++) {
		rows += n * (radix[j] + 1u) * (radix[j] + 1u);
		freqs += n * (radix[j] + 1u) * (radix[j] + 1u) * radix[j];
		k *= radix[j];
	}
	tfile t = new_file(FF_ENTROPY_CTX_DIGITS, gh, gw, cpc, k, prec, rows, 8 + 2 * freqs);
	t.b[HDR] = (uint8_t)nd;
	memcpy(t.b + HDR + 1, radix, nd);
	for (unsigned j = 0; j < nd; j++) {
		size_t r = n * (radix[j] + 1u) * (radix[j] + 1u);
		fill_rows(t.b + at, r, radix[j], prec);
		at += 2 * r * radix[j];
	}
	refresh_crc(&t);
	return t;
}

static ff_entropy_table *parse(const tfile *t)
{
	ff_entropy_table *tab = NULL;
	char why[128] = "";
	int rc = ff_entropy_table_parse(t->b, t->len, &tab, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, FF_OK);
	if (rc != FF_OK)
		fprintf(stderr, "parse: %s\n", why);
	return tab;
}

/* Codes and decodes idx; returns the stream length (0 on failure). */
static size_t roundtrip(const ff_entropy_table *t, const uint16_t *idx, size_t n)
{
	uint8_t buf[4096];
	uint16_t back[FF_VQ_MAX_CODES];
	size_t len = 0;
	if (ff_entropy_encode(t, idx, n, buf, sizeof(buf), &len) != FF_OK)
		return 0;
	CU_ASSERT_EQUAL_FATAL(ff_entropy_decode(t, buf, len, back, n), FF_OK);
	CU_ASSERT_EQUAL(memcmp(back, idx, n * sizeof(idx[0])), 0);
	return len;
}

static void test_roundtrip_random(void)
{
	static const struct { int kind; uint32_t gh, gw, cpc, k; int prec; } cfg[] = {
		{ FF_ENTROPY_CTX_LEFT_UP, 14, 14, 1, 32, 14 },
		{ FF_ENTROPY_CTX_LEFT_UP, 8, 8, 2, 16, 12 },
		{ FF_ENTROPY_CTX_POSITION, 8, 8, 1, 512, 15 },
		{ FF_ENTROPY_CTX_SINGLE, 32, 32, 1, 1024, 10 },
		{ FF_ENTROPY_CTX_SINGLE, 1, 1, 1, 2, 10 },
	};
	uint16_t idx[FF_VQ_MAX_CODES];
	for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		tfile tf = make_table(cfg[c].kind, cfg[c].gh, cfg[c].gw, cfg[c].cpc, cfg[c].k,
				      cfg[c].prec);
		ff_entropy_table *t = parse(&tf);
		size_t n = cfg[c].gh * cfg[c].gw * cfg[c].cpc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT_EQUAL(ff_entropy_table_num_codes(t), n);
		for (int rep = 0; rep < 50; rep++) {
			for (size_t i = 0; i < n; i++) /* half uniform, half mostly small indices */
				idx[i] = (uint16_t)(rep & 1 ? rng() % cfg[c].k : rng() % 3 % cfg[c].k);
			CU_ASSERT(roundtrip(t, idx, n) >= 4);
		}
		ff_entropy_table_free(t);
		free(tf.b);
	}
}

/* Kind 3, digit by digit: vq5's lattice (7 x 7 x 3 = 147 on 14 x 14), one
 * of 4 digits with cpc 2, one digit (a plain index): every index round
 * trips, and a face of likely digits codes shorter than one of random ones. */
static void test_roundtrip_digits(void)
{
	static const struct { uint32_t gh, gw, cpc; uint8_t radix[4]; unsigned nd; int prec; } cfg[] = {
		{ 14, 14, 1, { 7, 7, 3 }, 3, 14 },
		{ 6, 6, 2, { 2, 3, 4, 5 }, 4, 12 },
		{ 5, 4, 1, { 12 }, 1, 15 },
	};
	uint16_t idx[FF_VQ_MAX_CODES];
	for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		tfile tf = make_digit_table(cfg[c].gh, cfg[c].gw, cfg[c].cpc, cfg[c].radix, cfg[c].nd,
					    cfg[c].prec);
		ff_entropy_table *t = parse(&tf);
		size_t n = cfg[c].gh * cfg[c].gw * cfg[c].cpc, likely = 0, random = 0;
		uint32_t k = 1;
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		for (unsigned j = 0; j < cfg[c].nd; j++)
			k *= cfg[c].radix[j];
		for (int rep = 0; rep < 40; rep++) {
			for (size_t i = 0; i < n; i++) /* digit 0 of each: the likeliest */
				idx[i] = (uint16_t)(rep & 1 ? rng() % k : 0);
			size_t len = roundtrip(t, idx, n);
			CU_ASSERT(len >= 4);
			*(rep & 1 ? &random : &likely) += len;
		}
		CU_ASSERT(likely < random);
		for (uint32_t s = 0; s < k; s++) { /* every index, everywhere */
			for (size_t i = 0; i < n; i++)
				idx[i] = (uint16_t)((s + i) % k);
			CU_ASSERT(roundtrip(t, idx, n) > 0);
		}
		ff_entropy_table_free(t);
		free(tf.b);
	}
}

/* The committed vq2 tables on the 14 golden faces' codes (what the C encoder
 * gives for tests/data/faces): round trip, and shorter than 123 raw bytes. */
static void test_real_faces(void)
{
	const char *src = getenv("FF_SOURCE_DIR");
	ff_vq_info vi = { "vq2", 14, 14, 1, 0, 32, 5, 196, 1 };
	ff_entropy_table *t = NULL;
	char path[4096], why[256] = "", name[256];
	uint16_t idx[196];
	size_t faces = 0, total = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	snprintf(path, sizeof(path), "%s/models/vq/vq2.dec.ffn", src);
	CU_ASSERT_EQUAL_FATAL(ff_entropy_table_open(path, &vi, &t, why, sizeof(why)), FF_OK);
	snprintf(path, sizeof(path), "%s/models/vq/golden/vq2/golden.txt", src);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fscanf(f, "%255s", name) == 1) {
		int ok = 1;
		if (strchr(name, '/') == NULL) { /* a key line: "recon_stride 8" */
			ok = fscanf(f, "%*s") == 0;
			continue;
		}
		for (int i = 0; i < 196 && ok; i++) {
			unsigned v;
			ok = fscanf(f, "%u", &v) == 1 && v < 32;
			idx[i] = (uint16_t)v;
		}
		CU_ASSERT_FATAL(ok);
		size_t len = roundtrip(t, idx, 196);
		CU_ASSERT(len > 0 && len < 123);
		total += len;
		faces++;
	}
	fclose(f);
	CU_ASSERT_EQUAL(faces, 14);
	printf("\n  vq2 golden faces: %zu, %.1f coded bytes per face (raw 123)\n", faces,
	       faces ? (double)total / (double)faces : 0.0);
	ff_entropy_table_free(t);
}

/* The least likely index in every context: the longest stream, still
 * decodable; and too long for a small cap (FF_ERR_RANGE, the raw fallback). */
static void test_worst_case(void)
{
	tfile tf = make_table(FF_ENTROPY_CTX_LEFT_UP, 14, 14, 1, 32, 14);
	ff_entropy_table *t = parse(&tf);
	uint16_t idx[196];
	uint8_t buf[512];
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (size_t i = 0; i < 196; i++) { /* least frequent in its (left, up) context */
		uint32_t left = i % 14 ? idx[i - 1] : 32, up = i >= 14 ? idx[i - 14] : 32;
		const uint8_t *row = tf.b + HDR + 2 * ((left * 33 + up) * 32);
		uint16_t best = 0;
		for (uint16_t s = 1; s < 32; s++)
			if (rd16(row + 2 * s) < rd16(row + 2 * best))
				best = s;
		idx[i] = best;
	}
	len = roundtrip(t, idx, 196);
	CU_ASSERT(len > 123 && len <= 2 * 196 + 4);
	CU_ASSERT_EQUAL(ff_entropy_encode(t, idx, 196, buf, 122, &len), FF_ERR_RANGE);
	ff_entropy_table_free(t);
	free(tf.b);
}

static void test_all_same_and_every_symbol(void)
{
	tfile tf = make_table(FF_ENTROPY_CTX_LEFT_UP, 14, 14, 1, 32, 14);
	ff_entropy_table *t = parse(&tf);
	uint16_t idx[196];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (uint16_t s = 0; s < 32; s++) {
		for (size_t i = 0; i < 196; i++)
			idx[i] = s;
		CU_ASSERT(roundtrip(t, idx, 196) > 0);
	}
	for (size_t i = 0; i < 196; i++)
		idx[i] = (uint16_t)(i % 32);
	CU_ASSERT(roundtrip(t, idx, 196) > 0);
	idx[7] = 32; /* out of the codebook */
	uint8_t buf[512];
	size_t len;
	CU_ASSERT_EQUAL(ff_entropy_encode(t, idx, 196, buf, sizeof(buf), &len), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_entropy_encode(t, idx, 195, buf, sizeof(buf), &len), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_entropy_decode(t, buf, 8, idx, 197), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_entropy_encode(NULL, idx, 196, buf, sizeof(buf), &len), FF_ERR_INVAL);
	ff_entropy_table_free(t);
	free(tf.b);
}

/* Every truncation, one byte more, every single bit flipped, another
 * table's stream: FF_ERR_FORMAT, never a crash or a read past the end
 * (ASan build). */
static void test_corrupt_streams(void)
{
	tfile tf = make_table(FF_ENTROPY_CTX_LEFT_UP, 14, 14, 1, 32, 14);
	tfile other = make_table(FF_ENTROPY_CTX_LEFT_UP, 14, 14, 1, 32, 14);
	ff_entropy_table *t = parse(&tf), *o = parse(&other);
	uint16_t idx[196], back[196];
	uint8_t buf[600], *cut;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	for (size_t i = 0; i < 196; i++)
		idx[i] = (uint16_t)(rng() % 4);
	CU_ASSERT_EQUAL_FATAL(ff_entropy_encode(t, idx, 196, buf, sizeof(buf) - 1, &len), FF_OK);
	for (size_t l = 0; l < len; l++) { /* exact-size copies: ASan sees any overread */
		cut = malloc(l ? l : 1);
		memcpy(cut, buf, l);
		CU_ASSERT_EQUAL(ff_entropy_decode(t, cut, l, back, 196), FF_ERR_FORMAT);
		free(cut);
	}
	buf[len] = 0;
	CU_ASSERT_EQUAL(ff_entropy_decode(t, buf, len + 1, back, 196), FF_ERR_FORMAT);
	/* a flipped bit never gives back the same face (the coding is a
	 * bijection); the start state's check (3 CRC bits, the state's range,
	 * every byte used) refuses nearly all: a flip that only nudges the
	 * state may pass it with other tail indices, as a packed face would */
	size_t refused = 0;
	for (size_t bit = 0; bit < 8 * len; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = ff_entropy_decode(t, buf, len, back, 196);
		CU_ASSERT(rc == FF_ERR_FORMAT || (rc == FF_OK && memcmp(back, idx, sizeof(idx)) != 0));
		refused += rc == FF_ERR_FORMAT;
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CU_ASSERT(refused * 100 >= 95 * 8 * len);
	CU_ASSERT_EQUAL(ff_entropy_decode(o, buf, len, back, 196), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_entropy_decode(t, buf, len, back, 196), FF_OK);
	memset(buf, 0, 8); /* a start state below 2^23 */
	CU_ASSERT_EQUAL(ff_entropy_decode(t, buf, len, back, 196), FF_ERR_FORMAT);
	memset(buf, 0xff, 8); /* one above 2^31 */
	CU_ASSERT_EQUAL(ff_entropy_decode(t, buf, len, back, 196), FF_ERR_FORMAT);
	ff_entropy_table_free(t);
	ff_entropy_table_free(o);
	free(tf.b);
	free(other.b);
}

/* A broken table file: FF_ERR_FORMAT with a reason, nothing returned. */
static void expect_bad(tfile *t, int fix_crc, const char *what)
{
	ff_entropy_table *tab = NULL;
	char why[128] = "";
	if (fix_crc)
		refresh_crc(t);
	int rc = ff_entropy_table_parse(t->b, t->len, &tab, why, sizeof(why));
	if (rc != FF_ERR_FORMAT)
		fprintf(stderr, "table with %s: rc %d\n", what, rc);
	CU_ASSERT_EQUAL(rc, FF_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(tab);
	CU_ASSERT(why[0] != '\0');
}

static void test_bad_tables(void)
{
	tfile t = make_table(FF_ENTROPY_CTX_LEFT_UP, 4, 4, 1, 8, 12);
	tfile c = { malloc(t.len), t.len };
	struct { size_t off; uint8_t val; int fix_crc; const char *what; } bad[] = {
		{ 0, 'X', 0, "bad magic" },          { 4, 2, 0, "version 2" },
		{ 6, 1, 0, "kind position" },        { 6, 9, 0, "unknown kind" },
		{ 7, 9, 0, "precision 9" },          { 7, 16, 0, "precision 16" },
		{ 8, 0, 0, "empty model id" },       { 52, 9, 0, "K 9" },
		{ 52, 1, 0, "K 1" },                 { 40, 0, 0, "grid 0" },
		{ 56, 80, 0, "context count" },      { 60, 0x5a, 0, "CRC" },
		{ HDR + 5, 0x33, 0, "data, old CRC" }, { HDR + 1, 0x7f, 1, "row sum" },
	};
	ff_entropy_table *tab = NULL;
	char why[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c.b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(c.b, t.b, t.len);
		c.b[bad[i].off] = bad[i].val;
		expect_bad(&c, bad[i].fix_crc, bad[i].what);
	}
	memcpy(c.b, t.b, t.len); /* a frequency of 0, its row still summing right */
	wr16(c.b + HDR, (uint16_t)(rd16(c.b + HDR) + rd16(c.b + HDR + 2)));
	wr16(c.b + HDR + 2, 0);
	expect_bad(&c, 1, "zero frequency");
	memcpy(c.b, t.b, t.len);
	memset(c.b + 8, 'a', 32); /* model id without its NUL */
	expect_bad(&c, 0, "model id of 32 bytes");
	for (size_t l = 0; l < t.len; l += 7) { /* every truncation refused */
		memcpy(c.b, t.b, t.len);
		CU_ASSERT_EQUAL(ff_entropy_table_parse(c.b, l, &tab, why, sizeof(why)), FF_ERR_FORMAT);
	}
	/* fuzz_entropy's find (regress/entropy/unknown-kind-no-tables): an
	 * unknown kind with 0 contexts and no tables once parsed, and coding
	 * read past the empty tables */
	memcpy(c.b, t.b, HDR);
	c.b[6] = 0x3d;
	wr32(c.b + 56, 0);
	c.len = HDR;
	expect_bad(&c, 1, "unknown kind, no tables");
	c.len = t.len;
	CU_ASSERT_EQUAL(ff_entropy_table_parse(NULL, 0, &tab, why, sizeof(why)), FF_ERR_INVAL);
	free(c.b);
	free(t.b);
}

/* Kind 3's own refusals: the digit block and the version that says it. */
static void test_bad_digit_tables(void)
{
	static const uint8_t radix[3] = { 3, 2, 4 };
	tfile t = make_digit_table(3, 3, 1, radix, 3, 12);
	tfile c = { malloc(t.len), t.len };
	struct { size_t off; uint8_t val; int fix_crc; const char *what; } bad[] = {
		{ 4, 1, 0, "version 1" },            { HDR, 0, 1, "no digits" },
		{ HDR, 5, 1, "5 digits" },            { HDR, 2, 1, "2 digits (K 6)" },
		{ HDR + 1, 1, 1, "radix 1" },         { HDR + 2, 3, 1, "radices multiply to 36" },
		{ HDR + 4, 2, 1, "radix past the digits" }, { 56, 1, 0, "row count" },
		{ HDR + 9, 0x7f, 1, "row sum" },      { 6, 2, 0, "kind 2 with version 2" },
	};
	ff_entropy_table *good = parse(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.b);
	CU_ASSERT_PTR_NOT_NULL(good);
	ff_entropy_table_free(good);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(c.b, t.b, t.len);
		c.b[bad[i].off] = bad[i].val;
		expect_bad(&c, bad[i].fix_crc, bad[i].what);
	}
	for (size_t l = 0; l < t.len; l += 5) { /* every truncation, the digit block's too */
		ff_entropy_table *tab = NULL;
		char why[128];
		CU_ASSERT_EQUAL(ff_entropy_table_parse(t.b, l, &tab, why, sizeof(why)), FF_ERR_FORMAT);
	}
	free(c.b);
	free(t.b);
}

/* The file next to a model; missing (raw only), and made for another model. */
static void test_open(void)
{
	const char *src = getenv("FF_SOURCE_DIR");
	ff_vq_info vi = { "vq2", 14, 14, 1, 0, 32, 5, 196, 1 };
	ff_entropy_table *t = NULL;
	char path[4096], out[4096], why[512] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	CU_ASSERT_EQUAL(ff_entropy_table_path("a/vq2.enc.ffn", out, sizeof(out)), FF_OK);
	CU_ASSERT_STRING_EQUAL(out, "a/vq2.codes.ent");
	CU_ASSERT_EQUAL(ff_entropy_table_path("a/vq2.dec.ffn", out, sizeof(out)), FF_OK);
	CU_ASSERT_STRING_EQUAL(out, "a/vq2.codes.ent");
	CU_ASSERT_EQUAL(ff_entropy_table_path("a/vq2.ffn", out, sizeof(out)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_entropy_table_path(".enc.ffn", out, sizeof(out)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_entropy_table_path("a/vq2.enc.ffn", out, 8), FF_ERR_RANGE);
	snprintf(path, sizeof(path), "%s/models/vq/vq2.enc.ffn", src);
	CU_ASSERT_EQUAL_FATAL(ff_entropy_table_open(path, &vi, &t, why, sizeof(why)), FF_OK);
	CU_ASSERT_STRING_EQUAL(ff_entropy_table_model_id(t), "vq2");
	CU_ASSERT(ff_entropy_table_size(t) <= 80 * 1024);
	ff_entropy_table_free(t);
	t = NULL;
	snprintf(vi.model_id, sizeof(vi.model_id), "vq9");
	CU_ASSERT_EQUAL(ff_entropy_table_open(path, &vi, &t, why, sizeof(why)), FF_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another model"));
	snprintf(vi.model_id, sizeof(vi.model_id), "vq2");
	vi.codebook_size = 64;
	CU_ASSERT_EQUAL(ff_entropy_table_open(path, &vi, &t, why, sizeof(why)), FF_ERR_FORMAT);
	snprintf(path, sizeof(path), "%s/models/vq/nosuch.enc.ffn", src);
	CU_ASSERT_EQUAL(ff_entropy_table_open(path, &vi, &t, why, sizeof(why)), FF_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(t);
}

static CU_TestInfo entropy_tests[] = {
	{ "roundtrip_random", test_roundtrip_random },
	{ "roundtrip_digits", test_roundtrip_digits },
	{ "real_faces", test_real_faces },
	{ "worst_case", test_worst_case },
	{ "all_same_and_every_symbol", test_all_same_and_every_symbol },
	{ "corrupt_streams", test_corrupt_streams },
	{ "bad_tables", test_bad_tables },
	{ "bad_digit_tables", test_bad_digit_tables },
	{ "open", test_open },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "entropy", NULL, NULL, NULL, NULL, entropy_tests });
