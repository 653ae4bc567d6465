/* The MQTT side of the agent, on its own thread: connect (exponential
 * backoff with jitter, logged), last will, retained status, the config
 * subscription, and a publish window over the outbox: at most
 * publish_window QoS 1 FaceCodes un-acknowledged at once (Paho's throughput
 * collapses with thousands queued). A message leaves the outbox only when
 * its PUBACK arrived; after a lost connection the client is rebuilt and every
 * un-acknowledged message is sent again (at least once; the backend drops
 * replays by (device_id, seq)). */
#include "device.h"

#include "facefleet.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/bucket.h"
#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/mqtt.h"
#include "facefleet/random.h"

#define LOG_COMP "publisher"
#define TAG_STATUS UINT64_MAX

typedef struct ack {
	uint64_t seq;
	int rc;
} ack;

struct dev_publisher {
	dev_agent *a;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kicked, stopping;
	int result; /* FF_ERR_AUTH when the broker refused us */
	ff_mqtt *m;
	atomic_bool lost;
	int inflight;
	ack *acks; /* completions from Paho's thread, under mu */
	size_t nacks, cap;
	int64_t next_status_ms;
	int64_t next_resend_check_ms;
	ff_bucket pace;      /* max_send_rate / send_burst */
	int64_t pace_wait_ms; /* > 0: no token; fill again after this long */
	char faces_topic[128], status_topic[128], config_topic[128], receipt_topic[128];
	uint8_t buf[DEV_MAX_MSG];
};

/* ---- callbacks (Paho's thread) ---- */

static void on_done(void *ctx, uint64_t tag, int rc)
{
	dev_publisher *p = ctx;
	if (tag == TAG_STATUS)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->nacks == p->cap) { /* cap is 2 windows; this only guards */
		size_t cap = p->cap * 2;
		ack *n = realloc(p->acks, cap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&p->mu);
			return; /* the message stays in the outbox and goes again */
		}
		p->acks = n;
		p->cap = cap;
	}
	p->acks[p->nacks++] = (ack){ tag, rc };
	p->kicked = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The backend's Receipt (retained, so it comes at every subscription):
 * where this device's seqs must resume. */
static void on_receipt(dev_publisher *p, const ff_mqtt_message *msg)
{
	Facefleet__V1__Receipt *r = facefleet__v1__receipt__unpack(NULL, msg->len, msg->payload);
	if (!r) {
		ff_log_warn(LOG_COMP, "event=receipt_rejected reason=\"not a Receipt protobuf\" bytes=%zu",
			    msg->len);
		return;
	}
	dev_outbox_resume(p->a->outbox, r->last_seq);
	if (r->seq)
		dev_outbox_receipt(p->a->outbox, r->seq);
	facefleet__v1__receipt__free_unpacked(r, NULL);
	dev_publisher_kick(p); /* room in the window, or an outbox emptied */
}

static void on_message(void *ctx, const ff_mqtt_message *msg)
{
	dev_publisher *p = ctx;
	if (strcmp(msg->topic, p->receipt_topic) == 0) {
		on_receipt(p, msg);
		return;
	}
	if (strcmp(msg->topic, p->config_topic) != 0)
		return;
	if (dev_config_apply(p->a, msg->payload, msg->len)) {
		atomic_store(&p->a->status_dirty, true);
		dev_publisher_kick(p);
	}
}

static void on_connection(void *ctx, bool connected, const char *cause)
{
	dev_publisher *p = ctx;
	(void)cause;
	if (!connected) {
		atomic_store(&p->lost, true);
		dev_publisher_kick(p);
	}
}

/* ---- the thread ---- */

void dev_publisher_kick(dev_publisher *p)
{
	pthread_mutex_lock(&p->mu);
	p->kicked = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Waits up to ms for a kick or stop. Returns false when stopping. */
static bool wait_kick(dev_publisher *p, int64_t ms)
{
	int64_t end = dev_mono_ms() + ms; /* the cv runs on CLOCK_MONOTONIC */
	struct timespec dl = { (time_t)(end / 1000), (long)(end % 1000) * 1000000L };
	bool go;
	pthread_mutex_lock(&p->mu);
	while (!p->kicked && !p->stopping)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
			break;
	p->kicked = false;
	go = !p->stopping;
	pthread_mutex_unlock(&p->mu);
	return go;
}

/* Sleeps ms (kicks do not shorten it: backoff holds). */
static void sleep_unless_stopping(dev_publisher *p, int64_t ms)
{
	int64_t end = dev_mono_ms() + ms, left;
	while ((left = end - dev_mono_ms()) > 0 && wait_kick(p, left))
		;
}

/* Applies the completions: PUBACK -> remove from the outbox, failure -> send again. */
static void process_acks(dev_publisher *p)
{
	dev_agent *a = p->a;
	ack batch[64];
	size_t n;

	do {
		pthread_mutex_lock(&p->mu);
		n = p->nacks < 64 ? p->nacks : 64;
		memcpy(batch, p->acks, n * sizeof(ack));
		memmove(p->acks, p->acks + n, (p->nacks - n) * sizeof(ack));
		p->nacks -= n;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = 0; i < n; i++) {
			if (p->inflight > 0)
				p->inflight--;
			if (batch[i].rc == FF_OK) {
				dev_outbox_ack(a->outbox, batch[i].seq);
				atomic_fetch_add(&a->counters.published, 1);
			} else if (batch[i].rc == FF_ERR_AUTH) {
				ff_log_error(LOG_COMP, "event=publish_refused seq=%llu topic=%s reason=\"not authorised (broker ACL)\" action=dropped",
					     (unsigned long long)batch[i].seq, p->faces_topic);
				dev_outbox_ack(a->outbox, batch[i].seq);
				atomic_fetch_add(&a->counters.dropped, 1);
			} else {
				dev_outbox_nack(a->outbox, batch[i].seq);
			}
		}
	} while (n == 64);
}

/* On a graceful stop: gives the messages already sent up to ms for their
 * PUBACKs, so they leave the outbox (no duplicate at the next start) and the
 * OFFLINE status counts them. */
static void settle_inflight(dev_publisher *p, int64_t ms)
{
	int64_t end = dev_mono_ms() + ms;
	struct timespec dl = { (time_t)(end / 1000), (long)(end % 1000) * 1000000L };

	process_acks(p);
	while (p->inflight > 0 && !atomic_load(&p->lost) && dev_mono_ms() < end) {
		pthread_mutex_lock(&p->mu);
		while (p->nacks == 0 && !atomic_load(&p->lost))
			if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&p->mu);
		process_acks(p);
	}
}

static void teardown(dev_publisher *p)
{
	if (p->m) {
		ff_mqtt_destroy(p->m); /* no callback after this */
		p->m = NULL;
	}
	process_acks(p); /* PUBACKs that made it still count */
	p->inflight = 0;
	dev_outbox_rewind(p->a->outbox);
	atomic_store(&p->lost, false);
}

static int publish_status(dev_publisher *p, int state, bool wait)
{
	uint8_t buf[512];
	size_t len = dev_status_pack(p->a, state, buf, sizeof(buf));
	if (!len)
		return FF_ERR_RANGE;
	if (wait)
		return ff_mqtt_publish(p->m, p->status_topic, buf, len, 1, true, 2000);
	return ff_mqtt_publish_async(p->m, p->status_topic, buf, len, 1, true, on_done, p, TAG_STATUS);
}

static int connect_once(dev_publisher *p)
{
	const dev_config *c = &p->a->cfg;
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	uint8_t will[512];
	char client_id[80];
	int rc;

	if (c->mqtt_client_id && *c->mqtt_client_id)
		snprintf(client_id, sizeof(client_id), "%s", c->mqtt_client_id);
	else
		snprintf(client_id, sizeof(client_id), "%s-%s", c->site_id, c->device_id);
	o.url = c->mqtt_url;
	o.client_id = client_id;
	o.username = c->mqtt_username && *c->mqtt_username ? c->mqtt_username : NULL;
	o.password = c->mqtt_password && *c->mqtt_password ? c->mqtt_password : NULL;
	o.ca_file = c->tls_ca_file && *c->tls_ca_file ? c->tls_ca_file : NULL;
	o.cert_file = c->tls_cert_file && *c->tls_cert_file ? c->tls_cert_file : NULL;
	o.key_file = c->tls_key_file && *c->tls_key_file ? c->tls_key_file : NULL;
	o.keepalive_s = c->mqtt_keepalive_s;
	o.connect_timeout_ms = c->mqtt_connect_timeout_ms;
	o.max_inflight = c->publish_window + 2; /* + status */
	o.topic_aliases = c->mqtt_topic_alias;
	o.will_topic = p->status_topic;
	o.will_len = dev_status_pack(p->a, DEV_STATE_OFFLINE, will, sizeof(will));
	o.will_payload = will;
	o.will_qos = 1;
	o.will_retain = true;
	o.on_message = on_message;
	o.on_connection = on_connection;
	o.cb_ctx = p;
	rc = ff_mqtt_create(&o, &p->m);
	if (rc == FF_OK)
		rc = ff_mqtt_connect(p->m);
	if (rc == FF_OK && ff_mqtt_subscribe(p->m, p->receipt_topic, 1, c->mqtt_connect_timeout_ms) != FF_OK)
		/* a role made before receipts: fleetctl device rotate-credentials adds them */
		ff_log_warn(LOG_COMP, "event=subscribe_refused topic=%s note=\"no receipts: a lost outbox "
				      "cannot resume above the recorded seqs\"", p->receipt_topic);
	if (rc == FF_OK) {
		rc = ff_mqtt_subscribe(p->m, p->config_topic, 1, c->mqtt_connect_timeout_ms);
		if (rc == FF_ERR_AUTH) { /* the ACL: faces still go; say why no config comes */
			ff_log_error(LOG_COMP, "event=subscribe_refused topic=%s reason=\"not authorised (broker ACL)\" action=\"running without remote config\"",
				     p->config_topic);
			pthread_mutex_lock(&p->a->settings.mu);
			p->a->settings.degraded = true;
			snprintf(p->a->settings.detail, sizeof(p->a->settings.detail),
				 "config subscription refused by the broker");
			pthread_mutex_unlock(&p->a->settings.mu);
			rc = FF_OK;
		}
	}
	if (rc != FF_OK && p->m) {
		/* connected, but a subscription failed: end the session cleanly
		 * (Paho 1.3.11 leaks a live session's structures on destroy,
		 * seen under valgrind) */
		if (ff_mqtt_is_connected(p->m))
			ff_mqtt_disconnect(p->m, 1000);
		ff_mqtt_destroy(p->m);
		p->m = NULL;
	}
	return rc;
}

/* Next retry delay: base doubled per failure up to the cap, +-25% jitter. */
static int64_t backoff_ms(dev_publisher *p, int failures)
{
	const dev_config *c = &p->a->cfg;
	double d = c->reconnect_min_ms;
	uint32_t r = UINT32_MAX / 2; /* no random bytes: no jitter */
	for (int i = 1; i < failures && d < c->reconnect_max_ms; i++)
		d *= 2;
	if (d > c->reconnect_max_ms)
		d = c->reconnect_max_ms;
	ff_random_bytes(&r, sizeof(r));
	d *= 0.75 + 0.5 * ((double)r / UINT32_MAX);
	return (int64_t)d;
}

static void fill_window(dev_publisher *p)
{
	uint64_t seq;
	size_t len;

	const dev_config *c = &p->a->cfg;
	p->pace_wait_ms = 0;
	while (p->inflight < c->publish_window) {
		int64_t now = ff_mono_us(), wait = ff_bucket_wait_us(&p->pace, c->max_send_rate, c->send_burst, now);
		int rc;
		if (wait > 0) { /* paced: the backend's budget would drop the excess */
			p->pace_wait_ms = wait / 1000 + 1;
			return;
		}
		rc = dev_outbox_take(p->a->outbox, &seq, p->buf, sizeof(p->buf), &len);
		if (rc <= 0)
			return;
		ff_bucket_take(&p->pace, c->max_send_rate, c->send_burst, now);
		rc = ff_mqtt_publish_async(p->m, p->faces_topic, p->buf, len, 1, false, on_done, p, seq);
		if (rc != FF_OK) {
			dev_outbox_nack(p->a->outbox, seq);
			if (rc == FF_ERR_STATE)
				atomic_store(&p->lost, true);
			return;
		}
		p->inflight++;
	}
}

static void *run(void *arg)
{
	dev_publisher *p = arg;
	dev_agent *a = p->a;
	int failures = 0;

	while (!p->stopping) {
		if (!p->m || atomic_load(&p->lost)) {
			int rc;
			if (p->m)
				ff_log_warn(LOG_COMP, "event=disconnected queued=%zu", dev_outbox_count(a->outbox));
			teardown(p);
			rc = connect_once(p);
			if (rc == FF_ERR_AUTH) {
				ff_log_error(LOG_COMP, "event=auth_refused url=%s user=%s reason=\"broker refused the credentials: wrong mqtt_username or mqtt_password, or not allowed\"",
					     a->cfg.mqtt_url, a->cfg.mqtt_username ? a->cfg.mqtt_username : "(none)");
				p->result = FF_ERR_AUTH;
				atomic_store(&a->fatal, true);
				dev_agent_stop(a); /* a watch or stdin source may be waiting */
				break;
			}
			if (rc != FF_OK) {
				int64_t d = backoff_ms(p, ++failures);
				ff_log_warn(LOG_COMP, "event=connect_retry url=%s attempt=%d err=\"%s\" retry_in_ms=%lld queued=%zu",
					    a->cfg.mqtt_url, failures, ff_strerror(rc), (long long)d,
					    dev_outbox_count(a->outbox));
				sleep_unless_stopping(p, d);
				continue;
			}
			ff_log_info(LOG_COMP, "event=online url=%s attempts=%d queued=%zu", a->cfg.mqtt_url,
				    failures + 1, dev_outbox_count(a->outbox));
			failures = 0;
			atomic_store(&a->status_dirty, true);
		}
		process_acks(p);
		if (dev_mono_ms() >= p->next_resend_check_ms) {
			dev_outbox_resend_unanswered(a->outbox, a->cfg.receipt_timeout_ms);
			p->next_resend_check_ms = dev_mono_ms() + 1000;
		}
		if (atomic_exchange(&a->status_dirty, false) || dev_mono_ms() >= p->next_status_ms) {
			int iv;
			pthread_mutex_lock(&a->settings.mu);
			iv = a->settings.status_interval_s;
			pthread_mutex_unlock(&a->settings.mu);
			if (publish_status(p, DEV_STATE_ONLINE, false) == FF_ERR_STATE)
				atomic_store(&p->lost, true);
			p->next_status_ms = dev_mono_ms() + (int64_t)iv * 1000;
		}
		fill_window(p);
		int64_t wait = p->next_status_ms - dev_mono_ms();
		if (p->pace_wait_ms > 0 && p->pace_wait_ms < wait)
			wait = p->pace_wait_ms;
		wait_kick(p, wait < 1 ? 1 : wait > 1000 ? 1000 : wait);
	}
	if (p->m && ff_mqtt_is_connected(p->m)) {
		settle_inflight(p, 2000);
		publish_status(p, DEV_STATE_OFFLINE, true);
		ff_mqtt_disconnect(p->m, 2000);
	}
	teardown(p);
	return NULL;
}

int dev_publisher_start(dev_agent *a, dev_publisher **out)
{
	dev_publisher *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	int rc;

	if (!p)
		return FF_ERR_NOMEM;
	p->a = a;
	p->cap = (size_t)a->cfg.publish_window * 2 + 8;
	p->acks = calloc(p->cap, sizeof(ack));
	if (!p->acks) {
		free(p);
		return FF_ERR_NOMEM;
	}
	dev_topic(&a->cfg, "faces", p->faces_topic, sizeof(p->faces_topic));
	dev_topic(&a->cfg, "status", p->status_topic, sizeof(p->status_topic));
	dev_topic(&a->cfg, "config", p->config_topic, sizeof(p->config_topic));
	dev_topic(&a->cfg, "receipt", p->receipt_topic, sizeof(p->receipt_topic));
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&p->thr, NULL, run, p);
	if (rc != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p->acks);
		free(p);
		return FF_ERR_NOMEM;
	}
	*out = p;
	return FF_OK;
}

bool dev_publisher_drain(dev_publisher *p, int timeout_s)
{
	int64_t end = dev_mono_ms() + (int64_t)timeout_s * 1000;
	dev_agent *a = p->a;

	while (dev_outbox_count(a->outbox) > 0) {
		if (atomic_load(&a->stop) || atomic_load(&a->fatal) ||
		    (timeout_s > 0 && dev_mono_ms() >= end))
			return false;
		usleep(20000);
	}
	return true;
}

int dev_publisher_stop(dev_publisher *p)
{
	int rc;
	if (!p)
		return FF_OK;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thr, NULL);
	rc = p->result;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->acks);
	free(p);
	return rc;
}
