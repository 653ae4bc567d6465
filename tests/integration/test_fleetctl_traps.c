/* fleetctl_traps: the CLI traps of issue 16 section 1, closed, against the
 * real broker and database (fleetctl as its runtime role):
 *  - sites: a registry (site add/list/remove); an unknown site is refused by
 *    device add, subscriber add --sites, identity enroll --sites and
 *    identity set-sites, nothing made; a site in use cannot be removed;
 *    migration 008 registers the sites an existing database already uses;
 *  - erasure: identity delete scrubs the name from the backend's audit
 *    details (the rows stay, with the pseudonym), through the one SECURITY
 *    DEFINER function; audit_log stays closed to direct UPDATEs;
 *  - devices: a revoked device is enabled again with new credentials or
 *    deleted (account, role, row and replay keys gone; events kept; the id
 *    can be added again); bundles carry a working outbox folder, and an
 *    unusable one stops fleet-device naming outbox_dir;
 *  - secrets from a file or the environment (fleetctl, fleet-device);
 *  - --format json: add, enroll and stats print exactly one JSON object;
 *  - enroll without --sites keeps an existing identity's sites; set-sites
 *    changes them (needs the fetched models; last, skipped without them). */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/store.h"
#include "ff_test.h"
#include "test_fleetctl_common.h"

static PGconn *owner; /* the schema owner: what the backend and older writers would do */

static int suite_init(void)
{
	owner = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	return PQstatus(owner) == CONNECTION_OK ? 0 : 1;
}

static int suite_clean(void)
{
	PQfinish(owner);
	owner = NULL;
	return 0;
}

/* Runs sql with n text parameters (at most 4); the result, or NULL. */
static PGresult *q_run(PGconn *db, const char *sql, int n, va_list ap)
{
	const char *p[4];
	for (int i = 0; i < n && i < 4; i++)
		p[i] = va_arg(ap, const char *);
	return PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
}

/* One value of a one-row query as a long (-1 on error, printed). */
static long q_long(PGconn *db, const char *sql, int n, ...)
{
	va_list ap;
	long v = -1;
	va_start(ap, n);
	PGresult *r = q_run(db, sql, n, ap);
	va_end(ap);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atol(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

/* True when the statement ran (a refusal is printed: some are expected). */
static bool q_ok(PGconn *db, const char *sql, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	PGresult *r = q_run(db, sql, n, ap);
	va_end(ap);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "(expected or not) %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* The last run's standard output as exactly one JSON object (else NULL,
 * printed). fct_run merges stderr in: log lines and "fleetctl: ..." notes
 * there are not output; every line that starts as JSON is. */
static cJSON *one_json(void)
{
	const char *out = fct_output(), *line = NULL;
	int n = 0;
	cJSON *o = NULL;
	for (const char *p = out; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		if (*p == '{' || *p == '[' || *p == '"') {
			line = p;
			n++;
		}
	}
	if (n == 1) {
		const char *end = NULL;
		o = cJSON_ParseWithOpts(line, &end, 0);
		if (o && (!cJSON_IsObject(o) || !end || (*end && *end != '\n'))) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	if (!o)
		fprintf(stderr, "not exactly one JSON object (%d JSON lines): %s\n", n, out);
	return o;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* An event of dev at seq, as the backend would write it. */
static bool add_event(const char *dev, const char *site, const char *seq)
{
	return q_ok(owner, "INSERT INTO recognition_events (device_id, site_id, seq, capture_time, decision, "
			   "model_id) VALUES ($1, $2, $3::bigint, now(), 'unknown', 'test')",
		    3, dev, site, seq);
}

static void test_site_registry(void)
{
	char site[40], other[40], dev[40], sub[40], name[64];
	fct_id(site, sizeof(site), "tr-s");
	fct_id(other, sizeof(other), "tr-o");
	fct_id(dev, sizeof(dev), "tr-d");
	fct_id(sub, sizeof(sub), "tr-i");
	snprintf(name, sizeof(name), "Trap_Person_%ld", (long)getpid());

	/* nothing names an unregistered site; nothing is made */
	CU_ASSERT_EQUAL(fct_run("device add --site %s --name %s", site, dev), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "unknown site"));
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM devices WHERE device_id = $1", 1, dev), 0);
	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s --sites %s /dev/null", name, site), 2);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1", 1, name), 0);

	CU_ASSERT_EQUAL(fct_run("site add %s --description 'trap test' --format json", site), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_PTR_NOT_NULL(o);
		CU_ASSERT_STRING_EQUAL(jstr(o, "site"), site);
		cJSON_Delete(o);
	}
	CU_ASSERT_EQUAL(fct_run("site add %s", site), 1); /* once */
	CU_ASSERT_EQUAL(fct_run("site add NOT_AN_ID"), 2);
	CU_ASSERT_EQUAL(fct_run("site add %s", other), 0);
	CU_ASSERT_EQUAL(fct_run("site list --format csv"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "trap test"));

	/* a typo in a list refuses the whole command: no row, no broker account */
	CU_ASSERT_EQUAL(fct_run("subscriber add --name %s --sites %s,%s-typo", sub, site, site), 2);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM mqtt_subscribers WHERE name = $1", 1, sub), 0);
	{
		char path[512];
		snprintf(path, sizeof(path), "%s/sub.%s.conf", fct_dir(), sub);
		CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	}
	/* --format json: one object per add */
	CU_ASSERT_EQUAL_FATAL(fct_run("subscriber add --name %s --sites %s,%s --format json", sub, site, other), 0);
	{
		cJSON *o = one_json(), *s = cJSON_GetObjectItemCaseSensitive(o, "sites");
		char user[48];
		snprintf(user, sizeof(user), "sub.%s", sub);
		CU_ASSERT_STRING_EQUAL(jstr(o, "mqtt_user"), user);
		CU_ASSERT_EQUAL(cJSON_GetArraySize(s), 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "bundle"), sub));
		cJSON_Delete(o);
	}
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s --format json", site, dev), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_STRING_EQUAL(jstr(o, "device"), dev);
		CU_ASSERT_STRING_EQUAL(jstr(o, "site"), site);
		CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "bundle"), dev));
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled")));
		cJSON_Delete(o);
	}
	{
		char be[40];
		fct_id(be, sizeof(be), "tr-be");
		CU_ASSERT_EQUAL(fct_run("backend add --name %s --format json", be), 0);
		cJSON *o = one_json();
		CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "mqtt_users")), 2);
		cJSON_Delete(o);
	}
	/* a site in use stays; one nothing uses goes (the audit keeps both) */
	CU_ASSERT_EQUAL(fct_run("site remove %s", site), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "in use"));
	CU_ASSERT_EQUAL(fct_run("site remove %s-none", site), 1);
	CU_ASSERT_EQUAL(fct_run("subscriber revoke %s", sub), 0); /* revoked still names its sites */
	CU_ASSERT_EQUAL(fct_run("site remove %s", other), 1);
	{
		char s3[48];
		snprintf(s3, sizeof(s3), "%s-x", other);
		CU_ASSERT_EQUAL(fct_run("site add %s", s3), 0);
		CU_ASSERT_EQUAL(fct_run("site remove %s", s3), 0);
		CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM sites WHERE site_id = $1", 1, s3), 0);
		CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE subject = $1 "
					      "AND action IN ('site.add', 'site.remove')", 1, s3), 2);
	}
}

/* Migration 008 on a database that already has devices, identities and
 * integrators registers every site they use. */
static void test_migration_registers_sites(void)
{
	char dbname[64], sql[256], dir[] = "/tmp/ff-mig8-XXXXXX", cmd[1200], err[512] = "";
	PGconn *admin = owner, *db = NULL; /* the owner creates scratch databases (as backend_migrations) */
	PGresult *r;
	snprintf(dbname, sizeof(dbname), "ff_test_mig8_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	CU_ASSERT_TRUE(q_ok(admin, sql, 0));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	CU_ASSERT_TRUE_FATAL(q_ok(admin, sql, 0));
	{
		/* expand_dbname: the first dbname is the conninfo, the second overrides it */
		const char *keys[] = { "dbname", "dbname", NULL };
		const char *vals[] = { ff_test_env_need("FF_PG_CONNINFO"), dbname, NULL };
		db = PQconnectdbParams(keys, vals, 1);
	}
	CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
	/* the schema as it was before 008 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s'/lib/store/migrations/00[1-7]_*.sql '%s'/",
		 ff_test_env_need("FF_SOURCE_DIR"), dir);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(ff_store_migrate(db, dir, NULL, err, sizeof(err)), FF_OK);
	CU_ASSERT_TRUE(q_ok(db, "INSERT INTO devices (device_id, site_id) VALUES ('d1', 'old-hq'), ('d2', 'old-hq')", 0));
	CU_ASSERT_TRUE(q_ok(db, "INSERT INTO identities (external_id, allowed_sites) VALUES "
				"('a', '{old-lab}'), ('b', '{}')", 0));
	CU_ASSERT_TRUE(q_ok(db, "INSERT INTO mqtt_subscribers (name, sites) VALUES ('i', '{old-hq,old-annex}')", 0));
	CU_ASSERT_TRUE(q_ok(db, "INSERT INTO recognition_events (device_id, site_id, seq, capture_time, "
				"decision, model_id) VALUES ('d1', 'old-hq', 1, now(), 'unknown', 't')", 0));
	/* then everything, 008 included */
	CU_ASSERT_EQUAL(ff_store_migrate(db, NULL, NULL, err, sizeof(err)), FF_OK);
	r = PQexec(db, "SELECT string_agg(site_id, ',' ORDER BY site_id) FROM sites");
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "old-annex,old-hq,old-lab");
	PQclear(r);
	/* the event's device is in the new registry; unknown devices are still refused */
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM device_ids", 0), 2);
	CU_ASSERT_FALSE(q_ok(db, "INSERT INTO recognition_events (device_id, site_id, seq, capture_time, "
				 "decision, model_id) VALUES ('nobody', 'old-hq', 1, now(), 'unknown', 't')", 0));
	PQfinish(db);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	CU_ASSERT_TRUE(q_ok(admin, sql, 0));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Erasure scrubs the name out of audit details, keeping the rows. */
static void test_erasure_scrubs_audit(void)
{
	char name[64], other[64], id[32], pseudo[48], subj[48], detail[512];
	long before;
	snprintf(name, sizeof(name), "Scrub_Person_%ld", (long)getpid());
	snprintf(other, sizeof(other), "Scrub_Person_%ld0", (long)getpid()); /* the name as a prefix */
	/* an identity and the backend's decisions about it (detail identity, track_identity) */
	snprintf(id, sizeof(id), "%ld",
		 q_long(owner, "WITH i AS (INSERT INTO identities (external_id) VALUES ($1) RETURNING identity_id) "
			       "SELECT identity_id FROM i", 1, name));
	CU_ASSERT_TRUE_FATAL(atol(id) > 0);
	snprintf(pseudo, sizeof(pseudo), "erased-%s", id);
	snprintf(subj, sizeof(subj), "identity:%s", id);
	CU_ASSERT_TRUE(q_ok(owner, "INSERT INTO face_templates (identity_id, model_id, embedding) "
				   "VALUES ($1::bigint, 'test', '{0.5,0.5}')", 1, id));
	snprintf(detail, sizeof(detail),
		 "{\"device\":\"x\",\"decision\":\"granted\",\"identity\":\"%s\",\"track_identity\":\"%s\","
		 "\"note\":\"%s\"}", name, name, other);
	CU_ASSERT_TRUE(q_ok(owner, "INSERT INTO audit_log (actor, action, subject, detail) "
				   "VALUES ('backend', 'event.decide', 'ev-1', $1::jsonb)", 1, detail));
	snprintf(detail, sizeof(detail), "{\"decision\":\"unknown\",\"track_identity\":\"%s\"}", name);
	CU_ASSERT_TRUE(q_ok(owner, "INSERT INTO audit_log (actor, action, subject, detail) "
				   "VALUES ('backend', 'event.decide', 'ev-2', $1::jsonb)", 1, detail));
	before = q_long(owner, "SELECT count(*) FROM audit_log", 0);

	/* the fence: no role rewrites audit rows directly, nobody scrubs a live identity */
	{
		PGconn *fc = PQconnectdb(ff_test_env_need("FF_PG_FLEETCTL_CONNINFO"));
		PGconn *be = PQconnectdb(ff_test_env_need("FF_PG_BACKEND_CONNINFO"));
		CU_ASSERT_EQUAL_FATAL(PQstatus(fc), CONNECTION_OK);
		CU_ASSERT_EQUAL_FATAL(PQstatus(be), CONNECTION_OK);
		CU_ASSERT_FALSE(q_ok(fc, "UPDATE audit_log SET detail = '{}' WHERE subject = 'ev-1'", 0));
		CU_ASSERT_FALSE(q_ok(fc, "SELECT ff_audit_scrub_identity($1::bigint)", 1, id)); /* templates left */
		CU_ASSERT_FALSE(q_ok(be, "SELECT ff_audit_scrub_identity($1::bigint)", 1, id)); /* not its right */
		/* the owner, with the function's switch but changing more than detail */
		CU_ASSERT_TRUE(q_ok(owner, "BEGIN", 0));
		CU_ASSERT_TRUE(q_ok(owner, "SELECT set_config('facefleet.audit_scrub', 'on', true)", 0));
		CU_ASSERT_FALSE(q_ok(owner, "UPDATE audit_log SET actor = 'mallory' WHERE subject = 'ev-1'", 0));
		q_ok(owner, "ROLLBACK", 0);
		PQfinish(fc);
		PQfinish(be);
	}
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE detail::text LIKE '%' || $1 || '\"%'",
			       1, name), 2);

	CU_ASSERT_EQUAL_FATAL(fct_run("identity delete %s --format json", name), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_STRING_EQUAL(jstr(o, "pseudonym"), pseudo);
		CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(o, "audit_rows_scrubbed") ?
					cJSON_GetObjectItemCaseSensitive(o, "audit_rows_scrubbed")->valueint : -1, 2);
		cJSON_Delete(o);
	}
	/* no row names the person any more; none went; the other person's text stays */
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE detail::text LIKE '%' || $1 || '\"%'",
			       1, name), 0);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE subject IN ('ev-1', 'ev-2') "
				      "AND (detail->>'identity' = $1 OR detail->>'track_identity' = $1)", 1, pseudo), 2);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE subject = 'ev-1' "
				      "AND detail->>'note' = $1 AND detail->>'decision' = 'granted'", 1, other), 1);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log", 0), before + 1);
	/* the erasure itself: who, when, the pseudonymous id, no name */
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM audit_log WHERE action = 'identity.delete' "
				      "AND subject = $1 AND actor = 'fleetctl:ctest' AND detail->>'pseudonym' = $2 "
				      "AND (detail->>'audit_rows_scrubbed')::int = 2", 2, subj, pseudo), 1);
}

static void bundle_path(char *out, size_t cap, const char *dev)
{
	snprintf(out, cap, "%s/%s.conf", fct_dir(), dev);
}

static void test_device_enable_delete(void)
{
	char site[40], dev[40], path[512], oldpw[128], pw[128];
	fct_client c;
	const char *url = ff_test_env_need("FF_MQTT_URL");
	fct_id(site, sizeof(site), "tr-es");
	fct_id(dev, sizeof(dev), "tr-ed");
	bundle_path(path, sizeof(path), dev);
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), 0);
	snprintf(oldpw, sizeof(oldpw), "%s", fct_bundle_get(path, "mqtt_password"));
	CU_ASSERT_TRUE(add_event(dev, site, "1"));
	CU_ASSERT_TRUE(add_event(dev, site, "2"));

	CU_ASSERT_EQUAL(fct_run("device enable %s", dev), 1);  /* not revoked */
	CU_ASSERT_EQUAL(fct_run("device delete %s", dev), 1);  /* revoke first */
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM devices WHERE device_id = $1", 1, dev), 1);
	CU_ASSERT_EQUAL(fct_run("device revoke %s", dev), 0);
	CU_ASSERT_EQUAL(fct_connect_device(&c, url, dev, NULL, NULL, NULL), FF_ERR_AUTH);

	/* enable: new credentials, the old ones refused */
	CU_ASSERT_EQUAL_FATAL(fct_run("device enable %s --format json", dev), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled")));
		CU_ASSERT_STRING_EQUAL(jstr(o, "bundle"), path);
		cJSON_Delete(o);
	}
	snprintf(pw, sizeof(pw), "%s", fct_bundle_get(path, "mqtt_password"));
	CU_ASSERT_STRING_NOT_EQUAL(pw, oldpw);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM devices WHERE device_id = $1 AND enabled", 1, dev), 1);
	FF_ASSERT_OK(fct_connect_device(&c, url, dev, NULL, NULL, NULL));
	fct_close(&c);
	CU_ASSERT_EQUAL(fct_connect_device(&c, url, dev, NULL, oldpw, NULL), FF_ERR_AUTH);

	/* delete: account and row gone, events kept, the id free again */
	CU_ASSERT_EQUAL(fct_run("device revoke %s", dev), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device delete %s", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "2 past event(s) kept"));
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM devices WHERE device_id = $1", 1, dev), 0);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM recognition_events WHERE device_id = $1", 1, dev), 2);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM recognition_event_keys WHERE device_id = $1", 1, dev), 0);
	CU_ASSERT_EQUAL(fct_connect_device(&c, url, dev, NULL, pw, NULL), FF_ERR_AUTH);
	CU_ASSERT_EQUAL(fct_run("events query --device %s --format csv", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), dev));
	CU_ASSERT_EQUAL(fct_run("audit query --action device.delete --device %s --format json", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "\"events_kept\": 2"));
	CU_ASSERT_EQUAL(fct_run("device delete %s", dev), 1); /* gone */
	/* the same id again, from seq 1 */
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), 0);
	CU_ASSERT_TRUE(add_event(dev, site, "1"));
	FF_ASSERT_OK(fct_connect_device(&c, url, dev, NULL, NULL, NULL));
	fct_close(&c);
}

/* Runs a shell command line; its exit status (-1: none), output in *log. */
static int sh(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(const char *log, const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	int st;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) >'%s' 2>&1", cmd, log);
	st = system(full);
	snprintf(full, sizeof(full), "cat '%s' >&2", log);
	fprintf(stderr, "$ %s -> %d\n", cmd, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (system(full) != 0)
		fprintf(stderr, "(no output)\n");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool file_has(const char *path, const char *needle)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle) != NULL;
}

/* fleetctl reads its secrets from files or the environment */
static void test_fleetctl_secrets(void)
{
	char conf[512], db[512], pw[512], log[512], site[40];
	const char *bin = getenv("FF_FLEETCTL_BIN");
	FILE *f;
	if (!bin)
		ff_test_skip("FF_FLEETCTL_BIN not set");
	fct_id(site, sizeof(site), "tr-sec");
	snprintf(conf, sizeof(conf), "%s/nosecrets.conf", fct_dir());
	snprintf(db, sizeof(db), "%s/db.secret", fct_dir());
	snprintf(pw, sizeof(pw), "%s/admin.secret", fct_dir());
	snprintf(log, sizeof(log), "%s/secrets.log", fct_dir());
	f = fopen(db, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s\n", ff_test_env_need("FF_PG_FLEETCTL_CONNINFO"));
	fclose(f);
	f = fopen(pw, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s\n", ff_test_env_need("FF_MQTT_ADMIN_PASSWORD"));
	fclose(f);
	/* a config file without a secret in it: db_conninfo_file, relative to it */
	f = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "db_conninfo_file = db.secret\nmqtt_url = %s\nmqtt_admin_user = %s\nbundle_dir = %s\n"
		   "operator = ctest\n",
		ff_test_env_need("FF_MQTT_URL"), ff_test_env_need("FF_MQTT_ADMIN_USER"), fct_dir());
	fclose(f);
	/* env -i: nothing of the test's environment (no FF_* fallbacks) */
	CU_ASSERT_EQUAL(sh(log, "env -i '%s' --config '%s' --mqtt-admin-password-file '%s' site add %s", bin, conf,
			   pw, site), 0);
	{
		char dev[40];
		fct_id(dev, sizeof(dev), "tr-secd");
		CU_ASSERT_EQUAL(sh(log, "env -i '%s' --config '%s' --mqtt-admin-password-file '%s' "
					"device add --site %s --name %s", bin, conf, pw, site, dev), 0);
	}
	/* the same from the environment: FF_<KEY> */
	CU_ASSERT_EQUAL(sh(log, "env -i FF_DB_CONNINFO=\"$(cat '%s')\" '%s' --mqtt-url x --migrate=false site list",
			   db, bin), 0);
	CU_ASSERT_TRUE(file_has(log, site));
	/* a secret file that is not there is a configuration error (2) naming it */
	CU_ASSERT_EQUAL(sh(log, "env -i '%s' --db-conninfo-file /nonexistent/db site list", bin), 2);
	CU_ASSERT_TRUE(file_has(log, "/nonexistent/db"));
	/* every program's --help names the file option and the variable */
	CU_ASSERT_EQUAL(sh(log, "'%s' --help", bin), 0);
	CU_ASSERT_TRUE(file_has(log, "--mqtt_admin_password_file=<path>"));
	CU_ASSERT_TRUE(file_has(log, "$FF_MQTT_ADMIN_PASSWORD"));
}

/* Models for fleet-device and enrolment (ff_test_skip without them). */
static void need_models(char *mtcnn, size_t cap)
{
	char probe[600];
	const char *m = getenv("FF_MODELS_DIR");
	snprintf(mtcnn, cap, "%s/ffn", m ? m : "");
	snprintf(probe, sizeof(probe), "%s/pnet.ffn", mtcnn);
	if (!m || access(probe, R_OK) != 0)
		ff_test_skip("models not fetched (%s): run deploy/setup", probe);
}

/* A bundle runs as it is: its outbox folder beside it; an unusable one is
 * a configuration error naming outbox_dir; the password from a file or the
 * environment instead of the bundle. */
static void test_bundle_runs(void)
{
	char site[40], dev[40], path[512], log[512], mtcnn[512], img[512], nopw[600], pwfile[600], outbox[600];
	const char *devbin = getenv("FF_DEVICE_BIN");
	const char *src = ff_test_env_need("FF_SOURCE_DIR");
	if (!devbin)
		ff_test_skip("FF_DEVICE_BIN not set");
	need_models(mtcnn, sizeof(mtcnn));
	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	fct_id(site, sizeof(site), "tr-bs");
	fct_id(dev, sizeof(dev), "tr-bd");
	bundle_path(path, sizeof(path), dev);
	snprintf(log, sizeof(log), "%s/device.log", fct_dir());
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), 0);
	{
		char want[64];
		snprintf(want, sizeof(want), "%s.outbox", dev);
		CU_ASSERT_STRING_EQUAL(fct_bundle_get(path, "outbox_dir"), want);
	}
	/* the bundle as fleetctl wrote it, from another folder: one face sent */
	CU_ASSERT_EQUAL(sh(log, "cd / && '%s' --config '%s' --vq-dir '%s/models/vq' --mtcnn-dir '%s' --max-faces 1 "
				"--seq-resume-wait-ms 0 --outbox-fsync=false --drain-timeout-s 20 '%s'",
			   devbin, path, src, mtcnn, img), 0);
	CU_ASSERT_TRUE(file_has(log, "published=1"));
	snprintf(outbox, sizeof(outbox), "%s/%s.outbox", fct_dir(), dev);
	CU_ASSERT_EQUAL(access(outbox, W_OK), 0);
	/* an unusable folder: exit 2 naming the setting */
	CU_ASSERT_EQUAL(sh(log, "'%s' --config '%s' --outbox-dir /proc/facefleet-outbox '%s'", devbin, path, img), 2);
	CU_ASSERT_TRUE(file_has(log, "outbox_dir"));
	/* the password from a file, then from the environment, not the bundle */
	snprintf(nopw, sizeof(nopw), "%s/%s.nopw.conf", fct_dir(), dev);
	snprintf(pwfile, sizeof(pwfile), "%s/%s.pw", fct_dir(), dev);
	CU_ASSERT_EQUAL(sh(log, "grep -v '^mqtt_password' '%s' >'%s' && sed -n 's/^mqtt_password = //p' '%s' >'%s'",
			   path, nopw, path, pwfile), 0);
	CU_ASSERT_EQUAL(sh(log, "'%s' --config '%s' --mqtt-password-file '%s' --vq-dir '%s/models/vq' --mtcnn-dir '%s' "
				"--max-faces 1 --seq-resume-wait-ms 0 --outbox-fsync=false --drain-timeout-s 20 '%s'",
			   devbin, nopw, pwfile, src, mtcnn, img), 0);
	CU_ASSERT_TRUE(file_has(log, "published=1"));
	CU_ASSERT_EQUAL(sh(log, "FF_MQTT_PASSWORD=\"$(cat '%s')\" '%s' --config '%s' --vq-dir '%s/models/vq' "
				"--mtcnn-dir '%s' --max-faces 1 --seq-resume-wait-ms 0 --outbox-fsync=false "
				"--drain-timeout-s 20 '%s'",
			   pwfile, devbin, nopw, src, mtcnn, img), 0);
	CU_ASSERT_TRUE(file_has(log, "published=1"));
	/* and a wrong one is refused (the variable is what was used) */
	CU_ASSERT_EQUAL(sh(log, "FF_MQTT_PASSWORD=wrong '%s' --config '%s' --vq-dir '%s/models/vq' --mtcnn-dir '%s' "
				"--max-faces 1 --seq-resume-wait-ms 0 --outbox-fsync=false --drain-timeout-s 5 '%s'",
			   devbin, nopw, src, mtcnn, img), 1);
	CU_ASSERT_TRUE(file_has(log, "auth_refused"));
	/* stats --format json: one object, per-device rows inside */
	CU_ASSERT_EQUAL(fct_run("stats --site %s --format json", site), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_PTR_NOT_NULL(o);
		CU_ASSERT_TRUE(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "per_device")));
		CU_ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "rejected_messages")));
		cJSON_Delete(o);
	}
}

/* Enrolling more images keeps an identity's sites; changing them is explicit. */
static void test_enroll_keeps_scope(void)
{
	char name[64], a[40], b[40], img1[512], img2[512], mtcnn[512], want[160];
	need_models(mtcnn, sizeof(mtcnn));
	snprintf(name, sizeof(name), "Scope_Person_%ld", (long)getpid());
	fct_id(a, sizeof(a), "tr-sa");
	fct_id(b, sizeof(b), "tr-sb");
	ff_test_data_path(img1, sizeof(img1), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	ff_test_data_path(img2, sizeof(img2), "faces/lfw/Al_Pacino/Al_Pacino_0002.jpg");
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", a), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", b), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("identity enroll --name %s --sites %s --format json %s", name, a, img1), 0);
	{
		cJSON *o = one_json(), *s = cJSON_GetObjectItemCaseSensitive(o, "sites");
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "created")));
		CU_ASSERT_EQUAL(cJSON_GetArraySize(s), 1);
		CU_ASSERT_STRING_EQUAL(cJSON_IsString(cJSON_GetArrayItem(s, 0)) ? cJSON_GetArrayItem(s, 0)->valuestring : "", a);
		cJSON_Delete(o);
	}
	/* more images, no --sites: the scope stays (it used to become every site) */
	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s %s", name, img2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "(kept;"));
	snprintf(want, sizeof(want), "{%s}", a);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1 "
				      "AND allowed_sites = $2::text[] AND enabled", 2, name, want), 1);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM face_templates t JOIN identities i USING (identity_id) "
				      "WHERE i.external_id = $1", 1, name), 2);
	/* an unknown site changes nothing */
	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s --sites %s-typo %s", name, a, img2), 2);
	CU_ASSERT_EQUAL(fct_run("identity set-sites %s --sites %s,nosuch-%s", name, b, b), 2);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1 "
				      "AND allowed_sites = $2::text[]", 2, name, want), 1);
	/* explicit changes: set-sites, enroll --sites, '*' for every site */
	CU_ASSERT_EQUAL(fct_run("identity set-sites %s --sites %s,%s", name, a, b), 0);
	snprintf(want, sizeof(want), "{%s,%s}", a, b);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1 "
				      "AND allowed_sites = $2::text[]", 2, name, want), 1);
	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s --sites %s %s", name, b, img2), 0);
	snprintf(want, sizeof(want), "{%s}", b);
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1 "
				      "AND allowed_sites = $2::text[]", 2, name, want), 1);
	CU_ASSERT_EQUAL(fct_run("identity set-sites %s --sites '*' --format json", name), 0);
	{
		cJSON *o = one_json();
		CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "sites")), 0);
		CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "previous_sites")), 1);
		cJSON_Delete(o);
	}
	CU_ASSERT_EQUAL(q_long(owner, "SELECT count(*) FROM identities WHERE external_id = $1 "
				      "AND allowed_sites = '{}'", 1, name), 1);
	CU_ASSERT_EQUAL(fct_run("audit query --action identity.set_sites --identity %s --format json", name), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "identity.set_sites"));
	CU_ASSERT_PTR_NULL(strstr(fct_output(), name)); /* the audit names the row, not the person */
	/* the person's templates leave the gallery (other tests match against it) */
	CU_ASSERT_EQUAL(fct_run("identity delete %s", name), 0);
}

static CU_TestInfo trap_tests[] = {
	{ "site_registry", test_site_registry },
	{ "migration_registers_sites", test_migration_registers_sites },
	{ "erasure_scrubs_audit", test_erasure_scrubs_audit },
	{ "device_enable_delete", test_device_enable_delete },
	{ "fleetctl_secrets", test_fleetctl_secrets },
	/* these need the fetched models (skipped without them) */
	{ "bundle_runs", test_bundle_runs },
	{ "enroll_keeps_scope", test_enroll_keeps_scope },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_traps", suite_init, suite_clean, NULL, NULL, trap_tests });
