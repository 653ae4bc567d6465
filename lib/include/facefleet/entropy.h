/* facefleet/entropy.h: static-table rANS coding of VQ code indices (issue 12).
 *
 * A VQ model may ship a table file next to its halves, PREFIX.codes.ent
 * (models/FORMAT.md, "Entropy tables"; made by models/tools/fit_entropy.py
 * from training codes only): one frequency table of the K indices per
 * context. The context of index i is, by the file's kind, nothing (one
 * table), its position i, or its left and upper neighbours (same code group
 * of the cells (y, x-1) and (y-1, x); K stands for "no neighbour" at the
 * edges). Kind 3 codes an index of a lattice codebook (FSQ: index = sum of
 * digit_j x base_j) digit by digit, digit j in the context of its position
 * and of the same digit of the left and upper neighbours (radix_j for "no
 * neighbour"): a lattice's neighbouring cells agree digit by digit far more
 * than whole index by whole index, and the tables stay small enough to fit
 * per position. Every frequency is >= 1, so any index sequence can be coded.
 *
 * The coded form (FaceCodes.codes_ans, proto/facefleet.proto) is a byte-wise
 * rANS stream with a 32-bit state in [2^23, 2^31). The start state 2^23 + v
 * reaches the decoder whole, so v (23 bits) carries data: the last
 * r = floor(20 / ceil(log2 K)) indices raw (vq2: 4 of 5 bits; nothing
 * follows them, so they need no context) and in the bits left (>= 3) the
 * low bits of the table's CRC-32. The encoder codes the other indices last
 * to first; the stream is the final state (4 bytes, little-endian) then the
 * renormalisation bytes in the order the decoder reads them. The decoder
 * must end in a start state (below 2^24, the CRC bits right) having used
 * every byte: a stream cut short or with bytes added is always refused
 * (FF_ERR_FORMAT), one of another table or corrupted nearly always (a
 * corruption that passes decodes to other indices, as a corrupted packed
 * face would); it never reads past its end and stops after n indices. */
#ifndef FACEFLEET_ENTROPY_H
#define FACEFLEET_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "facefleet/vq.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FF_ENTROPY_SUFFIX ".codes.ent"
#define FF_ENTROPY_MAX_FREQS (1u << 18) /* all rows' frequencies: 512 KiB of tables at most */
#define FF_ENTROPY_MAX_DIGITS 4u        /* digits of an index (kind 3) */
/* The longest stream any table can make: under 2 bytes a digit (precision
 * <= 15) and the 4-byte state. */
#define FF_ENTROPY_MAX_STREAM (2u * FF_VQ_MAX_CODES * FF_ENTROPY_MAX_DIGITS + 4u)

/* Context kinds of a table file. */
enum {
	FF_ENTROPY_CTX_SINGLE = 0,   /* one table */
	FF_ENTROPY_CTX_POSITION = 1, /* one table per index position */
	FF_ENTROPY_CTX_LEFT_UP = 2,  /* (left, up) neighbour: (K+1)^2 tables */
	FF_ENTROPY_CTX_DIGITS = 3,   /* per digit: (position, left digit, up digit) */
};

typedef struct ff_entropy_table ff_entropy_table;

/* Parses a table file held in memory. Returns FF_OK with *out (free with
 * ff_entropy_table_free), FF_ERR_FORMAT (bad magic, version, CRC, sizes, a
 * frequency of 0 or a context not summing to 2^precision), FF_ERR_NOMEM,
 * FF_ERR_INVAL (NULL); the reason in errbuf. */
int ff_entropy_table_parse(const uint8_t *buf, size_t len, ff_entropy_table **out, char *errbuf,
			   size_t errlen);

/* The table file of a model half: PREFIX.enc.ffn or PREFIX.dec.ffn ->
 * PREFIX.codes.ent. Returns FF_OK, FF_ERR_INVAL (not such a path),
 * FF_ERR_RANGE (cap too small). */
int ff_entropy_table_path(const char *model_path, char *out, size_t cap);

/* Opens the table file that goes with the model half at model_path and
 * checks it against that model's layout vi (model id, grid, codes per cell,
 * K). Returns FF_OK with *out; FF_ERR_NOTFOUND when the model has no table
 * file (it sends raw packed codes only); FF_ERR_FORMAT (a bad file, or one
 * made for another model); the errors of ff_file_read; reason in errbuf. */
int ff_entropy_table_open(const char *model_path, const ff_vq_info *vi, ff_entropy_table **out,
			  char *errbuf, size_t errlen);

void ff_entropy_table_free(ff_entropy_table *t);

/* The table's model id and number of indices per face; its CRC-32 (the
 * stream's start state says it); its file size in bytes. */
const char *ff_entropy_table_model_id(const ff_entropy_table *t);
size_t ff_entropy_table_num_codes(const ff_entropy_table *t);
uint32_t ff_entropy_table_crc(const ff_entropy_table *t);
size_t ff_entropy_table_size(const ff_entropy_table *t);

/* Codes idx[0..n-1] into out. Returns FF_OK with *len set; FF_ERR_INVAL
 * (NULL, n not the table's number of indices); FF_ERR_RANGE (an index >= K,
 * or the stream is longer than cap: the caller sends raw codes then). */
int ff_entropy_encode(const ff_entropy_table *t, const uint16_t *idx, size_t n, uint8_t *out,
		      size_t cap, size_t *len);

/* What index sym would cost at position i, in bits (-log2 of its frequency
 * in i's context, summed over its digits for kind 3; the context taken from
 * idx, the whole face, as coding it would). t and i must be valid (i < the table's number of indices). */
double ff_entropy_bits(const ff_entropy_table *t, const uint16_t *idx, size_t i, uint16_t sym);

/* ff_entropy_bits of n candidate indices syms[] at position i at once (the
 * context looked up once): bits[c] for syms[c]. */
void ff_entropy_costs(const ff_entropy_table *t, const uint16_t *idx, size_t i, const uint16_t *syms,
		      size_t n, double *bits);

/* Rate control: encodes an aligned face (ff_vq_encode) and entropy-codes its
 * indices into out within max_bytes. When the nearest codewords' stream is
 * longer, the face is quantised again rate-distortion optimised: each index
 * the codeword among the 8 nearest its latent that minimises squared
 * distance + lambda x bits, lambda the smallest (bisection) that fits; when
 * those 8 cannot fit at any lambda, the same over the whole codebook. idx
 * gets the indices sent. Returns FF_OK with *len (and *moved, may be NULL:
 * indices that are not the nearest codeword); FF_ERR_RANGE when nothing
 * fits (a budget under the tables' cheapest stream, each index its
 * context's cheapest codeword); FF_ERR_INVAL; the errors of ff_vq_encode. */
int ff_vq_encode_coded(ff_vq_encoder *e, const ff_image *face, const ff_entropy_table *t,
		       size_t max_bytes, uint16_t *idx, size_t n, uint8_t *out, size_t *len,
		       size_t *moved);

/* Decodes exactly n indices from in[0..len-1]. Returns FF_OK; FF_ERR_INVAL
 * (NULL, n not the table's); FF_ERR_FORMAT (truncated, trailing bytes, a
 * stream of another table, corrupt). Reads no byte outside in. */
int ff_entropy_decode(const ff_entropy_table *t, const uint8_t *in, size_t len, uint16_t *idx,
		      size_t n);

#ifdef __cplusplus
}
#endif
#endif
