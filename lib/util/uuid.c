/* UUID text through libuuid (facefleet/uuid.h). */
#include "facefleet/uuid.h"

#include <string.h>
#include <uuid/uuid.h>

void ff_uuid4(char out[37])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

int ff_uuid_valid(const char *s)
{
	uuid_t u;
	return s && strlen(s) == 36 && uuid_parse(s, u) == 0;
}

void ff_uuid5(const char *ns, const char *name, char out[37])
{
	uuid_t n, u;
	if (uuid_parse(ns, n) != 0)
		memset(n, 0, sizeof(n));
	uuid_generate_sha1(u, n, name, strlen(name));
	uuid_unparse_lower(u, out);
}
