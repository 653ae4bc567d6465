/* unit_bitpack: LSB-first packing of code indices (facefleet/bitpack.h). */
#include "ff_test.h"

#include "facefleet/bitpack.h"
#include "facefleet/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 12345u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_sizes(void)
{
	CU_ASSERT_EQUAL(ff_bitpack_size(0, 9), 0);
	CU_ASSERT_EQUAL(ff_bitpack_size(1, 1), 1);
	CU_ASSERT_EQUAL(ff_bitpack_size(8, 1), 1);
	CU_ASSERT_EQUAL(ff_bitpack_size(9, 1), 2);
	CU_ASSERT_EQUAL(ff_bitpack_size(64, 9), 72);
	CU_ASSERT_EQUAL(ff_bitpack_size(196, 9), 221);
	CU_ASSERT_EQUAL(ff_bitpack_size(64, 16), 128);
	CU_ASSERT_EQUAL(ff_bitpack_size(3, 0), 0);
	CU_ASSERT_EQUAL(ff_bitpack_size(3, 17), 0);
	CU_ASSERT_EQUAL(ff_bitpack_size(SIZE_MAX / 2, 16), 0); /* overflow */

	CU_ASSERT_EQUAL(ff_bitpack_bits_for(1), 1);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(2), 1);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(3), 2);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(256), 8);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(257), 9);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(512), 9);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(65536), 16);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(65537), 0);
	CU_ASSERT_EQUAL(ff_bitpack_bits_for(0), 0);
}

/* The layout is the wire format: pin it with hand-computed bytes. */
static void test_known_layout(void)
{
	uint8_t out[8];
	const uint16_t a[] = { 1, 2, 3 };          /* 3 bits: 001 010 011 -> LSB first */
	const uint16_t b[] = { 0x1ff, 0x000, 0x155 }; /* 9 bits */
	const uint16_t c[] = { 0xabcd, 0x1234 };   /* 16 bits: little-endian */

	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(ff_bitpack_pack(a, 3, 3, 8, out, sizeof(out)), FF_OK);
	/* bits 0-2 = 1, 3-5 = 2, 6-8 = 3: byte0 = 1 | 2<<3 | (3&3)<<6 = 0xd1, byte1 = 3>>2 = 0 */
	CU_ASSERT_EQUAL(out[0], 0xd1);
	CU_ASSERT_EQUAL(out[1], 0x00);
	CU_ASSERT_EQUAL(out[2], 0xee); /* exactly ff_bitpack_size bytes written */

	CU_ASSERT_EQUAL(ff_bitpack_pack(b, 3, 9, 512, out, sizeof(out)), FF_OK);
	/* 27 bits: 0x1ff | 0<<9 | 0x155<<18 */
	CU_ASSERT_EQUAL(out[0], 0xff);
	CU_ASSERT_EQUAL(out[1], 0x01);
	CU_ASSERT_EQUAL(out[2], 0x54);
	CU_ASSERT_EQUAL(out[3], 0x05);

	CU_ASSERT_EQUAL(ff_bitpack_pack(c, 2, 16, 65536, out, sizeof(out)), FF_OK);
	CU_ASSERT_EQUAL(out[0], 0xcd);
	CU_ASSERT_EQUAL(out[1], 0xab);
	CU_ASSERT_EQUAL(out[2], 0x34);
	CU_ASSERT_EQUAL(out[3], 0x12);
}

/* Every B in 1..16, every n in 0..70, random and extreme values. */
static void test_roundtrip_all_bits(void)
{
	enum { MAXN = 70 };
	uint16_t in[MAXN], back[MAXN];
	uint8_t buf[MAXN * 2 + 1];

	for (unsigned bits = 1; bits <= 16; bits++) {
		uint32_t k = 1u << bits;
		for (size_t n = 0; n <= MAXN; n++) {
			size_t sz = ff_bitpack_size(n, bits);
			for (int pattern = 0; pattern < 3; pattern++) {
				for (size_t i = 0; i < n; i++)
					in[i] = pattern == 0   ? (uint16_t)(rng() % k)
						: pattern == 1 ? (uint16_t)(k - 1)
							       : (uint16_t)(i % k);
				memset(back, 0xa5, sizeof(back));
				if (ff_bitpack_pack(in, n, bits, k, buf, sizeof(buf)) != FF_OK ||
				    ff_bitpack_unpack(buf, sz, n, bits, k, back) != FF_OK ||
				    (n && memcmp(in, back, n * sizeof(in[0])) != 0)) {
					CU_FAIL("round trip mismatch");
					fprintf(stderr, "bits=%u n=%zu pattern=%d\n", bits, n, pattern);
					return;
				}
			}
		}
	}
	CU_PASS("all widths round-trip");
}

/* Exhaustive: every value of every width, placed between neighbours that
 * exercise the surrounding bits (its complement before, all-ones after). */
static void test_exhaustive_values(void)
{
	uint16_t in[3], back[3];
	uint8_t buf[8];
	for (unsigned bits = 1; bits <= 16; bits++) {
		uint32_t k = 1u << bits;
		for (uint32_t v = 0; v < k; v++) {
			in[0] = (uint16_t)(k - 1 - v);
			in[1] = (uint16_t)v;
			in[2] = (uint16_t)(k - 1);
			if (ff_bitpack_pack(in, 3, bits, k, buf, sizeof(buf)) != FF_OK ||
			    ff_bitpack_unpack(buf, ff_bitpack_size(3, bits), 3, bits, k, back) != FF_OK ||
			    memcmp(in, back, sizeof(in)) != 0) {
				CU_FAIL("exhaustive mismatch");
				fprintf(stderr, "bits=%u v=%u\n", bits, v);
				return;
			}
		}
	}
	CU_PASS("every value of every width");
}

static void test_index_out_of_codebook(void)
{
	uint16_t in[4] = { 0, 511, 100, 7 };
	uint16_t back[4];
	uint8_t buf[8];

	/* K = 500 with 9 bits: 511 is not a valid index */
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 4, 9, 500, buf, sizeof(buf)), FF_ERR_RANGE);
	/* pack with K = 512, then unpack claiming K = 500: decoded 511 is rejected */
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 4, 9, 512, buf, sizeof(buf)), FF_OK);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 5, 4, 9, 500, back), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 5, 4, 9, 512, back), FF_OK);
	CU_ASSERT_EQUAL(back[1], 511);
}

static void test_wrong_sizes(void)
{
	uint16_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 0 };
	uint16_t back[8];
	uint8_t buf[16] = { 0 };

	/* 8 indices of 3 bits = 3 bytes */
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 8, 3, 8, buf, 2), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 8, 3, 8, buf, 3), FF_OK);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 2, 8, 3, 8, back), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 4, 8, 3, 8, back), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 3, 8, 3, 8, back), FF_OK);
	CU_ASSERT_EQUAL(memcmp(in, back, sizeof(in)), 0);

	/* 7 indices of 3 bits = 21 bits: the top 3 bits of byte 2 are padding */
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 7, 3, 8, buf, sizeof(buf)), FF_OK);
	CU_ASSERT_EQUAL(buf[2] & 0xe0, 0);
	buf[2] |= 0x80;
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 3, 7, 3, 8, back), FF_ERR_FORMAT);
}

static void test_bad_params(void)
{
	uint16_t in[2] = { 0, 1 };
	uint16_t back[2];
	uint8_t buf[8] = { 0 };
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 2, 0, 1, buf, sizeof(buf)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 2, 17, 2, buf, sizeof(buf)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 2, 4, 0, buf, sizeof(buf)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_pack(in, 2, 4, 17, buf, sizeof(buf)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_pack(NULL, 2, 4, 16, buf, sizeof(buf)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 1, 2, 4, 32, back), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(NULL, 1, 2, 4, 16, back), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(buf, 1, 2, 4, 16, NULL), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_bitpack_pack(NULL, 0, 4, 16, NULL, 0), FF_OK);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(NULL, 0, 0, 4, 16, NULL), FF_OK);
}

static CU_TestInfo bitpack_tests[] = {
	{ "sizes", test_sizes },
	{ "known_layout", test_known_layout },
	{ "roundtrip_all_bits", test_roundtrip_all_bits },
	{ "exhaustive_values", test_exhaustive_values },
	{ "index_out_of_codebook", test_index_out_of_codebook },
	{ "wrong_sizes", test_wrong_sizes },
	{ "bad_params", test_bad_params },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "bitpack", NULL, NULL, NULL, NULL, bitpack_tests });
