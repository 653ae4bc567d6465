/* backend/validate.h: validation (validate.c) of one job, the first step of
 * a worker thread, before recognition (recognize.h).
 *
 * A job leaves validation either clean (reason empty), rejected without an
 * event (decision NONE: the sender cannot be trusted — unparseable, unknown
 * device, topic mismatch, replay; an audit row only) or rejected as an
 * INVALID event (the device is known and current, the payload is wrong:
 * model, sizes, indices; an event row, an audit row and an AccessEvent). */
#ifndef BE_BACKEND_VALIDATE_H
#define BE_BACKEND_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "facefleet/ids.h"
#include "recognize.h"
#include "registry.h"

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
/* The same for fleet/<site>/<device>/<leaf>. */
bool be_fleet_topic_parse(const char *topic, const char *leaf, char site[FF_ID_MAX + 1],
			  char dev[FF_ID_MAX + 1]);

/* Parses and checks j (see above); fills the parsed fields and j->idx. */
void be_validate(be_job *j, const be_model_set *models, be_devices *devices,
		 const be_validate_options *opt);

#endif
