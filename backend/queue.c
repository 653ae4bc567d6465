/* Bounded blocking queue and the small job helpers (backend.h). */
#include "backend.h"

#include "facefleet/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void be_deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

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

/* FNV-1a 64 from a chosen offset basis, then a splitmix64 finaliser */
static uint64_t fnv_mix(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

void be_event_id(const char *device_id, uint64_t seq, char out[37])
{
	char key[FF_ID_MAX + 32];
	uint8_t b[16];
	uint64_t h1, h2;
	snprintf(key, sizeof(key), "%s/%llu", device_id, (unsigned long long)seq);
	h1 = fnv_mix(key, 0xcbf29ce484222325ULL);
	h2 = fnv_mix(key, 0xcbf29ce484222325ULL ^ 0x9e3779b97f4a7c15ULL);
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(h1 >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x80); /* version 8 (RFC 9562: custom) */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
	ff_uuid_format(b, out);
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

int be_queue_init(be_queue *q, size_t cap)
{
	pthread_condattr_t ca;
	memset(q, 0, sizeof(*q));
	q->cap = cap ? cap : 1;
	for (int l = 0; l < BE_QUEUE_LANES; l++) {
		q->lane[l].items = calloc(q->cap, sizeof(void *));
		if (!q->lane[l].items) {
			free(q->lane[0].items);
			q->lane[0].items = NULL;
			return -1;
		}
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_empty, &ca);
	pthread_cond_init(&q->not_full, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

void be_queue_destroy(be_queue *q)
{
	if (!q->lane[0].items)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	for (int l = 0; l < BE_QUEUE_LANES; l++) {
		free(q->lane[l].items);
		q->lane[l].items = NULL;
	}
}

bool be_queue_push_lane(be_queue *q, void *item, int lane)
{
	bool ok = false;
	be_ring *r = &q->lane[lane > 0 ? 1 : 0];
	pthread_mutex_lock(&q->mu);
	while (r->count == q->cap && !q->closed)
		pthread_cond_wait(&q->not_full, &q->mu);
	if (!q->closed) {
		r->items[(r->head + r->count) % q->cap] = item;
		r->count++;
		ok = true;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->mu);
	return ok;
}

bool be_queue_push(be_queue *q, void *item)
{
	return be_queue_push_lane(q, item, 0);
}

void *be_queue_pop(be_queue *q, int timeout_ms)
{
	void *item = NULL;
	struct timespec dl;
	if (timeout_ms >= 0)
		be_deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&q->mu);
	while (q->lane[0].count + q->lane[1].count == 0 && !q->closed) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->not_empty, &q->mu);
		else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &dl) == ETIMEDOUT)
			break;
	}
	for (int l = 0; l < BE_QUEUE_LANES && !item; l++) {
		be_ring *r = &q->lane[l];
		if (!r->count)
			continue;
		item = r->items[r->head];
		r->head = (r->head + 1) % q->cap;
		r->count--;
		/* pushers may wait on either lane */
		pthread_cond_broadcast(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return item;
}

void be_queue_close(be_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
}

size_t be_queue_depth(be_queue *q)
{
	size_t n;
	pthread_mutex_lock(&q->mu);
	n = q->lane[0].count + q->lane[1].count;
	pthread_mutex_unlock(&q->mu);
	return n;
}
