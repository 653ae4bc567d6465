/* The id rule (facefleet/ids.h). */
#include "facefleet/ids.h"

#include <string.h>

bool ff_id_valid_n(const char *s, size_t n)
{
	if (!s || n < 1 || n > FF_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool ff_id_valid(const char *s)
{
	return s && ff_id_valid_n(s, strlen(s));
}
