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

/* Writes the whole text exposition (format 0.0.4) into a malloc'd,
 * NUL-terminated string (*len set, not counting the NUL). Returns NULL when
 * out of memory; the caller frees it. Needs no server (be_metrics_serve). */
char *be_metrics_render(size_t *len);

/* The up gauges, for /healthz (served by http.c, like /metrics). */
int be_metrics_db_up(void);
int be_metrics_mqtt_up(void);

#endif
