/* Enrolled gallery in memory (registry.h): unit embeddings, the identity of
 * each, cosine top-k per identity. Swapped whole under a read-write lock. */
#include "registry.h"

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/store.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "gallery"

typedef struct ident {
	int64_t id;
	char ext[BE_EXTID_MAX + 1];
	bool enabled;
	char *sites; /* ",a,b," or NULL = every site */
} ident;

typedef struct snapshot {
	size_t dim, nt, ni;
	float *emb;     /* nt * dim */
	int *owner;     /* template -> identity index; templates grouped by identity */
	ident *ids;
} snapshot;

struct be_gallery {
	pthread_rwlock_t lock;
	size_t dim;
	snapshot *cur;
};

static void snap_free(snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ni; i++)
		free(s->ids[i].sites);
	free(s->ids);
	free(s->emb);
	free(s->owner);
	free(s);
}

int be_gallery_create(size_t dim, be_gallery **out)
{
	be_gallery *g = calloc(1, sizeof(*g));
	if (!g)
		return FF_ERR_NOMEM;
	g->dim = dim;
	pthread_rwlock_init(&g->lock, NULL);
	*out = g;
	return FF_OK;
}

void be_gallery_free(be_gallery *g)
{
	if (!g)
		return;
	snap_free(g->cur);
	pthread_rwlock_destroy(&g->lock);
	free(g);
}

int be_gallery_reload(be_gallery *g, PGconn *db, const char *model_id)
{
	const char *params[1] = { model_id };
	PGresult *r = PQexecParams(db,
				   "SELECT i.identity_id, i.external_id, i.enabled, "
				   "       array_to_string(i.allowed_sites, ','), t.embedding "
				   "FROM face_templates t JOIN identities i USING (identity_id) "
				   "WHERE t.model_id = $1 ORDER BY i.identity_id, t.template_id",
				   1, NULL, params, NULL, NULL, 0);
	snapshot *s = NULL, *old;
	size_t rows, skipped = 0;
	int rc = FF_OK;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ff_log_warn(LOG_COMP, "event=reload_failed err=\"%s\"", PQerrorMessage(db));
		PQclear(r);
		return FF_ERR_DB;
	}
	rows = (size_t)PQntuples(r);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->emb = malloc((rows ? rows : 1) * g->dim * sizeof(float))) ||
	    !(s->owner = malloc((rows ? rows : 1) * sizeof(int))) ||
	    !(s->ids = calloc(rows ? rows : 1, sizeof(ident)))) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	s->dim = g->dim;
	for (size_t i = 0; i < rows; i++) {
		int64_t id = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		float *e = s->emb + s->nt * g->dim;
		if (ff_store_vector_parse(PQgetvalue(r, (int)i, 4), e, g->dim) != FF_OK) {
			skipped++;
			continue;
		}
		ff_l2_normalize(e, g->dim);
		if (s->ni == 0 || s->ids[s->ni - 1].id != id) {
			ident *d = &s->ids[s->ni++];
			const char *sites = PQgetvalue(r, (int)i, 3);
			d->id = id;
			snprintf(d->ext, sizeof(d->ext), "%s", PQgetvalue(r, (int)i, 1));
			d->enabled = PQgetvalue(r, (int)i, 2)[0] == 't';
			if (*sites) {
				size_t n = strlen(sites);
				d->sites = malloc(n + 3);
				if (!d->sites) {
					rc = FF_ERR_NOMEM;
					goto out;
				}
				d->sites[0] = ',';
				memcpy(d->sites + 1, sites, n);
				d->sites[n + 1] = ',';
				d->sites[n + 2] = '\0';
			}
		}
		s->owner[s->nt++] = (int)(s->ni - 1);
	}
	if (skipped)
		ff_log_warn(LOG_COMP, "event=templates_skipped count=%zu reason=\"not %zu finite values\"",
			    skipped, g->dim);
	pthread_rwlock_wrlock(&g->lock);
	old = g->cur;
	g->cur = s;
	pthread_rwlock_unlock(&g->lock);
	ff_log_info(LOG_COMP, "event=reloaded model=%s templates=%zu identities=%zu", model_id,
		    s->nt, s->ni);
	s = old;
out:
	snap_free(s);
	PQclear(r);
	return rc;
}

static bool site_allowed(const ident *d, const char *site)
{
	char key[FF_ID_MAX + 3];
	if (!d->enabled)
		return false;
	if (!d->sites)
		return true;
	snprintf(key, sizeof(key), ",%s,", site);
	return strstr(d->sites, key) != NULL;
}

int be_gallery_match(be_gallery *g, const float *emb, const char *site, int k, be_match *out)
{
	int n = 0;
	pthread_rwlock_rdlock(&g->lock);
	snapshot *s = g->cur;
	if (s && s->nt) {
		size_t t = 0;
		while (t < s->nt) {
			int who = s->owner[t];
			float best = -2.0f;
			for (; t < s->nt && s->owner[t] == who; t++) {
				float c = ff_cosine(emb, s->emb + t * s->dim, s->dim);
				if (c > best)
					best = c;
			}
			/* insert into the sorted top-k */
			int pos = n < k ? n : k;
			while (pos > 0 && out[pos - 1].score < best)
				pos--;
			if (pos >= k)
				continue;
			if (n < k)
				n++;
			memmove(&out[pos + 1], &out[pos], (size_t)(n - 1 - pos) * sizeof(be_match));
			out[pos].identity_id = s->ids[who].id;
			memcpy(out[pos].external_id, s->ids[who].ext, sizeof(out[pos].external_id));
			out[pos].score = best;
			out[pos].allowed = site_allowed(&s->ids[who], site);
		}
	}
	pthread_rwlock_unlock(&g->lock);
	return n;
}

void be_gallery_size(be_gallery *g, size_t *templates, size_t *identities)
{
	pthread_rwlock_rdlock(&g->lock);
	*templates = g->cur ? g->cur->nt : 0;
	*identities = g->cur ? g->cur->ni : 0;
	pthread_rwlock_unlock(&g->lock);
}
