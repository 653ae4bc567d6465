/* facefleet/uuid.h: UUID text through libuuid, the one place that formats
 * UUIDs (event ids). */
#ifndef FF_UUID_H
#define FF_UUID_H

#include <stdint.h>

/* A random (version 4) UUID as 36 lowercase characters + NUL. */
void ff_uuid4(char out[37]);

/* The name-based (version 5, SHA-1) UUID of name in namespace ns (UUID
 * text), as 36 lowercase characters + NUL. The same name gives the same id. */
void ff_uuid5(const char *ns, const char *name, char out[37]);
/* True when s is UUID text (8-4-4-4-12 hex digits, any case): what may be
 * passed to PostgreSQL as $1::uuid without an error (event ids from users). */
int ff_uuid_valid(const char *s);
/* The namespace of event ids (be_event_id: "device/seq"). */
#define FF_UUID_NS_EVENTS "6f1c3a52-2d0e-4b7e-9a5d-5f0e6b2c9d41"

#endif
