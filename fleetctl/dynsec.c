/* fleetctl/dynsec.c: a client of Mosquitto's dynamic-security plugin.
 *
 * Requests go to $CONTROL/dynamic-security/v1 as {"commands":[...]}; the
 * broker answers every admin session on .../v1/response, so each command
 * carries a correlationData tag ("fc<pid>-<n>") and only answers with our
 * tags count. Requests are built and answers parsed with cJSON: an answer is
 * {"responses":[{"command":...,"correlationData":...,"error":...},...]} and
 * a command failed when its response has an "error". */
#include "fleetctl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

bool fc_admin_mqtt_options(const fc_ctx *ctx, ff_mqtt_options *o, char *cid, size_t cap)
{
	const fc_cfg *c = &ctx->cfg;
	if (!c->mqtt_url || !*c->mqtt_url || !c->mqtt_admin_user || !*c->mqtt_admin_user)
		return false;
	snprintf(cid, cap, "fleetctl-%.60s-%ld", ctx->host, (long)getpid());
	o->url = c->mqtt_url;
	o->client_id = cid;
	o->username = c->mqtt_admin_user;
	o->password = c->mqtt_admin_password;
	o->ca_file = fc_url_tls(c->mqtt_url) && c->mqtt_ca_file && *c->mqtt_ca_file ? c->mqtt_ca_file : NULL;
	o->connect_timeout_ms = 5000;
	return true;
}

fc_dynsec *fc_dynsec_open(fc_ctx *ctx)
{
	ff_mqtt_options o = FF_MQTT_OPTIONS_INIT;
	char cid[128];
	fc_dynsec *d;
	int rc;
	const fc_cfg *c = &ctx->cfg;

	if (!fc_admin_mqtt_options(ctx, &o, cid, sizeof(cid))) {
		fc_fail(FF_EXIT_FAIL, "no broker admin account: set mqtt_url, mqtt_admin_user and "
				      "mqtt_admin_password (config file or $FF_MQTT_*)");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	o.on_message = on_message;
	o.cb_ctx = d;
	rc = ff_mqtt_create(&o, &d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_connect(d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_subscribe(d->m, DS_RESPONSE, 1, 5000);
	if (rc != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "broker admin session on %s as %s: %s", c->mqtt_url,
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

/* ---- commands ------------------------------------------------------------------ */

cJSON *fc_ds_command(const char *command, const char *key, const char *value)
{
	cJSON *c = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(c, "command", command) ||
	    (key && !cJSON_AddStringToObject(c, key, value))) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

bool fc_ds_acl(cJSON *acls, const char *type, const char *topic)
{
	cJSON *a = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(a, "acltype", type) || !cJSON_AddStringToObject(a, "topic", topic) ||
	    !cJSON_AddTrueToObject(a, "allow") || !cJSON_AddItemToArray(acls, a)) {
		cJSON_Delete(a);
		return false;
	}
	return true;
}

cJSON *fc_ds_create_client(const char *user, const char *pw, const char *clientid, const char *textname,
			   const char *role)
{
	cJSON *c = fc_ds_command("createClient", "username", user), *roles, *r = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(c, "password", pw) || !cJSON_AddStringToObject(c, "clientid", clientid) ||
	    !cJSON_AddStringToObject(c, "textname", textname ? textname : "") ||
	    !(roles = cJSON_AddArrayToObject(c, "roles")) || !cJSON_AddStringToObject(r, "rolename", role) ||
	    !cJSON_AddItemToArray(roles, r)) {
		cJSON_Delete(r);
		fc_ds_free(&c, 1);
		return NULL;
	}
	return c;
}

/* Zeroes the "password" of command c: no copy of it outlives the command. */
static void wipe_password(cJSON *c)
{
	cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "password");
	if (cJSON_IsString(p) && p->valuestring)
		memset(p->valuestring, 0, strlen(p->valuestring));
}

void fc_ds_free(cJSON **cmds, int n)
{
	for (int i = 0; i < n; i++) {
		wipe_password(cmds[i]);
		cJSON_Delete(cmds[i]);
		cmds[i] = NULL;
	}
}

/* ---- requests and answers ------------------------------------------------------- */

/* The request text {"commands":[...]}: a copy of each command with its
 * correlationData tag. NULL when out of memory (or a command is NULL). */
static char *build_request(cJSON *const *cmds, int n, char tags[][32])
{
	cJSON *req = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(req, "commands"), *c;
	char *text = NULL;
	bool ok = arr != NULL;
	for (int i = 0; i < n && ok; i++) {
		c = cmds[i] ? cJSON_Duplicate(cmds[i], true) : NULL;
		ok = cJSON_AddStringToObject(c, "correlationData", tags[i]) && cJSON_AddItemToArray(arr, c);
		if (!ok)
			fc_ds_free(&c, 1);
	}
	if (ok)
		text = cJSON_PrintUnformatted(req);
	cJSON_ArrayForEach(c, arr)
		wipe_password(c);
	cJSON_Delete(req);
	return text;
}

/* Parses one answer of the broker and records the "error" of each of our
 * tags not yet answered (errs[i] "" when the command succeeded); returns
 * the number of tags answered. Answers of other admin sessions, and text
 * that is not JSON, count for nothing. */
static int scan_response(const char *t, char tags[][32], int n, bool *done, char errs[][256])
{
	cJSON *root = cJSON_Parse(t), *r;
	int answered = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(root, "responses")) {
		const char *corr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "correlationData"));
		cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
		for (int i = 0; corr && i < n; i++) {
			if (done[i] || strcmp(corr, tags[i]) != 0)
				continue;
			done[i] = true;
			answered++;
			if (cJSON_IsString(err))
				snprintf(errs[i], sizeof(errs[i]), "%s", err->valuestring);
			else if (err && !cJSON_IsNull(err))
				snprintf(errs[i], sizeof(errs[i]), "failed (error not a string)");
		}
	}
	cJSON_Delete(root);
	return answered;
}

int fc_dynsec_run(fc_dynsec *d, cJSON *const *cmds, int n, char *errbuf, size_t errlen)
{
	char tags[DS_MAX_CMDS][32];
	char errs[DS_MAX_CMDS][256];
	bool done[DS_MAX_CMDS] = { false };
	char *req;
	int got = 0, rc = FF_OK;
	struct timespec dl;

	if (n < 1 || n > DS_MAX_CMDS)
		return FF_ERR_INVAL;
	for (int i = 0; i < n; i++) {
		if (!cJSON_IsObject(cmds[i])) {
			ff_seterr(errbuf, errlen, "out of memory building a dynamic-security command");
			return FF_ERR_NOMEM;
		}
		snprintf(tags[i], sizeof(tags[i]), "fc%ld-%u", (long)getpid(), ++d->seq);
		errs[i][0] = '\0';
	}
	if (!(req = build_request(cmds, n, tags))) {
		ff_seterr(errbuf, errlen, "out of memory building a dynamic-security request");
		return FF_ERR_NOMEM;
	}
	rc = ff_mqtt_publish(d->m, DS_TOPIC, req, strlen(req), 1, false, DS_TIMEOUT_MS);
	memset(req, 0, strlen(req)); /* passwords */
	cJSON_free(req);
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
