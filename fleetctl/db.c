/* fleetctl/db.c: the PostgreSQL side: one connection per run (schema
 * migrated on connect, except for the read-only verbs), parameterised
 * statements only, audit rows. */
#include "fleetctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/store.h"

PGconn *fc_db(fc_ctx *ctx)
{
	char err[512] = "";
	if (ctx->db)
		return ctx->db;
	if (!ctx->cfg.db_conninfo || !*ctx->cfg.db_conninfo) {
		fc_fail(FF_EXIT_FAIL, "no database: set db_conninfo (config file, --db-conninfo or $FF_PG_CONNINFO)");
		return NULL;
	}
	if (!(ctx->db = ff_store_open(ctx->cfg.db_conninfo, "fleetctl", err, sizeof(err)))) {
		fc_fail(FF_EXIT_FAIL, "database connection failed: %s", err);
		return NULL;
	}
	if (ctx->cfg.migrate && !ctx->read_only &&
	    ff_store_migrate(ctx->db, ctx->cfg.migrations_dir && *ctx->cfg.migrations_dir ?
					      ctx->cfg.migrations_dir : NULL,
			     NULL, err, sizeof(err)) != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "schema migration failed: %s", err);
		goto fail;
	}
	return ctx->db;
fail:
	PQfinish(ctx->db);
	ctx->db = NULL;
	return NULL;
}

PGresult *fc_sql(fc_ctx *ctx, const char *sql, int n, const char *const *params)
{
	PGconn *db = fc_db(ctx);
	PGresult *r;
	ExecStatusType st;
	if (!db)
		return NULL;
	r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fc_fail(FF_EXIT_FAIL, "database: %s", PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

bool fc_sql_ok(fc_ctx *ctx, const char *sql, int n, const char *const *params)
{
	PGresult *r = fc_sql(ctx, sql, n, params);
	PQclear(r);
	return r != NULL;
}

bool fc_audit(fc_ctx *ctx, const char *action, const char *subject, const char *detail)
{
	char source[300];
	snprintf(source, sizeof(source), "cli:%s", ctx->host);
	const char *p[5] = { ctx->actor, action, subject ? subject : "", source, detail ? detail : "{}" };
	return fc_sql_ok(ctx,
			 "INSERT INTO audit_log (actor, action, subject, source, detail) "
			 "VALUES ($1, $2, $3, $4, $5::jsonb)",
			 5, p);
}

bool fc_begin_insert(fc_ctx *ctx, bool *in_tx, const char *sql, int n, const char *const *params,
		     const char *what)
{
	PGresult *r;
	bool dup;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return false;
	*in_tx = true;
	if (!(r = fc_sql(ctx, sql, n, params)))
		return false;
	dup = strcmp(PQcmdTuples(r), "0") == 0;
	PQclear(r);
	if (dup)
		fc_fail(FF_EXIT_FAIL, "%s already exists", what);
	return !dup;
}

int fc_print_query(fc_ctx *ctx, const char *action, const char *detail, const char *sql, int n,
		   const char *const *params)
{
	PGresult *r = fc_sql(ctx, sql, n, params);
	if (!r)
		return FF_EXIT_FAIL;
	fc_print_result(r, fc_ctx_format(ctx));
	PQclear(r);
	return fc_audit(ctx, action, "", detail) ? FF_EXIT_OK : FF_EXIT_FAIL;
}

int fc_sites_known(fc_ctx *ctx, char **sites, int n)
{
	char arr[FC_SITES_ARRAY_MAX];
	PGresult *r;
	int rc = FF_EXIT_OK;
	if (!fc_sites_literal(sites, n, arr, sizeof(arr)))
		return fc_fail(FF_EXIT_USAGE, "too many sites");
	{
		const char *p[1] = { arr };
		r = fc_sql(ctx, "SELECT s FROM unnest($1::text[]) s "
				"WHERE NOT EXISTS (SELECT 1 FROM sites WHERE site_id = s)", 1, p);
	}
	if (!r)
		return FF_EXIT_FAIL;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *s = PQgetvalue(r, i, 0);
		rc = fc_fail(FF_EXIT_USAGE, "unknown site '%s' (see fleetctl site list; register it with "
					    "fleetctl site add %s)", s, s);
	}
	PQclear(r);
	return rc;
}

int fc_sites_arg(fc_ctx *ctx, const char *list, bool star, char *arr, size_t cap, bool *every)
{
	char *copy, *items[FC_MAX_SITES];
	int n, rc;
	*every = false;
	if (star && strcmp(list, "*") == 0) {
		*every = true;
		snprintf(arr, cap, "{}");
		return FF_EXIT_OK;
	}
	if (!(copy = strdup(list)))
		return fc_fail(FF_EXIT_FAIL, "out of memory");
	if ((n = fc_split_ids(copy, items, FC_MAX_SITES)) < 1) {
		free(copy);
		return fc_fail(FF_EXIT_USAGE, "--sites: comma-separated site ids [a-z0-9-]{1,32}, at most %d%s",
			       FC_MAX_SITES, star ? ", or '*' for every site" : "");
	}
	rc = fc_sites_known(ctx, items, n);
	if (rc == FF_EXIT_OK && !fc_sites_literal(items, n, arr, cap))
		rc = fc_fail(FF_EXIT_USAGE, "--sites: too long");
	free(copy);
	return rc;
}

bool fc_sites_literal(char **sites, int n, char *arr, size_t cap)
{
	size_t o = 0;
	int w;
	if (cap < 3)
		return false;
	arr[o++] = '{';
	for (int i = 0; i < n; i++) {
		w = snprintf(arr + o, cap - o, "%s%s", i ? "," : "", sites[i]); /* ids: no quoting needed */
		if (w < 0 || (size_t)w >= cap - o)
			return false;
		o += (size_t)w;
	}
	if (o + 2 > cap)
		return false;
	arr[o++] = '}';
	arr[o] = '\0';
	return true;
}

cJSON *fc_sites_json(const char *arr)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = arr && *arr == '{' ? arr + 1 : "";
	while (a && *p && *p != '}') {
		size_t l = strcspn(p, ",}");
		char id[40];
		snprintf(id, sizeof(id), "%.*s", (int)(l < sizeof(id) ? l : sizeof(id) - 1), p);
		cJSON_AddItemToArray(a, cJSON_CreateString(id));
		p += l;
		if (*p == ',')
			p++;
	}
	return a;
}
