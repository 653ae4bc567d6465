/* make_entropy_seeds: writes the seed corpus of fuzz_entropy into the folder
 * given (tests/fuzz/corpus/entropy): the committed vq2 golden faces' codes
 * rANS-coded with models/vq/vq2.codes.ent (first byte 0), one cut short,
 * one with a flipped bit, one with a byte added, and two small table files
 * (first byte 1): (left, up) contexts, and digits (kind 3).
 * Run: build/tests/fuzz/make-entropy-seeds tests/fuzz/corpus/entropy */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "seed_put.h"


/* 2x2 cells, K = 2, precision 10, every row 1:1: header fields v, then
 * the body from `at` (kind 3: after its digit block) to len. */
static void put_table(const char *dir, const char *name, uint8_t kind, const uint32_t v[6],
		      uint8_t *b, size_t at, size_t len)
{
	memcpy(b, "FFEC", 4);
	b[4] = kind == FF_ENTROPY_CTX_DIGITS ? 2 : 1;
	b[6] = kind;
	b[7] = 10;
	memcpy(b + 8, "tiny", 4);
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < 4; k++)
			b[40 + 4 * i + k] = (uint8_t)(v[i] >> (8 * k));
	for (size_t i = at; i < len; i += 2)
		b[i + 1] = 2; /* 512 of 1024 */
	uint32_t crc = (uint32_t)crc32_z(0L, b + 64, len - 64);
	for (int k = 0; k < 4; k++)
		b[60 + k] = (uint8_t)(crc >> (8 * k));
	seed_put(dir, name, 1, b, len);
}

static void put_small_tables(const char *dir)
{
	uint8_t lu[64 + 9 * 2 * 2] = { 0 }, dg[64 + 8 + 4 * 9 * 2 * 2] = { 0 };
	const uint32_t v_lu[6] = { 2, 2, 1, 2, 9, 0 }, v_dg[6] = { 2, 2, 1, 2, 4 * 9, 0 };
	put_table(dir, "table-small", FF_ENTROPY_CTX_LEFT_UP, v_lu, lu, 64, sizeof(lu));
	dg[64] = 1; /* one digit of radix 2: 4 positions x 9 (left, up) rows */
	dg[65] = 2;
	put_table(dir, "table-digits", FF_ENTROPY_CTX_DIGITS, v_dg, dg, 72, sizeof(dg));
}

int main(int argc, char **argv)
{
	const char *src = getenv("FF_SOURCE_DIR");
	ff_vq_info vi = { "vq2", 14, 14, 1, 0, 32, 5, 196, 1 };
	ff_entropy_table *t = NULL;
	char path[4096], why[256] = "", name[256];
	uint16_t idx[196];
	uint8_t s[600];
	size_t len = 0;
	int faces = 0;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: make-entropy-seeds DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/models/vq/vq2.enc.ffn", src ? src : FF_FUZZ_SOURCE_DIR);
	if (ff_entropy_table_open(path, &vi, &t, why, sizeof(why)) != FF_OK) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/models/vq/golden/vq2/golden.txt",
		 src ? src : FF_FUZZ_SOURCE_DIR);
	if (!(f = fopen(path, "r"))) {
		perror(path);
		return 1;
	}
	while (faces < 3 && fscanf(f, "%255s", name) == 1) {
		unsigned u;
		if (!strchr(name, '/')) { /* "recon_stride 8" */
			if (fscanf(f, "%u", &u) != 1)
				break;
			continue;
		}
		for (int i = 0; i < 196; i++)
			idx[i] = (uint16_t)(fscanf(f, "%u", &u) == 1 && u < 32 ? u : 0);
		if (ff_entropy_encode(t, idx, 196, s, sizeof(s) - 1, &len) != FF_OK)
			return 1;
		snprintf(name, sizeof(name), "face-%d", faces++);
		seed_put(argv[1], name, 0, s, len);
	}
	fclose(f);
	seed_put(argv[1], "cut", 0, s, len - 3);
	s[len] = 0x5a;
	seed_put(argv[1], "trailing", 0, s, len + 1);
	s[len / 2] ^= 4;
	seed_put(argv[1], "flip", 0, s, len);
	put_small_tables(argv[1]);
	printf("make-entropy-seeds: %d coded faces, two small tables into %s\n", faces, argv[1]);
	ff_entropy_table_free(t);
	return 0;
}
