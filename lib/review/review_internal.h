/* lib/review: rendering a decoded face for a person to look at
 * (review_render.c), used by review.c. */
#ifndef FF_REVIEW_INTERNAL_H
#define FF_REVIEW_INTERNAL_H

#include <stddef.h>

#include "facefleet/image.h"

#define FF_REVIEW_BANNER_TEXT "RECONSTRUCTION"
#define FF_REVIEW_PNG_KEY "Description"
#define FF_REVIEW_PNG_TEXT "facefleet VQ reconstruction, not a photo"
#define FF_REVIEW_BANNER_H 22 /* rows of the banner at the image's top */

/* Draws the banner (a dark red strip across the top with FF_REVIEW_BANNER_TEXT
 * in white, a built-in 5x7 font at scale 2) into img, which must be at least
 * FF_REVIEW_BANNER_H rows high and wide enough for the text (>= 170 px).
 * Returns FF_OK or FF_ERR_INVAL. */
int ff_review_draw_banner(ff_image *img);
/* img as a PNG (8-bit RGB) with the tEXt chunk Description: FF_REVIEW_PNG_TEXT,
 * into a malloc'd buffer. Returns FF_OK, FF_ERR_NOMEM, FF_ERR_FORMAT (libpng
 * refused it). */
int ff_review_encode_png(const ff_image *img, unsigned char **png, size_t *len);

#endif
