/* device/device.h: what the parts of fleet-device share.
 *
 * One face, end to end, in this folder:
 *   source_{file,dir,stdin,video}.c -> pipeline.c (detect, gate, align,
 *   quality.c + track.c for video, VQ encode, pack, FaceCodes) -> outbox.c (disk, store and forward) -> publisher.c
 *   (MQTT connection, publish window, acks) ; status.c (DeviceStatus, last
 *   will) ; config_handler.c (retained DeviceConfig) ; agent_config.c (the
 *   config file and command line) ; main.c wires them. */
#ifndef FF_DEVICE_H
#define FF_DEVICE_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "facefleet/ids.h"
#include "facefleet/version.h"
#include "facefleet/detect.h"
#include "facefleet/image.h"
#include "facefleet/vq.h"

#define DEV_VERSION FF_VERSION /* the project's (CMake), facefleet/version.h */
#include "facefleet/exit.h" /* FF_EXIT_OK, FF_EXIT_FAIL, FF_EXIT_USAGE */
#define DEV_MAX_MSG 1024 /* largest FaceCodes message we make (bytes) */

/* ---- agent_config.c: settings from the file and the command line ---- */
typedef struct dev_config {
	char *device_id, *site_id;
	char *mqtt_url, *mqtt_username, *mqtt_password, *mqtt_client_id;
	char *tls_ca_file, *tls_cert_file, *tls_key_file;
	int mqtt_keepalive_s, mqtt_connect_timeout_ms;
	int publish_window;
	double max_send_rate;
	int send_burst;
	bool mqtt_topic_alias;
	bool send_ids; /* FaceCodes carry device/site ids (the topic already does) */
	int wire_schema; /* FaceCodes revision sent: 3, or 2 for older backends */
	int code_bytes_max; /* rate control's budget for a model sent coded only */
	bool send_box;   /* schema 3: box, frame size and det_score too */
	int reconnect_min_ms, reconnect_max_ms;
	int status_interval_s;
	char *source; /* file | dir | stdin | video | none */
	char *input;
	char *video_input, *video_options; /* source=video: file, /dev/videoN or URL; k=v,... */
	int video_open_timeout_ms, video_reconnect_min_ms, video_reconnect_max_ms;
	int video_width;
	int track_timeout_ms, track_max_faces, track_moment_ms;
	double track_min_quality, track_better_margin;
	bool watch;
	int repeat;
	int width, height;
	char *pixfmt;
	double max_fps;
	char *model_id, *vq_dir, *vq_encoder, *mtcnn_dir;
	char *bench_video;
	int detector_min_face_px;
	int detector_full_scan_every; /* video: the whole frame every N analysed frames */
	int min_face_px;
	double min_det_score;
	int max_faces;
	char *outbox_dir;
	int outbox_max_messages;
	int64_t outbox_max_bytes;
	char *outbox_drop;
	bool outbox_fsync;
	int seq_resume_wait_ms;
	int receipt_timeout_ms;
	int drain_timeout_s;
	char *log_level;
	bool bench;
	int bench_iterations;
	bool print_config;
} dev_config;

/* Parses defaults < --config file < command line into cfg; positional
 * arguments (an input path, or "-" for stdin) set source/input. Prints help
 * and returns 0 with *exit_now set for --help. Returns FF_EXIT_OK or
 * FF_EXIT_USAGE (message already printed). */
int dev_config_parse(dev_config *cfg, int argc, char **argv, bool *exit_now);
void dev_config_free(dev_config *cfg);
/* Topic "fleet/<site>/<device>/<leaf>" into buf. */
void dev_topic(const dev_config *cfg, const char *leaf, char *buf, size_t len);
/* Microseconds since the Unix epoch (UTC). */
int64_t dev_now_us(void);
/* Monotonic milliseconds. */
int64_t dev_mono_ms(void);

/* ---- runtime settings: changed by DeviceConfig, read by the pipeline ---- */
typedef struct dev_settings {
	pthread_mutex_t mu;
	int min_face_px;
	float min_det_score;
	double max_fps;
	int status_interval_s;
	bool capture_paused;
	uint64_t config_version;
	char model_id[FF_ID_MAX + 1];         /* model in use */
	char detail[128];          /* DeviceStatus.detail; empty when all is well */
	bool degraded;
} dev_settings;

/* Counters for DeviceStatus (gauges included). */
typedef struct dev_counters {
	atomic_uint_fast64_t captured, faces, published, dropped, queued;
} dev_counters;

/* ---- sources: source_*.c ---- */
typedef struct dev_source dev_source;
struct dev_source {
	/* 1: a frame in *img (caller frees) and its name, 0: end of input,
	 * < 0: ff_err (fatal for the source). Non-fatal problems (an unreadable
	 * file among many) are logged and skipped. */
	int (*next)(dev_source *s, ff_image *img, char *name, size_t namelen);
	void (*close)(dev_source *s);
	/* Set by sources of moving pictures (source_video.c) with each frame: its
	 * time on the stream's clock in ms (a file's timestamps, a live stream's
	 * arrival). Pacing and tracks run on it, so that a file gives the same
	 * faces however fast the machine is. Still sources leave timed false. */
	bool timed;
	bool live;        /* frames arrive in real time: never wait for them */
	int64_t frame_ms;
};
int dev_source_file_open(const char *path, int repeat, dev_source **out);
int dev_source_dir_open(const char *dir, bool watch, const atomic_bool *stop, dev_source **out);
int dev_source_stdin_open(int fd, int width, int height, const char *pixfmt,
			  const atomic_bool *stop, dev_source **out);
/* source=video (source_video.c): FFmpeg's libraries read a video file, a
 * V4L2 device or a network stream; live ones reconnect with backoff. */
typedef struct dev_video_options {
	const char *input;       /* file, /dev/videoN or URL (rtsp://, http://...) */
	const char *av_options;  /* "key=value,..." for avformat_open_input, or NULL */
	int open_timeout_ms;     /* bounds opening and each read of a live input */
	int reconnect_min_ms, reconnect_max_ms;
	int width;               /* scale down to this width (aspect kept); 0: as decoded */
	const atomic_bool *stop;
} dev_video_options;
/* Opens the input (a live one that is not reachable yet is retried). Returns
 * FF_OK, FF_ERR_NOTFOUND (no such file or device), FF_ERR_UNSUPPORTED (unknown
 * protocol or format, or the video module missing), FF_ERR_FORMAT (no video
 * stream, undecodable), FF_ERR_AUTH, FF_ERR_INVAL (bad options), FF_ERR_IO;
 * the reason is logged. video_load.c loads the module (source_video.c,
 * fleet-device-video.so, $FF_DEVICE_VIDEO_PLUGIN overrides where) whose
 * dev_video_plugin_open does the work. */
int dev_source_video_open(const dev_video_options *o, dev_source **out);
typedef int (*dev_video_open_fn)(const dev_video_options *o, dev_source **out);
int dev_video_plugin_open(const dev_video_options *o, dev_source **out);
/* True for a V4L2 device path or a URL with a network scheme (a live input). */
bool dev_video_is_live(const char *input);
/* Loads one image file, logging a clear error; shared by file and dir sources. */
int dev_load_image(const char *path, ff_image *img);

/* ---- pipeline.c ---- */
typedef struct dev_pipeline dev_pipeline;
typedef struct dev_face_msg {
	uint8_t buf[DEV_MAX_MSG]; /* packed FaceCodes */
	size_t len;
	uint64_t seq;
	uint64_t track_id;    /* 0: no track (still images) */
	uint32_t track_index; /* the face's place in its track, 0-based */
	float quality;        /* dev_quality score; 0: not computed */
} dev_face_msg;
/* Encoded face handed on by dev_pipeline_process; returns FF_OK or an error
 * that stops processing. */
typedef int (*dev_face_sink)(void *ctx, dev_face_msg *msg);
/* Loads the detector and the VQ encoder named by cfg. Returns FF_OK or an
 * ff_err with a logged reason. */
int dev_pipeline_create(const dev_config *cfg, dev_pipeline **out);
void dev_pipeline_free(dev_pipeline *p);
const char *dev_pipeline_model_id(const dev_pipeline *p);
/* Path of the encoder for model_id under cfg->vq_dir. */
void dev_vq_path(const dev_config *cfg, const char *model_id, char *buf, size_t len);
/* Switches to another installed VQ model. Returns FF_OK, or the load error
 * (the current model stays). */
int dev_pipeline_set_model(dev_pipeline *p, const char *model_id);
/* For the benchmark: the parts, and encoding of an aligned crop into msg
 * (msg->seq, track fields and quality set by the caller). */
ff_detector *dev_pipeline_detector(dev_pipeline *p);
ff_vq_encoder *dev_pipeline_encoder(dev_pipeline *p);
int dev_pipeline_encode_crop(dev_pipeline *p, const ff_image *crop, const ff_image *frame,
			     const ff_face *f, int64_t t_us, dev_face_msg *msg);
/* Detects, gates, aligns, encodes every face in img (at most cfg->max_faces)
 * and calls sink for each with a fresh sequence number from next_seq. With
 * track_ms >= 0 (a video frame's time) faces join tracks and only those the
 * track policy picks are encoded (track.c). Returns FF_OK or the first fatal
 * error. */
typedef uint64_t (*dev_seq_fn)(void *ctx);
int dev_pipeline_process(dev_pipeline *p, const ff_image *img, int64_t capture_time_us,
			 int64_t track_ms, dev_settings *st, dev_counters *ctr, dev_seq_fn next_seq,
			 dev_face_sink sink, void *ctx);
/* How many ms a frame at now_ms comes too early for fps after the one taken
 * at last_ms (<= 0: take it); fps 0: no cap. */
int64_t dev_pace_early_ms(int64_t last_ms, double fps, int64_t now_ms);
/* Ends the open tracks (end of a video input); NULL-safe. */
void dev_pipeline_end_tracks(dev_pipeline *p);
/* The scan schedule, for the benchmark's counts (NULL before the first video frame). */
const struct dev_scan *dev_pipeline_scan(const dev_pipeline *p);
/* The tracker, for the benchmark's counts (NULL before the first video frame). */
struct dev_tracker *dev_pipeline_tracker(dev_pipeline *p);

/* ---- quality.c: a face's quality from size, sharpness and pose ---- */
typedef struct dev_quality {
	float size;      /* 0..1: the box's shorter side over 100 px */
	float sharpness; /* 0..1: Laplacian variance of the aligned crop, squashed */
	float pose;      /* 0..1: from yaw (nose offset) and roll (eye line) */
	float score;     /* size * sharpness * pose, 0..1 */
	float roll_deg, yaw;
	double lap_var;
} dev_quality;
/* Scores face f whose aligned 112x112 crop is crop (NULL: no sharpness). */
void dev_quality_measure(const ff_face *f, const ff_image *crop, dev_quality *q);
/* Variance of the 4-neighbour Laplacian of img's grey values (centre part). */
double dev_laplacian_variance(const ff_image *img);
/* Eye line angle, degrees (0: level). */
float dev_pose_roll_deg(const float landmarks[10]);
/* Nose offset from the eyes' midpoint along the eye line, in eye distances:
 * 0 frontal, about +-0.5 in profile. */
float dev_pose_yaw(const float landmarks[10]);

/* ---- scan.c: where the detector looks in a video frame ---- */
typedef struct dev_scan {
	int full_every;     /* the whole frame every this many analysed frames */
	int since;          /* analysed frames since the last whole scan */
	bool lost;          /* a known face was not found: scan whole next */
	ff_face *hints;     /* the previous frame's faces */
	size_t nhints, max_faces;
	uint64_t full, near; /* frames scanned whole, near known faces */
} dev_scan;
/* full_every >= 1 (1: every frame whole, as ff_detect). Returns FF_OK,
 * FF_ERR_INVAL, FF_ERR_NOMEM. */
int dev_scan_create(int full_every, size_t max_faces, dev_scan **out);
void dev_scan_free(dev_scan *s);
/* Whether the next frame is scanned whole: the first, every full_every-th,
 * and the one after a known face was lost. */
bool dev_scan_full_due(const dev_scan *s);
/* Forgets the known faces (a new input): the next frame is scanned whole. */
void dev_scan_reset(dev_scan *s);
/* Detects the faces of the next video frame (up to max_faces, as ff_detect),
 * whole or near the previous frame's faces. Returns ff_detect's errors. */
int dev_scan_frame(dev_scan *s, ff_detector *det, const ff_image *img, ff_face *faces,
		   size_t max_faces, size_t *n);

/* ---- track.c: faces across video frames, and which of them to send ---- */
typedef struct dev_track_options {
	int timeout_ms;      /* a track ends after this long unseen (frame clock) */
	int max_faces;       /* K: faces sent per track at most */
	float min_quality;   /* the gate: a face below is never sent */
	float better_margin; /* a later face goes when its quality beats the best sent by this */
	int moment_ms;       /* ... or when it is this much later than the last sent */
} dev_track_options;
#define DEV_TRACK_OPTIONS_INIT { 1000, 3, 0.2f, 0.1f, 1000 }
typedef struct dev_track_verdict {
	int slot;            /* the track (tracker-internal) */
	bool send;           /* the policy picks this face */
	uint32_t index;      /* its place in the track if sent */
	uint64_t track_id;   /* 0 until the track's first face is sent */
} dev_track_verdict;
typedef struct dev_track_stats {
	uint64_t started, ended, with_faces, live;
} dev_track_stats;
typedef struct dev_tracker dev_tracker;
/* Returns FF_OK, FF_ERR_INVAL, FF_ERR_NOMEM. */
int dev_tracker_create(const dev_track_options *o, dev_tracker **out);
void dev_tracker_free(dev_tracker *t);
/* The n faces of one frame at t_ms: ends tracks unseen too long, joins each
 * face to a track or starts one, and says in out[i] whether to send face i.
 * quality[i] < 0: the face failed the size/score gate (it keeps its track
 * alive but is never sent). Returns FF_OK or FF_ERR_INVAL. */
int dev_tracker_frame(dev_tracker *t, int64_t t_ms, const ff_face *faces, const float *quality,
		      size_t n, dev_track_verdict *out);
/* The face of v goes out as seq: counts it and returns the track id, the
 * seq of the track's first sent face (unique per device, as seqs are). */
uint64_t dev_tracker_sent(dev_tracker *t, dev_track_verdict *v, uint64_t seq);
/* Ends every open track (end of input); each end is logged (event=track_end). */
void dev_tracker_flush(dev_tracker *t);
void dev_tracker_stats(const dev_tracker *t, dev_track_stats *st);

/* ---- outbox.c: store and forward (device/OUTBOX.md) ---- */
typedef struct dev_outbox dev_outbox;
typedef struct dev_outbox_options {
	const char *dir;
	int max_messages;
	int64_t max_bytes;
	bool drop_newest; /* false: drop the oldest when full (default) */
	bool fsync;
	int resume_wait_ms; /* a fresh outbox waits this long for dev_outbox_resume (0: not) */
} dev_outbox_options;
/* Opens (creates) the outbox folder, recovers its messages and the sequence
 * counter. Returns FF_OK, FF_ERR_IO, FF_ERR_NOMEM, FF_ERR_INVAL. */
int dev_outbox_open(const dev_outbox_options *opt, dev_outbox **out);
/* Next sequence number (persisted: monotonic across restarts). A fresh
 * outbox (no seq file, no message) blocks here until dev_outbox_resume or
 * resume_wait_ms, so that a wiped device does not reuse recorded seqs. */
uint64_t dev_outbox_next_seq(dev_outbox *o);
/* The backend's Receipt: it has recorded seqs up to last_seq. The counter
 * moves above it (with a margin) when it is not already; a waiting
 * dev_outbox_next_seq goes on. */
void dev_outbox_resume(dev_outbox *o, uint64_t last_seq);
/* Persists one message under seq before it may be published. Drops a
 * message (the oldest, or this one with drop_newest) when over a bound and
 * adds the number dropped to *dropped. Returns FF_OK, FF_ERR_IO, FF_ERR_FULL
 * (this message was dropped), FF_ERR_RANGE (bigger than max_bytes). */
int dev_outbox_put(dev_outbox *o, uint64_t seq, const void *buf, size_t len, uint64_t *dropped);
/* Copies the oldest message not yet handed out since the last
 * dev_outbox_rewind into buf and marks it handed out. Returns 1 (a message),
 * 0 (none), < 0 ff_err (a corrupt file is removed, logged and skipped). */
int dev_outbox_take(dev_outbox *o, uint64_t *seq, void *buf, size_t cap, size_t *len);
/* The broker has it: remove it, or, once the backend sends receipts, keep
 * it until its receipt. Unknown seqs are ignored (dropped meanwhile). */
void dev_outbox_ack(dev_outbox *o, uint64_t seq);
/* The backend's Receipt for seq (proto): recorded, or refused for good:
 * remove it. The first one switches the outbox to holding faces until
 * theirs (a backend that sends none leaves the PUBACK as the end). */
void dev_outbox_receipt(dev_outbox *o, uint64_t seq);
/* Faces the broker acknowledged that got no receipt within timeout_ms
 * (doubled per earlier try, up to 16x) are handed out again, same seq.
 * Returns how many. */
size_t dev_outbox_resend_unanswered(dev_outbox *o, int timeout_ms);
/* Hand a message out again (publish failed). */
void dev_outbox_nack(dev_outbox *o, uint64_t seq);
/* Every message becomes not handed out (new connection). */
void dev_outbox_rewind(dev_outbox *o);
size_t dev_outbox_count(dev_outbox *o);
void dev_outbox_close(dev_outbox *o);

/* ---- status.c ---- */
enum { DEV_STATE_ONLINE = 1, DEV_STATE_OFFLINE = 2, DEV_STATE_DEGRADED = 3 };
typedef struct dev_agent dev_agent;
/* Packs a DeviceStatus for state into buf. Returns its length, 0 if it does not fit. */
size_t dev_status_pack(dev_agent *a, int state, uint8_t *buf, size_t cap);

/* ---- config_handler.c ---- */
/* Applies a retained DeviceConfig payload to a->settings. Returns true when
 * something changed (a status should follow). */
bool dev_config_apply(dev_agent *a, const void *payload, size_t len);

/* ---- the agent (main.c builds it, publisher.c runs its MQTT side) ---- */
struct dev_agent {
	dev_config cfg;
	dev_settings settings;
	dev_counters counters;
	dev_outbox *outbox;
	int64_t start_mono_ms;
	atomic_bool stop;            /* SIGINT/SIGTERM, or dev_agent_stop */
	pthread_t main_thread;       /* runs the capture loop; woken by dev_agent_stop */
	atomic_bool fatal;           /* the publisher hit an unrecoverable error */
	atomic_bool status_dirty;    /* publish a status soon */
	char model_pending[FF_ID_MAX + 1];      /* guarded by settings.mu; "" = none */
	struct dev_publisher *pub;
};

/* Stops the capture loop from another thread: sets stop and interrupts a
 * blocking read or poll of the main thread with SIGTERM (main.c). */
void dev_agent_stop(dev_agent *a);

/* ---- publisher.c ---- */
typedef struct dev_publisher dev_publisher;
/* Starts the MQTT thread (connect with backoff + jitter, subscribe config,
 * status, publish window over the outbox). Returns FF_OK or an ff_err. */
int dev_publisher_start(dev_agent *a, dev_publisher **out);
/* Wakes the thread (a new message in the outbox). */
void dev_publisher_kick(dev_publisher *p);
/* Waits until the outbox is empty, stop is set or timeout_s passed (0 =
 * no limit). Returns true when empty. */
bool dev_publisher_drain(dev_publisher *p, int timeout_s);
/* Publishes OFFLINE, disconnects, joins the thread, frees. Returns FF_OK or
 * FF_ERR_AUTH when the broker refused the credentials. */
int dev_publisher_stop(dev_publisher *p);

/* ---- bench_device.c, bench_video.c ---- */
int dev_bench_run(const dev_config *cfg, int nimages, char **images);
/* The video path on cfg->bench_video (frames analysed per second, CPU share,
 * peak RSS, bytes per track). Returns FF_EXIT_OK or FF_EXIT_FAIL. */
/* bench_json.c: a number rounded to `decimals` places (non-finite: 0), and
 * the object printed as the benchmark's JSON last line (then freed). */
void dev_json_num(cJSON *o, const char *name, double v, int decimals);
void dev_json_print(cJSON *o);
int dev_bench_video(const dev_config *cfg);
/* q-th quantile (0..1) of v[0..n-1], sorted in place (nearest rank); 0 when n = 0. */
double dev_quantile(double *v, size_t n, double q);

#endif
