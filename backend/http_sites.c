/* Sites over HTTP: list (with thresholds), add and remove (a token of every
 * site only: a limited operator cannot make or end sites), per-site
 * threshold (null: back to the global default); and whoami. */
#include "http_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int be_h_whoami(be_req *r)
{
	cJSON *o = cJSON_CreateObject(), *s;
	cJSON_AddStringToObject(o, "name", r->tok.name);
	cJSON_AddStringToObject(o, "role", r->tok.role == BE_ROLE_OPERATOR ? "operator" : "integrator");
	if (r->tok.nsites < 0) {
		cJSON_AddNullToObject(o, "sites");
	} else {
		s = cJSON_AddArrayToObject(o, "sites");
		for (int i = 0; i < r->tok.nsites; i++)
			cJSON_AddItemToArray(s, cJSON_CreateString(r->tok.sites[i]));
	}
	return be_reply_json(r, 200, o);
}

bool be_threshold_body(be_req *r, char *out, size_t cap)
{
	cJSON *o = be_body_json(r), *t;
	bool ok;
	if (!o)
		return false;
	t = cJSON_GetObjectItemCaseSensitive(o, "threshold");
	ok = cJSON_IsNull(t) || (cJSON_IsNumber(t) && isfinite(t->valuedouble) &&
				 t->valuedouble > 0 && t->valuedouble <= 1);
	if (ok && cJSON_IsNull(t))
		out[0] = '\0';
	else if (ok)
		snprintf(out, cap, "%.6g", t->valuedouble);
	cJSON_Delete(o);
	if (!ok)
		be_reply_error(r, 400, "body: {\"threshold\": a number in (0, 1], or null for the default}");
	return ok;
}

static cJSON *site_json(be_req *r, const PGresult *res, int i)
{
	cJSON *x = cJSON_CreateObject();
	be_json_text(x, "site", res, i, 0);
	be_json_num(x, "threshold", res, i, 1);
	cJSON_AddNumberToObject(x, "default_threshold", r->h->o.threshold);
	be_json_text(x, "description", res, i, 2);
	be_json_num(x, "devices", res, i, 3);
	return x;
}

int be_h_sites_list(be_req *r)
{
	const char *p[1] = { be_scope_param(&r->tok) };
	return be_reply_rows(r, be_sql(r, "SELECT s.site_id, s.threshold, s.description, "
				       "  (SELECT count(*) FROM devices d WHERE d.site_id = s.site_id) "
				       "FROM sites s WHERE $1::text[] IS NULL OR s.site_id = ANY ($1::text[]) "
				       "ORDER BY s.site_id", 1, p),
			     "sites", site_json);
}

static bool every_site_token(be_req *r)
{
	if (r->tok.nsites < 0)
		return true;
	be_reply_error(r, 403, "token %s is limited to some sites: only a token of every site adds or "
			       "removes sites", r->tok.name);
	return false;
}

int be_h_site_add(be_req *r)
{
	cJSON *o, *s, *d, *detail;
	PGresult *res;
	bool added;
	if (!every_site_token(r) || !(o = be_body_json(r)))
		return r->status;
	s = cJSON_GetObjectItemCaseSensitive(o, "site");
	d = cJSON_GetObjectItemCaseSensitive(o, "description");
	if (!cJSON_IsString(s) || !ff_id_valid(s->valuestring) || (d && !cJSON_IsString(d)) ||
	    (d && strlen(d->valuestring) > 200)) {
		cJSON_Delete(o);
		return be_reply_error(r, 400, "body: {\"site\": [a-z0-9-]{1,32}, \"description\": text (optional)}");
	}
	const char *p[3] = { s->valuestring, d ? d->valuestring : "", r->tok.actor };
	if (!be_tx(r, "BEGIN") ||
	    !(res = be_sql(r, "INSERT INTO sites (site_id, description, created_by) VALUES ($1, $2, $3) "
			      "ON CONFLICT (site_id) DO NOTHING", 3, p))) {
		cJSON_Delete(o);
		return be_reply_sql_error(r);
	}
	added = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!added) {
		cJSON_Delete(o);
		return be_reply_error(r, 409, "site %s already exists", p[0]);
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "description", p[1]);
	if (!be_audit(r, "site.add", p[0], detail) || !be_tx(r, "COMMIT")) {
		cJSON_Delete(o);
		return be_reply_sql_error(r);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "description");
	cJSON_AddStringToObject(o, "description", p[1]);
	return be_reply_json(r, 201, o);
}

int be_h_site_remove(be_req *r)
{
	const char *site = r->args[0];
	const char *p[1] = { site };
	PGresult *res;
	bool gone;
	if (!every_site_token(r))
		return r->status;
	if (!ff_id_valid(site))
		return be_reply_error(r, 404, "no site %.40s", site);
	if (!be_tx(r, "BEGIN") ||
	    !(res = be_sql(r, "DELETE FROM sites WHERE site_id = $1 "
			      "AND NOT EXISTS (SELECT 1 FROM devices WHERE site_id = $1) "
			      "AND NOT EXISTS (SELECT 1 FROM mqtt_subscribers WHERE $1 = ANY (sites)) "
			      "AND NOT EXISTS (SELECT 1 FROM identities WHERE $1 = ANY (allowed_sites))",
			   1, p)))
		return be_reply_sql_error(r);
	gone = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!gone) {
		if (!(res = be_sql(r, "SELECT 1 FROM sites WHERE site_id = $1", 1, p)))
			return be_reply_sql_error(r);
		gone = PQntuples(res) == 0;
		PQclear(res);
		return gone ? be_reply_error(r, 404, "no site %s", site)
			    : be_reply_error(r, 409, "site %s is in use (devices, integrators or identities "
						     "name it)", site);
	}
	if (!be_audit(r, "site.remove", site, NULL) || !be_tx(r, "COMMIT"))
		return be_reply_sql_error(r);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "site", site);
	cJSON_AddBoolToObject(o, "removed", true);
	return be_reply_json(r, 200, o);
}

int be_h_site_threshold(be_req *r)
{
	const char *site = r->args[0];
	char t[32];
	PGresult *res;
	cJSON *detail, *o;
	bool found;
	if (!be_threshold_body(r, t, sizeof(t)))
		return r->status;
	if (!ff_id_valid(site) || !be_scope_has(&r->tok, site))
		return be_reply_error(r, 404, "no site %.40s", site);
	const char *p[2] = { site, *t ? t : NULL };
	if (!be_tx(r, "BEGIN") ||
	    !(res = be_sql(r, "UPDATE sites SET threshold = $2::real WHERE site_id = $1", 2, p)))
		return be_reply_sql_error(r);
	found = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!found)
		return be_reply_error(r, 404, "no site %s", site);
	detail = cJSON_CreateObject();
	be_json_threshold(detail, t);
	if (!be_audit(r, "site.threshold", site, detail) || !be_tx(r, "COMMIT"))
		return be_reply_sql_error(r);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "site", site);
	be_json_threshold(o, t);
	return be_reply_json(r, 200, o);
}
