/* facefleet/facecodes.h: building and checking FaceCodes messages
 * (proto/facefleet.proto), the one place device, backend and tests share.
 *
 * Schema 2 (the compact form, what devices send): no device/site ids (the
 * topic fleet/<site>/<device>/faces is authoritative: the broker ACL binds the
 * account to it), codes_per_cell set, the box as 4 whole-pixel int32 box_px.
 * Schema 1 (legacy): ids and a float Box. Receivers accept both. */
#ifndef FACEFLEET_FACECODES_H
#define FACEFLEET_FACECODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facefleet.pb-c.h"
#include "facefleet/vq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest |coordinate| of a box, pixels (frames are far smaller). */
#define FF_FACECODES_BOX_MAX 65535

/* Everything of one message but the code layout (which comes from ff_vq_info). */
typedef struct ff_facecodes_fields {
	int schema;            /* 2 (default): compact form; 1: legacy ids + float Box */
	const char *site_id;   /* schema 1: required; schema 2: sent only when non-empty */
	const char *device_id; /* same as site_id */
	uint64_t seq;
	int64_t capture_time_us;
	bool has_box;          /* box_* below are set */
	float box_x0, box_y0, box_x1, box_y1; /* pixels of the frame (schema 2 rounds them) */
	float det_score;
	float quality;
	uint32_t frame_w, frame_h;
	uint64_t track_id;     /* schema 2: the face track (0: none), FaceCodes 19 */
	uint32_t track_index;  /* the face's place in it, FaceCodes 20 */
} ff_facecodes_fields;

#define FF_FACECODES_FIELDS_INIT { 2, NULL, NULL, 0, 0, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Bit-packs vi->num_codes indices (each < vi->codebook_size) and packs one
 * FaceCodes into buf. Returns FF_OK with *len set, FF_ERR_INVAL (bad
 * schema, schema 1 without ids, vi too large), FF_ERR_RANGE (an index out of
 * range, or the message does not fit in cap). */
int ff_facecodes_build(const ff_vq_info *vi, const uint16_t *idx, const ff_facecodes_fields *f,
		       uint8_t *buf, size_t cap, size_t *len);

/* The sender's ids: an empty id in the message means the topic's; a present
 * one must be a valid fleet id and equal the topic's. Returns NULL when they
 * agree, else the reject reason "bad_id" or "topic_mismatch". */
const char *ff_facecodes_check_ids(const Facefleet__V1__FaceCodes *fc, const char *topic_site,
				   const char *topic_device);

/* The codes per cell the message declares: codes_per_cell, 0 meaning 1; a
 * schema 1 message (which predates the field) with 0 gets legacy_cpc (the
 * receiver's model's, the contract those senders were built against). */
uint32_t ff_facecodes_codes_per_cell(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc);

/* grid_h * grid_w * codes_per_cell (as above), UINT64_MAX on overflow. */
uint64_t ff_facecodes_num_codes(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc);

typedef struct ff_facecodes_box {
	int32_t x0, y0, x1, y1; /* whole pixels */
} ff_facecodes_box;

/* The face box: box_px when present (exactly 4 values), else the legacy Box
 * (rounded), else none (*has_box false). Coordinates lie in
 * +-FF_FACECODES_BOX_MAX with x0 < x1 and y0 < y1, and when the message gives
 * the frame size the box overlaps the frame. Returns NULL, or "bad_box". */
const char *ff_facecodes_get_box(const Facefleet__V1__FaceCodes *fc, bool *has_box,
				 ff_facecodes_box *box);

#ifdef __cplusplus
}
#endif
#endif
