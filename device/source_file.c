/* source=file: one image file, decoded once and handed out `repeat` times
 * (repeat > 1 is handy to load-test the outbox with one sample image). */
#include "device.h"

#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

struct file_source {
	dev_source base;
	ff_image img;
	char name[256];
	int left;
};

int dev_load_image(const char *path, ff_image *img)
{
	char why[256] = "", q1[300], q2[300];
	int rc = ff_image_load(path, NULL, img, why, sizeof(why));
	if (rc != FF_OK)
		ff_log_error("source", "event=image_unreadable path=%s err=\"%s\" reason=%s",
			     ff_log_quote(q1, sizeof(q1), path), ff_strerror(rc),
			     ff_log_quote(q2, sizeof(q2), why[0] ? why : ff_strerror(rc)));
	return rc;
}

static int file_next(dev_source *base, ff_image *img, char *name, size_t namelen)
{
	struct file_source *s = (struct file_source *)base;
	int rc;

	if (s->left <= 0)
		return 0;
	rc = ff_image_crop(&s->img, 0, 0, s->img.width, s->img.height, NULL, img);
	if (rc != FF_OK)
		return rc;
	s->left--;
	snprintf(name, namelen, "%s", s->name);
	return 1;
}

static void file_close(dev_source *base)
{
	struct file_source *s = (struct file_source *)base;
	ff_image_free(&s->img);
	free(s);
}

int dev_source_file_open(const char *path, int repeat, dev_source **out)
{
	struct file_source *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return FF_ERR_NOMEM;
	rc = dev_load_image(path, &s->img);
	if (rc != FF_OK) {
		free(s);
		return rc;
	}
	s->base.next = file_next;
	s->base.close = file_close;
	s->left = repeat < 1 ? 1 : repeat;
	snprintf(s->name, sizeof(s->name), "%s", path);
	*out = &s->base;
	return FF_OK;
}
