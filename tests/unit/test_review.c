/* unit_review: the reconstruction of known codes as a PNG (facefleet/review.h)
 * with the tiny test VQ model: it decodes back as a 224x224 image, carries
 * the banner (red strip, white letter pixels) and the tEXt Description,
 * and bad codes or ids are refused without a crash. */
#include "ff_test.h"

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "facefleet/review.h"
#include "facefleet/vq.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

static char vq_dir[1024];
static ff_vq_info info;

static int setup(void)
{
	char path[1100];
	ff_vq_decoder *d = NULL;
	ff_test_data_path(vq_dir, sizeof(vq_dir), "vq");
	snprintf(path, sizeof(path), "%s/tiny-test.dec.ffn", vq_dir);
	if (ff_vq_decoder_create(path, NULL, &d, NULL, 0) != FF_OK)
		return 1;
	info = *ff_vq_decoder_info(d);
	ff_vq_decoder_free(d);
	return 0;
}

/* Packed codes of a deterministic face. */
static size_t known_codes(uint8_t *out, size_t cap)
{
	uint16_t idx[FF_VQ_MAX_CODES];
	size_t n = ff_bitpack_size(info.num_codes, info.bits_per_index);
	for (uint32_t i = 0; i < info.num_codes; i++)
		idx[i] = (uint16_t)((i * 7u + 3u) % info.codebook_size);
	if (n > cap || ff_bitpack_pack(idx, info.num_codes, info.bits_per_index, info.codebook_size,
				       out, cap) != FF_OK)
		return 0;
	return n;
}

/* The PNG's Description text (NULL: none), its pixels into img. */
static const char *png_read(const unsigned char *png, size_t len, ff_image *img, char *desc, size_t cap)
{
	png_image pi;
	png_structp ps = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info_p = png_create_info_struct(ps);
	png_textp text = NULL;
	int ntext = 0;
	const char *found = NULL;
	FILE *f = fmemopen((void *)png, len, "rb");
	if (setjmp(png_jmpbuf(ps)))
		goto out;
	png_init_io(ps, f);
	png_read_info(ps, info_p);
	png_read_update_info(ps, info_p);
	png_get_text(ps, info_p, &text, &ntext);
	for (int i = 0; i < ntext; i++)
		if (strcmp(text[i].key, "Description") == 0) {
			snprintf(desc, cap, "%s", text[i].text);
			found = desc;
		}
out:
	png_destroy_read_struct(&ps, &info_p, NULL);
	fclose(f);
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (png_image_begin_read_from_memory(&pi, png, len)) {
		pi.format = PNG_FORMAT_RGB;
		if (ff_image_alloc(img, (int)pi.width, (int)pi.height) == FF_OK &&
		    !png_image_finish_read(&pi, NULL, img->data, (png_int_32)img->stride, NULL))
			ff_image_free(img);
	}
	return found;
}

static const uint8_t *px(const ff_image *img, int x, int y)
{
	return img->data + (size_t)y * img->stride + (size_t)x * 3;
}

static void test_render(void)
{
	ff_review *r = NULL;
	uint8_t codes[256];
	size_t n = known_codes(codes, sizeof(codes)), len = 0;
	unsigned char *png = NULL;
	ff_image img = FF_IMAGE_EMPTY;
	char desc[128] = "", err[256];
	int white = 0, red = 0;

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(ff_review_open(&r, vq_dir, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL_FATAL(ff_review_codes_png(r, "tiny-test", codes, n, &png, &len, err, sizeof(err)),
			      FF_OK);
	CU_ASSERT(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
	CU_ASSERT_PTR_NOT_NULL(png_read(png, len, &img, desc, sizeof(desc)));
	CU_ASSERT_STRING_EQUAL(desc, "facefleet VQ reconstruction, not a photo");
	CU_ASSERT_PTR_NOT_NULL_FATAL(img.data);
	CU_ASSERT_EQUAL(img.width, FF_REVIEW_SIZE);
	CU_ASSERT_EQUAL(img.height, FF_REVIEW_SIZE);
	/* the banner: the top rows are the red strip, with the letters' white */
	for (int y = 0; y < 20; y++)
		for (int x = 0; x < img.width; x++) {
			const uint8_t *p = px(&img, x, y);
			white += p[0] == 255 && p[1] == 255 && p[2] == 255;
			red += p[0] == 160 && p[1] == 0 && p[2] == 0;
		}
	CU_ASSERT(white > 300);            /* 14 letters of 2x2 dots */
	CU_ASSERT(red + white == 20 * img.width);
	CU_ASSERT(px(&img, 0, 0)[0] == 160); /* the corner: strip, not text */
	ff_image_free(&img);
	free(png);

	/* the same codes twice: the same picture (a decoder kept, no state) */
	{
		unsigned char *png2 = NULL;
		size_t len2 = 0;
		CU_ASSERT_EQUAL(ff_review_codes_png(r, "tiny-test", codes, n, &png2, &len2, err, sizeof(err)),
				FF_OK);
		CU_ASSERT_EQUAL(len2, len);
		free(png2);
	}
	ff_review_close(r);
}

static void test_refused(void)
{
	ff_review *r = NULL;
	uint8_t codes[256];
	size_t n = known_codes(codes, sizeof(codes)), len = 0;
	unsigned char *png = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(ff_review_open(&r, "/nonexistent/vq", err, sizeof(err)), FF_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(ff_review_open(NULL, vq_dir, err, sizeof(err)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL_FATAL(ff_review_open(&r, vq_dir, err, sizeof(err)), FF_OK);
	/* one byte short, one too many, none */
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "tiny-test", codes, n - 1, &png, &len, err, sizeof(err)),
			FF_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tiny-test"));
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "tiny-test", codes, n + 1, &png, &len, err, sizeof(err)),
			FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "tiny-test", codes, 0, &png, &len, err, sizeof(err)),
			FF_ERR_FORMAT);
	/* a model that is not there, a name that is no id */
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "no-such-model", codes, n, &png, &len, err, sizeof(err)),
			FF_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "../vq/tiny-test", codes, n, &png, &len, err, sizeof(err)),
			FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_review_codes_png(r, "tiny-test", NULL, n, &png, &len, err, sizeof(err)),
			FF_ERR_INVAL);
	CU_ASSERT_PTR_NULL(png);
	/* without a database connection: refused before any query */
	CU_ASSERT_EQUAL(ff_review_event_png(r, NULL, "x", "t", &png, &len, err, sizeof(err)), FF_ERR_INVAL);
	ff_review_close(r);
	ff_review_close(NULL);
}

static CU_TestInfo review_tests[] = {
	{ "render", test_render },
	{ "refused", test_refused },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "review", setup, NULL, NULL, NULL, review_tests });
