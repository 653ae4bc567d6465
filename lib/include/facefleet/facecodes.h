/* facefleet/facecodes.h: building and checking FaceCodes messages
 * (proto/facefleet.proto), the one place device, backend and tests share.
 *
 * Schema 2 (the compact form, what devices send): no device/site ids (the
 * topic fleet/<site>/<device>/faces is authoritative: the broker ACL binds the
 * account to it), codes_per_cell set, the box as 4 whole-pixel int32 box_px.
 * Schema 1 (legacy): ids and a float Box.
 * Schema 3 (what devices send now, the 150-byte PUBLISH; docs/WIRE.md): schema
 * 2 without what the model id implies (grid, K, bits, codes per cell), the
 * capture time as whole seconds since the fleet epoch (capture_offset_s),
 * box/frame size/detector score only on request, and schema_version left at 0
 * (capture_offset_s says 3). Receivers accept all three. */
#ifndef FACEFLEET_FACECODES_H
#define FACEFLEET_FACECODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facefleet.pb-c.h"
#include "facefleet/entropy.h"
#include "facefleet/vq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fleet epoch of capture_offset_s: 2025-01-01T00:00:00Z, Unix microseconds. */
#define FF_FACECODES_EPOCH_US INT64_C(1735689600000000)

/* Largest |coordinate| of a box, pixels (frames are far smaller). */
#define FF_FACECODES_BOX_MAX 65535

/* Everything of one message but the code layout (which comes from ff_vq_info). */
typedef struct ff_facecodes_fields {
	int schema;            /* 3 (default): minimal form; 2: compact form; 1: legacy ids + float Box */
	const char *site_id;   /* schema 1: required; schema 2: sent only when non-empty */
	const char *device_id; /* same as site_id */
	uint64_t seq;
	int64_t capture_time_us;
	bool has_box;          /* box_* below are set; schema 3 sends box, frame size and
				  det_score only when set (the backend records none of them) */
	float box_x0, box_y0, box_x1, box_y1; /* pixels of the frame (schema 2 rounds them) */
	float det_score;
	float quality;
	uint32_t frame_w, frame_h;
	uint64_t track_id;     /* schema 2: the face track (0: none), FaceCodes 19 */
	uint32_t track_index;  /* the face's place in it, FaceCodes 20 */
	const ff_entropy_table *entropy; /* the model's rANS tables, or NULL: the codes go
				  entropy-coded (codes_ans, 22) when that field is smaller
				  than the packed one (codes, 11), else packed */
	const uint8_t *coded;  /* idx already coded with entropy (ff_vq_encode_coded's
				  stream), or NULL: used as it is instead of coding again */
	size_t coded_len;
} ff_facecodes_fields;

#define FF_FACECODES_FIELDS_INIT { 3, NULL, NULL, 0, 0, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, 0 }

/* Bit-packs vi->num_codes indices (each < vi->codebook_size), or codes them
 * with f->entropy when that is smaller on the wire, and packs one FaceCodes
 * into buf. Returns FF_OK with *len set, FF_ERR_INVAL (bad
 * schema, schema 1 without ids, vi too large), FF_ERR_RANGE (an index out of
 * range, or the message does not fit in cap). */
int ff_facecodes_build(const ff_vq_info *vi, const uint16_t *idx, const ff_facecodes_fields *f,
		       uint8_t *buf, size_t cap, size_t *len);

/* The message's schema revision: schema_version, else 3 when
 * capture_offset_s is set (schema 3 leaves the version out), else 0 (a
 * broken sender). */
int ff_facecodes_schema(const Facefleet__V1__FaceCodes *fc);

/* The capture time the message states, Unix microseconds (device clock):
 * from capture_offset_s when set, else capture_time_us. Unchecked. */
int64_t ff_facecodes_capture_us(const Facefleet__V1__FaceCodes *fc);

/* The sender's ids: an empty id in the message means the topic's; a present
 * one must be a valid fleet id and equal the topic's. Returns NULL when they
 * agree, else the reject reason "bad_id" or "topic_mismatch". */
const char *ff_facecodes_check_ids(const Facefleet__V1__FaceCodes *fc, const char *topic_site,
				   const char *topic_device);

/* The codes per cell the message declares: codes_per_cell, 0 meaning 1; a
 * schema 1 message (which predates the field) or a schema 3 one (which
 * leaves it to the model) with 0 gets legacy_cpc (the receiver's model's). */
uint32_t ff_facecodes_codes_per_cell(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc);

/* grid_h * grid_w * codes_per_cell (as above), UINT64_MAX on overflow. */
uint64_t ff_facecodes_num_codes(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc);

/* The code layout against the receiver's model vi: grid_h, grid_w,
 * codebook_size and bits_per_index equal to the model's (schema 3: or 0, the
 * model's), and grid x codes per cell the model's code count. Returns NULL,
 * "grid_mismatch" or "codes_per_cell_mismatch". */
const char *ff_facecodes_check_layout(const Facefleet__V1__FaceCodes *fc, const ff_vq_info *vi);

/* The message's code indices for the receiver's model vi, into idx
 * (vi->num_codes of them): from the packed codes, or from codes_ans decoded
 * with the model's tables t (NULL: the receiver has none). Returns NULL, or
 * the reject reason: "bad_size" (packed codes of the wrong length or with
 * padding bits set, or both fields or neither), "index_range" (a packed
 * index >= K), "no_entropy_table" (codes_ans but no tables for the model),
 * "bad_entropy_codes" (a stream the tables refuse: corrupt, truncated, made
 * with other tables). *coded (may be NULL) says which form it was. */
const char *ff_facecodes_get_codes(const Facefleet__V1__FaceCodes *fc, const ff_vq_info *vi,
				   const ff_entropy_table *t, uint16_t *idx, bool *coded);

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
