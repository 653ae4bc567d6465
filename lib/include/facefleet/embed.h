/* facefleet/embed.h: face embeddings with MobileFaceNet (mobilefacenet.ffn):
 * a 112x112 aligned RGB face in, an L2-normalised vector (192-d) out.
 * Pre-processing follows the model metadata: x' = (x - input_mean) *
 * input_scale on 0..255 RGB (127.5 and 1/128 when absent). */
#ifndef FACEFLEET_EMBED_H
#define FACEFLEET_EMBED_H

#include <stddef.h>

#include "facefleet/image.h"
#include "facefleet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_embedder ff_embedder;

/* Loads the model and builds a batch-1 net for 112x112 input. opt may be
 * NULL. Returns FF_OK, the errors of ff_model_load / ff_net_create, or
 * FF_ERR_FORMAT (output is not [1, D]); a reason goes to errbuf. */
int ff_embedder_create(const char *path, const ff_nn_options *opt, ff_embedder **out,
		       char *errbuf, size_t errlen);
/* Same, with the weight patch at patch_path (NULL: none; ff_model_patch)
 * applied to the model before the net is built: e.g. the reconstruction-side
 * MobileFaceNet that goes with a VQ decoder (ff_vq_recon_embedder_path). */
int ff_embedder_create_patched(const char *path, const char *patch_path, const ff_nn_options *opt,
			       ff_embedder **out, char *errbuf, size_t errlen);
void ff_embedder_free(ff_embedder *e);
/* Embedding dimension (192 for MobileFaceNet). */
size_t ff_embedder_dim(const ff_embedder *e);

/* Embeds an aligned 112x112 face; writes dim floats with unit L2 norm.
 * Returns FF_OK, FF_ERR_INVAL (NULL, wrong image size, dim too small),
 * FF_ERR_BACKEND. */
int ff_embed_image(ff_embedder *e, const ff_image *face, float *out, size_t dim);
/* Same from float RGB, HWC 112x112x3, values on the 0..255 scale (e.g. a
 * VQ-VAE reconstruction). */
int ff_embed_rgbf(ff_embedder *e, const float *rgb, float *out, size_t dim);

/* Scales v to unit L2 norm (left as is when the norm is 0). */
void ff_l2_normalize(float *v, size_t dim);
/* Dot product of two vectors (cosine similarity when both are unit). */
float ff_cosine(const float *a, const float *b, size_t dim);

#ifdef __cplusplus
}
#endif
#endif
