/* tests/harness/ff_test_env.h: the test environment.
 *
 * ff_test_env_get(key) returns, in order: the process environment's value,
 * else the value in the private stack's env file (path in FF_STACK_ENV, as
 * written by `deploy/stack start`: FF_MQTT_URL, FF_MQTT_HOST, FF_MQTT_PORT,
 * FF_MQTT_USER, FF_MQTT_PASSWORD, FF_PG_CONNINFO, FF_PG_HOST, FF_PG_PORT, ...),
 * else NULL. Strings stay valid until exit. */
#ifndef FF_TEST_ENV_H
#define FF_TEST_ENV_H

#include <stddef.h>

#include "facefleet/error.h"

const char *ff_test_env_get(const char *key);

/* Like ff_test_env_get, but a missing key fails the calling test with a
 * CUnit assertion and returns "" (never NULL). */
const char *ff_test_env_need(const char *key);

/* Joins FF_TEST_DATA_DIR (tests/data) and name into buf; returns buf. */
const char *ff_test_data_path(char *buf, size_t len, const char *name);

#endif
