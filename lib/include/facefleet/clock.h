/* facefleet/clock.h: the two clocks every component timestamps with. */
#ifndef FACEFLEET_CLOCK_H
#define FACEFLEET_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Wall clock: microseconds since the Unix epoch (UTC). For timestamps that leave the process. */
int64_t ff_now_us(void);
/* Monotonic clock in microseconds. For deadlines, timeouts and latencies. */
int64_t ff_mono_us(void);
/* *ts = CLOCK_MONOTONIC now + ms: a deadline for pthread_cond_timedwait on a
 * condition variable made with pthread_condattr_setclock(CLOCK_MONOTONIC). */
struct timespec;
void ff_deadline_in(struct timespec *ts, int ms);

#ifdef __cplusplus
}
#endif
#endif
