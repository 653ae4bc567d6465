/* facefleet/detect.h: MTCNN face detection (P-Net, R-Net, O-Net) giving
 * boxes, scores and 5 landmarks per face.
 *
 * The three stages are .ffn files converted from the pretrained TFLite MTCNN
 * (models/convert): pnet.ffn, rnet.ffn, onet.ffn. Pre-processing follows
 * their metadata (input_mean, input_scale, input_layout = nwhc: the nets were
 * trained on transposed images, fed as [N, W, H, 3]). */
#ifndef FACEFLEET_DETECT_H
#define FACEFLEET_DETECT_H

#include <stddef.h>

#include "facefleet/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_detector ff_detector;

typedef struct ff_face {
	float x0, y0, x1, y1; /* box, inclusive pixel coordinates */
	float score;          /* O-Net face probability */
	/* (x, y) pairs: left eye, right eye, nose tip, left mouth corner, right
	 * mouth corner -- the order of facefleet/align.h's template. */
	float landmarks[10];
} ff_face;

typedef struct ff_detector_options {
	float min_face_size;  /* smallest face side in pixels (>= 12) */
	float factor;         /* pyramid scale step, 0 < factor < 1 */
	float thresholds[3];  /* P-Net, R-Net, O-Net score thresholds */
	float nms[4];         /* IoU: P per scale, P all scales, R (union), O (min) */
	int threads;          /* XNNPACK worker threads (0/1 = caller's thread) */
	size_t max_candidates; /* cap on P-Net boxes kept for R-Net (by score) */
	int max_side;          /* images with a larger side are downscaled to it
	                        * before detection (bounds memory and time; results
	                        * are in original coordinates); 0 = never */
} ff_detector_options;
/* The reference values of the expo MTCNN port and the original MTCNN code. */
#define FF_DETECTOR_OPTIONS_INIT \
	{ 20.0f, 0.709f, { 0.6f, 0.7f, 0.7f }, { 0.5f, 0.7f, 0.7f, 0.7f }, 1, 2000, 1280 }

/* Loads models_dir/{pnet,rnet,onet}.ffn. opt may be NULL. Returns FF_OK,
 * FF_ERR_INVAL (bad option), or the errors of ff_model_load /
 * ff_net_create (FF_ERR_IO, FF_ERR_NOTFOUND, FF_ERR_FORMAT, FF_ERR_RANGE,
 * FF_ERR_UNSUPPORTED, FF_ERR_BACKEND, FF_ERR_NOMEM); a one-line reason goes
 * to errbuf. */
int ff_detector_create(const char *models_dir, const ff_detector_options *opt,
		       ff_detector **out, char *errbuf, size_t errlen);
/* Same with explicit file paths. */
int ff_detector_create_files(const char *pnet, const char *rnet, const char *onet,
			     const ff_detector_options *opt, ff_detector **out,
			     char *errbuf, size_t errlen);
void ff_detector_free(ff_detector *d);

/* Detects faces in img. Writes up to max_faces faces sorted by descending
 * score to faces and the number written to *count (0 = no face, which is
 * not an error). Faces smaller than min_face_size (in the image's pixels, or
 * 12 pixels at the max_side working size, whichever is larger) are missed. faces may be NULL when max_faces is 0. Not thread-safe per
 * detector (nets hold buffers). Returns FF_OK, FF_ERR_INVAL, FF_ERR_NOMEM,
 * FF_ERR_BACKEND, FF_ERR_RANGE (image too large for the pyramid). */
int ff_detect(ff_detector *d, const ff_image *img, ff_face *faces, size_t max_faces,
	      size_t *count);

/* Detection that knows where faces were (a video's previous frame): for each
 * of the nhints faces, O-Net alone on its last box first; where that still
 * holds a face, O-Net's box and landmarks follow the motion and P-Net and
 * R-Net are skipped. Else P-Net searches a square twice the face's side
 * around it, scaled to a small fixed size (a face that moved by up to half
 * its side and grew or shrank by up to half), and R-Net and O-Net run as in
 * ff_detect. With whole, P-Net also scans the whole image as ff_detect does
 * (its candidates over a face O-Net confirmed are that face: no R-Net and
 * O-Net for them), finding faces away from the hints. Without whole, a
 * fraction of ff_detect's cost on a 640x480 frame. nhints 0 and whole 0: no
 * face. Same returns as ff_detect. */
int ff_detect_near(ff_detector *d, const ff_image *img, const ff_face *hints, size_t nhints,
		   int whole, ff_face *faces, size_t max_faces, size_t *count);

/* Picks the "subject" among n faces of a width x height image: the face
 * whose box centre is nearest the image centre, ties broken by score (for
 * datasets such as LFW where the subject is centred). Returns its index, or
 * -1 when n is 0. */
int ff_face_pick_central(const ff_face *faces, size_t n, int width, int height);

#ifdef __cplusplus
}
#endif
#endif
