/* backend/http_internal.h: what the HTTP files share (http.h lists them). */
#ifndef BE_HTTP_INTERNAL_H
#define BE_HTTP_INTERNAL_H

#include "http.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "facefleet/ids.h"

struct cJSON;
struct MHD_Connection;
struct MHD_Response;

/* ---- tokens and scope (http_auth.c) ---- */
typedef enum be_role { BE_ROLE_PUBLIC = 0, BE_ROLE_INTEGRATOR, BE_ROLE_OPERATOR } be_role;
#define BE_TOKEN_SITES_MAX 64
typedef struct be_token {
	char name[FF_ID_MAX + 1];
	be_role role;
	int nsites;                    /* -1: every site */
	char sites[BE_TOKEN_SITES_MAX][FF_ID_MAX + 1];
	char sites_arr[BE_TOKEN_SITES_MAX * (FF_ID_MAX + 1) + 4]; /* "{a,b}" */
	char actor[FF_ID_MAX + 8];     /* audit actor: api:<name> */
} be_token;

/* ---- the pool (http_db.c) ---- */
typedef struct be_dbpool be_dbpool;
int be_dbpool_create(const char *conninfo, int n, be_dbpool **out);
void be_dbpool_free(be_dbpool *p);

/* ---- a request ---- */
#define BE_PATH_ARGS 2
typedef struct be_req {
	be_http *h;
	struct MHD_Connection *conn;
	const char *method, *url;
	char args[BE_PATH_ARGS][160];  /* the {} segments of the route, in order */
	const char *body;
	size_t body_len;
	be_token tok;
	PGconn *db;                    /* leased on first use (be_db), returned after */
	void *db_slot;
	struct MHD_Response *resp;     /* the reply, made by be_reply_* */
	int status;
	char sqlstate[6];              /* of the last failed statement */
} be_req;

typedef int (*be_handler)(be_req *r); /* returns the HTTP status of r->resp */

typedef struct be_route {
	const char *method;
	const char *pattern;           /* "/api/v1/events/{}/face.png": {} = one segment */
	be_role role;
	be_handler fn;
} be_route;
extern const be_route be_routes[]; /* http_routes.c, ends with a NULL method */

/* The server's state the handlers use. */
struct be_http {
	be_http_options o;             /* strings below are copies */
	char *listen, *console_dir, *conninfo, *ffn_dir, *vq_dir, *embed_model_id;
	struct MHD_Daemon *d;
	be_dbpool *pool;
	pthread_mutex_t enrol_mu;      /* one enrolment at a time (the nets hold buffers) */
	struct ff_enroller *enroller;  /* opened on the first enrolment */
	struct ff_review *review;      /* NULL: face.png answers 501 */
	char review_err[256];
};

/* ---- replies (http.c) ---- */
/* JSON body (o consumed; NULL: 500). Returns status. */
int be_reply_json(be_req *r, int status, struct cJSON *o);
/* {"error":code,"message":...}; code from the status (unauthorized, ...). */
int be_reply_error(be_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A body of bytes (copied) with its content type. */
int be_reply_bytes(be_req *r, int status, const char *ctype, const void *p, size_t n);
/* A query argument, NULL when absent. */
const char *be_query(be_req *r, const char *key);
/* The request body as a JSON object; NULL (400 replied) when it is not one. */
struct cJSON *be_body_json(be_req *r);

/* ---- SQL (http_db.c): named prepared statements on the leased connection ---- */
/* Runs sql (a string constant: prepared once per connection under a name
 * derived from it) with text params. Returns the result on success; NULL on
 * failure (r->sqlstate set, logged). */
PGresult *be_sql(be_req *r, const char *sql, int n, const char *const *params);
/* The leased connection (for lib/ functions that run their own statements);
 * NULL when the database is unreachable. */
PGconn *be_db(be_req *r);
/* Gives the connection back (after the reply). */
void be_db_release(be_req *r);
/* BEGIN / COMMIT / ROLLBACK on the leased connection; false on failure. */
bool be_tx(be_req *r, const char *what);
/* An audit row (actor api:<token>, source http) in the open transaction;
 * detail consumed (NULL: {}). */
bool be_audit(be_req *r, const char *action, const char *subject, struct cJSON *detail);
/* The reply for a failed statement: 400 for bad input (SQLSTATE class 22 and
 * 23), 500 otherwise. */
int be_reply_sql_error(be_req *r);
/* One result row as a JSON object. */
typedef struct cJSON *(*be_row_json)(be_req *r, const PGresult *res, int i);
/* 200 {key: [row(r, res, i) of every row]}, res cleared; NULL res (a failed
 * be_sql): be_reply_sql_error. Returns the status. */
int be_reply_rows(be_req *r, PGresult *res, const char *key, be_row_json row);
/* o[key] = column c of row i as a number / as text, or null when NULL. */
void be_json_num(struct cJSON *o, const char *key, const PGresult *res, int i, int c);
void be_json_text(struct cJSON *o, const char *key, const PGresult *res, int i, int c);
/* o.threshold = t (be_threshold_body's text), or null when t is "". */
void be_json_threshold(struct cJSON *o, const char *t);

/* ---- auth (http_auth.c) ---- */
/* Reads the Authorization header into r->tok. Returns 0 when authorised for
 * role, else the status replied (401, 403). */
int be_auth(be_req *r, be_role role);
/* True when the token may see site. */
bool be_scope_has(const be_token *t, const char *site);
/* True when every site of the text[] literal arr is in scope ("{}" = every
 * site: only for an unlimited token). */
bool be_scope_covers(const be_token *t, const char *arr);
/* True when the token may see something allowed at arr ("{}": everywhere). */
bool be_scope_has_any(const be_token *t, const char *arr);
/* The token's sites as a query parameter: NULL for every site, else "{a,b}". */
const char *be_scope_param(const be_token *t);
/* The ?site= filter checked against the scope: "" none, the site, or NULL
 * (403 replied). */
const char *be_site_filter(be_req *r);

/* ---- resources ---- */
int be_h_healthz(be_req *r);
int be_h_metrics(be_req *r);
int be_h_console(be_req *r);
int be_h_whoami(be_req *r);
int be_h_events_list(be_req *r);
int be_h_event_get(be_req *r);
int be_h_event_face(be_req *r);
int be_h_events_stream(be_req *r);
int be_h_identities_list(be_req *r);
int be_h_identity_enrol(be_req *r);
int be_h_identity_delete(be_req *r);
int be_h_devices_list(be_req *r);
int be_h_device_revoke(be_req *r);
int be_h_device_threshold(be_req *r);
int be_h_sites_list(be_req *r);
int be_h_site_add(be_req *r);
int be_h_site_remove(be_req *r);
int be_h_site_threshold(be_req *r);
int be_h_stats(be_req *r);

/* Parses {"threshold": x|null} of the body: "" (null) or the number's text
 * into out; false (400 replied) otherwise. */
bool be_threshold_body(be_req *r, char *out, size_t cap);

/* The feed's stream handler end (http_stream.c). */
void be_feed_shutdown(void);

#endif
