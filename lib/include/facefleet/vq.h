/* facefleet/vq.h: the VQ-VAE codec. The device encodes an aligned 112x112
 * face into discrete code indices; the backend decodes indices back into a
 * face for MobileFaceNet. Models are the two .ffn files written by
 * models/train/export.py (<model_id>.enc.ffn, <model_id>.dec.ffn); their
 * metadata carries model_id, grid_h, grid_w, codes_per_cell, code_dim,
 * codebook_size and bits_per_index, and each holds the "codebook" constant
 * [codebook_size, code_dim].
 *
 * Index order on the wire: cell-major raster (y, then x), then the code
 * group within the cell: idx[(y * grid_w + x) * codes_per_cell + g]. */
#ifndef FACEFLEET_VQ_H
#define FACEFLEET_VQ_H

#include <stddef.h>
#include <stdint.h>

#include "facefleet/ids.h"
#include "facefleet/image.h"
#include "facefleet/embed.h"
#include "facefleet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FF_VQ_MAX_CODES 1024 /* upper bound on grid_h * grid_w * codes_per_cell */
#define FF_VQ_MAX_PAYLOAD 128 /* bytes of codes per face on the wire, packed or coded */
/* A device's rate-control budget unless configured (code_bytes_max): with
 * FaceCodes schema 3's other fields a PUBLISH of at most 150 B (docs/WIRE.md) */
#define FF_VQ_DEFAULT_CODE_BYTES 121
/* Bytes of a model's packed indices. A model whose packed form passes
 * FF_VQ_MAX_PAYLOAD is sent entropy-coded only, within it (ff_vq_encode_coded). */
#define FF_VQ_MAX_PACKED 256
#define FF_VQ_MAX_EMBED_DIM 1024 /* upper bound on an embed_adapter's size */

/* What a model file says about its code layout (also what travels in FaceCodes). */
typedef struct ff_vq_info {
	char model_id[FF_ID_MAX + 1];
	uint32_t grid_h, grid_w;
	uint32_t codes_per_cell;
	uint32_t code_dim;
	uint32_t codebook_size;
	uint32_t bits_per_index;
	uint32_t num_codes; /* grid_h * grid_w * codes_per_cell */
	/* lattice steps per FSQ level (metadata fsq_fine, default 1); > 1: the
	 * codewords on the integer lattice are a coarser code the encoder can
	 * fall back to cell by cell to fit FF_VQ_MAX_PAYLOAD */
	uint32_t fine;
} ff_vq_info;

typedef struct ff_vq_encoder ff_vq_encoder;
typedef struct ff_vq_decoder ff_vq_decoder;

/* Load a model half and build its batch-1 net. Metadata is validated
 * (sizes consistent with the graph, num_codes <= FF_VQ_MAX_CODES,
 * bits_per_index == ceil(log2(codebook_size)), payload <= 128 bytes).
 * Returns FF_OK, the errors of ff_model_load / ff_net_create, or
 * FF_ERR_FORMAT with a reason in errbuf. */
int ff_vq_encoder_create(const char *path, const ff_nn_options *opt, ff_vq_encoder **out,
			 char *errbuf, size_t errlen);
int ff_vq_decoder_create(const char *path, const ff_nn_options *opt, ff_vq_decoder **out,
			 char *errbuf, size_t errlen);
void ff_vq_encoder_free(ff_vq_encoder *e);
void ff_vq_decoder_free(ff_vq_decoder *d);
const ff_vq_info *ff_vq_encoder_info(const ff_vq_encoder *e);
const ff_vq_info *ff_vq_decoder_info(const ff_vq_decoder *d);

/* Encodes an aligned 112x112 RGB face into info->num_codes indices (each the
 * nearest codeword of its group's latent). Returns FF_OK, FF_ERR_INVAL
 * (wrong image size, n too small), FF_ERR_BACKEND. */
int ff_vq_encode(ff_vq_encoder *e, const ff_image *face, uint16_t *idx, size_t n);

/* Decodes indices into a 112x112x3 float RGB face on the 0..255 scale (HWC),
 * ready for ff_embed_rgbf. Returns FF_OK, FF_ERR_INVAL (n != num_codes),
 * FF_ERR_RANGE (an index >= codebook_size), FF_ERR_BACKEND. */
int ff_vq_decode(ff_vq_decoder *d, const uint16_t *idx, size_t n, float *rgb, size_t rgb_len);

/* The weight patch (ff_model_patch) of the reconstruction-side embedder that
 * goes with the decoder file decoder_path: PREFIX.dec.ffn -> PREFIX.emb.ffp,
 * MobileFaceNet fine-tuned to embed this decoder's faces like their originals
 * (it replaces the adapter below). Writes the path to out. Returns FF_OK when
 * that file exists, FF_ERR_NOTFOUND when the decoder has none, FF_ERR_INVAL
 * (not a .dec.ffn path), FF_ERR_RANGE (cap too small). */
int ff_vq_recon_embedder_path(const char *decoder_path, char *out, size_t cap);
/* That embedder, opened: the MobileFaceNet at base_path with the decoder's
 * patch applied. Returns FF_OK; FF_ERR_NOTFOUND when the decoder has none;
 * the errors of ff_embedder_create_patched (FF_ERR_UNSUPPORTED: the patch was
 * made for another base file); FF_ERR_FORMAT when its embeddings are not dim
 * long (the gallery's). A reason goes to errbuf. */
int ff_vq_recon_embedder_open(const char *decoder_path, const char *base_path, size_t dim,
			      const ff_nn_options *opt, ff_embedder **out, char *errbuf,
			      size_t errlen);

/* Applies the decoder's embedding adapter, if its file has one, to the
 * L2-normalised embedding of a face it decoded: emb <- normalise(emb * A),
 * a least-squares map (fitted on training faces) from embeddings of
 * reconstructions to embeddings of their originals, which removes the
 * decoder's systematic drift. Embeddings of original photos are not adapted.
 * Returns FF_OK (emb unchanged when the file has no adapter), FF_ERR_INVAL
 * (NULL, or dim is not the adapter's). */
int ff_vq_adapt_embedding(const ff_vq_decoder *d, float *emb, size_t dim);
/* The adapter's dimension, 0 when the decoder has none. */
size_t ff_vq_adapter_dim(const ff_vq_decoder *d);

/* The model a program uses when none is configured, as a path prefix
 * "<dir>/<id>" (add ".enc.ffn" / ".dec.ffn"): the id on the first line of
 * <dir>/DEFAULT, else a <dir>/<id>.enc.ffn. *candidates (may be NULL) gets 1
 * for DEFAULT, else the number of encoders found (the prefix is the first;
 * callers decide whether more than one is acceptable). Returns FF_OK,
 * FF_ERR_NOTFOUND (no DEFAULT, no encoder), FF_ERR_INVAL (NULL). */
int ff_vq_default_model(const char *dir, char *prefix, size_t len, int *candidates);

/* Converts a decoded float face to an 8-bit image (rounded, clamped). */
int ff_vq_rgbf_to_image(const float *rgb, ff_image *out);

/* Whether a model's packed indices pass FF_VQ_MAX_PAYLOAD: it is then sent
 * entropy-coded only, rate-controlled (ff_vq_encode_coded, facefleet/entropy.h). */
int ff_vq_coded_only(const ff_vq_info *vi);

#ifdef __cplusplus
}
#endif
#endif
