/* facefleet/uuid.h: UUID text through libuuid, the one place that formats
 * UUIDs (event ids). */
#ifndef FF_UUID_H
#define FF_UUID_H

#include <stdint.h>

/* A random (version 4) UUID as 36 lowercase characters + NUL. */
void ff_uuid4(char out[37]);

/* The 16 bytes b as UUID text, 36 lowercase characters + NUL
 * ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"). b is written as is: the caller
 * sets the version and variant bits. */
void ff_uuid_format(const uint8_t b[16], char out[37]);

#endif
