/* facefleet/store.h: the PostgreSQL contract every program shares (lib/store/).
 *
 *   migrate.c     numbered SQL migrations, lib/store/migrations/NNN_name.sql
 *   connect.c     one way to open a connection (application_name set)
 *   array.c       PostgreSQL array literals, for statements fed whole columns
 *                 ($1::text[]: one round trip per batch, values never in SQL)
 *   vector.c      the gallery's embedding format (face_templates.embedding,
 *                 real[]), written by fleetctl and read by the backend
 *
 * Migrations: ff_store_migrate applies the files in number order. Each file
 * runs inside its own transaction together with its row in schema_migrations
 * (version, name, checksum, applied_at), so a file is either fully applied
 * and recorded or not at all. Already recorded versions are skipped, which
 * makes the call idempotent; a recorded file whose checksum changed since is
 * reported as a warning (never re-applied). Concurrent callers (several
 * backend processes starting together) are serialised with a PostgreSQL
 * advisory lock. Only the owner role may migrate (docs/DATABASE.md); the
 * runtime roles connect to a schema that is already there. */
#ifndef FACEFLEET_STORE_H
#define FACEFLEET_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- migrations ---- */

/* Applies pending migrations from dir (NULL: the FF_MIGRATIONS_DIR
 * environment variable, else the source tree's lib/store/migrations).
 * *applied (may be NULL) receives how many files were applied now.
 * Returns FF_OK; FF_ERR_INVAL (NULL conn); FF_ERR_NOTFOUND (no dir);
 * FF_ERR_FORMAT (bad file name, duplicate number, unreadable file, no files);
 * FF_ERR_DB (SQL failed: errbuf names the file and PostgreSQL's message;
 * that file's transaction was rolled back, earlier files stay applied). */
int ff_store_migrate(PGconn *conn, const char *dir, int *applied, char *errbuf, size_t errlen);

/* Highest applied version, or 0 when none; negative ff_err on failure. */
int ff_store_schema_version(PGconn *conn);

/* ---- connections ---- */

/* Opens a connection to conninfo (a libpq connection string or URI) with
 * application_name set to app_name. Returns the connection, or NULL with
 * PostgreSQL's reason, control characters escaped, in errbuf. */
PGconn *ff_store_open(const char *conninfo, const char *app_name, char *errbuf, size_t errlen);

/* ---- array literals ---- */

/* A growing PostgreSQL array literal: {"a","b",NULL}, {1,2}. Begin, add,
 * end; the text is in .p. Out of memory is sticky (.oom) and reported by
 * ff_pg_array_end. */
typedef struct ff_pg_array {
	char *p;
	size_t len, cap, n;
	bool oom;
} ff_pg_array;
#define FF_PG_ARRAY_INITIALIZER { NULL, 0, 0, 0, false }

void ff_pg_array_begin(ff_pg_array *a);
void ff_pg_array_text(ff_pg_array *a, const char *s); /* NULL: SQL NULL */
void ff_pg_array_i64(ff_pg_array *a, int64_t v);
/* Closes the literal. Returns FF_OK or FF_ERR_NOMEM. */
int ff_pg_array_end(ff_pg_array *a);
void ff_pg_array_free(ff_pg_array *a);

/* ---- the gallery's vectors ---- */

/* Writes v[0..dim) as a real[] literal ("{0.0123,-0.5,...}", 9 significant
 * digits: float round-trips) into out. Returns FF_OK, FF_ERR_INVAL (NULL,
 * dim 0 or a value that is not finite) or FF_ERR_RANGE (cap too small). */
int ff_store_vector_format(const float *v, size_t dim, char *out, size_t cap);

/* Parses a real[] text into out[dim]. Returns FF_OK, or FF_ERR_FORMAT when it
 * is not an array of exactly dim finite numbers. */
int ff_store_vector_parse(const char *text, float *out, size_t dim);

#ifdef __cplusplus
}
#endif
#endif
