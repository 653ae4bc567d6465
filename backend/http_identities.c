/* Identities over HTTP: list, enrol from an uploaded photo (the same
 * detect/align/embed steps as fleetctl identity enroll: facefleet/enrol.h;
 * the same statements: facefleet/identity_store.h) and erase. A token
 * limited to some sites sees the identities allowed at one of them (or
 * everywhere); it changes only those allowed nowhere but at its sites. */
#include "http_internal.h"

#include "facefleet/enrol.h"
#include "facefleet/error.h"
#include "facefleet/identity_store.h"
#include "facefleet/image.h"
#include "facefleet/log.h"
#include "facefleet/store.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "http"

/* The ids of a "{a,b}" literal as a JSON array. */
static cJSON *sites_json(const char *arr)
{
	cJSON *a = cJSON_CreateArray();
	char buf[FF_IDENTITY_SITES_MAX];
	size_t l = strlen(arr);
	if (l <= 2 || l >= sizeof(buf))
		return a;
	snprintf(buf, sizeof(buf), "%.*s", (int)(l - 2), arr + 1);
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
	return a;
}

static cJSON *identity_json(be_req *r, const PGresult *res, int i)
{
	cJSON *x = cJSON_CreateObject();
	(void)r;
	be_json_text(x, "identity", res, i, 0);
	be_json_text(x, "display_name", res, i, 1);
	cJSON_AddItemToObject(x, "sites", sites_json(PQgetvalue(res, i, 2)));
	be_json_num(x, "templates", res, i, 3);
	be_json_text(x, "created", res, i, 4);
	return x;
}

int be_h_identities_list(be_req *r)
{
	const char *site = be_site_filter(r);
	if (!site)
		return r->status;
	const char *p[2] = { site, be_scope_param(&r->tok) };
	return be_reply_rows(r, be_sql(r, "SELECT i.external_id, i.display_name, i.allowed_sites::text, "
				       "  count(t.template_id), "
				       "  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
				       "FROM identities i LEFT JOIN face_templates t USING (identity_id) "
				       "WHERE i.enabled AND ($1 = '' OR cardinality(i.allowed_sites) = 0 "
				       "     OR $1 = ANY (i.allowed_sites)) "
				       "AND ($2::text[] IS NULL OR cardinality(i.allowed_sites) = 0 "
				       "     OR i.allowed_sites && $2::text[]) "
				       "GROUP BY i.identity_id ORDER BY i.external_id", 2, p),
			     "identities", identity_json);
}

/* An identity name: 1..128 printable characters, not a pseudonym. */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 128 || strncmp(s, "erased-", 7) == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The stored allowed_sites of name ("" when there is no such identity);
 * false on a database error (replied). */
static bool stored_sites(be_req *r, const char *name, char *out, size_t cap)
{
	const char *p[1] = { name };
	PGresult *res = be_sql(r, "SELECT allowed_sites::text FROM identities "
				  "WHERE external_id = $1 AND enabled", 1, p);
	if (!res) {
		be_reply_sql_error(r);
		return false;
	}
	snprintf(out, cap, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return true;
}

/* ?sites=a,b checked (ids, registered, in scope) into arr; "" absent.
 * False: replied. */
static bool sites_arg(be_req *r, char *arr, size_t cap)
{
	const char *s = be_query(r, "sites");
	PGresult *res;
	char buf[FF_IDENTITY_SITES_MAX];
	int n = 0;
	arr[0] = '\0';
	if (!s || !*s)
		return true;
	if (strlen(s) + 3 > cap)
		return be_reply_error(r, 400, "too many sites"), false;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
		if (!ff_id_valid(t))
			return be_reply_error(r, 400, "site '%.40s' must match [a-z0-9-]{1,32}", t), false;
	snprintf(arr, cap, "{%s}", s);
	if (!n || !be_scope_covers(&r->tok, arr))
		return be_reply_error(r, 403, "sites outside token %s's sites", r->tok.name), false;
	const char *p[1] = { arr };
	if (!(res = be_sql(r, "SELECT s FROM unnest($1::text[]) s "
			      "WHERE NOT EXISTS (SELECT 1 FROM sites WHERE site_id = s)", 1, p)))
		return be_reply_sql_error(r), false;
	n = PQntuples(res);
	if (n)
		be_reply_error(r, 400, "unknown site '%s' (POST /api/v1/sites registers one)",
			       PQgetvalue(res, 0, 0));
	PQclear(res);
	return n == 0;
}

/* The photo's template as real[] text into vec; false: replied. */
static bool photo_template(be_req *r, char *vec, size_t cap)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	ff_image img = FF_IMAGE_EMPTY;
	float v[FF_ENROL_DIM_MAX];
	char why[256] = "", err[512] = "";
	int rc;
	if (!ct || (strncmp(ct, "image/jpeg", 10) != 0 && strncmp(ct, "image/png", 9) != 0))
		return be_reply_error(r, 400, "the body must be a photo: Content-Type image/jpeg or image/png"), false;
	if (!r->body_len || ff_image_decode(r->body, r->body_len, NULL, &img, why, sizeof(why)) != FF_OK)
		return be_reply_error(r, 400, "the body is not a readable JPEG or PNG image (%s)",
				      why[0] ? why : "empty"), false;
	pthread_mutex_lock(&r->h->enrol_mu);
	rc = r->h->enroller ? FF_OK : ff_enroller_open(&r->h->enroller, r->h->ffn_dir, err, sizeof(err));
	if (rc == FF_OK)
		rc = ff_enroller_embed(r->h->enroller, &img, v, FF_ENROL_DIM_MAX, why, sizeof(why));
	if (rc == FF_OK)
		rc = ff_store_vector_format(v, ff_enroller_dim(r->h->enroller), vec, cap);
	pthread_mutex_unlock(&r->h->enrol_mu);
	ff_image_free(&img);
	if (rc == FF_ERR_NOTFOUND)
		return be_reply_error(r, 400, "no face found in the photo"), false;
	if (rc != FF_OK)
		return be_reply_error(r, 500, "enrolment failed: %s", err[0] ? err : why), false;
	return true;
}

/* Enrols inside a transaction: identity row, template, audit row. */
static int enrol_tx(be_req *r, const char *name, const char *arr, const char *vec)
{
	const char *display = be_query(r, "display_name");
	ff_identity_row row;
	char err[512] = "", subject[48], templates[24] = "0";
	cJSON *detail, *o;
	PGresult *res;
	if (!be_tx(r, "BEGIN") ||
	    ff_identity_upsert(be_db(r), name, display && *display ? display : NULL, *arr ? arr : "{}",
			       *arr != '\0', &row, err, sizeof(err)) != FF_OK ||
	    ff_identity_add_template(be_db(r), row.id, r->h->embed_model_id, vec, "http-upload", err,
				     sizeof(err)) != FF_OK) {
		if (err[0])
			ff_log_warn(LOG_COMP, "event=enrol_failed err=\"%.200s\"", err);
		return be_reply_error(r, 500, "enrolment was not stored");
	}
	{
		const char *p[1] = { row.id };
		if ((res = be_sql(r, "SELECT count(*) FROM face_templates WHERE identity_id = $1::bigint", 1, p))) {
			snprintf(templates, sizeof(templates), "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
		}
	}
	snprintf(subject, sizeof(subject), "identity:%s", row.id);
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "templates", 1);
	cJSON_AddStringToObject(detail, "model", r->h->embed_model_id);
	cJSON_AddStringToObject(detail, "sites", row.sites);
	cJSON_AddBoolToObject(detail, "sites_changed", *arr || row.created);
	if (!be_audit(r, "identity.enroll", subject, detail) || !be_tx(r, "COMMIT"))
		return be_reply_sql_error(r);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "identity", name);
	cJSON_AddNumberToObject(o, "templates", atof(templates));
	cJSON_AddBoolToObject(o, "created", row.created);
	cJSON_AddItemToObject(o, "sites", sites_json(row.sites));
	return be_reply_json(r, 201, o);
}

int be_h_identity_enrol(be_req *r)
{
	const char *name = be_query(r, "identity");
	char arr[FF_IDENTITY_SITES_MAX], have[FF_IDENTITY_SITES_MAX], *vec = NULL;
	int st;
	if (!name_ok(name))
		return be_reply_error(r, 400, "identity: 1..128 printable characters, not starting with 'erased-'");
	if (!sites_arg(r, arr, sizeof(arr)) || !stored_sites(r, name, have, sizeof(have)))
		return r->status;
	/* a new identity of a limited token needs its sites; an existing one must be its own */
	if ((!*have && !*arr && r->tok.nsites >= 0) || (*have && !be_scope_covers(&r->tok, have)))
		return be_reply_error(r, 403, "identity %s would be allowed outside token %s's sites "
					      "(give ?sites= within them)", name, r->tok.name);
	if (!(vec = malloc(FF_ENROL_DIM_MAX * 20)))
		return be_reply_error(r, 500, "out of memory");
	be_db_release(r); /* not held while the photo is embedded */
	st = photo_template(r, vec, FF_ENROL_DIM_MAX * 20) ? enrol_tx(r, name, arr, vec) : r->status;
	free(vec);
	return st;
}

int be_h_identity_delete(be_req *r)
{
	const char *name = r->args[0];
	char have[FF_IDENTITY_SITES_MAX], err[512] = "", subject[48];
	ff_erasure x;
	cJSON *detail, *o;
	int rc;
	if (!stored_sites(r, name, have, sizeof(have)))
		return r->status;
	if (!*have || !be_scope_has_any(&r->tok, have))
		return be_reply_error(r, 404, "no identity %s", name);
	if (!be_scope_covers(&r->tok, have))
		return be_reply_error(r, 403, "identity %s is allowed outside token %s's sites", name, r->tok.name);
	if (!be_tx(r, "BEGIN"))
		return be_reply_sql_error(r);
	if ((rc = ff_identity_erase(be_db(r), name, &x, err, sizeof(err))) != FF_OK)
		return rc == FF_ERR_NOTFOUND ? be_reply_error(r, 404, "no identity %s", name)
					     : be_reply_error(r, 500, "erasure failed");
	snprintf(subject, sizeof(subject), "identity:%s", x.id);
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "pseudonym", x.pseudonym);
	cJSON_AddRawToObject(detail, "templates_deleted", x.templates);
	cJSON_AddRawToObject(detail, "events_pseudonymised", x.events);
	cJSON_AddRawToObject(detail, "audit_rows_scrubbed", x.audit_rows);
	o = cJSON_Duplicate(detail, true);
	if (!be_audit(r, "identity.delete", subject, detail) || !be_tx(r, "COMMIT")) {
		cJSON_Delete(o);
		return be_reply_sql_error(r);
	}
	return be_reply_json(r, 200, o);
}
