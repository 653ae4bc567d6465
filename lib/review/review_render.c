/* The reconstruction's marking and PNG encoding (review_internal.h). The
 * banner uses its own tiny font so that no font file or library is needed
 * where the backend runs. */
#include "review_internal.h"

#include "facefleet/error.h"

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GLYPH_W 5
#define GLYPH_H 7
#define SCALE 2
#define ADVANCE ((GLYPH_W + 1) * SCALE)

/* 5x7 glyphs of the banner's letters, one row a byte, bit 4 leftmost. */
static const struct glyph {
	char c;
	uint8_t rows[GLYPH_H];
} font[] = {
	{ 'C', { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e } },
	{ 'E', { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f } },
	{ 'I', { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e } },
	{ 'N', { 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11 } },
	{ 'O', { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
	{ 'R', { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11 } },
	{ 'S', { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e } },
	{ 'T', { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 } },
	{ 'U', { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
};

static const uint8_t banner_rgb[3] = { 160, 0, 0 };
static const uint8_t text_rgb[3] = { 255, 255, 255 };

static const uint8_t *glyph_rows(char c)
{
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].c == c)
			return font[i].rows;
	return NULL; /* a space, or a letter the banner does not use */
}

static void fill(ff_image *img, int x0, int y0, int w, int h, const uint8_t rgb[3])
{
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			memcpy(img->data + (size_t)y * img->stride + (size_t)x * 3, rgb, 3);
}

static void draw_glyph(ff_image *img, const uint8_t *rows, int x0, int y0)
{
	for (int gy = 0; gy < GLYPH_H; gy++)
		for (int gx = 0; gx < GLYPH_W; gx++)
			if (rows[gy] & (0x10 >> gx))
				fill(img, x0 + gx * SCALE, y0 + gy * SCALE, SCALE, SCALE, text_rgb);
}

int ff_review_draw_banner(ff_image *img)
{
	const char *t = FF_REVIEW_BANNER_TEXT;
	int len = (int)strlen(t), text_w = len * ADVANCE - SCALE, x, y;
	if (!img || !img->data || img->height < FF_REVIEW_BANNER_H || img->width < text_w + 2)
		return FF_ERR_INVAL;
	fill(img, 0, 0, img->width, FF_REVIEW_BANNER_H, banner_rgb);
	x = (img->width - text_w) / 2;
	y = (FF_REVIEW_BANNER_H - GLYPH_H * SCALE) / 2;
	for (int i = 0; i < len; i++, x += ADVANCE) {
		const uint8_t *rows = glyph_rows(t[i]);
		if (rows)
			draw_glyph(img, rows, x, y);
	}
	return FF_OK;
}

/* ---- PNG into memory ---- */

typedef struct membuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
	membuf *m = png_get_io_ptr(png);
	if (m->oom)
		return;
	if (m->len + n > m->cap) {
		size_t cap = (m->cap ? m->cap * 2 : 16384) + n;
		unsigned char *p = realloc(m->p, cap);
		if (!p) {
			m->oom = 1;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, n);
	m->len += n;
}

static void mem_flush(png_structp png)
{
	(void)png;
}

/* The PNG stream of img through png; FF_ERR_FORMAT when libpng refused
 * (its longjmp lands here, where no local changes after setjmp). */
static int write_png(png_structp png, png_infop info, membuf *m, const ff_image *img)
{
	png_text text;
	if (setjmp(png_jmpbuf(png)))
		return FF_ERR_FORMAT;
	png_set_write_fn(png, m, mem_write, mem_flush);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	memset(&text, 0, sizeof(text));
	text.compression = PNG_TEXT_COMPRESSION_NONE;
	text.key = (png_charp)FF_REVIEW_PNG_KEY;
	text.text = (png_charp)FF_REVIEW_PNG_TEXT;
	png_set_text(png, info, &text, 1);
	png_write_info(png, info);
	for (int y = 0; y < img->height; y++)
		png_write_row(png, img->data + (size_t)y * img->stride);
	png_write_end(png, info);
	return m->oom ? FF_ERR_NOMEM : FF_OK;
}

int ff_review_encode_png(const ff_image *img, unsigned char **out, size_t *out_len)
{
	png_structp png = NULL;
	png_infop info = NULL;
	membuf m = { NULL, 0, 0, 0 };
	int rc = FF_ERR_NOMEM;

	if (!img || !img->data || !out || !out_len)
		return FF_ERR_INVAL;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png && (info = png_create_info_struct(png)))
		rc = write_png(png, info, &m, img);
	png_destroy_write_struct(&png, &info);
	if (rc == FF_OK) {
		*out = m.p;
		*out_len = m.len;
	} else {
		free(m.p);
	}
	return rc;
}
