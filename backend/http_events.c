/* Events over HTTP: list (filters, cursor paging, newest first), detail,
 * and the reconstruction PNG (lib/review, operators only). Rows outside the
 * token's sites are never returned: a single event of another site is 404,
 * so ids do not leak. */
#include "http_internal.h"

#include "facefleet/error.h"
#include "facefleet/event_store.h"
#include "facefleet/review.h"
#include "facefleet/uuid.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The filters of GET /events, checked; false when one is bad (400 replied). */
static bool events_filters(be_req *r, const char *v[9])
{
	static const char *const keys[] = { "device", "identity", "decision", "track", "since", "until" };
	const char *lim = be_query(r, "limit"), *before = be_query(r, "before");
	static const char *const decisions[] = { "", "granted", "unknown", "rejected", "invalid" };
	bool dec_ok = false;
	if (!(v[0] = be_site_filter(r)))
		return false;
	for (int k = 0; k < 6; k++)
		v[1 + k] = be_query(r, keys[k]) ? be_query(r, keys[k]) : "";
	for (size_t d = 0; d < sizeof(decisions) / sizeof(decisions[0]); d++)
		dec_ok = dec_ok || strcmp(v[3], decisions[d]) == 0;
	if (!dec_ok || (*v[1] && !ff_id_valid(v[1])) || strspn(v[4], "0123456789") != strlen(v[4]) ||
	    strlen(v[4]) > 18) {
		be_reply_error(r, 400, "bad filter: device is an id, decision granted|unknown|rejected|"
				       "invalid, track a number");
		return false;
	}
	if (lim && (atoi(lim) < 1 || atoi(lim) > 500 || strspn(lim, "0123456789") != strlen(lim))) {
		be_reply_error(r, 400, "limit must be 1..500");
		return false;
	}
	v[7] = lim ? lim : "50";
	v[8] = before ? before : "";
	return true;
}

/* "<decided epoch us>_<event id>" of the last row shown: where the next page starts */
static bool cursor_split(const char *c, char us[24], char id[40])
{
	const char *u = strchr(c, '_');
	if (!*c)
		return us[0] = id[0] = '\0', true;
	if (!u || u == c || (size_t)(u - c) > 18 || strspn(c, "0123456789") != (size_t)(u - c) ||
	    !ff_uuid_valid(u + 1))
		return false;
	snprintf(us, 24, "%.*s", (int)(u - c), c);
	snprintf(id, 40, "%s", u + 1);
	return true;
}

int be_h_events_list(be_req *r)
{
	const char *v[9];
	char us[24], id[40], next[64];
	PGresult *res;
	cJSON *o, *arr;
	int n, limit;
	if (!events_filters(r, v))
		return r->status;
	if (!cursor_split(v[8], us, id))
		return be_reply_error(r, 400, "bad cursor (use the previous page's next)");
	const char *p[11] = { v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], us, id, be_scope_param(&r->tok) };
	res = be_sql(r, FF_EVENT_SELECT
		     "WHERE ($1 = '' OR e.site_id = $1) AND ($2 = '' OR e.device_id = $2) "
		     "AND ($3 = '' OR i.external_id = $3) AND ($4 = '' OR e.decision = $4) "
		     "AND ($5 = '' OR e.track_id = NULLIF($5, '')::bigint) "
		     "AND ($6 = '' OR e.decided_time >= NULLIF($6, '')::timestamptz) "
		     "AND ($7 = '' OR e.decided_time < NULLIF($7, '')::timestamptz) "
		     "AND ($9 = '' OR (e.decided_time, e.event_id) < ('epoch'::timestamptz + "
		     "     NULLIF($9, '')::bigint * interval '1 microsecond', NULLIF($10, '')::uuid)) "
		     "AND ($11::text[] IS NULL OR e.site_id = ANY ($11::text[])) "
		     "ORDER BY e.decided_time DESC, e.event_id DESC LIMIT $8::int",
		     11, p);
	if (!res)
		return be_reply_sql_error(r);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "events");
	n = PQntuples(res);
	limit = atoi(v[7]);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, ff_event_json(res, i));
	if (n == limit) {
		snprintf(next, sizeof(next), "%s_%s", PQgetvalue(res, n - 1, 16), PQgetvalue(res, n - 1, 0));
		cJSON_AddStringToObject(o, "next", next);
	} else {
		cJSON_AddNullToObject(o, "next");
	}
	PQclear(res);
	return be_reply_json(r, 200, o);
}

/* The event r->args[0] in scope: its row (1 tuple) or NULL (404 replied). */
static PGresult *event_row(be_req *r)
{
	const char *p[2] = { r->args[0], be_scope_param(&r->tok) };
	PGresult *res;
	if (!ff_uuid_valid(r->args[0])) {
		be_reply_error(r, 404, "no event %s", r->args[0]);
		return NULL;
	}
	res = be_sql(r, FF_EVENT_SELECT "WHERE e.event_id = $1::uuid "
		     "AND ($2::text[] IS NULL OR e.site_id = ANY ($2::text[])) LIMIT 1",
		     2, p);
	if (!res) {
		be_reply_sql_error(r);
		return NULL;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		be_reply_error(r, 404, "no event %s", r->args[0]);
		return NULL;
	}
	return res;
}

int be_h_event_get(be_req *r)
{
	PGresult *res = event_row(r);
	cJSON *o;
	if (!res)
		return r->status;
	o = ff_event_json(res, 0);
	PQclear(res);
	return be_reply_json(r, 200, o);
}

int be_h_event_face(be_req *r)
{
	PGresult *res = event_row(r);
	unsigned char *png = NULL;
	size_t len = 0;
	char err[256] = "";
	int rc;
	if (!res)
		return r->status;
	PQclear(res);
	if (!r->h->review)
		return be_reply_error(r, 501, "reconstructions are not available: %s", r->h->review_err);
	rc = ff_review_event_png(r->h->review, be_db(r), r->args[0], r->tok.actor, &png, &len, err,
				 sizeof(err));
	if (rc == FF_ERR_NOTFOUND)
		return be_reply_error(r, 404, "event %s has no stored face codes", r->args[0]);
	if (rc == FF_ERR_UNSUPPORTED)
		return be_reply_error(r, 501, "%s", err);
	if (rc != FF_OK)
		return be_reply_error(r, 500, "%s", err[0] ? err : ff_strerror(rc));
	rc = be_reply_bytes(r, 200, "image/png", png, len);
	free(png);
	return rc;
}
