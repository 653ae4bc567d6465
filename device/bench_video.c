/* fleet-device --bench --bench-video=FILE: what the video path costs a
 * device. The file goes through the agent's own path (source=video, max_fps
 * on the file's clock, detection, quality, tracks, VQ encode, FaceCodes) as
 * fast as the machine allows, without a broker. Reported:
 *   - frames analysed per second: per CPU second (what one core sustains)
 *     and per wall second (this run);
 *   - CPU share of one core the agent needs to follow the stream live: CPU
 *     time (decoding every frame included) over the video's duration;
 *   - peak RSS (getrusage), the FFmpeg module loaded, and at the end how
 *     much of the RSS is the process's own memory (RssAnon) and how much
 *     mapped files (RssFile: FFmpeg's ~130 shared libraries, the models);
 *   - bytes per track: the MQTT v5 PUBLISH packets of a track's faces
 *     (topic alias steady state, else the device's topic), and per face.
 * Human lines on stderr, one JSON object as the last line of stdout. */
#include "device.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#define MAX_ANALYSED 100000

struct vbench {
	const dev_config *cfg;
	size_t topic_len;
	uint64_t seq, faces;
	size_t payload_bytes, publish_bytes;
	uint64_t frames, analysed;
	int64_t first_ms, last_ms;
	double *analyse_ms, *analyse_cpu_ms; /* wall; this thread's CPU (load-proof) */
};

static uint64_t bench_seq(void *ctx)
{
	return ++((struct vbench *)ctx)->seq;
}

static int bench_sink(void *ctx, dev_face_msg *msg)
{
	struct vbench *b = ctx;
	b->faces++;
	b->payload_bytes += msg->len;
	b->publish_bytes += b->cfg->mqtt_topic_alias
				    ? ff_mqtt_publish_packet_size_aliased(msg->len, 1)
				    : ff_mqtt_publish_packet_size(b->topic_len, msg->len, 1);
	return FF_OK;
}

/* A "Key:   N kB" line of /proc/self/status, in kB (0 if absent). */
static long proc_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			kb = atol(line + kl + 1);
	if (f)
		fclose(f);
	return kb;
}

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Analyses one frame, timing it. */
static int analyse(dev_pipeline *pl, const ff_image *img, int64_t t_ms, dev_settings *st,
		   struct vbench *b)
{
	dev_counters ctr = { 0 };
	int64_t t0 = ff_mono_us();
	double c0 = thread_cpu_ms();
	int rc = dev_pipeline_process(pl, img, dev_now_us(), t_ms, st, &ctr, bench_seq, bench_sink, b);
	b->analyse_cpu_ms[b->analysed] = thread_cpu_ms() - c0;
	b->analyse_ms[b->analysed++] = (double)(ff_mono_us() - t0) / 1000.0;
	return rc;
}

/* Reads every frame, analysing those max_fps lets through. */
static int run_frames(dev_pipeline *pl, dev_source *src, dev_settings *st, struct vbench *b)
{
	int64_t last = INT64_MIN / 2;
	char name[64];
	int rc;

	for (;;) {
		ff_image img = FF_IMAGE_EMPTY;
		if ((rc = src->next(src, &img, name, sizeof(name))) <= 0)
			break;
		if (b->frames++ == 0)
			b->first_ms = src->frame_ms;
		b->last_ms = src->frame_ms;
		rc = FF_OK;
		if (dev_pace_early_ms(last, b->cfg->max_fps, src->frame_ms) <= 0 && b->analysed < MAX_ANALYSED) {
			last = src->frame_ms;
			rc = analyse(pl, &img, src->frame_ms, st, b);
		}
		ff_image_free(&img);
		if (rc != FF_OK)
			break;
	}
	dev_pipeline_end_tracks(pl);
	return rc;
}

static void report(const struct vbench *b, dev_pipeline *pl, double wall_s, double cpu, long rss_kb)
{
	dev_track_stats ts = { 0 };
	double gap_ms = b->frames > 1 ? (double)(b->last_ms - b->first_ms) / (double)(b->frames - 1) : 0;
	double media_s = (double)(b->last_ms - b->first_ms) / 1000.0 + gap_ms / 1000.0;
	double med = dev_quantile(b->analyse_ms, b->analysed, 0.5);
	double cpu_sum = 0, per_track = 0;
	const dev_scan *sc = dev_pipeline_scan(pl);
	for (uint64_t i = 0; i < b->analysed; i++)
		cpu_sum += b->analyse_cpu_ms[i];
	double cpu_med = dev_quantile(b->analyse_cpu_ms, b->analysed, 0.5);
	double cpu_p90 = dev_quantile(b->analyse_cpu_ms, b->analysed, 0.9);

	if (dev_pipeline_tracker(pl))
		dev_tracker_stats(dev_pipeline_tracker(pl), &ts);
	per_track = ts.with_faces ? (double)b->publish_bytes / (double)ts.with_faces : 0;
	fprintf(stderr,
		"bench video: %s, %llu frames (%.1f s, %.1f fps), max_fps %.1f: %llu analysed\n"
		"  analysed per CPU second: %.1f (median %.1f ms per analysed frame); per wall second %.1f\n"
		"  analysis CPU per frame (detect, align, quality, encode): median %.2f ms, mean %.2f ms, p90 %.2f ms;\n"
		"  whole-frame scans %llu, near known faces %llu (detector_full_scan_every %d)\n"
		"  CPU share of one core to follow it live: %.1f %% (decoding every frame included)\n"
		"  tracks %llu, %llu of them sent faces: %llu faces, %.1f B PUBLISH per such track, %.1f B per face\n"
		"  peak RSS: %.1f MB (at the end: own memory %.1f MB, mapped files %.1f MB)\n",
		b->cfg->bench_video, (unsigned long long)b->frames, media_s, gap_ms > 0 ? 1000 / gap_ms : 0,
		b->cfg->max_fps, (unsigned long long)b->analysed, cpu > 0 ? (double)b->analysed / cpu : 0,
		med, wall_s > 0 ? (double)b->analysed / wall_s : 0, cpu_med, cpu_sum / (double)b->analysed,
		cpu_p90, sc ? (unsigned long long)sc->full : 0ULL, sc ? (unsigned long long)sc->near : 0ULL,
		b->cfg->detector_full_scan_every, media_s > 0 ? 100 * cpu / media_s : 0,
		(unsigned long long)ts.started, (unsigned long long)ts.with_faces,
		(unsigned long long)b->faces, per_track,
		b->faces ? (double)b->publish_bytes / (double)b->faces : 0, rss_kb / 1024.0,
		proc_status_kb("RssAnon") / 1024.0, proc_status_kb("RssFile") / 1024.0);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "device_video");
	cJSON_AddStringToObject(j, "model_id", dev_pipeline_model_id(pl));
	cJSON_AddNumberToObject(j, "frames", (double)b->frames);
	dev_json_num(j, "media_s", media_s, 3);
	dev_json_num(j, "max_fps", b->cfg->max_fps, 2);
	cJSON_AddNumberToObject(j, "analysed", (double)b->analysed);
	dev_json_num(j, "analysed_per_cpu_s", cpu > 0 ? (double)b->analysed / cpu : 0, 2);
	dev_json_num(j, "analysed_per_wall_s", wall_s > 0 ? (double)b->analysed / wall_s : 0, 2);
	dev_json_num(j, "analyse_ms_median", med, 2);
	dev_json_num(j, "analyse_cpu_ms_median", cpu_med, 3);
	dev_json_num(j, "analyse_cpu_ms_mean", cpu_sum / (double)b->analysed, 3);
	dev_json_num(j, "analyse_cpu_ms_p90", cpu_p90, 3);
	cJSON_AddNumberToObject(j, "full_scan_every", b->cfg->detector_full_scan_every);
	cJSON_AddNumberToObject(j, "scans_full", sc ? (double)sc->full : 0);
	cJSON_AddNumberToObject(j, "scans_near", sc ? (double)sc->near : 0);
	dev_json_num(j, "cpu_s", cpu, 3);
	dev_json_num(j, "cpu_share_of_core", media_s > 0 ? cpu / media_s : 0, 4);
	cJSON_AddNumberToObject(j, "tracks", (double)ts.started);
	cJSON_AddNumberToObject(j, "tracks_with_faces", (double)ts.with_faces);
	cJSON_AddNumberToObject(j, "faces_sent", (double)b->faces);
	cJSON_AddNumberToObject(j, "payload_bytes", (double)b->payload_bytes);
	cJSON_AddNumberToObject(j, "publish_bytes", (double)b->publish_bytes);
	dev_json_num(j, "publish_bytes_per_track", per_track, 1);
	cJSON_AddNumberToObject(j, "peak_rss_kb", (double)rss_kb);
	cJSON_AddNumberToObject(j, "rss_anon_kb", (double)proc_status_kb("RssAnon"));
	cJSON_AddNumberToObject(j, "rss_file_kb", (double)proc_status_kb("RssFile"));
	dev_json_print(j);
}

int dev_bench_video(const dev_config *cfg)
{
	static struct vbench b;
	dev_video_options vo = { cfg->bench_video, cfg->video_options, cfg->video_open_timeout_ms,
				 cfg->video_reconnect_min_ms, cfg->video_reconnect_max_ms, cfg->video_width,
				 NULL };
	dev_settings st = { .min_face_px = cfg->min_face_px, .min_det_score = (float)cfg->min_det_score };
	dev_pipeline *pl = NULL;
	dev_source *src = NULL;
	char topic[128];
	double c0, w0;
	struct rusage ru;
	int rc;

	b.cfg = cfg;
	dev_topic(cfg, "faces", topic, sizeof(topic));
	b.topic_len = strlen(topic);
	b.analyse_ms = calloc(MAX_ANALYSED, sizeof(double));
	b.analyse_cpu_ms = calloc(MAX_ANALYSED, sizeof(double));
	pthread_mutex_init(&st.mu, NULL);
	rc = b.analyse_ms && b.analyse_cpu_ms ? dev_pipeline_create(cfg, &pl) : FF_ERR_NOMEM;
	if (rc == FF_OK)
		rc = dev_source_video_open(&vo, &src);
	c0 = cpu_s();
	w0 = (double)ff_mono_us() / 1e6;
	if (rc == FF_OK)
		rc = run_frames(pl, src, &st, &b);
	getrusage(RUSAGE_SELF, &ru);
	if (rc == FF_OK && b.analysed)
		report(&b, pl, (double)ff_mono_us() / 1e6 - w0, cpu_s() - c0, ru.ru_maxrss);
	else
		fprintf(stderr, "fleet-device --bench: the video %s gave no frame to analyse\n", cfg->bench_video);
	if (src)
		src->close(src);
	dev_pipeline_free(pl);
	pthread_mutex_destroy(&st.mu);
	free(b.analyse_ms);
	free(b.analyse_cpu_ms);
	return rc == FF_OK && b.analysed ? FF_EXIT_OK : FF_EXIT_FAIL;
}
