/* The retained DeviceConfig on fleet/<site>/<device>/config: a config whose
 * config_version is above the one in force is applied (zero fields keep
 * the device's own values). A model id that is not installed is reported in
 * DeviceStatus (state DEGRADED, detail) and the current model stays. Runs on
 * the MQTT thread: only settings change here; the pipeline picks them up
 * between frames. */
#include "device.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "facefleet.pb-c.h"
#include "facefleet/log.h"

#define LOG_COMP "config"

static bool model_installed(const dev_agent *a, const char *model_id)
{
	char path[4096];
	size_t n = strlen(model_id);

	if (n == 0 || n > 32 || strchr(model_id, '/') || model_id[0] == '.')
		return false;
	dev_vq_path(&a->cfg, model_id, path, sizeof(path));
	return access(path, R_OK) == 0;
}

bool dev_config_apply(dev_agent *a, const void *payload, size_t len)
{
	Facefleet__V1__DeviceConfig *c;
	dev_settings *st = &a->settings;
	char q[80];

	if (len == 0) /* retained config cleared */
		return false;
	c = facefleet__v1__device_config__unpack(NULL, len, payload);
	if (!c) {
		ff_log_warn(LOG_COMP, "event=config_rejected reason=\"not a DeviceConfig protobuf\" bytes=%zu", len);
		return false;
	}
	pthread_mutex_lock(&st->mu);
	if (c->config_version <= st->config_version) {
		pthread_mutex_unlock(&st->mu);
		ff_log_info(LOG_COMP, "event=config_ignored version=%llu in_force=%llu",
			    (unsigned long long)c->config_version, (unsigned long long)st->config_version);
		facefleet__v1__device_config__free_unpacked(c, NULL);
		return false;
	}
	st->config_version = c->config_version;
	/* the config file's ranges (agent_config.c): a uint32 beyond them would
	 * wrap to a negative int (status_interval_s -1 sent a status every
	 * millisecond); an out-of-range value is ignored and said */
	if (c->min_face_px && c->min_face_px <= 8192)
		st->min_face_px = (int)c->min_face_px;
	else if (c->min_face_px)
		ff_log_warn(LOG_COMP, "event=config_value_ignored key=min_face_px value=%u range=1..8192", c->min_face_px);
	if (c->min_det_score > 0 && c->min_det_score <= 1 && isfinite(c->min_det_score))
		st->min_det_score = c->min_det_score;
	if (c->max_fps && c->max_fps <= 1000)
		st->max_fps = c->max_fps;
	else if (c->max_fps)
		ff_log_warn(LOG_COMP, "event=config_value_ignored key=max_fps value=%u range=1..1000", c->max_fps);
	if (c->status_interval_s && c->status_interval_s <= 86400)
		st->status_interval_s = (int)c->status_interval_s;
	else if (c->status_interval_s)
		ff_log_warn(LOG_COMP, "event=config_value_ignored key=status_interval_s value=%u range=1..86400", c->status_interval_s);
	st->capture_paused = c->capture_paused;
	st->degraded = false;
	st->detail[0] = '\0';
	if (c->model_id && *c->model_id && strcmp(c->model_id, st->model_id) != 0) {
		if (model_installed(a, c->model_id)) {
			snprintf(a->model_pending, sizeof(a->model_pending), "%s", c->model_id);
		} else {
			st->degraded = true;
			/* quoted: the id is untrusted text (control characters) */
			ff_log_quote(q, sizeof(q), c->model_id);
			snprintf(st->detail, sizeof(st->detail), "unknown model_id %.40s: keeping %s",
				 q, st->model_id);
			ff_log_warn(LOG_COMP, "event=model_unknown model_id=%s keeping=%s", q,
				    st->model_id);
		}
	}
	ff_log_info(LOG_COMP, "event=config_applied version=%llu min_face_px=%d min_det_score=%.3f max_fps=%g status_interval_s=%d paused=%s",
		    (unsigned long long)st->config_version, st->min_face_px, st->min_det_score,
		    st->max_fps, st->status_interval_s, st->capture_paused ? "true" : "false");
	pthread_mutex_unlock(&st->mu);
	facefleet__v1__device_config__free_unpacked(c, NULL);
	return true;
}
