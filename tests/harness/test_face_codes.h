/* tests/harness/test_face_codes.h: FaceCodes messages as a device sends them,
 * for tests, fuzz seeds, the chaos simulator and the backend benchmark. */
#ifndef FF_TEST_FACE_CODES_H
#define FF_TEST_FACE_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "facefleet/vq.h"

/* Packs a FaceCodes message for model vi (schema 2, ff_facecodes_build: no
 * ids, the topic fleet/<site>/<device>/faces names the sender): idx, or when
 * NULL pseudo-random valid indices from seed. Returns the length written, 0
 * when it does not fit or cannot pack. */
size_t test_face_codes_build(const ff_vq_info *vi, uint64_t seq, int64_t capture_us,
			     const uint16_t *idx, uint64_t seed, uint8_t *buf, size_t cap);

/* Appends the track fields (FaceCodes track_id, track_index) and quality to
 * the len-byte message in buf, as fleet-device does (a protobuf message is
 * the merge of its concatenated parts; a zero field is not written, so
 * quality 0 leaves the built one). Returns the new length, 0 when it does
 * not fit in cap. */
size_t test_face_codes_add_track(uint8_t *buf, size_t len, size_t cap, uint64_t track_id,
				 uint32_t track_index, float quality);

#endif
