/* backend_validation: fleet-backend against the real broker and database.
 * Redelivered and replayed messages make one event; a seq far ahead or a
 * used seq with other bytes is refused; every kind of bad input
 * (corrupt protobuf, wrong sizes, grid, out-of-range index, unknown model,
 * unknown or revoked device, topic/device or site mismatch, oversized
 * payload, SQL-ish ids, seq 0, bad box, codes_per_cell mismatch) leaves an
 * audit row with its reason, no crash, and the stream keeps flowing; schema 3
 * (no layout, time as an offset, no version), schema 2 (ids from the topic,
 * box_px) and legacy schema 1 messages are accepted; rANS-coded codes
 * (codes_ans) are decided like packed ones, a corrupt stream is INVALID. */
#include "ff_test.h"
#include "test_backend_common.h"

#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/facecodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static PGconn *db;
static bt_proc proc;
static bt_client *cli;
static char site[40], dev_ok[40], dev_off[40], dev_other[40], dev_seq[40], dev_ret[40], actor[80];

static int setup(void)
{
	const char *extra[] = { "--replay-window=10", "--batch-ms=5", NULL };
	db = bt_db();
	if (!db)
		return 1;
	snprintf(site, sizeof(site), "%s-s", bt_run_id());
	snprintf(dev_ok, sizeof(dev_ok), "%s-ok", bt_run_id());
	snprintf(dev_off, sizeof(dev_off), "%s-off", bt_run_id());
	snprintf(dev_other, sizeof(dev_other), "%s-other", bt_run_id());
	snprintf(dev_seq, sizeof(dev_seq), "%s-sq", bt_run_id());
	snprintf(dev_ret, sizeof(dev_ret), "%s-rt", bt_run_id());
	snprintf(actor, sizeof(actor), "backend:%s-v", bt_run_id());
	if (!bt_add_device(db, dev_ok, site, true) || !bt_add_device(db, dev_off, site, false) ||
	    !bt_add_device(db, dev_other, "elsewhere", true) || !bt_add_device(db, dev_seq, site, true) ||
	    !bt_add_device(db, dev_ret, site, true))
		return 1;
	if (!bt_start(&proc, "v", "v", extra))
		return 1;
	cli = bt_client_new("pub");
	return cli ? 0 : 1;
}

static int cleanup(void)
{
	int st = bt_stop(&proc);
	if (st != 0)
		fprintf(stderr, "fleet-backend exit status %d (log %s)\n", st, proc.log);
	bt_client_free(cli);
	PQfinish(db);
	return st == 0 ? 0 : 1;
}

static long events_for(const char *device, const char *seq)
{
	const char *p[2] = { device, seq };
	return bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
				 "AND ($2 = '' OR seq = $2::bigint)", 2, p);
}

/* Publishes a face of device with seq; idx NULL: the face of seq. The bytes
 * go to out (cap 512) when given, for a redelivery. */
static void publish_face(const char *device, uint64_t seq, const uint16_t *idx, uint8_t *out,
			 size_t *out_len)
{
	uint8_t buf[512];
	char topic[128];
	size_t n = bt_face_codes(buf, sizeof(buf), seq, idx);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, device), buf, n));
	if (out) {
		memcpy(out, buf, n);
		*out_len = n;
	}
}

static void publish_seq(const char *device, uint64_t seq)
{
	publish_face(device, seq, NULL, NULL, NULL);
}

static long reject_count(const char *device, const char *reason)
{
	const char *p[2] = { device, reason };
	return bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE action = 'message.reject' "
				"AND detail->>'reason' = $2 AND detail->>'device' = $1", 2, p, 1, 15000);
}

static void test_duplicates_and_replays(void)
{
	const char *p[1] = { dev_ok };
	uint8_t two[512];
	size_t two_len = 0;
	char topic[128];
	publish_seq(dev_ok, 1);
	publish_face(dev_ok, 2, NULL, two, &two_len);
	publish_seq(dev_ok, 3);
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 3, 15000), 3);
	/* the same message (device, seq, bytes) twice more: no new event, two
	 * duplicate audit rows */
	bt_faces_topic(topic, sizeof(topic), site, dev_ok);
	CU_ASSERT(bt_publish(cli, topic, two, two_len));
	CU_ASSERT(bt_publish(cli, topic, two, two_len));
	CU_ASSERT(bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE action = 'event.duplicate' "
				   "AND detail->>'device' = $1", 1, p, 2, 15000) >= 2);
	CU_ASSERT_EQUAL(events_for(dev_ok, "2"), 1);
	/* a far-ahead seq raises the mark; one 10+ below it is a replay */
	publish_seq(dev_ok, 20);
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 4, 15000), 4);
	/* the mark is committed before the replay is validated */
	CU_ASSERT(bt_wait_long(db, "SELECT last_seq FROM devices WHERE device_id = $1", 1, p, 20,
			       5000) >= 20);
	publish_seq(dev_ok, 5);
	CU_ASSERT(reject_count(dev_ok, "replay") >= 1);
	CU_ASSERT_EQUAL(events_for(dev_ok, "5"), 0);
	CU_ASSERT_EQUAL(events_for(dev_ok, ""), 4);
	CU_ASSERT(bt_metric(&proc, "ff_backend_duplicates_total") >= 2);
}

/* A seq far above the mark would lock the device out (every later seq a
 * replay): refused, and the mark stays. Another face under a used seq (a
 * wiped outbox, a replaced device) is refused as seq_reused: no second
 * event, no AccessEvent announcing its decision. */
static void test_seq_jump_and_reuse(void)
{
	const char *dev = dev_seq, *p[1] = { dev_seq };
	uint16_t other[FF_VQ_MAX_CODES];
	const ff_vq_info *vi = bt_vq_info();
	CU_ASSERT_FATAL(bt_client_watch_access(cli, site));
	publish_seq(dev, 1);
	CU_ASSERT(bt_wait_long(db, "SELECT last_seq FROM devices WHERE device_id = $1", 1, p, 1,
			       5000) >= 1);

	publish_seq(dev, (uint64_t)INT64_MAX);
	publish_seq(dev, 1 + 1000000 + 1); /* the default max_seq_jump is 1,000,000 */
	CU_ASSERT(reject_count(dev, "seq_jump") >= 2);
	publish_seq(dev, 2);
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 2, 15000), 2);

	for (uint32_t i = 0; i < vi->num_codes; i++)
		other[i] = (uint16_t)((i * 7 + 3) % vi->codebook_size);
	{
		int before = bt_access_count(cli);
		publish_face(dev, 2, other, NULL, NULL);
		CU_ASSERT(reject_count(dev, "seq_reused") >= 1);
		publish_seq(dev, 3); /* committed and published after the reuse was refused */
		bt_access_wait(cli, before + 2, 3000);
		CU_ASSERT_EQUAL(bt_access_count(cli), before + 1);
	}
	CU_ASSERT_EQUAL(events_for(dev, "2"), 1);
	CU_ASSERT_EQUAL(events_for(dev, ""), 3);

	/* a mark raised far (a forged seq from before max_seq_jump) locks the
	 * device out; a reset (fleetctl device reset-seq: new seq_generation)
	 * lowers it in the running backend */
	CU_ASSERT(bt_exec(db, "UPDATE devices SET last_seq = 1000000000000, "
			      "seq_generation = seq_generation + 1 WHERE device_id = $1", 1, p));
	for (int i = 0; i < 50 && reject_count(dev, "replay") < 1; i++)
		publish_seq(dev, 4);
	CU_ASSERT(reject_count(dev, "replay") >= 1);
	CU_ASSERT(bt_exec(db, "UPDATE devices SET last_seq = 3, seq_generation = seq_generation + 1 "
			      "WHERE device_id = $1", 1, p));
	for (int i = 0; i < 50 && events_for(dev, "5") == 0; i++) {
		publish_seq(dev, 5);
		PQclear(PQexec(db, "SELECT pg_sleep(0.1)"));
	}
	CU_ASSERT_EQUAL(events_for(dev, "5"), 1);
}

/* A face published with the retain flag is decided once, when it arrives:
 * the backend's (re)subscriptions ask for no retained messages, so a
 * restart does not bring it back as a duplicate. */
static void test_retained_face_once(void)
{
	const char *extra[] = { "--replay-window=10", "--batch-ms=5", NULL };
	const char *p[1] = { dev_ret };
	uint8_t buf[512];
	char topic[128];
	size_t n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	bt_faces_topic(topic, sizeof(topic), site, dev_ret);
	CU_ASSERT(bt_publish_retained(cli, topic, buf, n));
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 1, 15000), 1);
	CU_ASSERT_EQUAL(bt_stop(&proc), 0);
	CU_ASSERT_FATAL(bt_start(&proc, "v", "v", extra));
	publish_seq(dev_ret, 2);
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 2, 15000), 2);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = 'event.duplicate' "
					  "AND detail->>'device' = $1", 1, p), 0);
	CU_ASSERT(bt_publish_retained(cli, topic, "", 0)); /* clears it at the broker */
}

/* Re-packs a valid message after `edit` changed it. */
typedef void (*edit_fn)(Facefleet__V1__FaceCodes *fc, uint8_t *scratch);

static size_t edited(uint8_t *out, size_t cap, uint64_t seq, edit_fn edit)
{
	uint8_t buf[512], scratch[512];
	size_t n = bt_face_codes(buf, sizeof(buf), seq, NULL);
	Facefleet__V1__FaceCodes *fc = facefleet__v1__face_codes__unpack(NULL, n, buf);
	size_t len = 0;
	Facefleet__V1__FaceCodes saved;
	if (!fc)
		return 0;
	saved = *fc; /* the edits point fields at other memory: restore before freeing */
	edit(fc, scratch);
	if (facefleet__v1__face_codes__get_packed_size(fc) <= cap)
		len = facefleet__v1__face_codes__pack(fc, out);
	*fc = saved;
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
	return len;
}

static void e_long_codes(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	memcpy(s, fc->codes.data, fc->codes.len);
	s[fc->codes.len] = 0;
	fc->codes.data = s;
	fc->codes.len += 1;
}
static void e_grid(Facefleet__V1__FaceCodes *fc, uint8_t *s) { (void)s; fc->grid_h += 1; }
static void e_model(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->model_id = (char *)"no-such-model";
}
static void e_sql_id(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->device_id = (char *)"x'); DROP TABLE devices; --";
}
static void e_other_dev(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->device_id = dev_other;
}
static void e_index(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	const ff_vq_info *vi = bt_vq_info();
	uint16_t idx[FF_VQ_MAX_CODES];
	for (uint32_t i = 0; i < vi->num_codes; i++)
		idx[i] = (uint16_t)(i % vi->codebook_size);
	idx[3] = (uint16_t)((1u << vi->bits_per_index) - 1); /* >= K when K < 2^bits */
	ff_bitpack_pack(idx, vi->num_codes, vi->bits_per_index, 1u << vi->bits_per_index, s,
			fc->codes.len);
	fc->codes.data = s;
}

static void send_raw(const char *topic_device, const void *p, size_t n)
{
	char topic[160];
	CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, topic_device), p, n));
}

static long audit_reason(const char *reason)
{
	const char *p[2] = { actor, reason };
	return bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE actor = $1 "
				"AND action = 'message.reject' AND detail->>'reason' = $2",
			    2, p, 1, 15000);
}

static void test_bad_inputs(void)
{
	uint8_t buf[4096];
	size_t n;
	const ff_vq_info *vi = bt_vq_info();
	bool index_testable = vi && vi->codebook_size < (1u << vi->bits_per_index);
	static const char *const reasons[] = {
		"bad_protobuf", "bad_size", "grid_mismatch", "unknown_model", "unknown_device",
		"device_disabled", "topic_mismatch", "payload_too_large", "bad_id", "site_mismatch",
		"bad_seq", "bad_topic",
	};

	/* corrupt protobuf */
	memset(buf, 0xff, 64);
	send_raw(dev_ok, buf, 64);
	/* wrong sizes, grid, unknown model: the device is known, so INVALID events */
	n = edited(buf, sizeof(buf), 30, e_long_codes);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 31, e_grid);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 32, e_model);
	send_raw(dev_ok, buf, n);
	if (index_testable) {
		n = edited(buf, sizeof(buf), 33, e_index);
		send_raw(dev_ok, buf, n);
	} else {
		fprintf(stderr, "note: codebook %u fills %u bits, no out-of-range index exists\n",
			vi ? vi->codebook_size : 0, vi ? vi->bits_per_index : 0);
	}
	/* unknown and revoked devices */
	{
		char nobody[48];
		snprintf(nobody, sizeof(nobody), "%s-nobody", bt_run_id());
		n = bt_face_codes(buf, sizeof(buf), 1, NULL);
		send_raw(nobody, buf, n);
	}
	n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	send_raw(dev_off, buf, n);
	/* topic says dev_ok, message says dev_other */
	n = edited(buf, sizeof(buf), 40, e_other_dev);
	send_raw(dev_ok, buf, n);
	/* oversized */
	memset(buf, 0x41, 3000);
	send_raw(dev_ok, buf, 3000);
	/* SQL in the device id of the message, and in the topic */
	n = edited(buf, sizeof(buf), 41, e_sql_id);
	send_raw(dev_ok, buf, n);
	n = bt_face_codes(buf, sizeof(buf), 42, NULL);
	CU_ASSERT(bt_publish(cli, "fleet/s/x'); DROP TABLE devices; --/faces", buf, n));
	/* device registered at another site */
	n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	send_raw(dev_other, buf, n);
	/* seq 0 */
	n = bt_face_codes(buf, sizeof(buf), 0, NULL);
	send_raw(dev_ok, buf, n);

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		const char *p[2] = { actor, reasons[i] };
		long c = bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE actor = $1 "
					  "AND detail->>'reason' = $2", 2, p, 1, 15000);
		if (c < 1)
			fprintf(stderr, "no audit row for reason %s\n", reasons[i]);
		CU_ASSERT(c >= 1);
	}
	if (index_testable) {
		const char *p[2] = { actor, "index_range" };
		CU_ASSERT(bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE actor = $1 "
					   "AND detail->>'reason' = $2", 2, p, 1, 15000) >= 1);
	}
	/* the known device's bad payloads are INVALID events */
	{
		const char *p[1] = { dev_ok };
		CU_ASSERT(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					   "AND decision = 'invalid'", 1, p, 3, 10000) >= 3);
	}
	CU_ASSERT(audit_reason("bad_protobuf") >= 1);
	/* nothing was dropped or broken, and the service still works */
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM devices", 0, NULL) > 0, 1);
	CU_ASSERT(bt_alive(&proc));
	publish_seq(dev_ok, 50);
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					 "AND seq = 50", 1, (const char *const[]){ dev_ok }, 1, 15000),
			1);
	CU_ASSERT(bt_metric(&proc, "ff_backend_rejected_total{reason=\"bad_protobuf\"}") >= 1);
	CU_ASSERT(bt_metric(&proc, "ff_backend_messages_in_total") >= 15);
}

static int64_t capture_sent;
static void e_capture(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->capture_time_us = capture_sent; /* what a schema 3 sender does with a bad clock */
	fc->capture_offset_s = 0;
	fc->schema_version = 3;
}

/* A capture time 1 us after 1970 or a year ahead is not stored as sent: the
 * event takes the receive time and the audit row says so; a plausible one
 * (an hour ago: a face that waited in an outbox) is kept. */
static void test_capture_time_clamped(void)
{
	uint8_t buf[512];
	size_t n;
	const char *p[1] = { dev_ok };
	const int64_t now = (int64_t)time(NULL) * 1000000;
	const int64_t sent[3] = { 1, now + 364LL * 86400 * 1000000, now - 3600LL * 1000000 };
	for (int i = 0; i < 3; i++) {
		capture_sent = sent[i];
		n = edited(buf, sizeof(buf), 70 + (uint64_t)i, e_capture);
		send_raw(dev_ok, buf, n);
	}
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					 "AND seq BETWEEN 70 AND 72", 1, p, 3, 15000), 3);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					  "AND seq IN (70, 71) AND capture_time = received_time", 1, p), 2);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					  "AND seq = 72 AND capture_time < received_time - interval '59 minutes'",
				      1, p), 1);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = 'event.decide' "
					  "AND detail->>'device' = $1 AND detail ? 'capture_time'", 1, p), 2);
}

/* Schema revisions (proto/facefleet.proto): a schema 2 message (no ids: the
 * topic names the sender; codes_per_cell; box_px) and a legacy schema 1
 * message (ids, float Box) are both accepted; a box_px of 3 values, an
 * inverted box and a code count that codes_per_cell makes differ from the
 * model's are INVALID events with their audit reason. */
static int32_t box_good[4] = { 40, 50, 140, 170 };
static int32_t box_three[3] = { 40, 50, 140 };
static int32_t box_inverted[4] = { 140, 50, 40, 170 };

static void e_box_px(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->box_px = box_good;
	fc->n_box_px = 4;
	fc->det_score = 0.99f;
	fc->frame_w = fc->frame_h = 250;
}
static void e_box_three(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->box_px = box_three;
	fc->n_box_px = 3;
}
static void e_box_inverted(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->box_px = box_inverted;
	fc->n_box_px = 4;
}
static void e_cpc(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->codes_per_cell = bt_vq_info()->codes_per_cell + 1;
}
static Facefleet__V1__Box legacy_box = { PROTOBUF_C_MESSAGE_INIT(&facefleet__v1__box__descriptor),
					 40.4f, 50.6f, 140.2f, 170.9f };
/* What schema 1 and 2 send and schema 3 leaves out: the model's layout, the
 * capture time in microseconds, the version. */
static void legacy_fields(Facefleet__V1__FaceCodes *fc, uint32_t schema)
{
	const ff_vq_info *vi = bt_vq_info();
	fc->schema_version = schema;
	fc->grid_h = vi->grid_h;
	fc->grid_w = vi->grid_w;
	fc->codebook_size = vi->codebook_size;
	fc->bits_per_index = vi->bits_per_index;
	fc->codes_per_cell = schema == 2 && vi->codes_per_cell > 1 ? vi->codes_per_cell : 0;
	fc->capture_time_us = ff_facecodes_capture_us(fc);
	fc->capture_offset_s = 0;
}
static void e_schema2(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	e_box_px(fc, s);
	legacy_fields(fc, 2);
}
static void e_no_version(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	fc->capture_time_us = ff_facecodes_capture_us(fc);
	fc->capture_offset_s = 0; /* then nothing says which schema */
}
static void e_schema1(Facefleet__V1__FaceCodes *fc, uint8_t *s)
{
	(void)s;
	legacy_fields(fc, 1);
	fc->device_id = dev_ok;
	fc->site_id = site;
	fc->codes_per_cell = 0; /* predates the field: the model's */
	fc->box = &legacy_box;
}

/* Events of dev_ok's seq with that decision ("" any); waits up to 15 s for one. */
static long decided(uint64_t seq, const char *decision, bool wait)
{
	char q[32];
	const char *p[3] = { dev_ok, q, decision };
	const char *sql = "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
			  "AND seq = $2::bigint AND ($3 = '' OR decision = $3)";
	snprintf(q, sizeof(q), "%llu", (unsigned long long)seq);
	return wait ? bt_wait_long(db, sql, 3, p, 1, 15000) : bt_query_long(db, sql, 3, p);
}

static long reason_rows(const char *reason)
{
	const char *p[2] = { actor, reason };
	return bt_wait_long(db, "SELECT count(*) FROM audit_log WHERE actor = $1 "
				"AND detail->>'reason' = $2", 2, p, 1, 15000);
}

static void test_schema_revisions(void)
{
	uint8_t buf[512];
	size_t n;
	Facefleet__V1__FaceCodes *fc;

	/* what bt_face_codes builds is what a device sends: schema 3, no ids,
	 * no layout, no version, the time as an offset */
	n = bt_face_codes(buf, sizeof(buf), 60, NULL);
	fc = facefleet__v1__face_codes__unpack(NULL, n, buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->schema_version == 0 && fc->grid_h == 0 && fc->capture_offset_s > 0);
	CU_ASSERT_STRING_EQUAL(fc->device_id, "");
	CU_ASSERT_STRING_EQUAL(fc->site_id, "");
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
	n = bt_face_codes(buf, sizeof(buf), 59, NULL); /* accepted as it is */
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 65, e_schema2);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 66, e_no_version);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 60, e_box_px);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 61, e_schema1);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 62, e_box_three);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 63, e_box_inverted);
	send_raw(dev_ok, buf, n);
	n = edited(buf, sizeof(buf), 64, e_cpc);
	send_raw(dev_ok, buf, n);

	/* accepted: an event that is not INVALID (59 schema 3, 65 schema 2) */
	CU_ASSERT_EQUAL(decided(59, "", true), 1);
	CU_ASSERT_EQUAL(decided(65, "", true), 1);
	CU_ASSERT_EQUAL(decided(59, "invalid", false), 0);
	CU_ASSERT_EQUAL(decided(65, "invalid", false), 0);
	CU_ASSERT_EQUAL(decided(60, "", true), 1);
	CU_ASSERT_EQUAL(decided(61, "", true), 1);
	CU_ASSERT_EQUAL(decided(60, "invalid", false), 0);
	CU_ASSERT_EQUAL(decided(61, "invalid", false), 0);
	/* rejected as INVALID events with their reasons */
	CU_ASSERT_EQUAL(decided(62, "invalid", true), 1);
	CU_ASSERT_EQUAL(decided(63, "invalid", true), 1);
	CU_ASSERT_EQUAL(decided(64, "invalid", true), 1);
	CU_ASSERT(reason_rows("bad_box") >= 1);
	CU_ASSERT(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
				   "AND seq IN (62, 63) AND reason = 'bad_box'",
			       1, (const char *const[]){ dev_ok }, 2, 15000) == 2);
	CU_ASSERT(reason_rows("codes_per_cell_mismatch") >= 1);
	CU_ASSERT_EQUAL(decided(66, "invalid", true), 1);
	CU_ASSERT(reason_rows("bad_schema_version") >= 1);
}

/* One face packed (seq 80) and rANS-coded (81, codes_ans) with the model's
 * tables: decided alike (decision, score, the packed codes kept for
 * review); the coded one cut short (82) is an INVALID event with its audit
 * row, and the stream keeps flowing (83). */
static void test_coded_codes(void)
{
	ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
	ff_entropy_table *t = NULL;
	ff_vq_decoder *dec = NULL;
	Facefleet__V1__FaceCodes *fc;
	uint16_t idx[FF_VQ_MAX_CODES];
	uint8_t raw[512], ans[512];
	size_t nraw = 0, nans = 0;
	char path[1200];
	const char *p[1] = { dev_ok };
	const ff_vq_info *vi;

	/* vq2 ships its tables and packs into 123 B, so one face goes both ways;
	 * the backend loaded every model of the folder */
	snprintf(path, sizeof(path), "%s/%s.dec.ffn", bt_vq_dir(NULL), BT_VQ_PACKED_MODEL);
	CU_ASSERT_EQUAL_FATAL(ff_vq_decoder_create(path, NULL, &dec, NULL, 0), FF_OK);
	vi = ff_vq_decoder_info(dec);
	if (ff_entropy_table_open(path, vi, &t, NULL, 0) == FF_ERR_NOTFOUND) {
		fprintf(stderr, "note: %s has no rANS tables, coded faces not tested\n", path);
		ff_vq_decoder_free(dec);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (uint32_t i = 0; i < vi->num_codes; i++) /* smooth, like a face */
		idx[i] = (uint16_t)((i / vi->grid_w) % 3 == 0 ? 4 : 12) % vi->codebook_size;
	f.capture_time_us = (int64_t)time(NULL) * 1000000;
	f.seq = 80;
	FF_ASSERT_OK(ff_facecodes_build(vi, idx, &f, raw, sizeof(raw), &nraw));
	f.seq = 81;
	f.entropy = t;
	FF_ASSERT_OK(ff_facecodes_build(vi, idx, &f, ans, sizeof(ans), &nans));
	CU_ASSERT(nans < nraw);
	send_raw(dev_ok, raw, nraw);
	send_raw(dev_ok, ans, nans);
	fc = facefleet__v1__face_codes__unpack(NULL, nans, ans);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT(fc->codes.len == 0 && fc->codes_ans.len > 4);
	fc->seq = 82;
	fc->codes_ans.len -= 2;
	nans = facefleet__v1__face_codes__pack(fc, ans);
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
	send_raw(dev_ok, ans, nans);
	f.seq = 83;
	f.entropy = NULL;
	FF_ASSERT_OK(ff_facecodes_build(vi, idx, &f, raw, sizeof(raw), &nraw));
	send_raw(dev_ok, raw, nraw);

	CU_ASSERT_EQUAL(decided(80, "", true), 1);
	CU_ASSERT_EQUAL(decided(81, "", true), 1);
	CU_ASSERT_EQUAL(decided(81, "invalid", false), 0);
	CU_ASSERT_EQUAL(bt_query_long(db, "SELECT count(DISTINCT (decision, score, codes, reason)) "
					  "FROM recognition_events WHERE device_id = $1 AND seq IN (80, 81)",
				      1, p), 1);
	CU_ASSERT_EQUAL(decided(82, "invalid", true), 1);
	CU_ASSERT(reason_rows("bad_entropy_codes") >= 1);
	CU_ASSERT_EQUAL(decided(83, "", true), 1);
	ff_entropy_table_free(t);
	ff_vq_decoder_free(dec);
}

static CU_TestInfo tests[] = {
	{ "duplicates_and_replays", test_duplicates_and_replays },
	{ "seq_jump_and_reuse", test_seq_jump_and_reuse },
	{ "retained_face_once", test_retained_face_once },
	{ "bad_inputs", test_bad_inputs },
	{ "schema_revisions", test_schema_revisions },
	{ "capture_time_clamped", test_capture_time_clamped }, /* after: seqs above theirs */
	{ "coded_codes", test_coded_codes },                   /* after: seqs above those */
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_validation", setup, cleanup, NULL, NULL, tests });
