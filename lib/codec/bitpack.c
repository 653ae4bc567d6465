/* LSB-first bit packing of code indices (facefleet/bitpack.h). */
#include "facefleet/bitpack.h"
#include "facefleet/error.h"

#include <string.h>

size_t ff_bitpack_size(size_t n, unsigned bits)
{
	if (bits < 1 || bits > FF_BITPACK_MAX_BITS)
		return 0;
	if (n > (SIZE_MAX - 7) / bits)
		return 0;
	return (n * bits + 7) / 8;
}

unsigned ff_bitpack_bits_for(uint32_t codebook_size)
{
	unsigned bits = 1;
	if (codebook_size == 0 || codebook_size > (1u << FF_BITPACK_MAX_BITS))
		return 0;
	while ((1u << bits) < codebook_size)
		bits++;
	return bits;
}

static int check_params(unsigned bits, uint32_t codebook_size)
{
	if (bits < 1 || bits > FF_BITPACK_MAX_BITS)
		return FF_ERR_INVAL;
	if (codebook_size == 0 || codebook_size > (1u << bits))
		return FF_ERR_INVAL;
	return FF_OK;
}

int ff_bitpack_pack(const uint16_t *idx, size_t n, unsigned bits, uint32_t codebook_size,
		    uint8_t *out, size_t out_len)
{
	size_t need, o = 0;
	uint32_t acc = 0; /* pending bits, LSB first; never more than 7 + 16 */
	unsigned nacc = 0;
	int rc = check_params(bits, codebook_size);

	if (rc != FF_OK)
		return rc;
	if ((n && !idx) || (!out && out_len))
		return FF_ERR_INVAL;
	need = ff_bitpack_size(n, bits);
	if (need == 0 && n != 0)
		return FF_ERR_RANGE;
	if (out_len < need)
		return FF_ERR_RANGE;
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= codebook_size)
			return FF_ERR_RANGE;
		acc |= (uint32_t)idx[i] << nacc;
		nacc += bits;
		while (nacc >= 8) {
			out[o++] = (uint8_t)(acc & 0xffu);
			acc >>= 8;
			nacc -= 8;
		}
	}
	if (nacc > 0)
		out[o++] = (uint8_t)(acc & 0xffu);
	return FF_OK;
}

int ff_bitpack_unpack(const uint8_t *in, size_t in_len, size_t n, unsigned bits,
		      uint32_t codebook_size, uint16_t *idx)
{
	size_t need, p = 0;
	uint32_t acc = 0;
	unsigned nacc = 0;
	uint32_t mask;
	int rc = check_params(bits, codebook_size);

	if (rc != FF_OK)
		return rc;
	mask = (1u << bits) - 1u;
	if ((n && !idx) || (!in && in_len))
		return FF_ERR_INVAL;
	need = ff_bitpack_size(n, bits);
	if ((need == 0 && n != 0) || in_len != need)
		return FF_ERR_FORMAT;
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		while (nacc < bits) {
			acc |= (uint32_t)in[p++] << nacc;
			nacc += 8;
		}
		v = acc & mask;
		acc >>= bits;
		nacc -= bits;
		if (v >= codebook_size)
			return FF_ERR_RANGE;
		idx[i] = (uint16_t)v;
	}
	/* the bits left in the last byte are padding and must be zero */
	if (acc != 0)
		return FF_ERR_FORMAT;
	return FF_OK;
}
