/* fleet-backend's HTTP server (http.h): libmicrohttpd, one thread per
 * connection (a stream client waits in its own thread, never in the
 * pipeline's), bodies bounded, every reply JSON or the exact bytes asked for. */
#include "http_internal.h"

#include "metrics.h"

#include "facefleet/enrol.h"
#include "facefleet/error.h"
#include "facefleet/file.h"
#include "facefleet/log.h"
#include "facefleet/review.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOG_COMP "http"

/* What one connection's request carries between libmicrohttpd's calls. */
typedef struct req_ctx {
	char *body;
	size_t len, cap;
	bool too_large;
} req_ctx;

static const char *error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "too_large";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	default: return "internal";
	}
}

int be_reply_bytes(be_req *r, int status, const char *ctype, const void *p, size_t n)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
	if (!r->resp)
		return 500;
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r->resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->status = status;
	return status;
}

int be_reply_json(be_req *r, int status, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!text) {
		static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
		return be_reply_bytes(r, 500, "application/json", oom, sizeof(oom) - 1);
	}
	status = be_reply_bytes(r, status, "application/json", text, strlen(text));
	cJSON_free(text);
	return status;
}

int be_reply_error(be_req *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *o = cJSON_CreateObject();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "error", error_code(status));
	cJSON_AddStringToObject(o, "message", msg);
	status = be_reply_json(r, status, o);
	if (r->resp && status == 401)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	return status;
}

const char *be_query(be_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

cJSON *be_body_json(be_req *r)
{
	cJSON *o = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		be_reply_error(r, 400, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

/* ---- unauthenticated resources ---- */

int be_h_healthz(be_req *r)
{
	int db = be_metrics_db_up(), mqtt = be_metrics_mqtt_up();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", db && mqtt ? "ok" : "degraded");
	cJSON_AddStringToObject(o, "database", db ? "ok" : "down");
	cJSON_AddStringToObject(o, "mqtt", mqtt ? "ok" : "down");
	return be_reply_json(r, db && mqtt ? 200 : 503, o);
}

int be_h_metrics(be_req *r)
{
	size_t len = 0;
	char *body = be_metrics_render(&len);
	int status;
	if (!body)
		return be_reply_error(r, 500, "out of memory");
	status = be_reply_bytes(r, 200, "text/plain; version=0.0.4", body, len);
	free(body);
	return status;
}

/* ---- routing ---- */

/* Matches url against pattern, copying the {} segments into r->args. */
static bool route_match(const char *pattern, const char *url, be_req *r)
{
	int arg = 0;
	while (*pattern && *url) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t n = strcspn(url, "/");
			if (n == 0 || n >= sizeof(r->args[0]) || arg >= BE_PATH_ARGS)
				return false;
			memcpy(r->args[arg], url, n);
			r->args[arg++][n] = '\0';
			url += n;
			pattern += 2;
		} else if (*pattern++ != *url++) {
			return false;
		}
	}
	return !*pattern && !*url;
}

static int dispatch(be_req *r)
{
	bool path_known = false;
	for (const be_route *rt = be_routes; rt->method; rt++) {
		if (!route_match(rt->pattern, r->url, r))
			continue;
		path_known = true;
		if (strcmp(rt->method, r->method) != 0)
			continue;
		if (rt->role != BE_ROLE_PUBLIC) {
			int st = be_auth(r, rt->role);
			if (st)
				return st;
		}
		return rt->fn(r);
	}
	if (path_known)
		return be_reply_error(r, 405, "%s is not served on %s", r->method, r->url);
	if (strncmp(r->url, "/api/", 5) != 0 && strcmp(r->method, "GET") == 0)
		return be_h_console(r);
	return be_reply_error(r, 404, "no resource %s", r->url);
}

static enum MHD_Result queue(be_req *r)
{
	enum MHD_Result ok;
	if (!r->resp)
		be_reply_error(r, 500, "no reply");
	ok = r->resp ? MHD_queue_response(r->conn, (unsigned)r->status, r->resp) : MHD_NO;
	if (r->resp)
		MHD_destroy_response(r->resp);
	return ok;
}

/* Reads the body (bounded) across calls; true once it is all here. */
static bool take_body(be_http *h, req_ctx *c, const char *data, size_t *size)
{
	if (!*size)
		return true;
	if (c->too_large || c->len + *size > (size_t)h->o.max_body) {
		c->too_large = true; /* read and dropped: the reply is 413 */
	} else {
		if (c->len + *size > c->cap) {
			size_t ncap = (c->len + *size) * 2;
			char *nb = realloc(c->body, ncap > (size_t)h->o.max_body ? (size_t)h->o.max_body : ncap);
			if (!nb) {
				c->too_large = true;
				*size = 0;
				return false;
			}
			c->body = nb;
			c->cap = ncap > (size_t)h->o.max_body ? (size_t)h->o.max_body : ncap;
		}
		memcpy(c->body + c->len, data, *size);
		c->len += *size;
	}
	*size = 0;
	return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	be_http *h = cls;
	req_ctx *c = *con_cls;
	be_req r;
	enum MHD_Result ok;
	(void)version;
	if (!c) { /* the head: refuse a declared oversized body before reading it */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(c = calloc(1, sizeof(*c))))
			return MHD_NO;
		*con_cls = c;
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)h->o.max_body)
			c->too_large = true;
		else
			return MHD_YES;
	} else if (!take_body(h, c, upload, upload_size)) {
		return MHD_YES;
	}
	memset(&r, 0, sizeof(r));
	r.h = h;
	r.conn = conn;
	r.method = method;
	r.url = url;
	r.body = c->body;
	r.body_len = c->len;
	if (c->too_large)
		be_reply_error(&r, 413, "the body is over %d bytes", h->o.max_body);
	else
		dispatch(&r);
	be_db_release(&r);
	ok = queue(&r);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	req_ctx *c = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (c) {
		free(c->body);
		free(c);
		*con_cls = NULL;
	}
}

/* ---- start, stop ---- */

/* "host:port" or "[v6]:port" into sa. */
static bool parse_listen(const char *s, struct sockaddr_storage *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;
	size_t hl;
	if (!colon)
		return false;
	port = strtol(colon + 1, &end, 10);
	hl = (size_t)(colon - s);
	if (*end || port < 1 || port > 65535 || hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
		host[hl - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1;
}

__attribute__((format(printf, 2, 0))) static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	ff_log_warn(LOG_COMP, "event=mhd msg=\"%s\"", msg);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int copy_options(be_http *h, const be_http_options *o)
{
	h->o = *o;
	h->listen = dup_or_empty(o->listen);
	h->console_dir = dup_or_empty(o->console_dir);
	h->conninfo = dup_or_empty(o->conninfo);
	h->ffn_dir = dup_or_empty(o->ffn_dir);
	h->vq_dir = dup_or_empty(o->vq_dir);
	h->embed_model_id = dup_or_empty(o->embed_model_id);
	if (!h->listen || !h->console_dir || !h->conninfo || !h->ffn_dir || !h->vq_dir ||
	    !h->embed_model_id)
		return FF_ERR_NOMEM;
	h->o.console_dir = h->console_dir;
	h->o.embed_model_id = h->embed_model_id;
	return FF_OK;
}

/* The face.png renderer; without it the route answers 501 (logged once). */
static void open_review(be_http *h)
{
	int rc = ff_review_open(&h->review, h->vq_dir, h->review_err, sizeof(h->review_err));
	if (rc != FF_OK) {
		h->review = NULL;
		ff_log_warn(LOG_COMP, "event=review_unavailable vq_dir=%s err=\"%s\"", h->vq_dir,
			    h->review_err);
	}
}

static int start_daemon(be_http *h, const char *cert, const char *key)
{
	struct sockaddr_storage sa;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG;
	if (!parse_listen(h->listen, &sa)) {
		ff_log_error(LOG_COMP, "event=bad_listen_address listen=%s note=\"host:port or [v6]:port\"",
			     h->listen);
		return FF_ERR_INVAL;
	}
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
		{ cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cert },
		{ cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)key },
		{ MHD_OPTION_END, 0, NULL },
	};
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->o.max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h,
				MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!h->d) {
		ff_log_error(LOG_COMP, "event=listen_failed listen=%s tls=%d", h->listen, cert != NULL);
		return FF_ERR_IO;
	}
	ff_log_info(LOG_COMP, "event=listening listen=%s tls=%d console=%s", h->listen,
		    cert != NULL, *h->console_dir ? h->console_dir : "-");
	return FF_OK;
}

int be_http_start(const be_http_options *o, be_http **out)
{
	be_http *h = calloc(1, sizeof(*h));
	char *cert = NULL, *key = NULL, err[256] = "";
	size_t len;
	int rc;
	*out = NULL;
	if (!h)
		return FF_ERR_NOMEM;
	pthread_mutex_init(&h->enrol_mu, NULL);
	if ((rc = copy_options(h, o)) != FF_OK ||
	    (rc = be_dbpool_create(h->conninfo, o->db_connections, &h->pool)) != FF_OK)
		goto fail;
	if (o->tls_cert && *o->tls_cert &&
	    ((rc = ff_file_read(o->tls_cert, 1 << 20, &cert, &len, err, sizeof(err))) != FF_OK ||
	     (rc = ff_file_read(o->tls_key ? o->tls_key : "", 1 << 20, &key, &len, err, sizeof(err))) != FF_OK)) {
		ff_log_error(LOG_COMP, "event=tls_files_failed err=\"%s\"", err);
		rc = FF_ERR_IO;
		goto fail;
	}
	open_review(h);
	rc = start_daemon(h, cert, key);
	if (key)
		memset(key, 0, strlen(key));
	free(cert);
	free(key);
	if (rc != FF_OK)
		goto fail_quiet;
	*out = h;
	return FF_OK;
fail:
	free(cert);
	free(key);
fail_quiet:
	be_http_stop(h);
	return rc;
}

void be_http_stop(be_http *h)
{
	if (!h)
		return;
	be_feed_shutdown(); /* streams end, so their threads can be joined */
	if (h->d)
		MHD_stop_daemon(h->d);
	be_dbpool_free(h->pool);
	ff_enroller_free(h->enroller);
	ff_review_close(h->review);
	pthread_mutex_destroy(&h->enrol_mu);
	free(h->listen);
	free(h->console_dir);
	free(h->conninfo);
	free(h->ffn_dir);
	free(h->vq_dir);
	free(h->embed_model_id);
	free(h);
}
