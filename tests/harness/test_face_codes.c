/* FaceCodes messages as a device sends them (test_face_codes.h). */
#include "test_face_codes.h"

#include "facefleet/error.h"
#include "facefleet/facecodes.h"

/* Every variant: idx (NULL: pseudo-random from seed), coded with ent when given. */
static size_t build(const ff_vq_info *vi, const ff_entropy_table *ent, uint64_t seq,
		    int64_t capture_us, const uint16_t *idx, uint64_t seed, uint64_t track_id,
		    uint32_t track_index, float quality, uint8_t *buf, size_t cap)
{
	ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
	uint16_t own[FF_VQ_MAX_CODES];
	size_t len = 0;
	if (vi->num_codes > FF_VQ_MAX_CODES || vi->codebook_size == 0)
		return 0;
	if (!idx) {
		uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 12345;
		for (uint32_t i = 0; i < vi->num_codes; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			own[i] = (uint16_t)((x >> 33) % vi->codebook_size);
		}
		idx = own;
	}
	f.seq = seq;
	f.capture_time_us = capture_us;
	f.track_id = track_id;
	f.track_index = track_index;
	f.quality = quality;
	f.entropy = ent;
	return ff_facecodes_build(vi, idx, &f, buf, cap, &len) == FF_OK ? len : 0;
}

size_t test_face_codes_build(const ff_vq_info *vi, uint64_t seq, int64_t capture_us,
			     const uint16_t *idx, uint64_t seed, uint8_t *buf, size_t cap)
{
	return build(vi, NULL, seq, capture_us, idx, seed, 0, 0, 0.0f, buf, cap);
}

size_t test_face_codes_build_track(const ff_vq_info *vi, uint64_t seq, int64_t capture_us,
				   const uint16_t *idx, uint64_t seed, uint64_t track_id,
				   uint32_t track_index, float quality, uint8_t *buf, size_t cap)
{
	return build(vi, NULL, seq, capture_us, idx, seed, track_id, track_index, quality, buf,
		     cap);
}

size_t test_face_codes_build_coded(const ff_vq_info *vi, const ff_entropy_table *ent, uint64_t seq,
				   int64_t capture_us, const uint16_t *idx, uint8_t *buf, size_t cap)
{
	return idx ? build(vi, ent, seq, capture_us, idx, 0, 0, 0, 0.0f, buf, cap) : 0;
}
