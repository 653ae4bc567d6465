/* One batch of decided jobs in one PostgreSQL transaction (store_batch.h):
 * the statements, their array parameters and the audit JSON. */
#include "store_batch.h"

#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/text.h"
#include "metrics.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"

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
	"SELECT event_id::text, true, NULL, NULL, NULL, NULL, NULL, NULL, "
	"       NULL, NULL, NULL, NULL, NULL, NULL FROM ins "
	"UNION ALL "
	"SELECT k.event_id::text, false, encode(k.digest, 'hex'), ev.decision, ev.score, "
	"       i.external_id, ev.reason, (extract(epoch FROM ev.decided_time) * 1e6)::bigint, "
	"       ev.track_decision, ti.external_id, ev.track_score, ev.track_reason, "
	"       ev.faces_fused, ev.track_changed "
	"FROM u JOIN recognition_event_keys k ON k.device_id = u.d AND k.seq = u.s "
	"LEFT JOIN recognition_events ev ON ev.event_id = k.event_id "
	"                               AND ev.decided_time = k.decided_time "
	"LEFT JOIN identities i ON i.identity_id = ev.identity_id "
	"LEFT JOIN identities ti ON ti.identity_id = ev.track_identity_id";

/* Track columns (migration 007) are NULL for a face without a track; the
 * fusion's ($16..$21) also for one of a track that was not fused. codes
 * (migration 009, $22, hex) NULL for an invalid face. */
static const char event_sql[] =
	"INSERT INTO recognition_events (event_id, device_id, site_id, seq, capture_time, "
	" received_time, decided_time, decision, identity_id, score, model_id, reason, topk, "
	" track_id, track_index, faces_fused, track_decision, track_identity_id, track_score, "
	" track_reason, track_changed, codes, backend) "
	"SELECT e, d, st, s, " EPOCH_US("ct") ", " EPOCH_US("rt") ", " EPOCH_US("dt") ", dc, iid, sc, "
	"       m, r, tk, ti, tx, tf, td, tid, ts, tr, tc, decode(cd, 'hex'), $23 "
	"FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], "
	"            $7::bigint[], $8::text[], $9::bigint[], $10::real[], $11::text[], $12::text[], "
	"            $13::jsonb[], $14::bigint[], $15::integer[], $16::integer[], $17::text[], "
	"            $18::bigint[], $19::real[], $20::text[], $21::boolean[], $22::text[]) "
	"     AS u(e, d, st, s, ct, rt, dt, dc, iid, sc, m, r, tk, ti, tx, tf, td, tid, ts, tr, tc, cd)";

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

bool be_batch_prepare(PGconn *db)
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

void be_batch_free(be_batch *b)
{
	be_batch_cols *k = &b->k;
	for (size_t i = 0; i < sizeof(k->c) / sizeof(k->c[0]); i++)
		ff_pg_array_free(&k->c[i]);
}

static bool cols_oom(be_batch_cols *k)
{
	for (size_t i = 0; i < sizeof(k->c) / sizeof(k->c[0]); i++)
		if (k->c[i].oom)
			return true;
	return false;
}

static be_batch_result classify(PGconn *db, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];
	ff_sanitize(msg, sizeof(msg), PQerrorMessage(db), strlen(PQerrorMessage(db)));
	be_metrics_db_error();
	if (PQstatus(db) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "25P02") == 0) {
		ff_log_warn(LOG_COMP, "event=write_failed step=%s sqlstate=%s err=\"%s\"", what,
			    state ? state : "-", msg);
		return BE_BATCH_CONN;
	}
	ff_log_error(LOG_COMP, "event=write_refused step=%s sqlstate=%s err=\"%s\"", what, state,
		     msg);
	return BE_BATCH_DATA;
}

static be_batch_result simple(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	be_batch_result w = PQresultStatus(r) == PGRES_COMMAND_OK ? BE_BATCH_OK : classify(db, r, sql);
	PQclear(r);
	return w;
}

/* Serialises doc into column c and frees it; no text (out of memory) marks
 * c out of memory. */
static void add_json(ff_pg_array *c, cJSON *doc)
{
	char *txt = doc ? cJSON_PrintUnformatted(doc) : NULL;
	if (txt)
		ff_pg_array_text(c, txt);
	else
		c->oom = true;
	cJSON_free(txt);
	cJSON_Delete(doc);
}

static bool has_event(const be_job *j)
{
	return j->decision != BE_DECISION_NONE;
}

/* j's track was decided on a fusion (track_fusion.h) */
static bool has_track_decision(const be_job *j)
{
	return j->track_id && j->track_decision != BE_DECISION_NONE;
}

/* the fusion matched someone the track's decision names */
static bool track_who(const be_job *j)
{
	return j->track_ntop && (j->track_decision == BE_DECISION_GRANTED ||
				 j->track_decision == BE_DECISION_REJECTED);
}

/* An integer member, exact past 2^53 (cJSON's numbers are doubles). */
static void add_int(cJSON *o, const char *name, uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	cJSON_AddRawToObject(o, name, b);
}

/* A score as stored: 4 decimals */
static double score4(float s)
{
	return round((double)s * 1e4) / 1e4;
}

/* The audit row's detail (jsonb), into column c; an allocation failure
 * marks c out of memory. */
static void add_audit_detail(ff_pg_array *c, const be_job *j)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "device", j->device_id[0] ? j->device_id : j->claimed_device);
	if (j->site_id[0])
		cJSON_AddStringToObject(o, "site", j->site_id);
	if (j->seq)
		add_int(o, "seq", j->seq);
	if (j->budget_dropped)
		add_int(o, "dropped_over_budget", j->budget_dropped);
	if (j->capture_clamped)
		cJSON_AddStringToObject(o, "capture_time", "replaced by the receive time");
	if (has_event(j)) {
		cJSON_AddStringToObject(o, "event_id", j->event_id);
		cJSON_AddStringToObject(o, "decision", be_decision_name(j->decision));
		if (j->ntop && (j->decision == BE_DECISION_GRANTED || j->decision == BE_DECISION_REJECTED))
			cJSON_AddStringToObject(o, "identity", j->top[0].external_id);
		if (j->ntop)
			cJSON_AddNumberToObject(o, "score", score4(j->score));
		if (j->ntop && j->threshold > 0) /* the device's, the site's or the global one */
			cJSON_AddNumberToObject(o, "threshold", score4(j->threshold));
		cJSON_AddStringToObject(o, "model", j->model_id);
	}
	if (j->reason[0])
		cJSON_AddStringToObject(o, "reason", j->reason);
	if (has_event(j) && j->track_id) {
		add_int(o, "track_id", j->track_id);
		add_int(o, "track_index", j->track_index);
	}
	if (has_event(j) && has_track_decision(j)) {
		add_int(o, "faces_fused", (uint64_t)j->faces_fused);
		cJSON_AddStringToObject(o, "track_decision", be_decision_name(j->track_decision));
		if (track_who(j))
			cJSON_AddStringToObject(o, "track_identity", j->track_top.external_id);
		if (j->track_ntop)
			cJSON_AddNumberToObject(o, "track_score", score4(j->track_score));
		cJSON_AddBoolToObject(o, "track_changed", j->track_changed);
	}
	add_int(o, "bytes", j->len);
	cJSON_AddBoolToObject(o, "mqtt_dup", j->dup);
	add_json(c, o);
}

/* The event's top-k candidates (jsonb array) into column c. */
static void add_topk(ff_pg_array *c, const be_job *j)
{
	cJSON *a = cJSON_CreateArray(), *e;
	for (int i = 0; i < j->ntop; i++) {
		cJSON_AddItemToArray(a, e = cJSON_CreateObject());
		cJSON_AddStringToObject(e, "identity", j->top[i].external_id);
		add_int(e, "identity_id", (uint64_t)j->top[i].identity_id);
		cJSON_AddNumberToObject(e, "score", score4(j->top[i].score));
	}
	add_json(c, a);
}

static const char *param(ff_pg_array *c)
{
	ff_pg_array_end(c);
	return c->p;
}

/* Runs a prepared statement on the first ncol columns (closed as array
 * parameters), with an optional leading and trailing scalar parameter.
 * NULL when the columns could not be built (out of memory). */
static PGresult *exec_cols(be_batch *b, const char *stmt, be_batch_cols *k, int ncol,
			   const char *lead, const char *tail)
{
	const char *p[BE_EVENT_COLS + 2];
	int np = 0;
	if (lead)
		p[np++] = lead;
	for (int i = 0; i < ncol; i++)
		p[np++] = param(&k->c[i]);
	if (tail)
		p[np++] = tail;
	if (cols_oom(k))
		return NULL;
	return PQexecPrepared(b->db, stmt, np, p, NULL, NULL, 0);
}

/* BE_BATCH_OK when r has status want, else the classified failure; clears r. */
static be_batch_result finish(be_batch *b, PGresult *r, ExecStatusType want, const char *what)
{
	be_batch_result res = r && PQresultStatus(r) == want ? BE_BATCH_OK : r ? classify(b->db, r, what) : BE_BATCH_CONN;
	PQclear(r);
	return res;
}

/* A seq already claimed by other bytes: refused, audited, never decided
 * again (its AccessEvent would announce a decision the row does not hold). */
static void reject_reused(be_job *j)
{
	be_job_reject(j, BE_DECISION_NONE, "seq_reused");
	be_metrics_rejected(j->reason);
}

/* j repeats a key claimed earlier (row `row` of the claim result): a
 * redelivery takes the stored decision, so its AccessEvent repeats the
 * first one; other bytes are a reused seq. */
static void apply_stored(be_job *j, PGresult *r, int row)
{
	if (!PQgetisnull(r, row, 2) && strcmp(PQgetvalue(r, row, 2), j->digest) != 0) {
		reject_reused(j);
		return;
	}
	if (PQgetisnull(r, row, 3)) /* event row pruned by retention: keep ours */
		return;
	j->decision = be_decision_parse(PQgetvalue(r, row, 3));
	j->score = PQgetisnull(r, row, 4) ? 0.0f : strtof(PQgetvalue(r, row, 4), NULL);
	j->ntop = PQgetisnull(r, row, 5) ? 0 : 1;
	if (j->ntop)
		snprintf(j->top[0].external_id, sizeof(j->top[0].external_id), "%s",
			 PQgetvalue(r, row, 5));
	snprintf(j->reason, sizeof(j->reason), "%s", PQgetvalue(r, row, 6));
	j->decided_us = strtoll(PQgetvalue(r, row, 7), NULL, 10);
	/* its track's decision as stored: its AccessEvent goes out again only
	 * when the first one did (a row from before tracks: as a lone face) */
	j->track_decision = PQgetisnull(r, row, 8) ? BE_DECISION_NONE
						   : be_decision_parse(PQgetvalue(r, row, 8));
	j->track_ntop = PQgetisnull(r, row, 9) ? 0 : 1;
	if (j->track_ntop)
		snprintf(j->track_top.external_id, sizeof(j->track_top.external_id), "%s",
			 PQgetvalue(r, row, 9));
	j->track_score = PQgetisnull(r, row, 10) ? 0.0f : strtof(PQgetvalue(r, row, 10), NULL);
	snprintf(j->track_reason, sizeof(j->track_reason), "%s", PQgetvalue(r, row, 11));
	j->faces_fused = PQgetisnull(r, row, 12) ? 0 : atoi(PQgetvalue(r, row, 12));
	j->track_changed = !PQgetisnull(r, row, 13) && PQgetvalue(r, row, 13)[0] == 't';
}

/* A key twice in one batch is claimed by the first of its jobs; a later one
 * with other bytes reuses the seq. */
static void check_batch_reuse(be_job **jobs, size_t n)
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

/* The event row's track columns (13..20): the track, then its fused
 * decision; NULL where there is none. */
static void add_track_cols(be_batch_cols *k, const be_job *j)
{
	bool fused = has_track_decision(j);
	char sc[32];
	if (j->track_id) {
		ff_pg_array_i64(&k->c[13], (int64_t)j->track_id);
		ff_pg_array_i64(&k->c[14], (int64_t)j->track_index);
	} else {
		ff_pg_array_text(&k->c[13], NULL);
		ff_pg_array_text(&k->c[14], NULL);
	}
	if (fused)
		ff_pg_array_i64(&k->c[15], j->faces_fused);
	else
		ff_pg_array_text(&k->c[15], NULL);
	ff_pg_array_text(&k->c[16], fused ? be_decision_name(j->track_decision) : NULL);
	if (fused && track_who(j))
		ff_pg_array_i64(&k->c[17], j->track_top.identity_id);
	else
		ff_pg_array_text(&k->c[17], NULL);
	snprintf(sc, sizeof(sc), "%.6f", j->track_score);
	ff_pg_array_text(&k->c[18], fused && j->track_ntop ? sc : NULL);
	ff_pg_array_text(&k->c[19], fused ? j->track_reason : NULL);
	ff_pg_array_text(&k->c[20], fused ? (j->track_changed ? "t" : "f") : NULL);
}

/* The event row's codes column: the packed indices as hex, NULL when the
 * face had none. */
static void add_codes(ff_pg_array *c, const be_job *j)
{
	static const char hex[] = "0123456789abcdef";
	char h[2 * sizeof(j->codes) + 1];
	for (size_t i = 0; i < j->ncodes; i++) {
		h[2 * i] = hex[j->codes[i] >> 4];
		h[2 * i + 1] = hex[j->codes[i] & 15];
	}
	h[2 * j->ncodes] = '\0';
	ff_pg_array_text(c, j->ncodes ? h : NULL);
}

/* Claims keys for the event-bearing jobs; marks j->inserted for the claimed. */
static be_batch_result claim_and_insert(be_batch *b, be_job **jobs, size_t n, be_batch_cols *k)
{
	PGresult *r;
	size_t ne = 0;

	for (int i = 0; i < 5; i++)
		ff_pg_array_begin(&k->c[i]);
	for (size_t i = 0; i < n; i++) {
		if (!has_event(jobs[i]))
			continue;
		ff_pg_array_text(&k->c[0], jobs[i]->device_id);
		ff_pg_array_i64(&k->c[1], (int64_t)jobs[i]->seq);
		ff_pg_array_text(&k->c[2], jobs[i]->event_id);
		ff_pg_array_i64(&k->c[3], jobs[i]->decided_us);
		ff_pg_array_text(&k->c[4], jobs[i]->digest);
		ne++;
	}
	if (!ne)
		return BE_BATCH_OK;
	r = exec_cols(b, "ff_claim", k, 5, NULL, NULL);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK)
		return finish(b, r, PGRES_TUPLES_OK, "claim");
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

	for (int i = 0; i < BE_EVENT_COLS; i++)
		ff_pg_array_begin(&k->c[i]);
	ne = 0;
	for (size_t i = 0; i < n; i++) {
		const be_job *j = jobs[i];
		char sc[32];
		if (!j->inserted)
			continue;
		ne++;
		ff_pg_array_text(&k->c[0], j->event_id);
		ff_pg_array_text(&k->c[1], j->device_id);
		ff_pg_array_text(&k->c[2], j->site_id);
		ff_pg_array_i64(&k->c[3], (int64_t)j->seq);
		ff_pg_array_i64(&k->c[4], j->capture_us);
		ff_pg_array_i64(&k->c[5], j->received_us);
		ff_pg_array_i64(&k->c[6], j->decided_us);
		ff_pg_array_text(&k->c[7], be_decision_name(j->decision));
		if (j->ntop && (j->decision == BE_DECISION_GRANTED ||
				j->decision == BE_DECISION_REJECTED))
			ff_pg_array_i64(&k->c[8], j->top[0].identity_id);
		else
			ff_pg_array_text(&k->c[8], NULL);
		snprintf(sc, sizeof(sc), "%.6f", j->score);
		ff_pg_array_text(&k->c[9], j->ntop ? sc : NULL);
		ff_pg_array_text(&k->c[10], j->model_id);
		ff_pg_array_text(&k->c[11], j->reason);
		add_topk(&k->c[12], j);
		add_track_cols(k, j);
		add_codes(&k->c[21], j);
	}
	if (!ne)
		return BE_BATCH_OK;
	return finish(b, exec_cols(b, "ff_event", k, BE_EVENT_COLS, NULL, b->actor),
		      PGRES_COMMAND_OK, "events");
}

/* Devices that kept flooding (be_budget): disabled in the same transaction
 * as their audit row; the NOTIFY tells every backend. */
static be_batch_result disable_flooders(be_batch *b, be_job **jobs, size_t n, be_batch_cols *k)
{
	size_t m = 0;
	ff_pg_array_begin(&k->c[0]);
	for (size_t i = 0; i < n; i++)
		if (jobs[i]->flood_disable && jobs[i]->device_id[0]) {
			ff_pg_array_text(&k->c[0], jobs[i]->device_id);
			m++;
		}
	if (!m)
		return BE_BATCH_OK;
	ff_log_warn(LOG_COMP, "event=devices_disabled reason=flooding count=%zu", m);
	return finish(b, exec_cols(b, "ff_disable", k, 1, NULL, NULL), PGRES_COMMAND_OK, "disable");
}

static be_batch_result insert_audit(be_batch *b, be_job **jobs, size_t n, be_batch_cols *k)
{
	char src[200];

	for (int i = 0; i < 5; i++)
		ff_pg_array_begin(&k->c[i]);
	for (size_t i = 0; i < n; i++) {
		const be_job *j = jobs[i];
		const char *action = j->flood_disable ? "device.flood_disable"
				     : !has_event(j)  ? "message.reject"
				     : j->inserted    ? "event.decide"
						      : "event.duplicate";
		ff_pg_array_i64(&k->c[0], j->decided_us ? j->decided_us : j->received_us);
		ff_pg_array_text(&k->c[1], action);
		ff_pg_array_text(&k->c[2], j->inserted ? j->event_id
				 : j->device_id[0] ? j->device_id
						   : j->claimed_device);
		snprintf(src, sizeof(src), "mqtt:%s", j->topic);
		ff_pg_array_text(&k->c[3], src);
		add_audit_detail(&k->c[4], j);
	}
	return finish(b, exec_cols(b, "ff_audit", k, 5, b->actor, NULL), PGRES_COMMAND_OK, "audit");
}

size_t be_batch_collect_hwm(be_batch *b, be_job **jobs, size_t n)
{
	be_batch_cols *k = &b->k;
	size_t m = 0;
	ff_pg_array_begin(&k->c[0]);
	ff_pg_array_begin(&k->c[1]);
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i]->inserted)
			continue;
		ff_pg_array_text(&k->c[0], jobs[i]->device_id);
		ff_pg_array_i64(&k->c[1], (int64_t)jobs[i]->seq);
		m++;
	}
	return m;
}

void be_batch_send_hwm(be_batch *b)
{
	PGresult *r;
	/* best effort (a cache seed for restarts); a lock timeout or deadlock
	 * with another backend only costs a stale mark */
	r = exec_cols(b, "ff_hwm", &b->k, 2, NULL, NULL);
	if (r && PQresultStatus(r) != PGRES_COMMAND_OK)
		ff_log_debug(LOG_COMP, "event=hwm_update_failed err=\"%s\"", PQerrorMessage(b->db));
	PQclear(r);
}

be_batch_result be_batch_write(be_batch *b, be_job **jobs, size_t n)
{
	be_batch_cols *k = &b->k;
	be_batch_result res;
	for (size_t i = 0; i < n; i++)
		jobs[i]->inserted = false;
	if ((res = simple(b->db, "BEGIN")) != BE_BATCH_OK)
		return res;
	res = claim_and_insert(b, jobs, n, k);
	if (res == BE_BATCH_OK)
		res = insert_audit(b, jobs, n, k);
	if (res == BE_BATCH_OK)
		res = disable_flooders(b, jobs, n, k);
	if (res == BE_BATCH_OK)
		res = simple(b->db, "COMMIT");
	if (res != BE_BATCH_OK) {
		PGresult *r = PQexec(b->db, "ROLLBACK");
		PQclear(r);
		for (size_t i = 0; i < n; i++)
			jobs[i]->inserted = false;
	}
	return res;
}
