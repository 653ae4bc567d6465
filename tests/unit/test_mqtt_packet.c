/* unit_mqtt_packet: the MQTT v5 packets of the backend's inbound session
 * (backend/mqtt_packet.c), byte for byte against the specification, and
 * the decoders on truncated and malformed input. */
#include "ff_test.h"

#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "mqtt_packet.h"

static void test_connect(void)
{
	static const uint8_t want[] = {
		0x10, 28,                               /* CONNECT, remaining length */
		0, 4, 'M', 'Q', 'T', 'T', 5, 0xC0,      /* protocol, v5, user + password */
		0, 30,                                  /* keep-alive */
		8, 0x11, 0, 0, 0x02, 0x58, 0x21, 1, 0,  /* session expiry 600, receive max 256 */
		0, 1, 'c', 0, 1, 'u', 0, 1, 'p',        /* client id, user, password */
	};
	mqp_buf b;
	mqp_connect c = { "c", "u", "p", 30, 600, 256 };
	FF_ASSERT_OK(mqp_build_connect(&b, &c));
	CU_ASSERT_EQUAL_FATAL(b.n, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(b.b, want, sizeof(want)), 0);
	/* no expiry: clean start; no credentials: no flags, fields left out */
	c = (mqp_connect){ "c", NULL, "", 30, 0, 256 };
	FF_ASSERT_OK(mqp_build_connect(&b, &c));
	CU_ASSERT_EQUAL(b.b[9], 0x02);
	CU_ASSERT_EQUAL(b.n, sizeof(want) - 6);
	/* a string too long for the packet */
	{
		char *big = malloc(70000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		memset(big, 'x', 69999);
		big[69999] = '\0';
		c.client_id = big;
		CU_ASSERT_EQUAL(mqp_build_connect(&b, &c), FF_ERR_RANGE);
		free(big);
	}
}

static void test_subscribe_and_puback(void)
{
	static const uint8_t want[] = { 0x82, 9, 0, 1, 0, 0, 3, 'a', '/', 'b', 0x21 };
	uint8_t ack[4];
	mqp_buf b;
	FF_ASSERT_OK(mqp_build_subscribe(&b, 1, "a/b", 0x21));
	CU_ASSERT_EQUAL_FATAL(b.n, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(b.b, want, sizeof(want)), 0);
	mqp_build_puback(ack, 0x1234);
	CU_ASSERT_EQUAL(memcmp(ack, (uint8_t[]){ 0x40, 2, 0x12, 0x34 }, 4), 0);
}

static void test_varint(void)
{
	size_t v = 0;
	CU_ASSERT_EQUAL(mqp_getvar((uint8_t[]){ 0x7f }, 1, &v), 1);
	CU_ASSERT_EQUAL(v, 127);
	CU_ASSERT_EQUAL(mqp_getvar((uint8_t[]){ 0x80, 0x01 }, 2, &v), 2);
	CU_ASSERT_EQUAL(v, 128);
	CU_ASSERT_EQUAL(mqp_getvar((uint8_t[]){ 0xff, 0xff, 0xff, 0x7f }, 4, &v), 4);
	CU_ASSERT_EQUAL(v, 268435455);
	CU_ASSERT_EQUAL(mqp_getvar((uint8_t[]){ 0x80 }, 1, &v), 0);                     /* more needed */
	CU_ASSERT_EQUAL(mqp_getvar((uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 1 }, 5, &v), -1); /* 5 bytes */
}

static void test_publish(void)
{
	static const uint8_t qos1[] = { 0, 3, 'a', '/', 'b', 0, 7, 0, 'x', 'y' };
	static const uint8_t qos0_props[] = { 0, 1, 't', 2, 0x23, 0, 'z' }; /* a 2-byte property */
	mqp_publish m;
	FF_ASSERT_OK(mqp_parse_publish(0x32, qos1, sizeof(qos1), &m));
	CU_ASSERT_EQUAL(m.qos, 1);
	CU_ASSERT_EQUAL(m.pid, 7);
	CU_ASSERT_EQUAL(m.topic_len, 3);
	CU_ASSERT_EQUAL(memcmp(m.topic, "a/b", 3), 0);
	CU_ASSERT_EQUAL(m.payload_len, 2);
	CU_ASSERT_EQUAL(memcmp(m.payload, "xy", 2), 0);
	CU_ASSERT_FALSE(m.retain);
	CU_ASSERT_FALSE(m.dup);
	FF_ASSERT_OK(mqp_parse_publish(0x3B, qos1, sizeof(qos1), &m)); /* dup, retain */
	CU_ASSERT_TRUE(m.dup);
	CU_ASSERT_TRUE(m.retain);
	FF_ASSERT_OK(mqp_parse_publish(0x30, qos0_props, sizeof(qos0_props), &m));
	CU_ASSERT_EQUAL(m.pid, 0);
	CU_ASSERT_EQUAL(m.payload_len, 1);
	CU_ASSERT_EQUAL(m.payload[0], 'z');
	/* malformed: QoS 3, topic past the end, no room for the packet id,
	 * properties past the end, nothing at all */
	CU_ASSERT_EQUAL(mqp_parse_publish(0x36, qos1, sizeof(qos1), &m), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(mqp_parse_publish(0x32, (uint8_t[]){ 0, 9, 'a' }, 3, &m), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(mqp_parse_publish(0x32, (uint8_t[]){ 0, 1, 'a', 0 }, 4, &m), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(mqp_parse_publish(0x30, (uint8_t[]){ 0, 1, 'a', 5, 0 }, 5, &m), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(mqp_parse_publish(0x30, qos1, 1, &m), FF_ERR_FORMAT);
}

static void test_suback(void)
{
	CU_ASSERT_EQUAL(mqp_suback_reason((uint8_t[]){ 0, 1, 0, 1 }, 4), 1);
	CU_ASSERT_EQUAL(mqp_suback_reason((uint8_t[]){ 0, 1, 2, 0x1f, 0, 0x87 }, 6), 0x87);
	CU_ASSERT_EQUAL(mqp_suback_reason((uint8_t[]){ 0, 1, 0 }, 3), -1); /* no reason */
	CU_ASSERT_EQUAL(mqp_suback_reason((uint8_t[]){ 0, 1 }, 2), -1);
	CU_ASSERT_EQUAL(mqp_suback_pid((uint8_t[]){ 0x01, 0x02, 0, 0 }, 4), 0x102);
	CU_ASSERT_EQUAL(mqp_suback_pid((uint8_t[]){ 0x01 }, 1), -1);
}

/* Which status topics the watch filters take (subscriber.h), and that no
 * faces topic is mistaken for one. */
static void test_topic_matches(void)
{
	CU_ASSERT_TRUE(mqp_topic_matches("fleet/+/+/status", "fleet/s1/d-1/status"));
	CU_ASSERT_TRUE(mqp_topic_matches("facefleet/backend/+/status", "facefleet/backend/b1/status"));
	CU_ASSERT_TRUE(mqp_topic_matches("fleet/#", "fleet/s1/d-1/faces"));
	CU_ASSERT_TRUE(mqp_topic_matches("a/b", "a/b"));
	CU_ASSERT_FALSE(mqp_topic_matches("fleet/+/+/status", "fleet/s1/d-1/faces"));
	CU_ASSERT_FALSE(mqp_topic_matches("fleet/+/+/status", "fleet/s1/d-1/statusx"));
	CU_ASSERT_FALSE(mqp_topic_matches("fleet/+/+/status", "fleet/s1/d-1/status/x"));
	CU_ASSERT_FALSE(mqp_topic_matches("fleet/+/+/status", "fleet/s1/status"));
	CU_ASSERT_FALSE(mqp_topic_matches("a/b", "a/bc"));
	CU_ASSERT_FALSE(mqp_topic_matches("a/bc", "a/b"));
	CU_ASSERT_FALSE(mqp_topic_matches("a/b/c", "a/b"));
}

/* A share-group member's clean stop: UNSUBSCRIBE of its filter (MQTT v5
 * 3.10: flags 0x2, packet id, no properties, the filter) and the broker's
 * UNSUBACK, success or not, on good and malformed input. */
static void test_unsubscribe(void)
{
	static const uint8_t want[] = { 0xA2, 8, 0x12, 0x34, 0, 0, 3, 'a', '/', 'b' };
	uint16_t pid = 0;
	mqp_buf b;
	char *big;
	FF_ASSERT_OK(mqp_build_unsubscribe(&b, 0x1234, "a/b"));
	CU_ASSERT_EQUAL_FATAL(b.n, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(b.b, want, sizeof(want)), 0);
	big = malloc(2000); /* over MQP_MAX */
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	CU_ASSERT_EQUAL(mqp_build_unsubscribe(&b, 1, big), FF_ERR_RANGE);
	free(big);
	CU_ASSERT_EQUAL(mqp_parse_unsuback((uint8_t[]){ 0, 1, 0, 0x00 }, 4, &pid), 0x00);
	CU_ASSERT_EQUAL(pid, 1);
	CU_ASSERT_EQUAL(mqp_parse_unsuback((uint8_t[]){ 0x01, 0x02, 2, 0x1f, 0, 0x11 }, 6, &pid), 0x11);
	CU_ASSERT_EQUAL(pid, 0x102);
	CU_ASSERT_EQUAL(mqp_parse_unsuback((uint8_t[]){ 0, 3, 0, 0x87 }, 4, &pid), 0x87);
	pid = 9;
	CU_ASSERT_EQUAL(mqp_parse_unsuback((uint8_t[]){ 0, 1, 0 }, 3, &pid), -1); /* no reason */
	CU_ASSERT_EQUAL(mqp_parse_unsuback((uint8_t[]){ 0, 1, 5, 0 }, 4, &pid), -1); /* properties past the end */
	CU_ASSERT_EQUAL(pid, 9); /* untouched when malformed */
}

static CU_TestInfo packet_tests[] = {
	{ "connect", test_connect },
	{ "subscribe_and_puback", test_subscribe_and_puback },
	{ "varint", test_varint },
	{ "publish", test_publish },
	{ "suback", test_suback },
	{ "topic_matches", test_topic_matches },
	{ "unsubscribe", test_unsubscribe },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "mqtt_packet", NULL, NULL, NULL, NULL, packet_tests });
