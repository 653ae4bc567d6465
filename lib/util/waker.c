/* Self-pipe wake-up and stop flag (facefleet/waker.h). */
#define _GNU_SOURCE /* pipe2 */
#include "facefleet/waker.h"

#include "facefleet/error.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

int ff_waker_init(ff_waker *w)
{
	atomic_store(&w->stop, false);
	if (pipe2(w->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
		w->fd[0] = w->fd[1] = -1;
		return FF_ERR_IO;
	}
	return FF_OK;
}

int ff_waker_fd(const ff_waker *w)
{
	return w->fd[0];
}

void ff_waker_wake(ff_waker *w)
{
	if (w->fd[1] >= 0 && write(w->fd[1], "x", 1) < 0) {
		/* EAGAIN: the pipe is full, so it is readable already */
	}
}

void ff_waker_stop(ff_waker *w)
{
	atomic_store(&w->stop, true);
	ff_waker_wake(w);
}

bool ff_waker_stopping(const ff_waker *w)
{
	return atomic_load(&w->stop);
}

void ff_waker_drain(ff_waker *w)
{
	char buf[64];
	if (w->fd[0] >= 0)
		while (read(w->fd[0], buf, sizeof(buf)) > 0)
			;
}

bool ff_waker_sleep(ff_waker *w, int timeout_ms)
{
	if (!ff_waker_stopping(w)) {
		struct pollfd p = { w->fd[0], POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) > 0 && !ff_waker_stopping(w))
			ff_waker_drain(w);
	}
	return ff_waker_stopping(w);
}

void ff_waker_close(ff_waker *w)
{
	for (int i = 0; i < 2; i++) {
		if (w->fd[i] >= 0)
			close(w->fd[i]);
		w->fd[i] = -1;
	}
}
