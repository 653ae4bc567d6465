/* fleetctl/cmd_audit.c: audit query (the append-only audit_log). */
#include "fleetctl.h"

#include <stdio.h>
#include <string.h>

static int audit_query(fc_ctx *ctx, int argc, char **argv)
{
	char since[64], until[64], limit[16], track[24];
	const fc_cfg *c = &ctx->cfg;
	int rc;
	if (argc > 1)
		return fc_fail(FF_EXIT_USAGE, "unexpected argument '%s'", argv[1]);
	fc_track_param(ctx, track);
	if ((rc = fc_query_window(ctx, since, until, sizeof(since), limit, sizeof(limit))) != FF_EXIT_OK)
		return rc;
	/* --device and --identity select rows about that subject (or naming it in
	 * detail, a track's identity too); --track the decisions of one face
	 * track (detail track_id, faces_fused, track_decision, track_changed) */
	const char *p[9] = { since, until, c->action, c->actor, c->device, c->identity, c->site, limit,
			     track };
	return fc_print_query(ctx, "audit.query", NULL,
		   "SELECT to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, "
		   "       a.actor, a.action, a.subject, a.source, a.detail "
		   "FROM audit_log a "
		   "WHERE ($1 = '' OR a.at >= NULLIF($1, '')::timestamptz) "
		   "  AND ($2 = '' OR a.at < NULLIF($2, '')::timestamptz) "
		   "  AND ($3 = '' OR starts_with(a.action, $3)) AND ($4 = '' OR starts_with(a.actor, $4)) "
		   "  AND ($5 = '' OR a.subject = $5 OR a.detail->>'device' = $5) "
		   "  AND ($6 = '' OR a.detail->>'identity' = $6 OR a.detail->>'track_identity' = $6 "
		   "       OR a.subject = 'identity:' || "
		   "       (SELECT identity_id::text FROM identities WHERE external_id = $6)) "
		   "  AND ($7 = '' OR a.detail->>'site' = $7) "
		   "  AND ($9 = '' OR a.detail->>'track_id' = $9) "
		   "ORDER BY a.at DESC, a.audit_id DESC LIMIT $8::int",
		   9, p);
}

static const fc_verb verbs[] = {
	{ "query", audit_query,
	  "query [--since T] [--until T] [--action PREFIX] [--actor PREFIX] [--device D] [--identity NAME] "
	  "[--site S] [--limit N] [--track ID]",
	  "audit rows, newest first: who (actor), what (action, subject), from where (source), details "
	  "(a face of a track: track_id, faces_fused, track_decision, track_changed); --track: one "
	  "track's" },
	{ NULL, NULL, NULL, NULL },
};

int fc_cmd_audit(fc_ctx *ctx, int argc, char **argv)
{
	return fc_dispatch(ctx, "audit", verbs, argc, argv);
}
