/* Untrusted text made safe to show and store (facefleet/text.h). */
#include "facefleet/text.h"

char *ff_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t o = 0;
	static const char hex[] = "0123456789abcdef";
	if (!dstlen)
		return dst;
	for (size_t i = 0; i < srclen && src; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
