/* unit_bad_input: hostile inputs the other tests did not cover
 * (docs/BAD_INPUT.md lists every interface and the test for each kind).
 *  - DeviceConfig (retained, from whoever may publish the config topic):
 *    garbage, empty, out-of-range values that would wrap to negative ints,
 *    NaN score, an unknown model id with hostile characters
 *  - fleet ids and topics: wildcards, '$', '/', '..', NUL-free long ids
 *  - ff_sanitize: quotes, control characters, SQL and JSON breakers become
 *    inert \\xNN text before logs, SQL text or JSON */
#include "ff_test.h"

#include "backend.h"
#include "device.h"
#include "facefleet.pb-c.h"
#include "facefleet/ids.h"
#include "facefleet/mqtt.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static dev_agent *agent_new(void)
{
	static dev_agent a;
	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.settings.mu, NULL);
	a.settings.min_face_px = 40;
	a.settings.min_det_score = 0.9f;
	a.settings.max_fps = 0;
	a.settings.status_interval_s = 60;
	snprintf(a.settings.model_id, sizeof(a.settings.model_id), "vq0-s1");
	a.cfg.vq_dir = (char *)"/nonexistent";
	return &a;
}

static size_t pack_cfg(const Facefleet__V1__DeviceConfig *c, uint8_t *buf)
{
	return facefleet__v1__device_config__pack(c, buf);
}

static void test_device_config_garbage(void)
{
	dev_agent *a = agent_new();
	uint8_t junk[64];
	memset(junk, 0xff, sizeof(junk));
	CU_ASSERT_FALSE(dev_config_apply(a, junk, sizeof(junk)));
	CU_ASSERT_FALSE(dev_config_apply(a, junk, 0)); /* retained config cleared */
	CU_ASSERT_EQUAL(a->settings.status_interval_s, 60);
	CU_ASSERT_EQUAL(a->settings.min_face_px, 40);
}

static void test_device_config_out_of_range(void)
{
	dev_agent *a = agent_new();
	Facefleet__V1__DeviceConfig c = FACEFLEET__V1__DEVICE_CONFIG__INIT;
	uint8_t buf[256];
	c.config_version = 1;
	c.status_interval_s = UINT32_MAX; /* (int) -1: a status every millisecond */
	c.min_face_px = 0x80000000u;      /* (int) INT_MIN: every face passes the gate */
	c.max_fps = UINT32_MAX;
	c.min_det_score = NAN;
	CU_ASSERT_TRUE(dev_config_apply(a, buf, pack_cfg(&c, buf)));
	CU_ASSERT_EQUAL(a->settings.status_interval_s, 60);
	CU_ASSERT_EQUAL(a->settings.min_face_px, 40);
	CU_ASSERT_EQUAL(a->settings.max_fps, 0);
	CU_ASSERT_DOUBLE_EQUAL(a->settings.min_det_score, 0.9, 1e-6);
	/* in range: applied; an older version afterwards: ignored */
	c.config_version = 2;
	c.status_interval_s = 86400;
	c.min_face_px = 8192;
	c.max_fps = 1000;
	c.min_det_score = 0.5f;
	CU_ASSERT_TRUE(dev_config_apply(a, buf, pack_cfg(&c, buf)));
	CU_ASSERT_EQUAL(a->settings.status_interval_s, 86400);
	CU_ASSERT_EQUAL(a->settings.min_face_px, 8192);
	c.config_version = 1;
	c.status_interval_s = 5;
	CU_ASSERT_FALSE(dev_config_apply(a, buf, pack_cfg(&c, buf)));
	CU_ASSERT_EQUAL(a->settings.status_interval_s, 86400);
}

static void test_device_config_hostile_model_id(void)
{
	dev_agent *a = agent_new();
	Facefleet__V1__DeviceConfig c = FACEFLEET__V1__DEVICE_CONFIG__INIT;
	uint8_t buf[512];
	c.config_version = 3;
	c.model_id = (char *)"../../etc/passwd\n\x1b[2J'; DROP TABLE devices; --";
	CU_ASSERT_TRUE(dev_config_apply(a, buf, pack_cfg(&c, buf)));
	CU_ASSERT_TRUE(a->settings.degraded);          /* said in the status */
	CU_ASSERT_STRING_EQUAL(a->settings.model_id, "vq0-s1"); /* kept */
	CU_ASSERT_EQUAL(a->model_pending[0], '\0');
	CU_ASSERT_PTR_NULL(strchr(a->settings.detail, '\n'));  /* quoted in the status detail */
	CU_ASSERT_PTR_NULL(strchr(a->settings.detail, '\x1b'));
}

static void test_fleet_ids_and_topics(void)
{
	static const char *const bad[] = { "", "+", "#", "$SYS", "a/b", "..", "A", "dev 1",
					   "dev_1", "x'--", "0123456789012345678901234567890123" };
	char topic[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FALSE(ff_id_valid(bad[i]));
		CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(topic, sizeof(topic), "site", bad[i], "faces"),
				FF_ERR_INVAL);
		CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(topic, sizeof(topic), bad[i], "dev", "faces"),
				FF_ERR_INVAL);
	}
	CU_ASSERT_TRUE(ff_id_valid("door-1"));
	CU_ASSERT_EQUAL(ff_mqtt_fleet_topic(topic, 8, "hq", "door-1", "faces"), FF_ERR_RANGE);
}

static void test_sanitize(void)
{
	char out[64];
	const char in[] = "x'; DROP TABLE t; --\"\n\x1b[31m\\}";
	ff_sanitize(out, sizeof(out), in, sizeof(in) - 1);
	for (const char *p = out; *p; p++)
		CU_ASSERT(*p >= 0x20 && *p < 0x7f);
	CU_ASSERT_PTR_NULL(strchr(out, '\n'));
	CU_ASSERT_PTR_NULL(strchr(out, '\x1b'));
	/* truncation keeps a terminated string, never a half escape */
	ff_sanitize(out, 6, "\x01\x02\x03", 3);
	CU_ASSERT(strlen(out) < 6);
	CU_ASSERT(strlen(out) % 4 == 0);
}

static CU_TestInfo tests[] = {
	{ "device_config_garbage", test_device_config_garbage },
	{ "device_config_out_of_range", test_device_config_out_of_range },
	{ "device_config_hostile_model_id", test_device_config_hostile_model_id },
	{ "fleet_ids_and_topics", test_fleet_ids_and_topics },
	{ "sanitize", test_sanitize },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "bad_input", NULL, NULL, NULL, NULL, tests });
