/* ff_strerror and ff_seterr (facefleet/error.h). */
#include "facefleet/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ff_strerror(int err)
{
	switch ((ff_err)err) {
	case FF_OK: return "success";
	case FF_ERR_NOMEM: return "out of memory";
	case FF_ERR_INVAL: return "invalid argument";
	case FF_ERR_IO: return "I/O error";
	case FF_ERR_NOTFOUND: return "not found";
	case FF_ERR_FORMAT: return "malformed input";
	case FF_ERR_RANGE: return "value out of range";
	case FF_ERR_UNSUPPORTED: return "not supported";
	case FF_ERR_CONFIG: return "configuration rejected";
	case FF_ERR_BACKEND: return "inference back end failed";
	case FF_ERR_MQTT: return "MQTT error";
	case FF_ERR_AUTH: return "authentication or authorisation refused";
	case FF_ERR_DB: return "database error";
	case FF_ERR_TIMEOUT: return "timed out";
	case FF_ERR_FULL: return "queue or buffer full";
	case FF_ERR_STATE: return "invalid in current state";
	case FF_ERR__LAST: break;
	}
	return "unknown error";
}

void ff_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
		errbuf[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (errbuf[i] == '\n' || errbuf[i] == '\r')
			errbuf[i] = ' ';
}
