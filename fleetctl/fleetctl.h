/* fleetctl/fleetctl.h: what the fleetctl command files share.
 *
 * One settings struct (fc_cfg) filled by the table-driven parser
 * (facefleet/config.h) from defaults < config file < command line; every
 * command reads the fields it needs. One context (fc_ctx) per run holds the
 * settings, the operator identity for the audit log and the lazily opened
 * database connection.
 *
 * Files by concern:
 *   main.c            command table, option parsing, --help, exit codes
 *   db.c              PostgreSQL: connect + migrate, parameterised queries, audit rows
 *   dynsec.c          the broker admin account for facefleet/dynsec.h (dynamic-security client)
 *   output.c          PGresult -> table | json (JSON lines, cJSON) | csv; JSON lines and audit details
 *   creds.c           random passwords, credential bundles (mode 0600), id checks, times
 *   cmd_site.c        site add | list | remove (the registry every site must be in)
 *   cmd_device.c      device add | list | revoke | enable | delete | rotate-credentials | reset-seq
 *   cmd_subscriber.c  subscriber add | list | revoke
 *   cmd_identity.c    identity enroll | set-sites | list | delete
 *   cmd_events.c      events query | watch
 *   cmd_audit.c       audit query
 *   cmd_stats.c       stats
 *   cmd_token.c       token add | list | revoke (the backend HTTP API's bearer tokens)
 *   cmd_review.c      events show (an event, its reconstruction), site/device threshold
 * Exit status of every command: 0 ok, 1 runtime failure, 2 usage error. */
#ifndef FLEETCTL_H
#define FLEETCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "facefleet/ids.h" /* ff_id_valid: sites, devices, integrator names */

#include "facefleet/config.h"
#include "facefleet/dynsec.h" /* ff_dynsec: the broker admin session */

#include "facefleet/exit.h" /* FF_EXIT_OK, FF_EXIT_FAIL, FF_EXIT_USAGE */

typedef struct fc_cfg {
	/* database */
	char *db_conninfo;
	bool migrate;
	char *migrations_dir;
	/* broker administration (dynamic security) */
	char *mqtt_url;
	char *mqtt_admin_user;
	char *mqtt_admin_password;
	char *mqtt_ca_file;
	/* what goes into credential bundles */
	char *device_mqtt_url;
	char *device_ca_file;
	char *bundle_dir;
	char *out;
	/* who */
	char *operator_name;
	char *format;
	/* enrolment */
	char *models_dir;
	char *embed_model_id;
	/* review (cmd_review.c) */
	char *vq_dir;
	char *image;
	/* command options */
	char *site;
	char *sites;
	char *role;            /* token add: operator | integrator */
	char *name;
	char *device;
	char *identity;
	char *decision;
	int64_t track;         /* filter: a face track (FaceCodes track_id), 0 = any */
	char *action;
	char *actor;
	char *since;
	char *until;
	int limit;
	char *description;
	/* events watch */
	char *watch_user;
	char *watch_password;
	int64_t seq;
	int count;
	int timeout_s;
	/* stats */
	int jpeg_face_bytes;
	char *log_level;
} fc_cfg;

typedef struct fc_ctx {
	fc_cfg cfg;
	char host[256];     /* this machine's name: audit "source" = cli:<host> */
	char actor[300];    /* audit actor: fleetctl:<operator> */
	PGconn *db;         /* NULL until fc_db() */
	bool read_only;     /* a query verb: connecting never migrates the schema */
} fc_ctx;

/* A subcommand: argv[0] is the verb ("add"), positional arguments follow. */
typedef int (*fc_cmd_fn)(fc_ctx *ctx, int argc, char **argv);
typedef struct fc_verb {
	const char *name;
	fc_cmd_fn fn;
	const char *usage; /* "add --site S --name D" */
	const char *help;  /* one line */
} fc_verb;

/* Runs the verb of a noun (`device add`) from table verbs (NULL-terminated):
 * argv[0] is the verb. Prints the noun's help for --help / no verb / an
 * unknown verb (exit 0 or 2). Returns the exit status. */
int fc_dispatch(fc_ctx *ctx, const char *noun, const fc_verb *verbs, int argc, char **argv);
/* True for the verbs that only read ("list", "query", "watch", "show"; their
 * audit row aside): they never apply a migration as a side effect. */
bool fc_verb_reads_only(const char *verb);

/* Prints "fleetctl: <message>" to stderr and returns status (1 or 2). */
int fc_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails with FF_EXIT_USAGE when *value is empty: "--<option> is required". */
bool fc_need(const char *value, const char *option);
/* The id a verb acts on: --name, else the first positional argument. NULL
 * (exit 2, message printed naming it `what`, e.g. "device id") when it is
 * missing or not [a-z0-9-]{1,32}. */
const char *fc_id_arg(const fc_ctx *ctx, int argc, char **argv, const char *what);
/* True when help was asked for (the parser saw --help). */
extern bool fc_help_requested;

/* ---- db.c ------------------------------------------------------------------ */
/* The database connection (connects and migrates on first use). NULL when
 * db_conninfo is empty or the connection fails (message printed). */
PGconn *fc_db(fc_ctx *ctx);
/* Runs one parameterised statement (extended protocol: the text never holds
 * values). Returns the result when its status is COMMAND_OK or TUPLES_OK,
 * else prints PostgreSQL's message and returns NULL. */
PGresult *fc_sql(fc_ctx *ctx, const char *sql, int n, const char *const *params);
/* fc_sql for statements without rows; true on success. */
bool fc_sql_ok(fc_ctx *ctx, const char *sql, int n, const char *const *params);
/* Appends an audit row (actor fleetctl:<operator>, source cli:<host>);
 * detail is a JSON object text (NULL: {}). True on success. */
bool fc_audit(fc_ctx *ctx, const char *action, const char *subject, const char *detail);

/* Opens a transaction (*in_tx = true once it is) and runs an
 * INSERT ... ON CONFLICT DO NOTHING; false (message printed, "<what> already
 * exists" when no row was inserted) on failure. */
bool fc_begin_insert(fc_ctx *ctx, bool *in_tx, const char *sql, int n, const char *const *params,
		     const char *what);
/* ---- sites (the registry, migration 008) ---------------------------------- */
#define FC_MAX_SITES 64
#define FC_SITES_ARRAY_MAX (FC_MAX_SITES * 34 + 4)
/* FF_EXIT_OK when each of the n site ids is registered (table sites), else
 * FF_EXIT_USAGE ("unknown site 'x'", one line each) or FF_EXIT_FAIL. */
int fc_sites_known(fc_ctx *ctx, char **sites, int n);
/* A --sites list: ids checked and registered, as a text[] literal "{a,b}"
 * in arr. star: "*" is accepted and means every site (arr "{}", *every
 * true). Returns the exit status (printed unless FF_EXIT_OK). */
int fc_sites_arg(fc_ctx *ctx, const char *list, bool star, char *arr, size_t cap, bool *every);
/* "{a,b}" from n ids (no quoting: ids are [a-z0-9-]). False when cap is short. */
bool fc_sites_literal(char **sites, int n, char *arr, size_t cap);
/* The ids of a "{a,b}" literal as a cJSON array (empty: every site). */
struct cJSON *fc_sites_json(const char *arr);

/* Runs a query, prints its rows in the run's --format and audit-logs action
 * (detail: JSON object or NULL). Returns the exit status. */
int fc_print_query(fc_ctx *ctx, const char *action, const char *detail, const char *sql, int n,
		   const char *const *params);

/* ---- output.c ---------------------------------------------------------------- */
typedef enum fc_format { FC_FMT_TABLE, FC_FMT_JSON, FC_FMT_CSV } fc_format;
/* Parses table|json|csv. Returns false on anything else. */
bool fc_format_parse(const char *s, fc_format *out);
/* Prints every row of r: aligned columns with a header (table), one JSON
 * object per row (json; numbers, booleans and jsonb columns unquoted), or
 * RFC 4180 CSV with a header. NULL values: empty / null. */
void fc_print_result(const PGresult *r, fc_format fmt);
/* JSON documents are cJSON objects (<cjson/cJSON.h>); these consume o.
 * fc_json_take: o as one line of JSON text (free with cJSON_free), NULL
 * when out of memory (o NULL: NULL). fc_json_line: that text on stdout
 * with a newline; false when out of memory. fc_audit_json: fc_audit with
 * the detail object (false, printed, when out of memory). */
struct cJSON;
char *fc_json_take(struct cJSON *o);
bool fc_json_line(struct cJSON *o);
bool fc_audit_json(fc_ctx *ctx, const char *action, const char *subject, struct cJSON *detail);
/* The end of a command's transaction: its audit row (fc_audit_json, detail
 * consumed), then COMMIT; *in_tx false once committed. False on failure
 * (printed; the caller rolls back). */
bool fc_audit_commit(fc_ctx *ctx, const char *action, const char *subject, struct cJSON *detail, bool *in_tx);
/* What a command that changed something prints: with --format json the
 * object o as one line (one JSON object per output), otherwise the text of
 * fmt (o freed). Consumes o (NULL: out of memory). False (printed) when out
 * of memory. */
bool fc_report(const fc_ctx *ctx, struct cJSON *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds key: v with that many decimals ("%.*f", as fleetctl always printed
 * it), null when v is not finite. False when out of memory. */
bool fc_json_add_fixed(struct cJSON *o, const char *key, double v, int decimals);
/* s (NULL: "") as it may be shown on a terminal or in CSV: control
 * characters and escapes as \xNN (ff_sanitize). Returns buf. */
const char *fc_safe(char *buf, size_t cap, const char *s);

/* ---- creds.c ------------------------------------------------------------------ */
/* 32 random bytes (ff_random_bytes), base64url without padding (43 chars +
 * NUL: cap >= 44). Returns false when there are no random bytes (after
 * fc_fail: "no random bytes: ...") or cap is too small. */
bool fc_random_password(char *out, size_t cap);
/* Turns --since/--until text into an ISO 8601 UTC time: a duration back from
 * now ("90s", "30m", "2h", "7d", "1w") or an ISO date/time passed through
 * (checked for shape only). Empty input gives "". Returns false if neither. */
bool fc_time_arg(const char *in, char *out, size_t cap);
/* Opens path for writing with mode 0600 (replacing it atomically on close
 * via fc_bundle_close). Returns NULL on failure (errno set). */
typedef struct fc_bundle {
	FILE *f;
	char path[1024];
	char tmp[1100];
} fc_bundle;
bool fc_bundle_open(fc_bundle *b, const char *path);
bool fc_bundle_close(fc_bundle *b);
/* The bundle path: cfg->out when set, else <bundle_dir>/<name>.conf. */
void fc_bundle_path(const fc_ctx *ctx, const char *name, char *out, size_t cap);
/* Starts a credential bundle for name: the broker URL it names (*url:
 * device_mqtt_url, else mqtt_url), a copy of the CA beside it when that URL
 * is TLS (its file name in ca_name, else ""), and b opened (mode 0600).
 * False on failure (printed). */
bool fc_bundle_start(const fc_ctx *ctx, const char *name, fc_bundle *b, const char **url, char *ca_name,
		     size_t cap);
/* Copies the CA file src beside the bundle as <bundle without .conf>.ca.crt;
 * writes that path to out. Returns false on failure. */
bool fc_copy_ca(const char *src, const char *bundle_path, char *out, size_t cap);
/* True for ssl:// and mqtts:// broker URLs. */
bool fc_url_tls(const char *url);
/* Splits a comma list into at most max items (in place, buf is modified);
 * returns the count, or -1 when an item is not a valid id. */
int fc_split_ids(char *buf, char **items, int max);

/* ---- dynsec.c ------------------------------------------------------------------- */
/* The dynamic-security client is facefleet/dynsec.h (ff_dynsec_*); this is
 * where fleetctl's admin settings come from. */
struct ff_mqtt_options; /* facefleet/mqtt.h */
/* The admin account's connection settings into o (url, a client id of this
 * process written to cid, user, password, CA for ssl:// urls, 5 s connect
 * timeout). False when mqtt_url or mqtt_admin_user is not configured. */
bool fc_admin_mqtt_options(const fc_ctx *ctx, struct ff_mqtt_options *o, char *cid, size_t cap);
/* Connects to the broker as the dynamic-security admin (cfg mqtt_url,
 * mqtt_admin_user/password, mqtt_ca_file) and subscribes to the response
 * topic. NULL on failure (message printed). Close with ff_dynsec_close. */
ff_dynsec *fc_dynsec_open(fc_ctx *ctx);

/* Creates (create true: role with subscribe + receive ACLs on
 * fleet/<site>/+/access of the n sites, a NULL site meaning every site:
 * fleet/+/+/access; then the client with password pw) or
 * deletes (create false) the integrator-style account `user` (also its
 * role of the same name). Returns an ff_err (FF_ERR_STATE: already exists). */
int fc_watch_account(fc_ctx *ctx, ff_dynsec *ds, const char *user, char **sites, int n,
		     const char *pw, bool create);

/* ---- commands ------------------------------------------------------------------- */
int fc_cmd_site(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_device(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_backend(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_subscriber(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_identity(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_events(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_audit(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_stats(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_token(fc_ctx *ctx, int argc, char **argv);
/* cmd_review.c: events show, site threshold, device threshold (the verbs of
 * cmd_events.c, cmd_site.c and cmd_device.c); the VQ decoders' folder:
 * --vq-dir, else the build's (the backend's default). */
int fc_events_show(fc_ctx *ctx, int argc, char **argv);
int fc_site_threshold(fc_ctx *ctx, int argc, char **argv);
int fc_device_threshold(fc_ctx *ctx, int argc, char **argv);
const char *fc_vq_dir(const fc_ctx *ctx);
/* cmd_backup.c: backup DIR [PATH...], restore DIR (pg_dump/pg_restore as the schema owner) */
int fc_cmd_backup(fc_ctx *ctx, int argc, char **argv);
int fc_cmd_restore(fc_ctx *ctx, int argc, char **argv);

/* Shared by events/audit queries: fills the ISO times from --since/--until
 * and checks --limit. Returns FF_EXIT_OK or FF_EXIT_USAGE (printed). */
int fc_query_window(fc_ctx *ctx, char *since, char *until, size_t cap, char *limit, size_t lcap);
/* --track as a query parameter: the id, or "" for any (cmd_events.c). */
void fc_track_param(const fc_ctx *ctx, char out[24]);
/* The --format of this run (validated in main). */
fc_format fc_ctx_format(const fc_ctx *ctx);

#endif
