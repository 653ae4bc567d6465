/* backend/backend.h: what the parts of fleet-backend share.
 *
 * One face through the service (file per step):
 *   subscriber.c  MQTT v5 session on $share/<group>/fleet/+/+/faces; a
 *                 PUBLISH becomes an be_job (PUBACK withheld)
 *   job.c         a message's life: job, decision, event id
 *   queue.c       bounded blocking queues between the stages
 *   validate.c    parse + check everything before any compute
 *   recognize.c   VQ decode -> MobileFaceNet -> gallery match (worker threads)
 *   track_fusion.c faces of one track (FaceCodes track_id) fused and decided
 *                 together; an AccessEvent when the track's decision changes
 *   gallery.c     enrolled embeddings in memory;  devices.c  device cache + replay marks
 *   store_writer.c batched PostgreSQL writes; after COMMIT: PUBACK, then
 *   publisher.c   AccessEvent on fleet/<site>/<device>/access (QoS 1)
 *   store_listen.c LISTEN/NOTIFY refreshes and partition maintenance
 *   metrics.c     Prometheus text endpoint;  backend_config.c settings
 *   main.c        wires them. */
#ifndef BE_BACKEND_H
#define BE_BACKEND_H

#include <pthread.h>
#include "facefleet/ids.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facefleet/clock.h" /* ff_now_us, ff_mono_us */
#include "facefleet/text.h"  /* ff_sanitize */

#define BE_TOPK_MAX 10
#define BE_EXTID_MAX 128      /* identities.external_id */
#define BE_REASON_MAX 48

/* ---- decisions ------------------------------------------------------------------ */
typedef enum be_decision {
	BE_DECISION_NONE = 0,     /* rejected before any event: audit row only */
	BE_DECISION_GRANTED = 1,
	BE_DECISION_UNKNOWN = 2,
	BE_DECISION_REJECTED = 3,
	BE_DECISION_INVALID = 4,  /* event row 'invalid': the device is known, the payload bad */
} be_decision;
const char *be_decision_name(be_decision d); /* "granted", ...; "none" */
be_decision be_decision_parse(const char *name); /* the inverse; NONE when unknown */

typedef struct be_match {
	int64_t identity_id;
	char external_id[BE_EXTID_MAX + 1];
	float score;
	bool allowed;             /* identity enabled and allowed at the message's site */
} be_match;

/* ---- one message through the pipeline ------------------------------------------------ */
typedef struct be_job {
	/* transport */
	uint16_t packet_id;       /* 0: QoS 0, nothing to acknowledge */
	uint64_t conn_gen;        /* subscriber connection the message came on */
	bool dup;
	char topic[160];          /* sanitised copy, for the audit source */
	uint8_t *payload;         /* owned */
	size_t len;
	int64_t received_us;      /* wall clock */
	int64_t t_in;             /* monotonic, at arrival */
	/* parsed (valid once validation got that far; sanitised for storage) */
	char device_id[FF_ID_MAX + 1];
	char site_id[FF_ID_MAX + 1];
	char model_id[FF_ID_MAX + 1];
	char claimed_device[72];  /* what the message or topic claimed, sanitised */
	uint64_t seq;
	int64_t capture_us;
	bool capture_clamped;     /* the device's capture time was implausible */
	bool drop_silently;       /* over budget, not the minute's audited one: no row */
	uint64_t budget_dropped;  /* the audited one: drops since the last audit */
	bool flood_disable;       /* over budget too long: this job disables its device */
	int model_index;          /* into the loaded decoders, -1 = none */
	uint16_t idx[1024];       /* unpacked code indices (FF_VQ_MAX_CODES) */
	size_t nidx;
	uint8_t codes[256];       /* the indices packed (FF_VQ_MAX_PACKED; sent packed or coded),
				   * kept in the event row for review */
	size_t ncodes;            /* 0: none (not a valid face) */
	/* outcome */
	be_decision decision;
	char reason[BE_REASON_MAX];
	be_match top[BE_TOPK_MAX];
	int ntop;
	float score;
	float threshold;          /* the threshold it was decided at (device, site or global) */
	int64_t decided_us;
	char event_id[37];        /* be_event_id(device_id, seq) once seq is known */
	char digest[65];          /* SHA-256 of the payload, hex, once seq is known */
	bool inserted;            /* store: event row made now (false: duplicate) */
	/* its face track (FaceCodes track_id, track_index, quality; track_id 0:
	 * none) and the track's decision on the fusion of its faces
	 * (track_fusion.h) */
	uint64_t track_id;
	uint32_t track_index;
	float quality;
	be_decision track_decision; /* NONE: not fused (no track, invalid, fusion off) */
	char track_reason[BE_REASON_MAX];
	be_match track_top;       /* the fusion's best match, when track_ntop is 1 */
	int track_ntop;
	float track_score;
	int faces_fused;
	bool track_changed;       /* it changed its track's decision or identity: it carries
				   * the track's AccessEvent (a fused face that does not: none) */
	/* stage timings, microseconds */
	int64_t t_validate, t_decode, t_embed, t_match, t_decided;
} be_job;

be_job *be_job_new(const char *topic, const void *payload, size_t len);
void be_job_free(be_job *j);
/* Sets decision/reason (reason is a short machine-readable word). */
void be_job_reject(be_job *j, be_decision d, const char *reason);

/* The event id of (device_id, seq): the name-based (version 5) UUID of
 * "device_id/seq" in facefleet's event namespace, so a redelivered face gets
 * the id of the row already committed for it (and its AccessEvent the same
 * event_id). */
void be_event_id(const char *device_id, uint64_t seq, char out[37]);

/* ---- bounded blocking queue of pointers, two lanes ------------------------------- */
/* Lane 1 is served only while lane 0 is empty: the backend queues a device
 * that is spending its burst there, so a flood (or a long outbox drain) does
 * not hold up the other devices' faces. */
#define BE_QUEUE_LANES 2
typedef struct be_ring {
	void **items;
	size_t head, count;
} be_ring;
typedef struct be_queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	be_ring lane[BE_QUEUE_LANES];
	size_t cap; /* per lane */
	bool closed;
} be_queue;

int be_queue_init(be_queue *q, size_t cap);
void be_queue_destroy(be_queue *q);
/* Blocks while lane 0 is full; false once closed (item not queued). */
bool be_queue_push(be_queue *q, void *item);
/* The same on lane (0 or 1). */
bool be_queue_push_lane(be_queue *q, void *item, int lane);
/* Blocks up to timeout_ms (-1: forever) for an item, lane 0's first; NULL on
 * timeout or when closed and empty. */
void *be_queue_pop(be_queue *q, int timeout_ms);
/* After close, pushes fail and pops drain what is left. */
void be_queue_close(be_queue *q);
/* True once closed and empty. */
bool be_queue_drained(be_queue *q);
size_t be_queue_depth(be_queue *q);

#endif
