/* Private helpers shared by the lib/vision sources (not installed). */
#ifndef FF_VISION_IMAGE_INTERNAL_H
#define FF_VISION_IMAGE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "facefleet/image.h"

/* snprintf into errbuf when it is non-NULL. */
void ff_vision_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* FF_OK, FF_ERR_FORMAT (zero size) or FF_ERR_RANGE (over opt's limits). */
int ff_image_check_limits(const ff_image_options *opt, long long width, long long height,
			  char *errbuf, size_t errlen);

int ff_image_decode_jpeg(const unsigned char *buf, size_t len, const ff_image_options *opt,
			 ff_image *out, char *errbuf, size_t errlen);
int ff_image_decode_png(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen);
int ff_image_decode_pnm(const unsigned char *buf, size_t len, const ff_image_options *opt,
			ff_image *out, char *errbuf, size_t errlen);

#endif
