/* facefleet/image.h: 8-bit RGB images, decoding (JPEG, PNG, PGM/PPM, raw
 * frames) and geometry (resize, affine warp).
 *
 * An ff_image is interleaved RGB, 3 bytes per pixel, rows `stride` bytes
 * apart (stride >= 3 * width). Images made by this library own their pixels
 * and are released with ff_image_free(); an ff_image may also wrap a caller's
 * buffer (set the fields by hand and never pass it to ff_image_free). */
#ifndef FACEFLEET_IMAGE_H
#define FACEFLEET_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_image {
	uint8_t *data; /* RGB, row y starts at data + y * stride */
	int width;
	int height;
	size_t stride; /* bytes per row */
} ff_image;

#define FF_IMAGE_EMPTY { NULL, 0, 0, 0 }

/* Limits applied while decoding: an image or file over a limit is refused
 * with FF_ERR_RANGE before any pixel buffer is allocated. max_decoded_bytes
 * bounds memory, not pixels: the RGB result plus what the decoder keeps per
 * pixel on top (a 16-bit RGBA PNG: 8 more bytes a pixel; a 116 KB PNG of
 * 8192x4880 used to take 550 MB). */
typedef struct ff_image_options {
	int max_width;            /* pixels */
	int max_height;           /* pixels */
	uint64_t max_pixels;      /* width * height */
	size_t max_file_bytes;    /* encoded input size */
	size_t max_decoded_bytes; /* RGB result + the decoder's per-pixel working set */
} ff_image_options;
#define FF_IMAGE_OPTIONS_INIT { 8192, 8192, 40000000u, 64u << 20, 128u << 20 }

/* Raw frame pixel formats (e.g. a camera pipe on stdin). */
typedef enum ff_pixfmt {
	FF_PIXFMT_RGB24 = 0,
	FF_PIXFMT_BGR24 = 1,
	FF_PIXFMT_GRAY8 = 2
} ff_pixfmt;

/* Allocates an uninitialised width x height image (packed, stride = 3*w).
 * Returns FF_OK, FF_ERR_INVAL (size <= 0), FF_ERR_RANGE (too big),
 * FF_ERR_NOMEM. */
int ff_image_alloc(ff_image *img, int width, int height);
/* Frees pixels allocated by this library and zeroes *img; NULL-safe. */
void ff_image_free(ff_image *img);

/* Decodes a JPEG, PNG or binary PGM/PPM (P5/P6, maxval 255) held in memory;
 * the format is recognised by its magic bytes. Grey and alpha inputs become
 * RGB (alpha dropped). opt may be NULL (FF_IMAGE_OPTIONS_INIT).
 * Returns FF_OK, FF_ERR_INVAL, FF_ERR_FORMAT (corrupt, truncated or unknown
 * format), FF_ERR_UNSUPPORTED (e.g. 16-bit PNM, CMYK JPEG), FF_ERR_RANGE (over
 * a limit), FF_ERR_NOMEM. On error *out is empty and errbuf (if non-NULL)
 * holds a one-line reason. Never aborts on bad input. */
int ff_image_decode(const void *buf, size_t len, const ff_image_options *opt,
		    ff_image *out, char *errbuf, size_t errlen);
/* Reads a file then calls ff_image_decode. Adds FF_ERR_IO (unreadable) and
 * FF_ERR_NOTFOUND (no such file). */
int ff_image_load(const char *path, const ff_image_options *opt,
		  ff_image *out, char *errbuf, size_t errlen);
/* Copies a raw frame: `stride` bytes per row (0 = packed). len must cover
 * (height-1)*stride + width*bpp bytes. Returns FF_OK, FF_ERR_INVAL,
 * FF_ERR_FORMAT (buffer too short), FF_ERR_RANGE (over a limit),
 * FF_ERR_UNSUPPORTED (format), FF_ERR_NOMEM. */
int ff_image_from_raw(const void *buf, size_t len, int width, int height,
		      ff_pixfmt fmt, size_t stride,
		      const ff_image_options *opt, ff_image *out);
/* Writes a binary PPM (P6). Returns FF_OK, FF_ERR_INVAL, FF_ERR_IO. */
/* Encodes img as one baseline JFIF file (quality 1..100, optimised Huffman
 * tables, 4:2:0) into a malloc'd buffer the caller frees. Returns FF_OK,
 * FF_ERR_INVAL (no image, quality out of range), FF_ERR_FORMAT (libjpeg error). */
int ff_image_encode_jpeg(const ff_image *img, int quality, unsigned char **out, size_t *len);
int ff_image_save_ppm(const ff_image *img, const char *path);

/* Resizes src to width x height into a new image: bilinear when enlarging,
 * box-filter (area averaging, like OpenCV INTER_AREA) along an axis that
 * shrinks. Returns FF_OK, FF_ERR_INVAL, FF_ERR_RANGE, FF_ERR_NOMEM. */
int ff_image_resize(const ff_image *src, int width, int height, ff_image *out);

/* Copies the width x height rectangle whose top-left corner is (x, y) in
 * src into a new image; the rectangle may extend past src, where pixels take
 * the constant colour `border` (NULL = black). Returns FF_OK, FF_ERR_INVAL,
 * FF_ERR_RANGE, FF_ERR_NOMEM. */
int ff_image_crop(const ff_image *src, int x, int y, int width, int height,
		  const uint8_t border[3], ff_image *out);

/* Affine warp with bilinear sampling. m maps output pixel (x, y) to source
 * coordinates: sx = m[0]*x + m[1]*y + m[2], sy = m[3]*x + m[4]*y + m[5]
 * (pixel centres at integer coordinates). Samples falling outside src take
 * the constant colour `border` (RGB; NULL = black). Returns FF_OK, FF_ERR_INVAL,
 * FF_ERR_RANGE, FF_ERR_NOMEM. */
int ff_image_warp_affine(const ff_image *src, const double m[6], int width,
			 int height, const uint8_t border[3], ff_image *out);

#ifdef __cplusplus
}
#endif
#endif
