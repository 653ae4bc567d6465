/* backend/store/migrate.h: numbered SQL migrations for the backend database.
 *
 * ff_store_migrate applies backend/migrations/NNN_name.sql files in number
 * order. Each file runs inside its own transaction together with its row in
 * schema_migrations (version, name, checksum, applied_at), so a file is
 * either fully applied and recorded or not at all. Already recorded versions
 * are skipped, which makes the call idempotent; a recorded file whose
 * checksum changed since is reported as a warning (never re-applied).
 * Concurrent callers (several backend processes starting together) are
 * serialised with a PostgreSQL advisory lock. */
#ifndef FACEFLEET_STORE_MIGRATE_H
#define FACEFLEET_STORE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Applies pending migrations from dir (NULL: the FF_MIGRATIONS_DIR
 * environment variable, else the source tree's backend/migrations).
 * *applied (may be NULL) receives how many files were applied now.
 * Returns FF_OK; FF_ERR_INVAL (NULL conn); FF_ERR_NOTFOUND (no dir);
 * FF_ERR_FORMAT (bad file name, duplicate number, unreadable file, no files);
 * FF_ERR_DB (SQL failed: errbuf names the file and PostgreSQL's message;
 * that file's transaction was rolled back, earlier files stay applied). */
int ff_store_migrate(PGconn *conn, const char *dir, int *applied, char *errbuf, size_t errlen);

/* Highest applied version, or 0 when none; negative ff_err on failure. */
int ff_store_schema_version(PGconn *conn);

#ifdef __cplusplus
}
#endif
#endif
