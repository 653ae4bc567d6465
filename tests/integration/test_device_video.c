/* device_video: fleet-device with source=video against the stack's Mosquitto,
 * on the test video tests/device/make_test_video.sh makes from the sample
 * faces (640x480, 15 fps, 7 s: person A walks and grows, person B later,
 * frames without a face at both ends):
 *  - from the file: one track per person, at most track_max_faces FaceCodes
 *    per track, track_index 0.. in order, track_id = the seq of the track's
 *    first face, quality set; max_fps analyses exactly one frame in three
 *    (the file's own clock) and track_max_faces=1 sends one face per person;
 *  - from an HTTP MJPEG stream served by the ffmpeg CLI on loopback, started
 *    after the device (which retries the refused connection): the same two
 *    tracks, and the end of the stream makes the device reconnect, not exit;
 *  - a missing V4L2 device, an unknown protocol and a file that is no video
 *    stop the device at once with a clear reason (exit 1); a server that
 *    accepts and never answers times out after video_open_timeout_ms and is
 *    retried, and SIGTERM still stops the device promptly.
 * Skips (77) without the ffmpeg CLI or the models. */
#include "ff_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev_test.h"
#include "facefleet.pb-c.h"

#define MAX_TRACKS 8
#define K_DEFAULT 3

typedef struct track_seen {
	uint64_t id;
	int n;
	uint32_t indexes; /* bit i: track_index i seen */
	bool first_seq_ok;
	float x_mean;     /* box centre, pixels */
} track_seen;

/* The test video, made once per build tree (skips without ffmpeg). */
static const char *test_video(void)
{
	static char path[1024];
	char cmd[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/tests/video/face_walk.mp4", ff_test_env_need("FF_BUILD_DIR"));
	snprintf(cmd, sizeof(cmd), "'%s/tests/device/make_test_video.sh' '%s' '%s/faces/lfw'",
		 ff_test_env_need("FF_SOURCE_DIR"), path, ff_test_env_need("FF_TEST_DATA_DIR"));
	rc = system(cmd);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
		ff_test_skip("the ffmpeg CLI is not installed");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return path;
}

static ff_mqtt *watch_faces(const char *tag, char *dev, size_t devlen, dt_inbox *ib)
{
	char filter[128], id[64];
	snprintf(dev, devlen, "dev-%s-%ld", tag, (long)getpid());
	snprintf(filter, sizeof(filter), "fleet/test-site/%s/faces", dev);
	snprintf(id, sizeof(id), "test-%s-sub", dev);
	dt_inbox_init(ib);
	return dt_client(ff_test_env_need("FF_MQTT_URL"), id, false, ib, filter);
}

static track_seen *find_track(track_seen *t, size_t *nt, uint64_t id)
{
	for (size_t i = 0; i < *nt; i++)
		if (t[i].id == id)
			return &t[i];
	if (*nt == MAX_TRACKS)
		return NULL;
	t[*nt] = (track_seen){ .id = id };
	return &t[(*nt)++];
}

/* Groups the received FaceCodes by track; every one must carry a track. */
static size_t group_tracks(dt_inbox *ib, track_seen *t)
{
	size_t nt = 0;
	pthread_mutex_lock(&ib->mu);
	for (size_t i = 0; i < ib->n; i++) {
		Facefleet__V1__FaceCodes *fc =
			facefleet__v1__face_codes__unpack(NULL, ib->msgs[i].len, ib->msgs[i].payload);
		track_seen *k;
		CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
		CU_ASSERT(fc->track_id > 0);
		CU_ASSERT(fc->quality > 0 && fc->quality <= 1);
		CU_ASSERT_EQUAL(fc->n_box_px, 4);
		k = find_track(t, &nt, fc->track_id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		CU_ASSERT(fc->track_index < 32 && !(k->indexes & (1u << fc->track_index)));
		k->indexes |= 1u << (fc->track_index & 31);
		if (fc->track_index == 0)
			k->first_seq_ok = fc->seq == fc->track_id;
		if (fc->n_box_px == 4)
			k->x_mean += ((float)(fc->box_px[0] + fc->box_px[2]) / 2 - k->x_mean) / (float)++k->n;
		facefleet__v1__face_codes__free_unpacked(fc, NULL);
	}
	pthread_mutex_unlock(&ib->mu);
	return nt;
}

/* Two tracks, A on the left half and B on the right, each with 1..k faces
 * numbered 0..n-1 and its id the seq of its first face. */
static void check_two_people(dt_inbox *ib, int k)
{
	track_seen t[MAX_TRACKS];
	size_t nt = group_tracks(ib, t);

	CU_ASSERT_EQUAL(nt, 2);
	for (size_t i = 0; i < nt; i++) {
		CU_ASSERT(t[i].n >= 1 && t[i].n <= k);
		CU_ASSERT_EQUAL(t[i].indexes, (1u << t[i].n) - 1);
		CU_ASSERT_TRUE(t[i].first_seq_ok);
	}
	if (nt == 2) { /* A (seen first, smaller ids) walks on the left, B stands on the right */
		const track_seen *a = t[0].id < t[1].id ? &t[0] : &t[1], *b = a == &t[0] ? &t[1] : &t[0];
		CU_ASSERT(a->x_mean < 420 && b->x_mean > 420);
	}
}

static void run_file(const char *video, const char *tag, int k, const char *extra1, const char *extra2,
		     const char *captured)
{
	char dev[48], in[1100], kk[32];
	dt_run run;
	dt_inbox ib;
	ff_mqtt *sub = watch_faces(tag, dev, sizeof(dev), &ib);
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	dt_run_init(&run, tag);
	snprintf(in, sizeof(in), "--video-input=%s", video);
	snprintf(kk, sizeof(kk), "--track-max-faces=%d", k);
	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, "--source=video",
			     in, kk, "--send-box", extra1, extra2, NULL); /* boxes tell A from B */
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 120), 0);
	dt_inbox_wait(&ib, "/faces", 2 * (size_t)k + 1, 3); /* all that came, and a little more time */
	check_two_people(&ib, k);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=video_open"));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "reason=\"end of file\""));
	if (captured)
		CU_ASSERT_TRUE(dt_file_contains(run.log, captured));
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

static void test_file_tracks(void)
{
	const char *video;
	dt_need_models();
	video = test_video();
	/* every frame, the default policy (at most 3 per track) */
	run_file(video, "vfile", K_DEFAULT, "--log-level=info", "--max-fps=0", "captured=105 ");
	/* 5 of 15 frames a second on the file's clock; one face per person */
	run_file(video, "vfile1", 1, "--max-fps=5", "--track-timeout-ms=1000", "captured=35 ");
}

/* ffmpeg serving video as multipart JPEG at the real frame rate, once. */
static pid_t serve_mjpeg(const char *video, int port, const char *log)
{
	char url[64];
	pid_t pid;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stderr);
		(void)f;
		execlp("ffmpeg", "ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", video, "-c:v", "mjpeg",
		       "-q:v", "3", "-f", "mpjpeg", "-listen", "1", url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Polls the log for text up to timeout_s. */
static bool log_waits_for(const char *log, const char *text, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (dt_file_contains(log, text))
			return true;
		dt_sleep_ms(100);
	}
	return false;
}

static void test_mjpeg_stream(void)
{
	char dev[48], in[128], srvlog[400];
	const char *video;
	dt_run run;
	dt_inbox ib;
	ff_mqtt *sub;
	pid_t pid, srv;
	int port;

	dt_need_models();
	video = test_video();
	port = dt_free_port();
	CU_ASSERT_FATAL(port > 0);
	sub = watch_faces("vstream", dev, sizeof(dev), &ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	dt_run_init(&run, "vstream");
	snprintf(in, sizeof(in), "http://127.0.0.1:%d/", port); /* a positional URL: source=video */
	/* detector_min_face_px=40 (the smallest face worth sending) halves the
	 * time per frame: the live path keeps up on a busy machine */
	pid = dt_agent_start(run.log, -1, dev, ff_test_env_need("FF_MQTT_URL"), run.outbox, in,
			     "--video-reconnect-min-ms=100", "--video-reconnect-max-ms=400",
			     "--detector-min-face-px=40", "--send-box", NULL);
	/* nobody listens yet: the device says so and retries */
	CU_ASSERT_TRUE(log_waits_for(run.log, "after=open_failed", 30));
	snprintf(srvlog, sizeof(srvlog), "%s/ffmpeg.log", run.tmp);
	srv = serve_mjpeg(video, port, srvlog);
	CU_ASSERT_TRUE(log_waits_for(run.log, "format=mpjpeg", 20));
	CU_ASSERT_EQUAL(dt_agent_wait(srv, 40), 0); /* the whole video went out */
	/* the stream's end is a lost camera: reconnect, not exit (mpjpeg ends
	 * with a cut part: stream_lost, else stream_end) */
	CU_ASSERT_TRUE(log_waits_for(run.log, "after=stream_", 20));
	for (int i = 0; i < 100 && dt_outbox_files(run.outbox, NULL, 0) > 0; i++)
		dt_sleep_ms(100);
	dt_sleep_ms(500);
	CU_ASSERT_EQUAL(waitpid(pid, NULL, WNOHANG), 0); /* still running */
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 20), 0);
	check_two_people(&ib, K_DEFAULT);
	ff_mqtt_disconnect(sub, 2000);
	ff_mqtt_destroy(sub);
	dt_inbox_free(&ib);
	dt_cleanup(run.tmp);
}

/* The device given input exits 1 at once with text in its log. */
static void expect_refused(const char *input, const char *text)
{
	char in[1100];
	dt_run run;
	pid_t pid;

	dt_run_init(&run, "vbad");
	snprintf(in, sizeof(in), "--video-input=%s", input);
	pid = dt_agent_start(run.log, -1, "dev-vbad", "tcp://127.0.0.1:1", run.outbox, "--source=video", in,
			     NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 30), 1);
	CU_ASSERT_TRUE(dt_file_contains(run.log, "event=video_open_failed"));
	if (!dt_file_contains(run.log, text))
		fprintf(stderr, "expected '%s' in %s\n", text, run.log);
	CU_ASSERT_TRUE(dt_file_contains(run.log, text));
	dt_cleanup(run.tmp);
}

static void test_bad_inputs(void)
{
	char notvideo[1024];
	dt_need_models();
	expect_refused("/dev/video-nonexistent-99", "no such file, device or stream");
	expect_refused("nosuch://camera/1", "unknown protocol or format");
	ff_test_data_path(notvideo, sizeof(notvideo), "faces/README.md");
	expect_refused(notvideo, "no decodable video stream");
}

static void test_silent_server_times_out(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char in[128];
	dt_run run;
	pid_t pid;

	dt_need_models();
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* listens (the kernel completes the handshake) and never answers */
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0 &&
			getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(in, sizeof(in), "--video-input=http://127.0.0.1:%d/cam", ntohs(sa.sin_port));
	dt_run_init(&run, "vsilent");
	pid = dt_agent_start(run.log, -1, "dev-vsilent", "tcp://127.0.0.1:1", run.outbox, "--source=video", in,
			     "--video-open-timeout-ms=500", "--video-reconnect-min-ms=100", NULL);
	CU_ASSERT_TRUE(log_waits_for(run.log, "after=open_failed", 20));
	CU_ASSERT_TRUE(dt_file_contains(run.log, "timed out"));
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 10), 0);
	close(fd);
	dt_cleanup(run.tmp);
}

static CU_TestInfo video_tests[] = {
	{ "file_tracks", test_file_tracks },
	{ "mjpeg_stream", test_mjpeg_stream },
	{ "bad_inputs", test_bad_inputs },
	{ "silent_server_times_out", test_silent_server_times_out },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_video", NULL, NULL, NULL, NULL, video_tests });
