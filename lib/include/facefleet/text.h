/* facefleet/text.h: untrusted text made safe to show and store. */
#ifndef FF_TEXT_H
#define FF_TEXT_H

#include <stddef.h>

/* Copies untrusted text (ids, names, reasons from the wire or the database)
 * for logs, SQL, JSON and terminals: printable ASCII kept, anything else
 * (control characters, terminal escapes, bytes >= 0x7f) and the backslash
 * as \xNN, truncated to fit dst. Returns dst (always NUL-terminated when
 * dstlen > 0). */
char *ff_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
