/* Enrolment and erasure statements (facefleet/identity_store.h). */
#include "facefleet/identity_store.h"

#include "facefleet/error.h"

#include <stdio.h>
#include <string.h>

/* One parameterised statement; its result when it succeeded (else NULL,
 * PostgreSQL's message in errbuf). */
static PGresult *run(PGconn *db, const char *sql, int n, const char *const *p, char *errbuf,
		     size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	ff_seterr(errbuf, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

/* The first column of the only row into out; false (errbuf) on error. */
static bool run_value(PGconn *db, const char *sql, const char *param, char *out, size_t cap,
		      char *errbuf, size_t errlen)
{
	const char *p[1] = { param };
	PGresult *r = run(db, sql, 1, p, errbuf, errlen);
	if (!r)
		return false;
	snprintf(out, cap, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "0");
	PQclear(r);
	return true;
}

int ff_identity_upsert(PGconn *db, const char *name, const char *display_name,
		       const char *sites_arr, bool sites_given, ff_identity_row *out,
		       char *errbuf, size_t errlen)
{
	const char *p[4] = { name, display_name ? display_name : name, sites_arr,
			     sites_given ? "true" : "false" };
	PGresult *r = run(db,
			  "INSERT INTO identities (external_id, display_name, allowed_sites) "
			  "VALUES ($1, $2, $3::text[]) ON CONFLICT (external_id) DO UPDATE "
			  "SET enabled = true, allowed_sites = CASE WHEN $4::boolean "
			  "  THEN EXCLUDED.allowed_sites ELSE identities.allowed_sites END "
			  "RETURNING identity_id, allowed_sites::text, xmax = 0",
			  4, p, errbuf, errlen);
	if (!r)
		return FF_ERR_DB;
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(r, 0, 0));
	snprintf(out->sites, sizeof(out->sites), "%s", PQgetvalue(r, 0, 1));
	out->created = PQgetvalue(r, 0, 2)[0] == 't';
	PQclear(r);
	return FF_OK;
}

int ff_identity_add_template(PGconn *db, const char *identity_id, const char *model_id,
			     const char *vec, const char *source, char *errbuf, size_t errlen)
{
	const char *p[4] = { identity_id, model_id, vec, source };
	PGresult *r = run(db,
			  "INSERT INTO face_templates (identity_id, model_id, embedding, source) "
			  "VALUES ($1::bigint, $2, $3::real[], $4)",
			  4, p, errbuf, errlen);
	PQclear(r);
	return r ? FF_OK : FF_ERR_DB;
}

/* events keep their identity_id (now the pseudonym's row); the recorded
 * top-k matches carry names, which are replaced */
static bool pseudonymise_topk(PGconn *db, const char *name, const char *pseudo, char *errbuf,
			      size_t errlen)
{
	const char *p[2] = { name, pseudo };
	PGresult *r = run(db,
			  "UPDATE recognition_events SET topk = (SELECT jsonb_agg(CASE WHEN x->>'identity' = $1 "
			  "  THEN jsonb_set(x, '{identity}', to_jsonb($2::text)) ELSE x END) "
			  "  FROM jsonb_array_elements(topk) x) "
			  "WHERE topk @> jsonb_build_array(jsonb_build_object('identity', $1::text))",
			  2, p, errbuf, errlen);
	PQclear(r);
	return r != NULL;
}

int ff_identity_erase(PGconn *db, const char *name, ff_erasure *out, char *errbuf, size_t errlen)
{
	const char *p[1] = { name };
	PGresult *r;
	memset(out, 0, sizeof(*out));
	r = run(db, "SELECT identity_id FROM identities WHERE external_id = $1 FOR UPDATE", 1, p,
		errbuf, errlen);
	if (!r)
		return FF_ERR_DB;
	if (PQntuples(r) != 1) {
		PQclear(r);
		ff_seterr(errbuf, errlen, "no identity '%s'", name);
		return FF_ERR_NOTFOUND;
	}
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(out->pseudonym, sizeof(out->pseudonym), "erased-%s", out->id);
	if (!(r = run(db, "DELETE FROM face_templates WHERE identity_id = $1::bigint", 1,
		      (const char *const[]){ out->id }, errbuf, errlen)))
		return FF_ERR_DB;
	snprintf(out->templates, sizeof(out->templates), "%s", PQcmdTuples(r));
	PQclear(r);
	/* the audit rows that named the person get the pseudonym: only possible
	 * now, with the templates gone and the name not yet replaced */
	if (!pseudonymise_topk(db, name, out->pseudonym, errbuf, errlen) ||
	    !run_value(db, "SELECT count(*) FROM recognition_events WHERE identity_id = $1::bigint",
		       out->id, out->events, sizeof(out->events), errbuf, errlen) ||
	    !run_value(db, "SELECT ff_audit_scrub_identity($1::bigint)", out->id, out->audit_rows,
		       sizeof(out->audit_rows), errbuf, errlen))
		return FF_ERR_DB;
	{
		const char *q[2] = { out->id, out->pseudonym };
		if (!(r = run(db, "UPDATE identities SET external_id = $2, display_name = '', "
				  "enabled = false, allowed_sites = '{}' WHERE identity_id = $1::bigint",
			      2, q, errbuf, errlen)))
			return FF_ERR_DB;
		PQclear(r);
	}
	return FF_OK;
}
