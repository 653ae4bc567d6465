/* fleet-eval: classical image codecs at a byte budget, the baselines the VQ
 * codes are compared with (methods jpeg_N, webp_N, avif_N). One table entry
 * per codec (libjpeg-turbo, libwebp, libavif); the budget search, the
 * resolution ladder and the choice among its rungs are shared by all.
 * av1_N is avif_N's files with only their AV1 bitstream counted: libavif
 * 0.11's container alone is over 256 B. */
#ifndef FLEET_EVAL_CODEC_H
#define FLEET_EVAL_CODEC_H

#include <stddef.h>

#include "facefleet/image.h"

struct ev_codec {
	const char *name; /* method prefix: jpeg_N, webp_N, avif_N */
	int q_min, q_max; /* the searched quality range; the file grows with quality */
	/* img -> whole file at quality q, *out malloc'd. Returns FF_OK or an ff_err. */
	int (*encode)(const ff_image *img, int q, unsigned char **out, size_t *len);
	/* file -> RGB image (ff_image_free). Returns FF_OK or an ff_err. */
	int (*decode)(const unsigned char *buf, size_t len, ff_image *out);
	/* the bytes of a file counted against the budget; NULL: all of them */
	size_t (*counted)(const unsigned char *buf, size_t len);
};

/* c->counted's bytes of a file of c, or len. */
size_t ev_codec_counted(const struct ev_codec *c, const unsigned char *buf, size_t len);

/* The codec whose name is the first len characters of s, or NULL. */
const struct ev_codec *ev_codec_find(const char *s, size_t len);

/* The file of img at the best quality whose whole file fits budget bytes
 * (binary search over q_min..q_max; the bytes ev_codec_counted counts).
 * Returns FF_OK (*out malloc'd, the whole file: *len; *quality), FF_ERR_RANGE (q_min does not fit), or the codec's error. */
int ev_codec_fit(const struct ev_codec *c, const ff_image *img, int budget, unsigned char **out,
		 size_t *len, int *quality);

/* Sides tried when no side is fixed (smallest first, up to the first that
 * does not fit): at a tight budget a smaller image at a higher quality can
 * keep more of the face. */
#define EV_LADDER_SIDES { 112, 96, 80, 64, 48, 32 }

/* A crop through a codec, decoded and scaled back to the crop's size. */
struct ev_coded {
	ff_image face; /* crop-sized RGB (ff_image_free) */
	size_t bytes;  /* counted bytes of the file sent (ev_codec_counted) */
	int quality;   /* the codec quality used */
	int side;      /* the side it was coded at */
	double mse;    /* mean squared error against the crop, per channel value */
};

/* Codes the square crop within budget bytes: at `side` when side > 0, else
 * at each EV_LADDER_SIDES side, keeping the rung whose decoded face is
 * nearest the crop (least squared error: what a sender can compute, no
 * identity involved). Returns FF_OK (*out filled), FF_ERR_RANGE (nothing
 * fits), FF_ERR_INVAL, FF_ERR_NOMEM or a codec error. */
int ev_codec_compress(const struct ev_codec *c, const ff_image *crop, int budget, int side,
		      struct ev_coded *out);

/* Mean squared error of two images of the same size (per channel value),
 * or -1 when their sizes differ. */
double ev_image_mse(const ff_image *a, const ff_image *b);

#endif
