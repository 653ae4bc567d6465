/* ff_image: allocation, files, raw frames, PPM output. */
#include "facefleet/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "image_internal.h"

/* Hard ceiling independent of options: keeps 3*w*h inside size_t/int math. */
#define FF_IMAGE_HARD_MAX_SIDE 65535

int ff_image_alloc(ff_image *img, int width, int height)
{
	if (!img)
		return FF_ERR_INVAL;
	memset(img, 0, sizeof(*img));
	if (width <= 0 || height <= 0)
		return FF_ERR_INVAL;
	if (width > FF_IMAGE_HARD_MAX_SIDE || height > FF_IMAGE_HARD_MAX_SIDE)
		return FF_ERR_RANGE;
	img->data = malloc((size_t)width * (size_t)height * 3u);
	if (!img->data)
		return FF_ERR_NOMEM;
	img->width = width;
	img->height = height;
	img->stride = (size_t)width * 3u;
	return FF_OK;
}

void ff_image_free(ff_image *img)
{
	if (!img)
		return;
	free(img->data);
	memset(img, 0, sizeof(*img));
}

int ff_image_check_limits(const ff_image_options *opt, long long width, long long height,
			  size_t work_bpp, char *errbuf, size_t errlen)
{
	uint64_t need;
	ff_image_options def = FF_IMAGE_OPTIONS_INIT;

	if (!opt)
		opt = &def;
	if (width <= 0 || height <= 0) {
		ff_seterr(errbuf, errlen, "image has zero size (%lldx%lld)", width, height);
		return FF_ERR_FORMAT;
	}
	if (width > opt->max_width || height > opt->max_height || width > FF_IMAGE_HARD_MAX_SIDE ||
	    height > FF_IMAGE_HARD_MAX_SIDE || (uint64_t)width * (uint64_t)height > opt->max_pixels) {
		ff_seterr(errbuf, errlen, "image %lldx%lld over the size limit", width, height);
		return FF_ERR_RANGE;
	}
	need = (uint64_t)width * (uint64_t)height * (3 + work_bpp);
	if (need > opt->max_decoded_bytes) {
		ff_seterr(errbuf, errlen, "image %lldx%lld needs %llu MB to decode, over the limit of %zu MB",
			  width, height, (unsigned long long)(need >> 20), opt->max_decoded_bytes >> 20);
		return FF_ERR_RANGE;
	}
	return FF_OK;
}

int ff_image_load(const char *path, const ff_image_options *opt, ff_image *out, char *errbuf,
		  size_t errlen)
{
	ff_image_options def = FF_IMAGE_OPTIONS_INIT;
	char *buf = NULL;
	size_t size = 0;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!path || !out)
		return FF_ERR_INVAL;
	if (!opt)
		opt = &def;
	rc = ff_file_read(path, opt->max_file_bytes, &buf, &size, errbuf, errlen);
	if (rc == FF_OK)
		rc = ff_image_decode((const unsigned char *)buf, size, opt, out, errbuf, errlen);
	free(buf);
	return rc;
}

int ff_image_from_raw(const void *buf, size_t len, int width, int height, ff_pixfmt fmt,
		      size_t stride, const ff_image_options *opt, ff_image *out)
{
	const uint8_t *src = buf;
	size_t bpp, need;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!buf || !out || width <= 0 || height <= 0)
		return FF_ERR_INVAL;
	switch (fmt) {
	case FF_PIXFMT_RGB24:
	case FF_PIXFMT_BGR24:
		bpp = 3;
		break;
	case FF_PIXFMT_GRAY8:
		bpp = 1;
		break;
	default:
		return FF_ERR_UNSUPPORTED;
	}
	rc = ff_image_check_limits(opt, width, height, 0, NULL, 0);
	if (rc != FF_OK)
		return rc;
	if (stride == 0)
		stride = (size_t)width * bpp;
	if (stride < (size_t)width * bpp)
		return FF_ERR_INVAL;
	need = (size_t)(height - 1) * stride + (size_t)width * bpp;
	if (len < need)
		return FF_ERR_FORMAT;
	rc = ff_image_alloc(out, width, height);
	if (rc != FF_OK)
		return rc;
	for (int y = 0; y < height; y++) {
		const uint8_t *s = src + (size_t)y * stride;
		uint8_t *d = out->data + (size_t)y * out->stride;
		if (fmt == FF_PIXFMT_RGB24) {
			memcpy(d, s, (size_t)width * 3u);
		} else if (fmt == FF_PIXFMT_BGR24) {
			for (int x = 0; x < width; x++) {
				d[3 * x] = s[3 * x + 2];
				d[3 * x + 1] = s[3 * x + 1];
				d[3 * x + 2] = s[3 * x];
			}
		} else {
			for (int x = 0; x < width; x++)
				d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = s[x];
		}
	}
	return FF_OK;
}

int ff_image_save_ppm(const ff_image *img, const char *path)
{
	FILE *f;
	int rc = FF_OK;

	if (!img || !img->data || !path || img->width <= 0 || img->height <= 0)
		return FF_ERR_INVAL;
	f = fopen(path, "wb");
	if (!f)
		return FF_ERR_IO;
	if (fprintf(f, "P6\n%d %d\n255\n", img->width, img->height) < 0)
		rc = FF_ERR_IO;
	for (int y = 0; rc == FF_OK && y < img->height; y++)
		if (fwrite(img->data + (size_t)y * img->stride, 3, (size_t)img->width, f) !=
		    (size_t)img->width)
			rc = FF_ERR_IO;
	if (fclose(f) != 0)
		rc = FF_ERR_IO;
	return rc;
}
