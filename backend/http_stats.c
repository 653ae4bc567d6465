/* GET /api/v1/stats: the figures of `fleetctl stats --format json` (faces
 * per device and decision, bytes per face from the backend's audit rows,
 * rejected messages by reason), over the token's sites, with the same
 * ?since= ?until= (RFC 3339) and ?site= filters. */
#include "http_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW(col)                                                                        \
	"($1 = '' OR " col " >= NULLIF($1, '')::timestamptz) AND "                          \
	"($2 = '' OR " col " < NULLIF($2, '')::timestamptz) "
#define SCOPE(col) "AND ($3 = '' OR " col " = $3) AND ($4::text[] IS NULL OR " col " = ANY ($4::text[])) "

static void add_per_device(cJSON *o, const PGresult *per, long dec[4], long *faces)
{
	cJSON *pd = cJSON_AddArrayToObject(o, "per_device");
	for (int i = 0; i < PQntuples(per); i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "site", PQgetvalue(per, i, 0));
		cJSON_AddStringToObject(d, "device", PQgetvalue(per, i, 1));
		for (int k = 2; k < 7; k++)
			cJSON_AddNumberToObject(d, PQfname(per, k), atof(PQgetvalue(per, i, k)));
		*faces += atol(PQgetvalue(per, i, 2));
		for (int k = 0; k < 4; k++)
			dec[k] += atol(PQgetvalue(per, i, 3 + k));
		cJSON_AddItemToArray(pd, d);
	}
}

int be_h_stats(be_req *r)
{
	static const char *const keys[4] = { "granted", "unknown", "rejected", "invalid" };
	const char *site = be_site_filter(r), *since = be_query(r, "since"), *until = be_query(r, "until");
	PGresult *per = NULL, *tot = NULL, *rej = NULL;
	long faces = 0, dec[4] = { 0, 0, 0, 0 };
	cJSON *o, *rm;
	if (!site)
		return r->status;
	const char *p[4] = { since ? since : "", until ? until : "", site, be_scope_param(&r->tok) };
	if (!(per = be_sql(r, "SELECT site_id, device_id, count(*) AS faces, "
			      "  count(*) FILTER (WHERE decision = 'granted') AS granted, "
			      "  count(*) FILTER (WHERE decision = 'unknown') AS unknown, "
			      "  count(*) FILTER (WHERE decision = 'rejected') AS rejected, "
			      "  count(*) FILTER (WHERE decision = 'invalid') AS invalid "
			      "FROM recognition_events WHERE " WINDOW("decided_time") SCOPE("site_id")
			      "GROUP BY 1, 2 ORDER BY 1, 2", 4, p)) ||
	    !(tot = be_sql(r, "SELECT coalesce(round(avg((detail->>'bytes')::numeric), 1), 0) "
			      "FROM audit_log WHERE action = 'event.decide' AND " WINDOW("at")
			      SCOPE("detail->>'site'"), 4, p)) ||
	    !(rej = be_sql(r, "SELECT coalesce(detail->>'reason', ''), count(*) "
			      "FROM audit_log WHERE action = 'message.reject' AND " WINDOW("at")
			      SCOPE("detail->>'site'") "GROUP BY 1 ORDER BY 2 DESC, 1", 4, p))) {
		PQclear(per);
		PQclear(tot);
		return be_reply_sql_error(r);
	}
	o = cJSON_CreateObject();
	add_per_device(o, per, dec, &faces);
	cJSON_AddNumberToObject(o, "faces", (double)faces);
	for (int k = 0; k < 4; k++)
		cJSON_AddNumberToObject(o, keys[k], (double)dec[k]);
	cJSON_AddNumberToObject(o, "devices", PQntuples(per));
	cJSON_AddNumberToObject(o, "bytes_per_face", atof(PQgetvalue(tot, 0, 0)));
	rm = cJSON_AddObjectToObject(o, "rejected_messages");
	for (int i = 0; i < PQntuples(rej); i++)
		cJSON_AddNumberToObject(rm, PQgetvalue(rej, i, 0), atof(PQgetvalue(rej, i, 1)));
	PQclear(per);
	PQclear(tot);
	PQclear(rej);
	return be_reply_json(r, 200, o);
}
