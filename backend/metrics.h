/* backend/metrics.h: counters, gauges and latency histograms of
 * fleet-backend, served as Prometheus text on GET /metrics by a tiny HTTP
 * thread. All updates are lock-free atomics. */
#ifndef FF_BACKEND_METRICS_H
#define FF_BACKEND_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Latency stages (histograms, seconds in the output). */
typedef enum ff_stage {
	FF_STAGE_QUEUE = 0,   /* arrival -> a worker picks it up */
	FF_STAGE_VALIDATE,
	FF_STAGE_DECODE,
	FF_STAGE_EMBED,
	FF_STAGE_MATCH,
	FF_STAGE_COMMIT,      /* decided -> committed (batch wait + write) */
	FF_STAGE_TOTAL,       /* arrival -> committed and acknowledged */
	FF_STAGE__COUNT
} ff_stage;

#define FF_REJECT_REASONS_MAX 32

/* Counts one message in. */
void ff_metrics_message_in(void);
/* Counts one rejected message by reason (a short fixed word). */
void ff_metrics_rejected(const char *reason);
void ff_metrics_decision(ff_decision d);
void ff_metrics_duplicate(void);
void ff_metrics_observe(ff_stage s, int64_t us);
void ff_metrics_batch(size_t rows, int64_t commit_us);
void ff_metrics_db_error(void);
void ff_metrics_set_db_up(int up);
void ff_metrics_set_mqtt_up(int up);
void ff_metrics_published(int ok);
void ff_metrics_set_gallery(size_t templates, size_t identities);
/* Gauges read at scrape time. */
typedef size_t (*ff_metrics_gauge_fn)(void *ctx);
void ff_metrics_set_queue_gauges(ff_metrics_gauge_fn work, ff_metrics_gauge_fn write,
				 ff_metrics_gauge_fn inflight, void *ctx);

/* Writes the whole text exposition into a malloc'd string (*len set). */
char *ff_metrics_render(size_t *len);

/* Starts the HTTP thread on bind:port. Returns FF_OK or FF_ERR_IO. */
int ff_metrics_serve(const char *bind_addr, int port);
void ff_metrics_stop(void);

#endif
