/* Where the detector looks in a video frame. Scanning the whole frame
 * (ff_detect: an image pyramid, P-Net at each level, then R-Net and O-Net on
 * the candidates) is most of the device's cost; between two frames a face
 * moves little. So the whole frame is scanned only every full_every-th
 * analysed frame (and at once after a known face was lost); in between the
 * detector looks only near the faces of the previous frame (ff_detect_near:
 * O-Net on the face's last box, P-Net on a small region around it when that
 * fails). A whole scan also starts from the known faces, so that P-Net's
 * many candidates over them skip R-Net and O-Net. A face entering the picture is thus found at the next whole scan,
 * at most full_every - 1 analysed frames late. */
#include "device.h"

#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"

int dev_scan_create(int full_every, size_t max_faces, dev_scan **out)
{
	dev_scan *s;

	if (!out || full_every < 1 || max_faces == 0)
		return FF_ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->hints = calloc(max_faces, sizeof(ff_face));
	if (!s || !s->hints) {
		dev_scan_free(s);
		return FF_ERR_NOMEM;
	}
	s->full_every = full_every;
	s->max_faces = max_faces;
	s->lost = true; /* nothing known yet: the first frame is scanned whole */
	*out = s;
	return FF_OK;
}

void dev_scan_free(dev_scan *s)
{
	if (!s)
		return;
	free(s->hints);
	free(s);
}

bool dev_scan_full_due(const dev_scan *s)
{
	return s->lost || s->since + 1 >= s->full_every;
}

void dev_scan_reset(dev_scan *s)
{
	s->lost = true;
	s->nhints = 0;
}

int dev_scan_frame(dev_scan *s, ff_detector *det, const ff_image *img, ff_face *faces,
		   size_t max_faces, size_t *n)
{
	bool full = dev_scan_full_due(s);
	int rc;

	/* a whole scan too starts with O-Net on the known faces, and spares them
	 * R-Net and O-Net on P-Net's candidates */
	rc = ff_detect_near(det, img, s->hints, s->nhints, full, faces, max_faces, n);
	if (rc != FF_OK) {
		dev_scan_reset(s);
		return rc;
	}
	s->since = full ? 0 : s->since + 1;
	s->full += full;
	s->near += !full;
	/* a known face not found near its last place: look everywhere next */
	s->lost = !full && *n < s->nhints;
	s->nhints = *n < s->max_faces ? *n : s->max_faces;
	memcpy(s->hints, faces, s->nhints * sizeof(ff_face));
	return FF_OK;
}
