/* facefleet/event_store.h: one recognition event as the HTTP API's EVENT
 * object (docs/openapi.yaml), the query and the JSON that fleet-backend
 * (GET /api/v1/events, the SSE feed) and fleetctl (events show) share, so the
 * two cannot drift (lib/store/event.c). */
#ifndef FF_EVENT_STORE_H
#define FF_EVENT_STORE_H

#include <libpq-fe.h>

struct cJSON;

#define FF_EVENT_ISO_MS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* SELECT and FROM of the EVENT columns (recognition_events e, identities i);
 * the caller appends WHERE / ORDER BY. The last column is decided_time in
 * microseconds since the epoch, for cursors; ff_event_json ignores it. */
#define FF_EVENT_SELECT                                                                         \
	"SELECT e.event_id::text, e.device_id, e.site_id, e.seq, "                              \
	FF_EVENT_ISO_MS("e.capture_time") ", " FF_EVENT_ISO_MS("e.received_time") ", "          \
	FF_EVENT_ISO_MS("e.decided_time") ", "                                                  \
	"  round(extract(epoch FROM e.decided_time - e.received_time) * 1000, 1), "             \
	"  e.decision, i.external_id, e.score, e.reason, e.model_id, e.track_id, e.topk::text, " \
	"  e.codes IS NOT NULL, (extract(epoch FROM e.decided_time) * 1000000)::bigint "        \
	"FROM recognition_events e LEFT JOIN identities i ON i.identity_id = e.identity_id "

/* The EVENT object of row i of a result of FF_EVENT_SELECT; NULL when out of
 * memory. */
struct cJSON *ff_event_json(const PGresult *res, int i);

#endif
