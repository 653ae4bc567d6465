/* PNG decoding with libpng's simplified API (which traps libpng errors with
 * setjmp internally and reports them in image.message). */
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "facefleet/error.h"
#include "image_internal.h"

int ff_image_decode_png(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen)
{
	png_image png;
	int rc;

	memset(&png, 0, sizeof(png));
	png.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&png, buf, len)) {
		ff_seterr(errbuf, errlen, "png: %s", png.message);
		rc = FF_ERR_FORMAT;
		goto out;
	}
	/* the simplified API may hold the file's own format a pixel while it
	 * converts (16-bit, alpha): png.format is still the file's here */
	rc = ff_image_check_limits(opt, png.width, png.height, PNG_IMAGE_PIXEL_SIZE(png.format),
				   errbuf, errlen);
	if (rc != FF_OK)
		goto out;
	png.format = PNG_FORMAT_RGB; /* grey expanded, alpha composited on black */
	rc = ff_image_alloc(out, (int)png.width, (int)png.height);
	if (rc != FF_OK)
		goto out;
	if (!png_image_finish_read(&png, NULL, out->data, (png_int_32)out->stride, NULL)) {
		ff_seterr(errbuf, errlen, "png: %s", png.message);
		rc = FF_ERR_FORMAT;
		goto out;
	}
out:
	png_image_free(&png);
	if (rc != FF_OK)
		ff_image_free(out);
	return rc;
}
