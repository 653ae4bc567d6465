/* backend/store.h: the backend's PostgreSQL threads, on the shared contract
 * (lib/store, facefleet/store.h).
 *
 * store_writer.c: one thread takes decided jobs from a queue and writes them
 * in batches (up to batch_max jobs or batch_ms after the first), one
 * transaction per batch, every statement prepared and fed arrays:
 *   recognition_event_keys  claim (device_id, seq) ON CONFLICT DO NOTHING
 *   recognition_events      the claimed ones (a duplicate makes no row)
 *   audit_log               one row per message: event.decide,
 *                           event.duplicate or message.reject (with reason)
 * After COMMIT it hands the batch to `done` (acknowledge, publish, free).
 * When PostgreSQL is away it keeps the batch, reconnects with backoff
 * (0.1..5 s) and retries: nothing is acknowledged meanwhile, so the queue
 * fills, the workers and then the MQTT reader block, and the broker holds
 * the rest (Receive Maximum). A batch refused for its data (not the
 * connection) is retried row by row; a row still refused becomes a
 * message.reject audit row ("store_refused") so one bad row never stalls
 * the stream.
 *
 * store_listen.c: a second connection LISTENs on ff_gallery / ff_devices,
 * reloads the gallery and the device cache on NOTIFY (and after each
 * reconnect), and runs ff_partitions_maintain() (SQL) every interval. */
#ifndef BE_BACKEND_STORE_H
#define BE_BACKEND_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "facefleet/store.h"
#include "backend.h"
#include "registry.h"

typedef void (*be_store_done_cb)(void *ctx, be_job **jobs, size_t n);

typedef struct be_store_writer_options {
	const char *conninfo;
	const char *actor;   /* audit actor, "backend:<instance>" */
	int batch_max;
	int batch_ms;
	be_queue *in;        /* decided jobs; closed = drain and stop */
	be_store_done_cb done;
	void *ctx;
} be_store_writer_options;

typedef struct be_store_writer be_store_writer;

/* Starts the writer thread. Returns FF_OK or FF_ERR_NOMEM. */
int be_store_writer_start(const be_store_writer_options *opt, be_store_writer **out);
/* After opt->in is closed: waits until everything queued is committed or
 * until deadline_ms passes (then what is left is dropped unacknowledged, for
 * the broker to redeliver), then frees. */
void be_store_writer_stop(be_store_writer *w, int deadline_ms);

typedef struct be_store_listen_options {
	const char *conninfo;
	be_gallery *gallery;
	const char *gallery_model;   /* face_templates.model_id */
	be_devices *devices;
	int retention_events_days;
	int retention_audit_days;
	int maintenance_interval_s;
} be_store_listen_options;

typedef struct be_store_listen be_store_listen;

/* Connects, loads gallery and devices once (returns FF_ERR_DB if that
 * fails), then keeps them fresh from a thread. */
int be_store_listen_start(const be_store_listen_options *opt, be_store_listen **out);
void be_store_listen_stop(be_store_listen *l);

/* Opens a connection with the settings every backend connection uses.
 * NULL on failure (logged). */
PGconn *be_store_connect(const char *conninfo, const char *purpose);

#endif
