/* tests/integration/test_backend_http_common.h: what the backend_http_*
 * tests share: a libcurl client (plain and HTTPS against the project CA),
 * API tokens made in the database as fleetctl token add makes them, the
 * JSON replies parsed with cJSON. */
#ifndef FF_TEST_BACKEND_HTTP_COMMON_H
#define FF_TEST_BACKEND_HTTP_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct ht_reply {
	long status;
	char *body;       /* NUL-terminated */
	size_t len;
	char ctype[128];
} ht_reply;

/* Where requests go: "http://127.0.0.1:PORT" or "https://localhost:PORT"
 * (ca: the CA file to verify it against, NULL for http). */
void ht_base(const char *base, const char *ca);
/* One request: method, path (after the base), bearer token (NULL: none),
 * body (NULL: none) of ctype. Returns the reply (free with ht_free);
 * status 0 when no connection was made. */
ht_reply ht_call(const char *method, const char *path, const char *token, const void *body,
		 size_t len, const char *ctype);
ht_reply ht_get(const char *path, const char *token);
void ht_free(ht_reply *r);
/* The body as JSON (NULL when it is not); the caller deletes it. */
cJSON *ht_json(const ht_reply *r);
/* Makes token name (role, sites "{a,b}" or NULL) in the database; the token
 * text into out (cap >= 100). */
bool ht_token(PGconn *db, const char *name, const char *role, const char *sites, char *out,
	      size_t cap);
/* Registers site in the sites table. */
bool ht_site(PGconn *db, const char *site);
/* Reads a file whole (tests/data...); NULL on failure. */
char *ht_file(const char *path, size_t *len);

#endif
