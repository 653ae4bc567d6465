/* FaceCodes building and checking (facefleet/facecodes.h). */
#include "facefleet/ids.h"
#include "facefleet/facecodes.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

/* A pixel coordinate rounded to a whole pixel and clamped to the box range. */
static int32_t px(float v)
{
	if (v <= -(float)FF_FACECODES_BOX_MAX)
		return -FF_FACECODES_BOX_MAX;
	if (v >= (float)FF_FACECODES_BOX_MAX)
		return FF_FACECODES_BOX_MAX;
	return (int32_t)lroundf(v);
}

/* The box in whole pixels; a sub-pixel box stays a box. */
static void set_box_px(const ff_facecodes_fields *f, int32_t bpx[4])
{
	bpx[0] = px(f->box_x0);
	bpx[1] = px(f->box_y0);
	bpx[2] = px(f->box_x1);
	bpx[3] = px(f->box_y1);
	if (bpx[2] <= bpx[0])
		bpx[2] = bpx[0] + 1;
	if (bpx[3] <= bpx[1])
		bpx[3] = bpx[1] + 1;
}

/* Schema 3's time: seconds since the fleet epoch when the clock says 2025
 * or later (and before 2161), else the full microseconds and the version
 * (which the offset no longer implies), so a receiver still sees (and
 * audits) a clock that is off. */
static void set_time(Facefleet__V1__FaceCodes *fc, int64_t t_us)
{
	int64_t s = t_us >= FF_FACECODES_EPOCH_US ? (t_us - FF_FACECODES_EPOCH_US) / 1000000 : 0;
	if (s > 0 && s <= (int64_t)UINT32_MAX) {
		fc->capture_offset_s = (uint32_t)s;
		return;
	}
	fc->capture_time_us = t_us;
	fc->schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_3;
}

/* What each schema adds beyond seq, model_id and the codes. */
static void set_schema_fields(Facefleet__V1__FaceCodes *fc, const ff_vq_info *vi,
			      const ff_facecodes_fields *f, Facefleet__V1__Box *box, int32_t bpx[4])
{
	bool details = f->schema < 3 || f->has_box; /* schema 3: box, frame, score on request */
	if (f->schema < 3) {
		fc->schema_version = (uint32_t)f->schema;
		fc->capture_time_us = f->capture_time_us;
		fc->grid_h = vi->grid_h;
		fc->grid_w = vi->grid_w;
		fc->codebook_size = vi->codebook_size;
		fc->bits_per_index = vi->bits_per_index;
	} else {
		set_time(fc, f->capture_time_us); /* schema_version 0: implied */
	}
	if (details) {
		fc->det_score = f->det_score;
		fc->frame_w = f->frame_w;
		fc->frame_h = f->frame_h;
	}
	if (f->schema == 1) {
		if (f->has_box) {
			box->x0 = f->box_x0;
			box->y0 = f->box_y0;
			box->x1 = f->box_x1;
			box->y1 = f->box_y1;
			fc->box = box;
		}
		return;
	}
	if (f->schema == 2)
		fc->codes_per_cell = vi->codes_per_cell > 1 ? vi->codes_per_cell : 0;
	fc->track_id = f->track_id;
	fc->track_index = f->track_index;
	if (f->has_box) {
		set_box_px(f, bpx);
		fc->n_box_px = 4;
		fc->box_px = bpx;
	}
}

/* Bytes of a length-delimited field: tag, length varint, the bytes. */
static size_t field_cost(unsigned tag_bytes, size_t len)
{
	size_t v = 1;
	for (size_t n = len; n >= 128; n >>= 7)
		v++;
	return tag_bytes + v + len;
}

/* The codes go as codes_ans (field 22: a 2-byte tag) when the rANS stream
 * makes that field smaller than the packed one (field 11: 1 byte), e.g.
 * 107 + 3 against 123 + 2 for vq2; else packed, as without tables. Either
 * form holds at most FF_VQ_MAX_PAYLOAD bytes: a model whose packed form is
 * longer is sent coded only (the device's ff_vq_encode_coded makes it fit);
 * FF_ERR_RANGE when neither fits. */
static int set_codes(Facefleet__V1__FaceCodes *fc, const ff_facecodes_fields *f,
		     const uint16_t *idx, size_t n, uint8_t *packed, size_t plen, uint8_t *coded)
{
	size_t clen = SIZE_MAX; /* no coded form */

	if (f->entropy && f->coded) { /* coded by the caller (the device's rate control) */
		coded = (uint8_t *)f->coded;
		clen = f->coded_len;
	} else if (f->entropy &&
		   ff_entropy_encode(f->entropy, idx, n, coded, FF_VQ_MAX_PAYLOAD, &clen) != FF_OK) {
		clen = SIZE_MAX;
	}
	if (clen <= FF_VQ_MAX_PAYLOAD &&
	    (plen > FF_VQ_MAX_PAYLOAD || field_cost(2, clen) < field_cost(1, plen))) {
		fc->codes_ans.data = coded;
		fc->codes_ans.len = clen;
		return FF_OK;
	}
	if (plen > FF_VQ_MAX_PAYLOAD)
		return FF_ERR_RANGE;
	fc->codes.data = packed;
	fc->codes.len = plen;
	return FF_OK;
}

int ff_facecodes_build(const ff_vq_info *vi, const uint16_t *idx, const ff_facecodes_fields *f,
		       uint8_t *buf, size_t cap, size_t *len)
{
	Facefleet__V1__FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	Facefleet__V1__Box box = FACEFLEET__V1__BOX__INIT;
	uint8_t packed[FF_VQ_MAX_CODES * 2], coded[FF_VQ_MAX_CODES * 2];
	int32_t bpx[4];
	size_t plen;
	int rc;

	if (!vi || !idx || !f || !buf || !len || vi->num_codes > FF_VQ_MAX_CODES ||
	    f->schema < 1 || f->schema > 3)
		return FF_ERR_INVAL;
	if (f->schema == 1 && (!f->site_id || !*f->site_id || !f->device_id || !*f->device_id))
		return FF_ERR_INVAL;
	if (f->has_box && !(isfinite(f->box_x0) && isfinite(f->box_y0) && isfinite(f->box_x1) &&
			    isfinite(f->box_y1)))
		return FF_ERR_INVAL;
	plen = ff_bitpack_size(vi->num_codes, vi->bits_per_index);
	rc = ff_bitpack_pack(idx, vi->num_codes, vi->bits_per_index, vi->codebook_size, packed,
			     sizeof(packed));
	if (rc != FF_OK)
		return rc == FF_ERR_INVAL ? FF_ERR_INVAL : FF_ERR_RANGE;
	if (f->site_id && *f->site_id)
		fc.site_id = (char *)f->site_id;
	if (f->device_id && *f->device_id)
		fc.device_id = (char *)f->device_id;
	fc.seq = f->seq;
	fc.model_id = (char *)vi->model_id;
	if ((rc = set_codes(&fc, f, idx, vi->num_codes, packed, plen, coded)) != FF_OK)
		return rc;
	fc.quality = f->quality;
	set_schema_fields(&fc, vi, f, &box, bpx);
	if (facefleet__v1__face_codes__get_packed_size(&fc) > cap)
		return FF_ERR_RANGE;
	*len = facefleet__v1__face_codes__pack(&fc, buf);
	return FF_OK;
}

int ff_facecodes_schema(const Facefleet__V1__FaceCodes *fc)
{
	if (fc->schema_version)
		return fc->schema_version > INT32_MAX ? INT32_MAX : (int)fc->schema_version;
	return fc->capture_offset_s ? FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_3 : 0;
}

int64_t ff_facecodes_capture_us(const Facefleet__V1__FaceCodes *fc)
{
	if (fc->capture_offset_s)
		return FF_FACECODES_EPOCH_US + (int64_t)fc->capture_offset_s * 1000000;
	return fc->capture_time_us;
}

/* An id of the message: empty means the topic's; else valid and equal to it. */
static const char *check_id(const char *msg, const char *topic)
{
	if (!msg || !*msg)
		return NULL;
	if (!ff_id_valid(msg))
		return "bad_id";
	return strcmp(msg, topic) == 0 ? NULL : "topic_mismatch";
}

const char *ff_facecodes_check_ids(const Facefleet__V1__FaceCodes *fc, const char *topic_site,
				   const char *topic_device)
{
	const char *d = check_id(fc->device_id, topic_device);
	const char *s = check_id(fc->site_id, topic_site);
	/* a malformed id says more than a mismatch */
	if (d && strcmp(d, "bad_id") == 0)
		return d;
	if (s && strcmp(s, "bad_id") == 0)
		return s;
	return d ? d : s;
}

uint32_t ff_facecodes_codes_per_cell(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc)
{
	if (fc->codes_per_cell)
		return fc->codes_per_cell;
	/* schema 1 predates the field, schema 3 leaves it to the model: 0 is the model's */
	if (ff_facecodes_schema(fc) != FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_2 && legacy_cpc)
		return legacy_cpc;
	return 1;
}

uint64_t ff_facecodes_num_codes(const Facefleet__V1__FaceCodes *fc, uint32_t legacy_cpc)
{
	uint64_t cells = (uint64_t)fc->grid_h * fc->grid_w;
	uint32_t cpc = ff_facecodes_codes_per_cell(fc, legacy_cpc);
	if (cells && cpc > UINT64_MAX / cells)
		return UINT64_MAX;
	return cells * cpc;
}

/* A layout field of the message against the model's: schema 3 senders leave
 * it out (0 = the model's); earlier ones must send it. */
static bool layout_ok(uint32_t sent, uint32_t model, bool implied)
{
	return sent == model || (implied && sent == 0);
}

const char *ff_facecodes_check_layout(const Facefleet__V1__FaceCodes *fc, const ff_vq_info *vi)
{
	bool implied = ff_facecodes_schema(fc) >= FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_3;
	uint64_t cells;

	if (!layout_ok(fc->grid_h, vi->grid_h, implied) || !layout_ok(fc->grid_w, vi->grid_w, implied) ||
	    !layout_ok(fc->codebook_size, vi->codebook_size, implied) ||
	    !layout_ok(fc->bits_per_index, vi->bits_per_index, implied))
		return "grid_mismatch";
	cells = (uint64_t)vi->grid_h * vi->grid_w;
	if (cells * ff_facecodes_codes_per_cell(fc, vi->codes_per_cell) != vi->num_codes)
		return "codes_per_cell_mismatch";
	return NULL;
}

const char *ff_facecodes_get_codes(const Facefleet__V1__FaceCodes *fc, const ff_vq_info *vi,
				   const ff_entropy_table *t, uint16_t *idx, bool *coded)
{
	bool ans = fc->codes_ans.len > 0;
	int rc;

	if (coded)
		*coded = ans;
	if ((ans && fc->codes.len > 0) || fc->codes.len > FF_VQ_MAX_PAYLOAD ||
	    fc->codes_ans.len > FF_VQ_MAX_PAYLOAD)
		return "bad_size"; /* one form or the other, within the payload limit */
	if (ans) {
		if (!t || ff_entropy_table_num_codes(t) != vi->num_codes ||
		    strcmp(ff_entropy_table_model_id(t), vi->model_id) != 0)
			return "no_entropy_table";
		rc = ff_entropy_decode(t, fc->codes_ans.data, fc->codes_ans.len, idx, vi->num_codes);
		return rc == FF_OK ? NULL : "bad_entropy_codes";
	}
	rc = ff_bitpack_unpack(fc->codes.data, fc->codes.len, vi->num_codes, vi->bits_per_index,
			       vi->codebook_size, idx);
	if (rc == FF_ERR_RANGE)
		return "index_range";
	return rc == FF_OK ? NULL : "bad_size";
}

/* Ordered, in range, and overlapping the frame when its size is known. */
static bool box_ok(const Facefleet__V1__FaceCodes *fc, int64_t x0, int64_t y0, int64_t x1,
		   int64_t y1)
{
	const int64_t m = FF_FACECODES_BOX_MAX;
	if (x0 < -m || y0 < -m || x1 > m || y1 > m || x0 >= x1 || y0 >= y1)
		return false;
	if (fc->frame_w && (x1 <= 0 || x0 >= (int64_t)fc->frame_w))
		return false;
	if (fc->frame_h && (y1 <= 0 || y0 >= (int64_t)fc->frame_h))
		return false;
	return true;
}

const char *ff_facecodes_get_box(const Facefleet__V1__FaceCodes *fc, bool *has_box,
				 ff_facecodes_box *box)
{
	const Facefleet__V1__Box *b = fc->box;
	int64_t v[4];

	*has_box = false;
	if (fc->n_box_px) {
		if (fc->n_box_px != 4)
			return "bad_box";
		for (int i = 0; i < 4; i++)
			v[i] = fc->box_px[i];
	} else if (b) {
		const float f[4] = { b->x0, b->y0, b->x1, b->y1 };
		for (int i = 0; i < 4; i++) {
			if (!isfinite(f[i]) || fabsf(f[i]) > (float)FF_FACECODES_BOX_MAX)
				return "bad_box";
			v[i] = lroundf(f[i]);
		}
		/* a legacy sub-pixel box stays a box */
		if (v[2] == v[0] && b->x1 > b->x0)
			v[2]++;
		if (v[3] == v[1] && b->y1 > b->y0)
			v[3]++;
	} else {
		return NULL;
	}
	if (!box_ok(fc, v[0], v[1], v[2], v[3]))
		return "bad_box";
	box->x0 = (int32_t)v[0];
	box->y0 = (int32_t)v[1];
	box->x1 = (int32_t)v[2];
	box->y1 = (int32_t)v[3];
	*has_box = true;
	return NULL;
}
