/* fleetctl/dynsec.c: a client of Mosquitto's dynamic-security plugin.
 *
 * Requests go to $CONTROL/dynamic-security/v1 as {"commands":[...]}; the
 * broker answers every admin session on .../v1/response, so each command
 * carries a correlationData tag ("fc<pid>-<n>") and only answers with our
 * tags count. Responses are scanned, not fully parsed: per answer object
 * only its correlationData and error strings matter. */
#include "fleetctl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/mqtt.h"

#define DS_TOPIC "$CONTROL/dynamic-security/v1"
#define DS_RESPONSE DS_TOPIC "/response"
#define DS_MAX_CMDS 16
#define DS_TIMEOUT_MS 10000

typedef struct ds_msg {
	struct ds_msg *next;
	size_t len;
	char text[];
} ds_msg;

struct fc_dynsec {
	ff_mqtt *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ds_msg *head, *tail;
	unsigned seq;
};

static void on_message(void *ctx, const ff_mqtt_message *msg)
{
	fc_dynsec *d = ctx;
	ds_msg *x;
	if (strcmp(msg->topic, DS_RESPONSE) != 0)
		return;
	x = malloc(sizeof(*x) + msg->len + 1);
	if (!x)
		return;
	x->next = NULL;
	x->len = msg->len;
	memcpy(x->text, msg->payload, msg->len);
	x->text[msg->len] = '\0';
	pthread_mutex_lock(&d->mu);
	if (d->tail)
		d->tail->next = x;
	else
		d->head = x;
	d->tail = x;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

fc_dynsec *fc_dynsec_open(fc_ctx *ctx)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	char cid[128];
	fc_dynsec *d;
	int rc;
	const fc_cfg *c = &ctx->cfg;

	if (!c->mqtt_url || !*c->mqtt_url || !c->mqtt_admin_user || !*c->mqtt_admin_user) {
		fc_fail(FC_EXIT_FAIL, "no broker admin account: set mqtt_url, mqtt_admin_user and "
				      "mqtt_admin_password (config file or $FF_MQTT_*)");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	snprintf(cid, sizeof(cid), "fleetctl-%.60s-%ld", ctx->host, (long)getpid());
	o.url = c->mqtt_url;
	o.client_id = cid;
	o.username = c->mqtt_admin_user;
	o.password = c->mqtt_admin_password;
	o.ca_file = fc_url_tls(c->mqtt_url) && c->mqtt_ca_file && *c->mqtt_ca_file ? c->mqtt_ca_file : NULL;
	o.connect_timeout_ms = 5000;
	o.on_message = on_message;
	o.cb_ctx = d;
	rc = ff_mqtt_create(&o, &d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_connect(d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_subscribe(d->m, DS_RESPONSE, 1, 5000);
	if (rc != FF_OK) {
		fc_fail(FC_EXIT_FAIL, "broker admin session on %s as %s: %s", c->mqtt_url,
			c->mqtt_admin_user, ff_strerror(rc));
		fc_dynsec_close(d);
		return NULL;
	}
	return d;
}

void fc_dynsec_close(fc_dynsec *d)
{
	if (!d)
		return;
	if (d->m) {
		if (ff_mqtt_is_connected(d->m))
			ff_mqtt_disconnect(d->m, 1000);
		ff_mqtt_destroy(d->m);
	}
	while (d->head) {
		ds_msg *n = d->head->next;
		free(d->head);
		d->head = n;
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

/* Copies the JSON string value of "key" inside [s, e) into out ("" if absent). */
static bool json_field(const char *s, const char *e, const char *key, char *out, size_t cap)
{
	char pat[64];
	size_t o = 0;
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	out[0] = '\0';
	for (const char *p = s; p && p < e; p++) {
		p = strstr(p, pat);
		if (!p || p >= e)
			return false;
		const char *q = p + strlen(pat);
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\n'))
			q++;
		if (q >= e || *q != ':')
			continue;
		q++;
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\n'))
			q++;
		if (q >= e || *q != '"')
			continue;
		for (q++; q < e && *q != '"' && o + 1 < cap; q++) {
			if (*q == '\\' && q + 1 < e)
				q++;
			out[o++] = *q;
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* Visits the objects of the "responses" array (depth 2 of braces) and
 * records the error text of each of our tags; returns tags answered. */
static int scan_response(const char *t, char tags[][32], int n, bool *done, char errs[][256])
{
	int depth = 0, answered = 0;
	bool in_str = false;
	const char *start = NULL;
	for (const char *p = t; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{' || *p == '[') {
			depth++;
			if (depth == 3 && *p == '{')
				start = p;
		} else if (*p == '}' || *p == ']') {
			if (depth == 3 && *p == '}' && start) {
				char corr[64];
				if (json_field(start, p, "correlationData", corr, sizeof(corr)))
					for (int i = 0; i < n; i++)
						if (!done[i] && strcmp(corr, tags[i]) == 0) {
							done[i] = true;
							answered++;
							json_field(start, p, "error", errs[i], 256);
						}
				start = NULL;
			}
			depth--;
		}
	}
	return answered;
}

int fc_dynsec_run(fc_dynsec *d, const char *const *cmds, int n, char *errbuf, size_t errlen)
{
	char tags[DS_MAX_CMDS][32];
	char errs[DS_MAX_CMDS][256];
	bool done[DS_MAX_CMDS] = { false };
	size_t cap = 64;
	char *req = NULL;
	size_t len = 0;
	int got = 0, rc = FF_OK;
	struct timespec dl;

	if (n < 1 || n > DS_MAX_CMDS)
		return FF_ERR_INVAL;
	for (int i = 0; i < n; i++)
		cap += strlen(cmds[i]) + 64;
	req = malloc(cap);
	if (!req)
		return FF_ERR_NOMEM;
	len = (size_t)snprintf(req, cap, "{\"commands\":[");
	for (int i = 0; i < n; i++) {
		const char *c = cmds[i];
		snprintf(tags[i], sizeof(tags[i]), "fc%ld-%u", (long)getpid(), ++d->seq);
		errs[i][0] = '\0';
		if (*c != '{') {
			free(req);
			return FF_ERR_INVAL;
		}
		len += (size_t)snprintf(req + len, cap - len, "%s{\"correlationData\":\"%s\",%s", i ? "," : "",
					tags[i], c + 1);
	}
	snprintf(req + len, cap - len, "]}");
	rc = ff_mqtt_publish(d->m, DS_TOPIC, req, strlen(req), 1, false, DS_TIMEOUT_MS);
	free(req);
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "dynamic-security request not accepted: %s", ff_strerror(rc));
		return rc == FF_ERR_AUTH ? FF_ERR_AUTH : FF_ERR_MQTT;
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += DS_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&d->mu);
	while (got < n) {
		while (!d->head) {
			if (pthread_cond_timedwait(&d->cv, &d->mu, &dl) != 0)
				break;
		}
		if (!d->head)
			break;
		ds_msg *m = d->head;
		d->head = m->next;
		if (!d->head)
			d->tail = NULL;
		pthread_mutex_unlock(&d->mu);
		got += scan_response(m->text, tags, n, done, errs);
		free(m);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	if (got < n) {
		ff_seterr(errbuf, errlen, "no answer from the dynamic-security plugin within %d s "
					  "(is it loaded?)", DS_TIMEOUT_MS / 1000);
		return FF_ERR_TIMEOUT;
	}
	for (int i = 0; i < n; i++) {
		if (!errs[i][0])
			continue;
		ff_seterr(errbuf, errlen, "%s", errs[i]);
		if (strstr(errs[i], "not found"))
			rc = rc == FF_OK || rc == FF_ERR_NOTFOUND ? FF_ERR_NOTFOUND : rc;
		else if (strstr(errs[i], "already exists"))
			rc = rc == FF_OK || rc == FF_ERR_STATE ? FF_ERR_STATE : rc;
		else
			rc = FF_ERR_MQTT;
	}
	return rc;
}
