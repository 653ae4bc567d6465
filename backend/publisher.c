/* AccessEvent publisher (publisher.h). */
#include "publisher.h"

#include "facefleet.pb-c.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "metrics.h"

#include <cjson/cJSON.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "publisher"
/* an AccessEvent is retried while the broker is away (a restart takes
 * seconds); the drain deadline at shutdown still bounds it */
#define RETRY_FOR_MS (10 * 60 * 1000)
#define RETRY_MS 100
#define RETRY_MAX_MS 2000
#define EVENT_WINDOW 8 /* AccessEvents in flight at once (pub_slot) */
#define CUT_NOTE " note=\"shutting down; face left unacknowledged\""

struct be_publisher {
	ff_mqtt *mqtt;
	char *embed_model;
	be_queue q;
	pthread_t thread;
	atomic_llong deadline_us;
	atomic_bool connected;
	be_publisher_ack_cb ack;
	void *ack_ctx;
	pthread_mutex_t mu;        /* slots */
	pthread_cond_t cv;         /* a slot was freed */
	struct pub_slot *slots;    /* the window of AccessEvents in flight */
	int window;
	bool presence;             /* announce ourselves (be_presence) */
	char presence_topic[128];
	char *online, *stopped, *lost; /* the three retained payloads */
};

/* The presence payload of state: one JSON object, malloc'd (NULL: no memory). */
static char *presence_json(const be_presence *pr, const char *state)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	if (o && cJSON_AddStringToObject(o, "instance", pr->instance) &&
	    cJSON_AddStringToObject(o, "share_group", pr->share_group ? pr->share_group : "") &&
	    cJSON_AddNumberToObject(o, "session_expiry_s", pr->session_expiry_s) &&
	    cJSON_AddStringToObject(o, "state", state))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static int presence_init(be_publisher *p, const be_presence *pr, ff_mqtt_options *o)
{
	int n = snprintf(p->presence_topic, sizeof(p->presence_topic), "facefleet/backend/%s/status",
			 pr->instance);
	if (n < 0 || (size_t)n >= sizeof(p->presence_topic) || strpbrk(pr->instance, "+#/"))
		return FF_ERR_RANGE;
	p->online = presence_json(pr, "online");
	p->stopped = presence_json(pr, "stopped");
	p->lost = presence_json(pr, "lost");
	if (!p->online || !p->stopped || !p->lost)
		return FF_ERR_NOMEM;
	o->will_topic = p->presence_topic;
	o->will_payload = p->lost;
	o->will_len = strlen(p->lost);
	o->will_qos = 1;
	o->will_retain = true;
	p->presence = true;
	return FF_OK;
}

static void presence_free(be_publisher *p)
{
	cJSON_free(p->online);
	cJSON_free(p->stopped);
	cJSON_free(p->lost);
}

size_t be_access_event_encode(const be_job *j, const char *embed_model_id, uint8_t *buf,
			      size_t cap)
{
	Facefleet__V1__AccessEvent ev = FACEFLEET__V1__ACCESS_EVENT__INIT;
	char model[FF_ID_MAX * 2 + 72];
	bool who = j->ntop && (j->decision == BE_DECISION_GRANTED ||
			       j->decision == BE_DECISION_REJECTED);
	size_t need;
	snprintf(model, sizeof(model), "%s+%s", embed_model_id, j->model_id);
	ev.schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT;
	ev.event_id = (char *)j->event_id;
	ev.device_id = (char *)j->device_id;
	ev.site_id = (char *)j->site_id;
	ev.seq = j->seq;
	ev.capture_time_us = j->capture_us;
	ev.decided_time_us = j->decided_us;
	ev.model_id = model;
	if (j->track_decision != BE_DECISION_NONE) { /* the track's decision (proto) */
		bool twho = j->track_ntop && (j->track_decision == BE_DECISION_GRANTED ||
					      j->track_decision == BE_DECISION_REJECTED);
		ev.decision = (Facefleet__V1__Decision)j->track_decision;
		ev.identity = twho ? (char *)j->track_top.external_id : (char *)"";
		ev.score = j->track_score;
		ev.reason = (char *)j->track_reason;
		ev.track_id = j->track_id;
		ev.track_index = j->track_index;
		ev.faces_fused = (uint32_t)j->faces_fused;
		ev.face_decision = (Facefleet__V1__Decision)j->decision;
		ev.face_score = j->score;
	} else {
		ev.decision = (Facefleet__V1__Decision)j->decision;
		ev.identity = who ? (char *)j->top[0].external_id : (char *)"";
		ev.score = j->decision == BE_DECISION_INVALID ? 0.0f : j->score;
		ev.reason = (char *)j->reason;
	}
	need = facefleet__v1__access_event__get_packed_size(&ev);
	if (need > cap)
		return 0;
	return facefleet__v1__access_event__pack(&ev, buf);
}

static void on_presence_done(void *ctx, uint64_t tag, int rc)
{
	(void)ctx;
	(void)tag;
	if (rc != FF_OK)
		ff_log_warn(LOG_COMP, "event=presence_not_published err=\"%s\"", ff_strerror(rc));
}

static void on_connection(void *ctx, bool connected, const char *cause)
{
	be_publisher *p = ctx;
	(void)cause;
	atomic_store(&p->connected, connected);
	/* every connection replaces the "lost" the broker may have published for
	 * the one before */
	if (connected && p->presence)
		ff_mqtt_publish_async(p->mqtt, p->presence_topic, p->online, strlen(p->online), 1, true,
				      on_presence_done, p, 0);
}

/* An AccessEvent on its way. Events are published asynchronously, up to
 * `window` at once: a publisher that waited for each PUBACK before handing
 * Paho the next message met Paho's send-thread wake-up race (1.3.x: a
 * command queued just before the send thread sleeps waits out its 1-s
 * timed wait), which stalled every face behind it for ~1 s
 * (docs/PERFORMANCE.md); with a window the next command wakes the thread. */
typedef struct pub_slot {
	be_job *job;        /* NULL: free */
	int64_t give_up_us; /* first attempt + RETRY_FOR_MS */
	bool retry;         /* Paho failed it (connection lost): send it again */
} pub_slot;

static bool past_stop_deadline(be_publisher *p)
{
	int64_t dl = atomic_load(&p->deadline_us);
	return dl && ff_mono_us() > dl;
}

/* The slot's AccessEvent is done with: rc FF_OK (the broker has it), the
 * error it was given up on, or FF_ERR_TIMEOUT (cut short by the stop
 * deadline: the face stays unacknowledged, its redelivery republishes the
 * same event_id). Any thread. */
static void slot_finish(be_publisher *p, pub_slot *s, int rc)
{
	be_job *j = s->job;
	if (rc != FF_ERR_TIMEOUT) {
		be_metrics_published(rc == FF_OK);
		if (p->ack)
			p->ack(p->ack_ctx, j);
	}
	if (rc != FF_OK)
		ff_log_warn(LOG_COMP, "event=access_not_published device_id=%s event_id=%s err=\"%s\"%s",
			    j->device_id, j->event_id, ff_strerror(rc),
			    rc == FF_ERR_TIMEOUT ? CUT_NOTE : "");
	be_job_free(j);
	pthread_mutex_lock(&p->mu);
	s->job = NULL;
	s->retry = false;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Paho's verdict on a published AccessEvent (Paho's thread). */
static void on_event_done(void *ctx, uint64_t tag, int rc)
{
	be_publisher *p = ctx;
	pub_slot *s = &p->slots[tag];
	if (rc == FF_OK || rc == FF_ERR_AUTH || ff_mono_us() >= s->give_up_us) {
		slot_finish(p, s, rc);
		return;
	}
	pthread_mutex_lock(&p->mu);
	s->retry = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Hands the slot's AccessEvent to Paho, retrying with backoff while the
 * broker is away; on a refusal for good, the give-up time or the stop
 * deadline, the slot is finished instead. */
static void slot_send(be_publisher *p, pub_slot *s)
{
	uint8_t buf[1024];
	char topic[128] = "";
	be_job *j = s->job;
	size_t len = be_access_event_encode(j, p->embed_model, buf, sizeof(buf));
	int rc = FF_ERR_RANGE, wait_ms = RETRY_MS;
	if (ff_mqtt_fleet_topic(topic, sizeof(topic), j->site_id, j->device_id, "access") != FF_OK) {
		rc = FF_ERR_INVAL; /* never: validation checked both ids */
		len = 0;
	}
	for (int attempt = 0; len; attempt++) {
		if (past_stop_deadline(p)) {
			rc = FF_ERR_TIMEOUT;
			break;
		}
		rc = ff_mqtt_publish_async(p->mqtt, topic, buf, len, 1, false, on_event_done, p,
					   (uint64_t)(s - p->slots));
		if (rc == FF_OK)
			return; /* on_event_done has it now */
		if (rc == FF_ERR_INVAL || rc == FF_ERR_AUTH || ff_mono_us() >= s->give_up_us)
			break;
		if (attempt == 0 && rc != FF_ERR_FULL && !ff_mqtt_is_connected(p->mqtt) &&
		    ff_mqtt_connect(p->mqtt) == FF_OK) /* auto-reconnect may be mid-way */
			continue;
		poll(NULL, 0, wait_ms);
		wait_ms = wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait_ms * 2;
	}
	slot_finish(p, s, rc);
}

/* A slot Paho failed, to send again (NULL: none). */
static pub_slot *take_retry(be_publisher *p)
{
	pub_slot *s = NULL;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->window && !s; i++)
		if (p->slots[i].job && p->slots[i].retry) {
			s = &p->slots[i];
			s->retry = false;
		}
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* A free slot for j. While the window is full it sends again what Paho
 * failed (a lost connection fails the whole window) and waits; NULL when the
 * stop deadline passes first (a broker that stopped answering). */
static pub_slot *claim_slot(be_publisher *p, be_job *j)
{
	pub_slot *s = NULL, *r;
	struct timespec dl;
	for (;;) {
		if ((r = take_retry(p))) {
			slot_send(p, r);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		for (int i = 0; i < p->window && !s; i++)
			if (!p->slots[i].job)
				s = &p->slots[i];
		if (s || past_stop_deadline(p))
			break;
		ff_deadline_in(&dl, RETRY_MS);
		pthread_cond_timedwait(&p->cv, &p->mu, &dl);
		pthread_mutex_unlock(&p->mu);
	}
	if (s) {
		s->job = j;
		s->retry = false;
		s->give_up_us = ff_mono_us() + (int64_t)RETRY_FOR_MS * 1000;
	}
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* Waits up to ms for a slot to be freed (or failed: polled by the caller). */
static void wait_slots(be_publisher *p, int ms)
{
	struct timespec dl;
	ff_deadline_in(&dl, ms);
	pthread_mutex_lock(&p->mu);
	pthread_cond_timedwait(&p->cv, &p->mu, &dl);
	pthread_mutex_unlock(&p->mu);
}

/* AccessEvents in the window (handed to Paho, or failed and to resend). */
static int busy_slots(be_publisher *p)
{
	int n = 0;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->window; i++)
		n += p->slots[i].job != NULL;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* The publisher thread: new AccessEvents from the queue, and again those
 * Paho failed; at stop, it drains the queue and waits for the window up to
 * the deadline. A failed one can only come from the window, so the queue is
 * polled, not waited on, while the window holds any. */
static void *pub_main(void *arg)
{
	be_publisher *p = arg;
	for (;;) {
		pub_slot *s = take_retry(p);
		be_job *j = NULL;
		int busy = busy_slots(p);
		if (!s && !(j = be_queue_pop(&p->q, busy ? RETRY_MS : -1))) {
			if (!be_queue_drained(&p->q))
				continue; /* polled: look for a retry */
			if (!busy_slots(p) || past_stop_deadline(p))
				break;
			wait_slots(p, RETRY_MS);
			continue;
		}
		if (!s && !(s = claim_slot(p, j))) {
			ff_log_warn(LOG_COMP, "event=access_not_published device_id=%s event_id=%s" CUT_NOTE,
				    j->device_id, j->event_id);
			be_job_free(j);
			continue;
		}
		slot_send(p, s);
	}
	return NULL;
}

static void publisher_free(be_publisher *p)
{
	be_queue_destroy(&p->q);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	presence_free(p);
	free(p->slots);
	free(p->embed_model);
	free(p);
}

int be_publisher_start(const ff_mqtt_options *mqtt, const be_presence *presence,
		       const char *embed_model_id, size_t queue, be_publisher_ack_cb ack, void *ack_ctx,
		       be_publisher **out)
{
	be_publisher *p = calloc(1, sizeof(*p));
	ff_mqtt_options o = *mqtt;
	int rc;
	if (!p)
		return FF_ERR_NOMEM;
	p->ack = ack;
	p->ack_ctx = ack_ctx;
	p->embed_model = strdup(embed_model_id);
	/* half of Paho's window at most, so receipts always find room; a few
	 * suffice (the broker answers in microseconds) and stay under any
	 * Receive Maximum the broker announces */
	p->window = mqtt->max_inflight / 2 < EVENT_WINDOW ? mqtt->max_inflight / 2 : EVENT_WINDOW;
	p->window = p->window < 1 ? 1 : p->window;
	p->slots = calloc((size_t)p->window, sizeof(*p->slots));
	if (!p->embed_model || !p->slots || be_queue_init(&p->q, queue) != 0) {
		free(p->slots);
		free(p->embed_model);
		free(p);
		return FF_ERR_NOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	o.on_connection = on_connection;
	o.cb_ctx = p;
	o.auto_reconnect = true;
	if (presence && (rc = presence_init(p, presence, &o)) != FF_OK)
		goto fail;
	rc = ff_mqtt_create(&o, &p->mqtt);
	if (rc != FF_OK)
		goto fail;
	rc = ff_mqtt_connect(p->mqtt);
	if (rc != FF_OK)
		ff_log_warn(LOG_COMP, "event=connect_deferred err=\"%s\"", ff_strerror(rc));
	if (pthread_create(&p->thread, NULL, pub_main, p) != 0) {
		rc = FF_ERR_NOMEM;
		goto fail;
	}
	*out = p;
	return FF_OK;
fail:
	ff_mqtt_destroy(p->mqtt);
	publisher_free(p);
	return rc;
}

static void on_receipt_done(void *ctx, uint64_t tag, int rc)
{
	(void)ctx;
	if (rc != FF_OK)
		ff_log_debug(LOG_COMP, "event=receipt_not_published last_seq=%llu err=\"%s\"",
			     (unsigned long long)tag, ff_strerror(rc));
}

void be_publisher_receipt(be_publisher *p, const char *site, const char *device, uint64_t last_seq,
			  uint64_t seq, const char *outcome)
{
	Facefleet__V1__Receipt r = FACEFLEET__V1__RECEIPT__INIT;
	uint8_t buf[128];
	char topic[128];
	size_t len;
	r.schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT;
	r.last_seq = last_seq;
	r.recorded_time_us = ff_now_us();
	r.seq = seq;
	r.outcome = (char *)(outcome ? outcome : "");
	len = facefleet__v1__receipt__pack(&r, buf);
	if (ff_mqtt_fleet_topic(topic, sizeof(topic), site, device, "receipt") != FF_OK)
		return;
	ff_mqtt_publish_async(p->mqtt, topic, buf, len, 1, true, on_receipt_done, p, last_seq);
}

void be_publisher_submit(be_publisher *p, be_job *j)
{
	if (!be_queue_push(&p->q, j))
		be_job_free(j); /* stopping: left unacknowledged, redelivered */
}

void be_publisher_stop(be_publisher *p, int drain_ms)
{
	if (!p)
		return;
	atomic_store(&p->deadline_us, ff_mono_us() + (int64_t)drain_ms * 1000);
	be_queue_close(&p->q);
	pthread_join(p->thread, NULL);
	if (ff_mqtt_is_connected(p->mqtt)) {
		if (p->presence) /* a clean stop: not "lost" (DISCONNECT drops the will) */
			ff_mqtt_publish(p->mqtt, p->presence_topic, p->stopped, strlen(p->stopped), 1, true,
					2000);
		ff_mqtt_disconnect(p->mqtt, 1000);
	}
	ff_mqtt_destroy(p->mqtt);
	/* Paho's callbacks are over: what the deadline cut short stays
	 * unacknowledged */
	for (int i = 0; i < p->window; i++)
		if (p->slots[i].job)
			slot_finish(p, &p->slots[i], FF_ERR_TIMEOUT);
	publisher_free(p);
}
