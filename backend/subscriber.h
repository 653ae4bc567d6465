/* backend/subscriber.h: the backend's inbound MQTT v5 session, with the
 * PUBACK under our control.
 *
 * Why not lib/mqtt (Paho MQTTAsync 1.3.x) here: Paho sends the PUBACK of a
 * QoS 1 PUBLISH as soon as the packet is read, *before* messageArrived runs
 * (MQTTProtocol_handlePublishes: "send puback before processing the
 * publications"); blocking the callback or returning 0 from it only delays
 * or repeats the local delivery, the broker has already forgotten the
 * message. An acknowledgement after the database commit therefore needs our
 * own small client: CONNECT (clean start off, session expiry, Receive
 * Maximum = messages in flight), SUBSCRIBE, PUBLISH in, PINGREQ, and a
 * PUBACK sent by be_sub_ack() once the event row is committed. Messages never
 * acknowledged (crash, PostgreSQL away, shutdown) stay in the broker's
 * session and are redelivered when the same client id reconnects.
 * Plain TCP beside the broker, or TLS (ssl:// with ca_file: TLS 1.2+, the
 * broker's certificate must chain to the CA and name the host or IP dialled)
 * for a backend on another host. The SSL object is used only under the
 * connection lock, since acks are written from other threads; the packets
 * themselves are mqtt_packet.c's. Outbound AccessEvents and receipts go
 * through lib/mqtt. */
#ifndef BE_BACKEND_SUBSCRIBER_H
#define BE_BACKEND_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct be_sub be_sub;

/* One PUBLISH; buffers valid during the call only. gen identifies the
 * connection (pass it back to be_sub_ack). The callback may block (that is
 * the back-pressure: nothing more is read meanwhile). */
typedef void (*be_sub_message_cb)(void *ctx, const char *topic, const uint8_t *payload,
				  size_t len, uint16_t packet_id, bool dup, uint64_t gen);
typedef void (*be_sub_state_cb)(void *ctx, bool connected);
/* A message of a watch filter (QoS 0, never acknowledged); retained: the
 * broker's stored copy, sent on (re)subscribing. Must not block. */
typedef void (*be_sub_watch_cb)(void *ctx, const char *topic, const uint8_t *payload,
				size_t len, bool retained);

#define BE_SUB_WATCH_MAX 4

typedef struct be_sub_options {
	const char *url;          /* tcp://, mqtt://, or ssl:// / mqtts:// (TLS) host:port */
	const char *ca_file;      /* TLS: the CA that must sign the broker's certificate */
	const char *client_id;
	const char *username;     /* NULL or "": none */
	const char *password;
	const char *filter;       /* e.g. $share/backend/fleet/+/+/faces */
	int keepalive_s;
	uint32_t session_expiry_s;
	uint16_t receive_max;
	size_t max_packet;        /* larger packets end the connection */
	be_sub_message_cb on_message;
	be_sub_state_cb on_state;
	/* Other parties' status topics, read on this same session (each
	 * account of a backend instance is bound to one client id, so there is
	 * no third connection to read them on): NULL-terminated, at most
	 * BE_SUB_WATCH_MAX, subscribed at QoS 0 with their retained messages
	 * (each topic's current state, again at every reconnection), handed to
	 * on_watch instead of on_message. A watch filter the broker refuses (an
	 * ACL without it) is logged; the faces keep flowing. */
	const char *const *watch_filters;
	be_sub_watch_cb on_watch;
	void *ctx;
} be_sub_options;

/* Starts the session thread (it connects, and reconnects with backoff
 * 0.2..10 s). Returns FF_OK, FF_ERR_INVAL (bad url or options, more than
 * BE_SUB_WATCH_MAX watch filters or no on_watch for them; an ssl://
 * url without a usable ca_file), FF_ERR_NOMEM. */
int be_sub_start(const be_sub_options *opt, be_sub **out);
/* Waits up to timeout_ms for the first SUBACK. FF_OK or FF_ERR_TIMEOUT. */
int be_sub_wait_ready(be_sub *s, int timeout_ms);
/* Acknowledges packet_id received on connection gen; a no-op (FF_ERR_STATE)
 * if that connection is gone: the broker redelivers on the next one. */
int be_sub_ack(be_sub *s, uint16_t packet_id, uint64_t gen);
/* Stops delivering: messages read from now on are left unacknowledged. */
void be_sub_pause(be_sub *s);
/* A member of a share group ($share/ filter) first UNSUBSCRIBEs its filter
 * and waits up to 2 s for the UNSUBACK, so the group routes it nothing
 * more. Then sends DISCONNECT (the session and its unacknowledged messages
 * stay with the broker for session_expiry_s), stops the thread, frees.
 * NULL ok. */
void be_sub_stop(be_sub *s);

#endif
