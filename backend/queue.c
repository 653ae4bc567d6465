/* Bounded blocking queue of pointers, two lanes (backend.h). */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		ff_deadline_in(&dl, timeout_ms);
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

bool be_queue_drained(be_queue *q)
{
	bool d;
	pthread_mutex_lock(&q->mu);
	d = q->closed && q->lane[0].count + q->lane[1].count == 0;
	pthread_mutex_unlock(&q->mu);
	return d;
}

size_t be_queue_depth(be_queue *q)
{
	size_t n;
	pthread_mutex_lock(&q->mu);
	n = q->lane[0].count + q->lane[1].count;
	pthread_mutex_unlock(&q->mu);
	return n;
}
