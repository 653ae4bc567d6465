/* Helpers for the fleet-device integration tests (dev_test.h). */
#define _GNU_SOURCE /* nftw */
#include "dev_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ff_test.h"

void dt_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *dt_tmpdir(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/ff-dev-%s-XXXXXX", tag);
	if (!mkdtemp(buf))
		buf[0] = '\0';
	return buf;
}

void dt_run_init(dt_run *r, const char *tag)
{
	dt_tmpdir(r->tmp, sizeof(r->tmp), tag);
	snprintf(r->outbox, sizeof(r->outbox), "%s/outbox", r->tmp);
	snprintf(r->log, sizeof(r->log), "%s/agent.log", r->tmp);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void dt_cleanup(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/ff-dev-", 12) == 0 && CU_get_number_of_failures() == 0)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- broker ---- */

int dt_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

int dt_broker_init(dt_broker *b, const char *tag)
{
	const char *stack = ff_test_env_get("FF_STACK_DIR");
	char src[512], dst[512], line[1024];
	int listeners = 0;
	FILE *in, *out;

	memset(b, 0, sizeof(*b));
	if (!stack) {
		fprintf(stderr, "dt_broker_init: FF_STACK_DIR unknown (is the stack up?)\n");
		return -1;
	}
	dt_tmpdir(b->dir, sizeof(b->dir), tag);
	b->port = dt_free_port();
	if (!b->dir[0] || b->port <= 0)
		return -1;
	snprintf(b->url, sizeof(b->url), "tcp://127.0.0.1:%d", b->port);
	snprintf(src, sizeof(src), "%s/mosquitto/mosquitto.conf", stack);
	snprintf(dst, sizeof(dst), "%s/mosquitto.conf", b->dir);
	in = fopen(src, "r");
	out = fopen(dst, "w");
	if (!in || !out) {
		fprintf(stderr, "dt_broker_init: cannot read %s or write %s\n", src, dst);
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	/* the stack's rendered config: same users (password file or a copy of the
	 * dynamic-security file) and limits; own port, pid, data, log; only the
	 * first (plain) listener */
	while (fgets(line, sizeof(line), in)) {
		static const char *const tls_keys[] = { "protocol ", "cafile ", "capath ", "certfile ",
							"keyfile ", "tls_version ", "require_certificate ",
							"ciphers ", NULL };
		bool tls_line = false;
		for (int k = 0; tls_keys[k]; k++)
			tls_line |= !strncmp(line, tls_keys[k], strlen(tls_keys[k]));
		if (!strncmp(line, "listener ", 9)) {
			if (listeners++ == 0)
				fprintf(out, "listener %d 127.0.0.1\n", b->port);
		} else if (listeners > 1 && tls_line) {
			continue; /* a setting of a dropped listener */
		} else if (!strncmp(line, "plugin_opt_config_file ", 23)) {
			char *src_json = line + 23, dst_json[512];
			src_json[strcspn(src_json, "\r\n")] = '\0';
			snprintf(dst_json, sizeof(dst_json), "%s/dynamic-security.json", b->dir);
			if (copy_file(src_json, dst_json) != 0) {
				fprintf(stderr, "dt_broker_init: cannot copy %s\n", src_json);
				fclose(in);
				fclose(out);
				return -1;
			}
			fprintf(out, "plugin_opt_config_file %s\n", dst_json);
		} else if (!strncmp(line, "pid_file ", 9))
			fprintf(out, "pid_file %s/mosquitto.pid\n", b->dir);
		else if (!strncmp(line, "persistence_location ", 21))
			fprintf(out, "persistence_location %s/\n", b->dir);
		else if (!strncmp(line, "log_dest file ", 14))
			fprintf(out, "log_dest file %s/mosquitto.log\n", b->dir);
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	return 0;
}

int dt_broker_start(dt_broker *b)
{
	char conf[512], log[512];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	snprintf(log, sizeof(log), "%s/mosquitto.stderr", b->dir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	b->pid = pid;
	for (int i = 0; i < 100; i++) {
		if (port_open(b->port))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			b->pid = 0;
			break;
		}
		dt_sleep_ms(100);
	}
	fprintf(stderr, "dt_broker_start: mosquitto did not come up on %d (see %s)\n", b->port, b->dir);
	return -1;
}

void dt_broker_stop(dt_broker *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			return;
		}
		dt_sleep_ms(50);
	}
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

/* ---- inbox ---- */

void dt_inbox_init(dt_inbox *ib)
{
	memset(ib, 0, sizeof(*ib));
	pthread_mutex_init(&ib->mu, NULL);
	pthread_cond_init(&ib->cv, NULL);
}

void dt_inbox_free(dt_inbox *ib)
{
	free(ib->msgs);
	pthread_cond_destroy(&ib->cv);
	pthread_mutex_destroy(&ib->mu);
}

void dt_inbox_cb(void *ctx, const ff_mqtt_message *msg)
{
	dt_inbox *ib = ctx;
	pthread_mutex_lock(&ib->mu);
	if (ib->n == ib->cap) {
		size_t cap = ib->cap ? ib->cap * 2 : 64;
		dt_msg *m = realloc(ib->msgs, cap * sizeof(*m));
		if (!m) {
			pthread_mutex_unlock(&ib->mu);
			return;
		}
		ib->msgs = m;
		ib->cap = cap;
	}
	dt_msg *m = &ib->msgs[ib->n];
	snprintf(m->topic, sizeof(m->topic), "%s", msg->topic);
	m->len = msg->len < sizeof(m->payload) ? msg->len : sizeof(m->payload);
	memcpy(m->payload, msg->payload, m->len);
	m->retained = msg->retained;
	ib->n++;
	pthread_cond_broadcast(&ib->cv);
	pthread_mutex_unlock(&ib->mu);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static size_t count_locked(dt_inbox *ib, const char *suffix)
{
	size_t c = 0;
	for (size_t i = 0; i < ib->n; i++)
		if (!suffix || ends_with(ib->msgs[i].topic, suffix))
			c++;
	return c;
}

size_t dt_inbox_count(dt_inbox *ib, const char *suffix)
{
	size_t c;
	pthread_mutex_lock(&ib->mu);
	c = count_locked(ib, suffix);
	pthread_mutex_unlock(&ib->mu);
	return c;
}

size_t dt_inbox_wait(dt_inbox *ib, const char *suffix, size_t want, int timeout_s)
{
	struct timespec dl;
	size_t c;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_s;
	pthread_mutex_lock(&ib->mu);
	while ((c = count_locked(ib, suffix)) < want)
		if (pthread_cond_timedwait(&ib->cv, &ib->mu, &dl) == ETIMEDOUT)
			break;
	c = count_locked(ib, suffix);
	pthread_mutex_unlock(&ib->mu);
	return c;
}

ff_mqtt *dt_client(const char *url, const char *id, bool persistent, dt_inbox *ib,
		   const char *filter)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;

	o.url = url;
	o.client_id = id;
	o.username = ff_test_env_need("FF_MQTT_USER");
	o.password = ff_test_env_need("FF_MQTT_PASSWORD");
	o.connect_timeout_ms = 5000;
	o.on_message = ib ? dt_inbox_cb : NULL;
	o.cb_ctx = ib;
	if (persistent) {
		o.clean_start = false;
		o.session_expiry_s = 600;
		o.auto_reconnect = true;
	}
	if (ff_mqtt_create(&o, &m) != FF_OK)
		return NULL;
	if (ff_mqtt_connect(m) != FF_OK || (filter && ff_mqtt_subscribe(m, filter, 1, 5000) != FF_OK)) {
		ff_mqtt_destroy(m);
		return NULL;
	}
	return m;
}

/* ---- agent ---- */

const char *dt_vq_encoder(void)
{
	static char path[1024];
	const char *src = getenv("FF_SOURCE_DIR");
	glob_t g;

	char id[64] = "";
	FILE *f;

	if (getenv("FF_TEST_VQ_ENCODER"))
		return getenv("FF_TEST_VQ_ENCODER");
	/* the committed default model (models/vq/DEFAULT), else any, else the tiny one */
	snprintf(path, sizeof(path), "%s/models/vq/DEFAULT", src ? src : ".");
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%63s", id) != 1)
			id[0] = '\0';
		fclose(f);
		snprintf(path, sizeof(path), "%s/models/vq/%s.enc.ffn", src ? src : ".", id);
		if (id[0] && access(path, R_OK) == 0)
			return path;
	}
	snprintf(path, sizeof(path), "%s/models/vq/*.enc.ffn", src ? src : ".");
	if (glob(path, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
		globfree(&g);
		return path;
	}
	ff_test_data_path(path, sizeof(path), "vq/tiny-test.enc.ffn");
	return access(path, R_OK) == 0 ? path : NULL;
}

static const char *mtcnn_dir(void)
{
	static char dir[1024];
	const char *m = getenv("FF_MODELS_DIR");
	snprintf(dir, sizeof(dir), "%s/ffn", m ? m : "models/cache");
	return dir;
}

void dt_need_models(void)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s/onet.ffn", mtcnn_dir());
	if (access(p, R_OK) != 0)
		ff_test_skip("MTCNN models not fetched (%s)", p);
	if (!dt_vq_encoder())
		ff_test_skip("no VQ encoder model (models/vq/*.enc.ffn or tests/data/vq)");
	if (!getenv("FF_DEVICE_BIN"))
		ff_test_skip("FF_DEVICE_BIN not set");
}

pid_t dt_agent_start(const char *log, int stdin_fd, const char *device, const char *url,
		     const char *outbox, ...)
{
	char *argv[64];
	char a[12][1100];
	int n = 0;
	va_list ap;
	pid_t pid;

	snprintf(a[0], sizeof(a[0]), "--device-id=%s", device);
	snprintf(a[1], sizeof(a[1]), "--site-id=test-site");
	snprintf(a[2], sizeof(a[2]), "--mqtt-url=%s", url);
	snprintf(a[3], sizeof(a[3]), "--mqtt-username=%s", ff_test_env_need("FF_MQTT_USER"));
	snprintf(a[4], sizeof(a[4]), "--mqtt-password=%s", ff_test_env_need("FF_MQTT_PASSWORD"));
	snprintf(a[5], sizeof(a[5]), "--outbox-dir=%s", outbox);
	snprintf(a[6], sizeof(a[6]), "--vq-encoder=%s", dt_vq_encoder());
	snprintf(a[7], sizeof(a[7]), "--mtcnn-dir=%s", mtcnn_dir());
	snprintf(a[8], sizeof(a[8]), "--reconnect-min-ms=200");
	snprintf(a[9], sizeof(a[9]), "--reconnect-max-ms=1500");
	snprintf(a[10], sizeof(a[10]), "--mqtt-connect-timeout-ms=2000");
	/* no backend here sends receipts: a fresh outbox waits briefly, not 5 s */
	snprintf(a[11], sizeof(a[11]), "--seq-resume-wait-ms=300");
	argv[n++] = (char *)getenv("FF_DEVICE_BIN");
	for (int i = 0; i < 12; i++)
		argv[n++] = a[i];
	va_start(ap, outbox);
	for (char *x; n < 63 && (x = va_arg(ap, char *));)
		argv[n++] = x;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		dup2(in, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int dt_agent_wait(pid_t pid, int timeout_s)
{
	int st;
	for (int i = 0; i < timeout_s * 20; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		dt_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

size_t dt_outbox_files(const char *dir, uint64_t *seqs, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		uint64_t s;
		if (sscanf(de->d_name, "m%20" SCNu64 ".msg", &s) == 1) {
			if (seqs && n < cap)
				seqs[n] = s;
			n++;
		}
	}
	closedir(d);
	return n;
}

bool dt_file_contains(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}
