/* Decisions per face track: the tracks held in memory, their fusion and
 * the decision on it (track_fusion.h). */
#include "track_fusion.h"

#include "facefleet/error.h"
#include "facefleet/ids.h"
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kept_face {
	uint64_t seq;
	float w;
	uint64_t order; /* when it was kept: among equal weights the oldest goes first */
} kept_face;

typedef struct track {
	struct track *hnext;       /* hash chain */
	struct track *prev, *next; /* recency list: head = most recently fed */
	char device[FF_ID_MAX + 1];
	uint64_t id;
	int64_t last_us;           /* its last face (monotonic) */
	uint64_t version;          /* bumped each time its kept faces change */
	uint64_t decided_version;  /* the newest fusion decided (0: none) */
	be_decision decided;       /* NONE until the first decision */
	int64_t decided_identity;
	uint64_t changed_seq;      /* the face that made the decision in force a change */
	uint64_t order;
	int n;
	kept_face face[BE_TRACK_FACES_MAX];
	float emb[];               /* max_faces x dim, face i at i * dim */
} track;

struct be_tracks {
	pthread_mutex_t mu;
	be_tracks_options o;
	track **bucket;
	size_t nbucket; /* a power of two */
	track *head, *tail;
	size_t count;
	uint64_t expired, evicted;
};

float be_track_weight(float quality)
{
	if (!isfinite(quality) || quality <= 0.0f || quality > 1.0f)
		return 1.0f;
	return quality;
}

static size_t hash_key(const char *device, uint64_t id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)device; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((id >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return (size_t)h;
}

int be_tracks_create(const be_tracks_options *opt, be_tracks **out)
{
	be_tracks *t;
	if (!opt || !out || opt->dim == 0 || opt->dim > BE_TRACK_DIM_MAX || opt->max_tracks == 0 ||
	    opt->max_faces < 1 || opt->max_faces > BE_TRACK_FACES_MAX || opt->ttl_us <= 0)
		return FF_ERR_INVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return FF_ERR_NOMEM;
	t->o = *opt;
	t->nbucket = 64;
	while (t->nbucket < opt->max_tracks && t->nbucket < ((size_t)1 << 20))
		t->nbucket <<= 1;
	t->bucket = calloc(t->nbucket, sizeof(*t->bucket));
	if (!t->bucket) {
		free(t);
		return FF_ERR_NOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return FF_OK;
}

void be_tracks_free(be_tracks *t)
{
	if (!t)
		return;
	for (track *k = t->head, *next; k; k = next) {
		next = k->next;
		free(k);
	}
	free(t->bucket);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static track **slot_of(be_tracks *t, const char *device, uint64_t id)
{
	return &t->bucket[hash_key(device, id) & (t->nbucket - 1)];
}

static track *find(be_tracks *t, const char *device, uint64_t id)
{
	for (track *k = *slot_of(t, device, id); k; k = k->hnext)
		if (k->id == id && strcmp(k->device, device) == 0)
			return k;
	return NULL;
}

static void unlink_recency(be_tracks *t, track *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		t->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		t->tail = k->prev;
	k->prev = k->next = NULL;
}

static void push_front(be_tracks *t, track *k)
{
	k->prev = NULL;
	k->next = t->head;
	if (t->head)
		t->head->prev = k;
	t->head = k;
	if (!t->tail)
		t->tail = k;
}

static void drop(be_tracks *t, track *k)
{
	track **p = slot_of(t, k->device, k->id);
	while (*p && *p != k)
		p = &(*p)->hnext;
	if (*p)
		*p = k->hnext;
	unlink_recency(t, k);
	t->count--;
	free(k);
}

static bool idle(const be_tracks *t, const track *k, int64_t now_us)
{
	return now_us - k->last_us > t->o.ttl_us;
}

/* v /= |v|; a zero vector stays zero (it matches nothing) */
static void normalise(float *v, size_t dim)
{
	double s = 0;
	for (size_t i = 0; i < dim; i++)
		s += (double)v[i] * v[i];
	if (s > 0) {
		float inv = (float)(1.0 / sqrt(s));
		for (size_t i = 0; i < dim; i++)
			v[i] *= inv;
	}
}

/* The slot face seq goes into: a free one, else the lowest weight (the
 * oldest among equals) when seq weighs at least as much; -1: not kept. */
static int slot_for(const be_tracks *t, const track *k, float w)
{
	int low = 0;
	if (k->n < t->o.max_faces)
		return k->n;
	for (int i = 1; i < k->n; i++)
		if (k->face[i].w < k->face[low].w ||
		    (k->face[i].w == k->face[low].w && k->face[i].order < k->face[low].order))
			low = i;
	return w >= k->face[low].w ? low : -1;
}

int be_tracks_add(be_tracks *t, const char *device, uint64_t track_id, uint64_t seq,
		  float quality, const float *emb, int64_t now_us, float *fused, uint64_t *version)
{
	const size_t dim = t->o.dim;
	float w = be_track_weight(quality);
	track *k;
	bool have = false;
	int n = 0;

	pthread_mutex_lock(&t->mu);
	while (t->tail && idle(t, t->tail, now_us)) {
		drop(t, t->tail);
		t->expired++;
	}
	k = find(t, device, track_id);
	if (k && idle(t, k, now_us)) { /* out of order in the recency list: forgotten all the same */
		drop(t, k);
		t->expired++;
		k = NULL;
	}
	if (!k) {
		track **slot;
		if (t->count >= t->o.max_tracks && t->tail) {
			drop(t, t->tail);
			t->evicted++;
		}
		k = calloc(1, sizeof(*k) + (size_t)t->o.max_faces * dim * sizeof(float));
		if (!k)
			goto out;
		snprintf(k->device, sizeof(k->device), "%s", device);
		k->id = track_id;
		slot = slot_of(t, device, track_id);
		k->hnext = *slot;
		*slot = k;
		push_front(t, k);
		t->count++;
	} else if (t->head != k) {
		unlink_recency(t, k);
		push_front(t, k);
	}
	k->last_us = now_us;

	for (int i = 0; i < k->n && !have; i++)
		have = k->face[i].seq == seq;
	if (!have) {
		int s = slot_for(t, k, w);
		if (s >= 0) {
			memcpy(k->emb + (size_t)s * dim, emb, dim * sizeof(float));
			normalise(k->emb + (size_t)s * dim, dim);
			k->face[s] = (kept_face){ seq, w, ++k->order };
			if (s == k->n)
				k->n++;
			k->version++;
		}
	}
	memset(fused, 0, dim * sizeof(float));
	for (int i = 0; i < k->n; i++) {
		const float *e = k->emb + (size_t)i * dim;
		for (size_t d = 0; d < dim; d++)
			fused[d] += k->face[i].w * e[d];
	}
	normalise(fused, dim);
	*version = k->version;
	n = k->n;
out:
	pthread_mutex_unlock(&t->mu);
	return n;
}

bool be_tracks_decide(be_tracks *t, const char *device, uint64_t track_id, uint64_t seq,
		      uint64_t version, be_decision d, int64_t identity_id)
{
	bool changed = false;
	track *k;
	pthread_mutex_lock(&t->mu);
	k = find(t, device, track_id);
	if (k && version > k->decided_version) {
		changed = k->decided == BE_DECISION_NONE || k->decided != d ||
			  k->decided_identity != identity_id;
		k->decided_version = version;
		k->decided = d;
		k->decided_identity = identity_id;
		if (changed)
			k->changed_seq = seq;
	} else if (k && version == k->decided_version) {
		/* the face that made this change, again (a redelivery decided
		 * while the first delivery was still on its way): the same answer */
		changed = seq == k->changed_seq && d == k->decided &&
			  identity_id == k->decided_identity;
	}
	pthread_mutex_unlock(&t->mu);
	return changed;
}

size_t be_tracks_count(be_tracks *t)
{
	size_t n;
	pthread_mutex_lock(&t->mu);
	n = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void be_tracks_dropped(be_tracks *t, uint64_t *expired, uint64_t *evicted)
{
	pthread_mutex_lock(&t->mu);
	*expired = t->expired;
	*evicted = t->evicted;
	pthread_mutex_unlock(&t->mu);
}

void be_track_decide_job(be_tracks *t, be_job *j, const float *emb, be_gallery *g,
			 double threshold, int64_t now_us)
{
	float fused[BE_TRACK_DIM_MAX];
	uint64_t version = 0, expired = 0, evicted = 0;
	be_match top[1];
	be_decision d;
	int n = be_tracks_add(t, j->device_id, j->track_id, j->seq, j->quality, emb, now_us, fused,
			      &version);
	be_tracks_dropped(t, &expired, &evicted);
	be_metrics_set_tracks(be_tracks_count(t), expired, evicted);
	j->track_decision = BE_DECISION_NONE;
	j->track_changed = false;
	if (n <= 0)
		return; /* out of memory: decided as a face without a track */
	j->faces_fused = n;
	j->track_ntop = be_gallery_match(g, fused, j->site_id, 1, top);
	j->track_score = j->track_ntop ? top[0].score : 0.0f;
	if (j->track_ntop)
		j->track_top = top[0];
	if (j->track_ntop == 0) {
		d = BE_DECISION_UNKNOWN;
		snprintf(j->track_reason, sizeof(j->track_reason), "empty_gallery");
	} else if (top[0].score < threshold) {
		d = BE_DECISION_UNKNOWN;
		snprintf(j->track_reason, sizeof(j->track_reason), "below_threshold");
	} else if (!top[0].allowed) {
		d = BE_DECISION_REJECTED;
		snprintf(j->track_reason, sizeof(j->track_reason), "not_allowed");
	} else {
		d = BE_DECISION_GRANTED;
		j->track_reason[0] = '\0';
	}
	j->track_decision = d;
	j->track_changed = be_tracks_decide(t, j->device_id, j->track_id, j->seq, version, d,
					    d == BE_DECISION_UNKNOWN ? 0 : top[0].identity_id);
}
