/* The per-frame work: MTCNN detection -> quality gate -> 5-point alignment
 * to 112x112 -> VQ encode -> bit packing -> FaceCodes protobuf. */
#include "device.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/align.h"
#include "facefleet/detect.h"
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
	ff_face *faces;
};

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

static const char *mtcnn_dir(const dev_config *cfg, char *buf, size_t len)
{
	const char *env = getenv("FF_MODELS_DIR");
	char probe[4200];

	if (cfg->mtcnn_dir && *cfg->mtcnn_dir) {
		snprintf(buf, len, "%s", cfg->mtcnn_dir);
		return buf;
	}
	snprintf(buf, len, "%s/ffn", env && *env ? env : "models/cache");
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
	ff_vq_encoder_free(p->enc);
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
	ff_vq_encoder_free(p->enc);
	p->enc = enc;
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
	int rc;

	rc = ff_vq_encode(p->enc, crop, idx, FF_VQ_MAX_CODES);
	if (rc != FF_OK)
		return rc;
	/* schema 2: the topic names the device, the box travels in whole pixels */
	if (p->cfg->send_ids) {
		ff.device_id = p->cfg->device_id;
		ff.site_id = p->cfg->site_id;
	}
	ff.seq = msg->seq;
	ff.capture_time_us = t_us;
	ff.has_box = true;
	ff.box_x0 = f->x0;
	ff.box_y0 = f->y0;
	ff.box_x1 = f->x1;
	ff.box_y1 = f->y1;
	ff.det_score = f->score;
	ff.frame_w = (uint32_t)frame->width;
	ff.frame_h = (uint32_t)frame->height;
	return ff_facecodes_build(info, idx, &ff, msg->buf, sizeof(msg->buf), &msg->len);
}

/* Aligns one detected face, encodes it and packs its FaceCodes into msg. */
static int encode_face(dev_pipeline *p, const ff_image *img, const ff_face *f, int64_t t_us,
		       dev_face_msg *msg)
{
	ff_image crop = FF_IMAGE_EMPTY;
	int rc = ff_align_face(img, f->landmarks, &crop);
	if (rc == FF_OK)
		rc = dev_pipeline_encode_crop(p, &crop, img, f, t_us, msg);
	ff_image_free(&crop);
	return rc;
}

int dev_pipeline_process(dev_pipeline *p, const ff_image *img, int64_t capture_time_us,
			 dev_settings *st, dev_counters *ctr, dev_seq_fn next_seq, dev_face_sink sink,
			 void *ctx)
{
	dev_face_msg msg;
	size_t n = 0;
	int min_px;
	float min_score;
	int rc;

	rc = ff_detect(p->det, img, p->faces, (size_t)p->cfg->max_faces, &n);
	if (rc != FF_OK) {
		ff_log_warn(LOG_COMP, "event=detect_failed err=\"%s\"", ff_strerror(rc));
		return FF_OK; /* one bad frame does not stop the agent */
	}
	pthread_mutex_lock(&st->mu);
	min_px = st->min_face_px;
	min_score = st->min_det_score;
	pthread_mutex_unlock(&st->mu);
	for (size_t i = 0; i < n; i++) {
		const ff_face *f = &p->faces[i];
		float side = f->x1 - f->x0 + 1;
		if (f->y1 - f->y0 + 1 < side)
			side = f->y1 - f->y0 + 1;
		if (side < (float)min_px || f->score < min_score) {
			ff_log_debug(LOG_COMP, "event=gated side=%.0f score=%.3f min_face_px=%d min_det_score=%.3f",
				     side, f->score, min_px, min_score);
			continue;
		}
		atomic_fetch_add(&ctr->faces, 1);
		msg.seq = next_seq(ctx);
		rc = encode_face(p, img, f, capture_time_us, &msg);
		if (rc != FF_OK) {
			ff_log_warn(LOG_COMP, "event=encode_failed seq=%llu err=\"%s\"",
				    (unsigned long long)msg.seq, ff_strerror(rc));
			atomic_fetch_add(&ctr->dropped, 1);
			continue;
		}
		rc = sink(ctx, &msg);
		if (rc != FF_OK)
			return rc;
	}
	return FF_OK;
}
