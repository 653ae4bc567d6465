/* backend/store_batch.h: one batch of decided jobs written in one
 * PostgreSQL transaction (store_batch.c), for the writer thread
 * (store_writer.c), which owns the connection, the retries and the backoff.
 *
 * Every statement is prepared once per connection and fed whole columns as
 * array parameters (facefleet/store.h, ff_pg_array): one round trip per
 * step, no value ever in SQL text. */
#ifndef BE_BACKEND_STORE_BATCH_H
#define BE_BACKEND_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "backend.h"
#include "facefleet/store.h"

/* The statements' array parameters, one per column, reused batch to batch:
 * the widest statement is the event insert (its columns, then the backend) */
#define BE_EVENT_COLS 22
typedef struct be_batch_cols {
	ff_pg_array c[BE_EVENT_COLS];
} be_batch_cols;

typedef struct be_batch {
	PGconn *db;         /* the writer's connection */
	const char *actor;  /* audit actor, "backend:<instance>" */
	be_batch_cols k;
} be_batch;

typedef enum be_batch_result {
	BE_BATCH_OK,   /* committed */
	BE_BATCH_CONN, /* the connection failed (or a transient state): retry it all */
	BE_BATCH_DATA, /* refused for its data: retry row by row */
} be_batch_result;

/* Prepares the statements on a new connection; false (logged) on failure. */
bool be_batch_prepare(PGconn *db);
/* Claims (device, seq) keys, inserts events and audit rows, disables devices
 * that kept flooding, in one transaction (rolled back unless BE_BATCH_OK).
 * Sets each job's inserted flag and, for a redelivery, the stored decision. */
be_batch_result be_batch_write(be_batch *b, be_job **jobs, size_t n);
/* After a commit: the devices' last_seq marks (best effort, outside it), in
 * two steps so that the faces need not wait for the mark's own commit:
 * collect copies the committed jobs' (device, seq) into b's columns (returns
 * how many; 0: nothing to send) while the jobs are still ours; send writes
 * them, after the jobs went on to the publisher, before b's next batch. */
size_t be_batch_collect_hwm(be_batch *b, be_job **jobs, size_t n);
void be_batch_send_hwm(be_batch *b);
void be_batch_free(be_batch *b);

#endif
