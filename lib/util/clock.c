/* Wall and monotonic clocks in microseconds (facefleet/clock.h). */
#include "facefleet/clock.h"

#include <time.h>

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ff_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t ff_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

void ff_deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
