/* fuzz_entropy: the rANS decoder and the table parser (facefleet/entropy.h)
 * on untrusted bytes. First byte even: the rest is a coded face (what a
 * device sends in FaceCodes.codes_ans) decoded with the committed vq2 tables;
 * one that decodes must code back to exactly the same bytes (rANS is a
 * bijection between whole streams and index sequences). First byte odd: the
 * rest is a table file; one that parses must round-trip a face derived from
 * its own bytes. Seeds: corpus/entropy. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/file.h"

#ifndef FF_FUZZ_SOURCE_DIR
#define FF_FUZZ_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ff_entropy_table *g_vq2;

static ff_entropy_table *vq2_tables(void)
{
	const char *src = getenv("FF_SOURCE_DIR");
	char path[4096], why[256] = "";
	char *buf = NULL;
	size_t len = 0;

	if (g_vq2)
		return g_vq2;
	snprintf(path, sizeof(path), "%s/models/vq/vq2" FF_ENTROPY_SUFFIX,
		 src ? src : FF_FUZZ_SOURCE_DIR);
	if (ff_file_read(path, 1u << 20, &buf, &len, why, sizeof(why)) != FF_OK ||
	    ff_entropy_table_parse((const uint8_t *)buf, len, &g_vq2, why, sizeof(why)) != FF_OK) {
		fprintf(stderr, "fuzz_entropy: %s: %s\n", path, why);
		abort();
	}
	free(buf);
	return g_vq2;
}

/* Decodes; what decodes codes back to the same stream. */
static void fuzz_stream(const ff_entropy_table *t, const uint8_t *in, size_t len)
{
	uint16_t idx[FF_VQ_MAX_CODES];
	uint8_t again[FF_ENTROPY_MAX_STREAM];
	size_t n = ff_entropy_table_num_codes(t), m = 0;

	if (ff_entropy_decode(t, in, len, idx, n) != FF_OK)
		return;
	if (ff_entropy_encode(t, idx, n, again, sizeof(again), &m) != FF_OK || m != len ||
	    memcmp(again, in, len) != 0)
		abort();
}

/* A table that parses codes and decodes a face made of its own bytes. */
static void fuzz_table(const uint8_t *in, size_t len)
{
	ff_entropy_table *t = NULL;
	uint16_t idx[FF_VQ_MAX_CODES], back[FF_VQ_MAX_CODES];
	uint8_t buf[FF_ENTROPY_MAX_STREAM];
	size_t n, m = 0;
	char why[128];

	if (ff_entropy_table_parse(in, len, &t, why, sizeof(why)) != FF_OK)
		return;
	n = ff_entropy_table_num_codes(t);
	for (size_t i = 0; i < n; i++) /* indices 0..K-1 from the file's own bytes */
		idx[i] = (uint16_t)(in[i % len] % 2);
	if (ff_entropy_encode(t, idx, n, buf, sizeof(buf), &m) != FF_OK ||
	    ff_entropy_decode(t, buf, m, back, n) != FF_OK || memcmp(idx, back, n * 2) != 0)
		abort();
	fuzz_stream(t, in, len);
	ff_entropy_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_table(data + 1, size - 1);
	else
		fuzz_stream(vq2_tables(), data + 1, size - 1);
	return 0;
}
