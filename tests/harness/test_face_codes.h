/* tests/harness/test_face_codes.h: FaceCodes messages as a device sends them,
 * for tests, fuzz seeds, the chaos simulator and the backend benchmark. */
#ifndef FF_TEST_FACE_CODES_H
#define FF_TEST_FACE_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "facefleet/entropy.h"
#include "facefleet/vq.h"

/* Packs a FaceCodes message for model vi (schema 2, ff_facecodes_build: no
 * ids, the topic fleet/<site>/<device>/faces names the sender): idx, or when
 * NULL pseudo-random valid indices from seed. Returns the length written, 0
 * when it does not fit or cannot pack. */
size_t test_face_codes_build(const ff_vq_info *vi, uint64_t seq, int64_t capture_us,
			     const uint16_t *idx, uint64_t seed, uint8_t *buf, size_t cap);

/* The same for a face of a track (FaceCodes track_id, track_index) with the
 * device's quality score (0: not computed), as fleet-device sends it. */
size_t test_face_codes_build_track(const ff_vq_info *vi, uint64_t seq, int64_t capture_us,
				   const uint16_t *idx, uint64_t seed, uint64_t track_id,
				   uint32_t track_index, float quality, uint8_t *buf, size_t cap);

/* The same for a still face coded with the model's rANS tables ent (NULL:
 * packed), as a device with them sends it: a model packed past 128 B needs
 * them and codes that fit (a real face's, not random ones). */
size_t test_face_codes_build_coded(const ff_vq_info *vi, const ff_entropy_table *ent, uint64_t seq,
				   int64_t capture_us, const uint16_t *idx, uint8_t *buf, size_t cap);

#endif
