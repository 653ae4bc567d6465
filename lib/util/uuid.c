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

void ff_uuid_format(const uint8_t b[16], char out[37])
{
	uuid_t u;
	memcpy(u, b, sizeof(u));
	uuid_unparse_lower(u, out);
}
