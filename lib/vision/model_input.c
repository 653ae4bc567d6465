/* Feeding 8-bit RGB images to nets: pre-processing from model metadata. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "image_internal.h"

int ff_vision_input_norm(const ff_model *m, ff_input_norm *norm)
{
	const char *v;

	norm->mean = 127.5f;
	norm->scale = 0.0078125f;
	norm->transposed = 0;
	if ((v = ff_model_meta(m, "input_mean")) != NULL)
		norm->mean = strtof(v, NULL);
	if ((v = ff_model_meta(m, "input_scale")) != NULL)
		norm->scale = strtof(v, NULL);
	if ((v = ff_model_meta(m, "input_layout")) != NULL)
		norm->transposed = strcmp(v, "nwhc") == 0;
	if (!isfinite(norm->mean) || !isfinite(norm->scale) || norm->scale == 0.0f)
		return FF_ERR_FORMAT;
	return FF_OK;
}

void ff_vision_fill_input(float *dst, const ff_image *img, const ff_input_norm *norm)
{
	int w = img->width, h = img->height;

	for (int y = 0; y < h; y++) {
		const uint8_t *row = img->data + (size_t)y * img->stride;
		for (int x = 0; x < w; x++) {
			size_t o = norm->transposed ? ((size_t)x * h + y) * 3u
						    : ((size_t)y * w + x) * 3u;
			for (int c = 0; c < 3; c++)
				dst[o + c] = ((float)row[3 * x + c] - norm->mean) * norm->scale;
		}
	}
}
