/* The writer thread (store.h): decided jobs from the queue in batches,
 * written by store_batch.c; the connection, the retries and the backoff. */
#include "store.h"
#include "store_batch.h"

#include "facefleet/error.h"
#include "facefleet/log.h"
#include "metrics.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"

struct be_store_writer {
	be_store_writer_options opt;
	char *actor;
	pthread_t thread;
	be_batch batch; /* its connection, statements and columns */
	atomic_llong deadline_us; /* 0: none; else give up retrying after (monotonic) */
	bool db_down_logged;
};

/* ---- connection management and the thread ---- */

PGconn *be_store_connect(const char *conninfo, const char *purpose)
{
	char app[96], err[256];
	PGconn *db;
	snprintf(app, sizeof(app), "fleet-backend/%s", purpose);
	if (!(db = ff_store_open(conninfo, app, err, sizeof(err))))
		ff_log_warn(LOG_COMP, "event=connect_failed purpose=%s err=\"%s\"", purpose, err);
	return db;
}

static bool past_deadline(be_store_writer *w)
{
	long long d = atomic_load(&w->deadline_us);
	return d && ff_mono_us() > d;
}

static bool ensure_db(be_store_writer *w)
{
	if (w->batch.db && PQstatus(w->batch.db) == CONNECTION_OK)
		return true;
	PQfinish(w->batch.db);
	w->batch.db = be_store_connect(w->opt.conninfo, "writer");
	if (w->batch.db && !be_batch_prepare(w->batch.db)) {
		PQfinish(w->batch.db);
		w->batch.db = NULL;
	}
	return w->batch.db != NULL;
}

static void backoff_sleep(int ms)
{
	poll(NULL, 0, ms);
}

/* Writes jobs until committed; false when it gave up (deadline passed). */
static bool write_batch(be_store_writer *w, be_job **jobs, size_t n)
{
	int backoff = 100;
	int64_t t0 = ff_mono_us();
	for (;;) {
		be_batch_result res = BE_BATCH_CONN;
		if (ensure_db(w))
			res = be_batch_write(&w->batch, jobs, n);
		else
			be_metrics_db_error();
		if (res == BE_BATCH_OK) {
			if (w->db_down_logged)
				ff_log_info(LOG_COMP, "event=db_recovered retried_ms=%lld",
					    (long long)((ff_mono_us() - t0) / 1000));
			w->db_down_logged = false;
			be_metrics_set_db_up(1);
			be_metrics_batch(n, ff_mono_us() - t0);
			return true;
		}
		if (res == BE_BATCH_DATA && n > 1) {
			/* one bad row must not hold the others: one by one */
			for (size_t i = 0; i < n; i++)
				if (!write_batch(w, &jobs[i], 1))
					return false;
			return true;
		}
		if (res == BE_BATCH_DATA) {
			/* a single row refused for its content: keep the record as a reject */
			if (jobs[0]->decision == BE_DECISION_NONE &&
			    strcmp(jobs[0]->reason, "store_refused") == 0) {
				ff_log_error(LOG_COMP, "event=row_dropped device=%s reason=store_refused",
					     jobs[0]->claimed_device);
				return true; /* acknowledged: redelivery would fail the same way */
			}
			be_job_reject(jobs[0], BE_DECISION_NONE, "store_refused");
			be_metrics_rejected("store_refused");
			continue;
		}
		/* connection trouble: keep everything, retry with backoff */
		be_metrics_set_db_up(0);
		if (!w->db_down_logged) {
			ff_log_error(LOG_COMP, "event=db_unavailable batch=%zu note=\"holding messages "
					       "unacknowledged, retrying\"", n);
			w->db_down_logged = true;
		}
		PQfinish(w->batch.db);
		w->batch.db = NULL;
		if (past_deadline(w))
			return false;
		backoff_sleep(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static void *writer_main(void *arg)
{
	be_store_writer *w = arg;
	size_t cap = (size_t)w->opt.batch_max;
	be_job **batch = calloc(cap, sizeof(*batch));
	if (!batch) {
		ff_log_error(LOG_COMP, "event=writer_oom");
		return NULL;
	}
	for (;;) {
		size_t n = 0, marks;
		be_job *j = be_queue_pop(w->opt.in, -1);
		int64_t until;
		if (!j)
			break; /* closed and drained */
		batch[n++] = j;
		until = ff_mono_us() + (int64_t)w->opt.batch_ms * 1000;
		while (n < cap) {
			int64_t left = (until - ff_mono_us()) / 1000;
			j = be_queue_pop(w->opt.in, left > 0 ? (int)left : 0);
			if (!j)
				break;
			batch[n++] = j;
		}
		if (!write_batch(w, batch, n)) {
			ff_log_error(LOG_COMP, "event=gave_up jobs=%zu note=\"unacknowledged: the broker "
					       "redelivers them to this session\"", n);
			for (size_t i = 0; i < n; i++)
				be_job_free(batch[i]);
			/* drop whatever else is queued the same way */
			while ((j = be_queue_pop(w->opt.in, 0)))
				be_job_free(j);
			break;
		}
		/* the marks' update is a transaction of its own: the faces go on
		 * without waiting for its commit */
		marks = be_batch_collect_hwm(&w->batch, batch, n);
		w->opt.done(w->opt.ctx, batch, n);
		if (marks)
			be_batch_send_hwm(&w->batch);
	}
	be_batch_free(&w->batch);
	free(batch);
	PQfinish(w->batch.db);
	w->batch.db = NULL;
	return NULL;
}

int be_store_writer_start(const be_store_writer_options *opt, be_store_writer **out)
{
	be_store_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return FF_ERR_NOMEM;
	w->opt = *opt;
	w->actor = strdup(opt->actor);
	w->batch.actor = w->actor;
	if (!w->actor || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		free(w->actor);
		free(w);
		return FF_ERR_NOMEM;
	}
	*out = w;
	return FF_OK;
}

void be_store_writer_stop(be_store_writer *w, int deadline_ms)
{
	if (!w)
		return;
	atomic_store(&w->deadline_us, ff_mono_us() + (int64_t)deadline_ms * 1000);
	pthread_join(w->thread, NULL);
	free(w->actor);
	free(w);
}
