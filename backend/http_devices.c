/* Devices over HTTP: list with state, revoke, threshold override. A device
 * of a site outside the token's is 404. State: revoked or disabled (not
 * enabled: revoked when its last such audit row is a revocation), else what
 * its last DeviceStatus says (status_watch.h: online or degraded -> online,
 * offline, its last will included -> offline), else, for a device that sent
 * no status since this backend started, online when a face was received
 * within online_s, offline otherwise. last_seen: the newer of its last face
 * and its last status. Revoking here marks the
 * device disabled in the database (every backend refuses its faces at once,
 * device_disabled) and, when the backend has a broker admin account
 * (broker_admin_user), first disables the device's broker account as
 * `fleetctl device revoke` does (facefleet/dynsec.h: its logins refused, its
 * open sessions dropped); without one the account stays usable and the reply
 * and audit row say broker_account not_configured. */
#include "http_internal.h"

#include "facefleet.pb-c.h"
#include "registry.h"

#include "facefleet/dynsec.h"
#include "facefleet/error.h"
#include "facefleet/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMP "http"

/* device, site, revoked|disabled (NULL: enabled), a face within $1 s,
 * last face (unix us, NULL: none), threshold */
#define DEVICE_SELECT                                                                              \
	"SELECT d.device_id, d.site_id, "                                                          \
	"  CASE WHEN d.enabled THEN NULL "                                                         \
	"  WHEN (SELECT a.action FROM audit_log a WHERE a.subject = d.device_id "                  \
	"        AND a.action IN ('device.revoke', 'device.enable', 'device.flood_disable') "      \
	"        ORDER BY a.at DESC LIMIT 1) = 'device.revoke' THEN 'revoked' ELSE 'disabled' END, " \
	"  d.last_seen_at > now() - $1::int * interval '1 s', "                                     \
	"  (extract(epoch FROM d.last_seen_at) * 1000000)::bigint, d.threshold "                    \
	"FROM devices d "

/* unix us as 2026-01-02T03:04:05.678Z into out (cap >= 32) */
static void iso_time(char *out, size_t cap, long long us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	size_t n;
	gmtime_r(&t, &tm);
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03dZ", (int)(us % 1000000 / 1000));
}

/* state and last_seen of row i (DEVICE_SELECT) into o: the database's
 * revoked/disabled, else the DeviceStatus, else the faces */
static void device_state(be_req *r, cJSON *o, const PGresult *res, int i)
{
	const char *db_state = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
	bool face_online = !PQgetisnull(res, i, 3) && PQgetvalue(res, i, 3)[0] == 't';
	long long seen = PQgetisnull(res, i, 4) ? 0 : strtoll(PQgetvalue(res, i, 4), NULL, 10);
	int status = 0;
	int64_t status_us = 0;
	char when[40];
	if (r->h->o.devices)
		be_devices_status(r->h->o.devices, PQgetvalue(res, i, 0), &status, &status_us);
	if (status && status_us > seen)
		seen = status_us;
	cJSON_AddStringToObject(o, "state", db_state ? db_state
					    : status ? (status == FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_OFFLINE
							  ? "offline" : "online")
					    : face_online ? "online" : "offline");
	if (seen > 0) {
		iso_time(when, sizeof(when), seen);
		cJSON_AddStringToObject(o, "last_seen", when);
	} else {
		cJSON_AddNullToObject(o, "last_seen");
	}
}

static cJSON *device_json(be_req *r, const PGresult *res, int i)
{
	cJSON *o = cJSON_CreateObject();
	be_json_text(o, "device", res, i, 0);
	be_json_text(o, "site", res, i, 1);
	device_state(r, o, res, i);
	be_json_num(o, "threshold", res, i, 5);
	return o;
}

int be_h_devices_list(be_req *r)
{
	const char *site = be_site_filter(r);
	char online[16];
	if (!site)
		return r->status;
	snprintf(online, sizeof(online), "%d", r->h->o.online_s);
	const char *p[3] = { online, site, be_scope_param(&r->tok) };
	return be_reply_rows(r, be_sql(r, DEVICE_SELECT "WHERE ($2 = '' OR d.site_id = $2) "
				       "AND ($3::text[] IS NULL OR d.site_id = ANY ($3::text[])) "
				       "ORDER BY d.device_id", 3, p),
			     "devices", device_json);
}

/* The device r->args[0] in scope, locked for the change (inside BEGIN): its
 * site and enabled flag, or false (404 / 500 replied). */
static bool device_locked(be_req *r, char *site, size_t cap, bool *enabled)
{
	const char *p[2] = { r->args[0], be_scope_param(&r->tok) };
	PGresult *res;
	bool found;
	if (!ff_id_valid(r->args[0]))
		return be_reply_error(r, 404, "no device %.40s", r->args[0]), false;
	if (!be_tx(r, "BEGIN") ||
	    !(res = be_sql(r, "SELECT site_id, enabled FROM devices WHERE device_id = $1 "
			      "AND ($2::text[] IS NULL OR site_id = ANY ($2::text[])) FOR UPDATE", 2, p)))
		return be_reply_sql_error(r), false;
	found = PQntuples(res) == 1;
	if (found) {
		snprintf(site, cap, "%s", PQgetvalue(res, 0, 0));
		*enabled = PQgetvalue(res, 0, 1)[0] == 't';
	}
	PQclear(res);
	if (!found)
		be_reply_error(r, 404, "no device %s", r->args[0]);
	return found;
}

/* The device's row after a change, committed, as the reply; with
 * broker_account (not NULL) when the change was a revoke. */
static int device_reply(be_req *r, const char *broker_account)
{
	char online[16];
	PGresult *res;
	cJSON *o;
	snprintf(online, sizeof(online), "%d", r->h->o.online_s);
	const char *p[2] = { online, r->args[0] };
	if (!be_tx(r, "COMMIT") || !(res = be_sql(r, DEVICE_SELECT "WHERE d.device_id = $2", 2, p)))
		return be_reply_sql_error(r);
	o = PQntuples(res) == 1 ? device_json(r, res, 0) : cJSON_CreateObject();
	PQclear(res);
	if (broker_account)
		cJSON_AddStringToObject(o, "broker_account", broker_account);
	return be_reply_json(r, 200, o);
}

/* The broker half of revoking device r->args[0]: "disabled", "not_found"
 * (it has no broker account), "not_configured" (no broker_admin_user), or
 * NULL when the broker could not be told (why in err, logged). */
static const char *broker_disable(be_req *r, char *err, size_t cap)
{
	const ff_dynsec_options *o = &r->h->o.broker_admin;
	ff_dynsec *d;
	int rc;
	if (!o->username || !*o->username)
		return "not_configured";
	rc = ff_dynsec_open(o, &d, err, cap);
	if (rc == FF_OK) {
		rc = ff_dynsec_disable_device(d, r->args[0], err, cap);
		ff_dynsec_close(d);
	}
	if (rc == FF_OK || rc == FF_ERR_NOTFOUND)
		return rc == FF_OK ? "disabled" : "not_found";
	ff_log_warn(LOG_COMP, "event=broker_disable_failed device=%s err=\"%.200s\"", r->args[0], err);
	return NULL;
}

int be_h_device_revoke(be_req *r)
{
	char site[FF_ID_MAX + 1], err[256] = "";
	const char *broker;
	bool enabled;
	cJSON *detail;
	PGresult *res;
	if (!device_locked(r, site, sizeof(site), &enabled))
		return r->status;
	/* the broker first, as fleetctl: a failure leaves the device as it was */
	if (!(broker = broker_disable(r, err, sizeof(err))))
		return be_reply_error(r, 503, "the broker did not disable dev.%s (%s); nothing changed",
				      r->args[0], err);
	{
		const char *p[1] = { r->args[0] };
		if (!(res = be_sql(r, "UPDATE devices SET enabled = false WHERE device_id = $1", 1, p)))
			return be_reply_sql_error(r);
		PQclear(res);
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	cJSON_AddBoolToObject(detail, "was_enabled", enabled);
	cJSON_AddStringToObject(detail, "broker_account", broker);
	if (!be_audit(r, "device.revoke", r->args[0], detail))
		return be_reply_sql_error(r);
	return device_reply(r, broker);
}

int be_h_device_threshold(be_req *r)
{
	char site[FF_ID_MAX + 1], t[32];
	bool enabled;
	cJSON *detail;
	PGresult *res;
	if (!be_threshold_body(r, t, sizeof(t)) || !device_locked(r, site, sizeof(site), &enabled))
		return r->status;
	{
		const char *p[2] = { r->args[0], *t ? t : NULL };
		if (!(res = be_sql(r, "UPDATE devices SET threshold = $2::real WHERE device_id = $1", 2, p)))
			return be_reply_sql_error(r);
		PQclear(res);
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	be_json_threshold(detail, t);
	if (!be_audit(r, "device.threshold", r->args[0], detail))
		return be_reply_sql_error(r);
	return device_reply(r, NULL);
}
