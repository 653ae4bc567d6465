/* unit_vision_image: decoding JPEG / PNG / PGM / PPM / raw frames, size
 * limits, corrupt and truncated input (clear errors, never a crash). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/image.h"
#include "ff_test.h"

#define SAMPLE "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg"

static unsigned char *read_all(const char *name, size_t *len)
{
	char path[1024];
	FILE *f = fopen(ff_test_data_path(path, sizeof(path), name), "rb");
	unsigned char *buf = NULL;
	long n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const uint8_t *px(const ff_image *im, int x, int y)
{
	return im->data + (size_t)y * im->stride + (size_t)x * 3u;
}

static int near(const uint8_t *p, int r, int g, int b, int tol)
{
	return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

static void test_jpeg_pixels(void)
{
	char path[1024], err[256];
	ff_image im = FF_IMAGE_EMPTY;

	FF_ASSERT_OK(ff_image_load(ff_test_data_path(path, sizeof(path), SAMPLE), NULL, &im, err,
				   sizeof(err)));
	CU_ASSERT_EQUAL_FATAL(im.width, 250);
	CU_ASSERT_EQUAL_FATAL(im.height, 250);
	CU_ASSERT_EQUAL(im.stride, 750u);
	/* reference values from OpenCV (libjpeg-turbo, same IDCT), RGB */
	CU_ASSERT(near(px(&im, 0, 0), 0, 0, 0, 1));
	CU_ASSERT(near(px(&im, 125, 125), 218, 178, 119, 1));
	CU_ASSERT(near(px(&im, 249, 249), 3, 0, 5, 1));
	CU_ASSERT(near(px(&im, 60, 200), 183, 160, 106, 1));
	ff_image_free(&im);
	CU_ASSERT_PTR_NULL(im.data);
	ff_image_free(&im); /* idempotent */
}

static void test_jpeg_corrupt(void)
{
	size_t len;
	unsigned char *buf = read_all(SAMPLE, &len);
	ff_image im = FF_IMAGE_EMPTY;
	char err[256] = "";

	/* truncated in the middle of the entropy-coded data */
	CU_ASSERT_EQUAL(ff_image_decode(buf, len / 2, NULL, &im, err, sizeof(err)), FF_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(im.data);
	CU_ASSERT(strlen(err) > 0);
	/* truncated inside the headers */
	CU_ASSERT_EQUAL(ff_image_decode(buf, 40, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	/* only the SOI marker */
	CU_ASSERT_EQUAL(ff_image_decode(buf, 3, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	/* garbage after the SOI marker */
	{
		unsigned char junk[64];
		memset(junk, 0x5a, sizeof(junk));
		junk[0] = 0xFF;
		junk[1] = 0xD8;
		junk[2] = 0xFF;
		CU_ASSERT_EQUAL(ff_image_decode(junk, sizeof(junk), NULL, &im, NULL, 0),
				FF_ERR_FORMAT);
	}
	/* byte flips all over the file: any error code is fine, a crash is not,
	 * and on error no image is returned */
	srand(1234);
	for (int it = 0; it < 200; it++) {
		unsigned char *m = malloc(len);
		int rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		memcpy(m, buf, len);
		for (int k = 0; k < 8; k++)
			m[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
		rc = ff_image_decode(m, len, NULL, &im, NULL, 0);
		CU_ASSERT(rc == FF_OK || rc == FF_ERR_FORMAT || rc == FF_ERR_UNSUPPORTED ||
			  rc == FF_ERR_RANGE);
		if (rc == FF_OK) {
			CU_ASSERT(im.width > 0 && im.height > 0 && im.data != NULL);
		} else {
			CU_ASSERT_PTR_NULL(im.data);
		}
		ff_image_free(&im);
		free(m);
	}
	free(buf);
}

static void test_limits(void)
{
	size_t len;
	unsigned char *buf = read_all(SAMPLE, &len);
	ff_image_options o = FF_IMAGE_OPTIONS_INIT;
	ff_image im = FF_IMAGE_EMPTY;

	o.max_width = 200;
	CU_ASSERT_EQUAL(ff_image_decode(buf, len, &o, &im, NULL, 0), FF_ERR_RANGE);
	o = (ff_image_options)FF_IMAGE_OPTIONS_INIT;
	o.max_pixels = 250 * 249;
	CU_ASSERT_EQUAL(ff_image_decode(buf, len, &o, &im, NULL, 0), FF_ERR_RANGE);
	o = (ff_image_options)FF_IMAGE_OPTIONS_INIT;
	o.max_decoded_bytes = 250 * 250 * 3 - 1; /* a JPEG decodes by scanline: 3 bytes a pixel */
	CU_ASSERT_EQUAL(ff_image_decode(buf, len, &o, &im, NULL, 0), FF_ERR_RANGE);
	o = (ff_image_options)FF_IMAGE_OPTIONS_INIT;
	o.max_file_bytes = len - 1;
	CU_ASSERT_EQUAL(ff_image_decode(buf, len, &o, &im, NULL, 0), FF_ERR_RANGE);
	o.max_file_bytes = len;
	FF_ASSERT_OK(ff_image_decode(buf, len, &o, &im, NULL, 0));
	ff_image_free(&im);
	free(buf);
}

static void test_errors(void)
{
	ff_image im = FF_IMAGE_EMPTY;
	char err[256];
	static const unsigned char text[] = "hello, not an image";

	CU_ASSERT_EQUAL(ff_image_load("/nonexistent/x.jpg", NULL, &im, err, sizeof(err)),
			FF_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(ff_image_decode(text, sizeof(text), NULL, &im, err, sizeof(err)),
			FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_image_decode(text, 0, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_image_decode(NULL, 10, NULL, &im, NULL, 0), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_image_decode(text, 10, NULL, NULL, NULL, 0), FF_ERR_INVAL);
}

static void test_pnm(void)
{
	static const unsigned char p6[] = "P6\n# a comment\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc";
	static const unsigned char p5[] = "P5 3 1 255\n\x00\x80\xff";
	static const unsigned char p5_16[] = "P5 1 1 65535\n\x00\x01";
	static const unsigned char p3[] = "P3 1 1 255\n1 2 3\n";
	ff_image im = FF_IMAGE_EMPTY;

	FF_ASSERT_OK(ff_image_decode(p6, sizeof(p6) - 1, NULL, &im, NULL, 0));
	CU_ASSERT_EQUAL(im.width, 2);
	CU_ASSERT_EQUAL(im.height, 1);
	CU_ASSERT(near(px(&im, 0, 0), 1, 2, 3, 0));
	CU_ASSERT(near(px(&im, 1, 0), 0xfa, 0xfb, 0xfc, 0));
	ff_image_free(&im);

	FF_ASSERT_OK(ff_image_decode(p5, sizeof(p5) - 1, NULL, &im, NULL, 0));
	CU_ASSERT_EQUAL(im.width, 3);
	CU_ASSERT(near(px(&im, 1, 0), 0x80, 0x80, 0x80, 0));
	CU_ASSERT(near(px(&im, 2, 0), 0xff, 0xff, 0xff, 0));
	ff_image_free(&im);

	CU_ASSERT_EQUAL(ff_image_decode(p6, sizeof(p6) - 2, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_image_decode(p6, 10, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_image_decode(p5_16, sizeof(p5_16) - 1, NULL, &im, NULL, 0),
			FF_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(ff_image_decode(p3, sizeof(p3) - 1, NULL, &im, NULL, 0),
			FF_ERR_UNSUPPORTED);
	{
		static const unsigned char huge[] = "P6 99999999 99999999 255\n";
		CU_ASSERT_EQUAL(ff_image_decode(huge, sizeof(huge) - 1, NULL, &im, NULL, 0),
				FF_ERR_RANGE);
	}
	{
		static const unsigned char zero[] = "P6 0 5 255\n";
		CU_ASSERT_EQUAL(ff_image_decode(zero, sizeof(zero) - 1, NULL, &im, NULL, 0),
				FF_ERR_FORMAT);
	}
	CU_ASSERT_PTR_NULL(im.data);
}

static void test_ppm_roundtrip(void)
{
	ff_image a = FF_IMAGE_EMPTY, b = FF_IMAGE_EMPTY;
	char path[] = "/tmp/ff_vision_test_XXXXXX";
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	FF_ASSERT_OK(ff_image_alloc(&a, 5, 3));
	for (size_t i = 0; i < 5 * 3 * 3; i++)
		a.data[i] = (uint8_t)(i * 7);
	FF_ASSERT_OK(ff_image_save_ppm(&a, path));
	FF_ASSERT_OK(ff_image_load(path, NULL, &b, NULL, 0));
	CU_ASSERT_EQUAL(b.width, 5);
	CU_ASSERT_EQUAL(b.height, 3);
	CU_ASSERT(memcmp(a.data, b.data, 45) == 0);
	unlink(path);
	ff_image_free(&a);
	ff_image_free(&b);
}

static void test_png(void)
{
	png_image w;
	uint8_t rgba[4 * 3 * 2];
	void *mem = NULL;
	png_alloc_size_t size = 0;
	ff_image im = FF_IMAGE_EMPTY;

	for (int i = 0; i < 6; i++) {
		rgba[4 * i] = (uint8_t)(10 * i);
		rgba[4 * i + 1] = (uint8_t)(200 - i);
		rgba[4 * i + 2] = (uint8_t)(i * i);
		rgba[4 * i + 3] = 255;
	}
	memset(&w, 0, sizeof(w));
	w.version = PNG_IMAGE_VERSION;
	w.width = 3;
	w.height = 2;
	w.format = PNG_FORMAT_RGBA;
	CU_ASSERT_FATAL(png_image_write_get_memory_size(w, size, 0, rgba, 0, NULL));
	mem = malloc(size);
	CU_ASSERT_FATAL(png_image_write_to_memory(&w, mem, &size, 0, rgba, 0, NULL));
	FF_ASSERT_OK(ff_image_decode(mem, size, NULL, &im, NULL, 0));
	CU_ASSERT_EQUAL_FATAL(im.width, 3);
	CU_ASSERT_EQUAL_FATAL(im.height, 2);
	for (int i = 0; i < 6; i++)
		CU_ASSERT(near(px(&im, i % 3, i / 3), 10 * i, 200 - i, i * i, 0));
	ff_image_free(&im);
	/* memory, not pixels: a 16-bit RGBA PNG needs 3 + 8 bytes a pixel */
	{
		uint16_t rgba16[64 * 64 * 4] = { 0 };
		png_image w16;
		ff_image_options o = FF_IMAGE_OPTIONS_INIT;
		void *m16;
		png_alloc_size_t n16 = 0;
		memset(&w16, 0, sizeof(w16));
		w16.version = PNG_IMAGE_VERSION;
		w16.width = w16.height = 64;
		w16.format = PNG_FORMAT_LINEAR_RGB_ALPHA;
		CU_ASSERT_FATAL(png_image_write_get_memory_size(w16, n16, 0, rgba16, 0, NULL));
		m16 = malloc(n16);
		CU_ASSERT_FATAL(png_image_write_to_memory(&w16, m16, &n16, 0, rgba16, 0, NULL));
		o.max_decoded_bytes = 64 * 64 * 11 - 1;
		CU_ASSERT_EQUAL(ff_image_decode(m16, n16, &o, &im, NULL, 0), FF_ERR_RANGE);
		o.max_decoded_bytes = 64 * 64 * 11;
		FF_ASSERT_OK(ff_image_decode(m16, n16, &o, &im, NULL, 0));
		ff_image_free(&im);
		free(m16);
	}
	/* truncated PNG and a broken CRC */
	CU_ASSERT_EQUAL(ff_image_decode(mem, size - 20, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	((unsigned char *)mem)[40] ^= 0xff;
	CU_ASSERT_EQUAL(ff_image_decode(mem, size, NULL, &im, NULL, 0), FF_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(im.data);
	free(mem);
}

static void test_raw(void)
{
	static const uint8_t bgr[] = { 1, 2, 3, 4, 5, 6, 99, /* pad */ 7, 8, 9, 10, 11, 12, 99 };
	static const uint8_t gray[] = { 10, 20, 30, 40 };
	ff_image im = FF_IMAGE_EMPTY;

	FF_ASSERT_OK(ff_image_from_raw(bgr, sizeof(bgr), 2, 2, FF_PIXFMT_BGR24, 7, NULL, &im));
	CU_ASSERT(near(px(&im, 0, 0), 3, 2, 1, 0));
	CU_ASSERT(near(px(&im, 1, 1), 12, 11, 10, 0));
	ff_image_free(&im);
	FF_ASSERT_OK(ff_image_from_raw(bgr, 12, 2, 2, FF_PIXFMT_RGB24, 0, NULL, &im));
	CU_ASSERT(near(px(&im, 0, 1), 99, 7, 8, 0));
	ff_image_free(&im);
	FF_ASSERT_OK(ff_image_from_raw(gray, sizeof(gray), 2, 2, FF_PIXFMT_GRAY8, 0, NULL, &im));
	CU_ASSERT(near(px(&im, 1, 1), 40, 40, 40, 0));
	ff_image_free(&im);
	CU_ASSERT_EQUAL(ff_image_from_raw(gray, 3, 2, 2, FF_PIXFMT_GRAY8, 0, NULL, &im),
			FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_image_from_raw(gray, 4, 2, 2, FF_PIXFMT_GRAY8, 1, NULL, &im),
			FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_image_from_raw(gray, 4, 2, 2, (ff_pixfmt)42, 0, NULL, &im),
			FF_ERR_UNSUPPORTED);
	{
		ff_image_options o = FF_IMAGE_OPTIONS_INIT;
		o.max_height = 1;
		CU_ASSERT_EQUAL(ff_image_from_raw(gray, 4, 2, 2, FF_PIXFMT_GRAY8, 0, &o, &im),
				FF_ERR_RANGE);
	}
	CU_ASSERT_PTR_NULL(im.data);
}

static CU_TestInfo image_tests[] = {
	{ "jpeg_pixels", test_jpeg_pixels }, { "jpeg_corrupt", test_jpeg_corrupt },
	{ "limits", test_limits },	     { "errors", test_errors },
	{ "pnm", test_pnm },		     { "ppm_roundtrip", test_ppm_roundtrip },
	{ "png", test_png },		     { "raw", test_raw },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vision_image", NULL, NULL, NULL, NULL, image_tests });
