/* facefleet: the one error enum shared by every library and program.
 *
 * Every public function that can fail returns FF_OK (0) or one of these
 * negative codes, and documents which ones. ff_strerror() gives a short
 * human-readable text; never compare texts, compare codes. */
#ifndef FACEFLEET_ERROR_H
#define FACEFLEET_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ff_err {
	FF_OK = 0,
	FF_ERR_NOMEM = -1,       /* allocation failed */
	FF_ERR_INVAL = -2,       /* invalid argument (caller bug or bad option value) */
	FF_ERR_IO = -3,          /* file or socket I/O failed; errno may say more */
	FF_ERR_NOTFOUND = -4,    /* file, key, device or identity does not exist */
	FF_ERR_FORMAT = -5,      /* malformed input: corrupt file, bad protobuf, bad image */
	FF_ERR_RANGE = -6,       /* value out of range: size limit, code index, dimension */
	FF_ERR_UNSUPPORTED = -7, /* well-formed but not supported (op, pixel format, model id) */
	FF_ERR_CONFIG = -8,      /* configuration file or option rejected */
	FF_ERR_BACKEND = -9,     /* inference back end (XNNPACK) failed */
	FF_ERR_MQTT = -10,       /* MQTT client or broker error */
	FF_ERR_AUTH = -11,       /* authentication or authorisation refused */
	FF_ERR_DB = -12,         /* PostgreSQL error */
	FF_ERR_TIMEOUT = -13,    /* operation did not finish in time */
	FF_ERR_FULL = -14,       /* bounded queue or buffer is full */
	FF_ERR_STATE = -15,      /* call not valid in the object's current state */
	FF_ERR__LAST = -16
} ff_err;

/* Returns a static, never-NULL description of err (unknown codes included). */
const char *ff_strerror(int err);

/* Writes a one-line message into the `char *errbuf, size_t errlen`
 * out-parameter that many facefleet APIs take: printf-formatted, truncated to
 * fit, newlines turned into spaces (a trailing one dropped). Does nothing when
 * errbuf is NULL or errlen is 0. */
void ff_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
