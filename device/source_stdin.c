/* source=stdin: raw frames of width x height pixels (rgb24, bgr24 or gray8)
 * back to back on a file descriptor, e.g.
 *   ffmpeg -i cam.mp4 -f rawvideo -pix_fmt rgb24 - | fleet-device - --width 640 --height 480 */
#include "device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

struct stdin_source {
	dev_source base;
	int fd;
	int width, height;
	ff_pixfmt fmt;
	size_t frame_len;
	uint8_t *buf;
	uint64_t frames;
	const atomic_bool *stop;
};

/* Reads exactly len bytes unless the input ends or stop is set (a signal
 * interrupts the read). Returns bytes read or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len, const atomic_bool *stop)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR && atomic_load(stop))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int stdin_next(dev_source *base, ff_image *img, char *name, size_t namelen)
{
	struct stdin_source *s = (struct stdin_source *)base;
	ssize_t n = read_full(s->fd, s->buf, s->frame_len, s->stop);

	if (n < 0) {
		ff_log_error("source", "event=read_failed source=stdin errno=%d", errno);
		return FF_ERR_IO;
	}
	if ((size_t)n < s->frame_len) {
		if (n > 0 && !atomic_load(s->stop))
			ff_log_warn("source", "event=partial_frame source=stdin bytes=%zd frame_bytes=%zu",
				    n, s->frame_len);
		return 0;
	}
	snprintf(name, namelen, "stdin#%llu", (unsigned long long)s->frames++);
	return ff_image_from_raw(s->buf, s->frame_len, s->width, s->height, s->fmt, 0, NULL, img) ==
			       FF_OK
		       ? 1
		       : FF_ERR_FORMAT;
}

static void stdin_close(dev_source *base)
{
	struct stdin_source *s = (struct stdin_source *)base;
	free(s->buf);
	free(s);
}

int dev_source_stdin_open(int fd, int width, int height, const char *pixfmt,
			  const atomic_bool *stop, dev_source **out)
{
	struct stdin_source *s;
	ff_pixfmt fmt;
	size_t bpp;

	if (!strcmp(pixfmt, "rgb24"))
		fmt = FF_PIXFMT_RGB24, bpp = 3;
	else if (!strcmp(pixfmt, "bgr24"))
		fmt = FF_PIXFMT_BGR24, bpp = 3;
	else if (!strcmp(pixfmt, "gray8"))
		fmt = FF_PIXFMT_GRAY8, bpp = 1;
	else
		return FF_ERR_UNSUPPORTED;
	if (width <= 0 || height <= 0)
		return FF_ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return FF_ERR_NOMEM;
	s->frame_len = (size_t)width * (size_t)height * bpp;
	s->buf = malloc(s->frame_len);
	if (!s->buf) {
		free(s);
		return FF_ERR_NOMEM;
	}
	s->fd = fd;
	s->stop = stop;
	s->width = width;
	s->height = height;
	s->fmt = fmt;
	s->base.next = stdin_next;
	s->base.close = stdin_close;
	*out = &s->base;
	return FF_OK;
}
