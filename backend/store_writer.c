/* Batched PostgreSQL writer of events and audit rows (store.h). */
#include "store.h"

#include "facefleet/error.h"
#include "facefleet/log.h"
#include "metrics.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"

struct ff_store_writer {
	ff_store_writer_options opt;
	char *actor;
	pthread_t thread;
	PGconn *db;
	atomic_size_t pending;
	atomic_llong deadline_us; /* 0: none; else give up retrying after (monotonic) */
	bool db_down_logged;
};

/* ---- text building: arrays and JSON ---- */

typedef struct txt {
	char *p;
	size_t len, cap;
	bool oom;
} txt;

static void t_reserve(txt *t, size_t more)
{
	if (t->oom || t->len + more + 1 <= t->cap)
		return;
	size_t ncap = (t->cap ? t->cap * 2 : 256) + more;
	char *np = realloc(t->p, ncap);
	if (!np) {
		t->oom = true;
		return;
	}
	t->p = np;
	t->cap = ncap;
}

static void t_add(txt *t, const char *s, size_t n)
{
	t_reserve(t, n);
	if (t->oom)
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void t_str(txt *t, const char *s) { t_add(t, s, strlen(s)); }

static void t_fmt(txt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_fmt(txt *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		t_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void t_reset(txt *t)
{
	t->len = 0;
	if (t->p)
		t->p[0] = '\0';
}

/* JSON string literal with escapes. */
static void t_json(txt *t, const char *s)
{
	t_add(t, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			t_add(t, e, 2);
		} else if (c < 0x20) {
			t_fmt(t, "\\u%04x", c);
		} else {
			t_add(t, (const char *)&c, 1);
		}
	}
	t_add(t, "\"", 1);
}

/* One array column as a PostgreSQL array literal: {"a","b",NULL}. */
typedef struct col {
	txt t;
	size_t n;
} col;

static void c_begin(col *c)
{
	t_reset(&c->t);
	t_add(&c->t, "{", 1);
	c->n = 0;
}

static void c_sep(col *c)
{
	if (c->n++)
		t_add(&c->t, ",", 1);
}

static void c_text(col *c, const char *s)
{
	c_sep(c);
	if (!s) {
		t_str(&c->t, "NULL");
		return;
	}
	t_add(&c->t, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			t_add(&c->t, "\\", 1);
		t_add(&c->t, s, 1);
	}
	t_add(&c->t, "\"", 1);
}

static void c_i64(col *c, int64_t v)
{
	c_sep(c);
	t_fmt(&c->t, "%" PRId64, v);
}

static void c_end(col *c) { t_add(&c->t, "}", 1); }

/* ---- statements ---- */

#define EPOCH_US(x) "(timestamptz 'epoch' + " x " * interval '1 microsecond')"

/* Claims (device_id, seq) for each event; one row per key claimed now
 * (inserted true) and one per key claimed before this statement (false),
 * with what was stored for it: the claiming payload's digest and the
 * decision, to tell a redelivery from a reused seq and to repeat the same
 * decision. (The CTE's insert is invisible to the join: it sees only older
 * keys.) */
static const char claim_sql[] =
	"WITH u AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::bigint[], "
	"                                $5::text[]) AS u(d, s, e, t, h)), "
	"ins AS (INSERT INTO recognition_event_keys (device_id, seq, event_id, decided_time, digest) "
	"        SELECT d, s, e, " EPOCH_US("t") ", decode(h, 'hex') FROM u "
	"        ON CONFLICT (device_id, seq) DO NOTHING RETURNING event_id) "
	"SELECT event_id::text, true, NULL, NULL, NULL, NULL, NULL, NULL FROM ins "
	"UNION ALL "
	"SELECT k.event_id::text, false, encode(k.digest, 'hex'), ev.decision, ev.score, "
	"       i.external_id, ev.reason, (extract(epoch FROM ev.decided_time) * 1e6)::bigint "
	"FROM u JOIN recognition_event_keys k ON k.device_id = u.d AND k.seq = u.s "
	"LEFT JOIN recognition_events ev ON ev.event_id = k.event_id "
	"                               AND ev.decided_time = k.decided_time "
	"LEFT JOIN identities i ON i.identity_id = ev.identity_id";

static const char event_sql[] =
	"INSERT INTO recognition_events (event_id, device_id, site_id, seq, capture_time, "
	" received_time, decided_time, decision, identity_id, score, model_id, reason, topk, backend) "
	"SELECT e, d, st, s, " EPOCH_US("ct") ", " EPOCH_US("rt") ", " EPOCH_US("dt") ", dc, iid, sc, "
	"       m, r, tk, $14 "
	"FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], "
	"            $7::bigint[], $8::text[], $9::bigint[], $10::real[], $11::text[], $12::text[], "
	"            $13::jsonb[]) AS u(e, d, st, s, ct, rt, dt, dc, iid, sc, m, r, tk)";

static const char audit_sql[] =
	"INSERT INTO audit_log (at, actor, action, subject, source, detail) "
	"SELECT " EPOCH_US("a") ", $1, b, c, d, e "
	"FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) AS u(a, b, c, d, e)";

static const char disable_sql[] =
	"UPDATE devices SET enabled = false WHERE device_id = ANY($1::text[]) AND enabled";

static const char hwm_sql[] =
	"UPDATE devices d SET last_seq = GREATEST(d.last_seq, u.s), last_seen_at = now() "
	"FROM (SELECT dd, max(ss) AS s FROM unnest($1::text[], $2::bigint[]) AS x(dd, ss) "
	"      GROUP BY dd) u "
	"WHERE d.device_id = u.dd AND d.last_seq < u.s";

PGconn *ff_store_connect(const char *conninfo, const char *purpose)
{
	char app[96];
	const char *keys[3] = { "dbname", "application_name", NULL };
	const char *vals[3] = { conninfo, app, NULL };
	PGconn *db;
	snprintf(app, sizeof(app), "fleet-backend/%s", purpose);
	db = PQconnectdbParams(keys, vals, 1);
	if (!db || PQstatus(db) != CONNECTION_OK) {
		char msg[256];
		ff_sanitize(msg, sizeof(msg), db ? PQerrorMessage(db) : "out of memory",
			    db ? strlen(PQerrorMessage(db)) : 13);
		ff_log_warn(LOG_COMP, "event=connect_failed purpose=%s err=\"%s\"", purpose, msg);
		PQfinish(db);
		return NULL;
	}
	return db;
}

static bool prepare_all(PGconn *db)
{
	static const struct { const char *name, *sql; } st[] = {
		{ "ff_claim", claim_sql }, { "ff_event", event_sql },
		{ "ff_audit", audit_sql }, { "ff_hwm", hwm_sql }, { "ff_disable", disable_sql },
	};
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		PGresult *r = PQprepare(db, st[i].name, st[i].sql, 0, NULL);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			ff_log_error(LOG_COMP, "event=prepare_failed statement=%s err=\"%s\"", st[i].name,
				     PQerrorMessage(db));
		PQclear(r);
		if (!ok)
			return false;
	}
	return true;
}

/* ---- one transaction ---- */

typedef struct cols {
	col c[14];
	txt js;
} cols;

static void cols_free(cols *k)
{
	for (size_t i = 0; i < sizeof(k->c) / sizeof(k->c[0]); i++)
		free(k->c[i].t.p);
	free(k->js.p);
}

static bool cols_oom(cols *k)
{
	for (size_t i = 0; i < sizeof(k->c) / sizeof(k->c[0]); i++)
		if (k->c[i].t.oom)
			return true;
	return k->js.oom;
}

typedef enum { W_OK, W_CONN, W_DATA } wres;

static wres classify(PGconn *db, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];
	ff_sanitize(msg, sizeof(msg), PQerrorMessage(db), strlen(PQerrorMessage(db)));
	ff_metrics_db_error();
	if (PQstatus(db) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "25P02") == 0) {
		ff_log_warn(LOG_COMP, "event=write_failed step=%s sqlstate=%s err=\"%s\"", what,
			    state ? state : "-", msg);
		return W_CONN;
	}
	ff_log_error(LOG_COMP, "event=write_refused step=%s sqlstate=%s err=\"%s\"", what, state,
		     msg);
	return W_DATA;
}

static wres simple(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	wres w = PQresultStatus(r) == PGRES_COMMAND_OK ? W_OK : classify(db, r, sql);
	PQclear(r);
	return w;
}

static bool has_event(const ff_job *j)
{
	return j->decision != FF_DECISION_NONE;
}

static void audit_detail(txt *js, const ff_job *j)
{
	t_reset(js);
	t_str(js, "{\"device\":");
	t_json(js, j->device_id[0] ? j->device_id : j->claimed_device);
	if (j->site_id[0]) {
		t_str(js, ",\"site\":");
		t_json(js, j->site_id);
	}
	if (j->seq)
		t_fmt(js, ",\"seq\":%" PRIu64, j->seq);
	if (j->budget_dropped)
		t_fmt(js, ",\"dropped_over_budget\":%" PRIu64, j->budget_dropped);
	if (j->capture_clamped)
		t_str(js, ",\"capture_time\":\"replaced by the receive time\"");
	if (has_event(j)) {
		t_str(js, ",\"event_id\":");
		t_json(js, j->event_id);
		t_str(js, ",\"decision\":");
		t_json(js, ff_decision_name(j->decision));
		if (j->ntop && (j->decision == FF_DECISION_GRANTED ||
				j->decision == FF_DECISION_REJECTED)) {
			t_str(js, ",\"identity\":");
			t_json(js, j->top[0].external_id);
		}
		if (j->ntop)
			t_fmt(js, ",\"score\":%.4f", j->score);
		t_str(js, ",\"model\":");
		t_json(js, j->model_id);
	}
	if (j->reason[0]) {
		t_str(js, ",\"reason\":");
		t_json(js, j->reason);
	}
	t_fmt(js, ",\"bytes\":%zu,\"mqtt_dup\":%s}", j->len, j->dup ? "true" : "false");
}

static void topk_json(txt *js, const ff_job *j)
{
	t_reset(js);
	t_str(js, "[");
	for (int i = 0; i < j->ntop; i++) {
		t_str(js, i ? ",{\"identity\":" : "{\"identity\":");
		t_json(js, j->top[i].external_id);
		t_fmt(js, ",\"identity_id\":%" PRId64 ",\"score\":%.4f}", j->top[i].identity_id,
		      j->top[i].score);
	}
	t_str(js, "]");
}

static const char *param(col *c)
{
	c_end(c);
	return c->t.p;
}

/* Runs a prepared statement on the first ncol columns (closed as array
 * parameters), with an optional leading and trailing scalar parameter.
 * NULL when the columns could not be built (out of memory). */
static PGresult *exec_cols(ff_store_writer *w, const char *stmt, cols *k, int ncol,
			   const char *lead, const char *tail)
{
	const char *p[16];
	int np = 0;
	if (lead)
		p[np++] = lead;
	for (int i = 0; i < ncol; i++)
		p[np++] = param(&k->c[i]);
	if (tail)
		p[np++] = tail;
	if (cols_oom(k))
		return NULL;
	return PQexecPrepared(w->db, stmt, np, p, NULL, NULL, 0);
}

/* W_OK when r has status want, else the classified failure; clears r. */
static wres finish(ff_store_writer *w, PGresult *r, ExecStatusType want, const char *what)
{
	wres res = r && PQresultStatus(r) == want ? W_OK : r ? classify(w->db, r, what) : W_CONN;
	PQclear(r);
	return res;
}

/* A seq already claimed by other bytes: refused, audited, never decided
 * again (its AccessEvent would announce a decision the row does not hold). */
static void reject_reused(ff_job *j)
{
	ff_job_reject(j, FF_DECISION_NONE, "seq_reused");
	ff_metrics_rejected(j->reason);
}

/* j repeats a key claimed earlier (row `row` of the claim result): a
 * redelivery takes the stored decision, so its AccessEvent repeats the
 * first one; other bytes are a reused seq. */
static void apply_stored(ff_job *j, PGresult *r, int row)
{
	if (!PQgetisnull(r, row, 2) && strcmp(PQgetvalue(r, row, 2), j->digest) != 0) {
		reject_reused(j);
		return;
	}
	if (PQgetisnull(r, row, 3)) /* event row pruned by retention: keep ours */
		return;
	j->decision = ff_decision_parse(PQgetvalue(r, row, 3));
	j->score = PQgetisnull(r, row, 4) ? 0.0f : strtof(PQgetvalue(r, row, 4), NULL);
	j->ntop = PQgetisnull(r, row, 5) ? 0 : 1;
	if (j->ntop)
		snprintf(j->top[0].external_id, sizeof(j->top[0].external_id), "%s",
			 PQgetvalue(r, row, 5));
	snprintf(j->reason, sizeof(j->reason), "%s", PQgetvalue(r, row, 6));
	j->decided_us = strtoll(PQgetvalue(r, row, 7), NULL, 10);
}

/* A key twice in one batch is claimed by the first of its jobs; a later one
 * with other bytes reuses the seq. */
static void check_batch_reuse(ff_job **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i]->inserted)
			continue;
		for (size_t m = i + 1; m < n; m++)
			if (has_event(jobs[m]) && !jobs[m]->inserted &&
			    strcmp(jobs[m]->event_id, jobs[i]->event_id) == 0 &&
			    strcmp(jobs[m]->digest, jobs[i]->digest) != 0)
				reject_reused(jobs[m]);
	}
}

/* Claims keys for the event-bearing jobs; marks j->inserted for the claimed. */
static wres claim_and_insert(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	PGresult *r;
	size_t ne = 0;

	for (int i = 0; i < 5; i++)
		c_begin(&k->c[i]);
	for (size_t i = 0; i < n; i++) {
		if (!has_event(jobs[i]))
			continue;
		c_text(&k->c[0], jobs[i]->device_id);
		c_i64(&k->c[1], (int64_t)jobs[i]->seq);
		c_text(&k->c[2], jobs[i]->event_id);
		c_i64(&k->c[3], jobs[i]->decided_us);
		c_text(&k->c[4], jobs[i]->digest);
		ne++;
	}
	if (!ne)
		return W_OK;
	r = exec_cols(w, "ff_claim", k, 5, NULL, NULL);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK)
		return finish(w, r, PGRES_TUPLES_OK, "claim");
	for (int row = 0; row < PQntuples(r); row++) {
		const char *id = PQgetvalue(r, row, 0);
		bool claimed_now = PQgetvalue(r, row, 1)[0] == 't';
		for (size_t i = 0; i < n; i++) {
			if (!has_event(jobs[i]) || strcmp(jobs[i]->event_id, id) != 0)
				continue;
			if (!claimed_now) {
				apply_stored(jobs[i], r, row);
			} else if (!jobs[i]->inserted) {
				jobs[i]->inserted = true;
				break;
			}
		}
	}
	PQclear(r);
	check_batch_reuse(jobs, n);

	for (int i = 0; i < 13; i++)
		c_begin(&k->c[i]);
	ne = 0;
	for (size_t i = 0; i < n; i++) {
		const ff_job *j = jobs[i];
		char sc[32];
		if (!j->inserted)
			continue;
		ne++;
		c_text(&k->c[0], j->event_id);
		c_text(&k->c[1], j->device_id);
		c_text(&k->c[2], j->site_id);
		c_i64(&k->c[3], (int64_t)j->seq);
		c_i64(&k->c[4], j->capture_us);
		c_i64(&k->c[5], j->received_us);
		c_i64(&k->c[6], j->decided_us);
		c_text(&k->c[7], ff_decision_name(j->decision));
		if (j->ntop && (j->decision == FF_DECISION_GRANTED ||
				j->decision == FF_DECISION_REJECTED))
			c_i64(&k->c[8], j->top[0].identity_id);
		else
			c_text(&k->c[8], NULL);
		snprintf(sc, sizeof(sc), "%.6f", j->score);
		c_text(&k->c[9], j->ntop ? sc : NULL);
		c_text(&k->c[10], j->model_id);
		c_text(&k->c[11], j->reason);
		topk_json(&k->js, j);
		c_text(&k->c[12], k->js.p);
	}
	if (!ne)
		return W_OK;
	return finish(w, exec_cols(w, "ff_event", k, 13, NULL, w->actor), PGRES_COMMAND_OK,
		      "events");
}

/* Devices that kept flooding (ff_budget): disabled in the same transaction
 * as their audit row; the NOTIFY tells every backend. */
static wres disable_flooders(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	size_t m = 0;
	c_begin(&k->c[0]);
	for (size_t i = 0; i < n; i++)
		if (jobs[i]->flood_disable && jobs[i]->device_id[0]) {
			c_text(&k->c[0], jobs[i]->device_id);
			m++;
		}
	if (!m)
		return W_OK;
	ff_log_warn(LOG_COMP, "event=devices_disabled reason=flooding count=%zu", m);
	return finish(w, exec_cols(w, "ff_disable", k, 1, NULL, NULL), PGRES_COMMAND_OK, "disable");
}

static wres insert_audit(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	char src[200];

	for (int i = 0; i < 5; i++)
		c_begin(&k->c[i]);
	for (size_t i = 0; i < n; i++) {
		const ff_job *j = jobs[i];
		const char *action = j->flood_disable ? "device.flood_disable"
				     : !has_event(j)  ? "message.reject"
				     : j->inserted    ? "event.decide"
						      : "event.duplicate";
		c_i64(&k->c[0], j->decided_us ? j->decided_us : j->received_us);
		c_text(&k->c[1], action);
		c_text(&k->c[2], j->inserted ? j->event_id
				 : j->device_id[0] ? j->device_id
						   : j->claimed_device);
		snprintf(src, sizeof(src), "mqtt:%s", j->topic);
		c_text(&k->c[3], src);
		audit_detail(&k->js, j);
		c_text(&k->c[4], k->js.p);
	}
	return finish(w, exec_cols(w, "ff_audit", k, 5, w->actor, NULL), PGRES_COMMAND_OK, "audit");
}

static void update_hwm(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	PGresult *r;
	size_t m = 0;
	c_begin(&k->c[0]);
	c_begin(&k->c[1]);
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i]->inserted)
			continue;
		c_text(&k->c[0], jobs[i]->device_id);
		c_i64(&k->c[1], (int64_t)jobs[i]->seq);
		m++;
	}
	if (!m)
		return;
	/* best effort (a cache seed for restarts); a lock timeout or deadlock
	 * with another backend only costs a stale mark */
	r = exec_cols(w, "ff_hwm", k, 2, NULL, NULL);
	if (r && PQresultStatus(r) != PGRES_COMMAND_OK)
		ff_log_debug(LOG_COMP, "event=hwm_update_failed err=\"%s\"", PQerrorMessage(w->db));
	PQclear(r);
}

static wres write_tx(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	wres res;
	for (size_t i = 0; i < n; i++)
		jobs[i]->inserted = false;
	if ((res = simple(w->db, "BEGIN")) != W_OK)
		return res;
	res = claim_and_insert(w, jobs, n, k);
	if (res == W_OK)
		res = insert_audit(w, jobs, n, k);
	if (res == W_OK)
		res = disable_flooders(w, jobs, n, k);
	if (res == W_OK)
		res = simple(w->db, "COMMIT");
	if (res != W_OK) {
		PGresult *r = PQexec(w->db, "ROLLBACK");
		PQclear(r);
		for (size_t i = 0; i < n; i++)
			jobs[i]->inserted = false;
	}
	return res;
}

/* ---- connection management and the thread ---- */

static bool past_deadline(ff_store_writer *w)
{
	long long d = atomic_load(&w->deadline_us);
	return d && ff_mono_us() > d;
}

static bool ensure_db(ff_store_writer *w)
{
	if (w->db && PQstatus(w->db) == CONNECTION_OK)
		return true;
	PQfinish(w->db);
	w->db = ff_store_connect(w->opt.conninfo, "writer");
	if (w->db && !prepare_all(w->db)) {
		PQfinish(w->db);
		w->db = NULL;
	}
	return w->db != NULL;
}

static void backoff_sleep(int ms)
{
	poll(NULL, 0, ms);
}

/* Writes jobs until committed; false when it gave up (deadline passed). */
static bool write_batch(ff_store_writer *w, ff_job **jobs, size_t n, cols *k)
{
	int backoff = 100;
	int64_t t0 = ff_mono_us();
	for (;;) {
		wres res = W_CONN;
		if (ensure_db(w))
			res = write_tx(w, jobs, n, k);
		else
			ff_metrics_db_error();
		if (res == W_OK) {
			if (w->db_down_logged)
				ff_log_info(LOG_COMP, "event=db_recovered retried_ms=%lld",
					    (long long)((ff_mono_us() - t0) / 1000));
			w->db_down_logged = false;
			ff_metrics_set_db_up(1);
			update_hwm(w, jobs, n, k);
			ff_metrics_batch(n, ff_mono_us() - t0);
			return true;
		}
		if (res == W_DATA && n > 1) {
			/* one bad row must not hold the others: one by one */
			for (size_t i = 0; i < n; i++)
				if (!write_batch(w, &jobs[i], 1, k))
					return false;
			return true;
		}
		if (res == W_DATA) {
			/* a single row refused for its content: keep the record as a reject */
			if (jobs[0]->decision == FF_DECISION_NONE &&
			    strcmp(jobs[0]->reason, "store_refused") == 0) {
				ff_log_error(LOG_COMP, "event=row_dropped device=%s reason=store_refused",
					     jobs[0]->claimed_device);
				return true; /* acknowledged: redelivery would fail the same way */
			}
			ff_job_reject(jobs[0], FF_DECISION_NONE, "store_refused");
			ff_metrics_rejected("store_refused");
			continue;
		}
		/* connection trouble: keep everything, retry with backoff */
		ff_metrics_set_db_up(0);
		if (!w->db_down_logged) {
			ff_log_error(LOG_COMP, "event=db_unavailable batch=%zu note=\"holding messages "
					       "unacknowledged, retrying\"", n);
			w->db_down_logged = true;
		}
		PQfinish(w->db);
		w->db = NULL;
		if (past_deadline(w))
			return false;
		backoff_sleep(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static void *writer_main(void *arg)
{
	ff_store_writer *w = arg;
	size_t cap = (size_t)w->opt.batch_max;
	ff_job **batch = calloc(cap, sizeof(*batch));
	cols k;
	memset(&k, 0, sizeof(k));
	if (!batch) {
		ff_log_error(LOG_COMP, "event=writer_oom");
		return NULL;
	}
	for (;;) {
		size_t n = 0;
		ff_job *j = ff_queue_pop(w->opt.in, -1);
		int64_t until;
		if (!j)
			break; /* closed and drained */
		batch[n++] = j;
		atomic_fetch_add(&w->pending, 1);
		until = ff_mono_us() + (int64_t)w->opt.batch_ms * 1000;
		while (n < cap) {
			int64_t left = (until - ff_mono_us()) / 1000;
			j = ff_queue_pop(w->opt.in, left > 0 ? (int)left : 0);
			if (!j)
				break;
			batch[n++] = j;
			atomic_fetch_add(&w->pending, 1);
		}
		if (!write_batch(w, batch, n, &k)) {
			ff_log_error(LOG_COMP, "event=gave_up jobs=%zu note=\"unacknowledged: the broker "
					       "redelivers them to this session\"", n);
			for (size_t i = 0; i < n; i++)
				ff_job_free(batch[i]);
			atomic_fetch_sub(&w->pending, n);
			/* drop whatever else is queued the same way */
			while ((j = ff_queue_pop(w->opt.in, 0))) {
				ff_job_free(j);
			}
			break;
		}
		w->opt.done(w->opt.ctx, batch, n);
		atomic_fetch_sub(&w->pending, n);
	}
	cols_free(&k);
	free(batch);
	PQfinish(w->db);
	w->db = NULL;
	return NULL;
}

int ff_store_writer_start(const ff_store_writer_options *opt, ff_store_writer **out)
{
	ff_store_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return FF_ERR_NOMEM;
	w->opt = *opt;
	w->actor = strdup(opt->actor);
	if (!w->actor || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		free(w->actor);
		free(w);
		return FF_ERR_NOMEM;
	}
	*out = w;
	return FF_OK;
}

void ff_store_writer_stop(ff_store_writer *w, int deadline_ms)
{
	if (!w)
		return;
	atomic_store(&w->deadline_us, ff_mono_us() + (int64_t)deadline_ms * 1000);
	pthread_join(w->thread, NULL);
	free(w->actor);
	free(w);
}

size_t ff_store_writer_pending(ff_store_writer *w)
{
	return atomic_load(&w->pending);
}
