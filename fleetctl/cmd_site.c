/* fleetctl/cmd_site.c: site add | list | remove.
 *
 * The site registry (table sites, migration 008). A site is only what this
 * table lists: device add, subscriber add --sites, identity enroll --sites
 * and identity set-sites refuse any other (a typo no longer makes a new
 * site). Removing a site still named by a device, an integrator or an
 * identity's allowed sites is refused; past events keep their site. */
#include "fleetctl.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"

/* The site id from --name, --site or the first positional argument. */
static const char *site_arg(fc_ctx *ctx, int argc, char **argv)
{
	const char *s = ctx->cfg.name && *ctx->cfg.name ? ctx->cfg.name :
			ctx->cfg.site && *ctx->cfg.site ? ctx->cfg.site : (argc > 1 ? argv[1] : "");
	if (!fc_need(s, "name"))
		return NULL;
	if (!ff_id_valid(s)) {
		fc_fail(FF_EXIT_USAGE, "site id '%s' must match [a-z0-9-]{1,32}", s);
		return NULL;
	}
	return s;
}

static int site_add(fc_ctx *ctx, int argc, char **argv)
{
	const char *site;
	bool in_tx = false;
	cJSON *detail, *o;
	char what[96];
	int rc = FF_EXIT_FAIL;

	if (!(site = site_arg(ctx, argc, argv)))
		return FF_EXIT_USAGE;
	snprintf(what, sizeof(what), "site %s (see fleetctl site list)", site);
	{
		const char *p[3] = { site, ctx->cfg.description ? ctx->cfg.description : "", ctx->actor };
		if (!fc_begin_insert(ctx, &in_tx, "INSERT INTO sites (site_id, description, created_by) "
						  "VALUES ($1, $2, $3) ON CONFLICT (site_id) DO NOTHING",
				     3, p, what))
			goto out;
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "description", ctx->cfg.description ? ctx->cfg.description : "");
	if (!fc_audit_commit(ctx, "site.add", site, detail, &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "site", site);
	cJSON_AddStringToObject(o, "description", ctx->cfg.description ? ctx->cfg.description : "");
	rc = fc_report(ctx, o, "site %s added\n", site) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static int site_list(fc_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fc_print_query(ctx, "site.list", NULL,
		   "SELECT s.site_id AS site, "
		   "       (SELECT count(*) FROM devices d WHERE d.site_id = s.site_id) AS devices, "
		   "       (SELECT count(*) FROM mqtt_subscribers m WHERE s.site_id = ANY (m.sites)) AS subscribers, "
		   "       (SELECT count(*) FROM identities i WHERE s.site_id = ANY (i.allowed_sites)) AS identities, "
		   "       to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
		   "       s.created_by, round(s.threshold::numeric, 4) AS threshold, s.description "
		   "FROM sites s ORDER BY s.site_id",
		   0, NULL);
}

static int site_remove(fc_ctx *ctx, int argc, char **argv)
{
	const char *site;
	PGresult *r;
	bool in_tx = false, gone;
	cJSON *o;
	int rc = FF_EXIT_FAIL;

	if (!(site = site_arg(ctx, argc, argv)))
		return FF_EXIT_USAGE;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return FF_EXIT_FAIL;
	in_tx = true;
	{
		/* one statement: the check and the removal see the same rows */
		const char *p[1] = { site };
		if (!(r = fc_sql(ctx, "DELETE FROM sites WHERE site_id = $1 "
				      "AND NOT EXISTS (SELECT 1 FROM devices WHERE site_id = $1) "
				      "AND NOT EXISTS (SELECT 1 FROM mqtt_subscribers WHERE $1 = ANY (sites)) "
				      "AND NOT EXISTS (SELECT 1 FROM identities WHERE $1 = ANY (allowed_sites))",
				 1, p)))
			goto out;
		gone = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
		if (!gone) {
			if (!(r = fc_sql(ctx, "SELECT (SELECT count(*) FROM devices WHERE site_id = $1), "
					      "  (SELECT count(*) FROM mqtt_subscribers WHERE $1 = ANY (sites)), "
					      "  (SELECT count(*) FROM identities WHERE $1 = ANY (allowed_sites)) "
					      "FROM sites WHERE site_id = $1", 1, p)))
				goto out;
			if (PQntuples(r) != 1)
				rc = fc_fail(FF_EXIT_FAIL, "no site %s (see fleetctl site list)", site);
			else
				rc = fc_fail(FF_EXIT_FAIL, "site %s is in use: %s device(s), %s subscriber(s), "
							   "%s identity(ies) allowed there; delete or move them first",
					     site, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
			PQclear(r);
			goto out;
		}
	}
	if (!fc_audit_commit(ctx, "site.remove", site, cJSON_CreateObject(), &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "site", site);
	cJSON_AddBoolToObject(o, "removed", true);
	rc = fc_report(ctx, o, "site %s removed\n", site) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static const fc_verb verbs[] = {
	{ "add", site_add, "add S [--description TEXT]",
	  "register site S: devices, integrators and identities may only name registered sites" },
	{ "list", site_list, "list", "sites with their devices, integrators and identities allowed there" },
	{ "remove", site_remove, "remove S", "unregister a site nothing uses any more (past events keep it)" },
	{ "threshold", fc_site_threshold, "threshold S VALUE|default",
	  "the site's open-set threshold (0..1]; default: the backend's global one (backend/THRESHOLD.md)" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_site(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "site", verbs, argc, argv);
}
