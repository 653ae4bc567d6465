/* The per-frame work: MTCNN detection -> quality gate -> 5-point alignment
 * to 112x112 -> VQ encode -> bit packing -> FaceCodes protobuf. Video frames
 * also go through the tracker (track.c), which picks the faces to encode. */
#include "device.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/align.h"
#include "facefleet/bitpack.h"
#include "facefleet/detect.h"
#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/facecodes.h"
#include "facefleet/log.h"
#include "facefleet/vq.h"

#define LOG_COMP "pipeline"
#define ENC_SUFFIX ".enc.ffn"

struct dev_pipeline {
	const dev_config *cfg;
	ff_detector *det;
	ff_vq_encoder *enc;
	ff_entropy_table *ent; /* the model's rANS tables, NULL: packed codes only */
	ff_face *faces;
	dev_tracker *tracker; /* made at the first video frame */
	dev_scan *scan;       /* video: where the detector looks (scan.c) */
};

/* Where encoded faces go, and this frame's capture time. */
typedef struct emit_ctx {
	int64_t t_us;
	dev_counters *ctr;
	dev_seq_fn next_seq;
	dev_face_sink sink;
	void *ctx;
} emit_ctx;

void dev_vq_path(const dev_config *cfg, const char *model_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", cfg->vq_dir, model_id, ENC_SUFFIX);
}

/* With no model id configured: the model <vq_dir>/DEFAULT names, else the
 * one *.enc.ffn in vq_dir (ff_vq_default_model). */
static int find_default_model(const dev_config *cfg, char *buf, size_t len)
{
	char prefix[4096];
	int found = 0, rc = ff_vq_default_model(cfg->vq_dir, prefix, sizeof(prefix), &found);

	if (rc != FF_OK)
		return rc;
	if ((size_t)snprintf(buf, len, "%s" ENC_SUFFIX, prefix) >= len)
		return FF_ERR_RANGE;
	if (found > 1)
		ff_log_warn(LOG_COMP, "event=several_models dir=%s using=%s hint=\"set model_id or write DEFAULT\"",
			    cfg->vq_dir, buf);
	return FF_OK;
}

static int load_encoder(const char *path, ff_vq_encoder **out)
{
	ff_nn_options nn = FF_NN_OPTIONS_INIT;
	char why[512] = "", q[600];
	int rc;

	nn.threads = 1;
	rc = ff_vq_encoder_create(path, &nn, out, why, sizeof(why));
	if (rc != FF_OK)
		ff_log_error(LOG_COMP, "event=vq_model_failed path=%s err=\"%s\" reason=%s", path,
			     ff_strerror(rc), ff_log_quote(q, sizeof(q), why[0] ? why : ff_strerror(rc)));
	return rc;
}

/* The rANS tables next to the encoder (PREFIX.codes.ent), when it has them;
 * a bad file is logged and the device sends packed codes, as without one. */
static ff_entropy_table *load_tables(const char *enc_path, const ff_vq_info *vi)
{
	ff_entropy_table *t = NULL;
	char why[512] = "", q[600];
	int rc = ff_entropy_table_open(enc_path, vi, &t, why, sizeof(why));

	if (rc == FF_OK)
		ff_log_info(LOG_COMP, "event=entropy_tables model_id=%s bytes=%zu", vi->model_id,
			    ff_entropy_table_size(t));
	else if (rc != FF_ERR_NOTFOUND)
		ff_log_warn(LOG_COMP, "event=entropy_tables_failed model_id=%s err=\"%s\" reason=%s codes=packed",
			    vi->model_id, ff_strerror(rc), ff_log_quote(q, sizeof(q), why));
	return t;
}

/* Whether a model whose packed indices pass FF_VQ_MAX_PAYLOAD (sent coded
 * only, rate-controlled) can be sent: it needs its tables and schema 3. */
static int codable(const dev_pipeline *p, const ff_vq_encoder *enc, const ff_entropy_table *t)
{
	const ff_vq_info *vi = ff_vq_encoder_info(enc);
	if (!ff_vq_coded_only(vi) || (t && p->cfg->wire_schema >= 3))
		return FF_OK;
	ff_log_error(LOG_COMP, "event=vq_model_failed model_id=%s reason=\"%zu bytes packed: sent "
		     "entropy-coded only, which needs %s%s and wire_schema 3\"", vi->model_id,
		     ff_bitpack_size(vi->num_codes, vi->bits_per_index), vi->model_id, FF_ENTROPY_SUFFIX);
	return FF_ERR_UNSUPPORTED;
}

/* Without mtcnn_dir and $FF_MODELS_DIR: <this>/ffn. An installed build (CMake
 * FF_INSTALL_LAYOUT) sets /usr/share/facefleet/models. */
#ifndef FF_DEVICE_DEFAULT_MODELS_DIR
#define FF_DEVICE_DEFAULT_MODELS_DIR "models/cache"
#endif

static const char *mtcnn_dir(const dev_config *cfg, char *buf, size_t len)
{
	const char *env = getenv("FF_MODELS_DIR");
	char probe[4200];

	if (cfg->mtcnn_dir && *cfg->mtcnn_dir) {
		snprintf(buf, len, "%s", cfg->mtcnn_dir);
		return buf;
	}
	snprintf(buf, len, "%s/ffn", env && *env ? env : FF_DEVICE_DEFAULT_MODELS_DIR);
	snprintf(probe, sizeof(probe), "%s/pnet.ffn", buf);
	if (access(probe, R_OK) != 0 && env && *env)
		snprintf(buf, len, "%s", env);
	return buf;
}

int dev_pipeline_create(const dev_config *cfg, dev_pipeline **out)
{
	ff_detector_options dopt = FF_DETECTOR_OPTIONS_INIT;
	dev_pipeline *p = calloc(1, sizeof(*p));
	char path[4096], dir[4096], why[512] = "", q[600];
	int rc;

	if (!p)
		return FF_ERR_NOMEM;
	p->cfg = cfg;
	p->faces = calloc((size_t)cfg->max_faces, sizeof(ff_face));
	if (!p->faces) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	dopt.min_face_size = (float)cfg->detector_min_face_px;
	dopt.threads = 1;
	rc = ff_detector_create(mtcnn_dir(cfg, dir, sizeof(dir)), &dopt, &p->det, why, sizeof(why));
	if (rc != FF_OK) {
		ff_log_error(LOG_COMP, "event=detector_failed dir=%s err=\"%s\" reason=%s", dir,
			     ff_strerror(rc), ff_log_quote(q, sizeof(q), why[0] ? why : ff_strerror(rc)));
		goto out;
	}
	if (cfg->vq_encoder && *cfg->vq_encoder) {
		snprintf(path, sizeof(path), "%s", cfg->vq_encoder);
	} else if (cfg->model_id && *cfg->model_id) {
		dev_vq_path(cfg, cfg->model_id, path, sizeof(path));
	} else if ((rc = find_default_model(cfg, path, sizeof(path))) != FF_OK) {
		ff_log_error(LOG_COMP, "event=vq_model_failed dir=%s err=\"%s\" reason=\"no DEFAULT and no *%s there; set model_id or vq_encoder\"",
			     cfg->vq_dir, ff_strerror(rc), ENC_SUFFIX);
		goto out;
	}
	rc = load_encoder(path, &p->enc);
	if (rc != FF_OK)
		goto out;
	p->ent = load_tables(path, ff_vq_encoder_info(p->enc));
	if ((rc = codable(p, p->enc, p->ent)) != FF_OK)
		goto out;
	ff_log_info(LOG_COMP, "event=ready model_id=%s encoder=%s mtcnn=%s",
		    ff_vq_encoder_info(p->enc)->model_id, path, dir);
out:
	if (rc != FF_OK) {
		dev_pipeline_free(p);
		return rc;
	}
	*out = p;
	return FF_OK;
}

void dev_pipeline_free(dev_pipeline *p)
{
	if (!p)
		return;
	dev_pipeline_end_tracks(p);
	dev_tracker_free(p->tracker);
	dev_scan_free(p->scan);
	ff_vq_encoder_free(p->enc);
	ff_entropy_table_free(p->ent);
	ff_detector_free(p->det);
	free(p->faces);
	free(p);
}

const char *dev_pipeline_model_id(const dev_pipeline *p)
{
	return ff_vq_encoder_info(p->enc)->model_id;
}

int dev_pipeline_set_model(dev_pipeline *p, const char *model_id)
{
	ff_vq_encoder *enc = NULL;
	ff_entropy_table *ent;
	char path[4096];
	int rc;

	dev_vq_path(p->cfg, model_id, path, sizeof(path));
	rc = load_encoder(path, &enc);
	if (rc != FF_OK)
		return rc;
	if (strcmp(ff_vq_encoder_info(enc)->model_id, model_id) != 0) {
		ff_log_error(LOG_COMP, "event=vq_model_failed path=%s reason=\"file says model_id=%s\"",
			     path, ff_vq_encoder_info(enc)->model_id);
		ff_vq_encoder_free(enc);
		return FF_ERR_FORMAT;
	}
	ent = load_tables(path, ff_vq_encoder_info(enc));
	if ((rc = codable(p, enc, ent)) != FF_OK) { /* keep the model it has */
		ff_entropy_table_free(ent);
		ff_vq_encoder_free(enc);
		return rc;
	}
	ff_vq_encoder_free(p->enc);
	p->enc = enc;
	ff_entropy_table_free(p->ent);
	p->ent = ent;
	ff_log_info(LOG_COMP, "event=model_switched model_id=%s", model_id);
	return FF_OK;
}

ff_detector *dev_pipeline_detector(dev_pipeline *p)
{
	return p->det;
}

ff_vq_encoder *dev_pipeline_encoder(dev_pipeline *p)
{
	return p->enc;
}

int dev_pipeline_encode_crop(dev_pipeline *p, const ff_image *crop, const ff_image *frame,
			     const ff_face *f, int64_t t_us, dev_face_msg *msg)
{
	const ff_vq_info *info = ff_vq_encoder_info(p->enc);
	ff_facecodes_fields ff = FF_FACECODES_FIELDS_INIT;
	uint16_t idx[FF_VQ_MAX_CODES];
	uint8_t coded[FF_VQ_MAX_PAYLOAD];
	size_t clen;
	int rc;

	/* a model packed past the payload limit goes coded, rate-controlled */
	if (ff_vq_coded_only(info)) {
		rc = ff_vq_encode_coded(p->enc, crop, p->ent, (size_t)p->cfg->code_bytes_max, idx,
					FF_VQ_MAX_CODES, coded, &clen, NULL);
		ff.coded = coded;
		ff.coded_len = clen;
	} else
		rc = ff_vq_encode(p->enc, crop, idx, FF_VQ_MAX_CODES);
	if (rc != FF_OK)
		return rc;
	/* schema 2/3: the topic names the device, the box travels in whole pixels */
	if (p->cfg->send_ids) {
		ff.device_id = p->cfg->device_id;
		ff.site_id = p->cfg->site_id;
	}
	ff.schema = p->cfg->wire_schema;
	ff.seq = msg->seq;
	ff.capture_time_us = t_us;
	ff.has_box = p->cfg->wire_schema < 3 || p->cfg->send_box; /* schema 3: on request */
	ff.box_x0 = f->x0;
	ff.box_y0 = f->y0;
	ff.box_x1 = f->x1;
	ff.box_y1 = f->y1;
	ff.det_score = f->score;
	ff.quality = msg->quality;
	ff.frame_w = (uint32_t)frame->width;
	ff.frame_h = (uint32_t)frame->height;
	ff.track_id = msg->track_id;
	ff.track_index = msg->track_index;
	/* schema 3 backends know codes_ans; a device kept on schema 2 for an
	 * older backend sends packed codes */
	ff.entropy = p->cfg->wire_schema >= 3 ? p->ent : NULL;
	return ff_facecodes_build(info, idx, &ff, msg->buf, sizeof(msg->buf), &msg->len);
}

/* A face that could not be aligned or encoded: counted, and the frame goes on. */
static int drop(const emit_ctx *e, uint64_t seq, int rc)
{
	ff_log_warn(LOG_COMP, "event=encode_failed seq=%llu err=\"%s\"", (unsigned long long)seq,
		    ff_strerror(rc));
	atomic_fetch_add(&e->ctr->dropped, 1);
	return FF_OK;
}

/* Encodes an aligned face (msg->seq set) and hands it to the sink; only the
 * sink's error stops the frame. */
static int emit(dev_pipeline *p, const ff_image *img, const ff_image *crop, const ff_face *f,
		dev_face_msg *msg, const emit_ctx *e)
{
	int rc = dev_pipeline_encode_crop(p, crop, img, f, e->t_us, msg);
	return rc == FF_OK ? e->sink(e->ctx, msg) : drop(e, msg->seq, rc);
}

/* Aligns one detected face, encodes it and hands it on. */
static int encode_face(dev_pipeline *p, const ff_image *img, const ff_face *f, const emit_ctx *e)
{
	ff_image crop = FF_IMAGE_EMPTY;
	dev_face_msg msg = { .len = 0 };
	int rc;

	atomic_fetch_add(&e->ctr->faces, 1);
	msg.seq = e->next_seq(e->ctx);
	rc = ff_align_face(img, f->landmarks, &crop);
	rc = rc == FF_OK ? emit(p, img, &crop, f, &msg, e) : drop(e, msg.seq, rc);
	ff_image_free(&crop);
	return rc;
}

typedef struct gate {
	int min_px;
	float min_score;
} gate;

static bool passes(const ff_face *f, const gate *g)
{
	float side = fminf(f->x1 - f->x0, f->y1 - f->y0) + 1;
	if (side >= (float)g->min_px && f->score >= g->min_score)
		return true;
	ff_log_debug(LOG_COMP, "event=gated side=%.0f score=%.3f min_face_px=%d min_det_score=%.3f",
		     side, f->score, g->min_px, g->min_score);
	return false;
}

static int make_tracker(dev_pipeline *p)
{
	const dev_config *c = p->cfg;
	dev_track_options o = { c->track_timeout_ms, c->track_max_faces, (float)c->track_min_quality,
				(float)c->track_better_margin, c->track_moment_ms };
	return p->tracker ? FF_OK : dev_tracker_create(&o, &p->tracker);
}

/* Aligns and scores face i if it passes the gate: its quality, else -1. */
static float score_face(const ff_image *img, const ff_face *f, const gate *g, ff_image *crop)
{
	dev_quality q;
	if (!passes(f, g) || ff_align_face(img, f->landmarks, crop) != FF_OK)
		return -1;
	dev_quality_measure(f, crop, &q);
	ff_log_debug(LOG_COMP, "event=quality score=%.3f size=%.2f sharpness=%.2f lap_var=%.0f pose=%.2f yaw=%.2f roll_deg=%.1f",
		     q.score, q.size, q.sharpness, q.lap_var, q.pose, q.yaw, q.roll_deg);
	return q.score;
}

/* Video: every detection joins a track (failing the gate it only keeps its
 * track alive); the faces the track policy picks are encoded. */
static int process_tracked(dev_pipeline *p, const ff_image *img, size_t n, const gate *g,
			   int64_t track_ms, const emit_ctx *e)
{
	ff_image crops[64]; /* max_faces is at most 64 (agent_config.c) */
	float q[64] = { 0 };
	dev_track_verdict v[64];
	int rc = make_tracker(p);

	n = n < 64 ? n : 64;
	for (size_t i = 0; i < n; i++) {
		crops[i] = (ff_image)FF_IMAGE_EMPTY;
		q[i] = rc == FF_OK ? score_face(img, &p->faces[i], g, &crops[i]) : -1;
	}
	if (rc == FF_OK)
		rc = dev_tracker_frame(p->tracker, track_ms, p->faces, q, n, v);
	for (size_t i = 0; i < n && rc == FF_OK; i++) {
		dev_face_msg msg = { .quality = q[i] };
		if (!v[i].send)
			continue;
		atomic_fetch_add(&e->ctr->faces, 1);
		msg.seq = e->next_seq(e->ctx);
		msg.track_id = dev_tracker_sent(p->tracker, &v[i], msg.seq);
		msg.track_index = v[i].index;
		rc = emit(p, img, &crops[i], &p->faces[i], &msg, e);
	}
	for (size_t i = 0; i < n; i++)
		ff_image_free(&crops[i]);
	return rc;
}

/* A still image is scanned whole; a video frame where scan.c says. */
static int detect(dev_pipeline *p, const ff_image *img, int64_t track_ms, size_t *n)
{
	size_t max = (size_t)p->cfg->max_faces;
	int rc;

	if (track_ms < 0)
		return ff_detect(p->det, img, p->faces, max, n);
	if (!p->scan &&
	    (rc = dev_scan_create(p->cfg->detector_full_scan_every, max, &p->scan)) != FF_OK)
		return rc;
	return dev_scan_frame(p->scan, p->det, img, p->faces, max, n);
}

int dev_pipeline_process(dev_pipeline *p, const ff_image *img, int64_t capture_time_us,
			 int64_t track_ms, dev_settings *st, dev_counters *ctr, dev_seq_fn next_seq,
			 dev_face_sink sink, void *ctx)
{
	const emit_ctx e = { capture_time_us, ctr, next_seq, sink, ctx };
	size_t n = 0;
	gate g;
	int rc;

	rc = detect(p, img, track_ms, &n);
	if (rc != FF_OK) {
		ff_log_warn(LOG_COMP, "event=detect_failed err=\"%s\"", ff_strerror(rc));
		return FF_OK; /* one bad frame does not stop the agent */
	}
	pthread_mutex_lock(&st->mu);
	g.min_px = st->min_face_px;
	g.min_score = st->min_det_score;
	pthread_mutex_unlock(&st->mu);
	if (track_ms >= 0)
		return process_tracked(p, img, n, &g, track_ms, &e);
	for (size_t i = 0; i < n; i++) {
		if (!passes(&p->faces[i], &g))
			continue;
		rc = encode_face(p, img, &p->faces[i], &e);
		if (rc != FF_OK)
			return rc;
	}
	return FF_OK;
}

int64_t dev_pace_early_ms(int64_t last_ms, double fps, int64_t now_ms)
{
	return fps > 0 ? last_ms + (int64_t)(1000.0 / fps) - now_ms : 0;
}

void dev_pipeline_end_tracks(dev_pipeline *p)
{
	if (p && p->tracker)
		dev_tracker_flush(p->tracker);
	if (p && p->scan)
		dev_scan_reset(p->scan);
}

const struct dev_scan *dev_pipeline_scan(const dev_pipeline *p)
{
	return p->scan;
}

dev_tracker *dev_pipeline_tracker(dev_pipeline *p)
{
	return p->tracker;
}
