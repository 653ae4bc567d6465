/* fleetctl/cmd_token.c: token add | list | revoke.
 *
 * Bearer tokens of fleet-backend's HTTP API (table api_tokens, migration
 * 010; facefleet/api_token.h). add prints the token ("NAME.SECRET", the
 * secret 32 random bytes from getrandom) once: only its SHA-256 is stored,
 * so a lost token is revoked and replaced, never shown again. Every change
 * is an audit row. */
#include "fleetctl.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/api_token.h"
#include "facefleet/error.h"

/* NAME.SECRET into token, its SHA-256 as hex into hex (65 bytes). */
static bool new_token(const char *name, char *token, size_t cap, char hex[65])
{
	char secret[64];
	uint8_t h[FF_API_TOKEN_HASH_LEN];
	if (!fc_random_password(secret, sizeof(secret)))
		return false;
	snprintf(token, cap, "%s.%s", name, secret);
	memset(secret, 0, sizeof(secret));
	if (ff_api_token_hash(token, h) != FF_OK)
		return fc_fail(FF_EXIT_FAIL, "out of memory") == FF_EXIT_OK;
	for (int i = 0; i < FF_API_TOKEN_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return true;
}

static int token_add(fc_ctx *ctx, int argc, char **argv)
{
	const char *name, *role = ctx->cfg.role ? ctx->cfg.role : "";
	char arr[FC_SITES_ARRAY_MAX] = "", token[FF_API_TOKEN_MAX + 1], hex[65], what[96];
	bool in_tx = false, every = true;
	cJSON *detail, *o;
	int rc;

	if (!(name = fc_id_arg(ctx, argc, argv, "token name")))
		return FF_EXIT_USAGE;
	if (strcmp(role, "operator") != 0 && strcmp(role, "integrator") != 0)
		return fc_fail(FF_EXIT_USAGE, "--role operator|integrator is required");
	if (ctx->cfg.sites && *ctx->cfg.sites &&
	    (rc = fc_sites_arg(ctx, ctx->cfg.sites, false, arr, sizeof(arr), &every)) != FF_EXIT_OK)
		return rc;
	if (!new_token(name, token, sizeof(token), hex))
		return FF_EXIT_FAIL;
	rc = FF_EXIT_FAIL;
	snprintf(what, sizeof(what), "token %s (see fleetctl token list)", name);
	{
		const char *p[5] = { name, role, every ? NULL : arr, hex, ctx->actor };
		if (!fc_begin_insert(ctx, &in_tx, "INSERT INTO api_tokens (name, role, sites, token_sha256, "
						  "created_by) VALUES ($1, $2, $3::text[], decode($4, 'hex'), $5) "
						  "ON CONFLICT (name) DO NOTHING",
				     5, p, what))
			goto out;
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "role", role);
	cJSON_AddItemToObject(detail, "sites", every ? cJSON_CreateNull() : fc_sites_json(arr));
	if (!fc_audit_commit(ctx, "token.add", name, detail, &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "role", role);
	cJSON_AddItemToObject(o, "sites", every ? cJSON_CreateNull() : fc_sites_json(arr));
	cJSON_AddStringToObject(o, "token", token);
	rc = fc_report(ctx, o, "token %s (%s, %s) added; it is shown only now:\n%s\n", name, role,
		       every ? "every site" : arr, token) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	memset(token, 0, sizeof(token));
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static int token_list(fc_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fc_print_query(ctx, "token.list", NULL,
		   "SELECT name, role, coalesce(array_to_string(sites, ','), '*') AS sites, "
		   "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
		   "       created_by, "
		   "       to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked "
		   "FROM api_tokens ORDER BY name",
		   0, NULL);
}

static int token_revoke(fc_ctx *ctx, int argc, char **argv)
{
	const char *name;
	PGresult *r;
	bool in_tx = false;
	cJSON *o;
	int rc = FF_EXIT_FAIL;

	if (!(name = fc_id_arg(ctx, argc, argv, "token name")))
		return FF_EXIT_USAGE;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return FF_EXIT_FAIL;
	in_tx = true;
	{
		const char *p[1] = { name };
		if (!(r = fc_sql(ctx, "UPDATE api_tokens SET revoked_at = now() "
				      "WHERE name = $1 AND revoked_at IS NULL", 1, p)))
			goto out;
		bool done = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
		if (!done) {
			rc = fc_fail(FF_EXIT_FAIL, "no active token %s (see fleetctl token list)", name);
			goto out;
		}
	}
	if (!fc_audit_commit(ctx, "token.revoke", name, cJSON_CreateObject(), &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "revoked", true);
	rc = fc_report(ctx, o, "token %s revoked\n", name) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static const fc_verb verbs[] = {
	{ "add", token_add, "add NAME --role operator|integrator [--sites S1,S2]",
	  "a bearer token of the backend's HTTP API (printed once; only its SHA-256 is kept); "
	  "operator: everything, integrator: reading events; --sites limits it to those sites" },
	{ "list", token_list, "list", "tokens with their role, sites and whether revoked" },
	{ "revoke", token_revoke, "revoke NAME", "the token stops working at once (audited)" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_token(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "token", verbs, argc, argv);
}
