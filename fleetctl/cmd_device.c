/* fleetctl/cmd_device.c: device add | list | revoke | enable | delete |
 * rotate-credentials | reset-seq.
 *
 * A device is a devices row plus a broker account "dev.<id>" whose role
 * "dev.<id>" may publish fleet/<site>/<id>/{faces,status} and subscribe
 * fleet/<site>/<id>/config only (broker-config/ACL.md). Its password (256
 * random bits) exists only in the broker (salted hash) and in the bundle
 * written here: a fleet-device config file, mode 0600. A revoked device is
 * enabled again with new credentials (enable) or deleted (delete: its
 * account, role and row go, its events stay). */
#include "fleetctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/mqtt.h"

/* The device's name from --name or the first positional argument. */
static const char *device_arg(fc_ctx *ctx, int argc, char **argv)
{
	return fc_id_arg(ctx, argc, argv, "device id");
}

/* The MQTT client id a device's broker account is bound to (the broker
 * refuses the account under any other id, so a device cannot take over
 * another client's session): "<site>-<device>", fleet-device's default. */
static void device_client_id(char *out, size_t cap, const char *site, const char *dev)
{
	snprintf(out, cap, "%s-%s", site, dev);
}

/* The ACLs that let a device read its own Receipt topic (the backend's
 * record of its faces and last seq: where it resumes after losing its
 * outbox), and nobody else's. */
static const char *const receipt_acl_types[2] = { "subscribeLiteral", "publishClientReceive" };

static void receipt_topic(char *buf, size_t cap, const char *site, const char *dev)
{
	ff_mqtt_fleet_topic(buf, cap, site, dev, "receipt"); /* the callers checked both ids */
}

/* Adds them to the role of a device made before receipts existed (those
 * already there are left alone). FF_OK or the broker's error. */
static int add_receipt_acls(ff_dynsec *ds, const char *site, const char *dev, char *err, size_t errlen)
{
	char role[48], topic[128];
	cJSON *c[2];
	int rc;
	snprintf(role, sizeof(role), "dev.%s", dev);
	receipt_topic(topic, sizeof(topic), site, dev);
	for (int i = 0; i < 2; i++) {
		c[i] = ff_dynsec_command("addRoleACL", "rolename", role);
		cJSON_AddStringToObject(c[i], "acltype", receipt_acl_types[i]);
		cJSON_AddStringToObject(c[i], "topic", topic);
		cJSON_AddTrueToObject(c[i], "allow");
	}
	rc = ff_dynsec_run(ds, c, 2, err, errlen);
	ff_dynsec_free(c, 2);
	return rc == FF_ERR_STATE ? FF_OK : rc; /* "already exists" */
}

/* The createRole command of a device: publish its faces and status,
 * subscribe to (and receive) its config and its receipts. */
static cJSON *device_role(const char *site, const char *dev)
{
	static const struct {
		const char *type, *leaf;
	} acl[4] = { { "publishClientSend", "faces" }, { "publishClientSend", "status" },
		     { "subscribeLiteral", "config" }, { "publishClientReceive", "config" } };
	char role[48], text[96], topic[128];
	cJSON *c, *acls = NULL;
	bool ok;
	snprintf(role, sizeof(role), "dev.%s", dev);
	snprintf(text, sizeof(text), "device %s at site %s", dev, site);
	c = ff_dynsec_command("createRole", "rolename", role);
	ok = cJSON_AddStringToObject(c, "textname", text) && (acls = cJSON_AddArrayToObject(c, "acls"));
	for (int i = 0; ok && i < 4; i++) {
		ok = ff_mqtt_fleet_topic(topic, sizeof(topic), site, dev, acl[i].leaf) == FF_OK &&
		     ff_dynsec_acl(acls, acl[i].type, topic);
	}
	receipt_topic(topic, sizeof(topic), site, dev);
	for (int i = 0; ok && i < 2; i++)
		ok = ff_dynsec_acl(acls, receipt_acl_types[i], topic);
	if (!ok)
		ff_dynsec_free(&c, 1);
	return c;
}

/* The bundle: a fleet-device config file readable as is (device/fleet-device.conf.example). */
static bool write_device_bundle(fc_ctx *ctx, const char *site, const char *dev, const char *pw,
				char *path, size_t cap)
{
	const char *url;
	char ca_name[256], when[32], cid[80];
	time_t now = time(NULL);
	struct tm tm;
	fc_bundle b;

	if (!fc_bundle_start(ctx, dev, &b, &url, ca_name, sizeof(ca_name)))
		return false;
	snprintf(path, cap, "%s", b.path);
	device_client_id(cid, sizeof(cid), site, dev);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(b.f,
		"# facefleet device credentials for %s (site %s), written by fleetctl\n"
		"# (%s on %s, %s). A fleet-device config file: run\n"
		"#   fleet-device --config %s [--key=value ...] [IMAGE | DIR | -]\n"
		"# The password exists nowhere else (the broker keeps a salted hash): keep this\n"
		"# file mode 0600 and rotate with `fleetctl device rotate-credentials %s`.\n"
		"# Broker ACL: publish fleet/%s/%s/faces and fleet/%s/%s/status,\n"
		"# subscribe fleet/%s/%s/config; nothing else. The account logs in only\n"
		"# with the client id below.\n"
		"device_id = %s\nsite_id = %s\nmqtt_url = %s\nmqtt_username = dev.%s\n"
		"mqtt_password = %s\nmqtt_client_id = %s\n"
		"# The store-and-forward outbox (device/OUTBOX.md): a relative folder is beside\n"
		"# this file, created on start. On an installed device point it at persistent\n"
		"# storage the agent's user may write, e.g. /var/lib/facefleet/outbox.\n"
		"outbox_dir = %s.outbox\n",
		dev, site, ctx->actor, ctx->host, when, path, dev, site, dev, site, dev, site, dev, dev,
		site, url, dev, pw, cid, dev);
	if (ca_name[0])
		fprintf(b.f, "# the project CA that signs the broker's certificate (a copy beside this file)\n"
			     "tls_ca_file = %s\n", ca_name);
	if (!fc_bundle_close(&b)) {
		fc_fail(FF_EXIT_FAIL, "cannot write %s", path);
		return false;
	}
	return true;
}

/* The one line (or JSON object) a command that changed a device prints:
 * {"device","site","enabled","mqtt_user","client_id","bundle"}; bundle NULL:
 * none written. Returns the exit status. */
static int report_device(const fc_ctx *ctx, const char *dev, const char *site, const char *bundle,
			 bool enabled, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int report_device(const fc_ctx *ctx, const char *dev, const char *site, const char *bundle,
			 bool enabled, const char *fmt, ...)
{
	char user[48], cid[80], line[2048];
	cJSON *o = cJSON_CreateObject();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(user, sizeof(user), "dev.%s", dev);
	device_client_id(cid, sizeof(cid), site, dev);
	cJSON_AddStringToObject(o, "device", dev);
	cJSON_AddStringToObject(o, "site", site);
	cJSON_AddBoolToObject(o, "enabled", enabled);
	cJSON_AddStringToObject(o, "mqtt_user", user);
	cJSON_AddStringToObject(o, "client_id", cid);
	if (bundle)
		cJSON_AddStringToObject(o, "bundle", bundle);
	else
		cJSON_AddNullToObject(o, "bundle");
	return fc_report(ctx, o, "%s", line) ? FF_EXIT_OK : FF_EXIT_FAIL;
}

static int device_add(fc_ctx *ctx, int argc, char **argv)
{
	const char *site = ctx->cfg.site, *dev;
	char pw[64], path[1024], err[256] = "", user[48], cid[80];
	cJSON *cmds[2] = { NULL, NULL }, *dels[2] = { NULL, NULL }, *detail;
	ff_dynsec *ds = NULL;
	bool created = false, in_tx = false;
	int rc = FF_EXIT_FAIL, drc;

	if (!(dev = device_arg(ctx, argc, argv)) || !fc_need(site, "site"))
		return FF_EXIT_USAGE;
	if (!ff_id_valid(site))
		return fc_fail(FF_EXIT_USAGE, "site id '%s' must match [a-z0-9-]{1,32}", site);
	{
		char *one = (char *)site;
		if ((rc = fc_sites_known(ctx, &one, 1)) != FF_EXIT_OK)
			return rc;
		rc = FF_EXIT_FAIL;
	}
	if (!fc_random_password(pw, sizeof(pw)))
		return FF_EXIT_FAIL;
	{
		const char *p[3] = { dev, site, ctx->cfg.description ? ctx->cfg.description : "" };
		if (!fc_begin_insert(ctx, &in_tx, "INSERT INTO devices (device_id, site_id, description) "
						  "VALUES ($1, $2, $3) ON CONFLICT (device_id) DO NOTHING",
				     3, p, "that device (see fleetctl device list)"))
			goto out;
	}
	if (!(ds = fc_dynsec_open(ctx)))
		goto out;
	snprintf(user, sizeof(user), "dev.%s", dev);
	device_client_id(cid, sizeof(cid), site, dev);
	cmds[0] = device_role(site, dev);
	cmds[1] = ff_dynsec_create_client(user, pw, cid, ctx->cfg.description, user);
	dels[0] = ff_dynsec_command("deleteClient", "username", user);
	dels[1] = ff_dynsec_command("deleteRole", "rolename", user);
	drc = ff_dynsec_run(ds, cmds, 2, err, sizeof(err));
	if (drc == FF_ERR_STATE) {
		/* leftovers of an earlier attempt whose database row never landed */
		ff_dynsec_run(ds, dels, 2, err, sizeof(err));
		drc = ff_dynsec_run(ds, cmds, 2, err, sizeof(err));
	}
	if (drc != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "broker refused the account for %s: %s", dev, err);
		goto out;
	}
	created = true;
	if (!write_device_bundle(ctx, site, dev, pw, path, sizeof(path)))
		goto out;
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	cJSON_AddStringToObject(detail, "mqtt_user", user);
	cJSON_AddStringToObject(detail, "acl_role", user);
	if (!fc_audit_commit(ctx, "device.provision", dev, detail, &in_tx))
		goto out;
	rc = report_device(ctx, dev, site, path, true, "device %s provisioned at site %s: broker user dev.%s, "
				  "bundle %s (mode 0600)\n", dev, site, dev, path);
out:
	if (rc != FF_EXIT_OK && created)
		ff_dynsec_run(ds, dels, 2, err, sizeof(err));
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	ff_dynsec_close(ds);
	ff_dynsec_free(cmds, 2);
	ff_dynsec_free(dels, 2);
	memset(pw, 0, sizeof(pw));
	return rc;
}

/* The device of argv (see device_arg), looked up (site, enabled) and an
 * admin session open. FF_EXIT_OK or the exit status to return. */
static int device_open(fc_ctx *ctx, int argc, char **argv, const char **dev, char *site, size_t cap,
		       bool *enabled, ff_dynsec **ds)
{
	if (!(*dev = device_arg(ctx, argc, argv)))
		return FF_EXIT_USAGE;
	const char *p[1] = { *dev };
	PGresult *r = fc_sql(ctx, "SELECT site_id, enabled FROM devices WHERE device_id = $1", 1, p);
	if (!r)
		return FF_EXIT_FAIL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fc_fail(FF_EXIT_FAIL, "no device %s (see fleetctl device list)", *dev);
	}
	snprintf(site, cap, "%s", PQgetvalue(r, 0, 0));
	*enabled = PQgetvalue(r, 0, 1)[0] == 't';
	PQclear(r);
	return (*ds = fc_dynsec_open(ctx)) ? FF_EXIT_OK : FF_EXIT_FAIL;
}

static int device_revoke(fc_ctx *ctx, int argc, char **argv)
{
	const char *dev;
	char site[64], err[256] = "";
	bool enabled;
	ff_dynsec *ds;
	cJSON *detail;
	int rc, drc;

	if ((rc = device_open(ctx, argc, argv, &dev, site, sizeof(site), &enabled, &ds)) != FF_EXIT_OK)
		return rc;
	/* disableClient also disconnects every open session of the account */
	drc = ff_dynsec_disable_device(ds, dev, err, sizeof(err));
	ff_dynsec_close(ds);
	if (drc != FF_OK && drc != FF_ERR_NOTFOUND)
		return fc_fail(FF_EXIT_FAIL, "broker refused to disable dev.%s: %s", dev, err);
	{
		const char *p[1] = { dev };
		if (!fc_sql_ok(ctx, "UPDATE devices SET enabled = false WHERE device_id = $1", 1, p))
			return FF_EXIT_FAIL;
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	cJSON_AddBoolToObject(detail, "was_enabled", enabled);
	/* as the HTTP API's revoke records it (backend/http_devices.c) */
	cJSON_AddStringToObject(detail, "broker_account", drc == FF_OK ? "disabled" : "not_found");
	if (!fc_audit_json(ctx, "device.revoke", dev, detail))
		return FF_EXIT_FAIL;
	return report_device(ctx, dev, site, NULL, false, "device %s revoked: broker account disabled (open "
			     "sessions dropped), marked disabled\n", dev);
}

/* New random password (sessions made with the old one dropped), client id
 * (re)bound, receipt ACLs added to older roles, a new bundle. rotate keeps
 * the device's state; enable (a revoked device only) also enables the
 * account and the devices row, in one transaction with its audit row. */
static int new_credentials(fc_ctx *ctx, int argc, char **argv, bool enable)
{
	const char *dev;
	char site[64], pw[64], user[48], err[256] = "", path[1024], cid[80];
	bool enabled, in_tx = false;
	ff_dynsec *ds;
	cJSON *c[4], *detail;
	int rc;

	if ((rc = device_open(ctx, argc, argv, &dev, site, sizeof(site), &enabled, &ds)) != FF_EXIT_OK)
		return rc;
	rc = FF_EXIT_FAIL;
	if (enable && enabled) {
		ff_dynsec_close(ds);
		return fc_fail(FF_EXIT_FAIL, "device %s is not revoked (fleetctl device rotate-credentials %s "
					     "gives it new credentials)", dev, dev);
	}
	if (!fc_random_password(pw, sizeof(pw))) {
		ff_dynsec_close(ds);
		return FF_EXIT_FAIL;
	}
	if (enable) {
		const char *p[1] = { dev };
		if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
			goto out_ds;
		in_tx = true;
		if (!fc_sql_ok(ctx, "UPDATE devices SET enabled = true WHERE device_id = $1", 1, p))
			goto out_ds;
	}
	snprintf(user, sizeof(user), "dev.%s", dev);
	/* disable first: sessions that logged in with the old password are dropped */
	c[0] = ff_dynsec_command("disableClient", "username", user);
	c[1] = ff_dynsec_command("setClientPassword", "username", user);
	cJSON_AddStringToObject(c[1], "password", pw);
	/* (re)binds the client id too: accounts made before binding get it here */
	device_client_id(cid, sizeof(cid), site, dev);
	c[2] = ff_dynsec_command("setClientId", "username", user);
	cJSON_AddStringToObject(c[2], "clientid", cid);
	c[3] = ff_dynsec_command("enableClient", "username", user);
	{
		int drc = ff_dynsec_run(ds, c, enabled || enable ? 4 : 3, err, sizeof(err));
		if (drc == FF_OK)
			drc = add_receipt_acls(ds, site, dev, err, sizeof(err));
		ff_dynsec_free(c, 4);
		if (drc != FF_OK) {
			fc_fail(FF_EXIT_FAIL, "broker refused the new password for dev.%s: %s%s", dev, err,
				drc == FF_ERR_NOTFOUND && enable ? " (its account is gone: fleetctl device delete, "
								   "then add)" : "");
			goto out_ds;
		}
	}
	ff_dynsec_close(ds);
	ds = NULL;
	if (!write_device_bundle(ctx, site, dev, pw, path, sizeof(path)))
		goto out_ds;
	memset(pw, 0, sizeof(pw));
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	cJSON_AddBoolToObject(detail, "enabled", enabled || enable);
	if (!fc_audit_json(ctx, enable ? "device.enable" : "device.rotate_credentials", dev, detail))
		goto out_ds;
	if (in_tx) {
		if (!fc_sql_ok(ctx, "COMMIT", 0, NULL))
			goto out_ds;
		in_tx = false;
	}
	if (enable)
		rc = report_device(ctx, dev, site, path, true, "device %s enabled again: new password, bundle "
				   "%s (mode 0600)\n", dev, path);
	else
		rc = report_device(ctx, dev, site, path, enabled, "device %s: new password, bundle %s (mode 0600)%s\n",
				   dev, path, enabled ? "" : "; the device stays revoked");
out_ds:
	ff_dynsec_close(ds);
	memset(pw, 0, sizeof(pw));
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static int device_rotate(fc_ctx *ctx, int argc, char **argv)
{
	return new_credentials(ctx, argc, argv, false);
}

static int device_enable(fc_ctx *ctx, int argc, char **argv)
{
	return new_credentials(ctx, argc, argv, true);
}

/* A revoked device's account, role and row go; its events stay (they
 * reference device_ids, migration 008), its dedupe keys go with the account
 * so the id can be provisioned again from seq 1. */
static int device_delete(fc_ctx *ctx, int argc, char **argv)
{
	const char *dev;
	char site[64], user[48], err[256] = "", events[32] = "0";
	bool enabled, in_tx = false;
	ff_dynsec *ds;
	cJSON *c[2], *detail, *o;
	PGresult *r;
	int rc;

	if ((rc = device_open(ctx, argc, argv, &dev, site, sizeof(site), &enabled, &ds)) != FF_EXIT_OK)
		return rc;
	rc = FF_EXIT_FAIL;
	if (enabled) {
		rc = fc_fail(FF_EXIT_FAIL, "device %s is enabled: revoke it first (fleetctl device revoke %s)",
			     dev, dev);
		goto out;
	}
	{
		const char *p[1] = { dev };
		if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
			goto out;
		in_tx = true;
		if (!(r = fc_sql(ctx, "SELECT count(*) FROM recognition_events WHERE device_id = $1", 1, p)))
			goto out;
		snprintf(events, sizeof(events), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		if (!fc_sql_ok(ctx, "DELETE FROM recognition_event_keys WHERE device_id = $1", 1, p) ||
		    !(r = fc_sql(ctx, "DELETE FROM devices WHERE device_id = $1 AND NOT enabled", 1, p)))
			goto out;
		if (strcmp(PQcmdTuples(r), "1") != 0) { /* enabled meanwhile, or gone */
			PQclear(r);
			fc_fail(FF_EXIT_FAIL, "device %s changed meanwhile; nothing deleted", dev);
			goto out;
		}
		PQclear(r);
	}
	snprintf(user, sizeof(user), "dev.%s", dev);
	c[0] = ff_dynsec_command("deleteClient", "username", user);
	c[1] = ff_dynsec_command("deleteRole", "rolename", user);
	{
		int drc = ff_dynsec_run(ds, c, 2, err, sizeof(err));
		ff_dynsec_free(c, 2);
		if (drc != FF_OK && drc != FF_ERR_NOTFOUND) {
			fc_fail(FF_EXIT_FAIL, "broker refused to delete dev.%s: %s", dev, err);
			goto out;
		}
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "site", site);
	cJSON_AddStringToObject(detail, "mqtt_user", user);
	cJSON_AddRawToObject(detail, "events_kept", events); /* a count as PostgreSQL printed it */
	o = cJSON_Duplicate(detail, true); /* what is printed: the audit's detail and the device */
	cJSON_AddStringToObject(o, "device", dev);
	cJSON_AddBoolToObject(o, "deleted", true);
	if (!fc_audit_commit(ctx, "device.delete", dev, detail, &in_tx)) {
		cJSON_Delete(o);
		goto out;
	}
	rc = fc_report(ctx, o, "device %s deleted: broker account and role dev.%s removed, %s past event(s) "
			       "kept\n", dev, dev, events) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	ff_dynsec_close(ds);
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

/* The one way a device's replay mark goes down (a forged seq near 2^63 let
 * through before max_seq_jump, a device replaced): backends take the new
 * mark at their next device reload (NOTIFY on seq_generation). */
static int device_reset_seq(fc_ctx *ctx, int argc, char **argv)
{
	const char *dev;
	char to[32];
	PGresult *r;
	cJSON *detail;

	if (!(dev = device_arg(ctx, argc, argv)))
		return FF_EXIT_USAGE;
	if (ctx->cfg.seq < 0)
		return fc_fail(FF_EXIT_USAGE, "reset-seq needs --seq N (0 <= N < 2^63)");
	snprintf(to, sizeof(to), "%lld", (long long)ctx->cfg.seq);
	{
		const char *p[2] = { dev, to };
		r = fc_sql(ctx, "UPDATE devices d SET last_seq = $2::bigint, "
				"seq_generation = d.seq_generation + 1 "
				"FROM devices o WHERE o.device_id = d.device_id AND d.device_id = $1 "
				"RETURNING o.last_seq", 2, p);
	}
	if (!r)
		return FF_EXIT_FAIL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fc_fail(FF_EXIT_FAIL, "no device %s (see fleetctl device list)", dev);
	}
	detail = cJSON_CreateObject();
	cJSON_AddRawToObject(detail, "from", PQgetvalue(r, 0, 0)); /* bigints, all 64 bits */
	cJSON_AddRawToObject(detail, "to", to);
	{
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "device", dev);
		cJSON_AddRawToObject(o, "from", PQgetvalue(r, 0, 0));
		cJSON_AddRawToObject(o, "last_seq", to);
		PQclear(r);
		if (!fc_audit_json(ctx, "device.reset_seq", dev, detail)) {
			cJSON_Delete(o);
			return FF_EXIT_FAIL;
		}
		return fc_report(ctx, o, "device %s: replay mark %s (its next face needs seq > %s)\n", dev, to,
				 to) ? FF_EXIT_OK : FF_EXIT_FAIL;
	}
}

static int device_list(fc_ctx *ctx, int argc, char **argv)
{
	const char *p[1] = { ctx->cfg.site ? ctx->cfg.site : "" };
	(void)argc;
	(void)argv;
	return fc_print_query(ctx, "device.list", NULL,
		   "SELECT device_id AS device, site_id AS site, enabled, 'dev.' || device_id AS mqtt_user, "
		   "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
		   "       to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_seen, "
		   "       last_seq, round(threshold::numeric, 4) AS threshold, description "
		   "FROM devices WHERE ($1 = '' OR site_id = $1) ORDER BY site_id, device_id",
		   1, p);
}

static const fc_verb verbs[] = {
	{ "add", device_add, "add --site S --name D [--description TEXT] [--bundle-dir DIR | --out FILE]",
	  "create the device at registered site S (fleetctl site add), its broker account and ACL role, "
	  "and write its fleet-device config bundle" },
	{ "list", device_list, "list [--site S]", "devices with their state" },
	{ "threshold", fc_device_threshold, "threshold D VALUE|default",
	  "the device's own threshold (0..1], over its site's; default: its site's, else the global one" },
	{ "revoke", device_revoke, "revoke --name D",
	  "disable the broker account (open sessions are dropped at once) and the device" },
	{ "enable", device_enable, "enable --name D [--bundle-dir DIR | --out FILE]",
	  "a revoked device again: new random password, account and device enabled, new bundle" },
	{ "delete", device_delete, "delete --name D",
	  "a revoked device: its broker account, role and row go (and its replay keys: the id may be "
	  "added again); its events stay" },
	{ "rotate-credentials", device_rotate, "rotate-credentials --name D [--bundle-dir DIR | --out FILE]",
	  "new random password (old sessions dropped), new bundle" },
	{ "reset-seq", device_reset_seq, "reset-seq --name D --seq N",
	  "set the device's replay mark to N (backends accept seq > N again): after a forged or "
	  "lost sequence; audited" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_device(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "device", verbs, argc, argv);
}
