/* JPEG decoding with libjpeg-turbo. Errors and warnings (corrupt data,
 * premature end of file) longjmp back here and become FF_ERR_FORMAT: a
 * damaged frame is refused rather than decoded into grey garbage. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "facefleet/error.h"
#include "image_internal.h"

struct ff_jpeg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void ff_jpeg_error_exit(j_common_ptr cinfo)
{
	struct ff_jpeg_err *e = (struct ff_jpeg_err *)cinfo->err;

	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jb, 1);
}

static void ff_jpeg_emit_message(j_common_ptr cinfo, int level)
{
	struct ff_jpeg_err *e = (struct ff_jpeg_err *)cinfo->err;

	if (level < 0) { /* a warning: corrupt or truncated data */
		(*cinfo->err->format_message)(cinfo, e->msg);
		longjmp(e->jb, 1);
	}
}

int ff_image_decode_jpeg(const unsigned char *buf, size_t len, const ff_image_options *opt,
			 ff_image *out, char *errbuf, size_t errlen)
{
	struct jpeg_decompress_struct cinfo;
	struct ff_jpeg_err jerr;
	volatile int rc = FF_OK;

	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = ff_jpeg_error_exit;
	jerr.pub.emit_message = ff_jpeg_emit_message;
	jerr.msg[0] = '\0';
	if (setjmp(jerr.jb)) {
		ff_seterr(errbuf, errlen, "jpeg: %s", jerr.msg);
		ff_image_free(out);
		if (rc == FF_OK)
			rc = FF_ERR_FORMAT;
		goto out;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, buf, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
		ff_seterr(errbuf, errlen, "jpeg: CMYK/YCCK colour space not supported");
		rc = FF_ERR_UNSUPPORTED;
		goto out;
	}
	rc = ff_image_check_limits(opt, cinfo.image_width, cinfo.image_height, 0, errbuf,
				   errlen); /* scanline by scanline */
	if (rc != FF_OK)
		goto out;
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_components != 3) {
		ff_seterr(errbuf, errlen, "jpeg: %d output components", cinfo.output_components);
		rc = FF_ERR_UNSUPPORTED;
		goto out;
	}
	rc = ff_image_alloc(out, (int)cinfo.output_width, (int)cinfo.output_height);
	if (rc != FF_OK)
		goto out;
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = out->data + (size_t)cinfo.output_scanline * out->stride;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
out:
	jpeg_destroy_decompress(&cinfo);
	if (rc != FF_OK)
		ff_image_free(out);
	return rc;
}
