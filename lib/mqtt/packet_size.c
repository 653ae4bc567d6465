/* MQTT v5 PUBLISH packet sizes (facefleet/mqtt.h): what a message costs on
 * the wire, for the device's budget and the broker's limits; checked against
 * the bytes Paho sends in unit_mqtt_wire. */
#include "facefleet/mqtt.h"

static size_t varint_size(size_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

/* PUBLISH size with props_len bytes of properties. */
static size_t packet_size(size_t topic_len, size_t payload_len, int qos, size_t props_len)
{
	size_t rem;

	if (qos < 0 || qos > 2 || topic_len > 65535 || payload_len > 268435455u)
		return 0;
	/* variable header: topic name, packet id (QoS > 0), properties */
	rem = 2 + topic_len + (qos > 0 ? 2 : 0) + varint_size(props_len) + props_len + payload_len;
	if (rem > 268435455u)
		return 0;
	return 1 + varint_size(rem) + rem;
}

size_t ff_mqtt_publish_packet_size(size_t topic_len, size_t payload_len, int qos)
{
	return packet_size(topic_len, payload_len, qos, 0);
}

size_t ff_mqtt_publish_packet_size_aliased(size_t payload_len, int qos)
{
	return packet_size(0, payload_len, qos, 3); /* Topic Alias: id byte + 2-byte value */
}
