/* fleet-device settings: one ff_config table drives the defaults, the
 * config file, the command-line overrides, validation and --help
 * (fleet-device.conf.example documents every key). */
#include "device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/ids.h"
#include "facefleet/clock.h"
#include "facefleet/config.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/mqtt.h"

/* Compiled-in model folder; an installed build (CMake FF_INSTALL_LAYOUT,
 * cmake/FacefleetPackaging.cmake) sets /usr/share/facefleet/models/vq. */
#ifndef FF_DEVICE_DEFAULT_VQ_DIR
#define FF_DEVICE_DEFAULT_VQ_DIR "models/vq"
#endif

#define STRINGIFY(x) #x
#define STRING_OF(x) STRINGIFY(x)
#define DEFAULT_CODE_BYTES STRING_OF(FF_VQ_DEFAULT_CODE_BYTES)

#define F(k, t, m, d, lo, hi, h, fl) { k, t, offsetof(dev_config, m), d, lo, hi, h, fl }
static const ff_config_field fields[] = {
	F("device_id", FF_CFG_STRING, device_id, NULL, 1, 32, "this device's id, [a-z0-9-]{1,32} (required)", 0),
	F("site_id", FF_CFG_STRING, site_id, NULL, 1, 32, "the device's site id, [a-z0-9-]{1,32} (required)", 0),
	F("mqtt_url", FF_CFG_STRING, mqtt_url, "tcp://127.0.0.1:1883", 0, 0, "broker URL: tcp://host:port or ssl://host:port (TLS)", FF_CFG_REQUIRED),
	F("mqtt_username", FF_CFG_STRING, mqtt_username, NULL, 0, 0, "per-device MQTT user name", 0),
	F("mqtt_password", FF_CFG_STRING, mqtt_password, NULL, 0, 0, "per-device MQTT password", FF_CFG_SECRET),
	F("mqtt_client_id", FF_CFG_STRING, mqtt_client_id, NULL, 0, 64, "MQTT client id (default: <site>-<device>, the id fleetctl binds the account to)", 0),
	F("tls_ca_file", FF_CFG_PATH, tls_ca_file, NULL, 0, 0, "TLS: CA certificate(s) that sign the broker certificate", 0),
	F("tls_cert_file", FF_CFG_PATH, tls_cert_file, NULL, 0, 0, "TLS: client certificate (PEM), optional", 0),
	F("tls_key_file", FF_CFG_PATH, tls_key_file, NULL, 0, 0, "TLS: client private key (PEM), optional", FF_CFG_SECRET),
	F("mqtt_keepalive_s", FF_CFG_INT, mqtt_keepalive_s, "30", 5, 600, "MQTT keep-alive, seconds", 0),
	F("mqtt_connect_timeout_ms", FF_CFG_INT, mqtt_connect_timeout_ms, "5000", 500, 120000, "give up one connection attempt after this", 0),
	F("mqtt_topic_alias", FF_CFG_BOOL, mqtt_topic_alias, "true", 0, 0, "MQTT v5 topic alias: after the first face, PUBLISH carries 2 bytes instead of the topic", 0),
	F("send_ids", FF_CFG_BOOL, send_ids, "false", 0, 0, "FaceCodes also carry device_id and site_id (the topic is authoritative; only for backends older than schema 2)", 0),
	F("wire_schema", FF_CFG_INT, wire_schema, "3", 2, 3, "FaceCodes revision sent: 3 (150-byte PUBLISH: no layout fields, capture time in seconds) or 2 (for backends older than schema 3)", 0),
	F("code_bytes_max", FF_CFG_INT, code_bytes_max, DEFAULT_CODE_BYTES, 16, FF_VQ_MAX_PAYLOAD,
	  "a VQ model sent entropy-coded only (vq5 to vq8): most bytes of codes per face, held by rate "
	  "control (121: the PUBLISH within 150 B, docs/WIRE.md; 128: the most a receiver takes)", 0),
	F("send_box", FF_CFG_BOOL, send_box, "false", 0, 0, "schema 3: FaceCodes also carry the face box, frame size and detector score (the backend records none of them; ~20 bytes per face)", 0),
	F("publish_window", FF_CFG_INT, publish_window, "32", 1, 1024, "most un-acknowledged QoS 1 publishes in flight", 0),
	F("max_send_rate", FF_CFG_DOUBLE, max_send_rate, "8", 0, 100000,
	  "faces a second sent over time (0: unlimited); keep it under the backend's device_rate "
	  "(10), which drops a device's faces beyond its budget: a long outbox drains at this pace", 0),
	F("send_burst", FF_CFG_INT, send_burst, "200", 1, 1000000,
	  "faces sent at once before the pace applies (under the backend's device_burst, 300)", 0),
	F("reconnect_min_ms", FF_CFG_INT, reconnect_min_ms, "500", 10, 600000, "first retry delay after a failed connection", 0),
	F("reconnect_max_ms", FF_CFG_INT, reconnect_max_ms, "30000", 10, 3600000, "retry delay cap (delays double, with +-25% jitter)", 0),
	F("status_interval_s", FF_CFG_INT, status_interval_s, "60", 1, 86400, "seconds between periodic DeviceStatus messages", 0),
	F("source", FF_CFG_STRING, source, "none", 0, 0, "input: file, dir, stdin, video or none (only forward the outbox)", 0),
	F("input", FF_CFG_PATH, input, NULL, 0, 0, "image file (source=file) or folder (source=dir)", 0),
	F("watch", FF_CFG_BOOL, watch, "false", 0, 0, "source=dir: keep watching for new files (inotify)", 0),
	F("repeat", FF_CFG_INT, repeat, "1", 1, 1000000, "source=file: process the image this many times", 0),
	F("width", FF_CFG_INT, width, "0", 0, 8192, "source=stdin: frame width, pixels", 0),
	F("height", FF_CFG_INT, height, "0", 0, 8192, "source=stdin: frame height, pixels", 0),
	F("pixfmt", FF_CFG_STRING, pixfmt, "rgb24", 0, 0, "source=stdin: rgb24, bgr24 or gray8", 0),
	F("max_fps", FF_CFG_DOUBLE, max_fps, "0", 0, 1000,
	  "analyse at most this many frames per second (0 = no limit); live and video frames above it "
	  "are skipped (a video file on its own clock), files are paced", 0),
	F("video_input", FF_CFG_STRING, video_input, NULL, 0, 4096,
	  "source=video: a video file, a V4L2 camera (/dev/video0) or a stream URL (rtsp://, http://); "
	  "a positional URL or /dev/... sets it", 0),
	F("video_options", FF_CFG_STRING, video_options, NULL, 0, 4096,
	  "source=video: FFmpeg input options key=value,... (e.g. video_size=640x480,input_format=mjpeg; "
	  "rtsp_transport=tcp)", 0),
	F("video_open_timeout_ms", FF_CFG_INT, video_open_timeout_ms, "5000", 100, 600000,
	  "source=video: give up opening, or reading a live input that sends nothing, after this", 0),
	F("video_reconnect_min_ms", FF_CFG_INT, video_reconnect_min_ms, "500", 10, 600000,
	  "source=video: first delay before reopening a live input that failed, dropped or ended", 0),
	F("video_reconnect_max_ms", FF_CFG_INT, video_reconnect_max_ms, "30000", 10, 3600000,
	  "source=video: reopen delay cap (delays double)", 0),
	F("video_width", FF_CFG_INT, video_width, "0", 0, 8192,
	  "source=video: scale wider frames down to this width before analysis (0: as decoded)", 0),
	F("track_timeout_ms", FF_CFG_INT, track_timeout_ms, "1000", 0, 600000,
	  "source=video: a face track ends after this long unseen", 0),
	F("track_max_faces", FF_CFG_INT, track_max_faces, "3", 1, 1000,
	  "source=video: most faces sent per track (the first good one at once, then better or later ones)", 0),
	F("track_min_quality", FF_CFG_DOUBLE, track_min_quality, "0.2", 0, 1,
	  "source=video: quality gate (size x sharpness x pose, 0..1) for a face to be sent", 0),
	F("track_better_margin", FF_CFG_DOUBLE, track_better_margin, "0.1", 0, 1,
	  "source=video: a later face of a track goes when its quality beats the best sent by this", 0),
	F("track_moment_ms", FF_CFG_INT, track_moment_ms, "1000", 0, 3600000,
	  "source=video: ... or when it is at least this much later than the track's last sent face", 0),
	F("model_id", FF_CFG_STRING, model_id, NULL, 0, 32, "VQ model id: encoder <vq_dir>/<model_id>.enc.ffn (empty: the one <vq_dir>/DEFAULT names)", 0),
	F("vq_dir", FF_CFG_PATH, vq_dir, FF_DEVICE_DEFAULT_VQ_DIR, 0, 0, "folder of installed VQ models", 0),
	F("vq_encoder", FF_CFG_PATH, vq_encoder, NULL, 0, 0, "explicit encoder file (overrides vq_dir/model_id)", 0),
	F("mtcnn_dir", FF_CFG_PATH, mtcnn_dir, NULL, 0, 0, "folder of pnet/rnet/onet.ffn (default $FF_MODELS_DIR/ffn, models/cache/ffn)", 0),
	F("detector_min_face_px", FF_CFG_INT, detector_min_face_px, "40", 12, 4096,
	  "smallest face the detector looks for, pixels (smaller faces than min_face_px are not sent: searching for them only costs time)", 0),
	F("detector_full_scan_every", FF_CFG_INT, detector_full_scan_every, "3", 1, 1000,
	  "source=video: the detector scans the whole frame every N analysed frames, in between only near the faces it knows (a face entering is found at most N-1 analysed frames late; 1: every frame whole)", 0),
	F("min_face_px", FF_CFG_INT, min_face_px, "40", 0, 8192, "quality gate: smallest face box side to encode, pixels", 0),
	F("min_det_score", FF_CFG_DOUBLE, min_det_score, "0.9", 0, 1, "quality gate: lowest detector score to encode", 0),
	F("max_faces", FF_CFG_INT, max_faces, "8", 1, 64, "most faces encoded per frame (best scores first)", 0),
	F("outbox_dir", FF_CFG_PATH, outbox_dir, "/var/lib/facefleet/outbox", 0, 0,
	  "store-and-forward folder (device/OUTBOX.md), created on start; relative in a config file: "
	  "beside it (fleetctl bundles: <device>.outbox)", FF_CFG_REQUIRED),
	F("outbox_max_messages", FF_CFG_INT, outbox_max_messages, "10000", 1, 10000000, "outbox bound: messages", 0),
	F("outbox_max_bytes", FF_CFG_INT64, outbox_max_bytes, "16777216", 1024, 1e12, "outbox bound: bytes of messages", 0),
	F("outbox_drop", FF_CFG_STRING, outbox_drop, "oldest", 0, 0, "when full, drop the oldest or the newest message", 0),
	F("outbox_fsync", FF_CFG_BOOL, outbox_fsync, "true", 0, 0, "fsync each message before publishing (crash safety)", 0),
	F("receipt_timeout_ms", FF_CFG_INT, receipt_timeout_ms, "10000", 1000, 3600000,
	  "once the backend sends receipts, a face the broker acknowledged goes again (same seq) "
	  "when its receipt is this late (doubled per try, up to 16x)", 0),
	F("seq_resume_wait_ms", FF_CFG_INT, seq_resume_wait_ms, "5000", 0, 600000,
	  "a fresh outbox (new or wiped device) waits this long for the backend's receipt before "
	  "numbering faces, so it resumes above the seqs already recorded (0: do not wait)", 0),
	F("drain_timeout_s", FF_CFG_INT, drain_timeout_s, "60", 0, 86400, "one-shot sources: wait this long for the outbox to empty before exiting (0 = forever)", 0),
	F("log_level", FF_CFG_STRING, log_level, "info", 0, 0, "debug, info, warn, error", 0),
	F("print_config", FF_CFG_BOOL, print_config, "false", 0, 0, "check the settings, print them (secrets masked) and exit", 0),
	F("bench", FF_CFG_BOOL, bench, "false", 0, 0, "run the frugality benchmark on the given images and exit", 0),
	F("bench_iterations", FF_CFG_INT, bench_iterations, "200", 1, 100000, "benchmark: VQ encodes timed", 0),
	F("bench_video", FF_CFG_PATH, bench_video, NULL, 0, 0,
	  "benchmark: also run this video file through the video path (frames analysed per second, "
	  "CPU share, peak RSS, bytes per track)", 0),
	FF_CONFIG_END
};
#undef F

static void usage(FILE *f)
{
	fprintf(f, "usage: fleet-device [--config FILE] [--key=value ...] [IMAGE | DIR | -]\n"
		   "       fleet-device --bench [--key=value ...] IMAGE...\n"
		   "       fleet-device --version\n\n"
		   "Detects faces, encodes them with the VQ model and publishes FaceCodes on\n"
		   "fleet/<site>/<device>/faces (MQTT v5, QoS 1) through an on-disk outbox.\n"
		   "A positional IMAGE sets source=file, DIR source=dir, '-' source=stdin, a URL\n"
		   "or /dev/videoN source=video (so does any input after --source=video).\n\n"
		   "settings (file keys; on the command line as --key=value):\n");
	ff_config_help(fields, f);
	fprintf(f, "\nSecrets: mqtt_password may come from a file (mqtt_password_file = PATH in the config\n"
		   "file, --mqtt-password-file=PATH) or $FF_MQTT_PASSWORD instead of the command line.\n"
		   "exit status: 0 success, 1 runtime failure, 2 usage or configuration error\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fleet-device: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see fleet-device --help)\n");
	return FF_EXIT_USAGE;
}

static int set_str(char **dst, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return FF_ERR_NOMEM;
	free(*dst);
	*dst = c;
	return FF_OK;
}

/* The outbox folder must exist or be creatable (its last component, as the
 * outbox makes it) and be writable, or the agent stops at start saying which
 * setting to change instead of a bare mkdir_failed. */
static int outbox_usable(const char *dir)
{
	struct stat st;
	const char *why = NULL;
	int err = 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		err = errno;
	else if (stat(dir, &st) != 0)
		err = errno;
	else if (!S_ISDIR(st.st_mode))
		why = "not a folder";
	else if (access(dir, W_OK | X_OK) != 0)
		err = errno;
	if (!err && !why)
		return FF_EXIT_OK;
	return usage_error("outbox folder '%s' is not usable (%s): set outbox_dir to a folder this user may "
			   "create and write (config file: outbox_dir = PATH, relative to the file's folder; "
			   "command line: --outbox-dir=PATH)", dir, why ? why : strerror(err));
}

/* A positional argument chooses the source (unless the bench takes them). */
static int positional_source(dev_config *cfg, const char *arg)
{
	struct stat st;
	int rc;

	if (strcmp(arg, "-") == 0)
		return set_str(&cfg->source, "stdin");
	if (dev_video_is_live(arg) || !strcmp(cfg->source, "video")) {
		rc = set_str(&cfg->video_input, arg);
		return rc == FF_OK ? set_str(&cfg->source, "video") : rc;
	}
	rc = set_str(&cfg->input, arg);
	if (rc == FF_OK)
		rc = set_str(&cfg->source, stat(arg, &st) == 0 && S_ISDIR(st.st_mode) ? "dir" : "file");
	return rc;
}

int dev_config_parse(dev_config *cfg, int argc, char **argv, bool *exit_now)
{
	ff_config_args args;
	char err[512] = "";
	ff_log_level lvl;
	int rc;

	*exit_now = false;
	memset(cfg, 0, sizeof(*cfg));
	rc = ff_config_parse_args(fields, cfg, argc, argv, &args, err, sizeof(err));
	if (args.version) {
		ff_config_version(stdout, "fleet-device");
		*exit_now = true;
		return FF_EXIT_OK;
	}
	if (args.help) {
		usage(stdout);
		*exit_now = true;
		return FF_EXIT_OK;
	}
	if (rc != FF_OK)
		return usage_error("%s", err);
	if (!cfg->bench) {
		if (args.npositional > 1)
			return usage_error("one input at most, got '%s' and more", args.positional[1]);
		if (args.npositional == 1 && positional_source(cfg, args.positional[0]) != FF_OK)
			return FF_EXIT_FAIL;
	}
	if (ff_log_level_parse(cfg->log_level, &lvl) != FF_OK)
		return usage_error("log_level: '%s' is not debug, info, warn or error", cfg->log_level);
	ff_log_set_level(lvl);
	if (cfg->bench && !cfg->device_id && set_str(&cfg->device_id, "device-0001") != FF_OK)
		return FF_EXIT_FAIL;
	if (cfg->bench && !cfg->site_id && set_str(&cfg->site_id, "site-01") != FF_OK)
		return FF_EXIT_FAIL;
	if (!ff_id_valid(cfg->device_id))
		return usage_error("device_id '%s' missing or not [a-z0-9-]{1,32}",
				   cfg->device_id ? cfg->device_id : "");
	if (!ff_id_valid(cfg->site_id))
		return usage_error("site_id '%s' missing or not [a-z0-9-]{1,32}",
				   cfg->site_id ? cfg->site_id : "");
	if (strcmp(cfg->source, "file") && strcmp(cfg->source, "dir") && strcmp(cfg->source, "stdin") &&
	    strcmp(cfg->source, "video") && strcmp(cfg->source, "none"))
		return usage_error("source '%s' is not file, dir, stdin, video or none", cfg->source);
	if (!strcmp(cfg->source, "video") && !cfg->bench && (!cfg->video_input || !*cfg->video_input))
		return usage_error("source=video needs video_input=FILE|/dev/videoN|URL (or a positional argument)");
	if (cfg->video_reconnect_max_ms < cfg->video_reconnect_min_ms)
		return usage_error("video_reconnect_max_ms is below video_reconnect_min_ms");
	if ((!strcmp(cfg->source, "file") || !strcmp(cfg->source, "dir")) && !cfg->bench &&
	    (!cfg->input || !*cfg->input))
		return usage_error("source=%s needs input=PATH (or a positional argument)", cfg->source);
	if (!strcmp(cfg->source, "stdin") && (cfg->width <= 0 || cfg->height <= 0))
		return usage_error("source=stdin needs --width and --height (frame size in pixels)");
	if (strcmp(cfg->pixfmt, "rgb24") && strcmp(cfg->pixfmt, "bgr24") && strcmp(cfg->pixfmt, "gray8"))
		return usage_error("pixfmt '%s' is not rgb24, bgr24 or gray8", cfg->pixfmt);
	if (strcmp(cfg->outbox_drop, "oldest") && strcmp(cfg->outbox_drop, "newest"))
		return usage_error("outbox_drop '%s' is not oldest or newest", cfg->outbox_drop);
	if (cfg->reconnect_max_ms < cfg->reconnect_min_ms)
		return usage_error("reconnect_max_ms is below reconnect_min_ms");
	if ((cfg->tls_cert_file && *cfg->tls_cert_file) != (cfg->tls_key_file && *cfg->tls_key_file))
		return usage_error("tls_cert_file and tls_key_file go together");
	if ((!strncmp(cfg->mqtt_url, "ssl://", 6) || !strncmp(cfg->mqtt_url, "mqtts://", 8)) &&
	    (!cfg->tls_ca_file || !*cfg->tls_ca_file))
		return usage_error("a TLS url (%s) needs tls_ca_file to verify the broker", cfg->mqtt_url);
	if (cfg->print_config) {
		ff_config_dump(fields, cfg, stdout);
		*exit_now = true;
		return FF_EXIT_OK;
	}
	if (!cfg->bench)
		return outbox_usable(cfg->outbox_dir);
	return FF_EXIT_OK;
}

void dev_config_free(dev_config *cfg)
{
	ff_config_free(fields, cfg);
}

void dev_topic(const dev_config *cfg, const char *leaf, char *buf, size_t len)
{
	ff_mqtt_fleet_topic(buf, len, cfg->site_id, cfg->device_id, leaf); /* ids checked at parse */
}

int64_t dev_now_us(void)
{
	return ff_now_us();
}

int64_t dev_mono_ms(void)
{
	return ff_mono_us() / 1000;
}
