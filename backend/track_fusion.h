/* backend/track_fusion.h: decisions per face track (track_fusion.c).
 *
 * A device reading video joins the faces of one person into a track and
 * sends a few of them (FaceCodes track_id, track_index; at most its
 * track_max_faces, default 3). Each face still gets its own decision and
 * event row; a face with a track is also added to its track, kept here in
 * memory per (device, track_id): the normalised embeddings of its faces and
 * their weights (FaceCodes.quality, 0 = unknown -> 1). The track is decided
 * on the fusion of its faces, the quality-weighted mean of the embeddings,
 * renormalised, matched against the gallery at its own threshold
 * (track_threshold). Only a face that changes its track's decision or
 * identity (the first decision included) carries an AccessEvent.
 *
 * Bounded: a track is forgotten track_ttl_s after its last face; at most
 * track_max tracks are held (a new one evicts the least recently fed); at
 * most track_max_faces faces per track (when full, the lowest weight goes).
 * State is per backend process: with several backends on one shared
 * subscription the faces of a track may be split between them
 * (docs/RELIABILITY.md). */
#ifndef BE_BACKEND_TRACK_FUSION_H
#define BE_BACKEND_TRACK_FUSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "registry.h"

#define BE_TRACK_FACES_MAX 16 /* largest track_max_faces */
#define BE_TRACK_DIM_MAX 1024 /* largest embedding */

typedef struct be_tracks_options {
	size_t dim;        /* embedding length, 1..BE_TRACK_DIM_MAX */
	size_t max_tracks; /* tracks held at once, >= 1 */
	int max_faces;     /* faces kept per track, 1..BE_TRACK_FACES_MAX */
	int64_t ttl_us;    /* a track is forgotten this long after its last face */
} be_tracks_options;

typedef struct be_tracks be_tracks;

/* Returns FF_OK, FF_ERR_INVAL (an option out of range) or FF_ERR_NOMEM. */
int be_tracks_create(const be_tracks_options *opt, be_tracks **out);
void be_tracks_free(be_tracks *t);

/* A face's weight in its track's fusion: its quality in (0, 1]; 0 (not
 * computed), a negative or non-finite value count as 1, above 1 as 1. */
float be_track_weight(float quality);

/* Adds face seq (emb: dim floats, normalised again here) with weight
 * be_track_weight(quality) to track (device, track_id) at now_us
 * (monotonic), and writes the fusion of the track's kept faces into fused
 * (dim floats, unit length). A seq the track holds already (a redelivery)
 * is not added twice. Tracks idle past the TTL are dropped first; a new
 * track when max_tracks are held evicts the least recently fed one. *version
 * identifies this fusion for be_tracks_decide. Returns the number of faces
 * fused (>= 1), or 0 when out of memory (nothing fused). */
int be_tracks_add(be_tracks *t, const char *device, uint64_t track_id, uint64_t seq,
		  float quality, const float *emb, int64_t now_us, float *fused, uint64_t *version);

/* Records the decision (d, identity_id: 0 unless granted or rejected) made
 * for face seq on the fusion `version` of the track. Returns true when it
 * changes the track's decision or identity (its first decision included):
 * that face carries the track's AccessEvent. The same face deciding the same
 * fusion again (a redelivery overtaking its first delivery) gets true again.
 * False when unchanged, when a newer fusion of the track was decided already
 * (two workers, one track), or when the track is gone. */
bool be_tracks_decide(be_tracks *t, const char *device, uint64_t track_id, uint64_t seq,
		      uint64_t version, be_decision d, int64_t identity_id);

/* Tracks held now (expired ones included until the next add sweeps them). */
size_t be_tracks_count(be_tracks *t);
/* Tracks dropped so far: idle past the TTL, and evicted while still live. */
void be_tracks_dropped(be_tracks *t, uint64_t *expired, uint64_t *evicted);

/* The worker's step for a recognised face of a track (j->track_id != 0, a
 * granted/unknown/rejected decision, emb its embedding): adds it, matches
 * the fusion against g at threshold and sets j's track_* fields
 * (track_decision NONE when nothing could be fused: the face then goes out
 * like one without a track). */
void be_track_decide_job(be_tracks *t, be_job *j, const float *emb, be_gallery *g,
			 double threshold, int64_t now_us);

#endif
