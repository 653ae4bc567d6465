/* tests/integration/test_backend_common.h: what the backend_* integration
 * tests share: spawning fleet-backend processes against the private stack,
 * building FaceCodes, publishing them, collecting AccessEvents and polling
 * PostgreSQL. Every test uses its own device ids, share group and client
 * ids (suffixed with the pid), so tests never see each other's traffic. */
#ifndef FF_TEST_BACKEND_COMMON_H
#define FF_TEST_BACKEND_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "facefleet/mqtt.h"
#include "facefleet/vq.h"
#include "recognize.h"

/* Unique token of this test run: "<tag><pid>", [a-z0-9]. */
const char *bt_run_id(void);

/* The VQ decoder/encoder the tests use: models/vq/<id>.*.ffn when a trained
 * model is committed there, else tests/data/vq/tiny-test (plumbing only: its
 * decisions mean nothing). *real tells which. Returns the folder. */
const char *bt_vq_dir(bool *real);
/* The model the kit's faces are built with: vq2, packed in 123 bytes (the
 * default, vq8, is sent entropy-coded only; fleet-device's tests carry it). */
#define BT_VQ_PACKED_MODEL "vq2"
/* Metadata of BT_VQ_PACKED_MODEL's decoder in bt_vq_dir, else the default's
 * (loads it once). */
const ff_vq_info *bt_vq_info(void);

/* Connects to the stack's database (migrating it first); NULL fails the test. */
PGconn *bt_db(void);
/* Runs sql with text params; returns the first column of the first row as
 * a long (or -1 on error, printed). */
long bt_query_long(PGconn *db, const char *sql, int nparams, const char *const *params);
bool bt_exec(PGconn *db, const char *sql, int nparams, const char *const *params);
/* Polls until bt_query_long(...) >= want or timeout_ms; returns the last value. */
long bt_wait_long(PGconn *db, const char *sql, int nparams, const char *const *params, long want,
		  int timeout_ms);
/* Provisions device (site) enabled. */
bool bt_add_device(PGconn *db, const char *device, const char *site, bool enabled);

/* A running fleet-backend. */
typedef struct bt_proc {
	pid_t pid;
	char log[512];
	int metrics_port;
} bt_proc;

/* True when a line of the log file at path contains needle. */
bool bt_log_has(const char *path, const char *needle);

/* Starts fleet-backend with instance name `instance`, share group `group`
 * and extra "--key=value" arguments (NULL-terminated list), waits until it
 * logs event=started (30 s). Returns true on success. */
bool bt_start(bt_proc *p, const char *instance, const char *group, const char *const *extra);
/* SIGTERM, wait (20 s, then SIGKILL); returns the exit status (or -1). */
int bt_stop(bt_proc *p);
/* True while the process runs. */
bool bt_alive(bt_proc *p);
/* GET /metrics; returns the value of the sample line starting with `name`
 * (e.g. "ff_backend_rejected_total{reason=\"bad_protobuf\"}"), -1 if absent. */
double bt_metric(bt_proc *p, const char *name);

/* A test-side MQTT client (publisher + AccessEvent collector). */
typedef struct bt_client bt_client;
bt_client *bt_client_new(const char *name);
void bt_client_free(bt_client *c);
/* Subscribes to fleet/<site>/+/access. */
bool bt_client_watch_access(bt_client *c, const char *site);
/* Publishes raw bytes QoS 1 (waits for the broker's PUBACK). */
bool bt_publish(bt_client *c, const char *topic, const void *payload, size_t len);
/* The same with the retain flag (a hostile device's retained face). */
bool bt_publish_retained(bt_client *c, const char *topic, const void *payload, size_t len);
/* AccessEvents collected so far. */
int bt_access_count(bt_client *c);
/* Finds the latest collected AccessEvent for (device, seq): decision (1..4), identity
 * copied into identity (cap bytes), event id into event_id[37]. false if none. */
bool bt_access_find(bt_client *c, const char *device, uint64_t seq, int *decision,
		    char *identity, size_t cap, char event_id[37]);
int bt_access_wait(bt_client *c, int want, int timeout_ms);
/* One collected AccessEvent (proto AccessEvent; the track fields 0 for a
 * face decided alone). */
typedef struct bt_access {
	int decision;          /* 1..4 */
	char identity[129];
	char event_id[37];
	float score;
	uint64_t track_id;
	uint32_t track_index, faces_fused;
	int face_decision;
	float face_score;
} bt_access;
/* The latest collected AccessEvent for (device, seq) into out (may be NULL);
 * false if none. */
bool bt_access_get(bt_client *c, const char *device, uint64_t seq, bt_access *out);
/* How many AccessEvents were collected for (device, seq). */
int bt_access_count_seq(bt_client *c, const char *device, uint64_t seq);
/* Subscribes to fleet/<site>/<device>/receipt: the backend's Receipts for
 * that device's faces are collected too (the first 256 with a seq). */
bool bt_client_watch_receipts(bt_client *c, const char *site, const char *device);
/* Waits up to timeout_ms for a Receipt answering seq with that outcome
 * ("recorded", "duplicate", ...; NULL: any). false if none came. */
bool bt_receipt_wait(bt_client *c, uint64_t seq, const char *outcome, int timeout_ms);

/* What the tests embed faces with, as the backend does: a recognizer on the
 * first decoder of bt_vq_dir (with MobileFaceNet from FF_MODELS_DIR; skips
 * the test, exit 77, without it) and that model's encoder. false (printed)
 * when the VQ files cannot be loaded. */
bool bt_recognizer_open(be_recognizer **rec, ff_vq_encoder **enc);
/* The aligned test face tests/data/faces/aligned112/<person>/<file>
 * encoded by enc into idx and embedded through the reconstruction path
 * (decoder 0 of rec, as the backend does) into emb (unit length). */
bool bt_encode_aligned(ff_vq_encoder *enc, be_recognizer *rec, const char *person,
		       const char *file, uint16_t *idx, float *emb);
/* Enrols a new identity ext (allowed_sites: a text[] literal, "{}" = every
 * site) with one mobilefacenet-v1 template emb (dim floats); source names
 * the test in face_templates.source. */
bool bt_enrol(PGconn *db, const char *ext, const char *sites, const float *emb, size_t dim,
	      const char *source);

/* Builds a FaceCodes payload for the test model from indices (NULL: a
 * deterministic pseudo-random face from seq). Returns its length (0 on
 * error). */
size_t bt_face_codes(uint8_t *buf, size_t cap, uint64_t seq, const uint16_t *idx);
/* The same face as one of a track, as fleet-device sends it: track_id,
 * track_index and quality (0: not computed) appended. */
size_t bt_face_codes_track(uint8_t *buf, size_t cap, uint64_t seq, const uint16_t *idx,
			   uint64_t track_id, uint32_t track_index, float quality);
/* fleet/<site>/<device>/faces into buf. */
const char *bt_faces_topic(char *buf, size_t cap, const char *site, const char *device);

#endif
