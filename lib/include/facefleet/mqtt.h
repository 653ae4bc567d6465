/* facefleet/mqtt.h: a thin, blocking-where-it-helps layer over Eclipse Paho
 * MQTTAsync, always MQTT v5.
 *
 *   ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
 *   o.url = "tcp://127.0.0.1:18883"; o.username = "dev-1"; o.password = pw;
 *   ff_mqtt *m; ff_mqtt_create(&o, &m); ff_mqtt_connect(m);
 *   ff_mqtt_publish(m, "fleet/s1/dev-1/faces", buf, len, 1, false, 5000);
 *   ff_mqtt_disconnect(m, 1000); ff_mqtt_destroy(m);
 *
 * URLs: tcp://host:port (plain), ssl://host:port or mqtts://host:port (TLS;
 * the server certificate is verified against ca_file, and cert_file/key_file
 * give a client certificate when set). Callbacks run on Paho's thread: they
 * must not call the blocking functions below (that would deadlock); copy
 * what is needed and return. */
#ifndef FACEFLEET_MQTT_H
#define FACEFLEET_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_mqtt ff_mqtt;

/* A received message; valid only during the callback. */
typedef struct ff_mqtt_message {
	const char *topic;   /* NUL-terminated */
	const void *payload;
	size_t len;
	int qos;
	bool retained;
	bool duplicate;      /* broker may have delivered it before (QoS 1 redelivery) */
} ff_mqtt_message;

typedef void (*ff_mqtt_message_cb)(void *ctx, const ff_mqtt_message *msg);
/* connected: true on (re)connect, false on connection loss. */
typedef void (*ff_mqtt_connection_cb)(void *ctx, bool connected, const char *cause);

typedef struct ff_mqtt_options {
	const char *url;          /* required: tcp://, ssl:// or mqtts:// host:port */
	const char *client_id;    /* NULL: "ff-<pid>-<random>" */
	const char *username;     /* NULL: none */
	const char *password;     /* NULL: none */
	const char *ca_file;      /* TLS: CA bundle that signs the broker certificate */
	const char *cert_file;    /* TLS: client certificate (PEM), optional */
	const char *key_file;     /* TLS: client private key (PEM), optional */
	int keepalive_s;          /* MQTT keep-alive, seconds */
	bool clean_start;         /* MQTT v5 clean start */
	uint32_t session_expiry_s;/* v5 session expiry interval (0: session ends with the connection) */
	int connect_timeout_ms;   /* ff_mqtt_connect gives up after this */
	bool auto_reconnect;      /* let Paho reconnect with backoff 1..60 s after a loss */
	int max_inflight;         /* QoS 1/2 messages in flight at once */
	const char *will_topic;   /* last will (NULL: none) */
	const void *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
	bool topic_aliases;       /* MQTT v5 topic aliases: the first publish to a topic on a
				   * connection carries the topic and an alias, later ones only the
				   * 2-byte alias (up to the broker's Topic Alias Maximum, 8 topics
				   * at most). Needs auto_reconnect off (aliases die with the
				   * connection; ff_mqtt_connect starts a fresh table). */
	ff_mqtt_message_cb on_message;       /* NULL: messages are dropped */
	ff_mqtt_connection_cb on_connection; /* NULL: only logged */
	void *cb_ctx;                        /* passed to both callbacks */
} ff_mqtt_options;

#define FF_MQTT_OPTIONS_INIT                                                              \
	{                                                                                 \
		.url = NULL, .client_id = NULL, .username = NULL, .password = NULL,        \
		.ca_file = NULL, .cert_file = NULL, .key_file = NULL, .keepalive_s = 30,   \
		.clean_start = true, .session_expiry_s = 0, .connect_timeout_ms = 10000,    \
		.auto_reconnect = false, .max_inflight = 64, .will_topic = NULL,            \
		.will_payload = NULL, .will_len = 0, .will_qos = 1, .will_retain = false,   \
		.topic_aliases = false, .on_message = NULL, .on_connection = NULL,          \
		.cb_ctx = NULL                                                              \
	}

/* Creates a client (no network yet); the options are copied.
 * Returns FF_OK, FF_ERR_INVAL (no url, bad url scheme, bad values),
 * FF_ERR_NOMEM, FF_ERR_MQTT (Paho refused to create). */
int ff_mqtt_create(const ff_mqtt_options *opt, ff_mqtt **out);

/* Connects and waits for the CONNACK. Returns FF_OK, FF_ERR_AUTH (bad user
 * name or password, not authorised), FF_ERR_TIMEOUT, FF_ERR_MQTT (refused,
 * unreachable, TLS failure), FF_ERR_STATE (already connected). After a
 * failure the client is not connected: on FF_ERR_TIMEOUT it first waits
 * (bounded) for Paho's own verdict and ends a session that came up late. */
int ff_mqtt_connect(ff_mqtt *m);

/* Publishes and, for QoS 1/2, waits until the broker acknowledged (PUBACK /
 * PUBCOMP) or timeout_ms passed; QoS 0 returns once queued. Returns FF_OK,
 * FF_ERR_INVAL (bad topic/qos), FF_ERR_STATE (not connected), FF_ERR_AUTH
 * (broker answered "not authorised"), FF_ERR_TIMEOUT, FF_ERR_MQTT. */
int ff_mqtt_publish(ff_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		    bool retain, int timeout_ms);

/* Called once when an asynchronous publish finished: rc is FF_OK (PUBACK /
 * PUBCOMP, or queued for QoS 0), FF_ERR_AUTH (broker answered "not
 * authorised") or FF_ERR_MQTT (failed, e.g. the connection was lost). Runs on
 * Paho's thread (see the note at the top). Never called after
 * ff_mqtt_destroy returned. */
typedef void (*ff_mqtt_done_cb)(void *ctx, uint64_t tag, int rc);

/* Publishes without waiting: hands the message to Paho (which copies the
 * payload) and returns; done(ctx, tag, rc) reports the outcome later. Keep at
 * most max_inflight QoS 1/2 publishes outstanding (a publish window): Paho
 * refuses more. Returns FF_OK (done will be called), FF_ERR_INVAL,
 * FF_ERR_STATE (not connected), FF_ERR_FULL (max_inflight reached),
 * FF_ERR_NOMEM, FF_ERR_MQTT; done is not called when this returns an error. */
int ff_mqtt_publish_async(ff_mqtt *m, const char *topic, const void *payload, size_t len,
			  int qos, bool retain, ff_mqtt_done_cb done, void *ctx, uint64_t tag);

/* Exact size in bytes of the MQTT v5 PUBLISH packet this library sends for a
 * topic of topic_len bytes and a payload of payload_len bytes (no
 * properties): fixed header byte + remaining-length varint + 2-byte topic
 * length + topic + packet identifier (QoS 1/2 only) + properties length
 * varint (one 0 byte) + payload. Returns 0 when the packet would exceed the
 * MQTT maximum (268435455 bytes of remaining length) or qos is not 0..2. */
size_t ff_mqtt_publish_packet_size(size_t topic_len, size_t payload_len, int qos);
/* The same for a publish that carries only a topic alias (topic_aliases on,
 * after the first publish to that topic): empty topic name + a 3-byte Topic
 * Alias property (properties length 3). */
size_t ff_mqtt_publish_packet_size_aliased(size_t payload_len, int qos);

/* Fleet topics: fleet/<site>/<device>/<leaf>, where site and device ids
 * follow the id rule (facefleet/ids.h). */
/* Writes "fleet/<site>/<device>/<leaf>" into buf. A NULL site or device is
 * the single-level wildcard "+" (the result is then a subscription filter or
 * ACL pattern, e.g. fleet/<site>/+/access). Returns FF_OK, FF_ERR_INVAL (an
 * invalid id, NULL or empty leaf), FF_ERR_RANGE (buf too small). */
int ff_mqtt_fleet_topic(char *buf, size_t len, const char *site, const char *device,
			const char *leaf);

/* Subscribes to a topic filter (shared subscriptions "$share/g/..." work) and
 * waits for the SUBACK. Returns FF_OK, FF_ERR_INVAL, FF_ERR_STATE,
 * FF_ERR_AUTH (refused by ACL), FF_ERR_TIMEOUT, FF_ERR_MQTT. */
int ff_mqtt_subscribe(ff_mqtt *m, const char *filter, int qos, int timeout_ms);

/* Sends DISCONNECT (the will is not published) and waits up to timeout_ms.
 * Returns FF_OK, FF_ERR_STATE (not connected), FF_ERR_TIMEOUT, FF_ERR_MQTT. */
int ff_mqtt_disconnect(ff_mqtt *m, int timeout_ms);

/* True while the client holds a connection. */
bool ff_mqtt_is_connected(const ff_mqtt *m);

/* Frees the client. Without ff_mqtt_disconnect first the connection just
 * drops (the broker publishes the will). NULL is a no-op. */
void ff_mqtt_destroy(ff_mqtt *m);

#ifdef __cplusplus
}
#endif
#endif
