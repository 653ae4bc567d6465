/* fuzz_image_decode: libFuzzer target for lib/vision's decoders from memory
 * (ff_image_decode: JPEG via libjpeg-turbo, PNG via libpng, binary PGM/PPM).
 * Any input must give FF_OK with a consistent image, or an error code with
 * nothing allocated. Limits are smaller than the defaults so that a valid
 * but huge image costs little time (the limits themselves are part of what
 * is tested: over them is FF_ERR_RANGE, before any pixel is allocated).
 * Seed corpus: tests/fuzz/corpus/image_decode (tiny JPEG, PNG, PGM, PPM). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "facefleet/error.h"
#include "facefleet/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ff_image_options opt = FF_IMAGE_OPTIONS_INIT;
	ff_image img = { 0 };
	char err[256];
	opt.max_width = 2048;
	opt.max_height = 2048;
	opt.max_pixels = 1u << 20;
	opt.max_file_bytes = 1u << 20;
	if (ff_image_decode(data, size, &opt, &img, err, sizeof(err)) == FF_OK) {
		if (!img.data || img.width < 1 || img.height < 1 || img.width > opt.max_width ||
		    img.height > opt.max_height || img.stride < (size_t)img.width * 3 ||
		    (uint64_t)img.width * (uint64_t)img.height > opt.max_pixels)
			abort();
		/* touch the last pixel: the buffer really holds the image */
		volatile uint8_t last = img.data[(size_t)(img.height - 1) * img.stride +
						 (size_t)img.width * 3 - 1];
		(void)last;
	} else if (img.data) {
		abort();
	}
	ff_image_free(&img);
	return 0;
}
