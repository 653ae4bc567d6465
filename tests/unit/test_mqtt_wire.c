/* unit_mqtt_wire: ff_mqtt_publish_packet_size(_aliased) is the exact size
 * of the PUBLISH packet lib/mqtt puts on the wire, with and without MQTT v5
 * topic aliases. A minimal fake MQTT v5 broker on loopback accepts the
 * CONNECT, acknowledges it (optionally offering topic aliases), and measures
 * every PUBLISH it receives (fixed header + remaining length + rest). Also
 * the fleet topic helpers. */
#include "ff_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/ids.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

static struct fake {
	int lfd, port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t sizes[16];
	size_t topic_len[16];
	int n;
	int alias_max; /* Topic Alias Maximum offered in the CONNACK (0: none) */
} fk = { -1, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, { 0 }, 0, 0 };

static int read_full(int fd, uint8_t *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Reads one packet; returns its first byte and total size, -1 at EOF. */
static int read_packet(int fd, uint8_t *body, size_t cap, size_t *total, size_t *rem_out)
{
	uint8_t h, c;
	size_t rem = 0, hdr = 1;
	int shift = 0;
	if (read_full(fd, &h, 1))
		return -1;
	do {
		if (read_full(fd, &c, 1))
			return -1;
		rem |= (size_t)(c & 127) << shift;
		shift += 7;
		hdr++;
	} while (c & 128);
	if (rem > cap || read_full(fd, body, rem))
		return -1;
	*total = hdr + rem;
	*rem_out = rem;
	return h;
}

static void *fake_broker(void *arg)
{
	static const uint8_t connack[] = { 0x20, 0x03, 0x00, 0x00, 0x00 };
	/* flags, reason, 3 bytes of properties: Topic Alias Maximum (34) = 10 */
	static const uint8_t connack_alias[] = { 0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x0a };
	uint8_t body[4096];
	size_t total, rem;
	int fd, h;
	(void)arg;

	fd = accept(fk.lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while ((h = read_packet(fd, body, sizeof(body), &total, &rem)) >= 0) {
		int type = h >> 4, qos = (h >> 1) & 3;
		if (type == 1) { /* CONNECT */
			const uint8_t *ack = fk.alias_max ? connack_alias : connack;
			size_t alen = fk.alias_max ? sizeof(connack_alias) : sizeof(connack);
			if (write(fd, ack, alen) != (ssize_t)alen)
				break;
		} else if (type == 3) { /* PUBLISH: topic len, topic, [packet id] */
			size_t tl = (size_t)body[0] << 8 | body[1];
			pthread_mutex_lock(&fk.mu);
			if (fk.n < 16) {
				fk.topic_len[fk.n] = tl;
				fk.sizes[fk.n++] = total;
			}
			pthread_cond_broadcast(&fk.cv);
			pthread_mutex_unlock(&fk.mu);
			if (qos == 1) {
				uint8_t puback[] = { 0x40, 0x02, body[2 + tl], body[3 + tl] };
				if (write(fd, puback, sizeof(puback)) != sizeof(puback))
					break;
			}
		} else if (type == 14) { /* DISCONNECT */
			break;
		}
	}
	close(fd);
	return NULL;
}

static size_t wait_size(int idx)
{
	struct timespec dl;
	size_t s = 0;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&fk.mu);
	while (fk.n <= idx)
		if (pthread_cond_timedwait(&fk.cv, &fk.mu, &dl) == ETIMEDOUT)
			break;
	if (fk.n > idx)
		s = fk.sizes[idx];
	pthread_mutex_unlock(&fk.mu);
	return s;
}

/* Starts the fake broker for one connection and a client of it. */
static ff_mqtt *fake_session(pthread_t *thr, bool aliases)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;
	char url[64];

	fk.n = 0;
	fk.alias_max = aliases ? 10 : 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fk.lfd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fk.lfd >= 0);
	CU_ASSERT_FATAL(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(fk.lfd, (struct sockaddr *)&sa, &sl) == 0);
	CU_ASSERT_FATAL(listen(fk.lfd, 1) == 0);
	CU_ASSERT_FATAL(pthread_create(thr, NULL, fake_broker, NULL) == 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	o.url = url;
	o.client_id = "wire-test";
	o.connect_timeout_ms = 3000;
	o.topic_aliases = aliases;
	FF_ASSERT_OK(ff_mqtt_create(&o, &m));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	FF_ASSERT_OK(ff_mqtt_connect(m));
	return m;
}

static void fake_end(ff_mqtt *m, pthread_t thr)
{
	ff_mqtt_disconnect(m, 1000);
	ff_mqtt_destroy(m);
	pthread_join(thr, NULL);
	close(fk.lfd);
}

static void test_packet_size_is_exact(void)
{
	uint8_t payload[400];
	pthread_t thr;
	ff_mqtt *m;
	static const struct {
		const char *topic;
		size_t len;
		int qos;
	} cases[] = {
		{ "fleet/site-01/device-0001/faces", 123, 1 },  /* a FaceCodes message */
		{ "fleet/s/d/faces", 90, 1 },                    /* remaining length < 128 */
		{ "fleet/hq/door-12/faces", 104, 1 },            /* 127/128 boundary region */
		{ "fleet/site-01/device-0001/faces", 300, 1 },   /* 2-byte remaining length */
		{ "fleet/site-01/device-0001/status", 60, 0 },   /* QoS 0: no packet id */
	};

	memset(payload, 0xa5, sizeof(payload));
	m = fake_session(&thr, false);
	for (int i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		size_t want = ff_mqtt_publish_packet_size(strlen(cases[i].topic), cases[i].len, cases[i].qos);
		FF_ASSERT_OK(ff_mqtt_publish(m, cases[i].topic, payload, cases[i].len, cases[i].qos, false, 3000));
		size_t got = wait_size(i);
		if (got != want)
			fprintf(stderr, "case %d: wire %zu bytes, computed %zu\n", i, got, want);
		CU_ASSERT_EQUAL(got, want);
	}
	fake_end(m, thr);

	/* the arithmetic at the edges */
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size(31, 123, 1), 1 + 2 + (2 + 31 + 2 + 1 + 123));
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size(0, 0, 0), 1 + 1 + 3);
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size(10, 1, 3), 0);
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size(70000, 1, 1), 0);
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size_aliased(100, 1), 1 + 1 + (2 + 2 + 4 + 100));
}

/* With topic aliases offered, the first publish to a topic carries it (and
 * defines the alias), later ones an empty topic and the alias only. */
static void test_topic_alias_sizes(void)
{
	const char *faces = "fleet/site-01/device-0001/faces", *status = "fleet/site-01/device-0001/status";
	uint8_t payload[256];
	pthread_t thr;
	ff_mqtt *m;
	size_t full = ff_mqtt_publish_packet_size(strlen(faces), 216, 1) + 3; /* + alias property */

	memset(payload, 0x5a, sizeof(payload));
	m = fake_session(&thr, true);
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 216, 1, false, 3000));
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 216, 1, false, 3000));
	/* the done callback is required */
	CU_ASSERT_EQUAL(ff_mqtt_publish_async(m, faces, payload, 216, 1, false, NULL, NULL, 0), FF_ERR_INVAL);
	FF_ASSERT_OK(ff_mqtt_publish(m, status, payload, 40, 1, true, 3000));
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 216, 1, false, 3000));
	CU_ASSERT_EQUAL(wait_size(3), ff_mqtt_publish_packet_size_aliased(216, 1));
	CU_ASSERT_EQUAL(fk.sizes[0], full);
	CU_ASSERT_EQUAL(fk.topic_len[0], strlen(faces));
	CU_ASSERT_EQUAL(fk.sizes[1], ff_mqtt_publish_packet_size_aliased(216, 1));
	CU_ASSERT_EQUAL(fk.topic_len[1], 0);
	CU_ASSERT_EQUAL(fk.topic_len[2], strlen(status)); /* a second topic gets its own alias */
	CU_ASSERT_EQUAL(fk.topic_len[3], 0);
	/* a schema 3 FaceCodes of vq2 (123 bytes of codes, seq 1e6): 140 bytes
	 * of payload, 151 on the wire; one byte less (seq < 16384) makes 150 */
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 140, 1, false, 3000));
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 139, 1, false, 3000));
	CU_ASSERT_EQUAL(wait_size(4), 151);
	CU_ASSERT_EQUAL(wait_size(5), 150);
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size_aliased(140, 1), 151);
	CU_ASSERT_EQUAL(ff_mqtt_publish_packet_size_aliased(139, 1), 150);
	fake_end(m, thr);

	/* a reconnect starts a fresh table: the topic goes out again */
	m = fake_session(&thr, true);
	FF_ASSERT_OK(ff_mqtt_publish(m, faces, payload, 216, 1, false, 3000));
	CU_ASSERT_EQUAL(wait_size(0), full);
	fake_end(m, thr);

	/* aliases and Paho's own reconnect do not mix */
	{
		ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
		ff_mqtt *bad = NULL;
		o.url = "tcp://127.0.0.1:1";
		o.topic_aliases = true;
		o.auto_reconnect = true;
		CU_ASSERT_EQUAL(ff_mqtt_create(&o, &bad), FF_ERR_INVAL);
	}
}

static void test_fleet_topics(void)
{
	char buf[80], small[16];
	CU_ASSERT_TRUE(ff_id_valid("door-12"));
	CU_ASSERT_TRUE(ff_id_valid("abcdefghijklmnopqrstuvwxyz012345"));
	CU_ASSERT_FALSE(ff_id_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
	CU_ASSERT_FALSE(ff_id_valid(""));
	CU_ASSERT_FALSE(ff_id_valid(NULL));
	CU_ASSERT_FALSE(ff_id_valid("Door"));
	CU_ASSERT_FALSE(ff_id_valid("a/b"));
	CU_ASSERT_FALSE(ff_id_valid("+"));
	FF_ASSERT_OK(ff_mqtt_fleet_topic(buf, sizeof(buf), "hq", "door-12", "faces"));
	CU_ASSERT_STRING_EQUAL(buf, "fleet/hq/door-12/faces");
	FF_ASSERT_OK(ff_mqtt_fleet_topic(buf, sizeof(buf), "hq", NULL, "access")); /* NULL: + */
	CU_ASSERT_STRING_EQUAL(buf, "fleet/hq/+/access");
	FF_ASSERT_OK(ff_mqtt_fleet_topic(buf, sizeof(buf), NULL, NULL, "access"));
	CU_ASSERT_STRING_EQUAL(buf, "fleet/+/+/access");
	CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(buf, sizeof(buf), "hq", "#", "faces"), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(buf, sizeof(buf), "hq", "d", ""), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(small, sizeof(small), "hq", "door-12", "faces"), FF_ERR_RANGE);
}

static CU_TestInfo wire_tests[] = {
	{ "packet_size_is_exact", test_packet_size_is_exact },
	{ "topic_alias_sizes", test_topic_alias_sizes },
	{ "fleet_topics", test_fleet_topics },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "mqtt_wire", NULL, NULL, NULL, NULL, wire_tests });
