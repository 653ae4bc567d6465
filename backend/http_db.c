/* The HTTP API's database connections (http_internal.h): a small pool of
 * its own, so an API call never waits on, or holds up, the pipeline's writer
 * or listener connections. Each statement is prepared once per connection
 * (PQprepare, named after the statement constant's address) and run with
 * PQexecPrepared: values only ever travel as parameters. */
#include "http_internal.h"

#include "metrics.h"
#include "store.h"

#include "facefleet/error.h"
#include "facefleet/log.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMP "http"
#define PREPARED_MAX 96
#define LEASE_WAIT_S 5

typedef struct slot {
	PGconn *db;
	bool busy;
	const char *prepared[PREPARED_MAX]; /* statement constants prepared on db */
	int nprepared;
} slot;

struct be_dbpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conninfo;
	int n;
	slot *slots;
};

int be_dbpool_create(const char *conninfo, int n, be_dbpool **out)
{
	be_dbpool *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p || !(p->slots = calloc((size_t)(n > 0 ? n : 1), sizeof(slot))) ||
	    !(p->conninfo = strdup(conninfo))) {
		be_dbpool_free(p);
		return FF_ERR_NOMEM;
	}
	p->n = n > 0 ? n : 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	*out = p;
	return FF_OK;
}

void be_dbpool_free(be_dbpool *p)
{
	if (!p)
		return;
	if (p->slots) {
		for (int i = 0; i < p->n; i++)
			if (p->slots[i].db)
				PQfinish(p->slots[i].db);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->slots);
	free(p->conninfo);
	free(p);
}

/* A free slot (waits up to LEASE_WAIT_S); NULL when none came free. */
static slot *lease(be_dbpool *p)
{
	struct timespec until;
	slot *s = NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LEASE_WAIT_S;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (int i = 0; i < p->n && !s; i++)
			if (!p->slots[i].busy)
				s = &p->slots[i];
		if (s || pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
			break;
	}
	if (s)
		s->busy = true;
	pthread_mutex_unlock(&p->mu);
	return s;
}

PGconn *be_db(be_req *r)
{
	slot *s = r->db_slot;
	if (r->db)
		return r->db;
	if (!s && !(s = r->db_slot = lease(r->h->pool)))
		return NULL;
	if (s->db && PQstatus(s->db) != CONNECTION_OK) {
		PQfinish(s->db); /* a new session: nothing prepared on it */
		s->db = NULL;
	}
	if (!s->db) {
		s->nprepared = 0;
		s->db = be_store_connect(r->h->conninfo, "http");
	}
	r->db = s->db;
	return r->db;
}

void be_db_release(be_req *r)
{
	slot *s = r->db_slot;
	be_dbpool *p = r->h ? r->h->pool : NULL;
	if (!s || !p)
		return;
	if (s->db && PQtransactionStatus(s->db) != PQTRANS_IDLE)
		PQclear(PQexec(s->db, "ROLLBACK")); /* a handler that left early */
	pthread_mutex_lock(&p->mu);
	s->busy = false;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	r->db_slot = NULL;
	r->db = NULL;
}

static void failed(be_req *r, PGresult *res, const char *sql)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", st ? st : "");
	ff_log_warn(LOG_COMP, "event=sql_failed sqlstate=%s err=\"%.200s\" sql=\"%.60s\"", r->sqlstate,
		    r->db ? PQerrorMessage(r->db) : "no connection", sql);
	if (!st || strncmp(st, "08", 2) == 0)
		be_metrics_db_error();
}

/* The statement's name on this connection, prepared now when it is new. */
static bool prepare(be_req *r, slot *s, const char *sql, int n, char name[32])
{
	snprintf(name, 32, "ffh_%lx", (unsigned long)(uintptr_t)sql);
	for (int i = 0; i < s->nprepared; i++)
		if (s->prepared[i] == sql)
			return true;
	PGresult *res = PQprepare(s->db, name, sql, n, NULL);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		failed(r, res, sql);
	else if (s->nprepared < PREPARED_MAX)
		s->prepared[s->nprepared++] = sql;
	PQclear(res);
	return ok;
}

PGresult *be_sql(be_req *r, const char *sql, int n, const char *const *params)
{
	char name[32];
	PGresult *res;
	slot *s;
	r->sqlstate[0] = '\0';
	if (!be_db(r)) {
		failed(r, NULL, sql);
		return NULL;
	}
	s = r->db_slot;
	if (!prepare(r, s, sql, n, name))
		return NULL;
	res = PQexecPrepared(s->db, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	failed(r, res, sql);
	PQclear(res);
	return NULL;
}

bool be_tx(be_req *r, const char *what)
{
	static const char *const stmts[] = { "BEGIN", "COMMIT", "ROLLBACK" };
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if (strcmp(what, stmts[i]) == 0) {
			PGresult *res = be_sql(r, stmts[i], 0, NULL);
			PQclear(res);
			return res != NULL;
		}
	return false;
}

bool be_audit(be_req *r, const char *action, const char *subject, cJSON *detail)
{
	char *d = detail ? cJSON_PrintUnformatted(detail) : NULL;
	const char *p[4] = { r->tok.actor, action, subject, d ? d : "{}" };
	PGresult *res;
	cJSON_Delete(detail);
	res = be_sql(r, "INSERT INTO audit_log (actor, action, subject, source, detail) "
			"VALUES ($1, $2, $3, 'http', $4::jsonb)",
		     4, p);
	cJSON_free(d);
	PQclear(res);
	return res != NULL;
}

int be_reply_sql_error(be_req *r)
{
	if (strncmp(r->sqlstate, "22", 2) == 0 || strncmp(r->sqlstate, "23", 2) == 0)
		return be_reply_error(r, 400, "a value was refused by the database (SQLSTATE %s)",
				      r->sqlstate);
	return be_reply_error(r, 500, "database error%s", r->db ? "" : ": unavailable");
}

int be_reply_rows(be_req *r, PGresult *res, const char *key, be_row_json row)
{
	cJSON *o, *arr;
	if (!res)
		return be_reply_sql_error(r);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, key);
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(arr, row(r, res, i));
	PQclear(res);
	return be_reply_json(r, 200, o);
}

void be_json_num(cJSON *o, const char *key, const PGresult *res, int i, int c)
{
	if (PQgetisnull(res, i, c))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, strtod(PQgetvalue(res, i, c), NULL));
}

void be_json_text(cJSON *o, const char *key, const PGresult *res, int i, int c)
{
	if (PQgetisnull(res, i, c))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, PQgetvalue(res, i, c));
}

void be_json_threshold(cJSON *o, const char *t)
{
	if (*t)
		cJSON_AddRawToObject(o, "threshold", t);
	else
		cJSON_AddNullToObject(o, "threshold");
}
