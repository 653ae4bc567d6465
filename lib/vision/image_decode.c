/* Format dispatch on magic bytes, and the binary PGM/PPM (P5/P6) parser. */
#include <ctype.h>
#include <string.h>

#include "facefleet/error.h"
#include "image_internal.h"

/* Reads one unsigned decimal header field, skipping whitespace and '#'
 * comments. Returns the value, or -1 on a malformed/oversized field. */
static long pnm_field(const unsigned char *buf, size_t len, size_t *pos)
{
	long v = 0;
	size_t p = *pos;
	int digits = 0;

	for (;;) {
		while (p < len && isspace(buf[p]))
			p++;
		if (p < len && buf[p] == '#') {
			while (p < len && buf[p] != '\n' && buf[p] != '\r')
				p++;
			continue;
		}
		break;
	}
	while (p < len && isdigit(buf[p])) {
		if (++digits > 9)
			return -1;
		v = v * 10 + (buf[p] - '0');
		p++;
	}
	if (digits == 0)
		return -1;
	*pos = p;
	return v;
}

int ff_image_decode_pnm(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen)
{
	size_t pos = 2, chans, need;
	long w, h, maxval;
	int rc;

	if (len < 2 || buf[0] != 'P' || (buf[1] != '5' && buf[1] != '6')) {
		ff_seterr(errbuf, errlen, "pnm: only binary P5/P6 is supported");
		return FF_ERR_UNSUPPORTED;
	}
	chans = buf[1] == '6' ? 3 : 1;
	w = pnm_field(buf, len, &pos);
	h = pnm_field(buf, len, &pos);
	maxval = pnm_field(buf, len, &pos);
	if (w < 0 || h < 0 || maxval < 0 || pos >= len || !isspace(buf[pos])) {
		ff_seterr(errbuf, errlen, "pnm: malformed or truncated header");
		return FF_ERR_FORMAT;
	}
	pos++; /* exactly one whitespace byte before the raster */
	if (maxval != 255) {
		ff_seterr(errbuf, errlen, "pnm: maxval %ld not supported (only 255)", maxval);
		return maxval > 0 && maxval < 65536 ? FF_ERR_UNSUPPORTED : FF_ERR_FORMAT;
	}
	rc = ff_image_check_limits(opt, w, h, 0, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	need = (size_t)w * (size_t)h * chans;
	if (len - pos < need) {
		ff_seterr(errbuf, errlen, "pnm: truncated raster (%zu of %zu bytes)", len - pos,
			  need);
		return FF_ERR_FORMAT;
	}
	rc = ff_image_from_raw(buf + pos, need, (int)w, (int)h,
			       chans == 3 ? FF_PIXFMT_RGB24 : FF_PIXFMT_GRAY8, 0, opt, out);
	if (rc != FF_OK)
		ff_seterr(errbuf, errlen, "pnm: %s", ff_strerror(rc));
	return rc;
}

int ff_image_decode(const void *buf, size_t len, const ff_image_options *opt, ff_image *out,
		    char *errbuf, size_t errlen)
{
	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	ff_image_options def = FF_IMAGE_OPTIONS_INIT;
	const unsigned char *b = buf;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!buf || !out)
		return FF_ERR_INVAL;
	if (!opt)
		opt = &def;
	if (len > opt->max_file_bytes) {
		ff_seterr(errbuf, errlen, "%zu bytes over the file size limit %zu", len,
			  opt->max_file_bytes);
		return FF_ERR_RANGE;
	}
	if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
		return ff_image_decode_jpeg(b, len, opt, out, errbuf, errlen);
	if (len >= 8 && memcmp(b, png_sig, 8) == 0)
		return ff_image_decode_png(b, len, opt, out, errbuf, errlen);
	if (len >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7')
		return ff_image_decode_pnm(b, len, opt, out, errbuf, errlen);
	ff_seterr(errbuf, errlen, "unknown image format (not JPEG, PNG or PGM/PPM)");
	return FF_ERR_FORMAT;
}
