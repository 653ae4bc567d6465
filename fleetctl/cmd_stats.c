/* fleetctl/cmd_stats.c: faces per device, decisions, bytes received per face
 * (the backend's audit rows record each message's size) against a JPEG face,
 * and rejected messages by reason, and the share groups' members (the
 * backends' presence at the broker, when fleetctl has the admin account).
 * The last line is one JSON object; with --format json it is the only one,
 * carrying the per-device rows too. */
#include "fleetctl.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#define WINDOW_SQL(col)                                                                  \
	"($1 = '' OR " col " >= NULLIF($1, '')::timestamptz) AND "                        \
	"($2 = '' OR " col " < NULLIF($2, '')::timestamptz) "

/* ---- the share group's members: the backends' retained presence ----
 * fleet-backend keeps {"instance","share_group","session_expiry_s","state"}
 * retained on facefleet/backend/<instance>/status: "online", "stopped"
 * (a clean stop: a share-group member's broker session ended with it), or
 * "lost", its last will: the process died or its link dropped, and its
 * broker session keeps drawing a share of the faces, held until it is back
 * or session_expiry_s after it went. */
#define MEMBERS_FILTER "facefleet/backend/+/status"
#define MEMBERS_WAIT_MS 800 /* retained messages come right after the SUBACK */

typedef struct members {
	pthread_mutex_t mu;
	cJSON *arr;
} members;

static void on_member(void *ctx, const ff_mqtt_message *msg)
{
	members *m = ctx;
	cJSON *o = cJSON_ParseWithLength((const char *)msg->payload, msg->len);
	if (!cJSON_IsString(cJSON_GetObjectItem(o, "instance")) ||
	    !cJSON_IsString(cJSON_GetObjectItem(o, "state"))) {
		cJSON_Delete(o); /* not ours, or empty: a cleared presence */
		return;
	}
	pthread_mutex_lock(&m->mu);
	cJSON_AddItemToArray(m->arr, o);
	pthread_mutex_unlock(&m->mu);
}

/* The members' presence objects, or NULL when the broker cannot be asked
 * (no admin account configured, broker away): stats goes on without them. */
static cJSON *read_members(fc_ctx *ctx)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	members m = { .arr = cJSON_CreateArray() };
	ff_mqtt *c = NULL;
	char cid[128];
	bool ok = false;
	pthread_mutex_init(&m.mu, NULL);
	if (m.arr && fc_admin_mqtt_options(ctx, &o, cid, sizeof(cid))) {
		o.on_message = on_member;
		o.cb_ctx = &m;
		ok = ff_mqtt_create(&o, &c) == FF_OK && ff_mqtt_connect(c) == FF_OK &&
		     ff_mqtt_subscribe(c, MEMBERS_FILTER, 1, 5000) == FF_OK;
		if (ok)
			poll(NULL, 0, MEMBERS_WAIT_MS);
		if (c && ff_mqtt_is_connected(c))
			ff_mqtt_disconnect(c, 1000);
		ff_mqtt_destroy(c); /* no callback after this */
	}
	pthread_mutex_destroy(&m.mu);
	if (!ok) {
		cJSON_Delete(m.arr);
		return NULL;
	}
	return m.arr;
}

/* Prints the members (table format) and adds them to o, with the count of
 * members whose session may still hold faces ("lost" in a share group). */
static void report_members(cJSON *arr, cJSON *o, fc_format fmt)
{
	int lost = 0;
	const cJSON *e;
	if (!arr) {
		if (fmt == FC_FMT_TABLE)
			printf("== share-group members: not known (no broker admin account, or the broker "
			       "is away)\n\n");
		return;
	}
	if (fmt == FC_FMT_TABLE)
		printf("== share-group members (backends)\n%-32s %-16s %-8s %s\n", "instance",
		       "share_group", "state", "session_expiry_s");
	cJSON_ArrayForEach(e, arr) {
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(e, "state"));
		const char *group = cJSON_GetStringValue(cJSON_GetObjectItem(e, "share_group"));
		double exp = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "session_expiry_s"));
		bool holds = strcmp(state, "lost") == 0 && group && *group;
		lost += holds;
		if (fmt == FC_FMT_TABLE)
			printf("%-32s %-16s %-8s %.0f%s\n",
			       cJSON_GetStringValue(cJSON_GetObjectItem(e, "instance")), group ? group : "",
			       state, exp > 0 ? exp : 0,
			       holds ? "  (offline member: its session holds a share of the faces until it "
				       "is back or the session expires)" : "");
	}
	if (fmt == FC_FMT_TABLE)
		printf("\n");
	cJSON_AddNumberToObject(o, "share_group_members_offline", lost);
	cJSON_AddItemToObject(o, "share_group_members", arr);
}

static int stats(fc_ctx *ctx, int argc, char **argv)
{
	char since[64], until[64], limit[16];
	PGresult *per = NULL, *tot = NULL, *rej = NULL;
	int rc;
	fc_format fmt = fc_ctx_format(ctx);
	(void)argc;
	(void)argv;
	if ((rc = fc_query_window(ctx, since, until, sizeof(since), limit, sizeof(limit))) != FF_EXIT_OK)
		return rc;
	const char *p[3] = { since, until, ctx->cfg.site };
	rc = FF_EXIT_FAIL;
	per = fc_sql(ctx,
		     "SELECT site_id AS site, device_id AS device, count(*) AS faces, "
		     "       count(*) FILTER (WHERE decision = 'granted') AS granted, "
		     "       count(*) FILTER (WHERE decision = 'unknown') AS unknown, "
		     "       count(*) FILTER (WHERE decision = 'rejected') AS rejected, "
		     "       count(*) FILTER (WHERE decision = 'invalid') AS invalid "
		     "FROM recognition_events WHERE " WINDOW_SQL("decided_time")
		     "AND ($3 = '' OR site_id = $3) GROUP BY 1, 2 ORDER BY 1, 2",
		     3, p);
	tot = fc_sql(ctx,
		     "SELECT count(*) AS faces, coalesce(round(avg((detail->>'bytes')::numeric), 1), 0) AS bytes_per_face, "
		     "       coalesce(sum((detail->>'bytes')::bigint), 0) AS bytes "
		     "FROM audit_log WHERE action = 'event.decide' AND " WINDOW_SQL("at")
		     "AND ($3 = '' OR detail->>'site' = $3)",
		     3, p);
	rej = fc_sql(ctx,
		     "SELECT coalesce(detail->>'reason', '') AS reason, count(*) AS messages "
		     "FROM audit_log WHERE action = 'message.reject' AND " WINDOW_SQL("at")
		     "AND ($3 = '' OR detail->>'site' = $3) GROUP BY 1 ORDER BY 2 DESC, 1",
		     3, p);
	if (!per || !tot || !rej)
		goto out;
	long faces = 0, dec[4] = { 0, 0, 0, 0 };
	for (int i = 0; i < PQntuples(per); i++) {
		faces += atol(PQgetvalue(per, i, 2));
		for (int k = 0; k < 4; k++)
			dec[k] += atol(PQgetvalue(per, i, 3 + k));
	}
	double bpf = atof(PQgetvalue(tot, 0, 1));
	int jpeg = ctx->cfg.jpeg_face_bytes;
	if (fmt == FC_FMT_TABLE) {
		printf("== faces per device\n");
		fc_print_result(per, fmt);
		printf("\n== bytes received per face\n");
		printf("decided messages %s, bytes %s, bytes per face %.1f", PQgetvalue(tot, 0, 0),
		       PQgetvalue(tot, 0, 2), bpf);
		if (jpeg > 0 && bpf > 0)
			printf(" (a JPEG face: %d bytes, %.1fx more)", jpeg, jpeg / bpf);
		printf("\n\n== rejected messages by reason\n");
		fc_print_result(rej, fmt);
		printf("\n");
	} else if (fmt == FC_FMT_CSV) {
		fc_print_result(per, fmt);
		printf("\n");
		fc_print_result(rej, fmt);
		printf("\n");
	}
	{
		cJSON *o = cJSON_CreateObject(), *rm;
		const char *keys[4] = { "granted", "unknown", "rejected", "invalid" };
		cJSON_AddNumberToObject(o, "faces", (double)faces);
		for (int k = 0; k < 4; k++)
			cJSON_AddNumberToObject(o, keys[k], (double)dec[k]);
		cJSON_AddNumberToObject(o, "devices", PQntuples(per));
		fc_json_add_fixed(o, "bytes_per_face", bpf, 1);
		if (jpeg > 0) {
			cJSON_AddNumberToObject(o, "jpeg_face_bytes", jpeg);
			fc_json_add_fixed(o, "jpeg_ratio", bpf > 0 ? jpeg / bpf : 0.0, 1);
		}
		rm = cJSON_AddObjectToObject(o, "rejected_messages");
		for (int i = 0; i < PQntuples(rej); i++)
			cJSON_AddRawToObject(rm, PQgetvalue(rej, i, 0), PQgetvalue(rej, i, 1)); /* a bigint */
		report_members(read_members(ctx), o, fmt);
		if (fmt == FC_FMT_JSON) { /* one object: the rows of the table output inside it */
			cJSON *pd = cJSON_AddArrayToObject(o, "per_device");
			for (int i = 0; pd && i < PQntuples(per); i++) {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "site", PQgetvalue(per, i, 0));
				cJSON_AddStringToObject(d, "device", PQgetvalue(per, i, 1));
				for (int k = 2; k < 7; k++) /* counts, bigints */
					cJSON_AddRawToObject(d, PQfname(per, k), PQgetvalue(per, i, k));
				cJSON_AddItemToArray(pd, d);
			}
		}
		if (!fc_json_line(o)) {
			fc_fail(FF_EXIT_FAIL, "out of memory");
			goto out;
		}
	}
	rc = fc_audit(ctx, "stats.query", "", NULL) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	PQclear(per);
	PQclear(tot);
	PQclear(rej);
	return rc;
}

static const fc_verb verbs[] = {
	{ "show", stats, "[show] [--since T] [--until T] [--site S] [--jpeg-face-bytes N]",
	  "faces per device, decisions, bytes per face (vs a JPEG face), rejected messages by reason, "
	  "the backends of the share groups (online, stopped, or lost: an offline member whose "
	  "session holds faces); last line one JSON object (--format json: the only line, "
	  "per_device inside)" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_stats(fc_ctx *ctx, int argc, char **argv)
{
	if (argc == 0 && !fc_help_requested) {
		ctx->read_only = true; /* `stats` is `stats show` */
		return stats(ctx, argc, argv);
	}
	return fc_dispatch(ctx, "stats", verbs, argc, argv);
}
