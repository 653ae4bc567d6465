/* source=video: moving pictures through FFmpeg's libraries (libavformat
 * demuxes, libavcodec decodes, libswscale converts to RGB; libavdevice adds
 * V4L2 cameras). The input is a video file, a V4L2 device (/dev/videoN) or a
 * network stream (rtsp://, http:// MJPEG, ...). Built as the module
 * fleet-device-video.so, loaded by video_load.c only for source=video; it
 * loads libavdevice (and the ~80 libraries it needs: SDL, X11, PulseAudio...)
 * only for a V4L2 device.
 *
 * A file is read in order, every frame, stamped with its own timestamps, so
 * that pacing and tracks give the same result on any machine. A live input
 * is read by a thread of its own at the stream's pace, which keeps only the
 * newest decoded frame: the analysis takes that one and never falls behind
 * the camera, whatever it costs per frame. When a live input drops or ends
 * the thread reopens it with backoff (reconnect_min_ms doubling to
 * reconnect_max_ms); every blocking call is bounded by open_timeout_ms. */
#include "device.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavdevice/version.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/log.h"

#define LOG_COMP "video"

struct video_source {
	dev_source base;
	dev_video_options o;
	char *input, *av_options;
	char shown[512];       /* input for logs, credentials masked */
	bool v4l2;
	/* the open input: the reader thread's alone once it runs */
	AVFormatContext *fc;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *got;
	int stream;
	int64_t deadline_ms;   /* a blocking FFmpeg call gives up after this (0: none) */
	atomic_bool closing;
	int retry_ms;
	int open_err;          /* the first open's error (live: the reader retries) */
	int64_t last_ms;       /* file clock */
	uint64_t frames;
	/* the caller's thread: conversion to RGB */
	struct SwsContext *sws;
	AVFrame *work;
	/* live: the reader hands the newest frame over */
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	AVFrame *newest;
	int64_t newest_ms;
	bool fresh;
	uint64_t replaced;     /* frames decoded but never analysed (the analysis was busy) */
};

/* The input as logs may show it: the user and password of a URL become ***. */
static void mask_credentials(const char *in, char *buf, size_t len)
{
	const char *sep = strstr(in, "://"), *at = sep ? strchr(sep + 3, '@') : NULL;
	const char *slash = sep ? strchr(sep + 3, '/') : NULL;
	if (at && (!slash || at < slash))
		snprintf(buf, len, "%.*s***%s", (int)(sep + 3 - in), in, at);
	else
		snprintf(buf, len, "%s", in);
}

static const char *av_reason(int averr, char *buf, size_t len)
{
	if (av_strerror(averr, buf, len) < 0)
		snprintf(buf, len, "FFmpeg error %d", averr);
	return buf;
}

/* FFmpeg's error as an ff_err; NOTFOUND, UNSUPPORTED and INVAL are the
 * caller's mistakes (retrying cannot help), the rest may pass. */
static int map_averr(int e)
{
	if (e == AVERROR(ENOENT) || e == AVERROR(ENODEV) || e == AVERROR(ENXIO) ||
	    e == AVERROR_HTTP_NOT_FOUND)
		return FF_ERR_NOTFOUND;
	if (e == AVERROR_PROTOCOL_NOT_FOUND || e == AVERROR_DEMUXER_NOT_FOUND ||
	    e == AVERROR_DECODER_NOT_FOUND)
		return FF_ERR_UNSUPPORTED;
	if (e == AVERROR(EINVAL) || e == AVERROR_OPTION_NOT_FOUND)
		return FF_ERR_INVAL;
	if (e == AVERROR_INVALIDDATA || e == AVERROR_STREAM_NOT_FOUND)
		return FF_ERR_FORMAT;
	if (e == AVERROR_HTTP_UNAUTHORIZED || e == AVERROR_HTTP_FORBIDDEN)
		return FF_ERR_AUTH;
	return e == AVERROR(ENOMEM) ? FF_ERR_NOMEM : FF_ERR_IO;
}

static bool permanent(int err)
{
	return err == FF_ERR_NOTFOUND || err == FF_ERR_UNSUPPORTED || err == FF_ERR_INVAL ||
	       err == FF_ERR_AUTH || err == FF_ERR_NOMEM;
}

/* FFmpeg's own messages as one log line each (errors only, unless debug). */
static void av_to_log(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[512], q[600];
	int prefix = 1;
	if (level > av_log_get_level())
		return;
	av_log_format_line(avcl, level, fmt, vl, line, sizeof(line), &prefix);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0])
		ff_log_warn(LOG_COMP, "event=ffmpeg msg=%s", ff_log_quote(q, sizeof(q), line));
}

static bool stopping(struct video_source *s)
{
	return atomic_load(&s->closing) || (s->o.stop && atomic_load(s->o.stop));
}

/* FFmpeg calls this during blocking I/O (in the thread that reads): non-zero
 * stops the call. */
static int interrupted(void *ctx)
{
	struct video_source *s = ctx;
	return stopping(s) || (s->deadline_ms && dev_mono_ms() > s->deadline_ms);
}

/* A call that our deadline interrupted timed out (FFmpeg says "exit"). */
static int timed_out(struct video_source *s, int rc)
{
	return rc == AVERROR_EXIT && !stopping(s) ? AVERROR(ETIMEDOUT) : rc;
}

/* The user's key=value options, plus I/O timeouts for network protocols
 * (FFmpeg's default is to wait forever on a silent server). */
static int input_options(const struct video_source *s, AVDictionary **d)
{
	char us[32];
	if (s->av_options && *s->av_options && av_dict_parse_string(d, s->av_options, "=", ",", 0) < 0)
		return AVERROR(EINVAL);
	snprintf(us, sizeof(us), "%lld", (long long)s->o.open_timeout_ms * 1000);
	if (dev_video_is_live(s->input) && !s->v4l2) {
		av_dict_set(d, "rw_timeout", us, AV_DICT_DONT_OVERWRITE); /* any protocol */
		av_dict_set(d, "timeout", us, AV_DICT_DONT_OVERWRITE);    /* rtsp, http sockets */
	}
	return 0;
}

static void close_input(struct video_source *s)
{
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fc);
}

static int open_decoder(struct video_source *s)
{
	const AVCodec *codec = NULL;
	int rc = avformat_find_stream_info(s->fc, NULL);
	if (rc < 0)
		return rc;
	s->stream = av_find_best_stream(s->fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (s->stream < 0)
		return s->stream;
	s->dec = avcodec_alloc_context3(codec);
	if (!s->dec)
		return AVERROR(ENOMEM);
	rc = avcodec_parameters_to_context(s->dec, s->fc->streams[s->stream]->codecpar);
	s->dec->thread_count = 1; /* a low-power device: the detector needs the core */
	return rc < 0 ? rc : avcodec_open2(s->dec, codec, NULL);
}

/* Opens input and decoder. Returns 0 or an FFmpeg error (nothing left open). */
static int open_input(struct video_source *s)
{
	AVDictionary *d = NULL;
	int rc = input_options(s, &d);

	s->fc = avformat_alloc_context();
	if (rc < 0 || !s->fc) {
		av_dict_free(&d);
		avformat_free_context(s->fc);
		s->fc = NULL;
		return rc < 0 ? rc : AVERROR(ENOMEM);
	}
	s->fc->interrupt_callback = (AVIOInterruptCB){ interrupted, s };
	if (s->v4l2)
		s->fc->flags |= AVFMT_FLAG_NONBLOCK; /* a stalled camera cannot block us */
	s->deadline_ms = dev_mono_ms() + s->o.open_timeout_ms;
	rc = avformat_open_input(&s->fc, s->input, s->v4l2 ? av_find_input_format("v4l2") : NULL, &d);
	av_dict_free(&d);
	if (rc >= 0)
		rc = open_decoder(s);
	s->deadline_ms = 0;
	if (rc < 0)
		close_input(s);
	return timed_out(s, rc);
}

static void log_opened(const struct video_source *s)
{
	const AVStream *st = s->fc->streams[s->stream];
	ff_log_info(LOG_COMP, "event=video_open input=%s live=%s format=%s codec=%s width=%d height=%d fps=%.2f",
		    s->shown, s->base.live ? "true" : "false", s->fc->iformat->name, s->dec->codec->name,
		    s->dec->width, s->dec->height,
		    st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0.0); /* 0: not said */
}

/* Next packet of our stream. A live read gives up after open_timeout_ms
 * without data (a V4L2 camera answers EAGAIN until its next frame). */
static int read_packet(struct video_source *s)
{
	int64_t until = dev_mono_ms() + s->o.open_timeout_ms;
	for (;;) {
		int rc;
		s->deadline_ms = s->base.live ? until : 0;
		rc = av_read_frame(s->fc, s->pkt);
		s->deadline_ms = 0;
		if (rc == AVERROR(EAGAIN) && !stopping(s) && dev_mono_ms() < until) {
			usleep(5000);
			continue;
		}
		if (rc < 0)
			return rc == AVERROR(EAGAIN) ? AVERROR(ETIMEDOUT) : timed_out(s, rc);
		if (s->pkt->stream_index == s->stream)
			return 0;
		av_packet_unref(s->pkt);
	}
}

/* The next decoded frame into s->got. Returns 0, AVERROR_EOF (drained) or an
 * error. A corrupt packet is skipped (a live stream loses some). */
static int decode_next(struct video_source *s)
{
	for (;;) {
		int rc = avcodec_receive_frame(s->dec, s->got);
		if (rc != AVERROR(EAGAIN))
			return rc;
		rc = read_packet(s);
		if (rc == AVERROR_EOF) {
			avcodec_send_packet(s->dec, NULL); /* drain what the decoder holds */
			continue;
		}
		if (rc < 0)
			return rc;
		rc = avcodec_send_packet(s->dec, s->pkt);
		av_packet_unref(s->pkt);
		if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN))
			return rc;
	}
}

/* frame (any pixel format and size) -> a new RGB ff_image, at most o.width wide. */
static int convert(struct video_source *s, const AVFrame *f, ff_image *img)
{
	int ow = f->width, oh = f->height, rc;
	if (s->o.width > 0 && s->o.width < f->width) {
		ow = s->o.width;
		oh = (int)((int64_t)f->height * ow / f->width);
	}
	s->sws = sws_getCachedContext(s->sws, f->width, f->height, f->format, ow, oh, AV_PIX_FMT_RGB24,
				      SWS_BILINEAR, NULL, NULL, NULL);
	if (!s->sws)
		return FF_ERR_UNSUPPORTED;
	rc = ff_image_alloc(img, ow, oh);
	if (rc != FF_OK)
		return rc;
	uint8_t *dst[4] = { img->data, NULL, NULL, NULL };
	int dst_stride[4] = { (int)img->stride, 0, 0, 0 };
	sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
	return FF_OK;
}

/* A file frame's time: its timestamp from the stream start, in ms. */
static int64_t file_time_ms(struct video_source *s)
{
	const AVStream *st = s->fc->streams[s->stream];
	int64_t pts = s->got->best_effort_timestamp;
	double fps = av_q2d(st->avg_frame_rate);

	if (pts == AV_NOPTS_VALUE) /* none: one frame period after the last */
		return s->last_ms + (int64_t)(fps > 0 ? 1000.0 / fps : 40);
	if (st->start_time != AV_NOPTS_VALUE)
		pts -= st->start_time;
	return av_rescale_q(pts, st->time_base, (AVRational){ 1, 1000 });
}

static void log_end(const struct video_source *s, const char *why, int averr)
{
	char r[128];
	ff_log_info(LOG_COMP, "event=video_end input=%s frames=%llu not_analysed_busy=%llu reason=\"%s\"",
		    s->shown, (unsigned long long)s->frames, (unsigned long long)s->replaced,
		    averr ? av_reason(averr, r, sizeof(r)) : why);
}

static int file_next(dev_source *base, ff_image *img, char *name, size_t namelen)
{
	struct video_source *s = (struct video_source *)base;
	char r[128];
	int rc = decode_next(s);

	if (rc == AVERROR_EOF || (rc < 0 && s->o.stop && atomic_load(s->o.stop))) {
		log_end(s, rc == AVERROR_EOF ? "end of file" : "stopped", 0);
		return 0;
	}
	if (rc < 0) {
		ff_log_error(LOG_COMP, "event=video_read_failed input=%s reason=\"%s\"", s->shown,
			     av_reason(rc, r, sizeof(r)));
		return map_averr(rc);
	}
	s->base.frame_ms = s->last_ms = file_time_ms(s);
	snprintf(name, namelen, "video#%llu", (unsigned long long)s->frames++);
	rc = convert(s, s->got, img);
	av_frame_unref(s->got);
	return rc == FF_OK ? 1 : rc;
}

/* Waits retry_ms (doubling up to the cap) unless stopped. False when stopped. */
static bool backoff(struct video_source *s, const char *what, int averr)
{
	char r[128];
	ff_log_warn(LOG_COMP, "event=video_retry input=%s after=%s reason=\"%s\" retry_in_ms=%d", s->shown,
		    what, av_reason(averr, r, sizeof(r)), s->retry_ms);
	for (int64_t until = dev_mono_ms() + s->retry_ms; dev_mono_ms() < until;) {
		if (stopping(s))
			return false;
		usleep(20000);
	}
	s->retry_ms = s->retry_ms * 2 > s->o.reconnect_max_ms ? s->o.reconnect_max_ms : s->retry_ms * 2;
	return !stopping(s);
}

static void hand_over(struct video_source *s)
{
	pthread_mutex_lock(&s->mu);
	s->replaced += s->fresh;
	av_frame_unref(s->newest);
	av_frame_move_ref(s->newest, s->got);
	s->newest_ms = dev_mono_ms();
	s->fresh = true;
	s->frames++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Live inputs: read, decode, keep the newest frame; reopen when lost. */
static void *reader_main(void *arg)
{
	struct video_source *s = arg;
	const char *what = "open_failed";
	int rc = s->open_err;

	while (!stopping(s)) {
		if (rc < 0) {
			close_input(s);
			if (!backoff(s, what, rc))
				break;
			what = "open_failed";
			if ((rc = open_input(s)) >= 0)
				log_opened(s);
			continue;
		}
		rc = decode_next(s);
		if (rc >= 0) {
			hand_over(s);
			s->retry_ms = s->o.reconnect_min_ms;
		} else {
			what = rc == AVERROR_EOF ? "stream_end" : "stream_lost";
		}
	}
	pthread_mutex_lock(&s->mu);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int live_next(dev_source *base, ff_image *img, char *name, size_t namelen)
{
	struct video_source *s = (struct video_source *)base;
	uint64_t n;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->fresh && !stopping(s)) {
		struct timespec dl;
		ff_deadline_in(&dl, 200); /* look at stop now and then */
		pthread_cond_timedwait(&s->cv, &s->mu, &dl);
	}
	if (!s->fresh) {
		log_end(s, "stopped", 0);
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	av_frame_move_ref(s->work, s->newest);
	s->base.frame_ms = s->newest_ms;
	s->fresh = false;
	n = s->frames;
	pthread_mutex_unlock(&s->mu);
	snprintf(name, namelen, "video#%llu", (unsigned long long)n);
	rc = convert(s, s->work, img);
	av_frame_unref(s->work);
	return rc == FF_OK ? 1 : rc;
}

static void video_close(dev_source *base)
{
	struct video_source *s = (struct video_source *)base;
	atomic_store(&s->closing, true);
	if (s->reader_started)
		pthread_join(s->reader, NULL);
	close_input(s);
	sws_freeContext(s->sws);
	av_packet_free(&s->pkt);
	av_frame_free(&s->got);
	av_frame_free(&s->work);
	av_frame_free(&s->newest);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->input);
	free(s->av_options);
	free(s);
}

/* A condition variable on the monotonic clock (ff_deadline_in). */
static void init_cond(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

static struct video_source *video_alloc(const dev_video_options *o)
{
	struct video_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->o = *o;
	s->input = strdup(o->input);
	s->av_options = o->av_options ? strdup(o->av_options) : NULL;
	s->pkt = av_packet_alloc();
	s->got = av_frame_alloc();
	s->work = av_frame_alloc();
	s->newest = av_frame_alloc();
	pthread_mutex_init(&s->mu, NULL);
	init_cond(&s->cv);
	s->base.close = video_close;
	if (!s->input || (o->av_options && !s->av_options) || !s->pkt || !s->got || !s->work || !s->newest) {
		video_close(&s->base);
		return NULL;
	}
	s->base.timed = true;
	s->base.live = dev_video_is_live(o->input);
	s->base.next = s->base.live ? live_next : file_next;
	s->v4l2 = !strncmp(o->input, "/dev/", 5);
	s->retry_ms = o->reconnect_min_ms;
	mask_credentials(o->input, s->shown, sizeof(s->shown));
	return s;
}

static void log_open_failed(const struct video_source *s, int averr)
{
	static const char *const hint[] = {
		[-FF_ERR_NOTFOUND] = "no such file, device or stream: check the path (ls /dev/video*) or the URL",
		[-FF_ERR_UNSUPPORTED] = "unknown protocol or format: check the URL's scheme",
		[-FF_ERR_INVAL] = "an option was refused: check video_options",
		[-FF_ERR_FORMAT] = "no decodable video stream in it",
		[-FF_ERR_AUTH] = "refused: check the user and password in the URL",
	};
	int e = -map_averr(averr);
	char r[128];
	ff_log_error(LOG_COMP, "event=video_open_failed input=%s reason=\"%s\" hint=\"%s\"", s->shown,
		     av_reason(averr, r, sizeof(r)),
		     e < (int)(sizeof(hint) / sizeof(hint[0])) && hint[e] ? hint[e] : "unreachable: check the network and the source");
}

/* V4L2 input comes with libavdevice, loaded here and kept. Returns FF_OK or
 * FF_ERR_UNSUPPORTED (logged). */
static int load_avdevice(void)
{
	static bool done;
	void (*register_all)(void) = NULL;
	char name[64], q[600];
	void *h;

	if (done)
		return FF_OK;
	snprintf(name, sizeof(name), "libavdevice.so.%d", LIBAVDEVICE_VERSION_MAJOR);
	h = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
	if (h)
		*(void **)&register_all = dlsym(h, "avdevice_register_all");
	if (!register_all) {
		ff_log_error(LOG_COMP, "event=video_open_failed reason=%s hint=\"install libavdevice59 for V4L2 cameras\"",
			     ff_log_quote(q, sizeof(q), dlerror()));
		return FF_ERR_UNSUPPORTED;
	}
	register_all();
	done = true;
	return FF_OK;
}

int dev_video_plugin_open(const dev_video_options *o, dev_source **out)
{
	struct video_source *s;
	int rc;

	if (!o || !o->input || !*o->input || o->open_timeout_ms <= 0 || o->reconnect_min_ms <= 0 ||
	    o->reconnect_max_ms < o->reconnect_min_ms)
		return FF_ERR_INVAL;
	av_log_set_callback(av_to_log);
	av_log_set_level(ff_log_get_level() == FF_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_ERROR);
	if (!strncmp(o->input, "/dev/", 5) && (rc = load_avdevice()) != FF_OK)
		return rc;
	s = video_alloc(o);
	if (!s)
		return FF_ERR_NOMEM;
	rc = open_input(s);
	if (rc < 0)
		log_open_failed(s, rc);
	if (rc < 0 && (!s->base.live || permanent(map_averr(rc)))) {
		video_close(&s->base);
		return map_averr(rc);
	}
	if (rc >= 0)
		log_opened(s);
	s->open_err = rc < 0 ? rc : 0;
	if (s->base.live && pthread_create(&s->reader, NULL, reader_main, s) != 0) {
		video_close(&s->base);
		return FF_ERR_NOMEM;
	}
	s->reader_started = s->base.live;
	*out = &s->base;
	return FF_OK;
}
