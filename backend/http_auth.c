/* Bearer tokens and site scope of the HTTP API (http_internal.h). The token
 * row is found by the name before the dot (never by the secret), then the
 * SHA-256 of what was presented is compared with the stored one in constant
 * time (facefleet/api_token.h). Looked up on every request: a revoked token
 * stops at once. */
#include "http_internal.h"

#include "facefleet/api_token.h"
#include "facefleet/log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_COMP "http"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The stored hash (hex text) into out; false when it is not 32 bytes. */
static bool unhex(const char *s, uint8_t out[FF_API_TOKEN_HASH_LEN])
{
	if (strlen(s) != 2 * FF_API_TOKEN_HASH_LEN)
		return false;
	for (int i = 0; i < FF_API_TOKEN_HASH_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* The row's sites ("" = NULL = every site; else "a,b") into the token. */
static void set_sites(be_token *t, bool every, const char *list)
{
	char buf[sizeof(t->sites_arr)];
	t->nsites = every ? -1 : 0;
	if (every)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s && t->nsites < BE_TOKEN_SITES_MAX;
	     s = strtok_r(NULL, ",", &save))
		snprintf(t->sites[t->nsites++], sizeof(t->sites[0]), "%s", s);
	snprintf(t->sites_arr, sizeof(t->sites_arr), "{%s}", list);
}

/* Finds and checks the token; 0 when it is valid, else 401 replied. */
static int check_token(be_req *r, const char *token)
{
	uint8_t stored[FF_API_TOKEN_HASH_LEN];
	PGresult *res;
	const char *p[1] = { r->tok.name };
	bool ok;
	if (!ff_api_token_name(token, r->tok.name))
		return be_reply_error(r, 401, "malformed bearer token");
	res = be_sql(r, "SELECT role, encode(token_sha256, 'hex'), sites IS NULL, "
			"       coalesce(array_to_string(sites, ','), '') "
			"FROM api_tokens WHERE name = $1 AND revoked_at IS NULL",
		     1, p);
	if (!res)
		return be_reply_sql_error(r);
	ok = PQntuples(res) == 1 && unhex(PQgetvalue(res, 0, 1), stored) &&
	     ff_api_token_matches(token, stored, sizeof(stored));
	if (ok) {
		r->tok.role = strcmp(PQgetvalue(res, 0, 0), "operator") == 0 ? BE_ROLE_OPERATOR
									      : BE_ROLE_INTEGRATOR;
		set_sites(&r->tok, PQgetvalue(res, 0, 2)[0] == 't', PQgetvalue(res, 0, 3));
		snprintf(r->tok.actor, sizeof(r->tok.actor), "api:%s", r->tok.name);
	}
	PQclear(res);
	if (!ok) {
		ff_log_info(LOG_COMP, "event=auth_refused token=%s", r->tok.name);
		return be_reply_error(r, 401, "unknown or revoked token");
	}
	return 0;
}

int be_auth(be_req *r, be_role role)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	int st;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return be_reply_error(r, 401, "an Authorization: Bearer <token> header is required "
					      "(fleetctl token add)");
	if ((st = check_token(r, h + 7)) != 0)
		return st;
	if (r->tok.role < role)
		return be_reply_error(r, 403, "token %s (integrator) may only read events", r->tok.name);
	return 0;
}

bool be_scope_has(const be_token *t, const char *site)
{
	if (t->nsites < 0)
		return true;
	for (int i = 0; i < t->nsites; i++)
		if (strcmp(t->sites[i], site) == 0)
			return true;
	return false;
}

bool be_scope_covers(const be_token *t, const char *arr)
{
	char buf[sizeof(t->sites_arr)];
	size_t l = strlen(arr);
	bool all = true;
	if (t->nsites < 0)
		return true;
	if (l <= 2 || arr[0] != '{' || arr[l - 1] != '}' || l >= sizeof(buf))
		return false; /* every site, or not a literal of ids */
	snprintf(buf, sizeof(buf), "%.*s", (int)(l - 2), arr + 1);
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		all = all && be_scope_has(t, s);
	return all;
}

bool be_scope_has_any(const be_token *t, const char *arr)
{
	char buf[sizeof(t->sites_arr)];
	size_t l = strlen(arr);
	bool any = false;
	if (t->nsites < 0 || l <= 2)
		return true;
	if (arr[0] != '{' || arr[l - 1] != '}' || l >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%.*s", (int)(l - 2), arr + 1);
	for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		any = any || be_scope_has(t, s);
	return any;
}

const char *be_scope_param(const be_token *t) { return t->nsites < 0 ? NULL : t->sites_arr; }

const char *be_site_filter(be_req *r)
{
	const char *s = be_query(r, "site");
	if (!s || !*s)
		return "";
	if (!ff_id_valid(s)) {
		be_reply_error(r, 400, "site must match [a-z0-9-]{1,32}");
		return NULL;
	}
	if (!be_scope_has(&r->tok, s)) {
		be_reply_error(r, 403, "site %s is outside token %s's sites", s, r->tok.name);
		return NULL;
	}
	return s;
}
