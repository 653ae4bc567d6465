/* backend/status_watch.h: what fleet-backend reads of the retained status
 * topics, on its inbound session's watch filters (subscriber.h):
 *  - fleet/+/+/status: each device's DeviceStatus (proto; retained, and its
 *    last will OFFLINE). The state is kept in the device's registry entry
 *    (registry.h be_devices_set_status), so memory is bounded by the
 *    registry: a status of a device not registered at that site is counted
 *    (unknown_device) and dropped, a malformed one counted (invalid).
 *    GET /api/v1/devices reports online/offline from it (http_devices.c).
 *  - facefleet/backend/+/status: the share-group members' presence (JSON,
 *    publisher.h), counted per share group and state for
 *    ff_backend_share_group_members (metrics.h): a "lost" member died or
 *    lost its link, and its session may hold a share of the faces.
 * Messages arrive on the subscriber thread and never block it. */
#ifndef BE_BACKEND_STATUS_WATCH_H
#define BE_BACKEND_STATUS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "registry.h"

/* Members held (one per backend instance); when full, a newcomer takes a
 * stopped member's place, else it is ignored (logged). */
#define BE_STATUS_MEMBERS_MAX 256

typedef struct be_status_watch be_status_watch;

/* A watch over devices (kept, not owned). Returns FF_OK or FF_ERR_NOMEM. */
int be_status_watch_create(be_devices *devices, be_status_watch **out);
void be_status_watch_free(be_status_watch *w);
/* The topic filters to subscribe (NULL-terminated, owned by w). */
const char *const *be_status_watch_filters(const be_status_watch *w);
/* One message of those filters (from a be_sub_watch_cb). retained: the
 * broker's stored copy, whose own time is all that says when the device
 * was seen; a live one was seen now. */
void be_status_watch_message(be_status_watch *w, const char *topic, const uint8_t *payload,
			     size_t len, bool retained);
/* The members per share group (be_metrics_members_fn; ctx is the watch). */
size_t be_status_watch_members(void *ctx, const char *first, be_group_members *out,
				size_t cap);

#endif
