/* MTCNN box arithmetic (no weights needed): pyramid scales, P-Net box
 * generation, NMS, regression, squaring. Private to lib/vision; exposed for
 * the unit tests. Boxes use inclusive pixel coordinates (w = x2 - x1 + 1). */
#ifndef FF_VISION_MTCNN_BOXES_H
#define FF_VISION_MTCNN_BOXES_H

#include <stddef.h>

typedef struct ff_mtcnn_box {
	float x1, y1, x2, y2;
	float score;
	float reg[4];       /* dx1, dy1, dx2, dy2 in units of box width/height */
	float landmarks[10];
} ff_mtcnn_box;

enum { FF_NMS_UNION = 0, FF_NMS_MIN = 1 };

/* Scales s_k = (12 / min_face) * factor^k while min(w, h) * s_k >= 12.
 * Writes at most max scales; returns how many there are in total. */
size_t ff_mtcnn_pyramid_scales(int width, int height, float min_face, float factor,
			       float *scales, size_t max);

/* Size of the P-Net output map for an input side (kernel 12, stride 2). */
int ff_mtcnn_pnet_out(int side);

/* P-Net candidates of one scale. prob and reg are the raw net outputs laid
 * out as [W][H][2] and [W][H][4] when transposed (input_layout nwhc), else
 * [H][W][.]; ow, oh: output map size. Cell (x, y) maps back to the
 * 12x12 window at (2x, 2y) / scale. Appends boxes with score > threshold to
 * out (capacity cap); returns the number appended. With out NULL, only
 * counts the boxes that pass the threshold. */
size_t ff_mtcnn_generate(const float *prob, const float *reg, int ow, int oh, int transposed,
			 float scale, float threshold, ff_mtcnn_box *out, size_t cap);

/* Greedy non-maximum suppression: sorts b by descending score, drops every
 * box whose overlap with a kept higher-scoring box is > threshold (overlap
 * = intersection / union, or / min area for FF_NMS_MIN). Kept boxes are
 * compacted to the front; returns their count. */
size_t ff_mtcnn_nms(ff_mtcnn_box *b, size_t n, float threshold, int method);

/* Overlap of two boxes: intersection / union (FF_NMS_UNION) or / the
 * smaller area (FF_NMS_MIN); 0 when they do not touch. */
float ff_mtcnn_overlap(const ff_mtcnn_box *p, const ff_mtcnn_box *q, int method);

/* Drops the boxes of b that overlap one of the nk known boxes by more than
 * threshold (IoU), keeping the others' order; returns their count. */
size_t ff_mtcnn_drop_known(ff_mtcnn_box *b, size_t n, const ff_mtcnn_box *known, size_t nk,
			   float threshold);

/* Applies the regression offsets (x1 += dx1 * w, ...) and clears them. */
void ff_mtcnn_regress(ff_mtcnn_box *b, size_t n);

/* Turns boxes into squares of side max(w, h) around the same centre, with
 * integer coordinates. */
void ff_mtcnn_square(ff_mtcnn_box *b, size_t n);

/* Maps O-Net landmark outputs (5 x then 5 y, relative to the box) to image
 * coordinates, (x, y) pairs, in b->landmarks. */
void ff_mtcnn_landmarks(ff_mtcnn_box *b, const float *rel10);

#endif
