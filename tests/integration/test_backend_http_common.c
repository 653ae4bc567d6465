/* The backend_http_* tests' kit (test_backend_http_common.h). */
#include "test_backend_http_common.h"

#include "facefleet/api_token.h"
#include "facefleet/random.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char base_url[256];
static char ca_file[1024];

void ht_base(const char *base, const char *ca)
{
	snprintf(base_url, sizeof(base_url), "%s", base);
	snprintf(ca_file, sizeof(ca_file), "%s", ca ? ca : "");
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	ht_reply *r = ud;
	char *nb = realloc(r->body, r->len + size * n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->body = nb;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

ht_reply ht_call(const char *method, const char *path, const char *token, const void *body,
		 size_t len, const char *ctype)
{
	ht_reply r = { 0, NULL, 0, "" };
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], auth[256], ct[160];
	char *got_ct = NULL;
	if (!c)
		return r;
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	/* a stream never ends: 2 s of it is its head and first lines */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, strstr(path, "/stream") ? 2L : 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	if (ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
		h = curl_slist_append(h, ct);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_perform(c);
	{
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &got_ct) == CURLE_OK && got_ct)
			snprintf(r.ctype, sizeof(r.ctype), "%s", got_ct);
	}
	if (!r.body)
		r.body = calloc(1, 1);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

ht_reply ht_get(const char *path, const char *token)
{
	return ht_call("GET", path, token, NULL, 0, NULL);
}

void ht_free(ht_reply *r)
{
	free(r->body);
	r->body = NULL;
}

cJSON *ht_json(const ht_reply *r)
{
	return r->body ? cJSON_Parse(r->body) : NULL;
}

bool ht_token(PGconn *db, const char *name, const char *role, const char *sites, char *out,
	      size_t cap)
{
	unsigned char raw[24];
	uint8_t h[FF_API_TOKEN_HASH_LEN];
	char secret[64], hex[65];
	PGresult *res;
	bool ok;
	if (ff_random_bytes(raw, sizeof(raw)) != 0)
		return false;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	snprintf(out, cap, "%s.%s", name, secret);
	ff_api_token_hash(out, h);
	for (int i = 0; i < FF_API_TOKEN_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	const char *p[4] = { name, role, sites, hex };
	res = PQexecParams(db, "INSERT INTO api_tokens (name, role, sites, token_sha256, created_by) "
			       "VALUES ($1, $2, $3::text[], decode($4, 'hex'), 'test')",
			   4, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "token %s: %s", name, PQerrorMessage(db));
	PQclear(res);
	return ok;
}

bool ht_site(PGconn *db, const char *site)
{
	const char *p[1] = { site };
	PGresult *res = PQexecParams(db, "INSERT INTO sites (site_id) VALUES ($1) ON CONFLICT DO NOTHING",
				     1, NULL, p, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok;
}

char *ht_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}
