/* fleet-device --bench: the frugality benchmark (not a test). On the given
 * images (default: the LFW sample in tests/data/faces) it measures
 *   - detect+align time per frame (MTCNN + 5-point warp, 1 thread),
 *   - VQ encode time per aligned face at 1 thread (median, p90): what a face
 *     costs the device after alignment, the encoder, the rate control of a
 *     model sent coded only (code_bytes_max) and the FaceCodes message,
 *   - bytes on the wire per face: the whole MQTT v5 PUBLISH packet of the
 *     FaceCodes message on this device's topic (with mqtt_topic_alias, the
 *     steady state: an empty topic and the 2-byte alias; the first face of a
 *     connection carries the topic too, first_publish_bytes),
 *   - the 112x112 JPEG (libjpeg q75) of the aligned crop it replaces,
 *   - peak RSS of the process (getrusage) after all of that.
 * Human lines go to stderr; the last line on stdout is one JSON object.
 * With bench_video set, the video path instead (bench_video.c). */
#include "device.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "facefleet/align.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/mqtt.h"

#define MAX_CROPS 256

/* Milliseconds on clock (CLOCK_MONOTONIC: wall; CLOCK_THREAD_CPUTIME_ID:
 * this thread's CPU time, which preemption by other processes on a shared
 * machine does not inflate). */
static double clock_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double dev_quantile(double *v, size_t n, double q)
{
	size_t i;
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Size of img as a baseline JPEG at quality q (ff_image_encode_jpeg, the
 * same settings as fleet-eval's JPEG baseline); 0 on error. */
static size_t jpeg_size(const ff_image *img, int q)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (ff_image_encode_jpeg(img, q, &buf, &len) != FF_OK)
		return 0;
	free(buf);
	return len;
}

struct bench {
	ff_image crops[MAX_CROPS];
	ff_face faces[MAX_CROPS];
	int frame_w[MAX_CROPS], frame_h[MAX_CROPS];
	size_t ncrops;
	double det_ms[MAX_CROPS], det_cpu[MAX_CROPS]; /* wall; this thread's CPU */
	size_t nframes;
};

/* Detects and aligns the best face of each image, timing both. */
static void detect_all(dev_pipeline *pl, int n, char **paths, struct bench *b)
{
	for (int i = 0; i < n && b->ncrops < MAX_CROPS; i++) {
		ff_image img = FF_IMAGE_EMPTY;
		ff_face faces[8];
		size_t nf = 0;
		double t0, c0;

		if (dev_load_image(paths[i], &img) != FF_OK)
			continue;
		t0 = now_ms();
		c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		if (ff_detect(dev_pipeline_detector(pl), &img, faces, 8, &nf) == FF_OK && nf > 0) {
			int k = ff_face_pick_central(faces, nf, img.width, img.height);
			if (ff_align_face(&img, faces[k].landmarks, &b->crops[b->ncrops]) == FF_OK) {
				b->det_cpu[b->nframes] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
				b->det_ms[b->nframes++] = now_ms() - t0;
				b->faces[b->ncrops] = faces[k];
				b->frame_w[b->ncrops] = img.width;
				b->frame_h[b->ncrops] = img.height;
				b->ncrops++;
			}
		}
		ff_image_free(&img);
	}
}

/* Face k as the device sends it: codes (rate-controlled when the model is
 * sent coded only) in a FaceCodes message. */
static int encode_face(dev_pipeline *pl, const struct bench *b, size_t k, dev_face_msg *msg)
{
	ff_image frame = { NULL, b->frame_w[k], b->frame_h[k], 0 };
	msg->seq = 1000000 + k; /* a device well into its life */
	return dev_pipeline_encode_crop(pl, &b->crops[k], &frame, &b->faces[k], dev_now_us(), msg);
}

int dev_bench_run(const dev_config *cfg, int argc, char **argv)
{
	static dev_face_msg msg;
	static struct bench b;
	dev_pipeline *pl = NULL;
	glob_t g = { 0 };
	char **paths = NULL, pattern[4096], topic[128];
	int npaths = 0, code = FF_EXIT_FAIL;
	double *enc_ms = NULL, *enc_cpu = NULL;
	size_t *wire = NULL, *payload = NULL, *jpeg = NULL;
	struct rusage ru;

	if (cfg->bench_video && *cfg->bench_video)
		return dev_bench_video(cfg);
	/* positional arguments are the images (argv was reordered by the parser) */
	for (int i = 0; i < argc && argv[i] && argv[i][0] != '-'; i++)
		npaths++;
	paths = argv;
	if (npaths == 0) {
		const char *d = getenv("FF_TEST_DATA_DIR");
		snprintf(pattern, sizeof(pattern), "%s/faces/lfw/*/*.jpg", d && *d ? d : "tests/data");
		if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
			fprintf(stderr, "fleet-device --bench: no images given and none match %s\n", pattern);
			return FF_EXIT_USAGE;
		}
		paths = g.gl_pathv;
		npaths = (int)g.gl_pathc;
	}
	if (dev_pipeline_create(cfg, &pl) != FF_OK)
		goto out;
	detect_all(pl, npaths, paths, &b);
	if (b.ncrops == 0) {
		fprintf(stderr, "fleet-device --bench: no face found in %d image(s)\n", npaths);
		goto out;
	}
	enc_ms = calloc((size_t)cfg->bench_iterations, sizeof(double));
	enc_cpu = calloc((size_t)cfg->bench_iterations, sizeof(double));
	wire = calloc(b.ncrops, sizeof(size_t));
	payload = calloc(b.ncrops, sizeof(size_t));
	jpeg = calloc(b.ncrops, sizeof(size_t));
	if (!enc_ms || !enc_cpu || !wire || !payload || !jpeg)
		goto out;
	for (int i = -1; i < cfg->bench_iterations; i++) { /* a warm-up, then the timed encodes */
		double t0 = now_ms(), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		if (encode_face(pl, &b, i < 0 ? 0 : (size_t)i % b.ncrops, &msg) != FF_OK)
			goto out;
		if (i >= 0) {
			enc_ms[i] = now_ms() - t0;
			enc_cpu[i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
		}
	}
	dev_topic(cfg, "faces", topic, sizeof(topic));
	for (size_t i = 0; i < b.ncrops; i++) {
		if (encode_face(pl, &b, i, &msg) != FF_OK)
			goto out;
		payload[i] = msg.len;
		wire[i] = cfg->mqtt_topic_alias ? ff_mqtt_publish_packet_size_aliased(msg.len, 1)
					       : ff_mqtt_publish_packet_size(strlen(topic), msg.len, 1);
		jpeg[i] = jpeg_size(&b.crops[i], 75);
	}
	getrusage(RUSAGE_SELF, &ru);
	{
		double dm = dev_quantile(b.det_ms, b.nframes, 0.5), dp = dev_quantile(b.det_ms, b.nframes, 0.9);
		double dc = dev_quantile(b.det_cpu, b.nframes, 0.5);
		double em = dev_quantile(enc_ms, (size_t)cfg->bench_iterations, 0.5);
		double ep = dev_quantile(enc_ms, (size_t)cfg->bench_iterations, 0.9);
		double cm = dev_quantile(enc_cpu, (size_t)cfg->bench_iterations, 0.5);
		double cp = dev_quantile(enc_cpu, (size_t)cfg->bench_iterations, 0.9);
		size_t wmax = 0, wsum = 0, psum = 0, jsum = 0;
		for (size_t i = 0; i < b.ncrops; i++) {
			wmax = wire[i] > wmax ? wire[i] : wmax;
			wsum += wire[i];
			psum += payload[i];
			jsum += jpeg[i];
		}
		double wavg = (double)wsum / b.ncrops, javg = (double)jsum / b.ncrops;
		long rss_kb = ru.ru_maxrss;
		fprintf(stderr,
			"bench: %zu faces from %d images, model %s, topic %s\n"
			"  detect+align per frame: median %.2f ms, p90 %.2f ms wall; CPU median %.2f ms (1 thread)\n"
			"  VQ encode per face:     median %.3f ms, p90 %.3f ms wall; CPU median %.3f ms, p90 %.3f ms (1 thread, %d runs)  target <= 1 ms\n"
			"  PUBLISH packet:         mean %.1f B, max %zu B (payload mean %.1f B, topic alias %s)  target <= 200 B\n"
			"  JPEG q75 112x112 crop:  mean %.0f B  (%.1fx the PUBLISH packet)\n"
			"  peak RSS:               %.1f MB                                          target <= 32 MB\n",
			b.ncrops, npaths, dev_pipeline_model_id(pl), topic, dm, dp, dc, em, ep, cm, cp,
			cfg->bench_iterations, wavg, wmax, (double)psum / b.ncrops,
			cfg->mqtt_topic_alias ? "on" : "off", javg, javg / wavg,
			rss_kb / 1024.0);
		cJSON *j = cJSON_CreateObject();
		size_t first = ff_mqtt_publish_packet_size(strlen(topic), payload[0], 1) +
			       (cfg->mqtt_topic_alias ? 3 : 0);
		cJSON_AddStringToObject(j, "bench", "device");
		cJSON_AddStringToObject(j, "model_id", dev_pipeline_model_id(pl));
		cJSON_AddNumberToObject(j, "images", npaths);
		cJSON_AddNumberToObject(j, "faces", (double)b.ncrops);
		cJSON_AddNumberToObject(j, "threads", 1);
		dev_json_num(j, "detect_align_ms_median", dm, 3);
		dev_json_num(j, "detect_align_ms_p90", dp, 3);
		dev_json_num(j, "detect_align_cpu_ms_median", dc, 3);
		dev_json_num(j, "encode_ms_median", em, 4);
		dev_json_num(j, "encode_ms_p90", ep, 4);
		dev_json_num(j, "encode_cpu_ms_median", cm, 4);
		dev_json_num(j, "encode_cpu_ms_p90", cp, 4);
		cJSON_AddNumberToObject(j, "encode_runs", cfg->bench_iterations);
		dev_json_num(j, "publish_bytes_mean", wavg, 1);
		cJSON_AddNumberToObject(j, "publish_bytes_max", (double)wmax);
		dev_json_num(j, "payload_bytes_mean", (double)psum / b.ncrops, 1);
		cJSON_AddBoolToObject(j, "topic_alias", cfg->mqtt_topic_alias);
		cJSON_AddNumberToObject(j, "first_publish_bytes", (double)first);
		cJSON_AddNumberToObject(j, "topic_bytes", (double)strlen(topic));
		dev_json_num(j, "jpeg_q75_bytes_mean", javg, 1);
		dev_json_num(j, "jpeg_over_publish", javg / wavg, 2);
		cJSON_AddNumberToObject(j, "peak_rss_kb", (double)rss_kb);
		cJSON_AddNumberToObject(j, "target_encode_ms", 1);
		cJSON_AddNumberToObject(j, "target_rss_mb", 32);
		cJSON_AddNumberToObject(j, "target_publish_bytes", 200);
		cJSON_AddBoolToObject(j, "targets_met", em <= 1.0 && rss_kb <= 32 * 1024 && wmax <= 200);
		dev_json_print(j);
	}
	code = FF_EXIT_OK;
out:
	for (size_t i = 0; i < b.ncrops; i++)
		ff_image_free(&b.crops[i]);
	free(enc_ms);
	free(enc_cpu);
	free(wire);
	free(payload);
	free(jpeg);
	dev_pipeline_free(pl);
	globfree(&g);
	return code;
}
