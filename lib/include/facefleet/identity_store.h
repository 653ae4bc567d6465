/* facefleet/identity_store.h: enrolment and erasure of identities in
 * PostgreSQL (lib/store/identity.c), the statements fleetctl (identity
 * enroll / delete) and fleet-backend's HTTP API (POST / DELETE
 * /api/v1/identities) both run, so the two paths cannot drift. Each runs in
 * the caller's open transaction; the caller writes its audit row and commits
 * (or rolls back on any error). */
#ifndef FF_IDENTITY_STORE_H
#define FF_IDENTITY_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define FF_IDENTITY_SITES_MAX (64 * 34 + 4) /* a text[] literal of up to 64 site ids */

typedef struct ff_identity_row {
	char id[24];                         /* identities.identity_id */
	char sites[FF_IDENTITY_SITES_MAX];   /* allowed_sites as stored, "{}" = every site */
	bool created;                        /* the row is new */
} ff_identity_row;

/* The identity `name` made or re-enabled: a new one gets sites_arr (a text[]
 * literal, "{}" = every site) and display_name (NULL: name); an existing one
 * keeps its sites unless sites_given. Returns FF_OK or FF_ERR_DB (message in
 * errbuf). */
int ff_identity_upsert(PGconn *db, const char *name, const char *display_name,
		       const char *sites_arr, bool sites_given, ff_identity_row *out,
		       char *errbuf, size_t errlen);
/* One face template (vec: ff_store_vector_format text) of identity_id under
 * model_id; source names where it came from. FF_OK or FF_ERR_DB. */
int ff_identity_add_template(PGconn *db, const char *identity_id, const char *model_id,
			     const char *vec, const char *source, char *errbuf, size_t errlen);

/* What an erasure did (counts as PostgreSQL printed them). */
typedef struct ff_erasure {
	char id[24];
	char pseudonym[48];                  /* "erased-<id>" */
	char templates[24], events[24], audit_rows[24];
} ff_erasure;

/* Erases identity `name`: its templates deleted, its name replaced by the
 * pseudonym in past events' top-k, in the audit details that named it
 * (ff_audit_scrub_identity) and in its row (disabled, no sites). Returns
 * FF_OK, FF_ERR_NOTFOUND (no such identity) or FF_ERR_DB (errbuf). */
int ff_identity_erase(PGconn *db, const char *name, ff_erasure *out, char *errbuf, size_t errlen);

#endif
