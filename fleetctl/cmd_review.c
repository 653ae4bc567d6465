/* fleetctl/cmd_review.c: human review and thresholds (issue 16).
 *
 *   events show ID [--image out.png]   one event in detail (times, latency,
 *       decision, top-k, device, site, track); --image writes the decoder's
 *       reconstruction of its stored codes (lib/review: marked as such, an
 *       event.view_face audit row). The show itself is an event.show row.
 *   site threshold SITE VALUE|default, device threshold DEVICE VALUE|default
 *       (migration 009): a device's override, else its site's, else the
 *       backend's global threshold (backend/THRESHOLD.md). */
#include "fleetctl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/event_store.h"
#include "facefleet/review.h"
#include "facefleet/uuid.h"

#ifndef FC_DEFAULT_VQ_DIR
#define FC_DEFAULT_VQ_DIR "models/vq"
#endif

/* The event's row: the API's EVENT columns (facefleet/event_store.h). */
static const char show_sql[] = FF_EVENT_SELECT "WHERE e.event_id = $1::uuid";

/* The object as "name: value" lines, the top-k as an indented list. */
static void print_event(const cJSON *o)
{
	const cJSON *e, *c;
	char buf[300];
	cJSON_ArrayForEach(e, o) {
		if (cJSON_IsArray(e))
			continue;
		if (cJSON_IsString(e))
			printf("%-14s %s\n", e->string, fc_safe(buf, sizeof(buf), e->valuestring));
		else if (cJSON_IsBool(e))
			printf("%-14s %s\n", e->string, cJSON_IsTrue(e) ? "yes" : "no");
		else if (cJSON_IsNull(e))
			printf("%-14s -\n", e->string);
		else
			printf("%-14s %g\n", e->string, e->valuedouble);
	}
	e = cJSON_GetObjectItem(o, "topk");
	printf("top-k:%s\n", cJSON_GetArraySize(e) ? "" : " none");
	cJSON_ArrayForEach(c, e)
		printf("  %-24s %.4f\n",
		       fc_safe(buf, sizeof(buf), cJSON_GetStringValue(cJSON_GetObjectItem(c, "identity"))),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(c, "score")));
}

/* Writes the event's reconstruction to path (ff_review writes its audit row). */
static int write_image(fc_ctx *ctx, const char *id, const char *path)
{
	char err[512] = "";
	unsigned char *png = NULL;
	size_t len = 0;
	ff_review *rv = NULL;
	FILE *f;
	int rc = ff_review_open(&rv, fc_vq_dir(ctx), err, sizeof(err));
	if (rc == FF_OK)
		rc = ff_review_event_png(rv, ctx->db, id, ctx->actor, &png, &len, err, sizeof(err));
	ff_review_close(rv);
	if (rc != FF_OK)
		return fc_fail(FF_EXIT_FAIL, "no image of event %s: %s (%s)", id, ff_strerror(rc), err);
	f = fopen(path, "wb");
	if (!f || fwrite(png, 1, len, f) != len) {
		rc = FF_ERR_IO;
	}
	if (f && fclose(f) != 0)
		rc = FF_ERR_IO;
	free(png);
	if (rc != FF_OK)
		return fc_fail(FF_EXIT_FAIL, "cannot write %s", path);
	fprintf(stderr, "fleetctl: %s: the decoder's reconstruction (not a photo), %zu bytes\n", path, len);
	return FF_EXIT_OK;
}

int fc_events_show(fc_ctx *ctx, int argc, char **argv)
{
	const char *id = argc > 1 ? argv[1] : "";
	PGresult *r;
	cJSON *o, *d;
	int rc;
	if (argc > 2)
		return fc_fail(FF_EXIT_USAGE, "unexpected argument '%s'", argv[2]);
	if (!fc_need(id, "event id"))
		return FF_EXIT_USAGE;
	if (!ff_uuid_valid(id))
		return fc_fail(FF_EXIT_USAGE, "'%.40s' is not an event id (a UUID, see events query)", id);
	if (!fc_db(ctx) || !(r = fc_sql(ctx, show_sql, 1, (const char *[]){ id })))
		return FF_EXIT_FAIL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fc_fail(FF_EXIT_FAIL, "no event %s (see fleetctl events query)", id);
	}
	o = ff_event_json(r, 0);
	PQclear(r);
	d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "image", ctx->cfg.image && *ctx->cfg.image);
	if (!o || !fc_audit_json(ctx, "event.show", id, d)) {
		cJSON_Delete(o);
		return FF_EXIT_FAIL;
	}
	if (fc_ctx_format(ctx) == FC_FMT_JSON) {
		if (!fc_json_line(o))
			return FF_EXIT_FAIL;
	} else {
		print_event(o);
		cJSON_Delete(o);
	}
	rc = FF_EXIT_OK;
	if (ctx->cfg.image && *ctx->cfg.image)
		rc = write_image(ctx, id, ctx->cfg.image);
	return rc;
}

/* ---- thresholds ---------------------------------------------------------------- */

/* VALUE in (0, 1], or "default" (NULL: the next level decides); false on
 * anything else (printed). */
static bool threshold_arg(const char *s, char *out, size_t cap, bool *dflt)
{
	char *end;
	double v;
	*dflt = strcmp(s, "default") == 0;
	if (*dflt)
		return true;
	v = strtod(s, &end);
	if (!*s || *end || !isfinite(v) || v <= 0 || v > 1) {
		fc_fail(FF_EXIT_USAGE, "threshold '%s': a cosine threshold in (0, 1], or default", s);
		return false;
	}
	snprintf(out, cap, "%.4f", v);
	return true;
}

/* One UPDATE of table's threshold for id, its audit row (action), one
 * report; the table's NOTIFY makes every backend reload. */
static int set_threshold(fc_ctx *ctx, const char *noun, const char *sql, const char *action,
			 int argc, char **argv)
{
	char val[32] = "";
	bool dflt, in_tx = false;
	PGresult *r;
	cJSON *d, *o;
	int rc = FF_EXIT_FAIL;
	if (argc != 3)
		return fc_fail(FF_EXIT_USAGE, "usage: fleetctl %s threshold %s VALUE|default", noun,
			       strcmp(noun, "site") == 0 ? "SITE" : "DEVICE");
	if (!ff_id_valid(argv[1]))
		return fc_fail(FF_EXIT_USAGE, "%s id '%s' must match [a-z0-9-]{1,32}", noun, argv[1]);
	if (!threshold_arg(argv[2], val, sizeof(val), &dflt))
		return FF_EXIT_USAGE;
	if (!fc_sql_ok(ctx, "BEGIN", 0, NULL))
		return FF_EXIT_FAIL;
	in_tx = true;
	if (!(r = fc_sql(ctx, sql, 2, (const char *[]){ argv[1], dflt ? NULL : val })))
		goto out;
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		PQclear(r);
		rc = fc_fail(FF_EXIT_FAIL, "no %s %s (see fleetctl %s list)", noun, argv[1], noun);
		goto out;
	}
	PQclear(r);
	d = cJSON_CreateObject();
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "threshold", dflt ? cJSON_CreateNull() : cJSON_CreateRaw(val));
	cJSON_AddStringToObject(o, noun, argv[1]);
	cJSON_AddItemToObject(o, "threshold", dflt ? cJSON_CreateNull() : cJSON_CreateRaw(val));
	if (!fc_audit_commit(ctx, action, argv[1], d, &in_tx)) {
		cJSON_Delete(o);
		goto out;
	}
	rc = fc_report(ctx, o, "%s %s: threshold %s\n", noun, argv[1],
		       dflt ? (strcmp(noun, "site") == 0 ? "default (the backend's global threshold)"
							 : "default (its site's, else the global one)")
			    : val) ? FF_EXIT_OK : FF_EXIT_FAIL;
out:
	if (in_tx && ctx->db)
		PQclear(PQexec(ctx->db, "ROLLBACK"));
	return rc;
}

int fc_site_threshold(fc_ctx *ctx, int argc, char **argv)
{
	return set_threshold(ctx, "site", "UPDATE sites SET threshold = $2::real WHERE site_id = $1",
			     "site.threshold", argc, argv);
}

int fc_device_threshold(fc_ctx *ctx, int argc, char **argv)
{
	return set_threshold(ctx, "device", "UPDATE devices SET threshold = $2::real WHERE device_id = $1",
			     "device.threshold", argc, argv);
}

const char *fc_vq_dir(const fc_ctx *ctx)
{
	return ctx->cfg.vq_dir && *ctx->cfg.vq_dir ? ctx->cfg.vq_dir : FC_DEFAULT_VQ_DIR;
}
