/* fleetctl/cmd_identity.c: identity enroll | list | delete.
 *
 * Enrolment runs the same code as the backend and fleet-eval: MTCNN
 * detection (the face nearest the image centre), 5-point alignment to
 * 112x112, MobileFaceNet; one face_templates row per image under the
 * backend's embed_model_id. The table's NOTIFY trigger (ff_gallery) makes
 * running backends reload their gallery. An identity's sites (where it may
 * be granted; none: every site) change only when asked: enroll --sites on a
 * new or existing identity, or set-sites; enrolling more images of an
 * existing identity keeps its scope. Deleting erases the templates and
 * pseudonymises the identity ("erased-<id>") in its past events and in the
 * audit details that named it (ff_audit_scrub_identity, migration 008). */
#include "fleetctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/enrol.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "facefleet/identity_store.h"
#include "facefleet/store.h"

#define EMB_MAX FF_ENROL_DIM_MAX

/* The enroller on the fetched models (models_dir, else $FF_MODELS_DIR/ffn). */
static int enroller_open(fc_ctx *ctx, ff_enroller **e)
{
	char dir[1024], err[512] = "";
	int rc;
	const char *env = getenv("FF_MODELS_DIR");
	if (ctx->cfg.models_dir && *ctx->cfg.models_dir)
		snprintf(dir, sizeof(dir), "%s", ctx->cfg.models_dir);
	else if (env && *env)
		snprintf(dir, sizeof(dir), "%s/ffn", env);
	else
		snprintf(dir, sizeof(dir), "%s", FC_DEFAULT_MODELS_DIR);
	if ((rc = ff_enroller_open(e, dir, err, sizeof(err))) != FF_OK)
		return fc_fail(FF_EXIT_FAIL, "%s", err);
	return FF_EXIT_OK;
}

/* Embeds the central face of one image into the real[] text out. Returns an
 * ff_err; FF_ERR_NOTFOUND when no face was found (reason in why). */
static int embed_file(ff_enroller *e, const char *file, char *out, size_t cap, char *why, size_t wlen)
{
	ff_image img = FF_IMAGE_EMPTY;
	float v[EMB_MAX];
	int rc;
	if ((rc = ff_image_load(file, NULL, &img, why, wlen)) == FF_OK &&
	    (rc = ff_enroller_embed(e, &img, v, EMB_MAX, why, wlen)) == FF_OK)
		rc = ff_store_vector_format(v, ff_enroller_dim(e), out, cap);
	ff_image_free(&img);
	return rc;
}

/* --sites of enroll / set-sites: "*" is every site (stored as {}), else
 * registered site ids. FF_EXIT_OK with the literal in arr. */
static int sites_option(fc_ctx *ctx, char *arr, size_t cap)
{
	bool every;
	return fc_sites_arg(ctx, ctx->cfg.sites, true, arr, cap, &every);
}

/* "every site" or the list of a stored "{a,b}" */
static const char *sites_text(const char *arr, char *buf, size_t cap)
{
	size_t l = strlen(arr);
	if (l <= 2)
		return "every site";
	snprintf(buf, cap, "%.*s", (int)(l - 2), arr + 1);
	return buf;
}

static int identity_enroll(fc_ctx *ctx, int argc, char **argv)
{
	const char *name = ctx->cfg.name;
	ff_enroller *e = NULL;
	char id[32] = "", arr[FC_SITES_ARRAY_MAX] = "{}", stored_sites[FC_SITES_ARRAY_MAX] = "{}",
	     *vec = NULL, why[256], qn[300], shown[FC_SITES_ARRAY_MAX];
	cJSON *detail, *o;
	int rc = FF_EXIT_FAIL, stored = 0, skipped = 0;
	bool in_tx = false, sites_given = ctx->cfg.sites && *ctx->cfg.sites, created = false;

	if (!fc_need(name, "name"))
		return FF_EXIT_USAGE;
	if (strlen(name) > 128 || strncmp(name, "erased-", 7) == 0)
		return fc_fail(FF_EXIT_USAGE, "--name: 1..128 characters, not starting with 'erased-'");
	if (argc < 2)
		return fc_fail(FF_EXIT_USAGE, "identity enroll: give one or more IMAGE files");
	if (sites_given && (rc = sites_option(ctx, arr, sizeof(arr))) != FF_EXIT_OK)
		return rc;
	if ((rc = enroller_open(ctx, &e)) != FF_EXIT_OK)
		goto out;
	rc = FF_EXIT_FAIL;
	if (!(vec = malloc(EMB_MAX * 20)) || !fc_sql_ok(ctx, "BEGIN", 0, NULL))
		goto out;
	in_tx = true;
	{
		/* a new identity gets --sites (none: every site); an existing one keeps
		 * its scope unless --sites was given */
		ff_identity_row row;
		char err[512] = "";
		if (ff_identity_upsert(ctx->db, name, NULL, arr, sites_given, &row, err, sizeof(err)) != FF_OK) {
			fc_fail(FF_EXIT_FAIL, "%s", err);
			goto out;
		}
		snprintf(id, sizeof(id), "%s", row.id);
		snprintf(stored_sites, sizeof(stored_sites), "%s", row.sites);
		created = row.created;
	}
	for (int i = 1; i < argc; i++) {
		int erc = embed_file(e, argv[i], vec, EMB_MAX * 20, why, sizeof(why));
		if (erc != FF_OK) {
			fprintf(stderr, "fleetctl: %s: skipped: %s\n", argv[i], why);
			skipped++;
			continue;
		}
		const char *base = strrchr(argv[i], '/');
		char err[512] = "";
		if (ff_identity_add_template(ctx->db, id, ctx->cfg.embed_model_id, vec,
					     base ? base + 1 : argv[i], err, sizeof(err)) != FF_OK) {
			fc_fail(FF_EXIT_FAIL, "%s", err);
			goto out;
		}
		stored++;
	}
	if (stored == 0) {
		fc_fail(FF_EXIT_FAIL, "no face found in any image: nothing enrolled for %s", name);
		goto out;
	}
	/* the subject is the row id, not the name: deleting an identity leaves no name behind */
	snprintf(qn, sizeof(qn), "identity:%s", id);
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "templates", stored);
	cJSON_AddNumberToObject(detail, "skipped", skipped);
	cJSON_AddStringToObject(detail, "model", ctx->cfg.embed_model_id);
	cJSON_AddStringToObject(detail, "sites", stored_sites);
	cJSON_AddBoolToObject(detail, "sites_changed", sites_given || created);
	if (!fc_audit_commit(ctx, "identity.enroll", qn, detail, &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "identity", name);
	cJSON_AddRawToObject(o, "identity_id", id);
	cJSON_AddBoolToObject(o, "created", created);
	cJSON_AddNumberToObject(o, "templates", stored);
	cJSON_AddNumberToObject(o, "skipped", skipped);
	cJSON_AddStringToObject(o, "model", ctx->cfg.embed_model_id);
	cJSON_AddItemToObject(o, "sites", fc_sites_json(stored_sites)); /* []: every site */
	cJSON_AddBoolToObject(o, "sites_changed", sites_given || created);
	rc = fc_report(ctx, o, "identity %s enrolled: %d template(s) (%s), %d image(s) skipped; sites: %s%s\n",
		       name, stored, ctx->cfg.embed_model_id, skipped,
		       sites_text(stored_sites, shown, sizeof(shown)),
		       sites_given || created ? "" : " (kept; --sites or identity set-sites changes them)") ?
		     FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	ff_enroller_free(e);
	free(vec);
	return rc;
}

/* The identity row r of name (its id in column 0, copied to id): false,
 * printed and r cleared, when the query failed or found no such identity. */
static bool identity_row(PGresult *r, const char *name, char *id, size_t cap)
{
	if (!r)
		return false;
	if (PQntuples(r) != 1) {
		PQclear(r);
		fc_fail(FF_EXIT_FAIL, "no identity '%s' (see fleetctl identity list)", name);
		return false;
	}
	snprintf(id, cap, "%s", PQgetvalue(r, 0, 0));
	return true;
}

/* The one explicit way to change where an identity may be granted. */
static int identity_set_sites(fc_ctx *ctx, int argc, char **argv)
{
	const char *name = ctx->cfg.name && *ctx->cfg.name ? ctx->cfg.name : (argc > 1 ? argv[1] : "");
	char arr[FC_SITES_ARRAY_MAX], from[FC_SITES_ARRAY_MAX], id[32], subject[48], shown[FC_SITES_ARRAY_MAX];
	cJSON *detail, *o;
	PGresult *r;
	bool in_tx = false;
	int rc;

	if (!fc_need(name, "name") || !fc_need(ctx->cfg.sites, "sites"))
		return FF_EXIT_USAGE;
	if ((rc = sites_option(ctx, arr, sizeof(arr))) != FF_EXIT_OK)
		return rc;
	rc = FF_EXIT_FAIL;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return FF_EXIT_FAIL;
	in_tx = true;
	{
		const char *p[2] = { name, arr };
		r = fc_sql(ctx, "UPDATE identities n SET allowed_sites = $2::text[] FROM identities o "
				"WHERE o.identity_id = n.identity_id AND n.external_id = $1 "
				"  AND n.external_id NOT LIKE 'erased-%' "
				"RETURNING n.identity_id, o.allowed_sites::text",
			   2, p);
	}
	if (!identity_row(r, name, id, sizeof(id)))
		goto out;
	snprintf(from, sizeof(from), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(subject, sizeof(subject), "identity:%s", id);
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "from", from);
	cJSON_AddStringToObject(detail, "sites", arr);
	if (!fc_audit_commit(ctx, "identity.set_sites", subject, detail, &in_tx))
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "identity", name);
	cJSON_AddRawToObject(o, "identity_id", id);
	cJSON_AddItemToObject(o, "sites", fc_sites_json(arr));
	cJSON_AddItemToObject(o, "previous_sites", fc_sites_json(from));
	rc = fc_report(ctx, o, "identity %s: sites %s\n", name, sites_text(arr, shown, sizeof(shown))) ?
		     FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static int identity_list(fc_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fc_print_query(ctx, "identity.list", NULL,
		   "SELECT i.external_id AS name, i.enabled, array_to_string(i.allowed_sites, ',') AS sites, "
		   "       count(t.template_id) AS templates, "
		   "       to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created "
		   "FROM identities i LEFT JOIN face_templates t USING (identity_id) "
		   "GROUP BY i.identity_id ORDER BY i.external_id",
		   0, NULL);
}

static int identity_delete(fc_ctx *ctx, int argc, char **argv)
{
	const char *name = ctx->cfg.name && *ctx->cfg.name ? ctx->cfg.name : (argc > 1 ? argv[1] : "");
	char subject[48], err[512] = "";
	ff_erasure x;
	cJSON *detail, *o;
	bool in_tx = false;
	int rc = FF_EXIT_FAIL, erc;

	if (!fc_need(name, "name"))
		return FF_EXIT_USAGE;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return FF_EXIT_FAIL;
	in_tx = true;
	if ((erc = ff_identity_erase(ctx->db, name, &x, err, sizeof(err))) != FF_OK) {
		if (erc == FF_ERR_NOTFOUND)
			fc_fail(FF_EXIT_FAIL, "no identity '%s' (see fleetctl identity list)", name);
		else
			fc_fail(FF_EXIT_FAIL, "%s", err);
		goto out;
	}
	snprintf(subject, sizeof(subject), "identity:%s", x.id);
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "pseudonym", x.pseudonym);
	cJSON_AddRawToObject(detail, "templates_deleted", x.templates); /* counts as PostgreSQL printed them */
	cJSON_AddRawToObject(detail, "events_pseudonymised", x.events);
	cJSON_AddRawToObject(detail, "audit_rows_scrubbed", x.audit_rows);
	o = cJSON_Duplicate(detail, true); /* what is printed: the audit's detail and the row id */
	cJSON_AddRawToObject(o, "identity_id", x.id);
	if (!fc_audit_commit(ctx, "identity.delete", subject, detail, &in_tx)) {
		cJSON_Delete(o);
		goto out;
	}
	rc = fc_report(ctx, o, "identity deleted: %s template(s) erased, %s past event(s) and %s audit row(s) "
			       "now show %s\n", x.templates, x.events, x.audit_rows, x.pseudonym) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

static const fc_verb verbs[] = {
	{ "enroll", identity_enroll, "enroll --name NAME [--sites S1,S2 | --sites '*'] IMAGE...",
	  "detect, align and embed each image (as the backend does) and store the templates; a new "
	  "identity may be granted at --sites (registered; none or '*': every site), an existing one "
	  "keeps its sites unless --sites is given" },
	{ "set-sites", identity_set_sites, "set-sites NAME --sites S1,S2 | --sites '*'",
	  "where the identity may be granted: these registered sites, or '*' every site (audited)" },
	{ "list", identity_list, "list", "enrolled identities and their template counts" },
	{ "delete", identity_delete, "delete NAME",
	  "erase the templates and pseudonymise the identity in past events and in the audit details "
	  "that named it (audit-logged: who erased, the pseudonymous id)" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_identity(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "identity", verbs, argc, argv);
}
