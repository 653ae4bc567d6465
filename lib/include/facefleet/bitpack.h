/* facefleet/bitpack.h: bit packing of VQ code indices for the wire.
 *
 * n indices of `bits` bits each (1..16) are packed LSB-first: index i
 * occupies bit positions i*bits .. i*bits+bits-1 of the byte string, where bit
 * position p is bit (p % 8) of byte p / 8 (bit 0 = least significant). The
 * last byte's unused high bits are zero. This is the layout of
 * FaceCodes.codes in proto/facefleet.proto. Example: bits=9, a 14x14 grid (196
 * indices, codebook 512) packs into 221 bytes; bits=4, 8x8 into 32 bytes. */
#ifndef FACEFLEET_BITPACK_H
#define FACEFLEET_BITPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FF_BITPACK_MAX_BITS 16u

/* Bytes needed for n indices of bits each: ceil(n * bits / 8). Returns 0 when
 * bits is outside 1..16 or the size would overflow. */
size_t ff_bitpack_size(size_t n, unsigned bits);

/* Smallest bits (1..16) that can hold indices 0..codebook_size-1; 0 when
 * codebook_size is 0 or above 65536. */
unsigned ff_bitpack_bits_for(uint32_t codebook_size);

/* Packs idx[0..n-1] into out, writing exactly ff_bitpack_size(n, bits) bytes.
 * Returns FF_OK;
 *   FF_ERR_INVAL  bits outside 1..16, codebook_size 0 or > 2^bits, NULL pointers
 *   FF_ERR_RANGE  out_len too small, or some idx[i] >= codebook_size (nothing
 *                 useful is left in out then). */
int ff_bitpack_pack(const uint16_t *idx, size_t n, unsigned bits, uint32_t codebook_size,
		    uint8_t *out, size_t out_len);

/* Unpacks n indices from in. The input must be exactly
 * ff_bitpack_size(n, bits) bytes with zero padding bits.
 * Returns FF_OK;
 *   FF_ERR_INVAL   bits outside 1..16, codebook_size 0 or > 2^bits, NULL pointers
 *   FF_ERR_FORMAT  in_len is not the exact size, or padding bits are not zero
 *   FF_ERR_RANGE   a decoded index is >= codebook_size. */
int ff_bitpack_unpack(const uint8_t *in, size_t in_len, size_t n, unsigned bits,
		      uint32_t codebook_size, uint16_t *idx);

#ifdef __cplusplus
}
#endif
#endif
