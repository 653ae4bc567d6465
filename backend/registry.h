/* backend/registry.h: the in-memory copies of PostgreSQL state the hot path
 * reads without a round trip: the device table with per-device replay
 * high-water marks (devices.c), and the enrolled gallery (gallery.c). Both
 * are reloaded by store_listen.c at start, on NOTIFY and after reconnects. */
#ifndef BE_BACKEND_REGISTRY_H
#define BE_BACKEND_REGISTRY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "facefleet/bucket.h"

/* ---- devices ---- */
typedef struct be_devices be_devices;

int be_devices_create(be_devices **out);
void be_devices_free(be_devices *d);
/* Replaces the table from `devices`; high-water marks never go down, except
 * for a device whose seq_generation changed (fleetctl device reset-seq):
 * its mark becomes the table's last_seq. Returns FF_OK or FF_ERR_DB (table
 * kept). */
int be_devices_reload(be_devices *d, PGconn *db);
/* Called by a reload, outside the locks, for each device that was not in
 * the previously loaded table (provisioned while the backend runs). */
typedef void (*be_devices_new_cb)(void *ctx, const char *site, const char *device_id,
				  uint64_t last_seq);
/* Sets the callback (before the first reload). */
void be_devices_on_new(be_devices *d, be_devices_new_cb cb, void *ctx);
/* Adds device_id (or replaces its site and enabled flag) without the
 * database, high-water mark 0 for a new one: for tests and fuzz targets.
 * Returns FF_OK, FF_ERR_INVAL (id or site longer than FF_ID_MAX),
 * FF_ERR_NOMEM. */
int be_devices_set(be_devices *d, const char *device_id, const char *site_id, bool enabled);
/* Checks that device_id exists, is enabled, belongs to site_id and that seq
 * is neither older than its high-water mark minus window nor more than
 * max_jump above it. Returns NULL when fine, else the reject reason
 * ("unknown_device", "device_disabled", "site_mismatch", "replay",
 * "seq_jump"). */
const char *be_devices_check(be_devices *d, const char *device_id, const char *site_id,
			     uint64_t seq, uint64_t window, uint64_t max_jump);
/* A device's face budget: a token bucket of `burst` faces refilled at
 * `rate` a second. What a device sends beyond it is dropped before any
 * decoding (one flooding device must not slow or push out the others'
 * faces); one drop a minute is audited with the count since the last. A
 * device that keeps flooding (drops with no calm of BE_BUDGET_CALM_US for
 * disable_after_us) is disabled: one BE_BUDGET_DISABLE verdict, everything
 * dropped after it. */
#define BE_BUDGET_AUDIT_US (60LL * 1000000)
#define BE_BUDGET_CALM_US (10LL * 1000000)
typedef struct be_budget_limits {
	double rate, burst;       /* rate <= 0: no budget */
	int64_t disable_after_us; /* 0: never disable */
} be_budget_limits;
typedef struct be_budget {
	ff_bucket bucket;
	int64_t audited_us;        /* last audited drop (monotonic) */
	uint64_t dropped;          /* since then */
	int64_t flooding_since_us; /* first drop of the current flood (0: calm) */
	int64_t last_drop_us;
	bool disabled;             /* disabled for flooding */
} be_budget;
typedef enum {
	BE_BUDGET_OK,         /* within budget: decide it */
	BE_BUDGET_OK_BURST,   /* within budget, but more than 2 s of rate beyond it: decide it
			       * after the other devices' faces (queue lane 1) */
	BE_BUDGET_DROP,       /* over: drop, acknowledge, count */
	BE_BUDGET_DROP_AUDIT, /* over, and the minute's audit row is due (*dropped set) */
	BE_BUDGET_DISABLE,    /* over for too long: disable the device (*dropped set) */
} be_budget_verdict;
/* One face out of b at now_us. */
be_budget_verdict be_budget_take(be_budget *b, const be_budget_limits *l, int64_t now_us,
				 uint64_t *dropped);
/* be_budget_take on device_id's budget (BE_BUDGET_OK for an unknown id); a
 * disabled device's faces are all dropped (audited once a minute). */
be_budget_verdict be_devices_take(be_devices *d, const char *device_id, const be_budget_limits *l,
				  int64_t now_us, uint64_t *dropped);
/* The threshold of device_id's faces: its own override, else its site's
 * threshold (devices.threshold, sites.threshold: migration 009, loaded by
 * the reload), else global (the configured one; an unknown id gets it too).
 * backend/THRESHOLD.md. */
double be_devices_threshold(be_devices *d, const char *device_id, double global);
/* device_id's high-water mark (0 for an unknown id). */
uint64_t be_devices_last_seq(be_devices *d, const char *device_id);
/* Raises device_id's high-water mark to seq (after a commit). */
void be_devices_mark(be_devices *d, const char *device_id, uint64_t seq);
size_t be_devices_count(be_devices *d);
/* The device's last DeviceStatus (status_watch.c): state (proto
 * DeviceState: 1 online, 2 offline, 3 degraded) seen at seen_us (unix us).
 * Kept in the device's entry, so what is held is bounded by the registry,
 * and kept across reloads. Returns FF_OK, or FF_ERR_NOTFOUND for a device
 * not in the registry or not of site_id (nothing kept). */
int be_devices_set_status(be_devices *d, const char *device_id, const char *site_id, int state,
			  int64_t seen_us);
/* device_id's last status into *state (0: none received yet) and *seen_us;
 * false (nothing written) for a device not in the registry. */
bool be_devices_status(be_devices *d, const char *device_id, int *state, int64_t *seen_us);

/* ---- gallery ---- */
typedef struct be_gallery be_gallery;

int be_gallery_create(size_t dim, be_gallery **out);
void be_gallery_free(be_gallery *g);
/* Loads every face_templates row of embedding model model_id (with its
 * identity) and swaps it in. Rows of another dimension are skipped (warned).
 * Returns FF_OK or FF_ERR_DB / FF_ERR_NOMEM (old gallery kept). */
int be_gallery_reload(be_gallery *g, PGconn *db, const char *model_id);
/* Best template score per identity, the k best identities, best first;
 * emb must be unit length. `allowed` is computed for site. Returns how many
 * were written (0 with an empty gallery). */
int be_gallery_match(be_gallery *g, const float *emb, const char *site, int k, be_match *out);
void be_gallery_size(be_gallery *g, size_t *templates, size_t *identities);

#endif
