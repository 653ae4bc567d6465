/* facefleet/random.h: the one source of random bytes (passwords, client ids,
 * retry jitter). UUIDs: facefleet/uuid.h. */
#ifndef FF_RANDOM_H
#define FF_RANDOM_H

#include <stddef.h>

/* Fills the n bytes at buf from the kernel's CSPRNG (getrandom(2), blocking
 * only until it is seeded at boot; short reads and EINTR are retried).
 * Returns FF_OK, FF_ERR_INVAL (buf NULL with n > 0) or FF_ERR_IO (getrandom
 * failed; errno says why). n == 0 is FF_OK. */
int ff_random_bytes(void *buf, size_t n);

#endif
