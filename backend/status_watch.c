/* The retained status topics fleet-backend reads (status_watch.h). */
#include "status_watch.h"

#include "facefleet.pb-c.h"
#include "facefleet/clock.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/mqtt.h"
#include "validate.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "status"
#define PRESENCE_PREFIX "facefleet/backend/"
#define PRESENCE_LEAF "/status"
#define INSTANCE_MAX 96 /* publisher.c's topic holds 128 bytes */

typedef struct member {
	char instance[INSTANCE_MAX + 1];
	char group[BE_GROUP_NAME_MAX + 1];
	be_member_state state;
} member;

struct be_status_watch {
	be_devices *devices;
	char device_filter[64];
	const char *filters[3];
	pthread_mutex_t mu; /* members: written on the subscriber thread, read at scrapes */
	member members[BE_STATUS_MEMBERS_MAX];
	size_t nmembers;
	bool full_logged;
};

int be_status_watch_create(be_devices *devices, be_status_watch **out)
{
	be_status_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return FF_ERR_NOMEM;
	/* fleet/+/+/status, from the one place topic strings are made */
	if (ff_mqtt_fleet_topic(w->device_filter, sizeof(w->device_filter), NULL, NULL, "status") !=
	    FF_OK) {
		free(w);
		return FF_ERR_RANGE;
	}
	w->devices = devices;
	w->filters[0] = w->device_filter;
	w->filters[1] = PRESENCE_PREFIX "+" PRESENCE_LEAF;
	w->filters[2] = NULL;
	pthread_mutex_init(&w->mu, NULL);
	*out = w;
	return FF_OK;
}

void be_status_watch_free(be_status_watch *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->mu);
	free(w);
}

const char *const *be_status_watch_filters(const be_status_watch *w)
{
	return w->filters;
}

/* ---- devices ---- */

/* The DeviceStatus of topic's device, or why not (invalid: malformed, or
 * naming another device or site than its topic). */
static be_dstatus_result device_status(be_status_watch *w, const char *site, const char *dev,
				       const uint8_t *p, size_t n, bool retained)
{
	Facefleet__V1__DeviceStatus *st = facefleet__v1__device_status__unpack(NULL, n, p);
	be_dstatus_result r = BE_DSTATUS_INVALID;
	int64_t now = ff_now_us(), seen;
	if (!st || strcmp(st->device_id, dev) != 0 || strcmp(st->site_id, site) != 0 ||
	    st->state < FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_ONLINE ||
	    st->state > FACEFLEET__V1__DEVICE_STATE__DEVICE_STATE_DEGRADED)
		goto out;
	/* a live message was seen now; a retained one when its sender made it
	 * (a last will: when the device connected, so an early bound), never
	 * later than now whatever the device's clock says */
	seen = !retained ? now : st->time_us < 0 ? 0 : st->time_us > now ? now : st->time_us;
	r = be_devices_set_status(w->devices, dev, site, (int)st->state, seen) == FF_OK
		    ? (be_dstatus_result)st->state
		    : BE_DSTATUS_UNKNOWN_DEVICE;
out:
	facefleet__v1__device_status__free_unpacked(st, NULL);
	return r;
}

static void on_device(be_status_watch *w, const char *topic, const uint8_t *p, size_t n,
		      bool retained)
{
	char site[FF_ID_MAX + 1], dev[FF_ID_MAX + 1];
	be_dstatus_result r = BE_DSTATUS_INVALID;
	if (be_fleet_topic_parse(topic, "status", site, dev)) {
		if (n == 0) { /* a retained status cleared: nothing known any more */
			be_devices_set_status(w->devices, dev, site, 0, 0);
			return;
		}
		r = device_status(w, site, dev, p, n, retained);
	}
	be_metrics_device_status(r);
	if (r == BE_DSTATUS_INVALID || r == BE_DSTATUS_UNKNOWN_DEVICE)
		ff_log_debug(LOG_COMP, "event=device_status_refused topic=%s bytes=%zu reason=%s", topic,
			     n, r == BE_DSTATUS_INVALID ? "invalid" : "unknown_device");
}

/* ---- share-group members ---- */

/* Share group names become label values: [A-Za-z0-9._-] only. */
static bool group_name_ok(const char *g)
{
	return strlen(g) <= BE_GROUP_NAME_MAX &&
	       strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		       strlen(g);
}

/* The presence JSON's group and state; false when it is not one. */
static bool presence_parse(const uint8_t *p, size_t n, char *group, be_member_state *state)
{
	static const char *const names[BE_MEMBER__COUNT] = { "online", "stopped", "lost" };
	cJSON *o = cJSON_ParseWithLength((const char *)p, n);
	const char *g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "share_group"));
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "state"));
	bool ok = false;
	for (int i = 0; g && s && group_name_ok(g) && i < BE_MEMBER__COUNT && !ok; i++)
		if (strcmp(s, names[i]) == 0) {
			strcpy(group, g);
			*state = (be_member_state)i;
			ok = true;
		}
	cJSON_Delete(o);
	return ok;
}

/* A full table's slot for a newcomer: a cleanly stopped member's, whose retained
 * "stopped" stays on the broker for ever (instances named per deployment pile
 * them up) and which holds no share of the faces; BE_STATUS_MEMBERS_MAX when
 * every member is online or lost, which matter more. Under w->mu. */
static size_t stopped_slot(const be_status_watch *w)
{
	for (size_t i = 0; i < w->nmembers; i++)
		if (w->members[i].state == BE_MEMBER_STOPPED)
			return i;
	return BE_STATUS_MEMBERS_MAX;
}

/* Sets (or, with group NULL, forgets) instance's entry; under w->mu. */
static void member_put(be_status_watch *w, const char *instance, const char *group,
		       be_member_state state)
{
	size_t i = 0;
	while (i < w->nmembers && strcmp(w->members[i].instance, instance) != 0)
		i++;
	if (!group) {
		if (i < w->nmembers)
			w->members[i] = w->members[--w->nmembers];
		return;
	}
	if (i == w->nmembers) {
		if (i == BE_STATUS_MEMBERS_MAX)
			i = stopped_slot(w);
		if (i == BE_STATUS_MEMBERS_MAX) {
			if (!w->full_logged)
				ff_log_warn(LOG_COMP, "event=members_full max=%d instance=%s",
					    BE_STATUS_MEMBERS_MAX, instance);
			w->full_logged = true;
			return;
		}
		if (i == w->nmembers)
			w->nmembers++;
		snprintf(w->members[i].instance, INSTANCE_MAX + 1, "%s", instance);
	}
	snprintf(w->members[i].group, sizeof(w->members[i].group), "%s", group);
	w->members[i].state = state;
}

static void on_presence(be_status_watch *w, const char *topic, const uint8_t *p, size_t n)
{
	const char *inst = topic + strlen(PRESENCE_PREFIX);
	size_t ilen = strlen(inst) - strlen(PRESENCE_LEAF);
	char instance[INSTANCE_MAX + 1], group[BE_GROUP_NAME_MAX + 1];
	be_member_state state = BE_MEMBER_ONLINE;
	if (ilen == 0 || ilen > INSTANCE_MAX) /* the filter matched: inst ends in /status */
		return;
	memcpy(instance, inst, ilen);
	instance[ilen] = '\0';
	if (n && !presence_parse(p, n, group, &state)) {
		ff_log_debug(LOG_COMP, "event=presence_refused instance=%s bytes=%zu", instance, n);
		return;
	}
	pthread_mutex_lock(&w->mu);
	member_put(w, instance, n ? group : NULL, state); /* empty: the retained one cleared */
	pthread_mutex_unlock(&w->mu);
}

void be_status_watch_message(be_status_watch *w, const char *topic, const uint8_t *payload,
			     size_t len, bool retained)
{
	if (strncmp(topic, PRESENCE_PREFIX, strlen(PRESENCE_PREFIX)) == 0)
		on_presence(w, topic, payload, len);
	else
		on_device(w, topic, payload, len, retained);
}

size_t be_status_watch_members(void *ctx, const char *first, be_group_members *out,
				size_t cap)
{
	be_status_watch *w = ctx;
	size_t n = 1, g;
	if (cap == 0)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	snprintf(out[0].group, sizeof(out[0].group), "%s", first);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nmembers; i++) {
		const member *m = &w->members[i];
		for (g = 0; g < n && strcmp(out[g].group, m->group) != 0; g++)
			;
		if (g == n) {
			if (n == cap)
				continue; /* more groups than exported: this one left out */
			memset(&out[n], 0, sizeof(out[n]));
			strcpy(out[n++].group, m->group);
		}
		out[g].n[m->state]++;
	}
	pthread_mutex_unlock(&w->mu);
	return n;
}
