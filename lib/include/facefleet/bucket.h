/* facefleet/bucket.h: a token bucket, the one rate limiter of the project
 * (the backend's per-device budget, the device's send pacing). */
#ifndef FF_BUCKET_H
#define FF_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ff_bucket {
	double tokens;
	int64_t last_us; /* monotonic; 0: never used (a new bucket starts full) */
} ff_bucket;

/* Refills b at rate tokens a second up to burst, then takes one token if
 * there is one. rate <= 0: unlimited (always true). */
bool ff_bucket_take(ff_bucket *b, double rate, double burst, int64_t now_us);
/* Microseconds until ff_bucket_take would succeed (0: now). */
int64_t ff_bucket_wait_us(const ff_bucket *b, double rate, double burst, int64_t now_us);

#endif
