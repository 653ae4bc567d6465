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

#ifdef __cplusplus
}
#endif
#endif
