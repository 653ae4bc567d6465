/* fleetctl/cmd_backend.c: backend add.
 *
 * A backend instance has two broker connections (the inbound session and
 * the publisher of AccessEvents and receipts), and a dynamic-security
 * client binds one client id, so an instance gets two accounts with the
 * service role ff-backend (broker-config/dynsec-seed), one password:
 * "backend.<name>" bound to client id "fleet-backend-<name>" and
 * "backend.<name>-pub" bound to "fleet-backend-<name>-pub". No other
 * account can log in under those ids, and these cannot log in under any
 * other (broker-config/ACL.md). Its bundle is a fleet-backend settings file
 * with the broker part; the database part (pg_conninfo of the
 * facefleet_backend role) is the database administrator's to add. */
#include "fleetctl.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"

#define ROLE "ff-backend"

static int backend_add(fc_ctx *ctx, int argc, char **argv)
{
	const char *name = fc_id_arg(ctx, argc, argv, "backend name");
	char pw[64], user[64], cid[96], text[160], err[256] = "", ca_name[256];
	cJSON *cmds[2] = { NULL, NULL }, *detail;
	const char *url;
	ff_dynsec *ds = NULL;
	fc_bundle b;
	int rc = FF_EXIT_FAIL, drc;

	if (!name)
		return FF_EXIT_USAGE;
	if (!fc_random_password(pw, sizeof(pw)))
		return FF_EXIT_FAIL;
	snprintf(text, sizeof(text), "fleet-backend %s", name);
	for (int i = 0; i < 2; i++) {
		snprintf(user, sizeof(user), "backend.%s%s", name, i ? "-pub" : "");
		snprintf(cid, sizeof(cid), "fleet-backend-%s%s", name, i ? "-pub" : "");
		cmds[i] = ff_dynsec_create_client(user, pw, cid, text, ROLE);
	}
	if (!(ds = fc_dynsec_open(ctx)))
		goto out;
	drc = ff_dynsec_run(ds, cmds, 2, err, sizeof(err));
	if (drc != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "broker refused the accounts of backend %s: %s", name, err);
		goto out;
	}
	snprintf(user, sizeof(user), "backend.%s", name);
	snprintf(cid, sizeof(cid), "fleet-backend-%s", name);
	if (!fc_bundle_start(ctx, user, &b, &url, ca_name, sizeof(ca_name)))
		goto out;
	fprintf(b.f,
		"# fleet-backend settings for instance %s, written by fleetctl (%s on %s).\n"
		"# Its broker accounts are bound to these client ids; add pg_conninfo (the\n"
		"# facefleet_backend role, docs/DATABASE.md). Keep this file mode 0600.\n"
		"instance = %s\nmqtt_url = %s\nmqtt_user = %s\nmqtt_pub_user = %s-pub\n"
		"mqtt_password = %s\nmqtt_client_id = %s\n",
		name, ctx->actor, ctx->host, name, url, user, user, pw, cid);
	if (ca_name[0])
		fprintf(b.f, "mqtt_ca_file = %s\n", ca_name);
	if (!fc_bundle_close(&b)) {
		fc_fail(FF_EXIT_FAIL, "cannot write %s", b.path);
		goto out;
	}
	detail = cJSON_CreateObject();
	snprintf(text, sizeof(text), "%s,%s-pub", user, user);
	cJSON_AddStringToObject(detail, "mqtt_users", text);
	cJSON_AddStringToObject(detail, "client_id", cid);
	if (!fc_audit_json(ctx, "backend.add", name, detail))
		goto out;
	{
		cJSON *o = cJSON_CreateObject(), *u = cJSON_AddArrayToObject(o, "mqtt_users"), *ids;
		char pub[112];
		cJSON_AddStringToObject(o, "backend", name);
		snprintf(pub, sizeof(pub), "%s-pub", user);
		cJSON_AddItemToArray(u, cJSON_CreateString(user));
		cJSON_AddItemToArray(u, cJSON_CreateString(pub));
		ids = cJSON_AddArrayToObject(o, "client_ids");
		snprintf(pub, sizeof(pub), "%s-pub", cid);
		cJSON_AddItemToArray(ids, cJSON_CreateString(cid));
		cJSON_AddItemToArray(ids, cJSON_CreateString(pub));
		cJSON_AddStringToObject(o, "role", ROLE);
		cJSON_AddStringToObject(o, "bundle", b.path);
		rc = fc_report(ctx, o, "backend %s added: broker users %s and %s-pub (role " ROLE "), bound to "
				       "client ids %s and %s-pub; bundle %s (mode 0600)\n",
			       name, user, user, cid, cid, b.path) ? FF_EXIT_OK : FF_EXIT_FAIL;
	}
out:
	ff_dynsec_close(ds);
	memset(pw, 0, sizeof(pw));
	ff_dynsec_free(cmds, 2);
	return rc;
}

static const fc_verb verbs[] = {
	{ "add", backend_add, "add --name N [--bundle-dir DIR | --out FILE]",
	  "two broker accounts for backend instance N (inbound session, publisher), each bound to "
	  "its client id, and its fleet-backend settings bundle" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_backend(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "backend", verbs, argc, argv);
}
