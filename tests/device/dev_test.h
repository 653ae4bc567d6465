/* tests/device/dev_test.h: helpers for the fleet-device integration tests:
 * a private Mosquitto (same rendered config and password file as the
 * deploy/stack broker, own port, own data) that a test may stop and start,
 * running the fleet-device program, and a subscriber that keeps every
 * message it receives. */
#ifndef DEV_TEST_H
#define DEV_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "facefleet/mqtt.h"

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int dt_free_port(void);

/* ---- a private broker ---- */
typedef struct dt_broker {
	int port;
	char dir[256];  /* its config, data, log */
	char url[64];
	pid_t pid;      /* 0 while stopped */
} dt_broker;
/* Renders the config from the stack's mosquitto.conf onto a free port (no
 * start). Returns 0 or -1 (reason on stderr). */
int dt_broker_init(dt_broker *b, const char *tag);
/* Starts mosquitto (foreground child) and waits until it accepts TCP. 0/-1. */
int dt_broker_start(dt_broker *b);
/* Stops it (SIGTERM, wait; persistence is saved). */
void dt_broker_stop(dt_broker *b);

/* ---- received messages ---- */
typedef struct dt_msg {
	char topic[128];
	uint8_t payload[1024];
	size_t len;
	bool retained;
} dt_msg;
typedef struct dt_inbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dt_msg *msgs;
	size_t n, cap;
} dt_inbox;
void dt_inbox_init(dt_inbox *ib);
void dt_inbox_free(dt_inbox *ib);
void dt_inbox_cb(void *ctx, const ff_mqtt_message *msg); /* ff_mqtt on_message */
/* Waits until at least want messages on topics ending in suffix (NULL: any)
 * arrived or timeout_s passed; returns the count. */
size_t dt_inbox_wait(dt_inbox *ib, const char *suffix, size_t want, int timeout_s);
size_t dt_inbox_count(dt_inbox *ib, const char *suffix);

/* A connected client on url with the stack's credentials; persistent=true
 * keeps its session (and queued QoS 1 messages) across broker restarts and
 * reconnects by itself. Subscribes to filter (if not NULL). NULL on failure. */
ff_mqtt *dt_client(const char *url, const char *id, bool persistent, dt_inbox *ib,
		   const char *filter);

/* ---- the agent ---- */
/* Path of the VQ encoder to test with: the lead's model in models/vq/ if
 * one is there, else the codec's tiny test model. NULL when none. */
const char *dt_vq_encoder(void);
/* Skips the test (exit 77) without MTCNN or VQ model files. */
void dt_need_models(void);
/* Starts fleet-device with the common settings (device, site, broker url,
 * stack credentials, outbox, models) followed by extra arguments (NULL
 * terminated); stdout+stderr go to log. stdin_fd < 0: /dev/null. */
pid_t dt_agent_start(const char *log, int stdin_fd, const char *device, const char *url,
		     const char *outbox, ...) __attribute__((sentinel));
/* Waits for the agent to exit; returns its exit code, -1 on timeout (then
 * it is killed), 128+sig when killed by a signal. */
int dt_agent_wait(pid_t pid, int timeout_s);
/* Number of queued message files in an outbox folder, and (if seqs is not
 * NULL) their sequence numbers. */
size_t dt_outbox_files(const char *dir, uint64_t *seqs, size_t cap);
/* True when the file contains text. */
bool dt_file_contains(const char *path, const char *text);
/* A fresh folder for one agent run: tmp, tmp/outbox, tmp/agent.log. */
typedef struct dt_run {
	char tmp[256], outbox[320], log[320];
} dt_run;
void dt_run_init(dt_run *r, const char *tag);
/* Removes a run's or a stopped broker's folder when the test so far has no
 * failure (kept for a look otherwise). */
void dt_cleanup(const char *dir);
/* mkdtemp under /tmp: "/tmp/ff-dev-<tag>-XXXXXX" into buf. */
const char *dt_tmpdir(char *buf, size_t len, const char *tag);
/* Milliseconds sleep. */
void dt_sleep_ms(int ms);

#endif
