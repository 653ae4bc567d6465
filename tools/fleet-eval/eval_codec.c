/* fleet-eval: JPEG, WebP and AVIF at a byte budget. See eval_codec.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <avif/avif.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "facefleet/error.h"
#include "eval_codec.h"

/* The codecs hand out buffers their own way (WebPFree, avifRWDataFree); the
 * shared code frees with free(), so each file is copied once. */
static int copy_out(const void *src, size_t len, unsigned char **out, size_t *olen)
{
	if (!(*out = malloc(len ? len : 1)))
		return FF_ERR_NOMEM;
	memcpy(*out, src, len);
	*olen = len;
	return FF_OK;
}

/* ---- JPEG (libjpeg-turbo through lib/vision) ---------------------------- */

static int jpeg_decode(const unsigned char *buf, size_t len, ff_image *out)
{
	return ff_image_decode(buf, len, NULL, out, NULL, 0);
}

/* ---- WebP ----------------------------------------------------------------- */

/* Lossy VP8 at method 6, libwebp's slowest and smallest: these files are a
 * few hundred bytes, encoding time does not matter. */
static int webp_encode(const ff_image *img, int q, unsigned char **out, size_t *len)
{
	WebPConfig config;
	WebPPicture pic;
	WebPMemoryWriter w;
	int rc = FF_ERR_FORMAT;

	if (!WebPConfigInit(&config) || !WebPPictureInit(&pic))
		return FF_ERR_UNSUPPORTED;
	WebPMemoryWriterInit(&w);
	config.quality = (float)q;
	config.method = 6;
	pic.width = img->width;
	pic.height = img->height;
	pic.writer = WebPMemoryWrite;
	pic.custom_ptr = &w;
	if (!WebPPictureImportRGB(&pic, img->data, (int)img->stride))
		rc = FF_ERR_NOMEM;
	else if (WebPEncode(&config, &pic))
		rc = copy_out(w.mem, w.size, out, len);
	WebPPictureFree(&pic);
	WebPMemoryWriterClear(&w);
	return rc;
}

static int webp_decode(const unsigned char *buf, size_t len, ff_image *out)
{
	int w = 0, h = 0, rc;

	if (!WebPGetInfo(buf, len, &w, &h) || w <= 0 || h <= 0)
		return FF_ERR_FORMAT;
	if ((rc = ff_image_alloc(out, w, h)) != FF_OK)
		return rc;
	if (!WebPDecodeRGBInto(buf, len, out->data, out->stride * (size_t)h, (int)out->stride)) {
		ff_image_free(out);
		return FF_ERR_FORMAT;
	}
	return FF_OK;
}

/* ---- AVIF ----------------------------------------------------------------- */

/* An ff_image seen as libavif's 8-bit RGB (no copy). */
static void avif_rgb_view(avifRGBImage *rgb, const avifImage *image, const ff_image *img)
{
	avifRGBImageSetDefaults(rgb, image);
	rgb->format = AVIF_RGB_FORMAT_RGB;
	rgb->depth = 8;
	rgb->pixels = img->data;
	rgb->rowBytes = (uint32_t)img->stride;
}

/* 4:2:0, one quantizer for the whole frame: libavif 0.11 has no "quality",
 * so quality q is quantizer 63 - q (0 worst .. 63 best). */
static int avif_encode(const ff_image *img, int q, unsigned char **out, size_t *len)
{
	avifImage *image = avifImageCreate((uint32_t)img->width, (uint32_t)img->height, 8,
					   AVIF_PIXEL_FORMAT_YUV420);
	avifEncoder *enc = avifEncoderCreate();
	avifRWData file = AVIF_DATA_EMPTY;
	avifRGBImage rgb;
	int rc = FF_ERR_FORMAT;

	if (!image || !enc) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	avif_rgb_view(&rgb, image, img);
	if (avifImageRGBToYUV(image, &rgb) != AVIF_RESULT_OK)
		goto out;
	enc->maxThreads = 1;
	enc->speed = 6; /* libavif's default trade-off; slower saves few bytes here */
	enc->minQuantizer = enc->maxQuantizer = AVIF_QUANTIZER_WORST_QUALITY - q;
	if (avifEncoderWrite(enc, image, &file) == AVIF_RESULT_OK)
		rc = copy_out(file.data, file.size, out, len);
out:
	avifRWDataFree(&file);
	if (enc)
		avifEncoderDestroy(enc);
	if (image)
		avifImageDestroy(image);
	return rc;
}

/* The AV1 bitstream inside an AVIF file: the payload of its top-level mdat
 * box. The rest (ftyp, meta: ~300 B from libavif 0.11, the same for every
 * face of a size) is what a fixed protocol could rebuild at the receiver.
 * Returns the whole length when there is no mdat. */
static size_t av1_payload(const unsigned char *buf, size_t len)
{
	size_t at = 0;

	while (len - at >= 8) {
		uint64_t size = (uint64_t)buf[at] << 24 | (uint64_t)buf[at + 1] << 16 |
				(uint64_t)buf[at + 2] << 8 | buf[at + 3];
		size_t head = 8;
		if (size == 1 && len - at >= 16) {
			size = 0;
			for (int i = 0; i < 8; i++)
				size = size << 8 | buf[at + 8 + (size_t)i];
			head = 16;
		} else if (size == 0) {
			size = len - at; /* the last box runs to the end of the file */
		}
		if (size < head || size > len - at)
			break;
		if (memcmp(buf + at + 4, "mdat", 4) == 0)
			return (size_t)size - head;
		at += (size_t)size;
	}
	return len;
}

static int avif_decode(const unsigned char *buf, size_t len, ff_image *out)
{
	avifDecoder *dec = avifDecoderCreate();
	avifImage *image = avifImageCreateEmpty();
	avifRGBImage rgb;
	int rc = FF_ERR_FORMAT;

	if (!dec || !image) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	dec->maxThreads = 1;
	if (avifDecoderReadMemory(dec, image, buf, len) != AVIF_RESULT_OK)
		goto out;
	if ((rc = ff_image_alloc(out, (int)image->width, (int)image->height)) != FF_OK)
		goto out;
	avif_rgb_view(&rgb, image, out);
	if (avifImageYUVToRGB(image, &rgb) != AVIF_RESULT_OK) {
		ff_image_free(out);
		rc = FF_ERR_FORMAT;
	}
out:
	if (image)
		avifImageDestroy(image);
	if (dec)
		avifDecoderDestroy(dec);
	return rc;
}

/* ---- shared: budget search, resolution ladder ------------------------------- */

static const struct ev_codec codecs[] = {
	{ "jpeg", 1, 100, ff_image_encode_jpeg, jpeg_decode, NULL },
	{ "webp", 0, 100, webp_encode, webp_decode, NULL },
	{ "avif", 0, AVIF_QUANTIZER_WORST_QUALITY, avif_encode, avif_decode, NULL },
	/* the same files, only their AV1 bitstream counted against the budget */
	{ "av1", 0, AVIF_QUANTIZER_WORST_QUALITY, avif_encode, avif_decode, av1_payload },
};

size_t ev_codec_counted(const struct ev_codec *c, const unsigned char *buf, size_t len)
{
	return c->counted ? c->counted(buf, len) : len;
}

const struct ev_codec *ev_codec_find(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (strlen(codecs[i].name) == len && strncmp(s, codecs[i].name, len) == 0)
			return &codecs[i];
	return NULL;
}

int ev_codec_fit(const struct ev_codec *c, const ff_image *img, int budget, unsigned char **out,
		 size_t *len, int *quality)
{
	unsigned char *best = NULL, *buf;
	size_t best_len = 0, n;
	int lo = c->q_min, hi = c->q_max, best_q = 0, rc = FF_OK;

	/* file size grows with quality: binary search the largest q that fits,
	 * q_min first since it often fails (AVIF files never fit 256 B) and one
	 * encode then settles it */
	for (int q = lo; lo <= hi; q = lo + (hi - lo) / 2) {
		if ((rc = c->encode(img, q, &buf, &n)) != FF_OK)
			goto out;
		if (ev_codec_counted(c, buf, n) <= (size_t)budget) {
			free(best);
			best = buf;
			best_len = n;
			best_q = q;
			lo = q + 1;
		} else {
			free(buf);
			hi = q - 1;
		}
	}
	rc = best ? FF_OK : FF_ERR_RANGE;
out:
	if (rc != FF_OK) {
		free(best);
		return rc;
	}
	*out = best;
	*len = best_len;
	*quality = best_q;
	return FF_OK;
}

double ev_image_mse(const ff_image *a, const ff_image *b)
{
	double sum = 0;

	if (a->width != b->width || a->height != b->height || a->width <= 0 || a->height <= 0)
		return -1;
	for (int y = 0; y < a->height; y++) {
		const uint8_t *pa = a->data + (size_t)y * a->stride, *pb = b->data + (size_t)y * b->stride;
		for (int x = 0; x < a->width * 3; x++)
			sum += (double)(pa[x] - pb[x]) * (pa[x] - pb[x]);
	}
	return sum / ((double)a->width * a->height * 3);
}

/* One rung: crop at side x side through the codec, back at the crop's size. */
static int code_at(const struct ev_codec *c, const ff_image *crop, int budget, int side,
		   struct ev_coded *r)
{
	ff_image small = FF_IMAGE_EMPTY, dec = FF_IMAGE_EMPTY;
	const ff_image *src = crop;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = FF_OK;

	memset(r, 0, sizeof(*r));
	if (side != crop->width || side != crop->height) {
		if ((rc = ff_image_resize(crop, side, side, &small)) != FF_OK)
			goto out;
		src = &small;
	}
	if ((rc = ev_codec_fit(c, src, budget, &buf, &len, &r->quality)) != FF_OK ||
	    (rc = c->decode(buf, len, &dec)) != FF_OK)
		goto out;
	r->bytes = ev_codec_counted(c, buf, len);
	if (dec.width != crop->width || dec.height != crop->height) {
		rc = ff_image_resize(&dec, crop->width, crop->height, &r->face);
	} else {
		r->face = dec; /* already the crop's size: handed over */
		dec = (ff_image)FF_IMAGE_EMPTY;
	}
	if (rc == FF_OK) {
		r->side = side;
		r->mse = ev_image_mse(&r->face, crop);
	}
out:
	free(buf);
	ff_image_free(&small);
	ff_image_free(&dec);
	return rc;
}

int ev_codec_compress(const struct ev_codec *c, const ff_image *crop, int budget, int side,
		      struct ev_coded *out)
{
	static const int ladder[] = EV_LADDER_SIDES;
	const int *sides = side > 0 ? &side : ladder;
	size_t n = side > 0 ? 1 : sizeof(ladder) / sizeof(ladder[0]);
	struct ev_coded best = { FF_IMAGE_EMPTY, 0, 0, 0, 0 }, r;
	int rc = FF_ERR_RANGE;

	if (!crop->data || crop->width <= 0 || crop->height <= 0 || budget <= 0)
		return FF_ERR_INVAL;
	/* smallest side first: a larger image at the lowest quality is never
	 * smaller, so the first side that does not fit ends the search */
	for (size_t i = n; i-- > 0;) {
		int e = code_at(c, crop, budget, sides[i], &r);
		if (e == FF_ERR_RANGE)
			break;
		if (e != FF_OK) {
			rc = e;
			break;
		}
		if (!best.face.data || r.mse < best.mse) {
			ff_image_free(&best.face);
			best = r;
		} else {
			ff_image_free(&r.face);
		}
		rc = FF_OK;
	}
	if (rc != FF_OK) {
		ff_image_free(&best.face);
		return rc;
	}
	*out = best;
	return FF_OK;
}
