/* backend/mqtt_packet.h: the MQTT v5 packets the backend's inbound session
 * (subscriber.c) writes and reads, as pure functions of bytes: no socket,
 * no state, so each is unit-tested on its own (tests/unit/test_mqtt_packet.c).
 * Prefix mqp_ (backend internal). */
#ifndef BE_BACKEND_MQTT_PACKET_H
#define BE_BACKEND_MQTT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MQTT control packet types (high nibble of the first byte) */
enum { MQP_CONNECT = 1, MQP_CONNACK = 2, MQP_PUBLISH = 3, MQP_PUBACK = 4, MQP_SUBSCRIBE = 8,
       MQP_SUBACK = 9, MQP_UNSUBSCRIBE = 10, MQP_UNSUBACK = 11, MQP_PINGREQ = 12, MQP_PINGRESP = 13,
       MQP_DISCONNECT = 14 };

#define MQP_MAX 1024 /* the longest packet the session sends */

typedef struct mqp_buf {
	uint8_t b[MQP_MAX];
	size_t n;
} mqp_buf;

typedef struct mqp_connect {
	const char *client_id, *username, *password; /* NULL or "": left out */
	unsigned keepalive_s;
	uint32_t session_expiry_s; /* 0: clean start */
	unsigned receive_max;
} mqp_connect;

/* CONNECT with session expiry and receive maximum. FF_OK or FF_ERR_RANGE
 * (a string over 65535 bytes, or the packet over MQP_MAX). */
int mqp_build_connect(mqp_buf *out, const mqp_connect *c);
/* SUBSCRIBE of one filter, packet id pid, subscription options byte opts
 * (QoS in bits 0-1, retain handling in bits 4-5). FF_OK or FF_ERR_RANGE. */
int mqp_build_subscribe(mqp_buf *out, uint16_t pid, const char *filter, unsigned opts);
/* UNSUBSCRIBE of one filter, packet id pid, no properties. FF_OK or
 * FF_ERR_RANGE. */
int mqp_build_unsubscribe(mqp_buf *out, uint16_t pid, const char *filter);
/* PUBACK (reason success) of pid: 4 bytes into out. */
void mqp_build_puback(uint8_t out[4], uint16_t pid);

/* A variable byte integer at p[0..n): bytes used, 0 when more input is
 * needed, -1 when malformed (more than 4 bytes). */
int mqp_getvar(const uint8_t *p, size_t n, size_t *out);

/* The PUBLISH whose fixed header's first byte is first and whose rest is
 * p[0..n): topic and payload point into p. FF_OK or FF_ERR_FORMAT. */
typedef struct mqp_publish {
	const uint8_t *topic, *payload;
	size_t topic_len, payload_len;
	unsigned qos;
	uint16_t pid; /* 0 with QoS 0 */
	bool dup, retain;
} mqp_publish;
int mqp_parse_publish(unsigned first, const uint8_t *p, size_t n, mqp_publish *out);
/* True when topic matches the subscription filter (levels split at '/',
 * '+' one whole level, a trailing '#' the rest). */
bool mqp_topic_matches(const char *filter, const char *topic);
/* The packet id of a SUBACK (p[0..n) after the fixed header), -1 when too short. */
int mqp_suback_pid(const uint8_t *p, size_t n);
/* The reason code of a SUBACK's first filter (p[0..n) after the fixed
 * header): >= 0, or -1 when malformed. */
int mqp_suback_reason(const uint8_t *p, size_t n);
/* An UNSUBACK (p[0..n) after the fixed header): its packet id into *pid and
 * the reason code of its first filter returned (0x00 success, 0x11 no such
 * subscription, >= 0x80 refused), or -1 when malformed. */
int mqp_parse_unsuback(const uint8_t *p, size_t n, uint16_t *pid);

#endif
