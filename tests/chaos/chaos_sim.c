/* fleet-chaos-sim: many simulated devices against the real broker, backend
 * and PostgreSQL, with one fault injected mid-stream; then checks that every
 * face a device accepted became exactly one recognition_events row and one
 * AccessEvent (tests/chaos/README.md, docs/RELIABILITY.md).
 *
 * A simulated device is what fleet-device is minus the camera and the nets:
 * its own broker account (dev.<id>, from the fleetctl bundle), its own MQTT
 * v5 connection (lib/mqtt), a FaceCodes message per face built by the
 * shared builder (test_face_codes_build, tests/harness) with a per-device sequence
 * number, and an outbox: a face stays in it until the broker's PUBACK, is
 * published again after any connection loss, and the device reconnects with
 * backoff. Faces arrive at a steady rate whether or not the device is online.
 *
 * Faults: --fault-cmd runs a shell command at --fault-at seconds (the chaos
 * script restarts the broker, SIGKILLs a backend, restarts PostgreSQL...);
 * --offline N takes the first N devices off the network for --offline-for
 * seconds (no DISCONNECT: the socket just closes), their faces pile up in
 * their outboxes and drain when they are back.
 *
 * Output: one JSON object (last line) with faces sent, events recorded,
 * lost, duplicated, AccessEvents, latency and time to recover. Exit 0 when
 * nothing was lost or duplicated, 1 otherwise, 2 on a usage error. */
#include "facefleet.pb-c.h"
#include "facefleet/ids.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"
#include "recognize.h"
#include "test_face_codes.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG(...) (fprintf(stderr, "chaos-sim: " __VA_ARGS__), fputc('\n', stderr))

/* ---- settings ---- */
static struct {
	const char *scenario, *devices_file, *url, *watch_user, *watch_password, *pg, *vq_dir;
	const char *fault_cmd, *flood_file;
	double rate, duration, fault_at, offline_at, offline_for, drain_timeout, flood_at, flood_for;
	double max_p99_ms;
	int offline, window, max_devices;
	bool receipts;
	uint64_t seq_base;
} S = { .scenario = "steady", .rate = 40, .duration = 20, .fault_at = -1, .offline_at = 5,
	.offline_for = 10, .drain_timeout = 120, .window = 8, .seq_base = 0, .flood_at = 5,
	.flood_for = 5, .max_p99_ms = 0 };

/* ---- one face ---- */
typedef struct face {
	int64_t accepted_us; /* into the outbox */
	int64_t acked_us;    /* broker PUBACK (0: not yet) */
	int64_t access_us;   /* first AccessEvent (0: none) */
	int64_t receipt_us;  /* the backend's Receipt (0: none yet) */
	int attempts;        /* sends after the first, for want of a receipt */
	int access_n;        /* AccessEvents received (QoS 1 may redeliver) */
	char event_id[37];   /* from the first AccessEvent */
	bool access_other;   /* an AccessEvent with another event id: a second event */
	uint32_t gen;        /* connection it is in flight on (0: not in flight) */
} face;

typedef struct device {
	int index;
	char site[FF_ID_MAX + 1], id[FF_ID_MAX + 1], user[80], password[128], client[80], topic[128];
	char url[256];   /* its broker (a site broker of a bridged topology); "": --url */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	face *faces;     /* faces[k] has seq seq_base + 1 + k */
	size_t nfaces, cap;
	size_t acked;    /* count of acked faces */
	size_t receipted;/* count of faces with a Receipt */
	long resent;     /* faces sent again for want of a receipt */
	char receipt_topic[128];
	size_t next_send;/* lowest index that may still need sending */
	int inflight;
	uint32_t gen;
	ff_mqtt *m;
	int reconnects;
	int64_t offline_until_us;
} device;

static device *D;
static int ND;
static atomic_bool g_stop_gen, g_stop_all;
static int64_t g_t0;                 /* run start (monotonic) */
static atomic_llong g_fault_t0, g_fault_t1; /* fault window (monotonic us, 0: none yet) */
static atomic_long g_access_total, g_access_foreign;

static const ff_vq_info *g_vq;

/* The first model (folder order) whose indices pack into 128 B: the simulated
 * devices send pseudo-random indices, which no entropy table codes that small,
 * so a model sent coded only (vq5 onwards) cannot serve them. */
static const ff_vq_info *packable_model(const be_model_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (!ff_vq_coded_only(&set->info[i]))
			return &set->info[i];
	return NULL;
}

static device *find_device(const char *id)
{
	for (int i = 0; i < ND; i++)
		if (strcmp(D[i].id, id) == 0)
			return &D[i];
	return NULL;
}

/* ---- device side ---- */

static void on_done(void *ctx, uint64_t tag, int rc)
{
	device *d = ctx;
	uint32_t gen = (uint32_t)(tag >> 32);
	size_t k = (size_t)(tag & 0xffffffffu);
	pthread_mutex_lock(&d->mu);
	if (k < d->nfaces) {
		face *f = &d->faces[k];
		if (rc == FF_OK && !f->acked_us) {
			f->acked_us = ff_mono_us();
			if (!f->attempts)
				d->acked++;
		}
		if (f->gen == gen && gen == d->gen) {
			f->gen = 0;
			d->inflight--;
			if (rc != FF_OK && k < d->next_send)
				d->next_send = k; /* publish again */
		}
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Drops the connection (as a network loss would: no DISCONNECT) and forgets
 * what was in flight on it: those faces are published again after reconnect. */
static void drop_connection(device *d)
{
	ff_mqtt *m;
	pthread_mutex_lock(&d->mu);
	m = d->m;
	d->m = NULL;
	d->gen++;
	pthread_mutex_unlock(&d->mu);
	ff_mqtt_destroy(m); /* no callback after this */
	pthread_mutex_lock(&d->mu);
	for (size_t k = 0; k < d->nfaces; k++)
		d->faces[k].gen = 0;
	d->inflight = 0;
	d->next_send = 0;
	while (d->next_send < d->nfaces && d->faces[d->next_send].acked_us)
		d->next_send++;
	pthread_mutex_unlock(&d->mu);
}

/* The backend's Receipt for one of our faces: done, end to end. */
static void on_device_message(void *ctx, const ff_mqtt_message *msg)
{
	device *d = ctx;
	Facefleet__V1__Receipt *r;
	if (strcmp(msg->topic, d->receipt_topic) != 0)
		return;
	r = facefleet__v1__receipt__unpack(NULL, msg->len, msg->payload);
	if (!r)
		return;
	pthread_mutex_lock(&d->mu);
	if (r->seq > S.seq_base && r->seq - S.seq_base - 1 < d->nfaces) {
		face *f = &d->faces[r->seq - S.seq_base - 1];
		if (!f->receipt_us) {
			f->receipt_us = ff_mono_us();
			d->receipted++;
		}
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	facefleet__v1__receipt__free_unpacked(r, NULL);
}

/* A face the broker acknowledged but the backend never answered (a broker
 * that dropped it: a lost shared subscription, a full queue) goes again,
 * same seq, after 5 s, then 10, 20, 30 s. */
static void resend_unanswered(device *d, int64_t now)
{
	pthread_mutex_lock(&d->mu);
	for (size_t k = 0; k < d->nfaces; k++) {
		face *f = &d->faces[k];
		int64_t wait = (int64_t)5000000 << (f->attempts < 3 ? f->attempts : 3);
		if (wait > 30000000)
			wait = 30000000;
		if (!f->acked_us || f->receipt_us || f->gen || now - f->acked_us < wait)
			continue;
		f->acked_us = 0;
		f->attempts++;
		d->resent++;
		if (k < d->next_send)
			d->next_send = k;
	}
	pthread_mutex_unlock(&d->mu);
}

static bool connect_device(device *d)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;
	o.url = d->url[0] ? d->url : S.url;
	o.username = d->user;
	o.password = d->password;
	o.client_id = d->client;
	o.max_inflight = S.window;
	o.connect_timeout_ms = 3000;
	o.keepalive_s = 10;
	o.on_message = on_device_message;
	o.cb_ctx = d;
	if (ff_mqtt_create(&o, &m) != FF_OK)
		return false;
	if (ff_mqtt_connect(m) != FF_OK ||
	    (S.receipts && ff_mqtt_subscribe(m, d->receipt_topic, 1, 3000) != FF_OK)) {
		ff_mqtt_destroy(m);
		return false;
	}
	pthread_mutex_lock(&d->mu);
	d->m = m;
	d->gen++;
	pthread_mutex_unlock(&d->mu);
	return true;
}

/* Faces due by now (steady rate, devices phase-shifted) go into the outbox. */
static void generate(device *d, int64_t now)
{
	double per_dev = S.rate / ND;
	double t = (double)(now - g_t0) / 1e6;
	size_t due;
	if (atomic_load(&g_stop_gen) || t > S.duration)
		t = S.duration;
	due = (size_t)(t * per_dev + (double)d->index / ND);
	pthread_mutex_lock(&d->mu);
	while (d->nfaces < due) {
		if (d->nfaces == d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 256;
			face *nf = realloc(d->faces, nc * sizeof(face));
			if (!nf)
				break;
			memset(nf + d->cap, 0, (nc - d->cap) * sizeof(face));
			d->faces = nf;
			d->cap = nc;
		}
		d->faces[d->nfaces++].accepted_us = now;
	}
	pthread_mutex_unlock(&d->mu);
}

static void publish_pending(device *d)
{
	uint8_t buf[512];
	for (;;) {
		size_t k, len;
		uint32_t gen;
		uint64_t seq;
		int rc;
		pthread_mutex_lock(&d->mu);
		while (d->next_send < d->nfaces &&
		       (d->faces[d->next_send].acked_us || d->faces[d->next_send].gen))
			d->next_send++;
		if (!d->m || d->inflight >= S.window || d->next_send >= d->nfaces) {
			pthread_mutex_unlock(&d->mu);
			return;
		}
		k = d->next_send;
		gen = d->gen;
		d->faces[k].gen = gen;
		d->inflight++;
		d->next_send++;
		pthread_mutex_unlock(&d->mu);
		seq = S.seq_base + 1 + k;
		len = test_face_codes_build(g_vq, seq, time(NULL) * 1000000LL, NULL, seq,
					  buf, sizeof(buf));
		rc = len ? ff_mqtt_publish_async(d->m, d->topic, buf, len, 1, false, on_done, d,
						 ((uint64_t)gen << 32) | k)
			 : FF_ERR_RANGE;
		if (rc != FF_OK) {
			pthread_mutex_lock(&d->mu);
			if (d->faces[k].gen == gen) {
				d->faces[k].gen = 0;
				d->inflight--;
				if (k < d->next_send)
					d->next_send = k;
			}
			pthread_mutex_unlock(&d->mu);
			return; /* not connected / window full: later */
		}
	}
}

static bool device_done(device *d)
{
	bool done;
	pthread_mutex_lock(&d->mu);
	done = S.receipts ? d->receipted == d->nfaces : d->acked == d->nfaces;
	pthread_mutex_unlock(&d->mu);
	return done;
}

static void *device_main(void *arg)
{
	device *d = arg;
	int backoff_ms = 100;
	int64_t next_try = 0;
	while (!atomic_load(&g_stop_all)) {
		int64_t now = ff_mono_us();
		struct timespec ts;
		generate(d, now);
		if (S.offline > 0 && d->index < S.offline && S.offline_at >= 0) {
			int64_t off0 = g_t0 + (int64_t)(S.offline_at * 1e6);
			int64_t off1 = off0 + (int64_t)(S.offline_for * 1e6);
			if (now >= off0 && now < off1) {
				if (d->m)
					drop_connection(d);
				if (d->index == 0 && !atomic_load(&g_fault_t0))
					atomic_store(&g_fault_t0, now);
				d->offline_until_us = off1;
			} else if (now >= off1 && d->index == 0 && !atomic_load(&g_fault_t1) &&
				   atomic_load(&g_fault_t0)) {
				atomic_store(&g_fault_t1, now);
			}
		}
		if (d->m && !ff_mqtt_is_connected(d->m))
			drop_connection(d);
		if (!d->m && now >= d->offline_until_us && now >= next_try) {
			if (connect_device(d)) {
				backoff_ms = 100;
				d->reconnects++;
			} else {
				next_try = ff_mono_us() + backoff_ms * 1000LL;
				backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
			}
		}
		if (S.receipts)
			resend_unanswered(d, now);
		publish_pending(d);
		/* sleep until the next face is due, a PUBACK, or 50 ms */
		pthread_mutex_lock(&d->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		pthread_mutex_unlock(&d->mu);
	}
	if (d->m) {
		ff_mqtt_disconnect(d->m, 1000);
		ff_mqtt_destroy(d->m);
		d->m = NULL;
	}
	return NULL;
}

/* ---- AccessEvent watcher (service account, persistent session) ---- */

static void on_access(void *ctx, const ff_mqtt_message *msg)
{
	Facefleet__V1__AccessEvent *ev =
		facefleet__v1__access_event__unpack(NULL, msg->len, msg->payload);
	device *d;
	(void)ctx;
	if (!ev)
		return;
	atomic_fetch_add(&g_access_total, 1);
	d = find_device(ev->device_id);
	if (!d || ev->seq <= S.seq_base || ev->seq > S.seq_base + 0xffffffffu) {
		if (d)
			atomic_fetch_add(&g_access_foreign, 1);
		facefleet__v1__access_event__free_unpacked(ev, NULL);
		return;
	}
	pthread_mutex_lock(&d->mu);
	{
		size_t k = (size_t)(ev->seq - S.seq_base - 1);
		if (k < d->nfaces) {
			face *f = &d->faces[k];
			if (!f->access_n) {
				f->access_us = ff_mono_us();
				snprintf(f->event_id, sizeof(f->event_id), "%s", ev->event_id);
			} else if (strcmp(f->event_id, ev->event_id) != 0) {
				f->access_other = true;
			}
			f->access_n++;
		} else {
			atomic_fetch_add(&g_access_foreign, 1);
		}
	}
	pthread_mutex_unlock(&d->mu);
	facefleet__v1__access_event__free_unpacked(ev, NULL);
}

/* fleet/<site>/+/access for every site of the devices (each once). */
static int subscribe_sites(ff_mqtt *m)
{
	char filter[80];
	for (int i = 0; i < ND; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(D[j].site, D[i].site) == 0;
		if (seen)
			continue;
		if (ff_mqtt_fleet_topic(filter, sizeof(filter), D[i].site, NULL, "access") != FF_OK ||
		    ff_mqtt_subscribe(m, filter, 1, 5000) != FF_OK)
			return -1;
	}
	return 0;
}

static ff_mqtt *start_watcher(void)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;
	char id[64];
	snprintf(id, sizeof(id), "chaos-watch-%ld", (long)getpid());
	o.url = S.url;
	o.username = S.watch_user;
	o.password = S.watch_password;
	o.client_id = id;
	o.clean_start = false;           /* a new client id each run; the session (and what is
					  * queued for it) survives a broker restart and resumes
					  * on Paho's automatic reconnect */
	o.session_expiry_s = 600;
	o.auto_reconnect = true;
	o.max_inflight = 100;
	o.on_message = on_access;
	if (ff_mqtt_create(&o, &m) != FF_OK || ff_mqtt_connect(m) != FF_OK) {
		ff_mqtt_destroy(m);
		return NULL;
	}
	if (subscribe_sites(m) != 0) {
		ff_mqtt_destroy(m);
		return NULL;
	}
	return m;
}

/* ---- fault ---- */
static void *fault_main(void *arg)
{
	(void)arg;
	int64_t at = g_t0 + (int64_t)(S.fault_at * 1e6);
	int rc;
	while (ff_mono_us() < at && !atomic_load(&g_stop_all))
		poll(NULL, 0, 20);
	if (atomic_load(&g_stop_all))
		return NULL;
	LOG("fault at %.1fs: %s", (double)(ff_mono_us() - g_t0) / 1e6, S.fault_cmd);
	atomic_store(&g_fault_t0, ff_mono_us());
	rc = system(S.fault_cmd);
	atomic_store(&g_fault_t1, ff_mono_us());
	LOG("fault command done after %.1fs (status %d)",
	    (double)(atomic_load(&g_fault_t1) - atomic_load(&g_fault_t0)) / 1e6, rc);
	return NULL;
}

/* ---- flood: one hostile device with valid credentials ---- */
#define FLOOD_WINDOW 100 /* the broker's max_inflight_messages */

static struct {
	device d;
	atomic_int inflight;
	atomic_long acked;
	uint64_t next_seq;
} F;

static void on_flood_done(void *ctx, uint64_t tag, int rc)
{
	(void)ctx;
	(void)tag;
	if (rc == FF_OK)
		atomic_fetch_add(&F.acked, 1);
	atomic_fetch_sub(&F.inflight, 1);
}

/* Valid faces, new seqs, as fast as the broker takes them, from flood_at for
 * flood_for seconds (what a device with stolen credentials can do). */
static void *flood_main(void *arg)
{
	uint8_t buf[512];
	int64_t at = g_t0 + (int64_t)(S.flood_at * 1e6), end = at + (int64_t)(S.flood_for * 1e6);
	(void)arg;
	while (ff_mono_us() < at && !atomic_load(&g_stop_all))
		poll(NULL, 0, 20);
	if (!connect_device(&F.d)) {
		LOG("flood device %s could not connect", F.d.id);
		return NULL;
	}
	LOG("flood from %s for %.0fs", F.d.id, S.flood_for);
	F.next_seq = S.seq_base + 1;
	while (ff_mono_us() < end && !atomic_load(&g_stop_all)) {
		size_t len;
		if (atomic_load(&F.inflight) >= FLOOD_WINDOW) {
			poll(NULL, 0, 1);
			continue;
		}
		len = test_face_codes_build(g_vq, F.next_seq, time(NULL) * 1000000LL, NULL,
					  F.next_seq, buf, sizeof(buf));
		atomic_fetch_add(&F.inflight, 1);
		if (ff_mqtt_publish_async(F.d.m, F.d.topic, buf, len, 1, false, on_flood_done, NULL, 0) !=
		    FF_OK) {
			atomic_fetch_sub(&F.inflight, 1);
			poll(NULL, 0, 1);
			continue;
		}
		F.next_seq++;
	}
	for (int i = 0; i < 500 && atomic_load(&F.inflight) > 0; i++)
		poll(NULL, 0, 10);
	LOG("flood done: %ld faces taken by the broker", atomic_load(&F.acked));
	ff_mqtt_disconnect(F.d.m, 1000);
	ff_mqtt_destroy(F.d.m);
	F.d.m = NULL;
	return NULL;
}

/* The flood device's events recorded in this run's seq range. */
static long flood_recorded(void)
{
	PGconn *db = PQconnectdb(S.pg);
	char base[32];
	const char *p[2] = { F.d.id, base };
	long n = -1;
	snprintf(base, sizeof(base), "%llu", (unsigned long long)S.seq_base);
	if (PQstatus(db) == CONNECTION_OK) {
		PGresult *r = PQexecParams(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
					       "AND seq > $2::bigint", 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			n = atol(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(db);
	return n;
}

/* ---- database check ---- */
typedef struct db_counts {
	long rows, lost, dup, extra;
	bool ok;
} db_counts;

static db_counts check_db(void)
{
	db_counts c = { 0 };
	PGconn *db = PQconnectdb(S.pg);
	char base[32], hi[32];
	const char *p[3] = { NULL, base, hi };
	if (PQstatus(db) != CONNECTION_OK) {
		LOG("database: %s", PQerrorMessage(db));
		PQfinish(db);
		return c;
	}
	snprintf(base, sizeof(base), "%llu", (unsigned long long)S.seq_base);
	snprintf(hi, sizeof(hi), "%llu", (unsigned long long)S.seq_base + 0xffffffffu);
	c.ok = true;
	for (int i = 0; i < ND && c.ok; i++) {
		device *d = &D[i];
		PGresult *r;
		unsigned char *seen = calloc(d->nfaces + 1, 1);
		p[0] = d->id;
		r = PQexecParams(db, "SELECT seq, count(*) FROM recognition_events WHERE device_id = $1 "
				     "AND seq > $2::bigint AND seq <= $3::bigint GROUP BY seq",
				 3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || !seen) {
			LOG("query: %s", PQerrorMessage(db));
			c.ok = false;
		} else {
			for (int t = 0; t < PQntuples(r); t++) {
				uint64_t seq = strtoull(PQgetvalue(r, t, 0), NULL, 10);
				long n = strtol(PQgetvalue(r, t, 1), NULL, 10);
				size_t k = (size_t)(seq - S.seq_base - 1);
				c.rows += n;
				if (k >= d->nfaces) {
					c.extra += n;
					continue;
				}
				seen[k] = 1;
				if (n > 1)
					c.dup += n - 1;
			}
			for (size_t k = 0; k < d->nfaces; k++)
				if (!seen[k])
					c.lost++;
		}
		PQclear(r);
		free(seen);
	}
	PQfinish(db);
	return c;
}

/* ---- report ---- */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static bool all_accounted(void)
{
	for (int i = 0; i < ND; i++) {
		device *d = &D[i];
		bool ok = true;
		pthread_mutex_lock(&d->mu);
		for (size_t k = 0; k < d->nfaces && ok; k++)
			ok = d->faces[k].access_n > 0;
		pthread_mutex_unlock(&d->mu);
		if (!ok)
			return false;
	}
	return true;
}

/* "site device mqtt_user mqtt_password client_id [broker_url]" into d (zeroed first). */
static bool parse_device(const char *line, device *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	if (sscanf(line, "%32s %32s %79s %127s %79s %255s", d->site, d->id, d->user, d->password,
		   d->client, d->url) < 5) {
		LOG("%s: bad line: %s", file, line);
		return false;
	}
	if (ff_mqtt_fleet_topic(d->topic, sizeof(d->topic), d->site, d->id, "faces") != FF_OK ||
	    ff_mqtt_fleet_topic(d->receipt_topic, sizeof(d->receipt_topic), d->site, d->id, "receipt") !=
		    FF_OK) {
		LOG("bad device ids: %s/%s", d->site, d->id);
		return false;
	}
	return true;
}

static int load_devices(void)
{
	FILE *fp = fopen(S.devices_file, "r");
	char line[512];
	int cap = 0;
	if (!fp) {
		perror(S.devices_file);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		device *d;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (S.max_devices && ND >= S.max_devices)
			break;
		if (ND == cap) {
			cap = cap ? cap * 2 : 64;
			D = realloc(D, (size_t)cap * sizeof(device));
			if (!D)
				return -1;
		}
		d = &D[ND];
		if (!parse_device(line, d, S.devices_file)) {
			fclose(fp);
			return -1;
		}
		d->index = ND++;
	}
	fclose(fp);
	return ND > 0 ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-chaos-sim --devices FILE --url URL --watch-user U --watch-password P\n"
		"         --pg CONNINFO --vq-dir DIR [options]\n"
		"  FILE lines: site device mqtt_user mqtt_password client_id [broker_url]\n"
		"              (fleetctl bundles; broker_url: the device's own broker, default --url,\n"
		"              where the AccessEvent watcher always logs in)\n"
		"  --scenario NAME      label of the JSON line (steady)\n"
		"  --rate F             faces per second, all devices together (40)\n"
		"  --duration S         seconds of faces (20)\n"
		"  --seq-base N         first seq is N+1 (0); one base per scenario\n"
		"  --window N           QoS 1 publishes in flight per device (8)\n"
		"  --max-devices N      use the first N devices of FILE\n"
		"  --fault-at S --fault-cmd CMD   run CMD (sh -c) at S seconds\n"
		"  --offline N --offline-at S --offline-for S   first N devices off the network\n"
		"  --drain-timeout S    wait for outboxes and AccessEvents after the stream (120)\n"
		"  --flood FILE --flood-at S --flood-for S   the device of FILE's first line floods\n"
		"                       (valid faces, as fast as the broker takes them); it is not\n"
		"                       one of the devices whose faces must all be recorded\n"
		"  --max-p99-ms MS      fail when the devices' p99 latency is above MS (0: never)\n"
		"  --receipts           keep a face until the backend's Receipt, not just the\n"
		"                       broker's PUBACK; send it again (same seq) when none comes\n");
}

int main(int argc, char **argv)
{
	be_model_set *models = calloc(1, sizeof(*models));
	char err[256];
	ff_mqtt *watch;
	pthread_t fault_thread, flood_thread;
	bool have_fault = false, have_flood = false;
	int64_t t_end_gen, t_drained = 0;
	long sent = 0, acked = 0, access_faces = 0, access_missing = 0, access_redelivered = 0,
	     access_second = 0;
	int64_t *lat = NULL;
	size_t nlat = 0;
	double recover_s = -1, p50 = -1, p99 = -1, max_lat = -1;
	int reconnects = 0;
	long resent = 0;
	db_counts dbc;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (OPT("--devices")) S.devices_file = v;
		else if (OPT("--url")) S.url = v;
		else if (OPT("--watch-user")) S.watch_user = v;
		else if (OPT("--watch-password")) S.watch_password = v;
		else if (OPT("--pg")) S.pg = v;
		else if (OPT("--vq-dir")) S.vq_dir = v;
		else if (OPT("--scenario")) S.scenario = v;
		else if (OPT("--rate")) S.rate = atof(v);
		else if (OPT("--duration")) S.duration = atof(v);
		else if (OPT("--seq-base")) S.seq_base = strtoull(v, NULL, 10);
		else if (OPT("--window")) S.window = atoi(v);
		else if (OPT("--max-devices")) S.max_devices = atoi(v);
		else if (OPT("--fault-at")) S.fault_at = atof(v);
		else if (OPT("--fault-cmd")) S.fault_cmd = v;
		else if (OPT("--offline")) S.offline = atoi(v);
		else if (OPT("--offline-at")) S.offline_at = atof(v);
		else if (OPT("--offline-for")) S.offline_for = atof(v);
		else if (OPT("--drain-timeout")) S.drain_timeout = atof(v);
		else if (OPT("--flood")) S.flood_file = v;
		else if (OPT("--flood-at")) S.flood_at = atof(v);
		else if (OPT("--flood-for")) S.flood_for = atof(v);
		else if (OPT("--max-p99-ms")) S.max_p99_ms = atof(v);
		else if (strcmp(a, "--receipts") == 0) S.receipts = true;
		else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "chaos-sim: bad argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
#undef OPT
	}
	if (!S.devices_file || !S.url || !S.watch_user || !S.watch_password || !S.pg || !S.vq_dir ||
	    S.rate <= 0 || S.duration <= 0 || S.window < 1 || (S.fault_at >= 0 && !S.fault_cmd)) {
		usage(stderr);
		return 2;
	}
	if (!models || be_model_set_load(models, S.vq_dir, "", err, sizeof(err)) != FF_OK) {
		LOG("VQ models in %s: %s", S.vq_dir, err);
		return 2;
	}
	g_vq = packable_model(models);
	if (!g_vq) {
		LOG("VQ models in %s: none packs into 128 B (the simulated devices send packed "
		    "pseudo-random indices)", S.vq_dir);
		return 2;
	}
	if (load_devices() != 0)
		return 2;
	if (S.flood_file) {
		char line[512] = "";
		FILE *fp = fopen(S.flood_file, "r");
		bool ok = fp && fgets(line, sizeof(line), fp) && parse_device(line, &F.d, S.flood_file);
		if (fp)
			fclose(fp);
		if (!ok)
			return 2;
		pthread_mutex_init(&F.d.mu, NULL);
		pthread_cond_init(&F.d.cv, NULL);
	}
	signal(SIGPIPE, SIG_IGN);

	watch = start_watcher();
	if (!watch) {
		LOG("AccessEvent watcher could not connect/subscribe");
		return 1;
	}
	LOG("scenario=%s devices=%d rate=%.1f/s duration=%.0fs model=%s", S.scenario, ND, S.rate,
	    S.duration, g_vq->model_id);
	g_t0 = ff_mono_us();
	for (int i = 0; i < ND; i++) {
		pthread_mutex_init(&D[i].mu, NULL);
		pthread_cond_init(&D[i].cv, NULL);
		pthread_create(&D[i].thread, NULL, device_main, &D[i]);
	}
	if (S.fault_at >= 0)
		have_fault = pthread_create(&fault_thread, NULL, fault_main, NULL) == 0;
	if (S.flood_file)
		have_flood = pthread_create(&flood_thread, NULL, flood_main, NULL) == 0;

	/* the stream, then the drain: every outbox empty and every face's AccessEvent in */
	while (ff_mono_us() - g_t0 < (int64_t)(S.duration * 1e6))
		poll(NULL, 0, 100);
	atomic_store(&g_stop_gen, true);
	if (have_fault)
		pthread_join(fault_thread, NULL), have_fault = false;
	if (have_flood)
		pthread_join(flood_thread, NULL), have_flood = false;
	t_end_gen = ff_mono_us();
	for (;;) {
		bool drained = true;
		for (int i = 0; i < ND && drained; i++)
			drained = device_done(&D[i]);
		if (drained && !t_drained)
			t_drained = ff_mono_us();
		if (drained && all_accounted())
			break;
		if (ff_mono_us() - t_end_gen > (int64_t)(S.drain_timeout * 1e6)) {
			LOG("drain timeout (%.0fs): outboxes %s", S.drain_timeout,
			    drained ? "empty, AccessEvents missing" : "not empty");
			break;
		}
		poll(NULL, 0, 100);
	}
	/* late duplicates would show up now */
	poll(NULL, 0, 1500);
	atomic_store(&g_stop_all, true);
	for (int i = 0; i < ND; i++) {
		pthread_cond_broadcast(&D[i].cv);
		pthread_join(D[i].thread, NULL);
		reconnects += D[i].reconnects - 1;
		resent += D[i].resent;
	}
	ff_mqtt_disconnect(watch, 1000);
	ff_mqtt_destroy(watch);

	/* tally */
	{
		int64_t ft0 = atomic_load(&g_fault_t0), ft1 = atomic_load(&g_fault_t1);
		int64_t last_backlog = 0;
		for (int i = 0; i < ND; i++) {
			device *d = &D[i];
			sent += (long)d->nfaces;
			acked += (long)d->acked;
			lat = realloc(lat, (nlat + d->nfaces + 1) * sizeof(int64_t));
			for (size_t k = 0; k < d->nfaces; k++) {
				face *f = &d->faces[k];
				if (!f->access_n) {
					access_missing++;
					continue;
				}
				access_faces++;
				access_redelivered += f->access_n - 1;
				access_second += f->access_other;
				lat[nlat++] = f->access_us - f->accepted_us;
				if (ft1 && f->accepted_us <= ft1 && f->access_us > last_backlog)
					last_backlog = f->access_us;
			}
		}
		if (ft0 && ft1 && last_backlog)
			recover_s = (double)(last_backlog > ft1 ? last_backlog - ft1 : 0) / 1e6;
		if (nlat) {
			qsort(lat, nlat, sizeof(int64_t), cmp_i64);
			p50 = (double)lat[nlat / 2] / 1e3;
			p99 = (double)lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1e3;
			max_lat = (double)lat[nlat - 1] / 1e3;
		}
		dbc = check_db();
		{
			double fault_s = ft0 && ft1 ? (double)(ft1 - ft0) / 1e6 : 0;
			double span = (double)((t_drained ? t_drained : ff_mono_us()) - g_t0) / 1e6;
			long lost = dbc.ok ? dbc.lost : sent;
			long dup = dbc.dup + access_second;
			char flood[200] = "";
			if (S.flood_file) { /* what the flooder got through: its budget */
				long rec = flood_recorded();
				snprintf(flood, sizeof(flood),
					 ",\"flood_s\":%.0f,\"flood_sent\":%ld,\"flood_recorded\":%ld",
					 S.flood_for, atomic_load(&F.acked), rec);
				LOG("flood: %ld faces taken by the broker, %ld recorded", atomic_load(&F.acked),
				    rec);
			}
			printf("%-16s faces sent %ld, broker acked %ld, events recorded %ld, lost %ld, "
			       "duplicated %ld; AccessEvents %ld (missing %ld, QoS 1 redeliveries %ld, "
			       "second events %ld); fault %.1fs, time to recover %.1fs; latency p50 "
			       "%.0f ms p99 %.0f ms max %.0f ms; reconnects %d; sent again for want of a "
			       "receipt %ld\n",
			       S.scenario, sent, acked, dbc.rows, lost, dup, access_faces, access_missing,
			       access_redelivered, access_second, fault_s, recover_s, p50, p99, max_lat,
			       reconnects, resent);
			printf("{\"scenario\":\"%s\",\"devices\":%d,\"rate\":%.1f,\"duration_s\":%.0f,"
			       "\"faces_sent\":%ld,\"broker_acked\":%ld,\"events\":%ld,\"lost\":%ld,"
			       "\"duplicated\":%ld,\"access_events\":%ld,\"access_missing\":%ld,"
			       "\"access_redelivered\":%ld,\"fault_s\":%.1f,\"recover_s\":%.1f,"
			       "\"throughput\":%.1f,\"latency_ms_p50\":%.0f,\"latency_ms_p99\":%.0f,"
			       "\"latency_ms_max\":%.0f,\"reconnects\":%d,\"resent\":%ld,\"db_ok\":%s%s}\n",
			       S.scenario, ND, S.rate, S.duration, sent, acked, dbc.rows, lost, dup,
			       access_faces, access_missing, access_redelivered, fault_s, recover_s,
			       span > 0 ? (double)access_faces / span : 0, p50, p99, max_lat, reconnects,
			       resent, dbc.ok ? "true" : "false", flood);
			fflush(stdout);
			rc = dbc.ok && lost == 0 && dup == 0 && access_missing == 0 && acked == sent &&
					     dbc.extra == 0 && (S.max_p99_ms <= 0 || p99 <= S.max_p99_ms)
				     ? 0
				     : 1;
			if (S.max_p99_ms > 0 && p99 > S.max_p99_ms)
				LOG("p99 latency %.0f ms over --max-p99-ms %.0f", p99, S.max_p99_ms);
		}
	}
	for (int i = 0; i < ND; i++)
		free(D[i].faces);
	free(D);
	free(lat);
	if (models)
		be_model_set_free(models);
	free(models);
	return rc;
}
