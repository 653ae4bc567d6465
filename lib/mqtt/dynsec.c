/* lib/mqtt/dynsec.c: a client of Mosquitto's dynamic-security plugin
 * (facefleet/dynsec.h).
 *
 * Requests go to $CONTROL/dynamic-security/v1 as {"commands":[...]}; the
 * broker answers every admin session on .../v1/response, so each command
 * carries a correlationData tag ("ff<session random>-<n>") and only answers
 * with our tags count. Requests are built and answers parsed with cJSON: an
 * answer is {"responses":[{"command":...,"correlationData":...,"error":...}]}
 * and a command failed when its response has an "error". */
#include "facefleet/dynsec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "facefleet/error.h"
#include "facefleet/ids.h"
#include "facefleet/mqtt.h"
#include "facefleet/random.h"

#define DS_TOPIC "$CONTROL/dynamic-security/v1"
#define DS_RESPONSE DS_TOPIC "/response"
#define DS_MAX_CMDS 16

typedef struct ds_msg {
	struct ds_msg *next;
	size_t len;
	char text[];
} ds_msg;

struct ff_dynsec {
	ff_mqtt *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ds_msg *head, *tail;
	char tag[16]; /* this session's random part of every correlationData */
	unsigned seq;
	int timeout_ms;
};

/* Paho's thread: queues a copy of each answer for ff_dynsec_run. */
static void on_message(void *ctx, const ff_mqtt_message *msg)
{
	ff_dynsec *d = ctx;
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

int ff_dynsec_open(const ff_dynsec_options *o, ff_dynsec **out, char *errbuf, size_t errlen)
{
	ff_mqtt_options mo = FF_MQTT_OPTIONS_INIT;
	ff_dynsec *d = NULL;
	unsigned char r[4];
	int rc;

	*out = NULL;
	if (!o->url || !*o->url || !o->username || !*o->username || o->timeout_ms < 1 ||
	    o->connect_timeout_ms < 1) {
		ff_seterr(errbuf, errlen, "broker admin session: url, username and timeouts are required");
		return FF_ERR_INVAL;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		ff_seterr(errbuf, errlen, "out of memory");
		return FF_ERR_NOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->timeout_ms = o->timeout_ms;
	if (ff_random_bytes(r, sizeof(r)) != FF_OK)
		memset(r, 0, sizeof(r)); /* tags then differ by session only through the counter */
	snprintf(d->tag, sizeof(d->tag), "ff%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	mo.url = o->url;
	mo.client_id = o->client_id;
	mo.username = o->username;
	mo.password = o->password;
	mo.ca_file = o->ca_file;
	mo.connect_timeout_ms = o->connect_timeout_ms;
	mo.on_message = on_message;
	mo.cb_ctx = d;
	rc = ff_mqtt_create(&mo, &d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_connect(d->m);
	if (rc == FF_OK)
		rc = ff_mqtt_subscribe(d->m, DS_RESPONSE, 1, o->connect_timeout_ms);
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "broker admin session on %s as %s: %s", o->url, o->username,
			  ff_strerror(rc));
		ff_dynsec_close(d);
		return rc;
	}
	*out = d;
	return FF_OK;
}

void ff_dynsec_close(ff_dynsec *d)
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

cJSON *ff_dynsec_command(const char *command, const char *key, const char *value)
{
	cJSON *c = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(c, "command", command) ||
	    (key && !cJSON_AddStringToObject(c, key, value))) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

bool ff_dynsec_acl(cJSON *acls, const char *type, const char *topic)
{
	cJSON *a = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(a, "acltype", type) || !cJSON_AddStringToObject(a, "topic", topic) ||
	    !cJSON_AddTrueToObject(a, "allow") || !cJSON_AddItemToArray(acls, a)) {
		cJSON_Delete(a);
		return false;
	}
	return true;
}

cJSON *ff_dynsec_create_client(const char *user, const char *pw, const char *clientid,
			       const char *textname, const char *role)
{
	cJSON *c = ff_dynsec_command("createClient", "username", user), *roles, *r = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(c, "password", pw) || !cJSON_AddStringToObject(c, "clientid", clientid) ||
	    !cJSON_AddStringToObject(c, "textname", textname ? textname : "") ||
	    !(roles = cJSON_AddArrayToObject(c, "roles")) || !cJSON_AddStringToObject(r, "rolename", role) ||
	    !cJSON_AddItemToArray(roles, r)) {
		cJSON_Delete(r);
		ff_dynsec_free(&c, 1);
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

void ff_dynsec_free(cJSON **cmds, int n)
{
	for (int i = 0; i < n; i++) {
		wipe_password(cmds[i]);
		cJSON_Delete(cmds[i]);
		cmds[i] = NULL;
	}
}

int ff_dynsec_device_user(char *buf, size_t cap, const char *device)
{
	if (!ff_id_valid(device))
		return FF_ERR_INVAL;
	return (size_t)snprintf(buf, cap, "dev.%s", device) < cap ? FF_OK : FF_ERR_RANGE;
}

int ff_dynsec_disable_device(ff_dynsec *d, const char *device, char *errbuf, size_t errlen)
{
	char user[48];
	cJSON *cmd;
	int rc;
	if (ff_dynsec_device_user(user, sizeof(user), device) != FF_OK) {
		ff_seterr(errbuf, errlen, "'%.40s' is not a device id", device ? device : "(null)");
		return FF_ERR_INVAL;
	}
	cmd = ff_dynsec_command("disableClient", "username", user);
	rc = ff_dynsec_run(d, &cmd, 1, errbuf, errlen);
	ff_dynsec_free(&cmd, 1);
	return rc;
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
			ff_dynsec_free(&c, 1);
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

/* Waits for the answers to the n tags until the deadline; returns how many came. */
static int collect_answers(ff_dynsec *d, char tags[][32], int n, bool *done, char errs[][256])
{
	struct timespec dl;
	int got = 0;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += d->timeout_ms / 1000;
	dl.tv_nsec += (long)(d->timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
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
	return got;
}

/* The ff_err of the commands' errors (see ff_dynsec_run); the last text to errbuf. */
static int errors_rc(char errs[][256], int n, char *errbuf, size_t errlen)
{
	int rc = FF_OK;
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

int ff_dynsec_run(ff_dynsec *d, cJSON *const *cmds, int n, char *errbuf, size_t errlen)
{
	char tags[DS_MAX_CMDS][32];
	char errs[DS_MAX_CMDS][256];
	bool done[DS_MAX_CMDS] = { false };
	char *req;
	int rc;

	if (!d || n < 1 || n > DS_MAX_CMDS) {
		ff_seterr(errbuf, errlen, "a dynamic-security request holds 1 to %d commands", DS_MAX_CMDS);
		return FF_ERR_INVAL;
	}
	for (int i = 0; i < n; i++) {
		if (!cJSON_IsObject(cmds[i])) {
			ff_seterr(errbuf, errlen, "out of memory building a dynamic-security command");
			return FF_ERR_NOMEM;
		}
		snprintf(tags[i], sizeof(tags[i]), "%s-%u", d->tag, ++d->seq);
		errs[i][0] = '\0';
	}
	if (!(req = build_request(cmds, n, tags))) {
		ff_seterr(errbuf, errlen, "out of memory building a dynamic-security request");
		return FF_ERR_NOMEM;
	}
	rc = ff_mqtt_publish(d->m, DS_TOPIC, req, strlen(req), 1, false, d->timeout_ms);
	memset(req, 0, strlen(req)); /* passwords */
	cJSON_free(req);
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "dynamic-security request not accepted: %s", ff_strerror(rc));
		return rc == FF_ERR_AUTH ? FF_ERR_AUTH : FF_ERR_MQTT;
	}
	if (collect_answers(d, tags, n, done, errs) < n) {
		ff_seterr(errbuf, errlen, "no answer from the dynamic-security plugin within %d ms "
					  "(is it loaded?)", d->timeout_ms);
		return FF_ERR_TIMEOUT;
	}
	return errors_rc(errs, n, errbuf, errlen);
}
