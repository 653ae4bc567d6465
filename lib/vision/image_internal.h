/* Private helpers shared by the lib/vision sources (not installed). */
#ifndef FF_VISION_IMAGE_INTERNAL_H
#define FF_VISION_IMAGE_INTERNAL_H

#include <stddef.h>

#include "facefleet/image.h"
#include "facefleet/nn.h"

/* FF_OK, FF_ERR_FORMAT (zero size) or FF_ERR_RANGE (over opt's limits);
 * work_bpp: bytes a pixel the decoder holds besides the 3 of the result. */
int ff_image_check_limits(const ff_image_options *opt, long long width, long long height,
			  size_t work_bpp, char *errbuf, size_t errlen);

int ff_image_decode_jpeg(const unsigned char *buf, size_t len, const ff_image_options *opt,
			 ff_image *out, char *errbuf, size_t errlen);
int ff_image_decode_png(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen);
int ff_image_decode_pnm(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen);

/* Pre-processing of a net's image input, from its metadata: x' = (x -
 * mean) * scale; transposed = input_layout nwhc ([N, W, H, C]). */
typedef struct ff_input_norm {
	float mean, scale;
	int transposed;
} ff_input_norm;
/* Reads input_mean / input_scale / input_layout (defaults 127.5, 1/128,
 * nhwc). Returns FF_OK or FF_ERR_FORMAT (non-finite or zero scale). */
int ff_vision_input_norm(const ff_model *m, ff_input_norm *norm);
/* Writes img (3 channels) as normalised floats in the layout of norm. */
void ff_vision_fill_input(float *dst, const ff_image *img, const ff_input_norm *norm);

#endif
