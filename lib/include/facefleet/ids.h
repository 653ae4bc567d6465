/* facefleet/ids.h: the one rule for site, device and model ids. */
#ifndef FF_IDS_H
#define FF_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* Site, device and VQ model ids are [a-z0-9-]{1,FF_ID_MAX}: they are MQTT
 * topic levels (fleet/<site>/<device>/...), database keys and file names,
 * so the rule keeps them free of wildcards, separators and quotes
 * (proto/facefleet.proto). */
#define FF_ID_MAX 32

/* True when the n bytes at s are a valid id. */
bool ff_id_valid_n(const char *s, size_t n);
/* True when the string s is a valid id (NULL: false). */
bool ff_id_valid(const char *s);

#endif
