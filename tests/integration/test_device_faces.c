/* device_faces: fleet-device against the stack's Mosquitto.
 *  - faces of sample images arrive as FaceCodes whose codes are exactly
 *    those ff_vq_encode gives on the same aligned crops, with sequence
 *    numbers 1..N, and a retained OFFLINE status with the counters follows;
 *  - a wrong password is refused with a clear error and exit status 1;
 *  - a retained DeviceConfig is applied (quality gate, unknown model id
 *    reported in status) while a watched folder receives new images;
 *  - raw frames on stdin, the last will, unreadable images;
 *  - TLS with CA verification against the stack's TLS listener. */
#define _GNU_SOURCE /* pipe2 */
#include "ff_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev_test.h"
#include "facefleet.pb-c.h"
#include "facefleet/align.h"
#include "facefleet/bitpack.h"
#include "facefleet/detect.h"
#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/facecodes.h"
#include "facefleet/vq.h"

#define MAX_EXPECT 32

typedef struct expect {
	ff_face face;
	uint16_t idx[FF_VQ_MAX_CODES];
	int seen;
} expect;

/* The indices the device sends for an aligned crop: the nearest codewords,
 * or, for a model packed past the payload limit (sent coded only), what
 * rate control makes of them within 128 B (ff_vq_encode_coded). */
static int device_codes(ff_vq_encoder *enc, const ff_entropy_table *t, const ff_image *crop,
			uint16_t *idx)
{
	const ff_vq_info *vi = ff_vq_encoder_info(enc);
	uint8_t out[FF_VQ_MAX_PAYLOAD];
	size_t len;
	if (!ff_vq_coded_only(vi))
		return ff_vq_encode(enc, crop, idx, FF_VQ_MAX_CODES);
	/* within the agent's default budget (code_bytes_max) */
	return ff_vq_encode_coded(enc, crop, t, FF_VQ_DEFAULT_CODE_BYTES, idx, FF_VQ_MAX_CODES, out,
				  &len, NULL);
}

/* What the agent should send for the images of dir (or the one image file dir): every face that passes
 * the default gate (40 px, score 0.9), encoded here with the library. */
static size_t expected_faces(const char *dir, expect *ex, ff_vq_info *info)
{
	ff_detector_options dopt = FF_DETECTOR_OPTIONS_INIT;
	ff_nn_options nn = FF_NN_OPTIONS_INIT;
	ff_detector *det = NULL;
	ff_vq_encoder *enc = NULL;
	ff_entropy_table *ent = NULL;
	struct dirent **list = NULL;
	char mdir[1024], path[2048];
	size_t n = 0;
	int nf;

	snprintf(mdir, sizeof(mdir), "%s/ffn", getenv("FF_MODELS_DIR"));
	dopt.threads = 1;
	dopt.min_face_size = 40; /* the device's detector_min_face_px default */
	FF_ASSERT_OK(ff_detector_create(mdir, &dopt, &det, NULL, 0));
	FF_ASSERT_OK(ff_vq_encoder_create(dt_vq_encoder(), &nn, &enc, NULL, 0));
	if (!det || !enc)
		goto out;
	*info = *ff_vq_encoder_info(enc);
	(void)ff_entropy_table_open(dt_vq_encoder(), info, &ent, NULL, 0); /* none: packed */
	nf = scandir(dir, &list, NULL, alphasort);
	for (int i = 0; i < (nf < 0 ? 1 : nf); i++) { /* not a folder: the file itself */
		ff_image img = FF_IMAGE_EMPTY;
		ff_face faces[8];
		size_t k = 0;
		snprintf(path, sizeof(path), "%s%s%s", dir, nf < 0 ? "" : "/", nf < 0 ? "" : list[i]->d_name);
		if ((nf < 0 || list[i]->d_name[0] != '.') && ff_image_load(path, NULL, &img, NULL, 0) == FF_OK &&
		    ff_detect(det, &img, faces, 8, &k) == FF_OK) {
			for (size_t j = 0; j < k && n < MAX_EXPECT; j++) {
				ff_image crop = FF_IMAGE_EMPTY;
				float side = fminf(faces[j].x1 - faces[j].x0, faces[j].y1 - faces[j].y0) + 1;
				if (side < 40 || faces[j].score < 0.9f)
					continue;
				FF_ASSERT_OK(ff_align_face(&img, faces[j].landmarks, &crop));
				FF_ASSERT_OK(device_codes(enc, ent, &crop, ex[n].idx));
				ex[n].face = faces[j];
				ex[n++].seen = 0;
				ff_image_free(&crop);
			}
		}
		ff_image_free(&img);
		if (nf >= 0)
			free(list[i]);
	}
	free(list);
out:
	ff_entropy_table_free(ent);
	ff_vq_encoder_free(enc);
	ff_detector_free(det);
	return n;
}

/* The schema 2 box: 4 whole pixels, the detector's box rounded (a
 * sub-pixel side grows to 1 pixel). */
static bool same_box(const Facefleet__V1__FaceCodes *fc, const ff_face *f)
{
	const float v[4] = { f->x0, f->y0, f->x1, f->y1 };
	if (fc->n_box_px != 4 || fc->box)
		return false;
	for (int i = 0; i < 4; i++)
		if (fabsf((float)fc->box_px[i] - v[i]) > 1.0f)
			return false;
	return true;
}

/* The last message on a topic ending in suffix, unpacked as DeviceStatus. */
static Facefleet__V1__DeviceStatus *last_status(dt_inbox *ib)
{
	Facefleet__V1__DeviceStatus *st = NULL;
	pthread_mutex_lock(&ib->mu);
	for (size_t i = ib->n; i-- > 0;) {
		size_t tl = strlen(ib->msgs[i].topic);
		if (tl > 7 && strcmp(ib->msgs[i].topic + tl - 7, "/status") == 0) {
			st = facefleet__v1__device_status__unpack(NULL, ib->msgs[i].len, ib->msgs[i].payload);
			break;
		}
	}
	pthread_mutex_unlock(&ib->mu);
	return st;
}

/* A device id made from tag, and a client of the stack's broker subscribed to
 * fleet/test-site/<dev>/<leaf>, collecting into ib. */
static ff_mqtt *watch_device(const char *tag, const char *leaf, char *dev, size_t devlen, dt_inbox *ib)
{
	char filter[128], id[64];
	snprintf(dev, devlen, "dev-%s-%ld", tag, (long)getpid());
	snprintf(filter, sizeof(filter), "fleet/test-site/%s/%s", dev, leaf);
	snprintf(id, sizeof(id), "test-%s-sub", dev);
	dt_inbox_init(ib);
	return dt_client(ff_test_env_need("FF_MQTT_URL"), id, false, ib, filter);
}

static void test_faces_arrive_and_decode(void)
{
	static expect ex[MAX_EXPECT];
	char dir[1024], dev[40];
	dt_run run;
	dt_inbox ib;
	ff_vq_info info;
	ff_mqtt *sub;
	ff_entropy_table *ent = NULL;
	size_t nexp, got;
	uint64_t seq_seen[MAX_EXPECT + 1] = { 0 };
	bool coded = false;
	pid_t pid;
	int rc;

	dt_need_models();
	ff_test_data_path(dir, sizeof(dir), "faces/lfw/Al_Pacino");
	nexp = expected_faces(dir, ex, &info);
	CU_ASSERT_FATAL(nexp >= 3);
	rc = ff_entropy_table_open(dt_vq_encoder(), &info, &ent, NULL, 0);
	CU_ASSERT(rc == FF_OK || rc == FF_ERR_NOTFOUND);

	sub = watch_device("faces", "#", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);

	dt_run_init(&run, "faces");
	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, dir, "--send-box",
			     NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 90), 0);
	got = dt_inbox_wait(&ib, "/faces", nexp, 10);
	CU_ASSERT_EQUAL(got, nexp);

	pthread_mutex_lock(&ib.mu);
	for (size_t i = 0; i < ib.n; i++) {
		Facefleet__V1__FaceCodes *fc;
		uint16_t idx[FF_VQ_MAX_CODES];
		size_t k;
		if (!strstr(ib.msgs[i].topic, "/faces"))
			continue;
		fc = facefleet__v1__face_codes__unpack(NULL, ib.msgs[i].len, ib.msgs[i].payload);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
		/* schema 3: the topic names the sender, the model id its layout, no
		 * ids, no layout fields, no version (capture_offset_s says 3) */
		CU_ASSERT_EQUAL(fc->schema_version, 0);
		CU_ASSERT_EQUAL(ff_facecodes_schema(fc), 3);
		CU_ASSERT_STRING_EQUAL(fc->device_id, "");
		CU_ASSERT_STRING_EQUAL(fc->site_id, "");
		CU_ASSERT_STRING_EQUAL(fc->model_id, info.model_id);
		CU_ASSERT(fc->grid_h == 0 && fc->grid_w == 0 && fc->codebook_size == 0 &&
			  fc->bits_per_index == 0 && fc->codes_per_cell == 0);
		CU_ASSERT_PTR_NULL(ff_facecodes_check_layout(fc, &info));
		CU_ASSERT(fc->capture_time_us == 0 && fc->capture_offset_s > 0);
		CU_ASSERT(ff_facecodes_capture_us(fc) > 1700000000000000LL);
		CU_ASSERT(fc->frame_w == 250 && fc->frame_h == 250);
		CU_ASSERT(fc->seq >= 1 && fc->seq <= nexp);
		if (fc->seq >= 1 && fc->seq <= nexp)
			seq_seen[fc->seq]++;
		/* with the model's rANS tables (models/vq/<id>.codes.ent) a face goes
		 * coded (codes_ans) when that is shorter: every LFW face here */
		CU_ASSERT_PTR_NULL(ff_facecodes_get_codes(fc, &info, ent, idx, &coded));
		CU_ASSERT_EQUAL(coded, ent != NULL);
		/* a model sent coded only: within the agent's default code_bytes_max */
		CU_ASSERT(!ff_vq_coded_only(&info) || fc->codes_ans.len <= FF_VQ_DEFAULT_CODE_BYTES);
		for (k = 0; k < nexp; k++)
			if (same_box(fc, &ex[k].face))
				break;
		CU_ASSERT(k < nexp); /* a face we also found */
		if (k < nexp) {
			ex[k].seen++;
			CU_ASSERT(fabsf(fc->det_score - ex[k].face.score) < 1e-6f);
			CU_ASSERT_EQUAL(memcmp(idx, ex[k].idx, info.num_codes * sizeof(uint16_t)), 0);
		}
		facefleet__v1__face_codes__free_unpacked(fc, NULL);
	}
	pthread_mutex_unlock(&ib.mu);
	ff_entropy_table_free(ent);
	for (size_t k = 0; k < nexp; k++) {
		CU_ASSERT_EQUAL(ex[k].seen, 1);
		CU_ASSERT_EQUAL(seq_seen[k + 1], 1);
	}

	/* the retained status of a clean exit: OFFLINE with the counters */
	{
		Facefleet__V1__DeviceStatus *st = last_status(&ib);
		CU_ASSERT_PTR_NOT_NULL_FATAL(st);
		CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_OFFLINE);
		CU_ASSERT_STRING_EQUAL(st->model_id, info.model_id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(st->counters);
		CU_ASSERT_EQUAL(st->counters->captured, 3);
		CU_ASSERT_EQUAL(st->counters->faces, nexp);
		CU_ASSERT_EQUAL(st->counters->published, nexp);
		CU_ASSERT_EQUAL(st->counters->queued, 0);
		CU_ASSERT_EQUAL(st->counters->dropped, 0);
		facefleet__v1__device_status__free_unpacked(st, NULL);
	}
	CU_ASSERT_EQUAL(dt_outbox_files(run.outbox, NULL, 0), 0);
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

static void test_wrong_password(void)
{
	char img[1024];
	dt_run run;
	pid_t pid;
	int rc;

	dt_need_models();
	dt_run_init(&run, "badpw");
	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	/* the later --mqtt-password wins over the helper's correct one */
	pid = dt_agent_start(run.log, -1, "dev-badpw", ff_test_env_need("FF_MQTT_URL"), run.outbox,
			     "--mqtt-password=definitely-wrong", img, NULL);
	rc = dt_agent_wait(pid, 30);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=auth_refused"));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "wrong mqtt_username or mqtt_password"));
	/* the face stays queued for a later start with the right password */
	CU_ASSERT_EQUAL(dt_outbox_files(run.outbox, NULL, 0), 1);

	/* a live source blocked on input (stdin nobody writes) stops as well */
	{
		int fds[2];
		CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC), 0);
		pid = dt_agent_start(run.log, fds[0], "dev-badpw", ff_test_env_need("FF_MQTT_URL"),
				     run.outbox, "--mqtt-password=definitely-wrong", "-", "--width=64",
				     "--height=64", NULL);
		close(fds[0]);
		CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 1);
		close(fds[1]);
	}
	dt_cleanup(run.tmp);
}

/* Publishes a retained DeviceConfig. */
static void push_config(ff_mqtt *m, const char *topic, uint64_t version, uint32_t min_px,
			const char *model_id)
{
	Facefleet__V1__DeviceConfig c = FACEFLEET__V1__DEVICE_CONFIG__INIT;
	uint8_t buf[256];
	size_t len;
	c.schema_version = 1;
	c.config_version = version;
	c.min_face_px = min_px;
	c.model_id = (char *)model_id;
	len = facefleet__v1__device_config__pack(&c, buf);
	FF_ASSERT_OK(ff_mqtt_publish(m, topic, buf, len, 1, true, 5000));
}

/* Waits for a status with config_version >= version; returns it (caller frees). */
static Facefleet__V1__DeviceStatus *wait_status_version(dt_inbox *ib, uint64_t version, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		Facefleet__V1__DeviceStatus *st = last_status(ib);
		if (st && st->config_version >= version)
			return st;
		if (st)
			facefleet__v1__device_status__free_unpacked(st, NULL);
		dt_sleep_ms(100);
	}
	return NULL;
}

static void copy_file(const char *src, const char *dir, const char *name)
{
	char tmp[512], dst[512], buf[65536];
	FILE *in = fopen(src, "rb"), *out;
	size_t n;
	snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	out = fopen(tmp, "wb");
	CU_ASSERT_FATAL(in && out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	CU_ASSERT_EQUAL(rename(tmp, dst), 0); /* appears whole: IN_MOVED_TO */
}

static void test_config_and_watch(void)
{
	char dev[40], cfg_topic[128], watch[320], img[1024];
	dt_run run;
	Facefleet__V1__DeviceStatus *st;
	dt_inbox ib;
	ff_mqtt *sub;
	pid_t pid;

	dt_need_models();
	sub = watch_device("config", "#", dev, sizeof(dev), &ib);
	snprintf(cfg_topic, sizeof(cfg_topic), "fleet/test-site/%s/config", dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	/* retained before the device starts: a gate no face passes, a model it lacks */
	push_config(sub, cfg_topic, 5, 4000, "no-such-model");

	dt_run_init(&run, "config");
	snprintf(watch, sizeof(watch), "%s/in", run.tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(watch, 0700), 0);
	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, "--source=dir",
			     "--watch", "--input", watch, "--log-level=debug", NULL);
	st = wait_status_version(&ib, 5, 30);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_DEGRADED);
	CU_ASSERT_PTR_NOT_NULL(strstr(st->detail, "no-such-model"));
	CU_ASSERT_STRING_NOT_EQUAL(st->model_id, "no-such-model");
	facefleet__v1__device_status__free_unpacked(st, NULL);

	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	copy_file(img, watch, "a.jpg");
	/* gated: captured, no face sent */
	for (int i = 0; i < 300; i++) {
		if (dt_file_contains(run.log, "event=gated"))
			break;
		dt_sleep_ms(100);
	}
	push_config(sub, cfg_topic, 6, 40, NULL);
	st = wait_status_version(&ib, 6, 30);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE);
	CU_ASSERT_EQUAL(st->counters->captured, 1);
	CU_ASSERT_EQUAL(st->counters->faces, 0);
	facefleet__v1__device_status__free_unpacked(st, NULL);
	CU_ASSERT_EQUAL(dt_inbox_count(&ib, "/faces"), 0);

	copy_file(img, watch, "b.jpg");
	CU_ASSERT_EQUAL(dt_inbox_wait(&ib, "/faces", 1, 30), 1);

	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 20), 0);
	dt_sleep_ms(300);
	st = last_status(&ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_OFFLINE);
	CU_ASSERT_EQUAL(st->counters->captured, 2);
	CU_ASSERT_EQUAL(st->counters->published, 1);
	facefleet__v1__device_status__free_unpacked(st, NULL);
	/* clear the retained config */
	FF_ASSERT_OK(ff_mqtt_publish(sub, cfg_topic, "", 0, 1, true, 5000));
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

/* Raw bgr24 frames of a sample image through a pipe on stdin give the same
 * codes as the image file. */
static void test_stdin_raw_frames(void)
{
	char packed_enc[1200];
	static expect ex[MAX_EXPECT];
	char img_path[1024], dev[40], wh[2][32];
	dt_run run;
	ff_image img = FF_IMAGE_EMPTY;
	ff_vq_info info;
	dt_inbox ib;
	ff_mqtt *sub;
	int fds[2];
	pid_t writer, pid;
	size_t nexp;
	const int frames = 4;

	dt_need_models();
	/* a device kept on wire schema 2 (older backends) runs a model that packs
	 * within 128 B: vq2 (the default, vq8, is sent coded only, schema 3) */
	snprintf(packed_enc, sizeof(packed_enc), "%s/models/vq/vq2.enc.ffn", getenv("FF_SOURCE_DIR"));
	if (access(packed_enc, R_OK) == 0)
		setenv("FF_TEST_VQ_ENCODER", packed_enc, 1);
	ff_test_data_path(img_path, sizeof(img_path), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	nexp = expected_faces(img_path, ex, &info);
	CU_ASSERT_EQUAL_FATAL(nexp, 1);
	FF_ASSERT_OK(ff_image_load(img_path, NULL, &img, NULL, 0));

	sub = watch_device("stdin", "faces", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC), 0);
	writer = fork();
	if (writer == 0) { /* RGB -> BGR rows, frames times */
		uint8_t *row = malloc(img.stride);
		for (int f = 0; f < frames && row; f++)
			for (int y = 0; y < img.height; y++) {
				const uint8_t *s = img.data + (size_t)y * img.stride;
				for (int x = 0; x < img.width; x++) {
					row[3 * x] = s[3 * x + 2];
					row[3 * x + 1] = s[3 * x + 1];
					row[3 * x + 2] = s[3 * x];
				}
				if (write(fds[1], row, 3 * (size_t)img.width) != 3 * (ssize_t)img.width)
					_exit(1);
			}
		_exit(0);
	}
	close(fds[1]);
	dt_run_init(&run, "stdin");
	snprintf(wh[0], sizeof(wh[0]), "--width=%d", img.width);
	snprintf(wh[1], sizeof(wh[1]), "--height=%d", img.height);
	pid = dt_agent_start(run.log, fds[0], dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, "-", wh[0], wh[1],
			     "--pixfmt=bgr24", "--wire-schema=2", NULL); /* for older backends */
	close(fds[0]);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_agent_wait(writer, 5), 0);
	CU_ASSERT_EQUAL(dt_inbox_wait(&ib, "/faces", frames, 10), (size_t)frames);
	pthread_mutex_lock(&ib.mu);
	for (size_t i = 0; i < ib.n; i++) {
		Facefleet__V1__FaceCodes *fc =
			facefleet__v1__face_codes__unpack(NULL, ib.msgs[i].len, ib.msgs[i].payload);
		uint16_t idx[FF_VQ_MAX_CODES];
		CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
		CU_ASSERT(fc->schema_version == 2 && fc->grid_h == info.grid_h &&
			  fc->capture_offset_s == 0 && fc->capture_time_us > 1700000000000000LL);
		FF_ASSERT_OK(ff_bitpack_unpack(fc->codes.data, fc->codes.len, info.num_codes,
					       fc->bits_per_index, fc->codebook_size, idx));
		CU_ASSERT_EQUAL(memcmp(idx, ex[0].idx, info.num_codes * sizeof(uint16_t)), 0);
		CU_ASSERT_TRUE(same_box(fc, &ex[0].face));
		CU_ASSERT_EQUAL(fc->seq, i + 1);
		facefleet__v1__face_codes__free_unpacked(fc, NULL);
	}
	pthread_mutex_unlock(&ib.mu);
	ff_image_free(&img);
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
	unsetenv("FF_TEST_VQ_ENCODER");
}

/* A device that dies without DISCONNECT is announced OFFLINE by the broker
 * (its last will, retained). */
static void test_last_will(void)
{
	char dev[40], watch[320];
	dt_run run;
	Facefleet__V1__DeviceStatus *st = NULL;
	dt_inbox ib;
	ff_mqtt *sub;
	pid_t pid;

	dt_need_models();
	sub = watch_device("will", "status", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	dt_run_init(&run, "will");
	snprintf(watch, sizeof(watch), "%s/in", run.tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(watch, 0700), 0);
	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, "--watch", watch, NULL);
	CU_ASSERT_EQUAL_FATAL(dt_inbox_wait(&ib, "/status", 1, 30), 1);
	st = last_status(&ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE);
	CU_ASSERT_STRING_EQUAL(st->agent_version, "0.1.0");
	facefleet__v1__device_status__free_unpacked(st, NULL);

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 10), 128 + SIGKILL);
	CU_ASSERT_EQUAL_FATAL(dt_inbox_wait(&ib, "/status", 2, 30), 2);
	st = last_status(&ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->state, FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_OFFLINE);
	CU_ASSERT_STRING_EQUAL(st->device_id, dev);
	facefleet__v1__device_status__free_unpacked(st, NULL);
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

/* Missing and corrupt image files: exit status 1 with a clear log line. */
static void test_unreadable_image(void)
{
	char junk[320];
	dt_run run;
	FILE *f;
	pid_t pid;

	dt_need_models();
	dt_run_init(&run, "badimg");
	snprintf(junk, sizeof(junk), "%s/junk.jpg", run.tmp);
	f = fopen(junk, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("\xff\xd8 not really a jpeg", f);
	fclose(f);
	pid = dt_agent_start(run.log, -1, "dev-badimg", ff_test_env_need("FF_MQTT_URL"), run.outbox,
			     "/nonexistent/face.jpg", NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 1);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=image_unreadable path=/nonexistent/face.jpg"));
	pid = dt_agent_start(run.log, -1, "dev-badimg", ff_test_env_need("FF_MQTT_URL"), run.outbox, junk, NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 1);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "junk.jpg err="));
	dt_cleanup(run.tmp);
}

/* A DeviceConfig naming another installed model switches the encoder
 * between frames; status and the next FaceCodes carry the new model id. */
static void test_config_switches_model(void)
{
	char dev[40], cfg_topic[128], vqdir[320], watch[320], img[1024], link[400], target[1200];
	char vq_arg[400], model_arg[80];
	Facefleet__V1__DeviceStatus *st;
	Facefleet__V1__FaceCodes *fc;
	ff_vq_encoder *enc = NULL;
	ff_nn_options nn = FF_NN_OPTIONS_INIT;
	char first_id[40];
	dt_run run;
	dt_inbox ib;
	ff_mqtt *sub;
	pid_t pid;

	dt_need_models();
	/* an installed-models folder with the test default and the tiny model */
	FF_ASSERT_OK(ff_vq_encoder_create(dt_vq_encoder(), &nn, &enc, NULL, 0));
	CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
	snprintf(first_id, sizeof(first_id), "%s", ff_vq_encoder_info(enc)->model_id);
	ff_vq_encoder_free(enc);
	if (strcmp(first_id, "tiny-test") == 0) {
		fprintf(stderr, "only the tiny model is installed: model switch not tested\n");
		return;
	}
	sub = watch_device("model", "#", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	snprintf(cfg_topic, sizeof(cfg_topic), "fleet/test-site/%s/config", dev);
	dt_run_init(&run, "model");
	snprintf(vqdir, sizeof(vqdir), "%s/vq", run.tmp);
	snprintf(watch, sizeof(watch), "%s/in", run.tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(vqdir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(watch, 0700), 0);
	snprintf(link, sizeof(link), "%s/%s.enc.ffn", vqdir, first_id);
	CU_ASSERT_EQUAL(symlink(dt_vq_encoder(), link), 0);
	{ /* its rANS tables: a model packed past 128 B (vq8) is sent coded only */
		char ent[1200];
		size_t stem = strlen(dt_vq_encoder()) - strlen(".enc.ffn");
		snprintf(ent, sizeof(ent), "%.*s.codes.ent", (int)stem, dt_vq_encoder());
		snprintf(link, sizeof(link), "%s/%s.codes.ent", vqdir, first_id);
		if (access(ent, R_OK) == 0)
			CU_ASSERT_EQUAL(symlink(ent, link), 0);
	}
	snprintf(link, sizeof(link), "%s/tiny-test.enc.ffn", vqdir);
	CU_ASSERT_EQUAL(symlink(ff_test_data_path(target, sizeof(target), "vq/tiny-test.enc.ffn"), link), 0);
	snprintf(vq_arg, sizeof(vq_arg), "--vq-dir=%s", vqdir);
	snprintf(model_arg, sizeof(model_arg), "--model-id=%s", first_id);
	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");

	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, "--vq-encoder=",
			     vq_arg, model_arg, "--watch", watch, NULL);
	CU_ASSERT_EQUAL_FATAL(dt_inbox_wait(&ib, "/status", 1, 30), 1);
	push_config(sub, cfg_topic, 9, 0, "tiny-test");
	st = wait_status_version(&ib, 9, 30);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_STRING_EQUAL(st->model_id, first_id); /* switches at the next frame */
	facefleet__v1__device_status__free_unpacked(st, NULL);
	copy_file(img, watch, "a.jpg");
	CU_ASSERT_EQUAL_FATAL(dt_inbox_wait(&ib, "/faces", 1, 30), 1);
	pthread_mutex_lock(&ib.mu);
	fc = NULL;
	for (size_t i = 0; i < ib.n && !fc; i++)
		if (strstr(ib.msgs[i].topic, "/faces"))
			fc = facefleet__v1__face_codes__unpack(NULL, ib.msgs[i].len, ib.msgs[i].payload);
	pthread_mutex_unlock(&ib.mu);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
	CU_ASSERT_STRING_EQUAL(fc->model_id, "tiny-test");
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 20), 0);
	dt_sleep_ms(300);
	st = last_status(&ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_STRING_EQUAL(st->model_id, "tiny-test");
	CU_ASSERT_STRING_EQUAL(st->detail, "");
	facefleet__v1__device_status__free_unpacked(st, NULL);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=model_switched model_id=tiny-test"));
	FF_ASSERT_OK(ff_mqtt_publish(sub, cfg_topic, "", 0, 1, true, 5000));
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

/* TLS: the stack's TLS listener with its CA verifies and delivers; a CA
 * that did not sign the broker certificate is refused (retried, logged,
 * nothing sent). */
static void test_tls(void)
{
	const char *tls_url = ff_test_env_get("FF_MQTT_TLS_URL"), *ca = ff_test_env_get("FF_MQTT_CA_FILE");
	const char *other_ca = "/etc/ssl/certs/ca-certificates.crt";
	char dev[40], img[1024], ca_arg[600], other_arg[600];
	dt_run run;
	dt_inbox ib;
	ff_mqtt *sub;
	pid_t pid;

	dt_need_models();
	if (!tls_url || !ca) {
		fprintf(stderr, "stack has no TLS listener (FF_MQTT_TLS_URL, FF_MQTT_CA_FILE): TLS not tested\n");
		return;
	}
	sub = watch_device("tls", "faces", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	ff_test_data_path(img, sizeof(img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	snprintf(ca_arg, sizeof(ca_arg), "--tls-ca-file=%s", ca);
	dt_run_init(&run, "tls");
	pid = dt_agent_start(run.log, -1, dev, tls_url, run.outbox, ca_arg, img, NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_inbox_wait(&ib, "/faces", 1, 10), 1);

	if (access(other_ca, R_OK) == 0) {
		snprintf(other_arg, sizeof(other_arg), "--tls-ca-file=%s", other_ca);
		pid = dt_agent_start(run.log, -1, dev, tls_url, run.outbox, other_arg, "--drain-timeout-s=3",
				     img, NULL);
		CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 1); /* not drained: left queued */
		CU_ASSERT_TRUE(dt_file_contains(run.log, "event=connect_retry url=ssl://"));
		CU_ASSERT_TRUE(dt_file_contains(run.log, "certificate verify failed"));
		CU_ASSERT_EQUAL(dt_outbox_files(run.outbox, NULL, 0), 1);
		dt_sleep_ms(300);
		CU_ASSERT_EQUAL(dt_inbox_count(&ib, "/faces"), 1);
	}
	/* a TLS url without a CA is a configuration error */
	pid = dt_agent_start(run.log, -1, dev, tls_url, run.outbox, "--tls-ca-file=", img, NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 2);
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

static CU_TestInfo device_tests[] = {
	{ "faces_arrive_and_decode", test_faces_arrive_and_decode },
	{ "wrong_password", test_wrong_password },
	{ "config_and_watch", test_config_and_watch },
	{ "stdin_raw_frames", test_stdin_raw_frames },
	{ "last_will", test_last_will },
	{ "unreadable_image", test_unreadable_image },
	{ "config_switches_model", test_config_switches_model },
	{ "tls", test_tls },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_faces", NULL, NULL, NULL, NULL, device_tests });
