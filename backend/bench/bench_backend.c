/* fleet-bench-backend: end-to-end throughput and latency of a running
 * fleet-backend. Publishes FaceCodes (QoS 1) for one provisioned device at a
 * given rate (0 = as fast as the publish window allows), listens to
 * fleet/<site>/+/access and measures, per face, publish -> AccessEvent
 * received (the backend publishes it only after the event row committed).
 * Prints one JSON object as its last line. backend/bench/run-bench wires
 * the stack, the backend and this program together. */
#include <cjson/cJSON.h>

#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/config.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"
#include "recognize.h"
#include "test_face_codes.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct opts {
	char *mqtt_url, *mqtt_user, *mqtt_password, *site, *device, *vq_dir, *model_id, *codes, *tag,
		*dump;
	int count, rate, window, timeout_s;
	int64_t seq_base;
} opts;

#define F(k, t, m, d, lo, hi, h) { k, t, offsetof(opts, m), d, lo, hi, h, 0 }
#define SECRET(k, m, h) { k, FF_CFG_STRING, offsetof(opts, m), "", 0, 0, h, FF_CFG_SECRET }
static const ff_config_field fields[] = {
	F("mqtt_url", FF_CFG_STRING, mqtt_url, "tcp://127.0.0.1:18883", 0, 0, "broker URL"),
	F("mqtt_user", FF_CFG_STRING, mqtt_user, "", 0, 0, "MQTT user"),
	SECRET("mqtt_password", mqtt_password, "MQTT password (or mqtt_password_file, or $FF_MQTT_PASSWORD)"),
	F("site", FF_CFG_STRING, site, "bench", 1, 32, "site id of the bench device"),
	F("device", FF_CFG_STRING, device, "bench-1", 1, 32, "provisioned device id"),
	F("vq_dir", FF_CFG_STRING, vq_dir, "models/vq", 0, 0, "folder of the VQ model to encode for"),
	F("model_id", FF_CFG_STRING, model_id, "", 0, 32, "the model of vq_dir the faces are for (empty: the first)"),
	F("codes", FF_CFG_STRING, codes, "", 0, 0, "real faces' codes, `fleet-eval codes` JSON lines, sent in "
	  "turn (a model sent coded only needs them: random indices do not fit 128 B); empty: random "
	  "indices"),
	F("count", FF_CFG_INT, count, "2000", 1, 10000000, "faces to publish"),
	F("rate", FF_CFG_INT, rate, "0", 0, 100000, "faces per second (0 = unpaced)"),
	F("window", FF_CFG_INT, window, "100", 1, 65535, "QoS 1 publishes in flight"),
	F("timeout_s", FF_CFG_INT, timeout_s, "60", 1, 3600, "wait for the last AccessEvent, s"),
	F("seq_base", FF_CFG_INT64, seq_base, "0", 0, 4e18, "first seq - 1: the device's last_seq (run-bench reads it; the backend refuses a seq "
	  "more than max_seq_jump above it)"),
	F("tag", FF_CFG_STRING, tag, "", 0, 64, "label copied into the JSON"),
	F("dump", FF_CFG_STRING, dump, "", 0, 0, "CSV of each face (seq index, published at ms "
	  "from the start, latency ms; empty: none), to see when the slow ones came"),
	FF_CONFIG_END
};

/* The faces of --codes (fleet-eval codes JSON lines) that fit the wire as
 * they are: num_codes indices each, *n of them in *out. Returns 0, or -1
 * (unreadable, or none fits). */
static int load_faces(const char *path, const ff_vq_info *vi, const ff_entropy_table *ent,
		      uint16_t **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[16384];
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line), *v;
		uint16_t idx[FF_VQ_MAX_CODES];
		uint8_t msg[512];
		size_t k = 0;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(o, "codes"))
			if (k < FF_VQ_MAX_CODES && cJSON_IsNumber(v) && v->valuedouble >= 0 &&
			    v->valuedouble < vi->codebook_size)
				idx[k++] = (uint16_t)v->valuedouble;
		cJSON_Delete(o);
		/* a face whose nearest codes pass 128 B coded is left out */
		if (k != vi->num_codes ||
		    !test_face_codes_build_coded(vi, ent, 1, 0, idx, msg, sizeof(msg)))
			continue;
		if (*n == cap) {
			uint16_t *grown = realloc(*out, (cap = cap ? 2 * cap : 256) * k * sizeof(uint16_t));
			if (!grown)
				break;
			*out = grown;
		}
		memcpy(*out + *n * k, idx, k * sizeof(uint16_t));
		(*n)++;
	}
	if (f)
		fclose(f);
	return *n ? 0 : -1;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct {
	int64_t *t_pub, *t_acc;
	uint64_t base;
	int count;
	atomic_int received, inflight, failed;
	int decisions[5];
	pthread_mutex_t mu;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void on_access(void *ctx, const ff_mqtt_message *msg)
{
	Facefleet__V1__AccessEvent *ev =
		facefleet__v1__access_event__unpack(NULL, msg->len, msg->payload);
	int64_t now = mono_us();
	(void)ctx;
	if (!ev)
		return;
	if (ev->seq > S.base && ev->seq <= S.base + (uint64_t)S.count) {
		size_t i = (size_t)(ev->seq - S.base - 1);
		pthread_mutex_lock(&S.mu);
		if (!S.t_acc[i]) {
			S.t_acc[i] = now;
			atomic_fetch_add(&S.received, 1);
			if (ev->decision < 5)
				S.decisions[ev->decision]++;
		}
		pthread_mutex_unlock(&S.mu);
	}
	facefleet__v1__access_event__free_unpacked(ev, NULL);
}

static void on_done(void *ctx, uint64_t tag, int rc)
{
	(void)ctx;
	(void)tag;
	atomic_fetch_sub(&S.inflight, 1);
	if (rc != FF_OK)
		atomic_fetch_add(&S.failed, 1);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double round1(double v)
{
	return round(v * 10.0) / 10.0;
}

/* a latency in ms, 2 decimals; null with no sample (us < 0) */
static void add_ms(cJSON *j, const char *name, int64_t us)
{
	if (us < 0)
		cJSON_AddNullToObject(j, name);
	else
		cJSON_AddNumberToObject(j, name, round((double)us / 10.0) / 100.0);
}

/* Each face's publish time and latency (-1: no AccessEvent) into path. */
static bool dump_faces(const char *path, int64_t t_start)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "face,published_ms,latency_ms\n");
	for (int i = 0; i < S.count; i++)
		fprintf(f, "%d,%.2f,%.2f\n", i, (double)(S.t_pub[i] - t_start) / 1000.0,
			S.t_acc[i] ? (double)(S.t_acc[i] - S.t_pub[i]) / 1000.0 : -1.0);
	return fclose(f) == 0;
}

/* The run's JSON line (cJSON; a latency with no sample is null). */
static void print_result(const opts *o, const ff_vq_info *vi, const int64_t *lat, int nlat,
			 int64_t t_start, int64_t t_end_pub, int64_t t_last)
{
	static const char *const dec[] = { "granted", "unknown", "rejected", "invalid" };
	double secs = (double)(t_last - t_start) / 1e6;
	cJSON *j = cJSON_CreateObject();
	char *txt;
	cJSON_AddStringToObject(j, "bench", "backend");
	cJSON_AddStringToObject(j, "tag", o->tag);
	cJSON_AddStringToObject(j, "model", vi->model_id);
	cJSON_AddNumberToObject(j, "faces", o->count);
	cJSON_AddNumberToObject(j, "received", nlat);
	cJSON_AddNumberToObject(j, "lost", o->count - nlat);
	cJSON_AddNumberToObject(j, "publish_failed", atomic_load(&S.failed));
	cJSON_AddNumberToObject(j, "rate_target", o->rate);
	cJSON_AddNumberToObject(j, "publish_rate", round1(o->count / ((double)(t_end_pub - t_start) / 1e6)));
	cJSON_AddNumberToObject(j, "faces_per_s", round1(secs > 0 ? nlat / secs : 0.0));
	add_ms(j, "p50_ms", nlat ? lat[nlat / 2] : -1);
	add_ms(j, "p99_ms", nlat ? lat[(size_t)((nlat - 1) * 0.99)] : -1);
	add_ms(j, "max_ms", nlat ? lat[nlat - 1] : -1);
	for (int d = 0; d < 4; d++)
		cJSON_AddNumberToObject(j, dec[d], S.decisions[d + 1]);
	if ((txt = cJSON_PrintUnformatted(j)))
		printf("%s\n", txt);
	cJSON_free(txt);
	cJSON_Delete(j);
}

int main(int argc, char **argv)
{
	opts o;
	ff_config_args args;
	char err[512];
	be_model_set set;
	const ff_vq_info *vi;
	ff_mqtt_options mo = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;
	char topic[128], filter[128];
	int64_t t_start, t_end_pub, t_last = 0;
	int64_t *lat;
	int nlat = 0, k;
	uint16_t *faces = NULL; /* --codes: nfaces faces' indices, sent in turn */
	size_t nfaces = 0;

	memset(&o, 0, sizeof(o));
	if (ff_config_parse_args(fields, &o, argc, argv, &args, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "fleet-bench-backend: %s\n", err);
		return 2;
	}
	if (args.help) {
		printf("usage: fleet-bench-backend [--key=value ...]\n"
		       "End-to-end faces/s and latency of a running fleet-backend (publish ->\n"
		       "event committed -> AccessEvent received). Last line: one JSON object.\n");
		ff_config_help(fields, stdout);
		return 0;
	}
	if (be_model_set_load(&set, o.vq_dir, "", err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "fleet-bench-backend: %s\n", err);
		return 1;
	}
	k = *o.model_id ? be_model_set_find(&set, o.model_id) : 0;
	if (k < 0) {
		fprintf(stderr, "fleet-bench-backend: no model %s in %s\n", o.model_id, o.vq_dir);
		return 1;
	}
	vi = &set.info[k];
	if (*o.codes && load_faces(o.codes, vi, set.ent[k], &faces, &nfaces) != 0) {
		fprintf(stderr, "fleet-bench-backend: %s: no face of model %s that fits the wire\n",
			o.codes, vi->model_id);
		return 1;
	}
	S.count = o.count;
	S.base = (uint64_t)o.seq_base;
	S.t_pub = calloc((size_t)o.count, sizeof(int64_t));
	S.t_acc = calloc((size_t)o.count, sizeof(int64_t));
	lat = calloc((size_t)o.count, sizeof(int64_t));
	if (!S.t_pub || !S.t_acc || !lat)
		return 1;

	mo.url = o.mqtt_url;
	mo.username = *o.mqtt_user ? o.mqtt_user : NULL;
	mo.password = *o.mqtt_password ? o.mqtt_password : NULL;
	mo.max_inflight = o.window;
	mo.on_message = on_access;
	if (ff_mqtt_create(&mo, &m) != FF_OK || ff_mqtt_connect(m) != FF_OK) {
		fprintf(stderr, "fleet-bench-backend: cannot connect to %s\n", o.mqtt_url);
		return 1;
	}
	if (ff_mqtt_fleet_topic(filter, sizeof(filter), o.site, NULL, "access") != FF_OK ||
	    ff_mqtt_fleet_topic(topic, sizeof(topic), o.site, o.device, "faces") != FF_OK) {
		fprintf(stderr, "fleet-bench-backend: site and device must match [a-z0-9-]{1,32}\n");
		return 1;
	}
	if (ff_mqtt_subscribe(m, filter, 1, 5000) != FF_OK)
		return 1;

	t_start = mono_us();
	for (int i = 0; i < o.count; i++) {
		uint8_t buf[512];
		uint64_t seq = S.base + (uint64_t)i + 1;
		int64_t now_us = (int64_t)time(NULL) * 1000000;
		size_t n = nfaces ? test_face_codes_build_coded(vi, set.ent[k], seq, now_us,
								faces + (size_t)i % nfaces * vi->num_codes,
								buf, sizeof(buf))
				  : test_face_codes_build(vi, seq, now_us, NULL, (uint64_t)i, buf,
							  sizeof(buf));
		int rc;
		if (!n)
			return 1;
		if (o.rate > 0) { /* pace: face i leaves at t_start + i / rate */
			int64_t due = t_start + (int64_t)i * 1000000 / o.rate, now = mono_us();
			if (due > now)
				poll(NULL, 0, (int)((due - now + 999) / 1000));
		}
		for (int tries = 0;; tries++) {
			while (atomic_load(&S.inflight) >= o.window / 2)
				poll(NULL, 0, 1); /* own window below Paho's limit */
			atomic_fetch_add(&S.inflight, 1);
			S.t_pub[i] = mono_us();
			rc = ff_mqtt_publish_async(m, topic, buf, n, 1, false, on_done, NULL,
						   (uint64_t)i);
			if (rc == FF_OK)
				break;
			atomic_fetch_sub(&S.inflight, 1);
			if (rc != FF_ERR_FULL && (rc != FF_ERR_MQTT || tries > 1000)) {
				fprintf(stderr, "fleet-bench-backend: publish: %s\n", ff_strerror(rc));
				return 1;
			}
			poll(NULL, 0, 1);
		}
	}
	t_end_pub = mono_us();
	{
		int64_t end = mono_us() + (int64_t)o.timeout_s * 1000000;
		while (atomic_load(&S.received) < o.count && mono_us() < end)
			poll(NULL, 0, 20);
	}
	if (*o.dump && !dump_faces(o.dump, t_start))
		fprintf(stderr, "fleet-bench-backend: cannot write %s\n", o.dump);
	for (int i = 0; i < o.count; i++) {
		if (!S.t_acc[i])
			continue;
		lat[nlat++] = S.t_acc[i] - S.t_pub[i];
		if (S.t_acc[i] > t_last)
			t_last = S.t_acc[i];
	}
	qsort(lat, (size_t)nlat, sizeof(int64_t), cmp_i64);
	print_result(&o, vi, lat, nlat, t_start, t_end_pub, t_last);
	ff_mqtt_disconnect(m, 1000);
	ff_mqtt_destroy(m);
	ff_config_free(fields, &o);
	be_model_set_free(&set);
	free(faces);
	return nlat == o.count ? 0 : 1;
}
