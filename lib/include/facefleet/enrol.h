/* facefleet/enrol.h: one face template from a photo, the steps every
 * enrolment runs (fleetctl identity enroll, fleet-backend's POST
 * /api/v1/identities): MTCNN detection, the face nearest the image centre,
 * 5-point alignment to 112x112, MobileFaceNet (lib/vision/enrol.c). */
#ifndef FF_ENROL_H
#define FF_ENROL_H

#include <stddef.h>

#include "facefleet/image.h"

#define FF_ENROL_DIM_MAX 1024

typedef struct ff_enroller ff_enroller;

/* Opens the detector (pnet/rnet/onet.ffn) and mobilefacenet.ffn in
 * models_dir (the fetched models' ffn folder). Returns FF_OK or the errors
 * of ff_detector_create / ff_embedder_create (reason in errbuf). */
int ff_enroller_open(ff_enroller **out, const char *models_dir, char *errbuf, size_t errlen);
void ff_enroller_free(ff_enroller *e);
/* Floats per embedding. */
size_t ff_enroller_dim(const ff_enroller *e);
/* Embeds the central face of img into v (ff_enroller_dim floats, cap at
 * least that). Returns FF_OK, FF_ERR_NOTFOUND (no face; "no face found" in
 * why) or the detector's / aligner's / embedder's error. Not thread-safe:
 * one caller at a time per enroller. */
int ff_enroller_embed(ff_enroller *e, const ff_image *img, float *v, size_t cap, char *why,
		      size_t wlen);

#endif
