/* backend/metrics.h: counters, gauges and latency histograms of
 * fleet-backend, served as Prometheus text on GET /metrics by the HTTP
 * listener (http.c). All updates are lock-free atomics. Every family has # HELP and
 * # TYPE; ff_backend_build_info{version} carries FF_VERSION; the label sets
 * known in advance (decisions, stages, queues, the reject reasons of
 * validate.c and the writer) are exported at 0 from the start, so rate()
 * works before the first event. */
#ifndef BE_BACKEND_METRICS_H
#define BE_BACKEND_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Latency stages (histograms, seconds in the output). */
typedef enum be_stage {
	BE_STAGE_QUEUE = 0,   /* arrival -> a worker picks it up */
	BE_STAGE_VALIDATE,
	BE_STAGE_DECODE,
	BE_STAGE_EMBED,
	BE_STAGE_MATCH,
	BE_STAGE_COMMIT,      /* decided -> committed (batch wait + write) */
	BE_STAGE_TOTAL,       /* arrival -> committed and acknowledged */
	BE_STAGE__COUNT
} be_stage;

/* reason label values held: the known ones and room for others */
#define BE_REJECT_REASONS_MAX 48

/* Counts one message in. */
void be_metrics_message_in(void);
/* Counts one rejected message by reason (a short fixed word; NULL or empty
 * counts as "unspecified"). */
void be_metrics_rejected(const char *reason);
void be_metrics_decision(be_decision d);
void be_metrics_duplicate(void);
void be_metrics_observe(be_stage s, int64_t us);
void be_metrics_batch(size_t rows, int64_t commit_us);
void be_metrics_db_error(void);
void be_metrics_set_db_up(int up);
void be_metrics_set_mqtt_up(int up);
void be_metrics_published(int ok);
void be_metrics_set_gallery(size_t templates, size_t identities);
/* A committed face fused into its track; changed: it changed the track's decision. */
void be_metrics_track_face(int changed);
/* Tracks held, and dropped so far (track_fusion.h). */
void be_metrics_set_tracks(size_t held, uint64_t expired, uint64_t evicted);
/* Gauges read at scrape time. */
typedef size_t (*be_metrics_gauge_fn)(void *ctx);
void be_metrics_set_queue_gauges(be_metrics_gauge_fn work, be_metrics_gauge_fn write,
				 be_metrics_gauge_fn inflight, void *ctx);

/* ---- what the backend reads of status topics (status_watch.c) ---- */
/* A share-group member's presence states (publisher.h's be_presence). */
typedef enum be_member_state {
	BE_MEMBER_ONLINE = 0,
	BE_MEMBER_STOPPED,
	BE_MEMBER_LOST,
	BE_MEMBER__COUNT
} be_member_state;
#define BE_GROUP_NAME_MAX 64 /* share_group's longest (backend_config.c) */
typedef struct be_group_members {
	char group[BE_GROUP_NAME_MAX + 1];
	long long n[BE_MEMBER__COUNT];
} be_group_members;
/* Fills out (cap >= 1 entries) with the members seen per share group, at
 * scrape time, out[0] always group first (its counts 0 when none is seen), so
 * that other groups, however many, cannot crowd it out; returns how many
 * entries. */
typedef size_t (*be_metrics_members_fn)(void *ctx, const char *first, be_group_members *out,
					size_t cap);
/* ff_backend_share_group_members{share_group,state}: own_group's three
 * states always (0 before any presence), the other groups fn reports. */
void be_metrics_set_members(const char *own_group, be_metrics_members_fn fn, void *ctx);
/* What became of one DeviceStatus: its state (= proto DeviceState), or
 * refused: not of a registered device of that site, or malformed. */
typedef enum be_dstatus_result {
	BE_DSTATUS_INVALID = 0,
	BE_DSTATUS_ONLINE = 1,
	BE_DSTATUS_OFFLINE = 2,
	BE_DSTATUS_DEGRADED = 3,
	BE_DSTATUS_UNKNOWN_DEVICE,
	BE_DSTATUS__COUNT
} be_dstatus_result;
void be_metrics_device_status(be_dstatus_result r);

/* Writes the whole text exposition (format 0.0.4) into a malloc'd,
 * NUL-terminated string (*len set, not counting the NUL). Returns NULL when
 * out of memory; the caller frees it. Needs no server (be_metrics_serve). */
char *be_metrics_render(size_t *len);

/* The up gauges, for /healthz (served by http.c, like /metrics). */
int be_metrics_db_up(void);
int be_metrics_mqtt_up(void);

#endif
