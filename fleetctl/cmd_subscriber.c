/* fleetctl/cmd_subscriber.c: subscriber add | list | revoke.
 *
 * An integrator is a broker account "sub.<name>" whose role "sub.<name>" may
 * subscribe to (and receive) fleet/<site>/+/access of its sites only and
 * publish nothing, bound to MQTT client id "sub.<name>" (the broker refuses
 * it under any other id), plus a mqtt_subscribers row. Its bundle is a fleetctl
 * config file: `fleetctl --config sub.<name>.conf events watch` logs in with
 * it. */
#include "fleetctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#define SUB_MAX_SITES FC_MAX_SITES

static const char *name_arg(fc_ctx *ctx, int argc, char **argv)
{
	return fc_id_arg(ctx, argc, argv, "subscriber name");
}

int fc_watch_account(fc_ctx *ctx, ff_dynsec *ds, const char *user, char **sites, int n,
		     const char *pw, bool create)
{
	char err[256] = "", text[64], topic[128];
	cJSON *c[2], *acls = NULL;
	bool ok;
	int rc;
	if (!create) {
		c[0] = ff_dynsec_command("deleteClient", "username", user);
		c[1] = ff_dynsec_command("deleteRole", "rolename", user);
		rc = ff_dynsec_run(ds, c, 2, err, sizeof(err));
		ff_dynsec_free(c, 2);
		return rc;
	}
	/* the role: subscribe to (and receive) fleet/<site>/+/access of the sites */
	snprintf(text, sizeof(text), "access events of %d site(s)", n);
	c[0] = ff_dynsec_command("createRole", "rolename", user);
	ok = cJSON_AddStringToObject(c[0], "textname", text) && (acls = cJSON_AddArrayToObject(c[0], "acls"));
	for (int i = 0; ok && i < n; i++) {
		ok = ff_mqtt_fleet_topic(topic, sizeof(topic), sites[i], NULL, "access") == FF_OK &&
		     ff_dynsec_acl(acls, "subscribePattern", topic) && ff_dynsec_acl(acls, "publishClientReceive", topic);
	}
	if (!ok)
		ff_dynsec_free(&c[0], 1);
	c[1] = ff_dynsec_create_client(user, pw, user, ctx->actor, user);
	rc = ff_dynsec_run(ds, c, 2, err, sizeof(err));
	ff_dynsec_free(c, 2);
	if (rc != FF_OK && rc != FF_ERR_STATE)
		fc_fail(FF_EXIT_FAIL, "broker refused the account %s: %s", user, err);
	return rc;
}

static int sub_add(fc_ctx *ctx, int argc, char **argv)
{
	const char *name;
	char *sites[SUB_MAX_SITES], *list = NULL, user[64], pw[64], path[1024], arr[FC_SITES_ARRAY_MAX];
	cJSON *detail;
	int n, rc = FF_EXIT_FAIL;
	ff_dynsec *ds = NULL;
	bool created = false, in_tx = false;
	fc_bundle b;

	if (!(name = name_arg(ctx, argc, argv)) || !fc_need(ctx->cfg.sites, "sites"))
		return FF_EXIT_USAGE;
	list = strdup(ctx->cfg.sites);
	if (!list)
		return FF_EXIT_FAIL;
	if ((n = fc_split_ids(list, sites, SUB_MAX_SITES)) < 1) {
		free(list);
		return fc_fail(FF_EXIT_USAGE, "--sites: comma-separated site ids [a-z0-9-]{1,32}, at most %d",
			       SUB_MAX_SITES);
	}
	/* registered sites only: a typo is refused, not a new site */
	if ((rc = fc_sites_known(ctx, sites, n)) != FF_EXIT_OK) {
		free(list);
		return rc;
	}
	rc = FF_EXIT_FAIL;
	fc_sites_literal(sites, n, arr, sizeof(arr)); /* fits: at most SUB_MAX_SITES ids */
	snprintf(user, sizeof(user), "sub.%s", name);
	if (!fc_random_password(pw, sizeof(pw)))
		goto out;
	{
		const char *p[3] = { name, arr, ctx->actor };
		if (!fc_begin_insert(ctx, &in_tx, "INSERT INTO mqtt_subscribers (name, sites, created_by) "
						  "VALUES ($1, $2::text[], $3) ON CONFLICT (name) DO NOTHING",
				     3, p, "that subscriber (see fleetctl subscriber list)"))
			goto out;
	}
	if (!(ds = fc_dynsec_open(ctx)))
		goto out;
	{
		int arc = fc_watch_account(ctx, ds, user, sites, n, pw, true);
		if (arc == FF_ERR_STATE) { /* leftovers of an attempt whose row never landed */
			fc_watch_account(ctx, ds, user, NULL, 0, NULL, false);
			arc = fc_watch_account(ctx, ds, user, sites, n, pw, true);
		}
		if (arc != FF_OK)
			goto out;
	}
	created = true;
	{
		const char *url;
		char ca_name[256];
		if (!fc_bundle_start(ctx, user, &b, &url, ca_name, sizeof(ca_name)))
			goto out;
		snprintf(path, sizeof(path), "%s", b.path);
		fprintf(b.f,
			"# facefleet integrator credentials for %s, written by fleetctl (%s on %s).\n"
			"# A fleetctl config file: `fleetctl --config %s events watch` prints the\n"
			"# AccessEvents of these sites live. The broker lets this account subscribe to\n"
			"# fleet/<site>/+/access of the sites below and nothing else; it cannot publish.\n"
			"# It logs in only with MQTT client id = watch_user (one session at a time).\n"
			"# The password exists nowhere else: keep this file mode 0600.\n"
			"mqtt_url = %s\nwatch_user = %s\nwatch_password = %s\nsites = %s\n",
			name, ctx->actor, ctx->host, path, url, user, pw, ctx->cfg.sites);
		if (ca_name[0])
			fprintf(b.f, "mqtt_ca_file = %s\n", ca_name);
		if (!fc_bundle_close(&b)) {
			fc_fail(FF_EXIT_FAIL, "cannot write %s", path);
			goto out;
		}
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "mqtt_user", user);
	cJSON_AddStringToObject(detail, "sites", arr);
	if (!fc_audit_commit(ctx, "subscriber.add", name, detail, &in_tx))
		goto out;
	{
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "subscriber", name);
		cJSON_AddStringToObject(o, "mqtt_user", user);
		cJSON_AddItemToObject(o, "sites", fc_sites_json(arr));
		cJSON_AddStringToObject(o, "bundle", path);
		rc = fc_report(ctx, o, "subscriber %s added: broker user %s may subscribe to "
				       "fleet/<site>/+/access of %s; bundle %s (mode 0600)\n",
			       name, user, ctx->cfg.sites, path) ? FF_EXIT_OK : FF_EXIT_FAIL;
	}
out:
	if (rc != FF_EXIT_OK && created)
		fc_watch_account(ctx, ds, user, NULL, 0, NULL, false);
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	ff_dynsec_close(ds);
	memset(pw, 0, sizeof(pw));
	free(list);
	return rc;
}

static int sub_revoke(fc_ctx *ctx, int argc, char **argv)
{
	const char *name;
	char user[64], err[256] = "";
	ff_dynsec *ds;
	cJSON *cmd;
	if (!(name = name_arg(ctx, argc, argv)))
		return FF_EXIT_USAGE;
	{
		const char *p[1] = { name };
		PGresult *r = fc_sql(ctx, "UPDATE mqtt_subscribers SET enabled = false WHERE name = $1", 1, p);
		if (!r)
			return FF_EXIT_FAIL;
		bool none = strcmp(PQcmdTuples(r), "0") == 0;
		PQclear(r);
		if (none)
			return fc_fail(FF_EXIT_FAIL, "no subscriber %s", name);
	}
	if (!(ds = fc_dynsec_open(ctx)))
		return FF_EXIT_FAIL;
	snprintf(user, sizeof(user), "sub.%s", name);
	cmd = ff_dynsec_command("disableClient", "username", user);
	int drc = ff_dynsec_run(ds, &cmd, 1, err, sizeof(err));
	ff_dynsec_free(&cmd, 1);
	ff_dynsec_close(ds);
	if (drc != FF_OK && drc != FF_ERR_NOTFOUND)
		return fc_fail(FF_EXIT_FAIL, "broker refused to disable sub.%s: %s", name, err);
	if (!fc_audit(ctx, "subscriber.revoke", name, NULL))
		return FF_EXIT_FAIL;
	cmd = cJSON_CreateObject();
	cJSON_AddStringToObject(cmd, "subscriber", name);
	cJSON_AddBoolToObject(cmd, "enabled", false);
	return fc_report(ctx, cmd, "subscriber %s revoked: broker account disabled (open sessions dropped)\n",
			 name) ? FF_EXIT_OK : FF_EXIT_FAIL;
}

static int sub_list(fc_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fc_print_query(ctx, "subscriber.list", NULL,
		   "SELECT name, 'sub.' || name AS mqtt_user, array_to_string(sites, ',') AS sites, enabled, "
		   "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
		   "       created_by FROM mqtt_subscribers ORDER BY name",
		   0, NULL);
}

static const fc_verb verbs[] = {
	{ "add", sub_add, "add --name N --sites S1,S2 [--bundle-dir DIR | --out FILE]",
	  "integrator credentials that may only subscribe to fleet/<site>/+/access of those "
	  "(registered) sites" },
	{ "list", sub_list, "list", "integrators and their sites" },
	{ "revoke", sub_revoke, "revoke --name N", "disable the account (open sessions dropped at once)" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_subscriber(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "subscriber", verbs, argc, argv);
}
