/* facefleet/waker.h: the one wake-up/stop helper of the threads that block
 * in poll (the backend's subscriber, LISTEN and metrics threads): a
 * self-pipe (O_CLOEXEC | O_NONBLOCK) whose read end joins the thread's
 * poll set, and an atomic stop flag.
 *
 *   owner:  ff_waker_init(&w); pthread_create(...);
 *           ... ff_waker_stop(&w); pthread_join(...); ff_waker_close(&w);
 *   thread: while (!ff_waker_stopping(&w)) {
 *               struct pollfd p[2] = { { fd, POLLIN, 0 }, { ff_waker_fd(&w), POLLIN, 0 } };
 *               poll(p, 2, timeout);
 *               if (p[1].revents) ff_waker_drain(&w);
 *               ...
 *           }
 */
#ifndef FF_WAKER_H
#define FF_WAKER_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct ff_waker {
	int fd[2]; /* pipe: read end, write end; -1 when closed */
	atomic_bool stop;
} ff_waker;

/* A closed waker, for static or struct initialisation before ff_waker_init. */
#define FF_WAKER_INIT { { -1, -1 }, false }

/* Opens the pipe and clears the stop flag. Returns FF_OK or FF_ERR_IO
 * (pipe2 failed: errno says why; w is left closed). */
int ff_waker_init(ff_waker *w);
/* The read end, to poll for POLLIN (-1 when closed). */
int ff_waker_fd(const ff_waker *w);
/* Makes the read end readable (a poll on it returns); never blocks. */
void ff_waker_wake(ff_waker *w);
/* Sets the stop flag, then wakes. */
void ff_waker_stop(ff_waker *w);
/* True once ff_waker_stop was called. */
bool ff_waker_stopping(const ff_waker *w);
/* Reads away pending wake-ups, so the read end stops being readable. */
void ff_waker_drain(ff_waker *w);
/* Waits up to timeout_ms (< 0: no limit) for a wake-up; a backoff sleep that
 * ends early on stop. Returns ff_waker_stopping(w). */
bool ff_waker_sleep(ff_waker *w, int timeout_ms);
/* Closes the pipe (after the thread was joined). A closed waker is a no-op. */
void ff_waker_close(ff_waker *w);

#endif
