/* fleet-device: the agent on each low-power device. Wires the parts of
 * device/ together (see device.h); the work lives in the other files. */
#include "device.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "facefleet/ids.h"
#include "facefleet/error.h"
#include "facefleet/log.h"

#define LOG_COMP "device"

static dev_agent agent;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&agent.stop, true);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void dev_agent_stop(dev_agent *a)
{
	atomic_store(&a->stop, true);
	if (!pthread_equal(pthread_self(), a->main_thread))
		pthread_kill(a->main_thread, SIGTERM);
}

static uint64_t next_seq(void *ctx)
{
	return dev_outbox_next_seq(((dev_agent *)ctx)->outbox);
}

/* Pipeline sink: persist first, then wake the publisher. */
static int persist(void *ctx, dev_face_msg *msg)
{
	dev_agent *a = ctx;
	uint64_t dropped = 0;
	int rc = dev_outbox_put(a->outbox, msg->seq, msg->buf, msg->len, &dropped);

	if (dropped)
		atomic_fetch_add(&a->counters.dropped, dropped);
	if (rc != FF_OK && rc != FF_ERR_FULL) {
		ff_log_error(LOG_COMP, "event=outbox_write_failed seq=%llu err=\"%s\"",
			     (unsigned long long)msg->seq, ff_strerror(rc));
		atomic_fetch_add(&a->counters.dropped, 1);
	}
	ff_log_debug(LOG_COMP, "event=face seq=%llu bytes=%zu", (unsigned long long)msg->seq, msg->len);
	dev_publisher_kick(a->pub);
	return FF_OK;
}

static int open_source(dev_agent *a, dev_source **src)
{
	const dev_config *c = &a->cfg;
	if (!strcmp(c->source, "file"))
		return dev_source_file_open(c->input, c->repeat, src);
	if (!strcmp(c->source, "dir"))
		return dev_source_dir_open(c->input, c->watch, &a->stop, src);
	if (!strcmp(c->source, "stdin"))
		return dev_source_stdin_open(STDIN_FILENO, c->width, c->height, c->pixfmt, &a->stop, src);
	if (!strcmp(c->source, "video")) {
		dev_video_options vo = { c->video_input, c->video_options, c->video_open_timeout_ms,
					 c->video_reconnect_min_ms, c->video_reconnect_max_ms,
					 c->video_width, &a->stop };
		return dev_source_video_open(&vo, src);
	}
	*src = NULL; /* none: only forward what the outbox holds */
	return FF_OK;
}

/* Applies a model switch requested by DeviceConfig (between frames). */
static void switch_model(dev_agent *a, dev_pipeline *pl)
{
	char want[FF_ID_MAX + 1];
	pthread_mutex_lock(&a->settings.mu);
	memcpy(want, a->model_pending, sizeof(want));
	a->model_pending[0] = '\0';
	pthread_mutex_unlock(&a->settings.mu);
	if (!want[0] || !pl)
		return;
	int rc = dev_pipeline_set_model(pl, want);
	pthread_mutex_lock(&a->settings.mu);
	if (rc == FF_OK) {
		snprintf(a->settings.model_id, sizeof(a->settings.model_id), "%s", want);
	} else {
		a->settings.degraded = true;
		snprintf(a->settings.detail, sizeof(a->settings.detail),
			 "model_id %.32s failed to load: keeping %s", want, a->settings.model_id);
	}
	pthread_mutex_unlock(&a->settings.mu);
	atomic_store(&a->status_dirty, true);
	dev_publisher_kick(a->pub);
}

/* Frame pacing: sleeps (files) or says to skip (live stdin, video) above
 * max_fps. now_ms: the frame's time (a video's own clock, else monotonic). */
static bool pace(dev_agent *a, int64_t *last_ms, bool live, int64_t now_ms)
{
	double fps;
	bool paused;
	int64_t wait;
	pthread_mutex_lock(&a->settings.mu);
	fps = a->settings.max_fps;
	paused = a->settings.capture_paused;
	pthread_mutex_unlock(&a->settings.mu);
	while (paused && !live && !atomic_load(&a->stop)) {
		usleep(100000);
		pthread_mutex_lock(&a->settings.mu);
		paused = a->settings.capture_paused;
		pthread_mutex_unlock(&a->settings.mu);
	}
	if (paused)
		return false;
	wait = dev_pace_early_ms(*last_ms, fps, now_ms);
	if (wait > 0 && live)
		return false;
	if (wait > 0) {
		usleep((useconds_t)wait * 1000);
		now_ms += wait;
	}
	*last_ms = now_ms;
	return true;
}

static int capture_loop(dev_agent *a, dev_pipeline *pl, dev_source *src)
{
	bool live = !strcmp(a->cfg.source, "stdin");
	int64_t last_ms = INT64_MIN / 2;
	char name[4096];

	while (!atomic_load(&a->stop) && !atomic_load(&a->fatal)) {
		ff_image img = FF_IMAGE_EMPTY;
		int rc = src->next(src, &img, name, sizeof(name));
		if (rc == 0) {
			dev_pipeline_end_tracks(pl);
			return FF_EXIT_OK;
		}
		if (rc < 0) {
			ff_log_error(LOG_COMP, "event=source_failed source=%s err=\"%s\"", a->cfg.source,
				     ff_strerror(rc));
			return FF_EXIT_FAIL;
		}
		switch_model(a, pl);
		rc = FF_OK; /* a skipped frame is no error */
		if (pace(a, &last_ms, live || src->timed, src->timed ? src->frame_ms : dev_mono_ms())) {
			atomic_fetch_add(&a->counters.captured, 1);
			rc = dev_pipeline_process(pl, &img, dev_now_us(), src->timed ? src->frame_ms : -1,
						  &a->settings, &a->counters, next_seq, persist, a);
		}
		ff_image_free(&img);
		if (rc != FF_OK)
			return FF_EXIT_FAIL;
	}
	return FF_EXIT_OK;
}

static void settings_init(dev_agent *a)
{
	dev_settings *s = &a->settings;
	pthread_mutex_init(&s->mu, NULL);
	s->min_face_px = a->cfg.min_face_px;
	s->min_det_score = (float)a->cfg.min_det_score;
	s->max_fps = a->cfg.max_fps;
	s->status_interval_s = a->cfg.status_interval_s;
	snprintf(s->model_id, sizeof(s->model_id), "%s", a->cfg.model_id ? a->cfg.model_id : "");
}

int main(int argc, char **argv)
{
	dev_agent *a = &agent;
	dev_outbox_options oo;
	dev_pipeline *pl = NULL;
	dev_source *src = NULL;
	bool exit_now;
	int code, rc;

	code = dev_config_parse(&a->cfg, argc, argv, &exit_now);
	if (code != FF_EXIT_OK || exit_now)
		goto out;
	if (a->cfg.bench) {
		code = dev_bench_run(&a->cfg, argc - 1, argv + 1);
		goto out;
	}
	install_signals();
	a->main_thread = pthread_self();
	a->start_mono_ms = dev_mono_ms();
	settings_init(a);
	code = FF_EXIT_FAIL;
	oo = (dev_outbox_options){ a->cfg.outbox_dir, a->cfg.outbox_max_messages, a->cfg.outbox_max_bytes,
				   !strcmp(a->cfg.outbox_drop, "newest"), a->cfg.outbox_fsync,
				   a->cfg.seq_resume_wait_ms };
	if (dev_outbox_open(&oo, &a->outbox) != FF_OK)
		goto out;
	if (strcmp(a->cfg.source, "none") != 0) {
		if (dev_pipeline_create(&a->cfg, &pl) != FF_OK)
			goto out;
		snprintf(a->settings.model_id, sizeof(a->settings.model_id), "%s", dev_pipeline_model_id(pl));
	}
	rc = open_source(a, &src);
	if (rc != FF_OK) {
		ff_log_error(LOG_COMP, "event=source_failed source=%s input=%s err=\"%s\"", a->cfg.source,
			     a->cfg.input ? a->cfg.input : "-", ff_strerror(rc));
		goto out;
	}
	{ /* signals go to this thread only: the publisher and Paho's threads block them */
		sigset_t sigs, old;
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &sigs, &old);
		rc = dev_publisher_start(a, &a->pub);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != FF_OK)
			goto out;
	}
	ff_log_info(LOG_COMP, "event=start device=%s site=%s source=%s model_id=%s version=%s",
		    a->cfg.device_id, a->cfg.site_id, a->cfg.source, a->settings.model_id, DEV_VERSION);
	code = src ? capture_loop(a, pl, src) : FF_EXIT_OK;
	if (code == FF_EXIT_OK && !atomic_load(&a->stop) && !atomic_load(&a->fatal)) {
		if (!dev_publisher_drain(a->pub, a->cfg.drain_timeout_s) && !atomic_load(&a->stop) &&
		    !atomic_load(&a->fatal)) {
			ff_log_warn(LOG_COMP, "event=drain_timeout queued=%zu timeout_s=%d note=\"kept in the outbox for the next start\"",
				    dev_outbox_count(a->outbox), a->cfg.drain_timeout_s);
			code = FF_EXIT_FAIL;
		}
	}
out:
	if (a->pub && dev_publisher_stop(a->pub) != FF_OK)
		code = FF_EXIT_FAIL;
	if (atomic_load(&a->fatal))
		code = FF_EXIT_FAIL;
	if (a->pub || a->outbox) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		ff_log_info(LOG_COMP, "event=exit code=%d captured=%llu faces=%llu published=%llu dropped=%llu queued=%zu peak_rss_kb=%ld",
			    code, (unsigned long long)atomic_load(&a->counters.captured),
			    (unsigned long long)atomic_load(&a->counters.faces),
			    (unsigned long long)atomic_load(&a->counters.published),
			    (unsigned long long)atomic_load(&a->counters.dropped),
			    a->outbox ? dev_outbox_count(a->outbox) : 0, ru.ru_maxrss);
	}
	if (src)
		src->close(src);
	dev_pipeline_free(pl);
	dev_outbox_close(a->outbox);
	dev_config_free(&a->cfg);
	return code;
}
