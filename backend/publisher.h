/* backend/publisher.h: AccessEvent publication on
 * fleet/<site>/<device>/access (QoS 1), after the event row is committed.
 * A thread of its own over lib/mqtt (Paho, reconnecting), so a slow or
 * absent broker never holds the database writer for long: a message is
 * retried with backoff for up to 10 minutes (a broker restart), then dropped
 * and counted (the event row is the record; the AccessEvent is a
 * notification).
 *
 * End to end: the face is acknowledged to the broker (the ack callback, i.e.
 * be_sub_ack) only after its AccessEvent has been acknowledged by the broker
 * (or given up on after the retries, or refused for good), so a backend
 * killed between COMMIT and the AccessEvent leaves the face unacknowledged
 * and the broker redelivers it. A redelivered face whose row already exists
 * (a duplicate) republishes the AccessEvent with the same event_id (event ids
 * derive from (device_id, seq), be_event_id): consumers dedupe by event_id.
 * An AccessEvent cut short by the drain deadline at shutdown leaves its face
 * unacknowledged for the same reason. A face of a track that leaves its
 * track's decision as it was has no AccessEvent (track_fusion.h): it is
 * acknowledged once its row is committed, and so is its redelivery. */
#ifndef BE_BACKEND_PUBLISHER_H
#define BE_BACKEND_PUBLISHER_H

#include <stddef.h>

#include "backend.h"
#include "facefleet/mqtt.h"

typedef struct be_publisher be_publisher;

/* Who this backend is as a member of its share group. The publisher keeps
 * it, retained, on facefleet/backend/<instance>/status (JSON: instance,
 * share_group, session_expiry_s, state): "online" on every (re)connection,
 * "stopped" on a clean stop, and "lost" as its last will, which the broker
 * publishes when the process dies or its link drops without a DISCONNECT.
 * `fleetctl stats` lists the members from these (docs/SCALING.md). */
typedef struct be_presence {
	const char *instance, *share_group;
	int session_expiry_s;
} be_presence;
#define BE_PRESENCE_FILTER "facefleet/backend/+/status"

/* Called once j's AccessEvent is published or given up on, on the publisher
 * thread or Paho's (events are published a window at a time): acknowledges
 * the face (thread-safe: be_sub_ack locks). */
typedef void (*be_publisher_ack_cb)(void *ctx, const be_job *j);

/* Connects (retrying in the background if the broker is not there yet);
 * presence NULL: no presence messages. Returns FF_OK, FF_ERR_NOMEM,
 * FF_ERR_RANGE (an instance name too long for the topic) or ff_mqtt_create's
 * errors. */
int be_publisher_start(const ff_mqtt_options *mqtt, const be_presence *presence,
		       const char *embed_model_id, size_t queue, be_publisher_ack_cb ack, void *ack_ctx,
		       be_publisher **out);
/* Queues an AccessEvent for j (inserted or duplicate) and takes ownership of
 * j: acknowledged through the ack callback, then freed. */
void be_publisher_submit(be_publisher *p, be_job *j);
/* Publishes what is queued (up to drain_ms), disconnects, frees. */
void be_publisher_stop(be_publisher *p, int drain_ms);

/* Publishes the device's Receipt (proto: what the backend has recorded of
 * it, for that device only; for the face seq with its outcome, or seq 0)
 * retained on fleet/<site>/<device>/receipt, without waiting; a failure is
 * logged (the sender sends the face again; the next receipt replaces it). */
void be_publisher_receipt(be_publisher *p, const char *site, const char *device, uint64_t last_seq,
			  uint64_t seq, const char *outcome);

/* Encodes the AccessEvent of a decided job into buf; returns its length,
 * 0 if it does not fit. */
size_t be_access_event_encode(const be_job *j, const char *embed_model_id, uint8_t *buf,
			      size_t cap);

#endif
