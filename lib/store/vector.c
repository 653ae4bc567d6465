/* The gallery's embedding format, real[] text (facefleet/store.h). */
#include "facefleet/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "facefleet/error.h"

int ff_store_vector_format(const float *v, size_t dim, char *out, size_t cap)
{
	size_t len = 0;
	if (!v || !dim || !out || !cap)
		return FF_ERR_INVAL;
	for (size_t i = 0; i < dim; i++) {
		int n;
		if (!isfinite(v[i]))
			return FF_ERR_INVAL;
		n = snprintf(out + len, cap - len, "%s%.9g", i ? "," : "{", (double)v[i]);
		if (n < 0 || (size_t)n >= cap - len)
			return FF_ERR_RANGE;
		len += (size_t)n;
	}
	if (len + 2 > cap)
		return FF_ERR_RANGE;
	out[len++] = '}';
	out[len] = '\0';
	return FF_OK;
}

int ff_store_vector_parse(const char *t, float *out, size_t dim)
{
	size_t n = 0;
	char *end;
	if (!t || !out || *t++ != '{')
		return FF_ERR_FORMAT;
	while (*t && *t != '}') {
		float v = strtof(t, &end);
		if (end == t || n >= dim || !isfinite(v))
			return FF_ERR_FORMAT;
		out[n++] = v;
		t = end;
		if (*t == ',')
			t++;
		else if (*t != '}')
			return FF_ERR_FORMAT;
	}
	return n == dim && *t == '}' && t[1] == '\0' ? FF_OK : FF_ERR_FORMAT;
}
