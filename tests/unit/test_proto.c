/* unit_proto: every message of proto/facefleet.proto survives pack/unpack,
 * with bit-packed codes inside FaceCodes; garbage is rejected. */
#include "ff_test.h"

#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef Facefleet__V1__FaceCodes FaceCodes;
typedef Facefleet__V1__AccessEvent AccessEvent;
typedef Facefleet__V1__DeviceStatus DeviceStatus;
typedef Facefleet__V1__DeviceConfig DeviceConfig;

static void test_face_codes(void)
{
	FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	Facefleet__V1__Box box = FACEFLEET__V1__BOX__INIT;
	uint16_t idx[64], back[64];
	uint8_t codes[72];
	uint8_t *wire;
	size_t len;
	FaceCodes *rx;

	for (int i = 0; i < 64; i++)
		idx[i] = (uint16_t)((i * 37 + 11) % 512);
	CU_ASSERT_EQUAL_FATAL(ff_bitpack_pack(idx, 64, 9, 512, codes, sizeof(codes)), FF_OK);

	fc.schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT;
	fc.device_id = "dev-0001";
	fc.site_id = "site-a";
	fc.seq = UINT64_C(18446744073709551000);
	fc.capture_time_us = INT64_C(1795455600123456);
	fc.model_id = "vqvae-112-g8-k512-v1";
	fc.grid_h = 8;
	fc.grid_w = 8;
	fc.codebook_size = 512;
	fc.bits_per_index = 9;
	fc.codes.data = codes;
	fc.codes.len = ff_bitpack_size(64, 9);
	box.x0 = 10.5f;
	box.y0 = 20.25f;
	box.x1 = 110.0f;
	box.y1 = 140.75f;
	fc.box = &box;
	fc.det_score = 0.987f;
	fc.quality = 0.5f;
	fc.frame_w = 640;
	fc.frame_h = 480;

	len = facefleet__v1__face_codes__get_packed_size(&fc);
	CU_ASSERT(len > 72 && len < 200); /* the whole message stays small */
	wire = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wire);
	CU_ASSERT_EQUAL(facefleet__v1__face_codes__pack(&fc, wire), len);

	rx = facefleet__v1__face_codes__unpack(NULL, len, wire);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_EQUAL(rx->schema_version, FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT);
	CU_ASSERT_STRING_EQUAL(rx->device_id, "dev-0001");
	CU_ASSERT_STRING_EQUAL(rx->site_id, "site-a");
	CU_ASSERT_EQUAL(rx->seq, UINT64_C(18446744073709551000));
	CU_ASSERT_EQUAL(rx->capture_time_us, INT64_C(1795455600123456));
	CU_ASSERT_STRING_EQUAL(rx->model_id, "vqvae-112-g8-k512-v1");
	CU_ASSERT_EQUAL(rx->grid_h, 8);
	CU_ASSERT_EQUAL(rx->grid_w, 8);
	CU_ASSERT_EQUAL(rx->codebook_size, 512);
	CU_ASSERT_EQUAL(rx->bits_per_index, 9);
	CU_ASSERT_EQUAL_FATAL(rx->codes.len, 72);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx->box);
	CU_ASSERT_DOUBLE_EQUAL(rx->box->x0, 10.5, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(rx->box->y1, 140.75, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(rx->det_score, 0.987, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(rx->quality, 0.5, 1e-6);
	CU_ASSERT_EQUAL(rx->frame_w, 640);
	CU_ASSERT_EQUAL(rx->frame_h, 480);
	CU_ASSERT_EQUAL(ff_bitpack_unpack(rx->codes.data, rx->codes.len,
					  (size_t)rx->grid_h * rx->grid_w, rx->bits_per_index,
					  rx->codebook_size, back),
			FF_OK);
	CU_ASSERT_EQUAL(memcmp(idx, back, sizeof(idx)), 0);
	facefleet__v1__face_codes__free_unpacked(rx, NULL);

	/* truncated input is rejected, not half-parsed */
	rx = facefleet__v1__face_codes__unpack(NULL, len - 3, wire);
	CU_ASSERT_PTR_NULL(rx);
	if (rx)
		facefleet__v1__face_codes__free_unpacked(rx, NULL);
	free(wire);
}

static void test_access_event(void)
{
	AccessEvent ev = FACEFLEET__V1__ACCESS_EVENT__INIT;
	uint8_t wire[512];
	size_t len;
	AccessEvent *rx;

	ev.schema_version = 1;
	ev.event_id = "6f1c1f4e-2a7b-4d5e-9c1a-1b2c3d4e5f60";
	ev.device_id = "dev-0001";
	ev.site_id = "site-a";
	ev.seq = 42;
	ev.capture_time_us = 1795455600000000;
	ev.decided_time_us = 1795455600050000;
	ev.decision = FACEFLEET__V1__DECISION__DECISION_GRANTED;
	ev.identity = "alice";
	ev.score = 0.71f;
	ev.model_id = "mobilefacenet-v1+vqvae-112-g8-k512-v1";
	ev.reason = "";
	len = facefleet__v1__access_event__get_packed_size(&ev);
	CU_ASSERT_FATAL(len <= sizeof(wire));
	CU_ASSERT_EQUAL(facefleet__v1__access_event__pack(&ev, wire), len);
	rx = facefleet__v1__access_event__unpack(NULL, len, wire);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_STRING_EQUAL(rx->event_id, ev.event_id);
	CU_ASSERT_STRING_EQUAL(rx->device_id, "dev-0001");
	CU_ASSERT_STRING_EQUAL(rx->site_id, "site-a");
	CU_ASSERT_EQUAL(rx->seq, 42);
	CU_ASSERT_EQUAL(rx->capture_time_us, ev.capture_time_us);
	CU_ASSERT_EQUAL(rx->decided_time_us, ev.decided_time_us);
	CU_ASSERT_EQUAL(rx->decision, FACEFLEET__V1__DECISION__DECISION_GRANTED);
	CU_ASSERT_STRING_EQUAL(rx->identity, "alice");
	CU_ASSERT_DOUBLE_EQUAL(rx->score, 0.71, 1e-6);
	CU_ASSERT_STRING_EQUAL(rx->model_id, ev.model_id);
	CU_ASSERT_STRING_EQUAL(rx->reason, "");
	facefleet__v1__access_event__free_unpacked(rx, NULL);
}

static void test_device_status(void)
{
	DeviceStatus st = FACEFLEET__V1__DEVICE_STATUS__INIT;
	Facefleet__V1__DeviceCounters cnt = FACEFLEET__V1__DEVICE_COUNTERS__INIT;
	uint8_t wire[512];
	size_t len;
	DeviceStatus *rx;

	cnt.captured = 1000;
	cnt.faces = 900;
	cnt.published = 890;
	cnt.dropped = 3;
	cnt.queued = 7;
	st.schema_version = 1;
	st.device_id = "dev-0001";
	st.site_id = "site-a";
	st.state = FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE;
	st.time_us = 1795455600000000;
	st.model_id = "vqvae-112-g8-k512-v1";
	st.counters = &cnt;
	st.uptime_s = 3600;
	st.agent_version = "0.1.0";
	st.config_version = 3;
	st.detail = "";
	len = facefleet__v1__device_status__get_packed_size(&st);
	CU_ASSERT_FATAL(len <= sizeof(wire));
	CU_ASSERT_EQUAL(facefleet__v1__device_status__pack(&st, wire), len);
	rx = facefleet__v1__device_status__unpack(NULL, len, wire);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_EQUAL(rx->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE);
	CU_ASSERT_STRING_EQUAL(rx->device_id, "dev-0001");
	CU_ASSERT_STRING_EQUAL(rx->agent_version, "0.1.0");
	CU_ASSERT_EQUAL(rx->uptime_s, 3600);
	CU_ASSERT_EQUAL(rx->config_version, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx->counters);
	CU_ASSERT_EQUAL(rx->counters->captured, 1000);
	CU_ASSERT_EQUAL(rx->counters->faces, 900);
	CU_ASSERT_EQUAL(rx->counters->published, 890);
	CU_ASSERT_EQUAL(rx->counters->dropped, 3);
	CU_ASSERT_EQUAL(rx->counters->queued, 7);
	facefleet__v1__device_status__free_unpacked(rx, NULL);
}

static void test_device_config(void)
{
	DeviceConfig dc = FACEFLEET__V1__DEVICE_CONFIG__INIT;
	uint8_t wire[256];
	size_t len;
	DeviceConfig *rx;

	dc.schema_version = 1;
	dc.config_version = 5;
	dc.min_face_px = 48;
	dc.min_det_score = 0.9f;
	dc.model_id = "vqvae-112-g8-k512-v1";
	dc.max_fps = 5;
	dc.status_interval_s = 30;
	dc.capture_paused = 1;
	len = facefleet__v1__device_config__get_packed_size(&dc);
	CU_ASSERT_FATAL(len <= sizeof(wire));
	CU_ASSERT_EQUAL(facefleet__v1__device_config__pack(&dc, wire), len);
	rx = facefleet__v1__device_config__unpack(NULL, len, wire);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_EQUAL(rx->config_version, 5);
	CU_ASSERT_EQUAL(rx->min_face_px, 48);
	CU_ASSERT_DOUBLE_EQUAL(rx->min_det_score, 0.9, 1e-6);
	CU_ASSERT_STRING_EQUAL(rx->model_id, "vqvae-112-g8-k512-v1");
	CU_ASSERT_EQUAL(rx->max_fps, 5);
	CU_ASSERT_EQUAL(rx->status_interval_s, 30);
	CU_ASSERT_TRUE(rx->capture_paused);
	facefleet__v1__device_config__free_unpacked(rx, NULL);
}

/* An empty message is valid proto3 (all zeros); a stray byte is not. */
static void test_empty_and_garbage(void)
{
	static const uint8_t garbage[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	FaceCodes *rx = facefleet__v1__face_codes__unpack(NULL, 0, (const uint8_t *)"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_EQUAL(rx->schema_version, 0);
	CU_ASSERT_EQUAL(rx->codes.len, 0);
	CU_ASSERT_PTR_NULL(rx->box);
	facefleet__v1__face_codes__free_unpacked(rx, NULL);

	rx = facefleet__v1__face_codes__unpack(NULL, sizeof(garbage), garbage);
	CU_ASSERT_PTR_NULL(rx);
	if (rx)
		facefleet__v1__face_codes__free_unpacked(rx, NULL);
}

static CU_TestInfo proto_tests[] = {
	{ "face_codes", test_face_codes },
	{ "access_event", test_access_event },
	{ "device_status", test_device_status },
	{ "device_config", test_device_config },
	{ "empty_and_garbage", test_empty_and_garbage },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "proto", NULL, NULL, NULL, NULL, proto_tests });
