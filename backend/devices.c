/* Device cache with replay high-water marks (registry.h). A sorted array
 * under a read-write lock; marks are atomics so that committing writers only
 * take the read lock. */
#include "registry.h"

#include "facefleet/error.h"
#include "facefleet/log.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "devices"

typedef struct dev {
	char id[FF_ID_MAX + 1];
	char site[FF_ID_MAX + 1];
	bool enabled;
	int generation;   /* devices.seq_generation: a new one lets the mark go down */
	float threshold;  /* its own threshold, else its site's (migration 009); NaN: none */
	atomic_ullong hwm;
	be_budget budget; /* under budget_mu */
	int status;         /* its last DeviceStatus.state (0: none yet), under budget_mu */
	int64_t status_us;  /* when that status was seen, unix us, under budget_mu */
	bool is_new;        /* during a reload: not in the previous table */
} dev;

struct be_devices {
	pthread_rwlock_t lock;
	pthread_mutex_t budget_mu;
	dev *v;
	size_t n;
	bool loaded;            /* a reload succeeded: later ones can tell new devices */
	be_devices_new_cb on_new; /* set before the first reload */
	void *on_new_ctx;
};

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const dev *)a)->id, ((const dev *)b)->id);
}

static dev *find(be_devices *d, const char *id)
{
	dev key;
	if (!d->n || strlen(id) > FF_ID_MAX) /* empty: no table yet (bsearch(NULL) is UB) */
		return NULL;
	strcpy(key.id, id);
	return bsearch(&key, d->v, d->n, sizeof(dev), cmp_dev);
}

int be_devices_create(be_devices **out)
{
	be_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return FF_ERR_NOMEM;
	pthread_rwlock_init(&d->lock, NULL);
	pthread_mutex_init(&d->budget_mu, NULL);
	*out = d;
	return FF_OK;
}

void be_devices_free(be_devices *d)
{
	if (!d)
		return;
	pthread_rwlock_destroy(&d->lock);
	pthread_mutex_destroy(&d->budget_mu);
	free(d->v);
	free(d);
}

int be_devices_reload(be_devices *d, PGconn *db)
{
	PGresult *r = PQexec(db, "SELECT d.device_id, d.site_id, d.enabled, d.last_seq, "
				 "d.seq_generation, COALESCE(d.threshold, s.threshold) "
				 "FROM devices d LEFT JOIN sites s ON s.site_id = d.site_id "
				 "ORDER BY d.device_id COLLATE \"C\"");
	dev *v = NULL, *old;
	size_t n = 0;
	int rc = FF_OK;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ff_log_warn(LOG_COMP, "event=reload_failed err=\"%s\"", PQerrorMessage(db));
		PQclear(r);
		return FF_ERR_DB;
	}
	n = (size_t)PQntuples(r);
	v = calloc(n ? n : 1, sizeof(dev));
	if (!v) {
		PQclear(r);
		return FF_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "%s", PQgetvalue(r, (int)i, 0));
		snprintf(v[i].site, sizeof(v[i].site), "%s", PQgetvalue(r, (int)i, 1));
		v[i].enabled = PQgetvalue(r, (int)i, 2)[0] == 't';
		atomic_init(&v[i].hwm, strtoull(PQgetvalue(r, (int)i, 3), NULL, 10));
		v[i].generation = atoi(PQgetvalue(r, (int)i, 4));
		v[i].threshold = PQgetisnull(r, (int)i, 5) ? NAN : strtof(PQgetvalue(r, (int)i, 5), NULL);
	}
	PQclear(r);
	qsort(v, n, sizeof(dev), cmp_dev); /* strcmp order, whatever the collation */

	pthread_rwlock_wrlock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		dev *o = find(d, v[i].id);
		if (!o && d->loaded && d->on_new)
			v[i].is_new = true;
		if (o) {
			v[i].budget = o->budget; /* a reload is no refill */
			v[i].status = o->status;  /* nor news of the device */
			v[i].status_us = o->status_us;
			if (v[i].enabled && !o->enabled) { /* enabled again by an operator */
				v[i].budget.disabled = false;
				v[i].budget.flooding_since_us = 0;
			}
		}
		if (o && o->generation == v[i].generation) {
			unsigned long long h = atomic_load(&o->hwm);
			if (h > atomic_load(&v[i].hwm))
				atomic_store(&v[i].hwm, h);
		}
	}
	old = d->v;
	d->v = v;
	d->n = n;
	d->loaded = true;
	/* only this (the listener's) thread swaps the table: v stays valid */
	pthread_rwlock_unlock(&d->lock);
	free(old);
	for (size_t i = 0; i < n; i++)
		if (v[i].is_new)
			d->on_new(d->on_new_ctx, v[i].site, v[i].id, atomic_load(&v[i].hwm));
	ff_log_info(LOG_COMP, "event=reloaded devices=%zu", n);
	return rc;
}

void be_devices_on_new(be_devices *d, be_devices_new_cb cb, void *ctx)
{
	d->on_new = cb;
	d->on_new_ctx = ctx;
}

int be_devices_set(be_devices *d, const char *device_id, const char *site_id, bool enabled)
{
	dev *e, *v;
	if (!device_id || !site_id || strlen(device_id) > FF_ID_MAX || strlen(site_id) > FF_ID_MAX)
		return FF_ERR_INVAL;
	pthread_rwlock_wrlock(&d->lock);
	e = find(d, device_id);
	if (!e) {
		v = realloc(d->v, (d->n + 1) * sizeof(dev));
		if (!v) {
			pthread_rwlock_unlock(&d->lock);
			return FF_ERR_NOMEM;
		}
		d->v = v;
		e = &d->v[d->n++];
		memset(e, 0, sizeof(*e));
		strcpy(e->id, device_id);
		atomic_init(&e->hwm, 0);
		e->threshold = NAN;
	}
	strcpy(e->site, site_id);
	e->enabled = enabled;
	qsort(d->v, d->n, sizeof(dev), cmp_dev);
	pthread_rwlock_unlock(&d->lock);
	return FF_OK;
}

const char *be_devices_check(be_devices *d, const char *device_id, const char *site_id,
			     uint64_t seq, uint64_t window, uint64_t max_jump)
{
	const char *why = NULL;
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (!e)
		why = "unknown_device";
	else if (!e->enabled)
		why = "device_disabled";
	else if (strcmp(e->site, site_id) != 0)
		why = "site_mismatch";
	else {
		unsigned long long h = atomic_load(&e->hwm);
		if (h > window && seq <= h - window)
			why = "replay";
		else if (seq > h && seq - h > max_jump)
			why = "seq_jump"; /* would lock the device out: later seqs all replays */
	}
	pthread_rwlock_unlock(&d->lock);
	return why;
}

/* The excess: counted, audited once a minute, and the end of a device that
 * keeps flooding. */
static be_budget_verdict budget_drop(be_budget *b, const be_budget_limits *l, int64_t now_us,
				     uint64_t *dropped)
{
	be_budget_verdict v = BE_BUDGET_DROP_AUDIT;
	b->dropped++;
	b->last_drop_us = now_us;
	if (!b->flooding_since_us)
		b->flooding_since_us = now_us;
	if (!b->disabled && l->disable_after_us > 0 &&
	    now_us - b->flooding_since_us >= l->disable_after_us) {
		b->disabled = true;
		v = BE_BUDGET_DISABLE;
	} else if (b->audited_us && now_us - b->audited_us < BE_BUDGET_AUDIT_US) {
		return BE_BUDGET_DROP;
	}
	*dropped = b->dropped;
	b->dropped = 0;
	b->audited_us = now_us;
	return v;
}

be_budget_verdict be_budget_take(be_budget *b, const be_budget_limits *l, int64_t now_us,
				 uint64_t *dropped)
{
	if (l->rate <= 0)
		return BE_BUDGET_OK;
	if (b->disabled || !ff_bucket_take(&b->bucket, l->rate, l->burst, now_us))
		return budget_drop(b, l, now_us, dropped);
	if (b->flooding_since_us && now_us - b->last_drop_us >= BE_BUDGET_CALM_US)
		b->flooding_since_us = 0;
	return b->bucket.tokens < l->burst - 2 * l->rate ? BE_BUDGET_OK_BURST : BE_BUDGET_OK;
}

be_budget_verdict be_devices_take(be_devices *d, const char *device_id, const be_budget_limits *l,
				  int64_t now_us, uint64_t *dropped)
{
	static const be_budget_limits none = { 0, 0, 0 }; /* a disabled device: drop, never "disable" */
	be_budget_verdict v = BE_BUDGET_OK;
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e) {
		pthread_mutex_lock(&d->budget_mu);
		v = e->enabled ? be_budget_take(&e->budget, l, now_us, dropped)
			       : budget_drop(&e->budget, &none, now_us, dropped);
		pthread_mutex_unlock(&d->budget_mu);
	}
	pthread_rwlock_unlock(&d->lock);
	return v;
}

double be_devices_threshold(be_devices *d, const char *device_id, double global)
{
	double t = global;
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e && !isnan(e->threshold))
		t = e->threshold;
	pthread_rwlock_unlock(&d->lock);
	return t;
}

uint64_t be_devices_last_seq(be_devices *d, const char *device_id)
{
	uint64_t v = 0;
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e)
		v = atomic_load(&e->hwm);
	pthread_rwlock_unlock(&d->lock);
	return v;
}

void be_devices_mark(be_devices *d, const char *device_id, uint64_t seq)
{
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e) {
		unsigned long long h = atomic_load(&e->hwm);
		while (seq > h && !atomic_compare_exchange_weak(&e->hwm, &h, seq))
			;
	}
	pthread_rwlock_unlock(&d->lock);
}

size_t be_devices_count(be_devices *d)
{
	size_t n;
	pthread_rwlock_rdlock(&d->lock);
	n = d->n;
	pthread_rwlock_unlock(&d->lock);
	return n;
}

int be_devices_set_status(be_devices *d, const char *device_id, const char *site_id, int state,
			  int64_t seen_us)
{
	int rc = FF_ERR_NOTFOUND;
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e && strcmp(e->site, site_id) == 0) {
		pthread_mutex_lock(&d->budget_mu);
		e->status = state;
		e->status_us = seen_us;
		pthread_mutex_unlock(&d->budget_mu);
		rc = FF_OK;
	}
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

bool be_devices_status(be_devices *d, const char *device_id, int *state, int64_t *seen_us)
{
	dev *e;
	pthread_rwlock_rdlock(&d->lock);
	e = find(d, device_id);
	if (e) {
		pthread_mutex_lock(&d->budget_mu);
		*state = e->status;
		*seen_us = e->status_us;
		pthread_mutex_unlock(&d->budget_mu);
	}
	pthread_rwlock_unlock(&d->lock);
	return e != NULL;
}
