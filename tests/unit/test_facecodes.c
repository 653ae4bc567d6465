/* unit_proto_facecodes: lib/wire (facefleet/facecodes.h). Schema 3 messages
 * carry seq, model id, codes and the capture time in seconds, nothing else,
 * 140 bytes for 123 bytes of codes; schema 2 messages carry no ids,
 * codes_per_cell and a whole-pixel box_px;
 * schema 1 messages (ids, float Box) still build and read; the receiver
 * checks (ids against the topic, code count, box) accept and reject what
 * proto/facefleet.proto says. */
#include "ff_test.h"

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/facecodes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* vq0-s1's layout: 7x7 cells x 2 codes of K=1000 (10 bits): 123 bytes of codes */
static ff_vq_info g7 = { "vq0-s1", 7, 7, 2, 16, 1000, 10, 98, 1 };
static uint16_t idx[98];

static void fill(void)
{
	for (uint32_t i = 0; i < g7.num_codes; i++)
		idx[i] = (uint16_t)((i * 377 + 5) % g7.codebook_size);
}

static ff_facecodes_fields face(void)
{
	ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
	f.seq = 1234;
	f.capture_time_us = INT64_C(1795455600123456);
	f.has_box = true;
	f.box_x0 = 64.4f;
	f.box_y0 = 63.6f;
	f.box_x1 = 163.2f;
	f.box_y1 = 198.5f;
	f.det_score = 0.99f;
	f.frame_w = 250;
	f.frame_h = 250;
	return f;
}

static Facefleet__V1__FaceCodes *parse(const uint8_t *b, size_t n)
{
	return facefleet__v1__face_codes__unpack(NULL, n, b);
}

static void test_schema2_build(void)
{
	ff_facecodes_fields f = face();
	f.schema = 2;
	uint8_t buf[512];
	uint16_t back[98];
	size_t len = 0;
	bool has;
	ff_facecodes_box box;
	Facefleet__V1__FaceCodes *fc;

	fill();
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	/* codes 125 + schema 2 + seq 3 + time 9 + model 8 + grid/K/bits 9 + score 5
	 * + frame 7 + codes_per_cell 3 + box_px 9 = 180 */
	CU_ASSERT(len <= 182);
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT_EQUAL(fc->schema_version, 2);
	CU_ASSERT_STRING_EQUAL(fc->device_id, "");
	CU_ASSERT_STRING_EQUAL(fc->site_id, "");
	CU_ASSERT_EQUAL(fc->codes_per_cell, 2);
	CU_ASSERT_PTR_NULL(fc->box);
	CU_ASSERT_EQUAL_FATAL(fc->n_box_px, 4);
	CU_ASSERT(fc->box_px[0] == 64 && fc->box_px[1] == 64 && fc->box_px[2] == 163 &&
		  fc->box_px[3] == 199);
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(fc, 0), 98);
	CU_ASSERT_PTR_NULL(ff_facecodes_check_ids(fc, "site-01", "device-0001"));
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(fc, &has, &box));
	CU_ASSERT(has && box.x0 == 64 && box.y1 == 199);
	FF_ASSERT_OK(ff_bitpack_unpack(fc->codes.data, fc->codes.len, 98, fc->bits_per_index,
				       fc->codebook_size, back));
	CU_ASSERT_EQUAL(memcmp(back, idx, sizeof(idx)), 0);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	/* a sub-pixel box stays a box; ids when asked (send_ids) */
	f.box_x1 = f.box_x0 + 0.2f;
	f.site_id = "site-01";
	f.device_id = "device-0001";
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->n_box_px == 4 && fc->box_px[2] == fc->box_px[0] + 1);
	CU_ASSERT_STRING_EQUAL(fc->device_id, "device-0001");
	CU_ASSERT_PTR_NULL(ff_facecodes_check_ids(fc, "site-01", "device-0001"));
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_ids(fc, "site-01", "device-0002"),
			       "topic_mismatch");
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_ids(fc, "site-02", "device-0001"),
			       "topic_mismatch");
	CU_ASSERT(fc->track_id == 0 && fc->track_index == 0); /* a still image: no track */
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	/* a face of a track (a video source) */
	f.track_id = 4000000000ULL;
	f.track_index = 2;
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->track_id == 4000000000ULL && fc->track_index == 2);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	/* does not fit / out of range / bad arguments */
	f = face();
	f.schema = 2;
	CU_ASSERT_EQUAL(ff_facecodes_build(&g7, idx, &f, buf, 100, &len), FF_ERR_RANGE);
	idx[5] = 1000;
	CU_ASSERT_EQUAL(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len), FF_ERR_RANGE);
	fill();
	f.schema = 4;
	CU_ASSERT_EQUAL(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len), FF_ERR_INVAL);
	f.schema = 1; /* schema 1 needs the ids */
	CU_ASSERT_EQUAL(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len), FF_ERR_INVAL);
}

/* 2026-12-06T10:00:00.654321Z: whole seconds since the fleet epoch, 4 varint bytes */
#define T_2026 INT64_C(1796551200654321)

static void test_schema3_build(void)
{
	ff_facecodes_fields f = face();
	uint8_t buf[512];
	uint16_t back[98];
	size_t len = 0;
	bool has = true;
	ff_facecodes_box box;
	Facefleet__V1__FaceCodes *fc;

	fill();
	f.seq = 1000000; /* a device well into its life: 3 varint bytes */
	f.capture_time_us = T_2026;
	f.has_box = false; /* schema 3 default: no box, frame size or score */
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	/* codes 125 + seq 4 + model id 8 ("vq0-s1") + capture_offset_s 6 (a
	 * 2-byte tag: field 21) = 143; vq2 ("vq2") makes it 140 */
	CU_ASSERT_EQUAL(len, 143);
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT_EQUAL(fc->schema_version, 0);
	CU_ASSERT_EQUAL(ff_facecodes_schema(fc), 3);
	CU_ASSERT(fc->grid_h == 0 && fc->grid_w == 0 && fc->codebook_size == 0 &&
		  fc->bits_per_index == 0 && fc->codes_per_cell == 0);
	CU_ASSERT(fc->capture_time_us == 0 && fc->n_box_px == 0 && fc->frame_w == 0 &&
		  fc->det_score == 0.0f);
	/* the time to the second, as an offset from the fleet epoch */
	CU_ASSERT_EQUAL(ff_facecodes_capture_us(fc), T_2026 - 654321);
	CU_ASSERT_EQUAL(fc->capture_offset_s, (T_2026 - FF_FACECODES_EPOCH_US) / 1000000);
	/* the layout is the model's: absent fields are, present ones must agree */
	CU_ASSERT_PTR_NULL(ff_facecodes_check_layout(fc, &g7));
	CU_ASSERT_EQUAL(ff_facecodes_codes_per_cell(fc, 2), 2);
	FF_ASSERT_OK(ff_bitpack_unpack(fc->codes.data, fc->codes.len, g7.num_codes, g7.bits_per_index,
				       g7.codebook_size, back));
	CU_ASSERT_EQUAL(memcmp(back, idx, sizeof(idx)), 0);
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(fc, &has, &box));
	CU_ASSERT_FALSE(has);
	fc->grid_w = 7;
	CU_ASSERT_PTR_NULL(ff_facecodes_check_layout(fc, &g7));
	fc->grid_w = 8;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_layout(fc, &g7), "grid_mismatch");
	fc->grid_w = 0;
	fc->bits_per_index = 11;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_layout(fc, &g7), "grid_mismatch");
	fc->bits_per_index = 0;
	fc->codes_per_cell = 1;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_layout(fc, &g7), "codes_per_cell_mismatch");
	/* neither version nor offset: a broken sender */
	fc->capture_offset_s = 0;
	CU_ASSERT_EQUAL(ff_facecodes_schema(fc), 0);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	/* a clock before the fleet epoch goes out whole, for the receiver to audit */
	f.capture_time_us = 1;
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->capture_offset_s == 0 && fc->capture_time_us == 1);
	CU_ASSERT_EQUAL(ff_facecodes_capture_us(fc), 1);
	CU_ASSERT_EQUAL(fc->schema_version, 3); /* the offset cannot imply it: said outright */
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	/* send_box: box, frame size and score, and a track */
	f.capture_time_us = T_2026;
	f.has_box = true;
	f.track_id = 999998;
	f.track_index = 2;
	f.quality = 0.5f;
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(fc, &has, &box));
	CU_ASSERT(has && box.x0 == 64 && box.y1 == 199 && fc->frame_w == 250);
	CU_ASSERT(fc->track_id == 999998 && fc->track_index == 2 && fc->quality == 0.5f);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
}

static void test_schema1_legacy(void)
{
	ff_facecodes_fields f = face();
	uint8_t buf[512];
	size_t len = 0;
	bool has;
	ff_facecodes_box box;
	Facefleet__V1__FaceCodes *fc;

	fill();
	f.schema = 1;
	f.site_id = "site-01";
	f.device_id = "device-0001";
	FF_ASSERT_OK(ff_facecodes_build(&g7, idx, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT_EQUAL(fc->schema_version, 1);
	CU_ASSERT_EQUAL(fc->codes_per_cell, 0);
	CU_ASSERT_EQUAL(fc->n_box_px, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc->box);
	CU_ASSERT_DOUBLE_EQUAL(fc->box->x0, 64.4, 1e-5);
	/* schema 1 predates codes_per_cell: its 0 means the model's */
	CU_ASSERT_EQUAL(ff_facecodes_codes_per_cell(fc, 2), 2);
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(fc, 2), 98);
	CU_ASSERT_PTR_NULL(ff_facecodes_check_ids(fc, "site-01", "device-0001"));
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(fc, &has, &box));
	CU_ASSERT(has && box.x0 == 64 && box.y0 == 64 && box.x1 == 163 && box.y1 == 199);
	/* a schema 2 message's 0 means 1, whatever the model */
	fc->schema_version = 2;
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(fc, 2), 49);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
}

static void test_receiver_rejects(void)
{
	Facefleet__V1__FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	Facefleet__V1__Box lb = FACEFLEET__V1__BOX__INIT;
	int32_t px[5] = { 10, 20, 110, 140, 7 };
	ff_facecodes_box box;
	bool has = true;

	/* no box at all is fine */
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(&fc, &has, &box));
	CU_ASSERT_FALSE(has);
	fc.box_px = px;
	fc.n_box_px = 4;
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(&fc, &has, &box));
	CU_ASSERT_TRUE(has);
	fc.n_box_px = 3;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	fc.n_box_px = 5;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	fc.n_box_px = 4;
	px[0] = 110; /* x0 == x1 */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	px[0] = 120; /* inverted */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	px[0] = 10;
	px[3] = 10; /* y1 < y0 */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	px[3] = 140;
	px[2] = 1 << 20; /* absurd */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	px[2] = 110;
	fc.frame_w = 8; /* box right of the frame */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	fc.frame_w = 0;
	/* box_px supersedes the legacy Box */
	lb.x0 = 50;
	lb.x1 = 40;
	fc.box = &lb;
	CU_ASSERT_PTR_NULL(ff_facecodes_get_box(&fc, &has, &box));
	fc.n_box_px = 0; /* now the inverted legacy box counts */
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_box(&fc, &has, &box), "bad_box");
	fc.box = NULL;

	/* ids: empty means the topic's; bad or other ids are refused */
	fc.device_id = (char *)"";
	fc.site_id = (char *)"";
	CU_ASSERT_PTR_NULL(ff_facecodes_check_ids(&fc, "s", "d"));
	fc.device_id = (char *)"x'); DROP TABLE devices; --";
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_ids(&fc, "s", "d"), "bad_id");
	fc.device_id = (char *)"d";
	fc.site_id = (char *)"S";
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_ids(&fc, "s", "d"), "bad_id");
	fc.site_id = (char *)"t";
	CU_ASSERT_STRING_EQUAL(ff_facecodes_check_ids(&fc, "s", "d"), "topic_mismatch");

	/* code count: codes_per_cell 0 means 1 (schema 2), overflow saturates */
	fc.schema_version = 2;
	fc.grid_h = 7;
	fc.grid_w = 7;
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(&fc, 2), 49);
	fc.codes_per_cell = 3;
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(&fc, 2), 147);
	fc.grid_h = fc.grid_w = fc.codes_per_cell = UINT32_MAX;
	CU_ASSERT_EQUAL(ff_facecodes_num_codes(&fc, 2), UINT64_MAX);
}

/* codes_ans (field 22): vq2's committed tables code a likely face shorter
 * than its 123 packed bytes; a face they would not shrink goes packed; the
 * receiver reads both, and refuses a coded face it has no tables for, a
 * corrupt stream and a message with both forms. A stream coded beforehand
 * (ff_facecodes_fields.coded) gives the same message. */
static void test_coded_codes(void)
{
	ff_vq_info v2 = { "vq2", 14, 14, 1, 0, 32, 5, 196, 1 };
	ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
	const char *src = getenv("FF_SOURCE_DIR");
	ff_entropy_table *t = NULL;
	uint16_t face2[196], back[196];
	uint8_t buf[512], again[512], *ans;
	char path[4096], why[256];
	uint32_t r = 7;
	size_t len = 0, len2 = 0;
	bool coded = false;
	Facefleet__V1__FaceCodes *fc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	snprintf(path, sizeof(path), "%s/models/vq/vq2.enc.ffn", src);
	CU_ASSERT_EQUAL_FATAL(ff_entropy_table_open(path, &v2, &t, why, sizeof(why)), FF_OK);
	for (int i = 0; i < 196; i++) /* smooth, like a face: runs of the common codes */
		face2[i] = (uint16_t)((i / 14) % 3 == 0 ? 4 : 12);
	f.seq = 1000000;
	f.capture_time_us = T_2026;
	f.entropy = t;
	FF_ASSERT_OK(ff_facecodes_build(&v2, face2, &f, buf, sizeof(buf), &len));
	CU_ASSERT(len < 140); /* 140: the same face packed */
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->codes.len == 0 && fc->codes_ans.len > 0 && fc->codes_ans.len < 120);
	CU_ASSERT_PTR_NULL(ff_facecodes_get_codes(fc, &v2, t, back, &coded));
	CU_ASSERT(coded);
	CU_ASSERT_EQUAL(memcmp(back, face2, sizeof(back)), 0);
	/* the device's rate control already coded the face: the same message, not coded twice */
	f.coded = fc->codes_ans.data;
	f.coded_len = fc->codes_ans.len;
	FF_ASSERT_OK(ff_facecodes_build(&v2, face2, &f, again, sizeof(again), &len2));
	CU_ASSERT(len2 == len && memcmp(again, buf, len) == 0);
	f.coded = NULL;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_codes(fc, &v2, NULL, back, NULL), "no_entropy_table");
	ans = fc->codes_ans.data;
	ans[fc->codes_ans.len / 2] ^= 0x10;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_codes(fc, &v2, t, back, NULL), "bad_entropy_codes");
	fc->codes.data = ans;
	fc->codes.len = 123;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_codes(fc, &v2, t, back, NULL), "bad_size");
	fc->codes.data = NULL; /* not the message's to free */
	fc->codes.len = 0;
	facefleet__v1__face_codes__free_unpacked(fc, NULL);

	for (int i = 0; i < 196; i++) { /* uniform noise: >= 5 bits an index under any table */
		r = r * 1103515245u + 12345u;
		face2[i] = (uint16_t)((r >> 16) % 32);
	}
	FF_ASSERT_OK(ff_facecodes_build(&v2, face2, &f, buf, sizeof(buf), &len));
	fc = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->codes.len == 123 && fc->codes_ans.len == 0);
	CU_ASSERT_PTR_NULL(ff_facecodes_get_codes(fc, &v2, t, back, &coded));
	CU_ASSERT(!coded);
	CU_ASSERT_EQUAL(memcmp(back, face2, sizeof(back)), 0);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
	ff_entropy_table_free(t);
}

/* At most FF_VQ_MAX_PAYLOAD (128) bytes of codes per face either way: a model
 * packed past it (147 codewords, 8 bits x 196 = 196 bytes) cannot go packed,
 * so without tables nothing is built; a receiver refuses either field over
 * the limit, whatever the model. */
static void test_payload_limit(void)
{
	ff_vq_info big = { "vq5", 14, 14, 1, 3, 147, 8, 196, 2 };
	ff_vq_info v2 = { "vq2", 14, 14, 1, 0, 32, 5, 196, 1 };
	ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
	Facefleet__V1__FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	uint16_t face[196] = { 0 }, back[196];
	uint8_t buf[512], wire[200] = { 0 };
	size_t len = 0;

	f.seq = 1;
	f.capture_time_us = T_2026;
	CU_ASSERT_EQUAL(ff_facecodes_build(&big, face, &f, buf, sizeof(buf), &len), FF_ERR_RANGE);
	fc.codes.data = wire;
	fc.codes.len = 196;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_codes(&fc, &big, NULL, back, NULL), "bad_size");
	fc.codes.len = 0;
	fc.codes_ans.data = wire;
	fc.codes_ans.len = 129;
	CU_ASSERT_STRING_EQUAL(ff_facecodes_get_codes(&fc, &v2, NULL, back, NULL), "bad_size");
}

static CU_TestInfo facecodes_tests[] = {
	{ "payload_limit", test_payload_limit },
	{ "coded_codes", test_coded_codes },
	{ "schema2_build", test_schema2_build },
	{ "schema3_build", test_schema3_build },
	{ "schema1_legacy", test_schema1_legacy },
	{ "receiver_rejects", test_receiver_rejects },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "facecodes", NULL, NULL, NULL, NULL, facecodes_tests });
