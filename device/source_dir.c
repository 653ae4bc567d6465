/* source=dir: every regular file of a folder in name order (one-shot), and
 * with watch=true also each file that later appears in it (inotify: written
 * and closed, or moved in). Files that are not readable images are logged
 * and skipped; names starting with '.' are ignored (write to .tmp, then
 * rename into place). */
#include "device.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

struct dir_source {
	dev_source base;
	char *dir;
	struct dirent **list; /* initial listing, name order */
	int nlist, next;
	bool watch;
	int ifd; /* inotify, -1 unless watching */
	const atomic_bool *stop;
	char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t evlen, evpos;
};

static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static bool listed(const struct dir_source *s, const char *name)
{
	for (int i = 0; i < s->nlist; i++)
		if (strcmp(s->list[i]->d_name, name) == 0)
			return true;
	return false;
}

/* Loads dir/name if it is a regular file. Returns 1 (frame), 0 (skip). */
static int try_load(struct dir_source *s, const char *name, ff_image *img, char *out, size_t outlen)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if (dev_load_image(path, img) != FF_OK)
		return 0;
	snprintf(out, outlen, "%s", path);
	return 1;
}

/* Next file name from inotify; 0 when stop was set. */
static int next_event(struct dir_source *s, char *name, size_t namelen)
{
	while (!atomic_load(s->stop)) {
		if (s->evpos < s->evlen) {
			struct inotify_event *ev = (struct inotify_event *)(s->evbuf + s->evpos);
			s->evpos += sizeof(*ev) + ev->len;
			if (ev->len && ev->name[0] != '.' && !(ev->mask & IN_ISDIR)) {
				snprintf(name, namelen, "%s", ev->name);
				return 1;
			}
			continue;
		}
		struct pollfd pfd = { .fd = s->ifd, .events = POLLIN };
		int n = poll(&pfd, 1, 250);
		if (n < 0 && errno != EINTR)
			return FF_ERR_IO;
		if (n <= 0)
			continue;
		ssize_t r = read(s->ifd, s->evbuf, sizeof(s->evbuf));
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return FF_ERR_IO;
		s->evlen = r > 0 ? (size_t)r : 0;
		s->evpos = 0;
	}
	return 0;
}

static int dir_next(dev_source *base, ff_image *img, char *name, size_t namelen)
{
	struct dir_source *s = (struct dir_source *)base;
	char file[256];
	int rc;

	while (s->next < s->nlist) {
		const char *n = s->list[s->next++]->d_name;
		if (try_load(s, n, img, name, namelen))
			return 1;
	}
	if (!s->watch)
		return 0;
	while ((rc = next_event(s, file, sizeof(file))) == 1) {
		if (listed(s, file)) /* seen by the initial scan already */
			continue;
		if (try_load(s, file, img, name, namelen))
			return 1;
	}
	return rc;
}

static void dir_close(dev_source *base)
{
	struct dir_source *s = (struct dir_source *)base;
	for (int i = 0; i < s->nlist; i++)
		free(s->list[i]);
	free(s->list);
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->dir);
	free(s);
}

int dev_source_dir_open(const char *dir, bool watch, const atomic_bool *stop, dev_source **out)
{
	struct dir_source *s = calloc(1, sizeof(*s));
	int rc = FF_OK;

	if (!s)
		return FF_ERR_NOMEM;
	s->ifd = -1;
	s->watch = watch;
	s->stop = stop;
	s->base.next = dir_next;
	s->base.close = dir_close;
	s->dir = strdup(dir);
	if (!s->dir) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	if (watch) { /* watch first, then list: nothing falls between */
		s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (s->ifd < 0 || inotify_add_watch(s->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
			ff_log_error("source", "event=watch_failed dir=%s errno=%d", dir, errno);
			rc = errno == ENOENT ? FF_ERR_NOTFOUND : FF_ERR_IO;
			goto out;
		}
	}
	s->nlist = scandir(dir, &s->list, visible, alphasort);
	if (s->nlist < 0) {
		ff_log_error("source", "event=dir_unreadable dir=%s errno=%d", dir, errno);
		rc = errno == ENOENT ? FF_ERR_NOTFOUND : FF_ERR_IO;
		s->nlist = 0;
		s->list = NULL;
		goto out;
	}
	ff_log_info("source", "event=dir_open dir=%s files=%d watch=%s", dir, s->nlist,
		    watch ? "true" : "false");
out:
	if (rc != FF_OK) {
		dir_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return FF_OK;
}
