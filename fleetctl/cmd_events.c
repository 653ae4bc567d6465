/* fleetctl/cmd_events.c: events query (PostgreSQL) and events watch (live
 * AccessEvents from the broker, as an integrator). */
#include "fleetctl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "facefleet.pb-c.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#define WATCH_MAX_SITES 64

static const char *decision_name(int d)
{
	switch (d) {
	case FACEFLEET__V1__DECISION__DECISION_GRANTED: return "granted";
	case FACEFLEET__V1__DECISION__DECISION_UNKNOWN: return "unknown";
	case FACEFLEET__V1__DECISION__DECISION_REJECTED: return "rejected";
	case FACEFLEET__V1__DECISION__DECISION_INVALID: return "invalid";
	default: return "unspecified";
	}
}

static bool valid_decision(const char *d)
{
	return !*d || strcmp(d, "granted") == 0 || strcmp(d, "unknown") == 0 || strcmp(d, "rejected") == 0 ||
	       strcmp(d, "invalid") == 0;
}

/* --track as a query parameter: the id, or "" for any */
void fc_track_param(const fc_ctx *ctx, char out[24])
{
	out[0] = '\0';
	if (ctx->cfg.track > 0)
		snprintf(out, 24, "%lld", (long long)ctx->cfg.track);
}

static int events_query(fc_ctx *ctx, int argc, char **argv)
{
	char since[64], until[64], limit[16], track[24], *detail;
	const fc_cfg *c = &ctx->cfg;
	cJSON *d;
	int rc;
	if (argc > 1)
		return fc_fail(FF_EXIT_USAGE, "unexpected argument '%s'", argv[1]);
	fc_track_param(ctx, track);
	if ((rc = fc_query_window(ctx, since, until, sizeof(since), limit, sizeof(limit))) != FF_EXIT_OK)
		return rc;
	if (!valid_decision(c->decision))
		return fc_fail(FF_EXIT_USAGE, "--decision must be granted, unknown, rejected or invalid");
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "since", since);
	cJSON_AddStringToObject(d, "until", until);
	cJSON_AddStringToObject(d, "site", ff_id_valid(c->site) ? c->site : "");
	cJSON_AddStringToObject(d, "device", ff_id_valid(c->device) ? c->device : "");
	cJSON_AddStringToObject(d, "decision", c->decision);
	if (*track)
		cJSON_AddRawToObject(d, "track_id", track);
	if (!(detail = fc_json_take(d)))
		return fc_fail(FF_EXIT_FAIL, "out of memory");
	/* a face of a track (migration 007): its track, the faces fused when it
	 * was decided, the track's decision on them and whether this face
	 * changed it (the faces that carried an AccessEvent); empty otherwise */
	const char *p[8] = { since, until, c->site, c->device, c->identity, c->decision, limit, track };
	rc = fc_print_query(ctx, "events.query", detail,
		   "SELECT to_char(e.decided_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS time, "
		   "       e.site_id AS site, e.device_id AS device, e.seq, e.decision, "
		   "       i.external_id AS identity, round(e.score::numeric, 3) AS score, e.reason, "
		   "       e.track_id, e.track_index, e.faces_fused, e.track_decision, "
		   "       ti.external_id AS track_identity, round(e.track_score::numeric, 3) AS track_score, "
		   "       e.track_changed, e.event_id::text AS event_id "
		   "FROM recognition_events e LEFT JOIN identities i USING (identity_id) "
		   "LEFT JOIN identities ti ON ti.identity_id = e.track_identity_id "
		   "WHERE ($1 = '' OR e.decided_time >= NULLIF($1, '')::timestamptz) "
		   "  AND ($2 = '' OR e.decided_time < NULLIF($2, '')::timestamptz) "
		   "  AND ($3 = '' OR e.site_id = $3) AND ($4 = '' OR e.device_id = $4) "
		   "  AND ($5 = '' OR i.external_id = $5 OR ti.external_id = $5) "
		   "  AND ($6 = '' OR e.decision = $6 OR e.track_decision = $6) "
		   "  AND ($8 = '' OR e.track_id = NULLIF($8, '')::bigint) "
		   "ORDER BY e.decided_time DESC LIMIT $7::int",
		   8, p);
	cJSON_free(detail);
	return rc;
}

/* ---- watch --------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;
static atomic_int seen;
static fc_format watch_fmt;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_access(void *ctx, const ff_mqtt_message *msg)
{
	Facefleet__V1__AccessEvent *e;
	char ts[40], ident[300], reason[200];
	(void)ctx;
	e = facefleet__v1__access_event__unpack(NULL, msg->len, msg->payload);
	if (!e) {
		fprintf(stderr, "fleetctl: undecodable AccessEvent on %s (%zu bytes)\n", msg->topic, msg->len);
		return;
	}
	{
		time_t t = (time_t)(e->decided_time_us / 1000000);
		struct tm tm;
		gmtime_r(&t, &tm);
		size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)((e->decided_time_us / 1000) % 1000));
	}
	if (watch_fmt == FC_FMT_JSON) {
		char seq[24];
		cJSON *o = cJSON_CreateObject();
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq); /* all 64 bits */
		cJSON_AddStringToObject(o, "time", ts);
		cJSON_AddStringToObject(o, "site", e->site_id);
		cJSON_AddStringToObject(o, "device", e->device_id);
		cJSON_AddRawToObject(o, "seq", seq);
		cJSON_AddStringToObject(o, "decision", decision_name(e->decision));
		cJSON_AddStringToObject(o, "identity", e->identity);
		fc_json_add_fixed(o, "score", e->score, 3);
		cJSON_AddStringToObject(o, "reason", e->reason);
		if (e->track_id) { /* the track's decision (proto AccessEvent, fields 13-17) */
			char tid[24];
			snprintf(tid, sizeof(tid), "%llu", (unsigned long long)e->track_id);
			cJSON_AddRawToObject(o, "track_id", tid);
			cJSON_AddNumberToObject(o, "track_index", e->track_index);
			cJSON_AddNumberToObject(o, "faces_fused", e->faces_fused);
			cJSON_AddStringToObject(o, "face_decision", decision_name(e->face_decision));
			fc_json_add_fixed(o, "face_score", e->face_score, 3);
		}
		cJSON_AddStringToObject(o, "event_id", e->event_id);
		if (!fc_json_line(o))
			fprintf(stderr, "fleetctl: out of memory printing an AccessEvent\n");
	} else {
		/* what a broker delivers is untrusted: no raw control characters
		 * or terminal escapes on the operator's screen */
		char site[160], dev[160];
		fc_safe(site, sizeof(site), e->site_id);
		fc_safe(dev, sizeof(dev), e->device_id);
		fc_safe(ident, sizeof(ident), e->identity[0] || watch_fmt == FC_FMT_CSV ? e->identity : "-");
		fc_safe(reason, sizeof(reason), e->reason);
		if (e->track_id && watch_fmt == FC_FMT_TABLE) { /* a track's decision: which, on how many */
			size_t k = strlen(reason);
			snprintf(reason + k, sizeof(reason) - k, "%strack %llu (%u fused)", k ? " " : "",
				 (unsigned long long)e->track_id, e->faces_fused);
		}
		printf(watch_fmt == FC_FMT_CSV ? "%s,%s,%s,%llu,%s,%s,%.3f,%s\n"
					       : "%-24s  %-12s  %-16s  %6llu  %-8s  %-24s  %6.3f  %s\n",
		       ts, site, dev, (unsigned long long)e->seq, decision_name(e->decision), ident, e->score,
		       reason);
	}
	fflush(stdout);
	facefleet__v1__access_event__free_unpacked(e, NULL);
	atomic_fetch_add(&seen, 1);
}

static int events_watch(fc_ctx *ctx, int argc, char **argv)
{
	const fc_cfg *c = &ctx->cfg;
	char *sites[WATCH_MAX_SITES], *list = NULL, user[128], pw[64] = "", filter[128];
	int n = 0, rc = FF_EXIT_FAIL, mrc;
	bool temporary = !(c->watch_user && *c->watch_user);
	ff_dynsec *ds = NULL;
	ff_mqtt *m = NULL;
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	struct sigaction sa;
	time_t start = time(NULL);
	(void)argc;
	(void)argv;

	list = strdup(c->sites && *c->sites ? c->sites : (c->site ? c->site : ""));
	if (!list)
		return FF_EXIT_FAIL;
	if (*list && (n = fc_split_ids(list, sites, WATCH_MAX_SITES)) < 1) {
		free(list);
		return fc_fail(FF_EXIT_USAGE, "--site/--sites: site ids [a-z0-9-]{1,32}");
	}
	if (!temporary && n == 0) {
		free(list);
		return fc_fail(FF_EXIT_USAGE, "an integrator account needs --sites (its bundle sets them)");
	}
	if (n == 0)
		sites[n++] = NULL; /* every site: fleet/+/+/access */
	watch_fmt = fc_ctx_format(ctx);
	if (temporary) {
		/* a short-lived integrator of its own: same ACL shape as `subscriber add` */
		char h[40];
		size_t k = 0;
		for (const char *p = ctx->host; *p && k < sizeof(h) - 1; p++)
			h[k++] = ff_id_valid((char[]){ *p, 0 }) ? *p : '-';
		h[k] = '\0';
		snprintf(user, sizeof(user), "watch.%s-%ld", h, (long)getpid());
		if (!fc_random_password(pw, sizeof(pw)) || !(ds = fc_dynsec_open(ctx)))
			goto out;
		if (fc_watch_account(ctx, ds, user, sites, n, pw, true) != FF_OK)
			goto out;
	} else {
		snprintf(user, sizeof(user), "%s", c->watch_user);
	}
	o.url = c->mqtt_url;
	o.client_id = user; /* integrator accounts are bound to client id = user name */
	o.username = user;
	o.password = temporary ? pw : c->watch_password;
	o.ca_file = fc_url_tls(c->mqtt_url) && c->mqtt_ca_file && *c->mqtt_ca_file ? c->mqtt_ca_file : NULL;
	o.on_message = on_access;
	if ((mrc = ff_mqtt_create(&o, &m)) != FF_OK || (mrc = ff_mqtt_connect(m)) != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "cannot connect to %s as %s: %s", c->mqtt_url, user, ff_strerror(mrc));
		goto out;
	}
	if (watch_fmt == FC_FMT_TABLE)
		printf("%-24s  %-12s  %-16s  %6s  %-8s  %-24s  %6s  %s\n", "time", "site", "device", "seq",
		       "decision", "identity", "score", "reason");
	else if (watch_fmt == FC_FMT_CSV)
		printf("time,site,device,seq,decision,identity,score,reason\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		if ((mrc = ff_mqtt_fleet_topic(filter, sizeof(filter), sites[i], NULL, "access")) != FF_OK ||
		    (mrc = ff_mqtt_subscribe(m, filter, 1, 5000)) != FF_OK) {
			fc_fail(FF_EXIT_FAIL, "subscribe %s refused: %s", filter, ff_strerror(mrc));
			goto out;
		}
	}
	fprintf(stderr, "fleetctl: watching %s%s as %s (Ctrl-C stops)\n", !sites[0] ?
		"every site" : "sites ", !sites[0] ? "" : (c->sites && *c->sites ? c->sites : c->site),
		user);
	if (c->db_conninfo && *c->db_conninfo) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "mqtt_user", user);
		cJSON_AddBoolToObject(d, "temporary", temporary);
		fc_audit_json(ctx, "events.watch", "", d);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_flag) {
		if (c->count > 0 && atomic_load(&seen) >= c->count)
			break;
		if (c->timeout_s > 0 && time(NULL) - start >= c->timeout_s)
			break;
		if (!ff_mqtt_is_connected(m)) {
			fc_fail(FF_EXIT_FAIL, "connection to the broker lost");
			goto out;
		}
		usleep(50 * 1000);
	}
	rc = FF_EXIT_OK;
out:
	if (m) {
		if (ff_mqtt_is_connected(m))
			ff_mqtt_disconnect(m, 1000);
		ff_mqtt_destroy(m);
	}
	if (ds) {
		fc_watch_account(ctx, ds, user, NULL, 0, NULL, false);
		ff_dynsec_close(ds);
	}
	memset(pw, 0, sizeof(pw));
	free(list);
	return rc;
}

static const fc_verb verbs[] = {
	{ "query", events_query,
	  "query [--since T] [--until T] [--site S] [--device D] [--identity NAME] [--decision X] [--limit N] "
	  "[--track ID]",
	  "recognition events, newest first (T: ISO 8601 or a duration back from now: 90s, 30m, 2h, 7d), "
	  "with each face's track: faces fused, the track's decision, whether the face changed it; "
	  "--track ID: one track's faces (--identity, --decision: the face's or its track's)" },
	{ "show", fc_events_show, "show ID [--image out.png] [--vq-dir DIR]",
	  "one event: capture, decision and latency, decision, score, top-k candidates, device, site, "
	  "track; --image writes the decoder's reconstruction of its codes (marked as one; audited)" },
	{ "watch", events_watch, "watch [--site S | --sites S1,S2] [--count N] [--timeout-s S]",
	  "print AccessEvents as they arrive, as an integrator: the watch_user/watch_password of an "
	  "integrator bundle (--config sub.NAME.conf), else a temporary account limited to the sites" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_events(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "events", verbs, argc, argv);
}
