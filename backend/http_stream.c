/* GET /api/v1/events/stream: server-sent events. The store writer hands
 * each committed event's id and site to be_http_feed_event (a copy into
 * every interested client's bounded queue under one short lock; nothing
 * else on the pipeline's thread). Each client's own connection thread reads
 * the rows of what it was handed, at most BATCH at a time, and writes them
 * as `event: access` messages; a client whose queue overflows (it reads too
 * slowly) is dropped, never waited for. ": ping" every 15 s keeps proxies
 * from closing an idle stream. */
#include "http_internal.h"

#include "facefleet/event_store.h"

#include "facefleet/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMP "http"
#define CLIENTS_MAX 64
#define QUEUE 256
#define BATCH 32
#define PING_S 15

typedef struct feed_item {
	char id[37];
} feed_item;

typedef struct client {
	be_token tok;                 /* scope, copied from the request */
	char site[FF_ID_MAX + 1];     /* ?site= ("" all in scope) */
	be_req req;                   /* for be_sql: the server and the lease */
	feed_item q[QUEUE];
	int head, count;
	bool dropped, gone;
	char *out;                    /* text written but not yet taken by libmicrohttpd */
	size_t out_len, out_off;
} client;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	client *clients[CLIENTS_MAX];
	int n;
	bool stopping;
} F = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static bool wants(const client *c, const char *site)
{
	return (!c->site[0] || strcmp(c->site, site) == 0) && be_scope_has(&c->tok, site);
}

void be_http_feed_event(const char *event_id, const char *site)
{
	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.n; i++) {
		client *c = F.clients[i];
		if (c->dropped || !wants(c, site))
			continue;
		if (c->count == QUEUE) {
			c->dropped = true; /* too slow: its thread ends the stream */
			continue;
		}
		snprintf(c->q[(c->head + c->count++) % QUEUE].id, sizeof(c->q[0].id), "%s", event_id);
	}
	if (F.n)
		pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
}

void be_feed_shutdown(void)
{
	pthread_mutex_lock(&F.mu);
	F.stopping = true;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
}

static void unregister(client *c)
{
	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.n; i++)
		if (F.clients[i] == c) {
			F.clients[i] = F.clients[--F.n];
			break;
		}
	pthread_mutex_unlock(&F.mu);
}

/* Appends text to the client's pending output. */
static bool out_add(client *c, const char *s, size_t n)
{
	char *p = realloc(c->out, c->out_len + n);
	if (!p)
		return false;
	memcpy(p + c->out_len, s, n);
	c->out = p;
	c->out_len += n;
	return true;
}

/* The rows of ids (n), as SSE messages, into the pending output. */
static bool render(client *c, feed_item *ids, int n)
{
	char arr[BATCH * 38 + 3] = "{", *w = arr + 1;
	PGresult *res;
	bool ok = true;
	for (int i = 0; i < n; i++)
		w += sprintf(w, "%s%s", i ? "," : "", ids[i].id);
	strcpy(w, "}");
	{
		const char *p[1] = { arr };
		res = be_sql(&c->req, FF_EVENT_SELECT "WHERE e.event_id = ANY ($1::uuid[]) "
				      "ORDER BY e.decided_time, e.event_id", 1, p);
	}
	be_db_release(&c->req); /* never held while waiting for the next event */
	if (!res)
		return false;
	for (int i = 0; ok && i < PQntuples(res); i++) {
		cJSON *o = ff_event_json(res, i);
		char *json = cJSON_PrintUnformatted(o), head[96];
		int hl = snprintf(head, sizeof(head), "event: access\nid: %s\ndata: ", PQgetvalue(res, i, 0));
		ok = json && out_add(c, head, (size_t)hl) && out_add(c, json, strlen(json)) &&
		     out_add(c, "\n\n", 2);
		cJSON_free(json);
		cJSON_Delete(o);
	}
	PQclear(res);
	return ok;
}

/* Waits (up to the ping interval) for events; fills the pending output.
 * False when the stream must end. */
static bool next_chunk(client *c)
{
	feed_item ids[BATCH];
	int n = 0;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PING_S;
	pthread_mutex_lock(&F.mu);
	while (!c->count && !c->dropped && !F.stopping)
		if (pthread_cond_timedwait(&F.cv, &F.mu, &until) == ETIMEDOUT)
			break;
	if (c->dropped || F.stopping) {
		pthread_mutex_unlock(&F.mu);
		if (c->dropped)
			ff_log_warn(LOG_COMP, "event=stream_dropped token=%s note=\"client too slow\"",
				    c->tok.name);
		return false;
	}
	for (; n < BATCH && c->count; n++, c->count--, c->head = (c->head + 1) % QUEUE)
		ids[n] = c->q[c->head];
	pthread_mutex_unlock(&F.mu);
	if (!n)
		return out_add(c, ": ping\n\n", 9);
	return render(c, ids, n);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	client *c = cls;
	size_t n;
	(void)pos;
	if (c->out_off == c->out_len) {
		c->out_len = c->out_off = 0;
		if (!next_chunk(c))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = c->out_len - c->out_off < max ? c->out_len - c->out_off : max;
	memcpy(buf, c->out + c->out_off, n);
	c->out_off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	client *c = cls;
	unregister(c);
	be_db_release(&c->req);
	free(c->out);
	free(c);
}

int be_h_events_stream(be_req *r)
{
	const char *site = be_site_filter(r);
	client *c;
	if (!site)
		return r->status;
	if (!(c = calloc(1, sizeof(*c))))
		return be_reply_error(r, 500, "out of memory");
	c->tok = r->tok;
	c->req.h = r->h;
	c->req.tok = r->tok;
	snprintf(c->site, sizeof(c->site), "%s", site);
	out_add(c, ": connected\n\n", 13);
	pthread_mutex_lock(&F.mu);
	if (F.n == CLIENTS_MAX || F.stopping) {
		pthread_mutex_unlock(&F.mu);
		free(c->out);
		free(c);
		return be_reply_error(r, 503, "too many event streams open");
	}
	F.clients[F.n++] = c;
	pthread_mutex_unlock(&F.mu);
	r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, c, stream_free);
	if (!r->resp) {
		stream_free(c);
		return be_reply_error(r, 500, "out of memory");
	}
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->status = 200;
	return 200;
}
