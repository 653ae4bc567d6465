/* Shared helpers of the backend_* integration tests (test_backend_common.h). */
#include "test_backend_common.h"

#include "ff_test.h"
#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "facefleet/store.h"
#include "recognize.h"
#include "test_face_codes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) { poll(NULL, 0, ms); }

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *bt_run_id(void)
{
	static char id[32];
	if (!id[0])
		snprintf(id, sizeof(id), "t%ld", (long)getpid());
	return id;
}

const char *bt_vq_dir(bool *real)
{
	static char dir[1024];
	static bool is_real;
	if (!dir[0]) {
		const char *src = getenv("FF_SOURCE_DIR");
		char probe[1200];
		FILE *fp;
		snprintf(dir, sizeof(dir), "%s/models/vq", src ? src : ".");
		/* a trained model is any *.dec.ffn there */
		snprintf(probe, sizeof(probe), "ls %s/*.dec.ffn >/dev/null 2>&1", dir);
		is_real = system(probe) == 0;
		if (!is_real)
			snprintf(dir, sizeof(dir), "%s/tests/data/vq", src ? src : ".");
		(void)fp;
	}
	if (real)
		*real = is_real;
	return dir;
}

const ff_vq_info *bt_vq_info(void)
{
	static ff_vq_info info;
	static bool loaded;
	if (!loaded) {
		char prefix[1024] = "", path[1100];
		ff_vq_decoder *d = NULL;
		char err[256];
		/* vq2, which packs into 123 B: the kit builds packed faces and
		 * compares them byte for byte (the coded-only default, vq8, travels
		 * end to end in the device tests); else the deployed model */
		snprintf(path, sizeof(path), "%s/%s.dec.ffn", bt_vq_dir(NULL), BT_VQ_PACKED_MODEL);
		if (access(path, R_OK) == 0)
			snprintf(prefix, sizeof(prefix), "%s/%s", bt_vq_dir(NULL), BT_VQ_PACKED_MODEL);
		else if (ff_vq_default_model(bt_vq_dir(NULL), prefix, sizeof(prefix), NULL) != FF_OK)
			fprintf(stderr, "no VQ model in %s\n", bt_vq_dir(NULL));
		snprintf(path, sizeof(path), "%s.dec.ffn", prefix);
		if (ff_vq_decoder_create(path, NULL, &d, err, sizeof(err)) != FF_OK) {
			fprintf(stderr, "cannot load VQ decoder '%s': %s\n", path, err);
			return NULL;
		}
		info = *ff_vq_decoder_info(d);
		ff_vq_decoder_free(d);
		loaded = true;
	}
	return &info;
}

/* ---- database ---- */

PGconn *bt_db(void)
{
	const char *ci = ff_test_env_need("FF_PG_CONNINFO");
	char err[512] = "";
	PGconn *db = PQconnectdb(ci);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "database: %s\n", PQerrorMessage(db));
		PQfinish(db);
		CU_FAIL("database connection");
		return NULL;
	}
	if (ff_store_migrate(db, NULL, NULL, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "migrate: %s\n", err);
		CU_FAIL("migrations");
	}
	return db;
}

long bt_query_long(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	long v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(db));
	PQclear(r);
	return v;
}

bool bt_exec(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "exec failed: %s: %s", sql, PQerrorMessage(db));
	PQclear(r);
	return ok;
}

long bt_wait_long(PGconn *db, const char *sql, int nparams, const char *const *params, long want,
		  int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	long v;
	for (;;) {
		if (PQstatus(db) != CONNECTION_OK)
			PQreset(db);
		v = bt_query_long(db, sql, nparams, params);
		if (v >= want || mono_ms() > end)
			return v;
		sleep_ms(100);
	}
}

bool bt_add_device(PGconn *db, const char *device, const char *site, bool enabled)
{
	const char *p[3] = { device, site, enabled ? "true" : "false" };
	return bt_exec(db,
		       "INSERT INTO devices (device_id, site_id, enabled) VALUES ($1, $2, $3::boolean) "
		       "ON CONFLICT (device_id) DO UPDATE SET site_id = $2, enabled = $3::boolean",
		       3, p);
}

/* ---- processes ---- */

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool bt_log_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	bool found = false;
	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		found = strstr(line, needle) != NULL;
	fclose(fp);
	return found;
}

bool bt_start(bt_proc *p, const char *instance, const char *group, const char *const *extra)
{
	const char *build = getenv("FF_BUILD_DIR");
	const char *models = getenv("FF_MODELS_DIR");
	char bin[600], a[16][1100]; /* 1100: room for bt_vq_dir's 1024-byte path (Release -Wformat-truncation) */
	char *argv[64];
	int n = 0;
	int64_t end;

	memset(p, 0, sizeof(*p));
	p->metrics_port = free_port();
	snprintf(bin, sizeof(bin), "%s/backend/fleet-backend", build ? build : ".");
	snprintf(p->log, sizeof(p->log), "%s/tests/%s-%s.log", build ? build : ".", bt_run_id(),
		 instance);
	/* as deployed: the broker's fleet-backend account and PostgreSQL's
	 * facefleet_backend runtime role, secrets from the stack's 0600 file */
	snprintf(a[0], sizeof(a[0]), "--config=%s/backend.conf", ff_test_env_need("FF_STACK_DIR"));
	snprintf(a[1], sizeof(a[1]), "--vq-dir=%s", bt_vq_dir(NULL));
	snprintf(a[2], sizeof(a[2]), "--instance=%s-%s", bt_run_id(), instance);
	snprintf(a[3], sizeof(a[3]), "--share-group=%s-%s", bt_run_id(), group);
	snprintf(a[4], sizeof(a[4]), "--session-expiry-s=120");
	snprintf(a[5], sizeof(a[5]), "--metrics-port=%d", p->metrics_port);
	snprintf(a[6], sizeof(a[6]), "--embed-model=%s/ffn/mobilefacenet.ffn",
		 models ? models : "models/cache");
	snprintf(a[7], sizeof(a[7]), "--log-level=info");
	argv[n++] = bin;
	for (int i = 0; i < 8; i++)
		argv[n++] = a[i];
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;

	/* removed here, not only truncated by the child: a restarted instance's
	 * log says event=started of the process before, which must not count */
	unlink(p->log);
	p->pid = fork();
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a crashed test leaves no backend behind */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(bin, argv);
		_exit(127);
	}
	if (p->pid < 0)
		return false;
	end = mono_ms() + 30000;
	while (mono_ms() < end) {
		if (bt_log_has(p->log, "event=started"))
			return true;
		if (!bt_alive(p)) {
			fprintf(stderr, "fleet-backend %s exited early; log %s\n", instance, p->log);
			return false;
		}
		sleep_ms(100);
	}
	fprintf(stderr, "fleet-backend %s did not start in 30 s; log %s\n", instance, p->log);
	return false;
}

bool bt_alive(bt_proc *p)
{
	int st;
	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->pid = -st - 1000; /* reaped: remember the status */
		return false;
	}
	return true;
}

int bt_stop(bt_proc *p)
{
	int st = 0;
	int64_t end;
	if (p->pid <= -1000)
		return WIFEXITED(-(p->pid + 1000)) ? WEXITSTATUS(-(p->pid + 1000)) : -1;
	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	end = mono_ms() + 20000;
	while (mono_ms() < end) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		sleep_ms(50);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	return -1;
}

double bt_metric(bt_proc *p, const char *name)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	static char buf[1 << 16];
	size_t got = 0;
	double v = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p->metrics_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25) == 25) {
		ssize_t r;
		while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ')
			v = strtod(line + strlen(name) + 1, NULL);
	return v;
}

/* ---- MQTT client ---- */

typedef struct access_rec {
	char device[40];
	uint64_t seq;
	bt_access a;
} access_rec;

typedef struct receipt_rec {
	uint64_t seq;
	char outcome[32];
} receipt_rec;

struct bt_client {
	ff_mqtt *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	access_rec *recs;
	int n, cap;
	receipt_rec receipts[256]; /* the first 256 receipts with a seq */
	int nreceipts;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void client_on_receipt(bt_client *c, const ff_mqtt_message *msg)
{
	Facefleet__V1__Receipt *r = facefleet__v1__receipt__unpack(NULL, msg->len, msg->payload);
	if (!r)
		return;
	pthread_mutex_lock(&c->mu);
	if (r->seq && c->nreceipts < (int)(sizeof(c->receipts) / sizeof(c->receipts[0]))) {
		receipt_rec *x = &c->receipts[c->nreceipts++];
		x->seq = r->seq;
		snprintf(x->outcome, sizeof(x->outcome), "%s", r->outcome);
	}
	pthread_mutex_unlock(&c->mu);
	facefleet__v1__receipt__free_unpacked(r, NULL);
}

static void client_on_message(void *ctx, const ff_mqtt_message *msg)
{
	bt_client *c = ctx;
	Facefleet__V1__AccessEvent *ev;
	if (msg->topic && ends_with(msg->topic, "/receipt")) {
		client_on_receipt(c, msg);
		return;
	}
	ev = facefleet__v1__access_event__unpack(NULL, msg->len, msg->payload);
	if (!ev)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->n == c->cap) {
		int ncap = c->cap ? c->cap * 2 : 256;
		access_rec *nr = realloc(c->recs, (size_t)ncap * sizeof(*nr));
		if (nr) {
			c->recs = nr;
			c->cap = ncap;
		}
	}
	if (c->n < c->cap) {
		access_rec *r = &c->recs[c->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->device, sizeof(r->device), "%s", ev->device_id);
		r->seq = ev->seq;
		r->a.decision = ev->decision;
		snprintf(r->a.identity, sizeof(r->a.identity), "%s", ev->identity);
		snprintf(r->a.event_id, sizeof(r->a.event_id), "%s", ev->event_id);
		r->a.score = ev->score;
		r->a.track_id = ev->track_id;
		r->a.track_index = ev->track_index;
		r->a.faces_fused = ev->faces_fused;
		r->a.face_decision = ev->face_decision;
		r->a.face_score = ev->face_score;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	facefleet__v1__access_event__free_unpacked(ev, NULL);
}

bt_client *bt_client_new(const char *name)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	char id[96];
	bt_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	snprintf(id, sizeof(id), "%s-%s", bt_run_id(), name);
	o.url = ff_test_env_need("FF_MQTT_URL");
	o.username = ff_test_env_need("FF_MQTT_USER");
	o.password = ff_test_env_need("FF_MQTT_PASSWORD");
	o.client_id = id;
	o.max_inflight = 100;
	o.on_message = client_on_message;
	o.cb_ctx = c;
	if (ff_mqtt_create(&o, &c->m) != FF_OK || ff_mqtt_connect(c->m) != FF_OK) {
		bt_client_free(c);
		CU_FAIL("test MQTT client");
		return NULL;
	}
	return c;
}

void bt_client_free(bt_client *c)
{
	if (!c)
		return;
	if (c->m && ff_mqtt_is_connected(c->m))
		ff_mqtt_disconnect(c->m, 1000);
	ff_mqtt_destroy(c->m);
	free(c->recs);
	free(c);
}

bool bt_client_watch_access(bt_client *c, const char *site)
{
	char f[128];
	snprintf(f, sizeof(f), "fleet/%s/+/access", site);
	return ff_mqtt_subscribe(c->m, f, 1, 5000) == FF_OK;
}

bool bt_publish(bt_client *c, const char *topic, const void *payload, size_t len)
{
	return ff_mqtt_publish(c->m, topic, payload, len, 1, false, 5000) == FF_OK;
}

bool bt_publish_retained(bt_client *c, const char *topic, const void *payload, size_t len)
{
	return ff_mqtt_publish(c->m, topic, payload, len, 1, true, 5000) == FF_OK;
}

int bt_access_count(bt_client *c)
{
	int n;
	pthread_mutex_lock(&c->mu);
	n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

int bt_access_wait(bt_client *c, int want, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	while (bt_access_count(c) < want && mono_ms() < end)
		sleep_ms(50);
	return bt_access_count(c);
}

bool bt_access_find(bt_client *c, const char *device, uint64_t seq, int *decision,
		    char *identity, size_t cap, char event_id[37])
{
	bt_access a;
	if (!bt_access_get(c, device, seq, &a))
		return false;
	if (decision)
		*decision = a.decision;
	if (identity)
		snprintf(identity, cap, "%s", a.identity);
	if (event_id)
		memcpy(event_id, a.event_id, 37);
	return true;
}

bool bt_access_get(bt_client *c, const char *device, uint64_t seq, bt_access *out)
{
	bool found = false;
	pthread_mutex_lock(&c->mu);
	for (int i = c->n - 1; i >= 0 && !found; i--) {
		access_rec *r = &c->recs[i];
		if (strcmp(r->device, device) != 0 || r->seq != seq)
			continue;
		found = true;
		if (out)
			*out = r->a;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

int bt_access_count_seq(bt_client *c, const char *device, uint64_t seq)
{
	int n = 0;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->n; i++)
		n += strcmp(c->recs[i].device, device) == 0 && c->recs[i].seq == seq;
	pthread_mutex_unlock(&c->mu);
	return n;
}

bool bt_client_watch_receipts(bt_client *c, const char *site, const char *device)
{
	char f[128];
	snprintf(f, sizeof(f), "fleet/%s/%s/receipt", site, device);
	return ff_mqtt_subscribe(c->m, f, 1, 5000) == FF_OK;
}

bool bt_receipt_wait(bt_client *c, uint64_t seq, const char *outcome, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		bool found = false;
		pthread_mutex_lock(&c->mu);
		for (int i = c->nreceipts - 1; i >= 0 && !found; i--)
			found = c->receipts[i].seq == seq &&
				(!outcome || strcmp(c->receipts[i].outcome, outcome) == 0);
		pthread_mutex_unlock(&c->mu);
		if (found)
			return true;
		if (mono_ms() > end)
			return false;
		sleep_ms(50);
	}
}

/* ---- faces and the gallery ---- */

bool bt_recognizer_open(be_recognizer **rec, ff_vq_encoder **enc)
{
	const char *dir = bt_vq_dir(NULL);
	const ff_vq_info *vi = bt_vq_info();
	be_model_set set;
	char err[512], path[1200];
	int rc;
	*rec = NULL;
	*enc = NULL;
	if (!vi || be_model_set_load(&set, dir, vi->model_id, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "VQ models in %s: %s\n", dir, vi ? err : "none");
		return false;
	}
	snprintf(path, sizeof(path), "%s/ffn/mobilefacenet.ffn", getenv("FF_MODELS_DIR"));
	rc = be_recognizer_create(&set, path, NULL, rec, err, sizeof(err));
	be_model_set_free(&set); /* the recognizer keeps what it needs */
	if (rc != FF_OK)
		ff_test_skip("MobileFaceNet not available (%s): run models/fetch", err);
	snprintf(path, sizeof(path), "%s/%s.enc.ffn", dir, vi->model_id);
	if (ff_vq_encoder_create(path, NULL, enc, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		be_recognizer_free(*rec);
		*rec = NULL;
		return false;
	}
	return true;
}

bool bt_encode_aligned(ff_vq_encoder *enc, be_recognizer *rec, const char *person,
		       const char *file, uint16_t *idx, float *emb)
{
	char path[1024], err[256];
	ff_image img = { 0 };
	const ff_vq_info *vi = ff_vq_encoder_info(enc);
	bool ok;
	snprintf(path, sizeof(path), "%s/faces/aligned112/%s/%s", getenv("FF_TEST_DATA_DIR"),
		 person, file);
	if (ff_image_load(path, NULL, &img, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		return false;
	}
	ok = ff_vq_encode(enc, &img, idx, vi->num_codes) == FF_OK &&
	     be_recognizer_embed_codes(rec, 0, idx, vi->num_codes, emb) == FF_OK;
	ff_image_free(&img);
	return ok;
}

bool bt_enrol(PGconn *db, const char *ext, const char *sites, const float *emb, size_t dim,
	      const char *source)
{
	char *vec = malloc(dim * 16 + 4);
	size_t o = 0;
	bool ok;
	const char *p[4];
	if (!vec)
		return false;
	vec[o++] = '{';
	for (size_t i = 0; i < dim; i++)
		o += (size_t)sprintf(vec + o, i ? ",%.7g" : "%.7g", emb[i]);
	vec[o++] = '}';
	vec[o] = '\0';
	p[0] = ext;
	p[1] = sites;
	p[2] = vec;
	p[3] = source;
	ok = bt_exec(db,
		     "WITH i AS (INSERT INTO identities (external_id, allowed_sites) "
		     "           VALUES ($1, $2::text[]) RETURNING identity_id) "
		     "INSERT INTO face_templates (identity_id, model_id, embedding, source) "
		     "SELECT identity_id, 'mobilefacenet-v1', $3::real[], $4 FROM i",
		     4, p);
	free(vec);
	return ok;
}

/* ---- payloads ---- */

size_t bt_face_codes(uint8_t *buf, size_t cap, uint64_t seq, const uint16_t *idx)
{
	return bt_face_codes_track(buf, cap, seq, idx, 0, 0, 0.0f);
}

size_t bt_face_codes_track(uint8_t *buf, size_t cap, uint64_t seq, const uint16_t *idx,
			   uint64_t track_id, uint32_t track_index, float quality)
{
	const ff_vq_info *vi = bt_vq_info();
	if (!vi)
		return 0;
	return test_face_codes_build_track(vi, seq, (int64_t)time(NULL) * 1000000, idx, seq, track_id,
					   track_index, quality, buf, cap);
}

const char *bt_faces_topic(char *buf, size_t cap, const char *site, const char *device)
{
	snprintf(buf, cap, "fleet/%s/%s/faces", site, device);
	return buf;
}
