/* Token bucket (facefleet/bucket.h). */
#include "facefleet/bucket.h"

static double level(const ff_bucket *b, double rate, double burst, int64_t now_us)
{
	double t = b->last_us ? b->tokens + (double)(now_us - b->last_us) / 1e6 * rate : burst;
	return t > burst ? burst : t;
}

bool ff_bucket_take(ff_bucket *b, double rate, double burst, int64_t now_us)
{
	if (rate <= 0)
		return true;
	b->tokens = level(b, rate, burst, now_us);
	b->last_us = now_us;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

int64_t ff_bucket_wait_us(const ff_bucket *b, double rate, double burst, int64_t now_us)
{
	double t;
	if (rate <= 0)
		return 0;
	t = level(b, rate, burst, now_us);
	return t >= 1.0 ? 0 : (int64_t)((1.0 - t) / rate * 1e6) + 1;
}
