/* fleetctl/db.c: the PostgreSQL side: one connection per run (schema
 * migrated on connect, except for the read-only verbs), parameterised
 * statements only, audit rows. */
#include "fleetctl.h"

#include <stdio.h>
#include <string.h>

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
