/* tests/integration/test_fleetctl_common.c: see test_fleetctl_common.h. */
#include "test_fleetctl_common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "ff_test.h"

static char dir[256];
static char out[65536];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

const char *fct_dir(void)
{
	FILE *f;
	char path[320];
	if (dir[0])
		return dir;
	snprintf(dir, sizeof(dir), "/tmp/ff-fleetctl-%ld", (long)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/fleetctl.conf", dir);
	f = fopen(path, "w");
	if (!f)
		return dir;
	fprintf(f, "db_conninfo = %s\nmqtt_url = %s\nmqtt_admin_user = %s\nmqtt_admin_password = %s\n"
		   "mqtt_ca_file = %s\noperator = ctest\n",
		ff_test_env_need("FF_PG_FLEETCTL_CONNINFO"), ff_test_env_need("FF_MQTT_URL"),
		ff_test_env_need("FF_MQTT_ADMIN_USER"), ff_test_env_need("FF_MQTT_ADMIN_PASSWORD"),
		ff_test_env_need("FF_MQTT_CA_FILE"));
	fclose(f);
	return dir;
}

const char *fct_id(char *buf, size_t cap, const char *prefix)
{
	snprintf(buf, cap, "%s%ld", prefix, (long)getpid());
	return buf;
}

int fct_run(const char *args_fmt, ...)
{
	char args[2048], cmd[3072];
	const char *bin = getenv("FF_FLEETCTL_BIN");
	va_list ap;
	int st;
	FILE *f;
	size_t n;
	if (!bin)
		ff_test_skip("FF_FLEETCTL_BIN not set");
	va_start(ap, args_fmt);
	vsnprintf(args, sizeof(args), args_fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' --config '%s/fleetctl.conf' --bundle-dir '%s' %s >'%s/last.out' 2>&1",
		 bin, fct_dir(), fct_dir(), args, fct_dir());
	st = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/last.out", fct_dir());
	out[0] = '\0';
	if ((f = fopen(cmd, "r"))) {
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	fprintf(stderr, "fleetctl %s -> %d\n%s", args, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *fct_output(void)
{
	return out;
}

const char *fct_bundle_get(const char *path, const char *key)
{
	static char val[512];
	char line[1024];
	size_t kl = strlen(key);
	FILE *f = fopen(path, "r");
	val[0] = '\0';
	if (!f)
		return val;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && strncmp(line + kl, " = ", 3) == 0) {
			snprintf(val, sizeof(val), "%s", line + kl + 3);
			val[strcspn(val, "\n")] = '\0';
		}
	}
	fclose(f);
	return val;
}

static void on_msg(void *ctx, const ff_mqtt_message *msg)
{
	fct_client *c = ctx;
	pthread_mutex_lock(&mu);
	c->received++;
	snprintf(c->last_topic, sizeof(c->last_topic), "%s", msg->topic);
	pthread_mutex_unlock(&mu);
}

static void on_conn(void *ctx, bool connected, const char *cause)
{
	fct_client *c = ctx;
	(void)cause;
	if (!connected) {
		pthread_mutex_lock(&mu);
		c->lost++;
		pthread_mutex_unlock(&mu);
	}
}

int fct_connect(fct_client *c, const char *url, const char *user, const char *cid, const char *pw,
		const char *ca)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	int rc;
	memset(c, 0, sizeof(*c));
	o.url = url;
	o.username = user;
	o.client_id = cid;
	o.password = pw;
	o.ca_file = ca;
	o.connect_timeout_ms = 5000;
	o.on_message = on_msg;
	o.on_connection = on_conn;
	o.cb_ctx = c;
	rc = ff_mqtt_create(&o, &c->m);
	if (rc == FF_OK)
		rc = ff_mqtt_connect(c->m);
	if (rc != FF_OK) {
		ff_mqtt_destroy(c->m);
		c->m = NULL;
	}
	return rc;
}

int fct_connect_device(fct_client *c, const char *url, const char *dev, const char *cid, const char *pw,
		       const char *ca)
{
	char path[512], user[128], bound[128], secret[128];
	snprintf(path, sizeof(path), "%s/%s.conf", fct_dir(), dev);
	snprintf(user, sizeof(user), "%s", fct_bundle_get(path, "mqtt_username"));
	snprintf(bound, sizeof(bound), "%s", cid ? cid : fct_bundle_get(path, "mqtt_client_id"));
	snprintf(secret, sizeof(secret), "%s", pw ? pw : fct_bundle_get(path, "mqtt_password"));
	return fct_connect(c, url, user, bound, secret, ca);
}

int fct_connect_service(fct_client *c)
{
	return fct_connect(c, ff_test_env_need("FF_MQTT_URL"), ff_test_env_need("FF_MQTT_USER"), NULL,
			   ff_test_env_need("FF_MQTT_PASSWORD"), NULL);
}

void fct_close(fct_client *c)
{
	if (c->m) {
		if (ff_mqtt_is_connected(c->m))
			ff_mqtt_disconnect(c->m, 1000);
		ff_mqtt_destroy(c->m);
	}
	c->m = NULL;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int fct_wait_received(fct_client *c, int n, int timeout_ms)
{
	int got = 0;
	for (int t = 0; t <= timeout_ms; t += 20) {
		pthread_mutex_lock(&mu);
		got = c->received;
		pthread_mutex_unlock(&mu);
		if (got >= n)
			break;
		nap_ms(20);
	}
	return got;
}

bool fct_wait_disconnected(fct_client *c, int timeout_ms)
{
	for (int t = 0; t <= timeout_ms; t += 20) {
		if (!c->m || !ff_mqtt_is_connected(c->m))
			return true;
		nap_ms(20);
	}
	return false;
}
