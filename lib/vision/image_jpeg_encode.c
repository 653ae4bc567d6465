/* JPEG encoding of an RGB image into memory (the baseline a face crop is
 * compared with: fleet-eval's jpeg_N methods, fleet-device --bench). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

#include "facefleet/error.h"
#include "facefleet/image.h"

struct enc_err {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
};

static void enc_fail(j_common_ptr cinfo)
{
	longjmp(((struct enc_err *)cinfo->err)->jb, 1);
}

int ff_image_encode_jpeg(const ff_image *img, int quality, unsigned char **out, size_t *len)
{
	struct jpeg_compress_struct c;
	struct enc_err err;
	unsigned char *volatile buf = NULL;
	unsigned long size = 0;

	if (!img || !img->data || img->width <= 0 || img->height <= 0 || quality < 1 ||
	    quality > 100 || !out || !len)
		return FF_ERR_INVAL;
	c.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = enc_fail;
	if (setjmp(err.jb)) {
		jpeg_destroy_compress(&c);
		free(buf);
		return FF_ERR_FORMAT;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, (unsigned char **)&buf, &size);
	c.image_width = (JDIMENSION)img->width;
	c.image_height = (JDIMENSION)img->height;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	c.optimize_coding = TRUE; /* the smallest baseline JPEG: the fair comparison */
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = img->data + (size_t)c.next_scanline * img->stride;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*out = buf;
	*len = size;
	return FF_OK;
}
