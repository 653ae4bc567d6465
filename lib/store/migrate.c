/* Numbered SQL migrations (facefleet/store.h). SQL text of the files is trusted
 * (it comes from the repository); every value goes through PQexecParams. */
#include "facefleet/store.h"

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "facefleet/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"
#define MAX_MIGRATION_BYTES (4u << 20)
/* pg_advisory_lock key: "ffmigr" as bytes, any constant unique to us works */
#define MIGRATE_LOCK_KEY "112723418187122"

#ifndef FF_DEFAULT_MIGRATIONS_DIR
#define FF_DEFAULT_MIGRATIONS_DIR "lib/store/migrations"
#endif

typedef struct migration {
	int version;
	char name[256]; /* file name */
} migration;

/* NNN_[a-z0-9_]+.sql -> version, else -1 */
static int parse_name(const char *n)
{
	size_t len = strlen(n);
	if (len < 9 || strcmp(n + len - 4, ".sql") != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (!isdigit((unsigned char)n[i]))
			return -1;
	if (n[3] != '_')
		return -1;
	for (size_t i = 4; i < len - 4; i++)
		if (!(islower((unsigned char)n[i]) || isdigit((unsigned char)n[i]) || n[i] == '_'))
			return -1;
	return (n[0] - '0') * 100 + (n[1] - '0') * 10 + (n[2] - '0');
}

static int cmp_migration(const void *a, const void *b)
{
	return ((const migration *)a)->version - ((const migration *)b)->version;
}

/* Lists dir's migrations sorted; *out is malloc'd. */
static int list_migrations(const char *dir, migration **out, int *count, char *errbuf,
			   size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	migration *list = NULL;
	int n = 0, cap = 0, rc = FF_OK;

	*out = NULL;
	*count = 0;
	if (!d) {
		ff_seterr(errbuf, errlen, "%s: %s", dir, strerror(errno));
		return errno == ENOENT ? FF_ERR_NOTFOUND : FF_ERR_IO;
	}
	while ((e = readdir(d))) {
		int v;
		if (e->d_name[0] == '.' || strlen(e->d_name) < 4 ||
		    strcmp(e->d_name + strlen(e->d_name) - 4, ".sql") != 0)
			continue;
		v = parse_name(e->d_name);
		if (v < 0 || strlen(e->d_name) >= sizeof(list[0].name)) {
			ff_seterr(errbuf, errlen, "%s/%s: migration files are named NNN_name.sql", dir,
			       e->d_name);
			rc = FF_ERR_FORMAT;
			goto out;
		}
		if (n == cap) {
			migration *grown;
			cap = cap ? cap * 2 : 16;
			grown = realloc(list, (size_t)cap * sizeof(*list));
			if (!grown) {
				rc = FF_ERR_NOMEM;
				goto out;
			}
			list = grown;
		}
		list[n].version = v;
		snprintf(list[n].name, sizeof(list[n].name), "%s", e->d_name);
		n++;
	}
	if (n == 0) {
		ff_seterr(errbuf, errlen, "%s: no NNN_name.sql files", dir);
		rc = FF_ERR_FORMAT;
		goto out;
	}
	qsort(list, (size_t)n, sizeof(*list), cmp_migration);
	for (int i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			ff_seterr(errbuf, errlen, "%s: %s and %s share number %03d", dir, list[i - 1].name,
			       list[i].name, list[i].version);
			rc = FF_ERR_FORMAT;
			goto out;
		}
	}
out:
	closedir(d);
	if (rc == FF_OK) {
		*out = list;
		*count = n;
	} else {
		free(list);
	}
	return rc;
}

/* FNV-1a 64, hex: detects an edited file, not an attack. */
static void checksum(const char *data, size_t len, char out[17])
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= UINT64_C(0x100000001b3);
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

/* Runs a statement without parameters; FF_OK or FF_ERR_DB with message. */
static int exec_simple(PGconn *conn, const char *sql, const char *what, char *errbuf,
		       size_t errlen)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = FF_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		ff_seterr(errbuf, errlen, "%s: %s", what, PQerrorMessage(conn));
		rc = FF_ERR_DB;
	}
	PQclear(r);
	return rc;
}

/* Looks up version: 1 = recorded (stored checksum copied), 0 = not, <0 error. */
static int lookup(PGconn *conn, int version, char stored[17], char *errbuf, size_t errlen)
{
	char vbuf[16];
	const char *params[1] = { vbuf };
	PGresult *r;
	int rc;

	snprintf(vbuf, sizeof(vbuf), "%d", version);
	r = PQexecParams(conn, "SELECT checksum FROM schema_migrations WHERE version = $1::integer",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ff_seterr(errbuf, errlen, "schema_migrations lookup: %s", PQerrorMessage(conn));
		rc = FF_ERR_DB;
	} else if (PQntuples(r) == 0) {
		rc = 0;
	} else {
		snprintf(stored, 17, "%s", PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
		rc = 1;
	}
	PQclear(r);
	return rc;
}

static int apply_one(PGconn *conn, const migration *m, const char *sql, const char *sum,
		     char *errbuf, size_t errlen)
{
	char vbuf[16];
	const char *params[3] = { vbuf, m->name, sum };
	PGresult *r;
	int rc;

	snprintf(vbuf, sizeof(vbuf), "%d", m->version);
	rc = exec_simple(conn, "BEGIN", m->name, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* 42501: a runtime role (it owns nothing) found a pending migration */
		ff_seterr(errbuf, errlen, "%s: %s%s", m->name, PQerrorMessage(conn),
			  state && strcmp(state, "42501") == 0
				  ? " (migrations run as the schema's owner: fleet-backend --migrate-only "
				    "with the owner's conninfo, docs/DATABASE.md)"
				  : "");
		rc = FF_ERR_DB;
	}
	PQclear(r);
	if (rc == FF_OK) {
		r = PQexecParams(conn,
				 "INSERT INTO schema_migrations (version, name, checksum) "
				 "VALUES ($1::integer, $2, $3)",
				 3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			ff_seterr(errbuf, errlen, "%s: recording: %s", m->name, PQerrorMessage(conn));
			rc = FF_ERR_DB;
		}
		PQclear(r);
	}
	if (rc == FF_OK)
		rc = exec_simple(conn, "COMMIT", m->name, errbuf, errlen);
	if (rc != FF_OK) {
		char ignored[8];
		exec_simple(conn, "ROLLBACK", "rollback", ignored, sizeof(ignored));
	}
	return rc;
}

int ff_store_migrate(PGconn *conn, const char *dir, int *applied, char *errbuf, size_t errlen)
{
	migration *list = NULL;
	int n = 0, done = 0, rc;
	bool locked = false;

	if (applied)
		*applied = 0;
	if (!conn)
		return FF_ERR_INVAL;
	if (!dir)
		dir = getenv("FF_MIGRATIONS_DIR");
	if (!dir || !*dir)
		dir = FF_DEFAULT_MIGRATIONS_DIR;

	rc = list_migrations(dir, &list, &n, errbuf, errlen);
	if (rc != FF_OK)
		goto out;
	rc = exec_simple(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "advisory lock",
			 errbuf, errlen);
	if (rc != FF_OK)
		goto out;
	locked = true;
	/* an up-to-date schema needs no DDL: the runtime roles, which own
	 * nothing, pass here as long as nothing is pending */
	rc = ff_store_schema_version(conn) > 0 ? FF_OK : exec_simple(conn,
			 "SET client_min_messages = warning; "
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version integer PRIMARY KEY CHECK (version > 0),"
			 " name text NOT NULL,"
			 " checksum text NOT NULL,"
			 " applied_at timestamptz NOT NULL DEFAULT now())",
			 "schema_migrations", errbuf, errlen);
	if (rc != FF_OK)
		goto out;

	for (int i = 0; i < n; i++) {
		char path[4096], sum[17], stored[17];
		size_t len = 0;
		char *sql = NULL;
		int found;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i].name);
		rc = ff_file_read(path, MAX_MIGRATION_BYTES, &sql, &len, errbuf, errlen);
		if (rc == FF_OK && strlen(sql) != len) {
			ff_seterr(errbuf, errlen, "%s: has NUL bytes", path);
			rc = FF_ERR_FORMAT;
		}
		if (rc != FF_OK) {
			free(sql);
			goto out;
		}
		checksum(sql, len, sum);
		found = lookup(conn, list[i].version, stored, errbuf, errlen);
		if (found < 0) {
			free(sql);
			rc = found;
			goto out;
		}
		if (found) {
			if (strcmp(stored, sum) != 0)
				ff_log_warn(LOG_COMP,
					    "event=migration_changed file=%s applied_checksum=%s "
					    "file_checksum=%s note=\"edit a new migration instead\"",
					    list[i].name, stored, sum);
			free(sql);
			continue;
		}
		rc = apply_one(conn, &list[i], sql, sum, errbuf, errlen);
		free(sql);
		if (rc != FF_OK)
			goto out;
		done++;
		ff_log_info(LOG_COMP, "event=migration_applied version=%03d file=%s", list[i].version,
			    list[i].name);
	}
out:
	if (locked) {
		char ignored[8];
		exec_simple(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "unlock", ignored,
			    sizeof(ignored));
	}
	free(list);
	if (applied)
		*applied = done;
	return rc;
}

int ff_store_schema_version(PGconn *conn)
{
	PGresult *r;
	int v;
	if (!conn)
		return FF_ERR_INVAL;
	r = PQexec(conn, "SELECT COALESCE(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		/* no table yet means nothing applied */
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		v = state && strcmp(state, "42P01") == 0 ? 0 : FF_ERR_DB;
	} else {
		v = atoi(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}
