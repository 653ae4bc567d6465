/* device_mqtt_roundtrip: a FaceCodes protobuf published QoS 1 through
 * lib/mqtt reaches a second, subscribed client through the real Mosquitto of
 * deploy/stack (password auth, no anonymous), and a wrong password is
 * refused with FF_ERR_AUTH. */
#include "ff_test.h"

#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct inbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int count;
	char topic[256];
	uint8_t payload[1024];
	size_t len;
	int qos;
};

static struct inbox inbox = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, "", { 0 },
			      0, 0 };

static void on_message(void *ctx, const ff_mqtt_message *msg)
{
	struct inbox *ib = ctx;
	pthread_mutex_lock(&ib->mu);
	if (msg->len <= sizeof(ib->payload)) {
		snprintf(ib->topic, sizeof(ib->topic), "%s", msg->topic);
		memcpy(ib->payload, msg->payload, msg->len);
		ib->len = msg->len;
		ib->qos = msg->qos;
	}
	ib->count++;
	pthread_cond_broadcast(&ib->cv);
	pthread_mutex_unlock(&ib->mu);
}

static int wait_messages(struct inbox *ib, int want, int timeout_s)
{
	struct timespec dl;
	int got;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_s;
	pthread_mutex_lock(&ib->mu);
	while (ib->count < want)
		if (pthread_cond_timedwait(&ib->cv, &ib->mu, &dl) == ETIMEDOUT)
			break;
	got = ib->count;
	pthread_mutex_unlock(&ib->mu);
	return got;
}

static void base_options(ff_mqtt_options *o, const char *client_id)
{
	ff_mqtt_options init = FF_MQTT_OPTIONS_INIT;
	*o = init;
	o->url = ff_test_env_need("FF_MQTT_URL");
	o->username = ff_test_env_need("FF_MQTT_USER");
	o->password = ff_test_env_need("FF_MQTT_PASSWORD");
	o->client_id = client_id;
	o->connect_timeout_ms = 5000;
}

static void test_face_codes_roundtrip(void)
{
	ff_mqtt_options o;
	ff_mqtt *sub = NULL, *pub = NULL;
	char topic[128], sub_id[64], pub_id[64];
	Facefleet__V1__FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	Facefleet__V1__Box box = FACEFLEET__V1__BOX__INIT;
	Facefleet__V1__FaceCodes *rx;
	uint16_t idx[64], back[64];
	uint8_t codes[72], wire[512];
	size_t len;

	snprintf(topic, sizeof(topic), "fleet/test-site/dev-%ld/faces", (long)getpid());
	snprintf(sub_id, sizeof(sub_id), "test-sub-%ld", (long)getpid());
	snprintf(pub_id, sizeof(pub_id), "test-pub-%ld", (long)getpid());

	base_options(&o, sub_id);
	o.on_message = on_message;
	o.cb_ctx = &inbox;
	FF_ASSERT_OK(ff_mqtt_create(&o, &sub));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	FF_ASSERT_OK(ff_mqtt_connect(sub));
	CU_ASSERT_TRUE_FATAL(ff_mqtt_is_connected(sub));
	FF_ASSERT_OK(ff_mqtt_subscribe(sub, topic, 1, 5000));

	base_options(&o, pub_id);
	FF_ASSERT_OK(ff_mqtt_create(&o, &pub));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	FF_ASSERT_OK(ff_mqtt_connect(pub));

	for (int i = 0; i < 64; i++)
		idx[i] = (uint16_t)((i * 97 + 5) % 512);
	FF_ASSERT_OK(ff_bitpack_pack(idx, 64, 9, 512, codes, sizeof(codes)));
	fc.schema_version = 1;
	fc.device_id = topic + strlen("fleet/test-site/");
	fc.device_id = strndup(fc.device_id, strcspn(fc.device_id, "/"));
	fc.site_id = "test-site";
	fc.seq = 7;
	fc.capture_time_us = 1795455600000000;
	fc.model_id = "vqvae-test";
	fc.grid_h = 8;
	fc.grid_w = 8;
	fc.codebook_size = 512;
	fc.bits_per_index = 9;
	fc.codes.data = codes;
	fc.codes.len = 72;
	box.x0 = 1;
	box.y0 = 2;
	box.x1 = 101;
	box.y1 = 122;
	fc.box = &box;
	fc.det_score = 0.99f;
	len = facefleet__v1__face_codes__pack(&fc, wire);
	CU_ASSERT_FATAL(len > 72 && len < sizeof(wire));

	FF_ASSERT_OK(ff_mqtt_publish(pub, topic, wire, len, 1, false, 5000));
	CU_ASSERT_EQUAL_FATAL(wait_messages(&inbox, 1, 10), 1);

	pthread_mutex_lock(&inbox.mu);
	CU_ASSERT_STRING_EQUAL(inbox.topic, topic);
	CU_ASSERT_EQUAL(inbox.qos, 1);
	CU_ASSERT_EQUAL(inbox.len, len);
	rx = facefleet__v1__face_codes__unpack(NULL, inbox.len, inbox.payload);
	pthread_mutex_unlock(&inbox.mu);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	CU_ASSERT_STRING_EQUAL(rx->device_id, fc.device_id);
	CU_ASSERT_EQUAL(rx->seq, 7);
	CU_ASSERT_STRING_EQUAL(rx->model_id, "vqvae-test");
	CU_ASSERT_PTR_NOT_NULL(rx->box);
	FF_ASSERT_OK(ff_bitpack_unpack(rx->codes.data, rx->codes.len, 64, rx->bits_per_index,
				       rx->codebook_size, back));
	CU_ASSERT_EQUAL(memcmp(idx, back, sizeof(idx)), 0);
	facefleet__v1__face_codes__free_unpacked(rx, NULL);

	/* wildcards are for filters, not topics */
	CU_ASSERT_EQUAL(ff_mqtt_publish(pub, "fleet/+/x/faces", wire, len, 1, false, 1000),
			FF_ERR_INVAL);

	FF_ASSERT_OK(ff_mqtt_disconnect(pub, 2000));
	CU_ASSERT_FALSE(ff_mqtt_is_connected(pub));
	/* no connection, no publish */
	CU_ASSERT_EQUAL(ff_mqtt_publish(pub, topic, wire, len, 1, false, 1000), FF_ERR_STATE);
	FF_ASSERT_OK(ff_mqtt_disconnect(sub, 2000));
	ff_mqtt_destroy(pub);
	ff_mqtt_destroy(sub);
	free((char *)fc.device_id);
}

static void test_wrong_password(void)
{
	ff_mqtt_options o;
	ff_mqtt *m = NULL;
	char id[64];

	snprintf(id, sizeof(id), "test-badpw-%ld", (long)getpid());
	base_options(&o, id);
	o.password = "definitely-not-the-password";
	FF_ASSERT_OK(ff_mqtt_create(&o, &m));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(ff_mqtt_connect(m), FF_ERR_AUTH);
	CU_ASSERT_FALSE(ff_mqtt_is_connected(m));
	ff_mqtt_destroy(m);

	/* and no user at all: anonymous access is off */
	base_options(&o, id);
	o.username = NULL;
	o.password = NULL;
	FF_ASSERT_OK(ff_mqtt_create(&o, &m));
	CU_ASSERT_EQUAL(ff_mqtt_connect(m), FF_ERR_AUTH);
	ff_mqtt_destroy(m);
}

static void test_bad_options(void)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	ff_mqtt *m = NULL;
	CU_ASSERT_EQUAL(ff_mqtt_create(&o, &m), FF_ERR_INVAL); /* no url */
	o.url = "http://127.0.0.1:1";
	CU_ASSERT_EQUAL(ff_mqtt_create(&o, &m), FF_ERR_INVAL);
	CU_ASSERT_PTR_NULL(m);
	/* nothing listens on port 1: refused, not a hang */
	o.url = "tcp://127.0.0.1:1";
	o.connect_timeout_ms = 2000;
	FF_ASSERT_OK(ff_mqtt_create(&o, &m));
	CU_ASSERT_EQUAL(ff_mqtt_connect(m), FF_ERR_MQTT);
	ff_mqtt_destroy(m);
}

static CU_TestInfo mqtt_tests[] = {
	{ "face_codes_roundtrip", test_face_codes_roundtrip },
	{ "wrong_password", test_wrong_password },
	{ "bad_options", test_bad_options },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "mqtt", NULL, NULL, NULL, NULL, mqtt_tests });
