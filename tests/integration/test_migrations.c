/* backend_migrations: lib/store/migrations applied to the real PostgreSQL of
 * deploy/stack, in a scratch database: twice (the second applies nothing),
 * the tables exist, (device_id, seq) is unique, audit_log is append-only and
 * the runtime roles cannot alter or empty it. */
#include "ff_test.h"

#include "facefleet/error.h"
#include "facefleet/store.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PGconn *admin; /* the stack's facefleet database */
static PGconn *db;    /* the scratch database */
static char dbname[64];

/* The scratch database dbn as the role of stack.env's conninfo `env`. */
static PGconn *connect_as(const char *env, const char *dbn)
{
	const char *keys[] = { "dbname", "dbname", NULL };
	const char *vals[] = { ff_test_env_get(env), dbn, NULL };
	/* expand_dbname=1: the first dbname is the conninfo, the second overrides it */
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

static int suite_init(void)
{
	char sql[128];
	const char *ci = ff_test_env_get("FF_PG_CONNINFO");
	if (!ci) {
		fprintf(stderr, "FF_PG_CONNINFO missing: is the stack up?\n");
		return 1;
	}
	admin = PQconnectdb(ci);
	if (PQstatus(admin) != CONNECTION_OK) {
		fprintf(stderr, "connect %s: %s", ci, PQerrorMessage(admin));
		return 1;
	}
	if (!exec_ok(admin, "SET client_min_messages = warning"))
		return 1;
	snprintf(dbname, sizeof(dbname), "ff_test_migrations_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	if (!exec_ok(admin, sql))
		return 1;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	if (!exec_ok(admin, sql))
		return 1;
	db = connect_as("FF_PG_CONNINFO", dbname);
	return db ? 0 : 1;
}

static int suite_cleanup(void)
{
	char sql[128];
	PQfinish(db);
	db = NULL;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	exec_ok(admin, sql);
	PQfinish(admin);
	admin = NULL;
	return 0;
}

static void test_apply_twice(void)
{
	char err[512] = "";
	int applied = -1;
	int rc = ff_store_migrate(db, NULL, &applied, err, sizeof(err));
	if (rc != FF_OK)
		fprintf(stderr, "migrate: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, FF_OK);
	CU_ASSERT(applied >= 1);
	CU_ASSERT(ff_store_schema_version(db) >= 1);

	applied = -1;
	CU_ASSERT_EQUAL(ff_store_migrate(db, NULL, &applied, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL(applied, 0);
}

static void test_tables_exist(void)
{
	static const char *const tables[] = { "devices", "identities", "face_templates",
					      "recognition_events", "audit_log",
					      "schema_migrations" };
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const char *params[1] = { tables[i] };
		PGresult *r = PQexecParams(db,
					   "SELECT count(*) FROM information_schema.tables "
					   "WHERE table_schema = 'public' AND table_name = $1",
					   1, NULL, params, NULL, NULL, 0);
		CU_ASSERT_EQUAL_FATAL(PQresultStatus(r), PGRES_TUPLES_OK);
		if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
			fprintf(stderr, "table %s missing\n", tables[i]);
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "1");
		PQclear(r);
	}
}

/* Every foreign key has an index that leads with its column: without one, a
 * delete on the referenced side (an identity's erasure) scans the whole
 * referencing table, partitions and all (012_index_track_identity.sql). */
static void test_foreign_keys_indexed(void)
{
	PGresult *r = PQexec(db,
			     "SELECT c.conrelid::regclass || '.' || a.attname FROM pg_constraint c "
			     "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
			     "WHERE c.contype = 'f' AND c.conparentid = 0 AND NOT EXISTS "
			     "(SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid "
			     "AND i.indkey[0] = c.conkey[1])");
	CU_ASSERT_EQUAL_FATAL(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(stderr, "foreign key without an index: %s\n", PQgetvalue(r, i, 0));
	CU_ASSERT_EQUAL(PQntuples(r), 0);
	PQclear(r);
}

static const char *insert_event_sql =
	"INSERT INTO recognition_events (device_id, site_id, seq, capture_time, decision, "
	"model_id) VALUES ($1, 'site-a', $2::bigint, now(), 'unknown', 'vqvae-test')";

static void test_unique_device_seq(void)
{
	const char *dev[1] = { "dev-0001" };
	const char *p1[2] = { "dev-0001", "41" };
	const char *p2[2] = { "dev-0001", "42" };
	PGresult *r;

	r = PQexecParams(db, "INSERT INTO devices (device_id, site_id) VALUES ($1, 'site-a')", 1,
			 NULL, dev, NULL, NULL, 0);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);

	r = PQexecParams(db, insert_event_sql, 2, NULL, p1, NULL, NULL, 0);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexecParams(db, insert_event_sql, 2, NULL, p2, NULL, NULL, 0);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);

	/* the same (device, seq) again: unique_violation */
	r = PQexecParams(db, insert_event_sql, 2, NULL, p1, NULL, NULL, 0);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_FATAL_ERROR);
	CU_ASSERT_STRING_EQUAL(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23505");
	CU_ASSERT_STRING_EQUAL(PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME),
			       "recognition_events_device_seq_key");
	PQclear(r);

	/* an unknown device is refused by the foreign key */
	{
		const char *p3[2] = { "dev-unknown", "1" };
		r = PQexecParams(db, insert_event_sql, 2, NULL, p3, NULL, NULL, 0);
		CU_ASSERT_STRING_EQUAL(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23503");
		PQclear(r);
	}
	r = PQexec(db, "SELECT count(*) FROM recognition_events");
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "2");
	PQclear(r);
}

static void test_audit_append_only(void)
{
	const char *p[3] = { "test", "device.provision", "dev-0001" };
	PGresult *r = PQexecParams(db,
				   "INSERT INTO audit_log (actor, action, subject) VALUES ($1, $2, $3)",
				   3, NULL, p, NULL, NULL, 0);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(db, "UPDATE audit_log SET actor = 'mallory'");
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(db, "DELETE FROM audit_log");
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(db, "TRUNCATE audit_log");
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(db, "SELECT actor FROM audit_log");
	CU_ASSERT_EQUAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "test");
	PQclear(r);
}

static bool refused(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	bool no = PQresultStatus(r) == PGRES_FATAL_ERROR;
	if (!no)
		fprintf(stderr, "not refused: %s\n", sql);
	PQclear(r);
	return no;
}

/* The runtime roles own nothing: neither can switch the append-only
 * trigger off and empty the audit log (as the owner could), nor change the
 * schema; each keeps what it needs. */
/* Every privilege the backend's role holds on the schema, sorted, one
 * "table:PRIV", "table.column:PRIV" or "function():PRIV" each (partitions
 * take their parent's through it, so they are left out). */
static const char BACKEND_PRIVILEGES_SQL[] =
	"SELECT string_agg(x, ' ' ORDER BY x) FROM ("
	" SELECT c.relname || ':' || a.privilege_type AS x FROM pg_class c, aclexplode(c.relacl) a"
	"  WHERE a.grantee = 'facefleet_backend'::regrole AND NOT c.relispartition"
	"  AND c.relnamespace = 'public'::regnamespace"
	" UNION ALL"
	" SELECT c.relname || '.' || t.attname || ':' || a.privilege_type FROM pg_class c"
	"  JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a"
	"  WHERE a.grantee = 'facefleet_backend'::regrole AND NOT c.relispartition"
	"  AND c.relnamespace = 'public'::regnamespace"
	" UNION ALL"
	" SELECT p.proname || '():' || a.privilege_type FROM pg_proc p, aclexplode(p.proacl) a"
	"  WHERE a.grantee = 'facefleet_backend'::regrole) s";

/* What facefleet_backend may do, exactly (docs/DATABASE.md, "Roles"): its
 * MQTT side (005, 006, 009) and its HTTP API's operator writes (010: sites,
 * device revoke/threshold, enrolment, erasure), which run the same
 * statements as fleetctl. A grant added anywhere must be added here. */
static const char BACKEND_PRIVILEGES[] =
	"api_tokens:SELECT audit_log:INSERT audit_log:SELECT devices.enabled:UPDATE "
	"devices.last_seen_at:UPDATE devices.last_seq:UPDATE devices.threshold:UPDATE devices:SELECT "
	"face_templates:DELETE face_templates:INSERT face_templates:SELECT "
	"ff_audit_scrub_identity():EXECUTE ff_partitions_maintain():EXECUTE "
	"identities.allowed_sites:UPDATE identities.display_name:UPDATE identities.enabled:UPDATE "
	"identities.external_id:UPDATE identities:INSERT identities:SELECT mqtt_subscribers.sites:SELECT "
	"recognition_event_keys:INSERT recognition_event_keys:SELECT recognition_events.topk:UPDATE "
	"recognition_events:INSERT recognition_events:SELECT schema_migrations:SELECT "
	"sites.description:SELECT sites.site_id:SELECT sites.threshold:SELECT sites.threshold:UPDATE sites:DELETE sites:INSERT";

static void test_backend_privileges(void)
{
	PGresult *r = PQexec(db, BACKEND_PRIVILEGES_SQL);
	const char *have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
	if (strcmp(have, BACKEND_PRIVILEGES) != 0)
		fprintf(stderr, "facefleet_backend holds:\n  %s\nexpected:\n  %s\n", have, BACKEND_PRIVILEGES);
	CU_ASSERT_STRING_EQUAL(have, BACKEND_PRIVILEGES);
	PQclear(r);
}

static void test_runtime_roles(void)
{
	static const char *const envs[] = { "FF_PG_BACKEND_CONNINFO", "FF_PG_FLEETCTL_CONNINFO" };
	CU_ASSERT_EQUAL_FATAL(ff_store_migrate(db, NULL, NULL, (char[256]){ 0 }, 256), FF_OK);
	for (size_t i = 0; i < 2; i++) {
		PGconn *c = connect_as(envs[i], dbname);
		char err[512] = "";
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT(exec_ok(c, "INSERT INTO audit_log (actor, action) VALUES ('role-test', 'x')"));
		CU_ASSERT(exec_ok(c, "SELECT count(*) FROM audit_log"));
		CU_ASSERT(refused(c, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"));
		CU_ASSERT(refused(c, "ALTER TABLE audit_log_default DISABLE TRIGGER ALL"));
		CU_ASSERT(refused(c, "DELETE FROM audit_log"));
		CU_ASSERT(refused(c, "UPDATE audit_log SET actor = 'mallory'"));
		CU_ASSERT(refused(c, "TRUNCATE audit_log"));
		CU_ASSERT(refused(c, "DROP TABLE audit_log"));
		CU_ASSERT(refused(c, "CREATE TABLE audit_copy (x int)"));
		CU_ASSERT(refused(c, "DELETE FROM recognition_events"));
		/* nothing pending: the migration check passes without DDL */
		CU_ASSERT_EQUAL(ff_store_migrate(c, NULL, NULL, err, sizeof(err)), FF_OK);
		PQfinish(c);
	}
	{
		PGconn *be = connect_as("FF_PG_BACKEND_CONNINFO", dbname);
		CU_ASSERT(refused(be, "UPDATE devices SET site_id = 'elsewhere'"));
		CU_ASSERT(refused(be, "INSERT INTO devices (device_id, site_id) VALUES ('x', 'y')"));
		/* disabling a flooding device is its one other write (migration 006) */
		CU_ASSERT(exec_ok(be, "UPDATE devices SET enabled = enabled"));
		/* the API's erasure deletes templates (010); nothing rewrites them,
		 * nor tokens, nor removes identities, devices or events */
		CU_ASSERT(exec_ok(be, "DELETE FROM face_templates WHERE false"));
		CU_ASSERT(refused(be, "UPDATE face_templates SET embedding = embedding"));
		CU_ASSERT(refused(be, "DELETE FROM identities"));
		CU_ASSERT(refused(be, "DELETE FROM devices"));
		CU_ASSERT(refused(be, "UPDATE api_tokens SET revoked_at = NULL"));
		CU_ASSERT(refused(be, "INSERT INTO api_tokens (name, role, token_sha256) "
				      "VALUES ('x', 'operator', sha256('x'))"));
		CU_ASSERT(exec_ok(be, "UPDATE devices SET last_seq = last_seq"));
		CU_ASSERT(exec_ok(be, "SELECT ff_partitions_maintain('audit_log', 0)"));
		PQfinish(be);
	}
	CU_ASSERT(exec_ok(db, "SELECT count(*) FROM audit_log WHERE actor = 'role-test'"));
}

static void test_bad_dir(void)
{
	char err[256] = "";
	char dir[] = "/tmp/ff_mig_XXXXXX";
	char path[128];
	FILE *fp;

	CU_ASSERT_EQUAL(ff_store_migrate(db, "/nonexistent/migrations", NULL, err, sizeof(err)),
			FF_ERR_NOTFOUND);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/1_bad.sql", dir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("SELECT 1;\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(ff_store_migrate(db, dir, NULL, err, sizeof(err)), FF_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NNN_name.sql"));
	unlink(path);

	/* a failing file rolls back entirely and is not recorded */
	snprintf(path, sizeof(path), "%s/900_broken.sql", dir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("CREATE TABLE half_done (x int);\nSELECT no_such_function();\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(ff_store_migrate(db, dir, NULL, err, sizeof(err)), FF_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "900_broken.sql"));
	{
		PGresult *r = PQexec(db, "SELECT to_regclass('half_done') IS NULL, "
					 "(SELECT count(*) FROM schema_migrations WHERE version = 900)");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "t");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "0");
		PQclear(r);
	}
	unlink(path);
	rmdir(dir);
}

static CU_TestInfo migration_tests[] = {
	{ "apply_twice", test_apply_twice },
	{ "tables_exist", test_tables_exist },
	{ "foreign_keys_indexed", test_foreign_keys_indexed },
	{ "unique_device_seq", test_unique_device_seq },
	{ "audit_append_only", test_audit_append_only },
	{ "runtime_roles", test_runtime_roles },
	{ "backend_privileges", test_backend_privileges },
	{ "bad_dir", test_bad_dir },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "migrations", suite_init, suite_cleanup, NULL, NULL, migration_tests });
