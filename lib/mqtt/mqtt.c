/* Paho MQTTAsync wrapper, MQTT v5 (facefleet/mqtt.h).
 *
 * Every blocking call registers an "op" on the client, hands it to Paho as
 * the callback context and waits on the client's condition variable until
 * the op is done or the timeout passes. A timed-out op is marked abandoned
 * and freed by the late callback, or by ff_mqtt_destroy, whichever comes
 * first, so a late callback never touches freed memory. */
#include "facefleet/mqtt.h"
#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/random.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_COMP "mqtt"
#define MAX_ALIASES 8

typedef struct ff_mqtt_op {
	struct ff_mqtt_op *next;
	ff_mqtt *m;
	bool done;
	bool abandoned;
	int rc; /* ff_err */
	bool is_connect;         /* on success, read the CONNACK's Topic Alias Maximum */
	ff_mqtt_done_cb done_cb; /* asynchronous op: called and freed on completion */
	void *done_ctx;
	uint64_t tag;
} ff_mqtt_op;

struct ff_mqtt {
	MQTTAsync client;
	ff_mqtt_options opt; /* string members point to owned copies */
	bool tls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ff_mqtt_op *ops; /* pending and abandoned ops */
	/* topic aliases (opt.topic_aliases): send_mu keeps "define alias" ahead
	 * of "use alias" on the wire; alias i+1 names alias_topic[i] */
	pthread_mutex_t send_mu;
	int alias_max; /* broker's Topic Alias Maximum, capped at MAX_ALIASES */
	int nalias;
	char *alias_topic[MAX_ALIASES];
	char connect_why[128]; /* Paho's words for the last failed connect (under mu) */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int reason_to_err(int reason)
{
	switch (reason) {
	case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
	case MQTTREASONCODE_NOT_AUTHORIZED:
	case MQTTREASONCODE_BAD_AUTHENTICATION_METHOD:
	case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
	case MQTTREASONCODE_BANNED:
		return FF_ERR_AUTH;
	default:
		return FF_ERR_MQTT;
	}
}

/* ---- ops: must hold m->mu for all of these ---- */

static ff_mqtt_op *op_new(ff_mqtt *m)
{
	ff_mqtt_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->m = m;
	pthread_mutex_lock(&m->mu);
	op->next = m->ops;
	m->ops = op;
	pthread_mutex_unlock(&m->mu);
	return op;
}

static void op_unlink_locked(ff_mqtt *m, ff_mqtt_op *op)
{
	for (ff_mqtt_op **pp = &m->ops; *pp; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			free(op);
			return;
		}
	}
}

/* Called from Paho's thread when an op completes. */
static void op_complete(ff_mqtt_op *op, int rc)
{
	ff_mqtt *m = op->m;
	pthread_mutex_lock(&m->mu);
	if (op->done_cb) { /* nobody waits: report, then free */
		ff_mqtt_done_cb cb = op->done_cb;
		void *ctx = op->done_ctx;
		uint64_t tag = op->tag;
		op_unlink_locked(m, op);
		pthread_mutex_unlock(&m->mu);
		cb(ctx, tag, rc);
		return;
	}
	op->done = true;
	op->rc = rc;
	if (op->abandoned)
		op_unlink_locked(m, op);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* Drops an op whose request Paho refused synchronously. */
static void op_drop(ff_mqtt_op *op)
{
	ff_mqtt *m = op->m;
	pthread_mutex_lock(&m->mu);
	op_unlink_locked(m, op);
	pthread_mutex_unlock(&m->mu);
}

static int op_wait(ff_mqtt_op *op, int timeout_ms)
{
	ff_mqtt *m = op->m;
	struct timespec deadline;
	int rc;

	ff_deadline_in(&deadline, timeout_ms); /* CLOCK_MONOTONIC, the condition variable's clock */
	pthread_mutex_lock(&m->mu);
	while (!op->done) {
		if (pthread_cond_timedwait(&m->cv, &m->mu, &deadline) == ETIMEDOUT)
			break;
	}
	if (op->done) {
		rc = op->rc;
		op_unlink_locked(m, op);
	} else {
		op->abandoned = true;
		rc = FF_ERR_TIMEOUT;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ---- Paho callbacks ---- */

static void on_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	int rc = FF_OK;
	ff_mqtt_op *op = ctx;
	/* a single SUBACK reports refusal as a reason code >= 0x80 */
	if (resp && resp->reasonCode >= 0x80)
		rc = reason_to_err(resp->reasonCode);
	if (rc == FF_OK && op->is_connect && resp) {
		int max = MQTTProperties_hasProperty(&resp->properties,
						     MQTTPROPERTY_CODE_TOPIC_ALIAS_MAXIMUM)
				  ? MQTTProperties_getNumericValue(&resp->properties,
								   MQTTPROPERTY_CODE_TOPIC_ALIAS_MAXIMUM)
				  : 0;
		pthread_mutex_lock(&op->m->send_mu);
		op->m->alias_max = max < 0 ? 0 : max > MAX_ALIASES ? MAX_ALIASES : max;
		pthread_mutex_unlock(&op->m->send_mu);
	}
	op_complete(op, rc);
}

static void on_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	ff_mqtt_op *op = ctx;
	int reason = resp ? (int)resp->reasonCode : 0;
	int rc;
	/* a refused CONNECT carries the CONNACK reason code in `code` (Paho's
	 * own errors are negative there) */
	if (!reason && resp && resp->code > 0)
		reason = resp->code;
	rc = reason ? reason_to_err(reason) : FF_ERR_MQTT;
	ff_log_debug(LOG_COMP, "event=request_failed code=%d reason=%d message=\"%s\"",
		     resp ? resp->code : 0, reason,
		     resp && resp->message ? resp->message : "");
	if (op->is_connect) { /* kept for ff_mqtt_connect's log line */
		pthread_mutex_lock(&op->m->mu);
		snprintf(op->m->connect_why, sizeof(op->m->connect_why), "%s",
			 resp && resp->message ? resp->message
			 : reason	       ? MQTTReasonCode_toString((enum MQTTReasonCodes)reason)
					       : "");
		pthread_mutex_unlock(&op->m->mu);
	}
	op_complete(op, rc);
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	ff_mqtt *m = ctx;
	char *t = topic;
	char *copy = NULL;

	if (m->opt.on_message) {
		if (topic_len > 0) { /* topic may not be NUL-terminated */
			copy = malloc((size_t)topic_len + 1);
			if (copy) {
				memcpy(copy, topic, (size_t)topic_len);
				copy[topic_len] = '\0';
				t = copy;
			}
		}
		ff_mqtt_message fm = { .topic = t,
				       .payload = msg->payload,
				       .len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
				       .qos = msg->qos,
				       .retained = msg->retained != 0,
				       .duplicate = msg->dup != 0 };
		m->opt.on_message(m->opt.cb_ctx, &fm);
	}
	free(copy);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1; /* handled: Paho acknowledges */
}

static void on_lost(void *ctx, char *cause)
{
	ff_mqtt *m = ctx;
	ff_log_warn(LOG_COMP, "event=connection_lost client=%s cause=\"%s\"", m->opt.client_id,
		    cause ? cause : "unknown");
	if (m->opt.on_connection)
		m->opt.on_connection(m->opt.cb_ctx, false, cause);
	if (cause)
		MQTTAsync_free(cause);
}

static void on_connected(void *ctx, char *cause)
{
	ff_mqtt *m = ctx;
	ff_log_info(LOG_COMP, "event=connected client=%s url=%s", m->opt.client_id, m->opt.url);
	if (m->opt.on_connection)
		m->opt.on_connection(m->opt.cb_ctx, true, cause);
}

/* Forgets every alias (a new connection starts without any). */
static void aliases_reset(ff_mqtt *m)
{
	pthread_mutex_lock(&m->send_mu);
	for (int i = 0; i < m->nalias; i++) {
		free(m->alias_topic[i]);
		m->alias_topic[i] = NULL;
	}
	m->nalias = 0;
	m->alias_max = 0;
	pthread_mutex_unlock(&m->send_mu);
}

/* With send_mu held: the alias for topic (1..), assigning one when there is
 * room (*fresh = true: this publish must carry the topic too); 0 = none. */
static int alias_for(ff_mqtt *m, const char *topic, bool *fresh)
{
	*fresh = false;
	if (!m->opt.topic_aliases)
		return 0;
	for (int i = 0; i < m->nalias; i++)
		if (strcmp(m->alias_topic[i], topic) == 0)
			return i + 1;
	if (m->nalias >= m->alias_max || !(m->alias_topic[m->nalias] = strdup(topic)))
		return 0;
	*fresh = true;
	return ++m->nalias;
}

/* OpenSSL's reason for a failed TLS handshake (e.g. "certificate verify
 * failed"), one log line each. */
static int on_ssl_error(const char *str, size_t len, void *ctx)
{
	ff_mqtt *m = ctx;
	char q[300];
	char text[256];
	snprintf(text, sizeof(text), "%.*s", (int)(len < sizeof(text) ? len : sizeof(text) - 1), str);
	text[strcspn(text, "\r\n")] = '\0';
	ff_log_warn(LOG_COMP, "event=tls_error url=%s detail=%s", m->opt.url, ff_log_quote(q, sizeof(q), text));
	return 0;
}

/* ---- public API ---- */

static void free_strings(ff_mqtt_options *o)
{
	free((char *)o->url);
	free((char *)o->client_id);
	free((char *)o->username);
	free((char *)o->password);
	free((char *)o->ca_file);
	free((char *)o->cert_file);
	free((char *)o->key_file);
	free((char *)o->will_topic);
	free((void *)o->will_payload);
}

int ff_mqtt_create(const ff_mqtt_options *opt, ff_mqtt **out)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	ff_mqtt *m = NULL;
	pthread_condattr_t ca;
	char idbuf[64];
	int rc = FF_OK, prc;
	bool sync_ok = false;

	if (!out)
		return FF_ERR_INVAL;
	*out = NULL;
	if (!opt || !opt->url || opt->keepalive_s < 0 || opt->connect_timeout_ms <= 0 ||
	    opt->max_inflight < 1 || opt->will_qos < 0 || opt->will_qos > 2 ||
	    (opt->will_len && !opt->will_payload) || (opt->topic_aliases && opt->auto_reconnect))
		return FF_ERR_INVAL;
	if (strncmp(opt->url, "tcp://", 6) != 0 && strncmp(opt->url, "ssl://", 6) != 0 &&
	    strncmp(opt->url, "mqtts://", 8) != 0 && strncmp(opt->url, "mqtt://", 7) != 0)
		return FF_ERR_INVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return FF_ERR_NOMEM;
	m->opt = *opt;
	if (!opt->client_id) {
		uint32_t r = 0;
		if (ff_random_bytes(&r, sizeof(r)) != FF_OK) { /* never expected: the clock */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			r = (uint32_t)(ts.tv_nsec ^ (ts.tv_sec << 12));
		}
		snprintf(idbuf, sizeof(idbuf), "ff-%ld-%08lx", (long)getpid(), (unsigned long)r);
	}
	m->opt.url = dup_or_null(opt->url);
	m->opt.client_id = dup_or_null(opt->client_id ? opt->client_id : idbuf);
	m->opt.username = dup_or_null(opt->username);
	m->opt.password = dup_or_null(opt->password);
	m->opt.ca_file = dup_or_null(opt->ca_file);
	m->opt.cert_file = dup_or_null(opt->cert_file);
	m->opt.key_file = dup_or_null(opt->key_file);
	m->opt.will_topic = dup_or_null(opt->will_topic);
	m->opt.will_payload = NULL;
	if (opt->will_len) {
		void *p = malloc(opt->will_len);
		if (p)
			memcpy(p, opt->will_payload, opt->will_len);
		m->opt.will_payload = p;
	}
	if (!m->opt.url || !m->opt.client_id || (opt->username && !m->opt.username) ||
	    (opt->password && !m->opt.password) || (opt->ca_file && !m->opt.ca_file) ||
	    (opt->cert_file && !m->opt.cert_file) || (opt->key_file && !m->opt.key_file) ||
	    (opt->will_topic && !m->opt.will_topic) || (opt->will_len && !m->opt.will_payload)) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	m->tls = strncmp(m->opt.url, "ssl://", 6) == 0 || strncmp(m->opt.url, "mqtts://", 8) == 0;

	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->send_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	sync_ok = true;

	co.maxBufferedMessages = opt->max_inflight;
	prc = MQTTAsync_createWithOptions(&m->client, m->opt.url, m->opt.client_id,
					  MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (prc != MQTTASYNC_SUCCESS) {
		ff_log_error(LOG_COMP, "event=create_failed url=%s rc=%d", m->opt.url, prc);
		m->client = NULL;
		rc = prc == MQTTASYNC_BAD_PROTOCOL ? FF_ERR_INVAL : FF_ERR_MQTT;
		goto out;
	}
	if (MQTTAsync_setCallbacks(m->client, m, on_lost, on_message, NULL) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(m->client, m, on_connected) != MQTTASYNC_SUCCESS) {
		rc = FF_ERR_MQTT;
		goto out;
	}
	*out = m;
	m = NULL;
out:
	if (m) {
		if (m->client)
			MQTTAsync_destroy(&m->client);
		if (sync_ok) {
			pthread_cond_destroy(&m->cv);
			pthread_mutex_destroy(&m->mu);
			pthread_mutex_destroy(&m->send_mu);
		}
		free_strings(&m->opt);
		free(m);
	}
	return rc;
}

/* After ff_mqtt_connect gave up waiting: waits (bounded) until Paho has
 * reported the connect, and ends a session that came up late, so a failed
 * ff_mqtt_connect leaves the client idle. Paho always reports a connect,
 * after its own connectTimeout, so this waits only where our wait was
 * shorter than Paho's: a starved process. Paho 1.3.11's destroy racing its
 * own connect-failure path, or tearing down a live session, leaks the
 * client's structures (seen under valgrind: ~650 B per failed attempt,
 * which a device retrying for days would pile up). */
static void settle_connect(ff_mqtt *m)
{
	struct timespec deadline;
	bool pending = true;

	ff_deadline_in(&deadline, m->opt.connect_timeout_ms + 5000);
	pthread_mutex_lock(&m->mu);
	while (pending) {
		pending = false;
		for (const ff_mqtt_op *op = m->ops; op; op = op->next)
			pending |= op->is_connect && op->abandoned && !op->done;
		if (pending && pthread_cond_timedwait(&m->cv, &m->mu, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&m->mu);
	if (MQTTAsync_isConnected(m->client))
		ff_mqtt_disconnect(m, 1000);
}

int ff_mqtt_connect(ff_mqtt *m)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	ff_mqtt_op *op;
	int rc, prc;

	if (!m)
		return FF_ERR_INVAL;
	if (MQTTAsync_isConnected(m->client))
		return FF_ERR_STATE;
	op = op_new(m);
	if (!op)
		return FF_ERR_NOMEM;
	op->is_connect = true; /* Paho has not seen op yet */
	aliases_reset(m);

	co.keepAliveInterval = m->opt.keepalive_s;
	co.cleansession = 0; /* v5 uses cleanstart */
	co.cleanstart = m->opt.clean_start ? 1 : 0;
	co.maxInflight = m->opt.max_inflight;
	co.username = m->opt.username;
	co.password = m->opt.password;
	co.connectTimeout = (m->opt.connect_timeout_ms + 999) / 1000;
	co.automaticReconnect = m->opt.auto_reconnect ? 1 : 0;
	co.minRetryInterval = 1;
	co.maxRetryInterval = 60;
	co.onSuccess5 = on_ok5;
	co.onFailure5 = on_fail5;
	co.context = op;
	if (m->opt.session_expiry_s) {
		MQTTProperty p = { .identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL };
		p.value.integer4 = m->opt.session_expiry_s;
		MQTTProperties_add(&props, &p);
		co.connectProperties = &props;
	}
	if (m->tls) {
		ssl.trustStore = m->opt.ca_file;
		ssl.keyStore = m->opt.cert_file;
		ssl.privateKey = m->opt.key_file;
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
		ssl.ssl_error_cb = on_ssl_error;
		ssl.ssl_error_context = m;
		co.ssl = &ssl;
	}
	if (m->opt.will_topic) {
		will.struct_version = 1;
		will.topicName = m->opt.will_topic;
		will.message = NULL;
		will.payload.data = m->opt.will_payload;
		will.payload.len = (int)m->opt.will_len;
		will.qos = m->opt.will_qos;
		will.retained = m->opt.will_retain ? 1 : 0;
		co.will = &will;
	}

	prc = MQTTAsync_connect(m->client, &co);
	MQTTProperties_free(&props);
	if (prc != MQTTASYNC_SUCCESS) {
		op_drop(op);
		ff_log_error(LOG_COMP, "event=connect_failed url=%s rc=%d", m->opt.url, prc);
		return FF_ERR_MQTT;
	}
	rc = op_wait(op, m->opt.connect_timeout_ms + 1000);
	if (rc == FF_ERR_TIMEOUT)
		settle_connect(m);
	if (rc == FF_OK && m->opt.topic_aliases)
		ff_log_debug(LOG_COMP, "event=topic_aliases client=%s broker_max=%d", m->opt.client_id,
			     m->alias_max);
	if (rc != FF_OK) {
		char why[128], q[160];
		pthread_mutex_lock(&m->mu);
		snprintf(why, sizeof(why), "%s", m->connect_why);
		m->connect_why[0] = '\0';
		pthread_mutex_unlock(&m->mu);
		ff_log_warn(LOG_COMP, "event=connect_failed url=%s client=%s err=\"%s\" reason=%s",
			    m->opt.url, m->opt.client_id, ff_strerror(rc),
			    ff_log_quote(q, sizeof(q), why[0] ? why : "timeout or no answer"));
	}
	return rc;
}

/* Validates, registers an op (asynchronous when done != NULL) and hands the
 * message to Paho. On FF_OK *opp is the registered op. */
static int send_message(ff_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
			bool retain, ff_mqtt_done_cb done, void *ctx, uint64_t tag,
			ff_mqtt_op **opp)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	ff_mqtt_op *op;
	bool fresh;
	int prc, alias;

	if (!m || !topic || !*topic || qos < 0 || qos > 2 || (len && !payload) || len > INT32_MAX ||
	    strpbrk(topic, "+#"))
		return FF_ERR_INVAL;
	if (!MQTTAsync_isConnected(m->client))
		return FF_ERR_STATE;
	op = op_new(m);
	if (!op)
		return FF_ERR_NOMEM;
	pthread_mutex_lock(&m->mu);
	op->done_cb = done;
	op->done_ctx = ctx;
	op->tag = tag;
	pthread_mutex_unlock(&m->mu);
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retain ? 1 : 0;
	ro.onSuccess5 = on_ok5;
	ro.onFailure5 = on_fail5;
	ro.context = op;
	pthread_mutex_lock(&m->send_mu);
	alias = alias_for(m, topic, &fresh);
	if (alias) {
		MQTTProperty p = { .identifier = MQTTPROPERTY_CODE_TOPIC_ALIAS };
		p.value.integer2 = (unsigned short)alias;
		MQTTProperties_add(&msg.properties, &p);
	}
	prc = MQTTAsync_sendMessage(m->client, alias && !fresh ? "" : topic, &msg, &ro);
	if (prc != MQTTASYNC_SUCCESS && fresh) { /* the alias was never defined */
		free(m->alias_topic[--m->nalias]);
		m->alias_topic[m->nalias] = NULL;
	}
	pthread_mutex_unlock(&m->send_mu);
	MQTTProperties_free(&msg.properties);
	if (prc != MQTTASYNC_SUCCESS) {
		op_drop(op);
		ff_log_warn(LOG_COMP, "event=publish_failed topic=%s rc=%d", topic, prc);
		if (prc == MQTTASYNC_DISCONNECTED)
			return FF_ERR_STATE;
		return prc == MQTTASYNC_MAX_MESSAGES_INFLIGHT ? FF_ERR_FULL : FF_ERR_MQTT;
	}
	*opp = op;
	return FF_OK;
}

int ff_mqtt_publish(ff_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		    bool retain, int timeout_ms)
{
	ff_mqtt_op *op = NULL;
	int rc;

	if (timeout_ms < 0)
		return FF_ERR_INVAL;
	rc = send_message(m, topic, payload, len, qos, retain, NULL, NULL, 0, &op);
	return rc == FF_OK ? op_wait(op, timeout_ms) : rc;
}

int ff_mqtt_publish_async(ff_mqtt *m, const char *topic, const void *payload, size_t len,
			  int qos, bool retain, ff_mqtt_done_cb done, void *ctx, uint64_t tag)
{
	ff_mqtt_op *op = NULL;

	if (!done)
		return FF_ERR_INVAL;
	return send_message(m, topic, payload, len, qos, retain, done, ctx, tag, &op);
}

/* Registers an op for a request on a connected client. Returns FF_OK,
 * FF_ERR_STATE (not connected), FF_ERR_NOMEM. */
static int op_start(ff_mqtt *m, ff_mqtt_op **op)
{
	if (!MQTTAsync_isConnected(m->client))
		return FF_ERR_STATE;
	*op = op_new(m);
	return *op ? FF_OK : FF_ERR_NOMEM;
}

/* Paho took the request (prc == MQTTASYNC_SUCCESS): wait for its answer;
 * else drop the op and return refused_rc. */
static int op_finish(ff_mqtt_op *op, int prc, int refused_rc, int timeout_ms)
{
	if (prc != MQTTASYNC_SUCCESS) {
		op_drop(op);
		return refused_rc;
	}
	return op_wait(op, timeout_ms);
}

int ff_mqtt_subscribe(ff_mqtt *m, const char *filter, int qos, int timeout_ms)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ff_mqtt_op *op;
	int rc, prc;

	if (!m || !filter || !*filter || qos < 0 || qos > 2 || timeout_ms < 0)
		return FF_ERR_INVAL;
	rc = op_start(m, &op);
	if (rc != FF_OK)
		return rc;
	ro.onSuccess5 = on_ok5;
	ro.onFailure5 = on_fail5;
	ro.context = op;
	prc = MQTTAsync_subscribe(m->client, filter, qos, &ro);
	return op_finish(op, prc, prc == MQTTASYNC_BAD_UTF8_STRING ? FF_ERR_INVAL : FF_ERR_MQTT,
			 timeout_ms);
}

int ff_mqtt_disconnect(ff_mqtt *m, int timeout_ms)
{
	MQTTAsync_disconnectOptions dc = MQTTAsync_disconnectOptions_initializer5;
	ff_mqtt_op *op;
	int rc, prc;

	if (!m || timeout_ms < 0)
		return FF_ERR_INVAL;
	rc = op_start(m, &op);
	if (rc != FF_OK)
		return rc;
	dc.timeout = timeout_ms;
	dc.onSuccess5 = on_ok5;
	dc.onFailure5 = on_fail5;
	dc.context = op;
	prc = MQTTAsync_disconnect(m->client, &dc);
	return op_finish(op, prc, prc == MQTTASYNC_DISCONNECTED ? FF_ERR_STATE : FF_ERR_MQTT,
			 timeout_ms + 1000);
}

bool ff_mqtt_is_connected(const ff_mqtt *m)
{
	return m && MQTTAsync_isConnected(m->client);
}

void ff_mqtt_destroy(ff_mqtt *m)
{
	if (!m)
		return;
	MQTTAsync_destroy(&m->client); /* no callback runs after this */
	while (m->ops) {
		ff_mqtt_op *next = m->ops->next;
		free(m->ops);
		m->ops = next;
	}
	aliases_reset(m);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->send_mu);
	free_strings(&m->opt);
	free(m);
}
