/* fleetctl: the operator's tool. main.c only parses settings and dispatches
 * `fleetctl NOUN VERB ...` through the command table below. */
#include "fleetctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

#ifndef FC_DEFAULT_MODELS_DIR
#define FC_DEFAULT_MODELS_DIR "models/cache/ffn"
#endif

#define F(k, t, m, d, lo, hi, h, fl) { k, t, offsetof(fc_cfg, m), d, lo, hi, h, fl }
/* What one invocation acts on (names, filters, counts) never comes from the
 * environment: only settings that describe where and as whom fleetctl runs. */
static const ff_config_field fields[] = {
	F("db_conninfo", FF_CFG_STRING, db_conninfo, "", 0, 0,
	  "libpq connection string (empty: $FF_PG_FLEETCTL_CONNINFO, else $FF_PG_CONNINFO)", FF_CFG_SECRET),
	F("migrate", FF_CFG_BOOL, migrate, "true", 0, 0, "apply pending schema migrations on connect", 0),
	F("migrations_dir", FF_CFG_PATH, migrations_dir, "", 0, 0,
	  "SQL migrations folder (empty: FF_MIGRATIONS_DIR or the source tree's)", 0),
	F("mqtt_url", FF_CFG_STRING, mqtt_url, "", 0, 0,
	  "broker URL for administration and watching (tcp:// or ssl://; empty: $FF_MQTT_URL)", 0),
	F("mqtt_admin_user", FF_CFG_STRING, mqtt_admin_user, "", 0, 0,
	  "dynamic-security admin user (empty: $FF_MQTT_ADMIN_USER)", 0),
	F("mqtt_admin_password", FF_CFG_STRING, mqtt_admin_password, "", 0, 0,
	  "its password (empty: $FF_MQTT_ADMIN_PASSWORD)", FF_CFG_SECRET),
	F("mqtt_ca_file", FF_CFG_PATH, mqtt_ca_file, "", 0, 0,
	  "CA certificate that signs the broker's (ssl:// urls; empty: $FF_MQTT_CA_FILE)", 0),
	F("device_mqtt_url", FF_CFG_STRING, device_mqtt_url, "", 0, 0,
	  "broker URL written into credential bundles (empty: mqtt_url)", 0),
	F("device_ca_file", FF_CFG_PATH, device_ca_file, "", 0, 0,
	  "CA certificate copied into bundles (empty: mqtt_ca_file)", 0),
	F("bundle_dir", FF_CFG_PATH, bundle_dir, ".", 0, 0,
	  "folder where add/rotate write credential bundles (<id>.conf, mode 0600)", 0),
	F("out", FF_CFG_PATH, out, "", 0, 0, "explicit bundle file (overrides bundle_dir)", FF_CFG_NOENV),
	F("operator", FF_CFG_STRING, operator_name, "", 0, 64,
	  "who runs this, for the audit log (empty: the OS user)", 0),
	F("format", FF_CFG_STRING, format, "table", 0, 0, "output: table, json (JSON lines) or csv", 0),
	F("models_dir", FF_CFG_PATH, models_dir, "", 0, 0,
	  "folder of pnet/rnet/onet/mobilefacenet.ffn (empty: $FF_MODELS_DIR/ffn, else the build's)", 0),
	F("vq_dir", FF_CFG_PATH, vq_dir, "", 0, 0,
	  "folder of the VQ decoders (<id>.dec.ffn) for events show --image (empty: the backend's default)", 0),
	F("image", FF_CFG_PATH, image, "", 0, 0,
	  "events show: write the event's reconstruction (PNG, marked as one) here", FF_CFG_NOENV),
	F("embed_model_id", FF_CFG_STRING, embed_model_id, "mobilefacenet-v1", 1, 64,
	  "face_templates.model_id written at enrolment (the backend's embed_model_id)", 0),
	F("site", FF_CFG_STRING, site, "", 0, 32, "site id", FF_CFG_NOENV),
	F("sites", FF_CFG_STRING, sites, "", 0, 0, "comma-separated site ids", FF_CFG_NOENV),
	F("name", FF_CFG_STRING, name, "", 0, 128, "device, integrator or identity name", FF_CFG_NOENV),
	F("role", FF_CFG_STRING, role, "", 0, 16, "token add: operator or integrator", FF_CFG_NOENV),
	F("device", FF_CFG_STRING, device, "", 0, 32, "filter: device id", FF_CFG_NOENV),
	F("identity", FF_CFG_STRING, identity, "", 0, 128, "filter: identity name", FF_CFG_NOENV),
	F("decision", FF_CFG_STRING, decision, "", 0, 16,
	  "filter: granted, unknown, rejected or invalid", FF_CFG_NOENV),
	F("track", FF_CFG_INT64, track, "0", 0, 9.2e18,
	  "filter: a face track (its first face's seq, unique per device: with --device); 0 = any", FF_CFG_NOENV),
	F("action", FF_CFG_STRING, action, "", 0, 64, "filter: audit action (prefix, e.g. device.)", FF_CFG_NOENV),
	F("actor", FF_CFG_STRING, actor, "", 0, 128, "filter: audit actor (prefix)", FF_CFG_NOENV),
	F("since", FF_CFG_STRING, since, "", 0, 64, "filter: from this time (ISO 8601, or 2h, 30m, 7d ago)", FF_CFG_NOENV),
	F("until", FF_CFG_STRING, until, "", 0, 64, "filter: up to this time (same forms)", FF_CFG_NOENV),
	F("limit", FF_CFG_INT, limit, "100", 1, 1000000, "most rows shown (newest first)", FF_CFG_NOENV),
	F("description", FF_CFG_STRING, description, "", 0, 200, "free text stored with a device", FF_CFG_NOENV),
	F("watch_user", FF_CFG_STRING, watch_user, "", 0, 0,
	  "events watch: integrator user (empty: a temporary one made with the admin account)", 0),
	F("watch_password", FF_CFG_STRING, watch_password, "", 0, 0, "its password", FF_CFG_SECRET),
	F("seq", FF_CFG_INT64, seq, "-1", -1, 9223372036854775807LL,
	  "device reset-seq: the device's new high-water mark (its next face needs seq > this)", FF_CFG_NOENV),
	F("count", FF_CFG_INT, count, "0", 0, 1000000, "events watch: exit after this many events (0: never)", FF_CFG_NOENV),
	F("timeout_s", FF_CFG_INT, timeout_s, "0", 0, 86400 * 365,
	  "events watch: exit after this many seconds (0: never)", FF_CFG_NOENV),
	F("jpeg_face_bytes", FF_CFG_INT, jpeg_face_bytes, "0", 0, 1 << 30,
	  "stats: bytes a JPEG face would take instead (0: not shown)", FF_CFG_NOENV),
	F("log_level", FF_CFG_STRING, log_level, "warn", 1, 16, "debug, info, warn, error", 0),
	FF_CONFIG_END
};

bool fc_help_requested;

static const struct {
	const char *noun;
	fc_cmd_fn fn;
	const char *help;
} commands[] = {
	{ "site", fc_cmd_site, "the site registry (devices, integrators, identities name only these): add, list, remove, threshold" },
	{ "device", fc_cmd_device,
	  "provision devices: add, list, revoke, enable, delete, rotate-credentials, reset-seq, threshold" },
	{ "backend", fc_cmd_backend, "backend instances' broker accounts, bound to their client ids: add" },
	{ "subscriber", fc_cmd_subscriber, "integrators that receive access events: add, list, revoke" },
	{ "identity", fc_cmd_identity, "enrol people: enroll, set-sites, list, delete" },
	{ "events", fc_cmd_events, "recognition events: query, show (one, with its reconstruction), watch (live)" },
	{ "audit", fc_cmd_audit, "the audit log: query" },
	{ "stats", fc_cmd_stats, "faces per device, decisions, bytes per face, rejected messages" },
	{ "token", fc_cmd_token, "bearer tokens of the backend's HTTP API: add, list, revoke" },
	{ "backup", fc_cmd_backup, "backup DIR [PATH...]: the database (pg_dump, as its owner) and the named files" },
	{ "restore", fc_cmd_restore, "restore DIR: a backup into an empty database, the files back in place" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fleetctl [--config FILE] [--key=value ...] NOUN VERB [args]\n"
		"Provisioning (broker dynamic security + database), enrolment and queries of a\n"
		"facefleet installation. Every action is audit-logged (actor fleetctl:<operator>,\n"
		"source cli:<host>). Settings: defaults < --config FILE (or $FLEETCTL_CONFIG) <\n"
		"command line; empty broker/database settings fall back to the FF_* variables of\n"
		"deploy/stack's stack.env. Exit: 0 ok, 1 runtime failure, 2 usage error.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-11s %s\n", commands[i].noun, commands[i].help);
	fprintf(out, "\n`fleetctl NOUN --help` lists a command's verbs.\n\noptions:\n"
		     "  --config FILE  settings file (key = value lines)\n"
		     "  --help         this text\n"
		     "  --version      the version\n"
		     "Secrets (db_conninfo, mqtt_admin_password, watch_password) need not be on the\n"
		     "command line: --KEY_file=PATH (or KEY_file = PATH in the config file) reads one\n"
		     "from a file, and $FF_<KEY> (e.g. $FF_MQTT_ADMIN_PASSWORD) from the environment.\n");
	ff_config_help(fields, out);
}

int fc_fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("fleetctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

bool fc_need(const char *value, const char *option)
{
	if (value && *value)
		return true;
	fc_fail(FF_EXIT_USAGE, "--%s is required (see --help)", option);
	return false;
}

const char *fc_id_arg(const fc_ctx *ctx, int argc, char **argv, const char *what)
{
	const char *s = ctx->cfg.name && *ctx->cfg.name ? ctx->cfg.name : (argc > 1 ? argv[1] : "");
	if (!fc_need(s, "name"))
		return NULL;
	if (!ff_id_valid(s)) {
		fc_fail(FF_EXIT_USAGE, "%s '%s' must match [a-z0-9-]{1,32}", what, s);
		return NULL;
	}
	return s;
}

fc_format fc_ctx_format(const fc_ctx *ctx)
{
	fc_format f = FC_FMT_TABLE;
	fc_format_parse(ctx->cfg.format, &f);
	return f;
}

bool fc_verb_reads_only(const char *verb)
{
	static const char *const readers[] = { "list", "query", "watch", "show" };
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (strcmp(verb, readers[i]) == 0)
			return true;
	return false;
}

int fc_dispatch(fc_ctx *ctx, const char *noun, const fc_verb *verbs, int argc, char **argv)
{
	const fc_verb *v = NULL;
	if (argc >= 1) {
		for (const fc_verb *x = verbs; x->name; x++)
			if (strcmp(x->name, argv[0]) == 0)
				v = x;
	}
	if (v && !fc_help_requested) {
		ctx->read_only = fc_verb_reads_only(v->name);
		return v->fn(ctx, argc, argv);
	}
	if (argc >= 1 && !v && !fc_help_requested)
		fc_fail(FF_EXIT_USAGE, "%s: unknown verb '%s'", noun, argv[0]);
	FILE *out = fc_help_requested ? stdout : stderr;
	fprintf(out, "usage: fleetctl [options] %s VERB ...\n\n", noun);
	for (const fc_verb *x = verbs; x->name; x++) {
		if (v && v != x)
			continue;
		fprintf(out, "  fleetctl %s %s\n      %s\n", noun, x->usage, x->help);
	}
	fprintf(out, "\nCommon options: --config FILE, --format table|json|csv, --operator NAME;\n"
		     "`fleetctl --help` lists every option.\n");
	return fc_help_requested ? FF_EXIT_OK : FF_EXIT_USAGE;
}

/* Empty settings take the private stack's environment (stack.env). */
static int env_default(fc_ctx *ctx, const char *key, const char *env, char *err, size_t errlen)
{
	const char *v = getenv(env);
	char **slot = NULL;
	for (const ff_config_field *f = fields; f->key; f++)
		if (strcmp(f->key, key) == 0)
			slot = (char **)((char *)&ctx->cfg + f->offset);
	if (!slot || (*slot && **slot) || !v || !*v)
		return FF_OK;
	return ff_config_set(fields, &ctx->cfg, key, v, env, err, errlen);
}

int main(int argc, char **argv)
{
	fc_ctx ctx;
	ff_config_args args;
	char err[512] = "";
	int rc = FF_EXIT_USAGE;
	ff_log_level lvl;
	const char *cfgfile = getenv("FLEETCTL_CONFIG");
	bool has_config = false;
	char **av = NULL;
	int ac = 0;

	memset(&ctx, 0, sizeof(ctx));
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0)
			has_config = true;
	/* $FLEETCTL_CONFIG is the default --config (the command line still wins) */
	av = calloc((size_t)argc + 3, sizeof(char *));
	if (!av) {
		rc = fc_fail(FF_EXIT_FAIL, "out of memory");
		goto out;
	}
	av[ac++] = argv[0];
	if (!has_config && cfgfile && *cfgfile) {
		av[ac++] = "--config";
		av[ac++] = (char *)cfgfile;
	}
	for (int i = 1; i < argc; i++)
		av[ac++] = argv[i];
	if (ff_config_parse_args(fields, &ctx.cfg, ac, av, &args, err, sizeof(err)) != FF_OK) {
		fc_fail(FF_EXIT_USAGE, "%s", err);
		goto out;
	}
	if (args.version) {
		ff_config_version(stdout, "fleetctl");
		rc = FF_EXIT_OK;
		goto out;
	}
	fc_help_requested = args.help;
	if (args.npositional == 0) {
		usage(args.help ? stdout : stderr);
		rc = args.help ? FF_EXIT_OK : FF_EXIT_USAGE;
		goto out;
	}
	if (ff_log_level_parse(ctx.cfg.log_level, &lvl) == FF_OK)
		ff_log_set_level(lvl);
	/* the least-privilege role first (deploy/stack's), the owner's otherwise */
	if (env_default(&ctx, "db_conninfo", "FF_PG_FLEETCTL_CONNINFO", err, sizeof(err)) != FF_OK ||
	    env_default(&ctx, "db_conninfo", "FF_PG_CONNINFO", err, sizeof(err)) != FF_OK ||
	    env_default(&ctx, "mqtt_url", "FF_MQTT_URL", err, sizeof(err)) != FF_OK ||
	    env_default(&ctx, "mqtt_admin_user", "FF_MQTT_ADMIN_USER", err, sizeof(err)) != FF_OK ||
	    env_default(&ctx, "mqtt_admin_password", "FF_MQTT_ADMIN_PASSWORD", err, sizeof(err)) != FF_OK ||
	    env_default(&ctx, "mqtt_ca_file", "FF_MQTT_CA_FILE", err, sizeof(err)) != FF_OK) {
		fc_fail(FF_EXIT_USAGE, "%s", err);
		goto out;
	}
	{
		fc_format f;
		if (!fc_format_parse(ctx.cfg.format, &f)) {
			fc_fail(FF_EXIT_USAGE, "--format must be table, json or csv, not '%s'", ctx.cfg.format);
			goto out;
		}
	}
	if (gethostname(ctx.host, sizeof(ctx.host) - 1) != 0)
		snprintf(ctx.host, sizeof(ctx.host), "unknown");
	{
		const char *op = ctx.cfg.operator_name;
		struct passwd *pw = NULL;
		if (!op || !*op) {
			pw = getpwuid(geteuid());
			op = pw ? pw->pw_name : getenv("USER");
		}
		snprintf(ctx.actor, sizeof(ctx.actor), "fleetctl:%s", op && *op ? op : "unknown");
	}
	rc = FF_EXIT_USAGE;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].noun, args.positional[0]) == 0) {
			rc = commands[i].fn(&ctx, args.npositional - 1, args.positional + 1);
			goto out;
		}
	fc_fail(FF_EXIT_USAGE, "unknown command '%s' (see --help)", args.positional[0]);
out:
	if (ctx.db)
		PQfinish(ctx.db);
	ff_config_free(fields, &ctx.cfg);
	free(av);
	return rc;
}
