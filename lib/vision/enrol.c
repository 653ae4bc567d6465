/* One face template from a photo (facefleet/enrol.h). */
#include "facefleet/enrol.h"

#include "facefleet/align.h"
#include "facefleet/detect.h"
#include "facefleet/embed.h"
#include "facefleet/error.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_FACES 16

struct ff_enroller {
	ff_detector *det;
	ff_embedder *emb;
	size_t dim;
};

int ff_enroller_open(ff_enroller **out, const char *models_dir, char *errbuf, size_t errlen)
{
	char path[1200], err[256] = "";
	ff_enroller *e = calloc(1, sizeof(*e));
	int rc;
	*out = NULL;
	if (!e)
		return FF_ERR_NOMEM;
	if ((rc = ff_detector_create(models_dir, NULL, &e->det, err, sizeof(err))) != FF_OK) {
		ff_seterr(errbuf, errlen, "MTCNN models in %s: %s (%s)", models_dir, ff_strerror(rc), err);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/mobilefacenet.ffn", models_dir);
	if ((rc = ff_embedder_create(path, NULL, &e->emb, err, sizeof(err))) != FF_OK) {
		ff_seterr(errbuf, errlen, "%s: %s (%s)", path, ff_strerror(rc), err);
		goto fail;
	}
	e->dim = ff_embedder_dim(e->emb);
	if (e->dim > FF_ENROL_DIM_MAX) {
		rc = FF_ERR_RANGE;
		ff_seterr(errbuf, errlen, "embedding of %zu values is over %d", e->dim, FF_ENROL_DIM_MAX);
		goto fail;
	}
	*out = e;
	return FF_OK;
fail:
	ff_enroller_free(e);
	return rc;
}

void ff_enroller_free(ff_enroller *e)
{
	if (!e)
		return;
	ff_detector_free(e->det);
	ff_embedder_free(e->emb);
	free(e);
}

size_t ff_enroller_dim(const ff_enroller *e) { return e->dim; }

int ff_enroller_embed(ff_enroller *e, const ff_image *img, float *v, size_t cap, char *why,
		      size_t wlen)
{
	ff_image face = FF_IMAGE_EMPTY;
	ff_face faces[MAX_FACES];
	size_t n = 0;
	int rc, k;
	if (cap < e->dim)
		return FF_ERR_INVAL;
	if ((rc = ff_detect(e->det, img, faces, MAX_FACES, &n)) != FF_OK) {
		ff_seterr(why, wlen, "detector: %s", ff_strerror(rc));
		return rc;
	}
	if (n == 0) {
		ff_seterr(why, wlen, "no face found");
		return FF_ERR_NOTFOUND;
	}
	k = ff_face_pick_central(faces, n, img->width, img->height);
	if ((rc = ff_align_face(img, faces[k].landmarks, &face)) != FF_OK ||
	    (rc = ff_embed_image(e->emb, &face, v, e->dim)) != FF_OK)
		ff_seterr(why, wlen, "align/embed: %s", ff_strerror(rc));
	ff_image_free(&face);
	return rc;
}
