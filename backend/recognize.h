/* backend/recognize.h: validation (validate.c) and recognition
 * (recognize.c) of one job, run by the worker threads.
 *
 * A job leaves validation either clean (reason empty), rejected without an
 * event (decision NONE: the sender cannot be trusted — unparseable, unknown
 * device, topic mismatch, replay; an audit row only) or rejected as an
 * INVALID event (the device is known and current, the payload is wrong:
 * model, sizes, indices; an event row, an audit row and an AccessEvent). */
#ifndef BE_BACKEND_RECOGNIZE_H
#define BE_BACKEND_RECOGNIZE_H

#include <stddef.h>

#include "backend.h"
#include "facefleet/vq.h"
#include "registry.h"

#define BE_MAX_VQ_MODELS 8

/* The VQ models this backend can decode (file paths and their metadata). */
typedef struct be_model_set {
	size_t n;
	char path[BE_MAX_VQ_MODELS][512];
	ff_vq_info info[BE_MAX_VQ_MODELS];
} be_model_set;

/* Finds <dir>/<id>.dec.ffn for each id of the comma-separated list, or every
 * *.dec.ffn of dir when list is empty, and reads their metadata. Returns
 * FF_OK (n >= 1), FF_ERR_NOTFOUND (none / a listed one missing), or the
 * decoder's load errors; reason in errbuf. */
int be_model_set_load(be_model_set *set, const char *dir, const char *list, char *errbuf,
		      size_t errlen);
/* Index of model_id in set, or -1. */
int be_model_set_find(const be_model_set *set, const char *model_id);

/* Plausible capture times (FaceCodes.capture_time_us): from 2020-01-01 UTC
 * to 5 minutes past the receive time; others are replaced by the latter. */
#define BE_CAPTURE_MIN_US (1577836800LL * 1000000)
#define BE_CAPTURE_SKEW_US (300LL * 1000000)

typedef struct be_validate_options {
	size_t max_payload;
	uint64_t replay_window;
	uint64_t max_seq_jump; /* seq more than this above the device's mark: seq_jump */
} be_validate_options;

/* fleet/<site>/<device>/faces -> site, device ([a-z0-9-]{1,32} each); false
 * when the topic is not that shape. */
bool be_faces_topic_parse(const char *topic, char site[FF_ID_MAX + 1], char dev[FF_ID_MAX + 1]);

/* Parses and checks j (see above); fills the parsed fields and j->idx. */
void be_validate(be_job *j, const be_model_set *models, be_devices *devices,
		 const be_validate_options *opt);

/* Packs a FaceCodes message for model vi as a device sends it (schema 2,
 * ff_facecodes_build: no ids, the topic fleet/<site>/<device>/faces names the
 * sender, so site and device are unused): idx, or when NULL pseudo-random
 * valid indices from seed. For tests and the benchmark. Returns the length
 * written, 0 when it does not fit or cannot pack. */
size_t be_face_codes_build(const ff_vq_info *vi, const char *site, const char *device,
			   uint64_t seq, int64_t capture_us, const uint16_t *idx, uint64_t seed,
			   uint8_t *buf, size_t cap);

/* One worker's nets: a decoder per model of the set and an embedder. */
typedef struct be_recognizer be_recognizer;

int be_recognizer_create(const be_model_set *set, const char *embed_path,
			 be_recognizer **out, char *errbuf, size_t errlen);
void be_recognizer_free(be_recognizer *r);
size_t be_recognizer_dim(const be_recognizer *r);

/* Decodes a clean job, embeds the face, matches the gallery and sets the
 * decision (granted / unknown / rejected; invalid on an internal failure). */
void be_recognize(be_recognizer *r, be_job *j, be_gallery *g, double threshold, int top_k);

/* Decodes indices of model m and embeds the reconstruction into emb (dim
 * floats, unit length): what be_recognize does before matching, exposed for
 * enrolment and evaluation tools. Returns FF_OK or the codec/embed error. */
int be_recognizer_embed_codes(be_recognizer *r, int m, const uint16_t *idx, size_t n,
			      float *emb);

#endif
