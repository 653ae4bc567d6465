/* Random bytes (facefleet/random.h). */
#include "facefleet/random.h"

#include "facefleet/error.h"

#include <errno.h>
#include <sys/random.h>

int ff_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	if (!buf && n)
		return FF_ERR_INVAL;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return FF_ERR_IO;
		}
		got += (size_t)r;
	}
	return FF_OK;
}
