/* Face tracks on the device: the detections of successive video frames are
 * joined into tracks (box overlap plus landmark distance), and each track
 * sends only a few of its faces (at most max_faces): the first that passes
 * the quality gate at once (latency matters at a door), then later ones that
 * are clearly better or taken at another moment. A person in front of a
 * 15 fps camera for two seconds is thus a handful of 128-byte messages, not
 * thirty, and the backend can fuse them per track. */
#include "device.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

#define LOG_COMP "track"
#define SLOTS 64 /* tracks alive at once (max_faces per frame is at most 64) */
/* A detection continues a track when the boxes overlap this much, or when
 * the landmarks moved less than this share of the face's size (a face that
 * moves fast between analysed frames keeps its track). */
#define MIN_IOU 0.2f
#define MAX_LM_SHIFT 0.5f

typedef struct track {
	bool live;
	uint64_t id;            /* seq of its first sent face; 0 until then */
	float box[4], lm[10];   /* last seen */
	int64_t first_ms, seen_ms, sent_ms;
	uint32_t seen, sent;
	float best;             /* best quality sent */
	float pending_q;        /* this frame's face, until dev_tracker_sent */
	int64_t pending_ms;
} track;

struct dev_tracker {
	dev_track_options opt;
	track t[SLOTS];
	int64_t last_ms;
	uint64_t started, ended, with_faces;
};

int dev_tracker_create(const dev_track_options *o, dev_tracker **out)
{
	dev_tracker *t;
	if (!o || o->max_faces < 1 || o->timeout_ms < 0)
		return FF_ERR_INVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return FF_ERR_NOMEM;
	t->opt = *o;
	t->last_ms = INT64_MIN;
	*out = t;
	return FF_OK;
}

static void track_end(dev_tracker *t, track *k, const char *why)
{
	ff_log_info(LOG_COMP, "event=track_end track_id=%llu seen=%u sent=%u duration_ms=%lld reason=%s",
		    (unsigned long long)k->id, k->seen, k->sent, (long long)(k->seen_ms - k->first_ms), why);
	t->ended++;
	t->with_faces += k->sent > 0;
	k->live = false;
}

void dev_tracker_flush(dev_tracker *t)
{
	for (int i = 0; i < SLOTS; i++)
		if (t->t[i].live)
			track_end(t, &t->t[i], "flush");
}

void dev_tracker_free(dev_tracker *t)
{
	free(t);
}

void dev_tracker_stats(const dev_tracker *t, dev_track_stats *st)
{
	st->started = t->started;
	st->ended = t->ended;
	st->with_faces = t->with_faces;
	st->live = t->started - t->ended;
}

static float iou(const float a[4], const float b[4])
{
	float ix = fminf(a[2], b[2]) - fmaxf(a[0], b[0]) + 1;
	float iy = fminf(a[3], b[3]) - fmaxf(a[1], b[1]) + 1;
	float ua = (a[2] - a[0] + 1) * (a[3] - a[1] + 1), ub = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
	if (ix <= 0 || iy <= 0)
		return 0;
	return ix * iy / (ua + ub - ix * iy);
}

/* Mean landmark distance over the track's face size (its box's shorter side). */
static float lm_shift(const track *k, const ff_face *f)
{
	float d = 0, side = fminf(k->box[2] - k->box[0], k->box[3] - k->box[1]) + 1;
	for (int p = 0; p < 5; p++)
		d += hypotf(f->landmarks[2 * p] - k->lm[2 * p], f->landmarks[2 * p + 1] - k->lm[2 * p + 1]);
	return side > 0 ? d / 5 / side : INFINITY;
}

/* How well face f continues track k: > 0 when it may, higher is closer. */
static float affinity(const track *k, const ff_face *f)
{
	const float b[4] = { f->x0, f->y0, f->x1, f->y1 };
	float o = iou(k->box, b), s = lm_shift(k, f);
	if (o < MIN_IOU && s > MAX_LM_SHIFT)
		return 0;
	return o + (1 - fminf(s, 1)) + 1e-3f;
}

/* Ends tracks unseen longer than the timeout; all of them when the clock
 * went back (a file played again, a stream that restarted its clock). */
static void expire(dev_tracker *t, int64_t now)
{
	bool back = t->last_ms != INT64_MIN && now < t->last_ms;
	for (int i = 0; i < SLOTS; i++) {
		track *k = &t->t[i];
		if (k->live && (back || now - k->seen_ms > t->opt.timeout_ms))
			track_end(t, k, back ? "clock_back" : "timeout");
	}
	t->last_ms = now;
}

/* Greedy matching, best pairs first: out[i].slot = the track of face i or -1. */
static void associate(dev_tracker *t, const ff_face *faces, size_t n, dev_track_verdict *out)
{
	bool used[SLOTS] = { false };
	for (size_t i = 0; i < n; i++)
		out[i].slot = -1;
	for (;;) {
		float best = 0;
		int bs = -1;
		size_t bi = 0;
		for (size_t i = 0; i < n; i++)
			for (int s = 0; s < SLOTS && out[i].slot < 0; s++) {
				float a = t->t[s].live && !used[s] ? affinity(&t->t[s], &faces[i]) : 0;
				if (a > best)
					best = a, bs = s, bi = i;
			}
		if (bs < 0)
			return;
		out[bi].slot = bs;
		used[bs] = true;
	}
}

/* A free slot for a new track: an unused one, else the least recently seen
 * track ends early (more faces at once than SLOTS is not a door). */
static int new_slot(dev_tracker *t, int64_t now)
{
	int old = 0;
	for (int s = 0; s < SLOTS; s++) {
		if (!t->t[s].live) {
			memset(&t->t[s], 0, sizeof(t->t[s]));
			t->t[s].live = true;
			t->t[s].first_ms = now;
			t->started++;
			return s;
		}
		if (t->t[s].seen_ms < t->t[old].seen_ms)
			old = s;
	}
	track_end(t, &t->t[old], "evicted");
	return new_slot(t, now);
}

static int start_track(dev_tracker *t, const ff_face *f, int64_t now)
{
	int s = new_slot(t, now);
	ff_log_debug(LOG_COMP, "event=track_start slot=%d box=%.0f,%.0f,%.0f,%.0f t_ms=%lld", s, f->x0,
		     f->y0, f->x1, f->y1, (long long)now);
	return s;
}

/* The policy: whether track k sends a face of quality q seen at now. */
static bool worth_sending(const dev_tracker *t, const track *k, float q, int64_t now)
{
	if (q < 0 || q < t->opt.min_quality || k->sent >= (uint32_t)t->opt.max_faces)
		return false;
	if (k->sent == 0)
		return true;
	return q >= k->best + t->opt.better_margin || now - k->sent_ms >= t->opt.moment_ms;
}

static void observe(track *k, const ff_face *f, float q, int64_t now)
{
	k->box[0] = f->x0, k->box[1] = f->y0, k->box[2] = f->x1, k->box[3] = f->y1;
	memcpy(k->lm, f->landmarks, sizeof(k->lm));
	k->seen_ms = now;
	k->seen++;
	k->pending_q = q;
	k->pending_ms = now;
}

int dev_tracker_frame(dev_tracker *t, int64_t t_ms, const ff_face *faces, const float *quality,
		      size_t n, dev_track_verdict *out)
{
	if (!t || (n && (!faces || !quality || !out)))
		return FF_ERR_INVAL;
	expire(t, t_ms);
	associate(t, faces, n, out);
	/* matched faces first, so that a new track never takes a slot seen now */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((out[i].slot < 0) != (pass == 1))
				continue;
			if (pass == 1)
				out[i].slot = start_track(t, &faces[i], t_ms);
			observe(&t->t[out[i].slot], &faces[i], quality[i], t_ms);
		}
	for (size_t i = 0; i < n; i++) {
		const track *k = &t->t[out[i].slot];
		out[i].send = worth_sending(t, k, quality[i], t_ms);
		out[i].index = k->sent;
		out[i].track_id = k->id;
	}
	return FF_OK;
}

uint64_t dev_tracker_sent(dev_tracker *t, dev_track_verdict *v, uint64_t seq)
{
	track *k = &t->t[v->slot];
	if (!k->id)
		k->id = seq;
	k->sent++;
	k->sent_ms = k->pending_ms;
	if (k->pending_q > k->best)
		k->best = k->pending_q;
	v->track_id = k->id;
	return k->id;
}
