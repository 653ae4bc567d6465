/* facefleet/align.h: 5-point similarity alignment to the ArcFace 112x112
 * template (the input MobileFaceNet and the VQ-VAE expect). */
#ifndef FACEFLEET_ALIGN_H
#define FACEFLEET_ALIGN_H

#include "facefleet/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FF_ALIGN_SIZE 112

/* The ArcFace template, (x, y) pairs in a 112x112 crop: left eye, right eye,
 * nose tip, left mouth corner, right mouth corner (left/right as seen in the
 * image). */
extern const float ff_arcface_template[10];

/* Least-squares similarity transform (rotation, uniform scale, translation;
 * no reflection: Umeyama 1991, which for 2-D has a closed form) mapping the n
 * points src (x, y pairs) onto dst: dst ~ [m0 m1 m2; m3 m4 m5] * [x y 1]^T.
 * Returns FF_OK, FF_ERR_INVAL (n < 2, NULL, or all src points equal). */
int ff_similarity_estimate(const double *src, const double *dst, int n, double m[6]);

/* Inverts a 2x3 affine matrix. Returns FF_OK or FF_ERR_INVAL (singular). */
int ff_affine_invert(const double m[6], double inv[6]);

/* Warps img so that the 5 landmarks (x, y pairs, same order as the
 * template) land on the ArcFace template; out becomes a new 112x112 RGB image
 * (pixels outside img are black). Returns FF_OK, FF_ERR_INVAL (NULL,
 * non-finite or degenerate landmarks), FF_ERR_NOMEM. */
int ff_align_face(const ff_image *img, const float landmarks[10], ff_image *out);

#ifdef __cplusplus
}
#endif
#endif
