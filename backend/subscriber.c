/* The backend's inbound MQTT v5 session (subscriber.h): a minimal client
 * that lets the store acknowledge each message after its commit. */
#include "subscriber.h"

#include "backend.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/waker.h"
#include "mqtt_packet.h"
#include "sub_conn.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOG_COMP "subscriber"

struct be_sub {
	be_sub_options opt; /* strings owned */
	char *watch[BE_SUB_WATCH_MAX + 1]; /* opt.watch_filters' copies, NULL-terminated */
	char host[256];
	char port[16];
	pthread_t thread;
	pthread_mutex_t mu; /* fd, gen, ready, socket writes */
	pthread_cond_t cv;
	int fd;
	bool tls;           /* ssl:// or mqtts:// */
	SSL_CTX *tls_ctx;   /* the CA that must sign the broker's certificate */
	SSL *ssl;           /* this connection's; used only under mu */
	uint64_t gen;
	bool ready;         /* SUBACK received on this connection */
	bool connacked;     /* CONNACK received on this connection */
	atomic_bool paused;
	ff_waker waker;     /* stop flag + wake-up of the thread's polls */
	int64_t last_send_ms, last_recv_ms;
	int unsuback;       /* leaving: the UNSUBACK's reason, -1 until it came */
	uint8_t *rbuf;
	size_t rlen, rcap;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes under s->mu (caller holds it). */
static int send_locked(be_sub *s, const uint8_t *p, size_t n)
{
	if (s->fd < 0)
		return FF_ERR_STATE;
	while (n) {
		ssize_t w = s->ssl ? SSL_write(s->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n))
				   : send(s->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			shutdown(s->fd, SHUT_RDWR); /* the reader notices and reconnects */
			return FF_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	s->last_send_ms = now_ms();
	return FF_OK;
}

static int send_packet(be_sub *s, const uint8_t *p, size_t n)
{
	int rc;
	pthread_mutex_lock(&s->mu);
	rc = send_locked(s, p, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int send_connect(be_sub *s)
{
	mqp_buf pkt;
	mqp_connect c = { s->opt.client_id, s->opt.username, s->opt.password, (unsigned)s->opt.keepalive_s,
			  s->opt.session_expiry_s, s->opt.receive_max };
	if (mqp_build_connect(&pkt, &c) != FF_OK)
		return FF_ERR_RANGE;
	return send_packet(s, pkt.b, pkt.n);
}

#define FACES_PID 1 /* the faces' SUBSCRIBE; watch filter i is FACES_PID + 1 + i */

static int send_subscribe(be_sub *s)
{
	mqp_buf pkt;
	int rc;
	/* QoS 1, retain handling 2: no retained message on (re)subscribe. A
	 * face a device published retained is decided once, when it arrives
	 * live, not again at every reconnect */
	if (mqp_build_subscribe(&pkt, FACES_PID, s->opt.filter, 0x21) != FF_OK)
		return FF_ERR_RANGE;
	rc = send_packet(s, pkt.b, pkt.n);
	/* QoS 0, retain handling 0: each status topic's retained state now */
	for (int i = 0; rc == FF_OK && s->watch[i]; i++) {
		if (mqp_build_subscribe(&pkt, (uint16_t)(FACES_PID + 1 + i), s->watch[i], 0x00) != FF_OK)
			return FF_ERR_RANGE;
		rc = send_packet(s, pkt.b, pkt.n);
	}
	return rc;
}

/* A watch filter's SUBACK: logged only, a refusal must not stop the faces. */
static void watch_suback(be_sub *s, int pid, int reason)
{
	int i = pid - FACES_PID - 1;
	const char *f = i >= 0 && i < BE_SUB_WATCH_MAX && s->watch[i] ? s->watch[i] : "?";
	if (reason >= 0x80)
		ff_log_warn(LOG_COMP, "event=watch_refused filter=%s reason=0x%02x note=\"the broker's "
				      "ACL lacks it (broker-config/dynsec-seed)\"", f, reason);
	else
		ff_log_info(LOG_COMP, "event=watching filter=%s", f);
}

/* The watch filter topic matches, or -1. */
static int watch_match(const be_sub *s, const char *topic)
{
	for (int i = 0; s->watch[i]; i++)
		if (mqp_topic_matches(s->watch[i], topic))
			return i;
	return -1;
}

/* ---- decoding ---- */

/* Handles one complete packet; returns FF_OK or an error that ends the connection. */
static int handle_packet(be_sub *s, unsigned first, const uint8_t *p, size_t n)
{
	unsigned type = first >> 4;
	switch (type) {
	case MQP_CONNACK:
		if (n < 2)
			return FF_ERR_FORMAT;
		if (p[1] >= 0x80) {
			ff_log_error(LOG_COMP, "event=connect_refused client=%s reason=0x%02x",
				     s->opt.client_id, p[1]);
			return p[1] == 0x86 || p[1] == 0x87 ? FF_ERR_AUTH : FF_ERR_MQTT;
		}
		pthread_mutex_lock(&s->mu);
		s->gen++;
		s->connacked = true;
		pthread_mutex_unlock(&s->mu);
		ff_log_info(LOG_COMP, "event=connected client=%s session_present=%d", s->opt.client_id,
			    p[0] & 1);
		return send_subscribe(s);
	case MQP_SUBACK: {
		int reason = mqp_suback_reason(p, n), pid = mqp_suback_pid(p, n);
		if (reason < 0)
			return FF_ERR_FORMAT;
		if (pid != FACES_PID) {
			watch_suback(s, pid, reason);
			return FF_OK;
		}
		if (reason >= 0x80) {
			ff_log_error(LOG_COMP, "event=subscribe_refused filter=%s reason=0x%02x",
				     s->opt.filter, reason);
			return FF_ERR_AUTH;
		}
		pthread_mutex_lock(&s->mu);
		s->ready = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		ff_log_info(LOG_COMP, "event=subscribed filter=%s qos=%d", s->opt.filter, reason);
		if (s->opt.on_state)
			s->opt.on_state(s->opt.ctx, true);
		return FF_OK;
	}
	case MQP_PUBLISH: {
		mqp_publish pub;
		char topic[1024];
		size_t tlen;
		if (mqp_parse_publish(first, p, n, &pub) != FF_OK)
			return FF_ERR_FORMAT;
		tlen = pub.topic_len < sizeof(topic) ? pub.topic_len : sizeof(topic) - 1; /* never a valid facefleet topic anyway */
		memcpy(topic, pub.topic, tlen);
		topic[tlen] = '\0';
		if (atomic_load(&s->paused))
			return FF_OK;
		if (pub.qos == 0 && s->opt.on_watch && watch_match(s, topic) >= 0)
			s->opt.on_watch(s->opt.ctx, topic, pub.payload, pub.payload_len, pub.retain);
		else if (s->opt.on_message)
			s->opt.on_message(s->opt.ctx, topic, pub.payload, pub.payload_len, pub.pid, pub.dup,
					  s->gen);
		return FF_OK;
	}
	case MQP_DISCONNECT:
		ff_log_warn(LOG_COMP, "event=server_disconnect reason=0x%02x", n ? p[0] : 0);
		return FF_ERR_MQTT;
	default: /* PINGRESP, PUBACK of nothing, AUTH...: nothing to do */
		return FF_OK;
	}
}

/* TLS on a new connection; the SSL object is used under mu from then on. */
static int attach_tls(be_sub *s, int fd)
{
	SSL *ssl = be_conn_tls_handshake(s->tls_ctx, fd, s->host);
	if (!ssl)
		return FF_ERR_AUTH;
	pthread_mutex_lock(&s->mu);
	s->ssl = ssl;
	pthread_mutex_unlock(&s->mu);
	return FF_OK;
}

/* Bytes into rbuf: recv, or SSL_read under mu (acks write on the same SSL
 * object from other threads). Returns recv's convention. */
static ssize_t read_some(be_sub *s)
{
	ssize_t r;
	int err;
	if (!s->ssl)
		return recv(s->fd, s->rbuf + s->rlen, s->rcap - s->rlen, 0);
	pthread_mutex_lock(&s->mu);
	r = SSL_read(s->ssl, s->rbuf + s->rlen, (int)(s->rcap - s->rlen > INT32_MAX ? INT32_MAX : s->rcap - s->rlen));
	err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, (int)r);
	pthread_mutex_unlock(&s->mu);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN; /* a record not complete yet (the 5 s receive timeout) */
		return -1;
	}
	return err == SSL_ERROR_ZERO_RETURN ? 0 : r;
}

/* Decrypted bytes waiting inside the SSL object: poll cannot see them. */
static bool tls_pending(be_sub *s)
{
	bool p;
	if (!s->ssl)
		return false;
	pthread_mutex_lock(&s->mu);
	p = SSL_pending(s->ssl) > 0;
	pthread_mutex_unlock(&s->mu);
	return p;
}

/* Waits up to timeout_ms for bytes from the broker, or, with wake, for a
 * wake-up of the waker (stop): 1 bytes there, 0 none, FF_ERR_IO. */
static int wait_input(be_sub *s, int timeout_ms, bool wake)
{
	struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { wake ? ff_waker_fd(&s->waker) : -1, POLLIN, 0 } };
	int pr;
	if (tls_pending(s))
		return 1;
	pr = poll(p, 2, timeout_ms);
	if (pr < 0)
		return errno == EINTR ? 0 : FF_ERR_IO;
	return pr > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

/* PINGREQ when we have been quiet for half the keep-alive; FF_ERR_TIMEOUT
 * when the broker has been for one and a half. */
static int keep_alive(be_sub *s)
{
	static const uint8_t ping[2] = { MQP_PINGREQ << 4, 0 };
	int64_t ka = (int64_t)s->opt.keepalive_s * 1000, now = now_ms();
	if (ka <= 0)
		return FF_OK;
	if (now - s->last_recv_ms > ka * 3 / 2) {
		ff_log_warn(LOG_COMP, "event=keepalive_timeout client=%s", s->opt.client_id);
		return FF_ERR_TIMEOUT;
	}
	if (now - s->last_send_ms >= ka / 2 && send_packet(s, ping, 2) != FF_OK)
		return FF_ERR_IO;
	return FF_OK;
}

typedef int (*packet_fn)(be_sub *s, unsigned first, const uint8_t *p, size_t n);

/* Hands every complete packet in rbuf to fn and keeps the incomplete rest;
 * FF_OK or the error that ends the connection. */
static int handle_buffered(be_sub *s, packet_fn fn)
{
	size_t off = 0;
	int rc = FF_OK;
	while (rc == FF_OK && s->rlen - off >= 2) {
		size_t rl, total;
		int k = mqp_getvar(s->rbuf + off + 1, s->rlen - off - 1, &rl);
		if (k < 0)
			return FF_ERR_FORMAT;
		if (k == 0)
			break;
		if (rl > s->opt.max_packet) {
			ff_log_error(LOG_COMP, "event=packet_too_large bytes=%zu max=%zu", rl, s->opt.max_packet);
			return FF_ERR_RANGE;
		}
		total = 1 + (size_t)k + rl;
		if (s->rlen - off < total)
			break;
		rc = fn(s, s->rbuf[off], s->rbuf + off + 1 + k, rl);
		off += total;
	}
	memmove(s->rbuf, s->rbuf + off, s->rlen - off);
	s->rlen -= off;
	return rc;
}

/* Reads what the broker sent (the connection has input) and hands the
 * complete packets to fn. FF_OK (also when nothing could be read yet) or
 * the error that ends the connection. */
static int read_and_handle(be_sub *s, packet_fn fn)
{
	ssize_t r;
	if (s->rcap - s->rlen < 4096) {
		size_t ncap = s->rcap * 2;
		uint8_t *nb = realloc(s->rbuf, ncap);
		if (!nb)
			return FF_ERR_NOMEM;
		s->rbuf = nb;
		s->rcap = ncap;
	}
	r = read_some(s);
	if (r == 0)
		return FF_ERR_IO;
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? FF_OK : FF_ERR_IO;
	s->rlen += (size_t)r;
	s->last_recv_ms = now_ms();
	return handle_buffered(s, fn);
}

/* Reads and handles packets until the connection ends or stop. */
static int session(be_sub *s)
{
	int64_t connect_deadline = now_ms() + 10000;
	int rc;
	s->rlen = 0;
	s->last_recv_ms = now_ms();
	if ((rc = send_connect(s)) != FF_OK)
		return rc;
	while (!ff_waker_stopping(&s->waker)) {
		int in = wait_input(s, 500, true);
		if (in < 0)
			return in;
		if (!s->connacked && now_ms() > connect_deadline)
			return FF_ERR_TIMEOUT;
		if ((rc = keep_alive(s)) != FF_OK)
			return rc;
		if (in && (rc = read_and_handle(s, handle_packet)) != FF_OK)
			return rc;
	}
	return FF_OK;
}

#define LEAVE_WAIT_MS 2000 /* for the UNSUBACK of a share-group member's clean stop */

/* While leaving: only the UNSUBACK of the faces' filter counts. A PUBLISH
 * is not processed (the work queue is closed): it stays unacknowledged in
 * the session, see say_goodbye. */
static int leaving_packet(be_sub *s, unsigned first, const uint8_t *p, size_t n)
{
	uint16_t pid;
	int reason;
	if (first >> 4 == MQP_DISCONNECT)
		return handle_packet(s, first, p, n);
	if (first >> 4 != MQP_UNSUBACK)
		return FF_OK;
	if ((reason = mqp_parse_unsuback(p, n, &pid)) < 0)
		return FF_ERR_FORMAT;
	if (pid == FACES_PID)
		s->unsuback = reason;
	return FF_OK;
}

/* UNSUBSCRIBE of the faces' shared filter, then up to LEAVE_WAIT_MS for its
 * UNSUBACK. Logs the outcome; FF_OK when the broker confirmed. */
static int leave_share_group(be_sub *s)
{
	int64_t deadline = now_ms() + LEAVE_WAIT_MS;
	mqp_buf pkt;
	int rc;
	s->unsuback = -1;
	if (mqp_build_unsubscribe(&pkt, FACES_PID, s->opt.filter) != FF_OK)
		return FF_ERR_RANGE; /* it was subscribed with: cannot happen */
	rc = send_packet(s, pkt.b, pkt.n);
	while (rc == FF_OK && s->unsuback < 0) {
		int64_t left = deadline - now_ms();
		int in = left > 0 ? wait_input(s, (int)left, false) : FF_ERR_TIMEOUT;
		rc = in < 0 ? in : in ? read_and_handle(s, leaving_packet) : FF_OK;
	}
	if (rc == FF_OK && s->unsuback < 0x80)
		ff_log_info(LOG_COMP, "event=unsubscribed client=%s filter=%s reason=0x%02x",
			    s->opt.client_id, s->opt.filter, s->unsuback);
	else
		ff_log_warn(LOG_COMP, "event=unsubscribe_failed client=%s filter=%s err=\"%s\"",
			    s->opt.client_id, s->opt.filter,
			    rc != FF_OK ? ff_strerror(rc) : "refused by the broker");
	return rc != FF_OK ? rc : s->unsuback < 0x80 ? FF_OK : FF_ERR_MQTT;
}

/* The clean stop's goodbye (mu not held: it reads, and reading and sending
 * take mu). A member of a share group first leaves the group: Mosquitto
 * keeps routing a share of the group's faces to a stopped member's
 * persistent session, where they wait until it comes back or the session
 * expires (seen: deploy/demo's stopped backend held 2 of 5 faces). So it
 * UNSUBSCRIBEs its shared filter and waits (bounded) for the UNSUBACK;
 * PUBLISHes that arrive meanwhile, like any still unacknowledged after the
 * drain, are not processed: they stay unacknowledged in the session and
 * are redelivered if the member comes back within session_expiry_s, and
 * otherwise their devices send them again for want of a receipt (the other
 * members carry the stream). It does not end the session (DISCONNECT with
 * Session Expiry 0) instead: with Mosquitto 2.0.11, when the same client id
 * then resumes (clean start 0, the restart of this backend), about half of
 * the shared subscription's messages are lost at the broker.
 * Then a plain DISCONNECT: the session stays for session_expiry_s (a plain
 * subscription, a single backend, has faces queue for it across a restart).
 * A crashed backend says nothing, and its session lasts session_expiry_s. */
static void say_goodbye(be_sub *s)
{
	static const uint8_t bye[2] = { MQP_DISCONNECT << 4, 0 };
	if (strncmp(s->opt.filter, "$share/", 7) == 0)
		leave_share_group(s); /* logged; DISCONNECT in any case */
	send_packet(s, bye, sizeof(bye));
}

static void *sub_main(void *arg)
{
	be_sub *s = arg;
	int backoff_ms = 200;
	while (!ff_waker_stopping(&s->waker)) {
		int fd = be_conn_tcp(s->host, s->port), rc;
		if (fd >= 0 && s->tls && attach_tls(s, fd) != FF_OK) {
			close(fd); /* logged; a wrong CA or name is retried like a broker away */
			fd = -1;
		}
		if (fd < 0) {
			ff_log_warn(LOG_COMP, "event=connect_failed host=%s port=%s retry_ms=%d", s->host,
				    s->port, backoff_ms);
			rc = FF_ERR_IO;
		} else {
			uint64_t gen0;
			pthread_mutex_lock(&s->mu);
			s->fd = fd;
			s->ready = false;
			s->connacked = false;
			gen0 = s->gen;
			pthread_mutex_unlock(&s->mu);
			rc = session(s);
			if (ff_waker_stopping(&s->waker) && rc == FF_OK)
				say_goodbye(s);
			pthread_mutex_lock(&s->mu);
			SSL_free(s->ssl);
			s->ssl = NULL;
			close(s->fd);
			s->fd = -1;
			s->ready = false;
			pthread_mutex_unlock(&s->mu);
			if (s->gen != gen0) {
				ff_log_warn(LOG_COMP, "event=disconnected client=%s err=\"%s\"",
					    s->opt.client_id, rc == FF_OK ? "stopped" : ff_strerror(rc));
				if (s->opt.on_state)
					s->opt.on_state(s->opt.ctx, false);
				backoff_ms = 200; /* it worked for a while: retry soon */
			}
		}
		if (ff_waker_sleep(&s->waker, backoff_ms))
			break;
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
	return NULL;
}

/* ---- API ---- */

static void free_opts(be_sub *s)
{
	free((char *)s->opt.url);
	free((char *)s->opt.client_id);
	free((char *)s->opt.username);
	free((char *)s->opt.password);
	free((char *)s->opt.filter);
	for (int i = 0; s->watch[i]; i++)
		free(s->watch[i]);
	SSL_CTX_free(s->tls_ctx); /* owned with the options: made from ca_file */
}

int be_sub_start(const be_sub_options *opt, be_sub **out)
{
	be_sub *s;
	int rc;
	bool watch_ok = true;
	size_t nwatch = 0;
	pthread_condattr_t ca;
	while (opt && opt->watch_filters && opt->watch_filters[nwatch] && nwatch <= BE_SUB_WATCH_MAX)
		nwatch++;
	if (!opt || !out || !opt->url || !opt->client_id || !*opt->client_id || !opt->filter ||
	    !opt->receive_max || opt->keepalive_s < 0 || opt->keepalive_s > 65535 ||
	    nwatch > BE_SUB_WATCH_MAX || (nwatch && !opt->on_watch))
		return FF_ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return FF_ERR_NOMEM;
	if ((rc = be_conn_parse_url(opt->url, s->host, sizeof(s->host), s->port, sizeof(s->port),
				    &s->tls)) != FF_OK) {
		free(s);
		return rc;
	}
	if (s->tls && (!opt->ca_file || !*opt->ca_file || !(s->tls_ctx = be_conn_tls_context(opt->ca_file)))) {
		free(s);
		return FF_ERR_INVAL; /* an ssl:// url needs the CA that signs the broker */
	}
	s->opt = *opt;
	s->opt.url = strdup(opt->url);
	s->opt.client_id = strdup(opt->client_id);
	s->opt.username = strdup(opt->username ? opt->username : "");
	s->opt.password = strdup(opt->password ? opt->password : "");
	s->opt.filter = strdup(opt->filter);
	s->opt.ca_file = NULL; /* read once, into tls_ctx */
	s->opt.watch_filters = NULL; /* copied into s->watch */
	for (size_t i = 0; i < nwatch && watch_ok; i++)
		watch_ok = (s->watch[i] = strdup(opt->watch_filters[i])) != NULL;
	if (!s->opt.max_packet)
		s->opt.max_packet = 1u << 20;
	s->rcap = 65536;
	s->rbuf = malloc(s->rcap);
	s->fd = -1;
	if (!watch_ok || !s->opt.url || !s->opt.client_id || !s->opt.username || !s->opt.password ||
	    !s->opt.filter || !s->rbuf || ff_waker_init(&s->waker) != FF_OK) {
		free_opts(s);
		free(s->rbuf);
		free(s);
		return FF_ERR_NOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sub_main, s) != 0) {
		ff_waker_close(&s->waker);
		free_opts(s);
		free(s->rbuf);
		free(s);
		return FF_ERR_NOMEM;
	}
	*out = s;
	return FF_OK;
}

int be_sub_wait_ready(be_sub *s, int timeout_ms)
{
	struct timespec dl;
	bool ok;
	ff_deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&s->mu);
	while (!s->ready)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
			break;
	ok = s->ready;
	pthread_mutex_unlock(&s->mu);
	return ok ? FF_OK : FF_ERR_TIMEOUT;
}

int be_sub_ack(be_sub *s, uint16_t packet_id, uint64_t gen)
{
	uint8_t pkt[4];
	int rc;
	if (!packet_id)
		return FF_OK; /* QoS 0: nothing to acknowledge */
	mqp_build_puback(pkt, packet_id);
	pthread_mutex_lock(&s->mu);
	rc = gen == s->gen ? send_locked(s, pkt, sizeof(pkt)) : FF_ERR_STATE;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void be_sub_pause(be_sub *s)
{
	if (s)
		atomic_store(&s->paused, true);
}

void be_sub_stop(be_sub *s)
{
	if (!s)
		return;
	ff_waker_stop(&s->waker);
	pthread_join(s->thread, NULL);
	ff_waker_close(&s->waker);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free_opts(s);
	free(s->rbuf);
	free(s);
}
