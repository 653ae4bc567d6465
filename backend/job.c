/* One message's life in the backend: a job from the subscriber's PUBLISH to
 * its decision (backend.h). */
#include "backend.h"

#include "facefleet/ids.h"
#include "facefleet/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *be_decision_name(be_decision d)
{
	switch (d) {
	case BE_DECISION_GRANTED: return "granted";
	case BE_DECISION_UNKNOWN: return "unknown";
	case BE_DECISION_REJECTED: return "rejected";
	case BE_DECISION_INVALID: return "invalid";
	default: return "none";
	}
}

be_decision be_decision_parse(const char *name)
{
	for (be_decision d = BE_DECISION_GRANTED; d <= BE_DECISION_INVALID; d++)
		if (name && strcmp(name, be_decision_name(d)) == 0)
			return d;
	return BE_DECISION_NONE;
}

void be_event_id(const char *device_id, uint64_t seq, char out[37])
{
	char name[FF_ID_MAX + 32];
	snprintf(name, sizeof(name), "%s/%llu", device_id, (unsigned long long)seq);
	ff_uuid5(FF_UUID_NS_EVENTS, name, out);
}

be_job *be_job_new(const char *topic, const void *payload, size_t len)
{
	be_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->payload = malloc(len ? len : 1);
	if (!j->payload) {
		free(j);
		return NULL;
	}
	if (len)
		memcpy(j->payload, payload, len);
	j->len = len;
	ff_sanitize(j->topic, sizeof(j->topic), topic, strlen(topic));
	j->received_us = ff_now_us();
	j->t_in = ff_mono_us();
	j->model_index = -1;
	ff_uuid4(j->event_id);
	return j;
}

void be_job_free(be_job *j)
{
	if (!j)
		return;
	free(j->payload);
	free(j);
}

void be_job_reject(be_job *j, be_decision d, const char *reason)
{
	j->decision = d;
	snprintf(j->reason, sizeof(j->reason), "%s", reason);
}
