/* One recognition event as the API's EVENT object (facefleet/event_store.h). */
#include "facefleet/event_store.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

enum { C_ID, C_DEV, C_SITE, C_SEQ, C_CAP, C_RECV, C_DEC, C_LAT, C_DECISION, C_IDENT, C_SCORE,
       C_REASON, C_MODEL, C_TRACK, C_TOPK, C_FACE };

static const char *const names[] = { "event_id", "device", "site", "seq", "capture_time",
				     "received_time", "decided_time", "latency_ms", "decision",
				     "identity", "score", "reason", "model_id", "track_id" };

cJSON *ff_event_json(const PGresult *res, int i)
{
	cJSON *o = cJSON_CreateObject(), *topk;
	if (!o)
		return NULL;
	for (int c = C_ID; c <= C_TRACK; c++) {
		int number = c == C_SEQ || c == C_LAT || c == C_SCORE || c == C_TRACK;
		if (PQgetisnull(res, i, c))
			cJSON_AddNullToObject(o, names[c]);
		else if (number)
			cJSON_AddNumberToObject(o, names[c], strtod(PQgetvalue(res, i, c), NULL));
		else
			cJSON_AddStringToObject(o, names[c], PQgetvalue(res, i, c));
	}
	topk = cJSON_Parse(PQgetvalue(res, i, C_TOPK));
	if (!cJSON_IsArray(topk)) {
		cJSON_Delete(topk);
		topk = cJSON_CreateArray();
	}
	cJSON_AddItemToObject(o, "topk", topk);
	cJSON_AddBoolToObject(o, "has_face", PQgetvalue(res, i, C_FACE)[0] == 't');
	return o;
}
