/* fleetctl/cmd_backup.c: backup DIR [PATH...] and restore DIR.
 *
 * A backup is a folder (mode 0700):
 *   database.dump   pg_dump --format=custom of the whole database, taken as
 *                   the schema owner in one snapshot
 *   files/<path>    copies of the files and folders named as PATHs (the
 *                   broker's dynamic-security JSON, the CA and device bundles),
 *                   modes kept
 *   MANIFEST.json   what it holds: schema version, rows per table (counted in
 *                   the dump's snapshot), the files with their modes and sizes
 * restore DIR loads the dump into an EMPTY database (the owner creates it;
 * the runtime roles must exist: docs/DATABASE.md), checks that every table
 * has the rows the manifest counted, audits it, then writes the files back
 * where they were (a different file already there is kept as
 * PATH.pre-restore).
 *
 * The database is reached as the schema owner (pg_dump must read every table;
 * restore creates them): $FF_PG_OWNER_CONNINFO, else the file named by
 * $FF_PG_OWNER_CONNINFO_FILE (one line), else $FF_PG_CONNINFO (deploy/stack's
 * owner), else db_conninfo. pg_dump and pg_restore get it as PG* environment
 * variables (libpq's own: PGHOST, PGUSER, PGPASSWORD...), never as
 * arguments, where ps and /proc/PID/cmdline would show a password. */
#include "fleetctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "facefleet/store.h"

#define FC_BACKUP_FORMAT "facefleet-backup-1"
#define FC_MANIFEST_MAX (16u << 20)
#define FC_CONNINFO_FILE_MAX (64u << 10)

/* ---- the owner's connection ------------------------------------------------------- */

/* The owner's conninfo (malloc'd, wiped and freed by the caller with
 * owner_free), or NULL (printed). from: where it came from, for messages. */
static char *owner_conninfo(const fc_ctx *ctx, const char **from)
{
	const char *v = getenv("FF_PG_OWNER_CONNINFO");
	const char *file = getenv("FF_PG_OWNER_CONNINFO_FILE");
	char *text = NULL, why[300] = "";
	size_t len = 0;

	if (v && *v) {
		*from = "$FF_PG_OWNER_CONNINFO";
		return strdup(v);
	}
	if (file && *file) {
		*from = "$FF_PG_OWNER_CONNINFO_FILE";
		if (ff_file_read(file, FC_CONNINFO_FILE_MAX, &text, &len, why, sizeof(why)) != FF_OK) {
			fc_fail(FF_EXIT_FAIL, "FF_PG_OWNER_CONNINFO_FILE: %s", why);
			return NULL;
		}
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		return text;
	}
	v = getenv("FF_PG_CONNINFO");
	if (v && *v) {
		*from = "$FF_PG_CONNINFO";
		return strdup(v);
	}
	if (ctx->cfg.db_conninfo && *ctx->cfg.db_conninfo) {
		*from = "db_conninfo";
		return strdup(ctx->cfg.db_conninfo);
	}
	fc_fail(FF_EXIT_USAGE, "no database: set $FF_PG_OWNER_CONNINFO (the schema owner's libpq "
			       "connection string; docs/UPGRADE.md), or db_conninfo");
	return NULL;
}

static void owner_free(char *conninfo)
{
	if (conninfo) {
		memset(conninfo, 0, strlen(conninfo));
		free(conninfo);
	}
}

/* Runs argv (argv[0] looked up in PATH) with the connection settings of
 * conninfo as libpq's PG* environment variables and umask 077. Returns true
 * when it exited 0 (else printed). */
static bool run_pg_tool(const char *conninfo, char *const argv[])
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	pid_t pid;
	int status = 0;

	if (!opts) {
		fc_fail(FF_EXIT_USAGE, "the owner's connection string does not parse: %s",
			err ? err : "out of memory");
		PQfreemem(err);
		return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		umask(077);
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->envvar && o->val && *o->val)
				setenv(o->envvar, o->val, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "fleetctl: cannot run %s: %s (package postgresql-client)\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	PQconninfoFree(opts);
	if (pid < 0)
		return fc_fail(FF_EXIT_FAIL, "fork: %s", strerror(errno)), false;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fc_fail(FF_EXIT_FAIL, "waitpid: %s", strerror(errno)), false;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFEXITED(status))
		fc_fail(FF_EXIT_FAIL, "%s failed (exit %d)", argv[0], WEXITSTATUS(status));
	else
		fc_fail(FF_EXIT_FAIL, "%s failed (signal %d)", argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return false;
}

/* One-value query on conn; NULL on failure (printed) or no row. malloc'd. */
static char *query_value(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	char *v = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fc_fail(FF_EXIT_FAIL, "%s", PQerrorMessage(conn));
	else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* The top-level tables of the public schema (partitions counted with their
 * parent) and their rows, as a JSON object {"table": rows}. NULL on failure. */
static cJSON *count_rows(PGconn *conn)
{
	PGresult *t = PQexec(conn, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
				   "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
				   "ORDER BY 1");
	cJSON *rows = NULL;

	if (PQresultStatus(t) != PGRES_TUPLES_OK) {
		fc_fail(FF_EXIT_FAIL, "listing tables: %s", PQerrorMessage(conn));
		goto out;
	}
	if (!(rows = cJSON_CreateObject()))
		goto oom;
	for (int i = 0; i < PQntuples(t); i++) {
		const char *name = PQgetvalue(t, i, 0);
		char *ident = PQescapeIdentifier(conn, name, strlen(name)), *n;
		char sql[512];
		if (!ident)
			goto oom;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM public.%s", ident);
		PQfreemem(ident);
		if (!(n = query_value(conn, sql))) {
			cJSON_Delete(rows);
			rows = NULL;
			goto out;
		}
		if (!cJSON_AddNumberToObject(rows, name, strtod(n, NULL))) {
			free(n);
			goto oom;
		}
		free(n);
	}
	goto out;
oom:
	fc_fail(FF_EXIT_FAIL, "out of memory");
	cJSON_Delete(rows);
	rows = NULL;
out:
	PQclear(t);
	return rows;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* mkdir -p path (each new folder mode 0700). */
static bool mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(buf, 0700) == 0 || errno == EEXIST;
}

/* Copies the regular file src to dst (through dst.tmp, fsynced, renamed)
 * with mode. */
static bool copy_file(const char *src, const char *dst, mode_t mode)
{
	char tmp[PATH_MAX + 8], buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	bool ok = false;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	if (in < 0)
		return false;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		goto done;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto done;
			off += w;
		}
	}
	ok = n == 0 && fchmod(out, mode & 07777) == 0 && fsync(out) == 0;
done:
	close(in);
	if (out >= 0 && close(out) != 0)
		ok = false;
	if (ok && rename(tmp, dst) != 0)
		ok = false;
	if (!ok && out >= 0)
		unlink(tmp);
	return ok;
}

/* Copies path (a file or, recursively, a folder) to <root><path>, one
 * manifest entry per file. */
static bool save_path(const char *root, const char *path, cJSON *files)
{
	struct stat st;
	char dst[PATH_MAX];
	if (lstat(path, &st) != 0)
		return fc_fail(FF_EXIT_FAIL, "%s: %s", path, strerror(errno)), false;
	if (snprintf(dst, sizeof(dst), "%s%s", root, path) >= (int)sizeof(dst))
		return fc_fail(FF_EXIT_FAIL, "%s: path too long", path), false;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		bool ok = true;
		if (!d)
			return fc_fail(FF_EXIT_FAIL, "%s: %s", path, strerror(errno)), false;
		while (ok && (e = readdir(d))) {
			char sub[PATH_MAX];
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", e->d_name) >=
			    (int)sizeof(sub)) {
				fc_fail(FF_EXIT_FAIL, "%s/%s: path too long", path, e->d_name);
				ok = false;
				break;
			}
			ok = save_path(root, sub, files);
		}
		closedir(d);
		return ok;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "fleetctl: %s: not a regular file or folder, not saved\n", path);
		return true;
	}
	char *slash = strrchr(dst, '/');
	*slash = '\0';
	bool ok = mkdirs(dst);
	*slash = '/';
	if (!ok || !copy_file(path, dst, st.st_mode))
		return fc_fail(FF_EXIT_FAIL, "cannot copy %s into the backup: %s", path, strerror(errno)), false;
	cJSON *f = cJSON_CreateObject();
	char mode[8];
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	if (!f || !cJSON_AddStringToObject(f, "path", path) || !cJSON_AddStringToObject(f, "mode", mode) ||
	    !cJSON_AddNumberToObject(f, "bytes", (double)st.st_size) || !cJSON_AddItemToArray(files, f)) {
		cJSON_Delete(f);
		return fc_fail(FF_EXIT_FAIL, "out of memory"), false;
	}
	return true;
}

/* True when the two files have the same bytes. */
static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	while (same) {
		int ca = getc(fa), cb = getc(fb);
		if (ca != cb)
			same = false;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Audits action on the owner's connection (*conn moves to ctx->db, where
 * fc_audit finds it; main() closes it). */
static bool audit_backup(fc_ctx *ctx, PGconn **conn, const char *action, const char *dir, const char *created,
			 int version)
{
	cJSON *detail = cJSON_CreateObject();
	ctx->db = *conn;
	*conn = NULL;
	if (!detail || !cJSON_AddStringToObject(detail, "dir", dir) ||
	    (created && !cJSON_AddStringToObject(detail, "created_at", created)) ||
	    !cJSON_AddNumberToObject(detail, "schema_version", version)) {
		cJSON_Delete(detail);
		return fc_fail(FF_EXIT_FAIL, "out of memory"), false;
	}
	return fc_audit_json(ctx, action, dir, detail);
}

/* ---- backup ------------------------------------------------------------------------------------ */

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wx");
	bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
	if (f)
		ok = (fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0) && ok;
	return ok;
}

static int do_backup(fc_ctx *ctx, int argc, char **argv)
{
	const char *dir = argc > 0 ? argv[0] : "", *from = "";
	char *conninfo = NULL, *snapshot = NULL, *text = NULL, path[PATH_MAX], root[PATH_MAX];
	char err[512] = "", when[64], dumparg[PATH_MAX + 16], snaparg[128];
	PGconn *conn = NULL;
	cJSON *m = NULL, *rows = NULL, *files = NULL;
	int rc = FF_EXIT_FAIL, version;
	DIR *d;
	struct dirent *e;
	time_t now = time(NULL);
	struct tm tm;

	if (!*dir)
		return fc_fail(FF_EXIT_USAGE, "usage: fleetctl backup DIR [PATH...] (see fleetctl backup --help)");
	umask(077); /* everything in a backup is the operator's only */
	/* a new folder, or an empty one */
	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST || !(d = opendir(dir)))
			return fc_fail(FF_EXIT_FAIL, "cannot create %s: %s", dir, strerror(errno));
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				closedir(d);
				return fc_fail(FF_EXIT_FAIL, "%s is not empty: a backup goes into a new folder", dir);
			}
		closedir(d);
	}
	if (!(conninfo = owner_conninfo(ctx, &from)))
		goto out;
	if (!(conn = ff_store_open(conninfo, "fleetctl-backup", err, sizeof(err)))) {
		fc_fail(FF_EXIT_FAIL, "database (%s): %s", from, err);
		goto out;
	}
	version = ff_store_schema_version(conn);
	if (version <= 0) {
		fc_fail(FF_EXIT_FAIL, "the database (%s) has no facefleet schema", from);
		goto out;
	}
	/* one snapshot for the counts and the dump: a live system may write meanwhile */
	PQclear(PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
	if (!(snapshot = query_value(conn, "SELECT pg_export_snapshot()")) || !(rows = count_rows(conn)))
		goto out;
	snprintf(path, sizeof(path), "%s/database.dump", dir);
	snprintf(dumparg, sizeof(dumparg), "--file=%s", path);
	snprintf(snaparg, sizeof(snaparg), "--snapshot=%s", snapshot);
	{
		char *args[] = { "pg_dump", "--format=custom", "--no-password", snaparg, dumparg, NULL };
		if (!run_pg_tool(conninfo, args))
			goto out;
	}
	PQclear(PQexec(conn, "COMMIT"));

	if (!(m = cJSON_CreateObject()) || !(files = cJSON_CreateArray()))
		goto oom;
	if (!realpath(dir, root)) {
		fc_fail(FF_EXIT_FAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	strncat(root, "/files", sizeof(root) - strlen(root) - 1);
	for (int i = 1; i < argc; i++) {
		char abs[PATH_MAX];
		if (!realpath(argv[i], abs)) {
			fc_fail(FF_EXIT_FAIL, "%s: %s", argv[i], strerror(errno));
			goto out;
		}
		if (!save_path(root, abs, files))
			goto out;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!cJSON_AddStringToObject(m, "format", FC_BACKUP_FORMAT) || !cJSON_AddStringToObject(m, "created_at", when) ||
	    !cJSON_AddStringToObject(m, "host", ctx->host) || !cJSON_AddStringToObject(m, "actor", ctx->actor) ||
	    !cJSON_AddNumberToObject(m, "schema_version", version) ||
	    !cJSON_AddStringToObject(m, "database", "database.dump") || !cJSON_AddItemToObject(m, "rows", rows))
		goto oom;
	rows = NULL;
	if (!cJSON_AddItemToObject(m, "files", files))
		goto oom;
	files = NULL;
	if (!(text = cJSON_Print(m)))
		goto oom;
	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	if (!write_text(path, text)) {
		fc_fail(FF_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (!audit_backup(ctx, &conn, "backup.create", dir, NULL, version))
		goto out;
	{
		cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "rows"), *it;
		printf("backup %s: schema version %d, database.dump", dir, version);
		cJSON_ArrayForEach(it, r)
			printf(", %s %.0f", it->string, it->valuedouble);
		printf("; %d file(s)\n", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "files")));
	}
	rc = FF_EXIT_OK;
	goto out;
oom:
	fc_fail(FF_EXIT_FAIL, "out of memory");
out:
	if (conn)
		PQfinish(conn);
	owner_free(conninfo);
	free(snapshot);
	cJSON_free(text);
	cJSON_Delete(rows);
	cJSON_Delete(files);
	cJSON_Delete(m);
	return rc;
}

/* ---- restore ------------------------------------------------------------------------------------- */

/* Writes the saved files back: <dir>/files/<path> -> <path>. */
static bool restore_files(const char *dir, const cJSON *files, int *restored)
{
	const cJSON *f;
	*restored = 0;
	cJSON_ArrayForEach(f, files) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
		const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "mode"));
		char src[PATH_MAX], aside[PATH_MAX + 16], parent[PATH_MAX];
		struct stat st;
		if (!path || path[0] != '/' || strstr(path, "/../") || !mode)
			return fc_fail(FF_EXIT_FAIL, "MANIFEST.json: a file entry without an absolute path and mode"),
			       false;
		snprintf(src, sizeof(src), "%s/files%s", dir, path);
		if (lstat(path, &st) == 0) {
			if (same_file(src, path)) {
				chmod(path, (mode_t)strtol(mode, NULL, 8));
				(*restored)++;
				continue;
			}
			snprintf(aside, sizeof(aside), "%s.pre-restore", path);
			if (rename(path, aside) != 0)
				return fc_fail(FF_EXIT_FAIL, "cannot move %s aside: %s", path, strerror(errno)), false;
			fprintf(stderr, "fleetctl: %s differed from the backup: kept as %s\n", path, aside);
		}
		snprintf(parent, sizeof(parent), "%s", path);
		*strrchr(parent, '/') = '\0';
		if ((*parent && !mkdirs(parent)) || !copy_file(src, path, (mode_t)strtol(mode, NULL, 8)))
			return fc_fail(FF_EXIT_FAIL, "cannot restore %s: %s", path, strerror(errno)), false;
		(*restored)++;
	}
	return true;
}

static int do_restore(fc_ctx *ctx, int argc, char **argv)
{
	const char *dir = argc > 0 ? argv[0] : "", *from = "";
	char *conninfo = NULL, *text = NULL, *n = NULL, path[PATH_MAX], why[512] = "", dbarg[300];
	PGconn *conn = NULL;
	cJSON *m = NULL, *after = NULL, *it;
	const cJSON *rows, *files;
	size_t len = 0;
	int rc = FF_EXIT_FAIL, version, nfiles = 0, bad = 0;

	if (!*dir || argc > 1)
		return fc_fail(FF_EXIT_USAGE, "usage: fleetctl restore DIR (see fleetctl restore --help)");
	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	if (ff_file_read(path, FC_MANIFEST_MAX, &text, &len, why, sizeof(why)) != FF_OK)
		return fc_fail(FF_EXIT_FAIL, "%s", why);
	m = cJSON_Parse(text);
	rows = cJSON_GetObjectItemCaseSensitive(m, "rows");
	files = cJSON_GetObjectItemCaseSensitive(m, "files");
	if (!m || !cJSON_IsObject(rows) || !cJSON_IsArray(files) ||
	    !cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "format")) ||
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "format")), FC_BACKUP_FORMAT)) {
		fc_fail(FF_EXIT_FAIL, "%s is not a facefleet backup manifest (%s)", path, FC_BACKUP_FORMAT);
		goto out;
	}
	if (!(conninfo = owner_conninfo(ctx, &from)))
		goto out;
	if (!(conn = ff_store_open(conninfo, "fleetctl-restore", why, sizeof(why)))) {
		fc_fail(FF_EXIT_FAIL, "database (%s): %s", from, why);
		goto out;
	}
	/* an empty database only: a restore never merges into live data */
	if (!(n = query_value(conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
				    "WHERE s.nspname = 'public'")))
		goto out;
	if (strcmp(n, "0") != 0) {
		fc_fail(FF_EXIT_FAIL, "database %s is not empty (%s objects in schema public): restore into a new "
				      "database (CREATE DATABASE ... OWNER <the owner role>; docs/UPGRADE.md)",
			PQdb(conn), n);
		goto out;
	}
	free(n);
	/* the dump grants the runtime roles their rights: they must exist first */
	if (!(n = query_value(conn, "SELECT string_agg(r, ', ') FROM unnest(ARRAY['facefleet_backend', "
				    "'facefleet_fleetctl']) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)")))
		n = strdup("");
	if (n && *n) {
		fc_fail(FF_EXIT_FAIL, "role(s) %s missing: create them first (docs/DATABASE.md, \"Setting up\")", n);
		goto out;
	}
	if (strchr(PQdb(conn), '=') || strstr(PQdb(conn), "://")) {
		fc_fail(FF_EXIT_USAGE, "database name '%s' looks like a connection string", PQdb(conn));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/database.dump", dir);
	snprintf(dbarg, sizeof(dbarg), "--dbname=%s", PQdb(conn));
	{
		/* objects owned by the restoring role (the owner); grants kept */
		char *args[] = { "pg_restore", "--no-password", "--exit-on-error", "--single-transaction", "--no-owner",
				 dbarg, path, NULL };
		if (!run_pg_tool(conninfo, args))
			goto out;
	}
	/* every table has its rows back */
	if (!(after = count_rows(conn)))
		goto out;
	cJSON_ArrayForEach(it, rows) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(after, it->string);
		if (!cJSON_IsNumber(a) || a->valuedouble != it->valuedouble) {
			fc_fail(FF_EXIT_FAIL, "table %s: %.0f rows restored, the backup counted %.0f", it->string,
				cJSON_IsNumber(a) ? a->valuedouble : -1.0, it->valuedouble);
			bad++;
		}
	}
	if (bad)
		goto out;
	version = ff_store_schema_version(conn);
	if (!audit_backup(ctx, &conn, "backup.restore", dir,
			  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "created_at")), version))
		goto out;
	if (!restore_files(dir, files, &nfiles))
		goto out;
	printf("restored %s into database %s: schema version %d", dir, PQdb(ctx->db), version);
	cJSON_ArrayForEach(it, rows)
		printf(", %s %.0f", it->string, it->valuedouble);
	printf("; %d file(s) back in place\n", nfiles);
	printf("next: fleet-backend --config /etc/facefleet/migrate.conf --migrate-only (newer migrations), "
	       "then start the services\n");
	rc = FF_EXIT_OK;
out:
	if (conn)
		PQfinish(conn);
	owner_free(conninfo);
	free(n);
	free(text);
	cJSON_Delete(after);
	cJSON_Delete(m);
	return rc;
}

static void usage(FILE *out, const char *which)
{
	if (strcmp(which, "restore") != 0)
		fprintf(out,
			"usage: fleetctl backup DIR [PATH...]\n"
			"  A new folder DIR (mode 0700) with database.dump (pg_dump, one snapshot, as the\n"
			"  schema owner), copies of each PATH (file or folder: the broker's\n"
			"  dynamic-security JSON, the CA and device bundles) and MANIFEST.json (schema\n"
			"  version, rows per table, files).\n");
	if (strcmp(which, "backup") != 0)
		fprintf(out,
			"usage: fleetctl restore DIR\n"
			"  Loads DIR's database.dump into an EMPTY database (the runtime roles must\n"
			"  exist), checks every table's rows against the manifest, then writes the saved\n"
			"  files back where they were (a different file there is kept as PATH.pre-restore).\n");
	fprintf(out,
		"The database is reached as its owner: $FF_PG_OWNER_CONNINFO, else the file\n"
		"$FF_PG_OWNER_CONNINFO_FILE names, else $FF_PG_CONNINFO, else db_conninfo; pg_dump\n"
		"and pg_restore get it in libpq's PG* environment variables, never as arguments.\n");
}

int fc_cmd_backup(fc_ctx *ctx, int argc, char **argv)
{
	if (fc_help_requested) {
		usage(stdout, "backup");
		return FF_EXIT_OK;
	}
	if (argc < 1) {
		usage(stderr, "backup");
		return FF_EXIT_USAGE;
	}
	return do_backup(ctx, argc, argv);
}

int fc_cmd_restore(fc_ctx *ctx, int argc, char **argv)
{
	if (fc_help_requested) {
		usage(stdout, "restore");
		return FF_EXIT_OK;
	}
	if (argc < 1) {
		usage(stderr, "restore");
		return FF_EXIT_USAGE;
	}
	return do_restore(ctx, argc, argv);
}
