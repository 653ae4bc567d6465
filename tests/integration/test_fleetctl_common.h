/* tests/integration/test_fleetctl_common.h: what the fleetctl_* tests share:
 * running the fleetctl binary against the private stack (a config file made
 * from stack.env), reading credential bundles, and MQTT clients that log in
 * with them. Ids carry the pid so runs never collide. */
#ifndef FF_TEST_FLEETCTL_COMMON_H
#define FF_TEST_FLEETCTL_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "facefleet/mqtt.h"

/* Per-run folder (/tmp/ff-fleetctl-<pid>) with fleetctl.conf (admin account,
 * database) and room for bundles; created on first use. */
const char *fct_dir(void);
/* "<prefix><pid>": unique [a-z0-9-] ids for sites, devices, integrators. */
const char *fct_id(char *buf, size_t cap, const char *prefix);
/* Runs `fleetctl --config <dir>/fleetctl.conf --bundle-dir <dir> ARGS` (args
 * joined by the shell: only simple words). Output goes to <dir>/last.out.
 * Returns the exit status (-1 if it did not exit). */
int fct_run(const char *args_fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last run's output, NUL-terminated (static buffer). */
const char *fct_output(void);
/* Value of `key = value` in a bundle file (static buffer; "" if absent). */
const char *fct_bundle_get(const char *path, const char *key);

/* A test MQTT client with a received-message counter. */
typedef struct fct_client {
	ff_mqtt *m;
	int received;
	int lost;            /* connection losses seen */
	char last_topic[256];
} fct_client;

/* Connects; returns the ff_mqtt_connect result (FF_OK, FF_ERR_AUTH, ...).
 * cid NULL: a random client id; ca may be NULL (plain). On failure c->m is
 * destroyed and NULL. */
int fct_connect(fct_client *c, const char *url, const char *user, const char *cid, const char *pw,
		const char *ca);
/* Connects with the bundle <dir>/<dev>.conf of a provisioned device: its
 * user name, and its bound client id and its password unless cid or pw are
 * given (url: any of the broker's; ca may be NULL). Same result as fct_connect. */
int fct_connect_device(fct_client *c, const char *url, const char *dev, const char *cid, const char *pw,
		       const char *ca);
void fct_close(fct_client *c);
/* Waits until c->received >= n or timeout_ms; returns c->received. */
int fct_wait_received(fct_client *c, int n, int timeout_ms);
/* Waits until the client is disconnected or timeout_ms; true if it is. */
bool fct_wait_disconnected(fct_client *c, int timeout_ms);
/* Connects as the stack's service account (FF_MQTT_USER). */
int fct_connect_service(fct_client *c);

#endif
