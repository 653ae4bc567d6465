/* MTCNN face detector on lib/nn: image pyramid + P-Net, R-Net on 24x24
 * crops, O-Net on 48x48 crops with 5 landmarks.
 *
 * Reference for how these exact TFLite nets are driven: the expo MTCNN
 * Kotlin port (MTCNN.kt / Box.kt / MyUtil.kt) and facenet's detect_face.py:
 * pixels normalised (x - 127.5) / 128, images fed transposed ([N, W, H, 3]),
 * thresholds 0.6 / 0.7 / 0.7, pyramid factor 0.709, NMS 0.5 and 0.7 union
 * for P-Net, 0.7 union for R-Net, 0.7 min for O-Net, O-Net landmarks as
 * 5 x then 5 y relative to the box. Crops that leave the image are padded
 * with black (facenet) instead of shifted inside it (Kotlin). */
#include "facefleet/detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "image_internal.h"
#include "mtcnn_boxes.h"

#define FF_PNET_CACHE 32
#define FF_MAX_SCALES 64

struct ff_stage {
	ff_model *model;
	ff_input_norm norm; /* MTCNN: input_layout nwhc, i.e. transposed */
};

struct ff_pnet_entry {
	int w, h; /* input image size at this scale */
	ff_net *net;
};

struct ff_detector {
	ff_detector_options opt;
	ff_nn_options nnopt;
	struct ff_stage p, r, o;
	struct ff_pnet_entry pcache[FF_PNET_CACHE];
	size_t npcache;
	ff_net *rnet, *onet;
};

static int stage_load(struct ff_stage *s, const char *path, const ff_nn_options *nnopt,
		      char *errbuf, size_t errlen)
{
	char why[256] = "";
	int rc = ff_model_load(path, nnopt, &s->model, why, sizeof(why));

	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "%s: %s", path, why[0] ? why : ff_strerror(rc));
		return rc;
	}
	rc = ff_vision_input_norm(s->model, &s->norm);
	if (!ff_model_meta(s->model, "input_layout"))
		s->norm.transposed = 1; /* MTCNN's nets are transposed by nature */
	if (rc != FF_OK)
		ff_seterr(errbuf, errlen, "%s: bad input_mean/input_scale", path);
	return rc;
}

/* Builds a batch-1 net for a w x h RGB input in the stage's layout. */
static int stage_net(const struct ff_stage *s, int w, int h, const ff_nn_options *nnopt,
		     ff_net **out)
{
	ff_shape shape = { 4, { 1, 0, 0, 3 } };

	shape.dims[1] = (uint32_t)(s->norm.transposed ? w : h);
	shape.dims[2] = (uint32_t)(s->norm.transposed ? h : w);
	return ff_net_create(s->model, &shape, nnopt, out);
}

/* Output index whose last dimension is `channels`, or -1. */
static int find_output(const ff_net *n, const ff_model *m, uint32_t channels)
{
	for (unsigned i = 0; i < ff_model_num_outputs(m); i++) {
		ff_shape sh;
		if (ff_net_output(n, i, &sh) && sh.rank >= 1 && sh.dims[sh.rank - 1] == channels)
			return (int)i;
	}
	return -1;
}

int ff_detector_create_files(const char *pnet, const char *rnet, const char *onet,
			     const ff_detector_options *opt, ff_detector **out, char *errbuf,
			     size_t errlen)
{
	ff_detector_options def = FF_DETECTOR_OPTIONS_INIT;
	ff_detector *d = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!pnet || !rnet || !onet || !out)
		return FF_ERR_INVAL;
	if (!opt)
		opt = &def;
	if (!(opt->min_face_size >= 12.0f) || !(opt->factor > 0.1f && opt->factor < 0.95f) ||
	    opt->max_candidates == 0 || (opt->max_side != 0 && opt->max_side < 48)) {
		ff_seterr(errbuf, errlen,
			  "detector: bad min_face_size/factor/max_candidates/max_side");
		return FF_ERR_INVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return FF_ERR_NOMEM;
	d->opt = *opt;
	d->nnopt.threads = opt->threads;
	d->nnopt.max_file_bytes = 0;
	if ((rc = stage_load(&d->p, pnet, &d->nnopt, errbuf, errlen)) != FF_OK ||
	    (rc = stage_load(&d->r, rnet, &d->nnopt, errbuf, errlen)) != FF_OK ||
	    (rc = stage_load(&d->o, onet, &d->nnopt, errbuf, errlen)) != FF_OK)
		goto out;
	if ((rc = stage_net(&d->r, 24, 24, &d->nnopt, &d->rnet)) != FF_OK ||
	    (rc = stage_net(&d->o, 48, 48, &d->nnopt, &d->onet)) != FF_OK) {
		ff_seterr(errbuf, errlen, "detector: cannot build R/O-Net: %s",
			  ff_strerror(rc));
		goto out;
	}
	if (find_output(d->rnet, d->r.model, 2) < 0 || find_output(d->rnet, d->r.model, 4) < 0 ||
	    find_output(d->onet, d->o.model, 2) < 0 || find_output(d->onet, d->o.model, 4) < 0 ||
	    find_output(d->onet, d->o.model, 10) < 0) {
		ff_seterr(errbuf, errlen, "detector: R/O-Net outputs are not MTCNN's");
		rc = FF_ERR_FORMAT;
		goto out;
	}
	*out = d;
	d = NULL;
	rc = FF_OK;
out:
	ff_detector_free(d);
	return rc;
}

int ff_detector_create(const char *models_dir, const ff_detector_options *opt,
		       ff_detector **out, char *errbuf, size_t errlen)
{
	char p[4096], r[4096], o[4096];

	if (out)
		*out = NULL;
	if (!models_dir || !out)
		return FF_ERR_INVAL;
	if ((size_t)snprintf(p, sizeof(p), "%s/pnet.ffn", models_dir) >= sizeof(p) ||
	    (size_t)snprintf(r, sizeof(r), "%s/rnet.ffn", models_dir) >= sizeof(r) ||
	    (size_t)snprintf(o, sizeof(o), "%s/onet.ffn", models_dir) >= sizeof(o))
		return FF_ERR_INVAL;
	return ff_detector_create_files(p, r, o, opt, out, errbuf, errlen);
}

void ff_detector_free(ff_detector *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->npcache; i++)
		ff_net_free(d->pcache[i].net);
	ff_net_free(d->rnet);
	ff_net_free(d->onet);
	ff_model_free(d->p.model);
	ff_model_free(d->r.model);
	ff_model_free(d->o.model);
	free(d);
}

/* The cached P-Net for a w x h input (XNNPACK runtimes have fixed shapes). */
static int pnet_get(ff_detector *d, int w, int h, ff_net **out)
{
	int rc;

	for (size_t i = 0; i < d->npcache; i++) {
		if (d->pcache[i].w == w && d->pcache[i].h == h) {
			*out = d->pcache[i].net;
			return FF_OK;
		}
	}
	if (d->npcache == FF_PNET_CACHE) { /* new image sizes: start over */
		for (size_t i = 0; i < d->npcache; i++)
			ff_net_free(d->pcache[i].net);
		d->npcache = 0;
	}
	rc = stage_net(&d->p, w, h, &d->nnopt, out);
	if (rc != FF_OK)
		return rc;
	d->pcache[d->npcache].w = w;
	d->pcache[d->npcache].h = h;
	d->pcache[d->npcache].net = *out;
	d->npcache++;
	return FF_OK;
}

/* Grows *buf to hold at least need boxes. */
static int reserve(ff_mtcnn_box **buf, size_t *cap, size_t need)
{
	ff_mtcnn_box *nb;
	size_t nc = *cap ? *cap : 256;

	if (need <= *cap)
		return FF_OK;
	while (nc < need)
		nc *= 2;
	nb = realloc(*buf, nc * sizeof(**buf));
	if (!nb)
		return FF_ERR_NOMEM;
	*buf = nb;
	*cap = nc;
	return FF_OK;
}

/* img at half size, each pixel the mean of a 2x2 block (an exact area
 * resize by 1/2, a fraction of ff_image_resize's cost). */
static int halve(const ff_image *img, ff_image *out)
{
	int w = img->width / 2, h = img->height / 2;
	int rc = ff_image_alloc(out, w, h);

	for (int y = 0; rc == FF_OK && y < h; y++) {
		const uint8_t *a = img->data + (size_t)(2 * y) * img->stride, *b = a + img->stride;
		uint8_t *d = out->data + (size_t)y * out->stride;
		for (int x = 0; x < 3 * w; x++) {
			int i = x + 3 * (x / 3); /* channel c of source column 2 * (x / 3) */
			d[x] = (uint8_t)((a[i] + a[i + 3] + b[i] + b[i + 3] + 2) >> 2);
		}
	}
	return rc;
}

/* The pyramid's first level, ws x hs: from img halved while the half is
 * still as large (most of the pixels are then averaged 2x2 at a time,
 * cheaply), the rest by ff_image_resize. */
static int first_level(const ff_image *img, int ws, int hs, ff_image *out)
{
	ff_image half = FF_IMAGE_EMPTY, next = FF_IMAGE_EMPTY;
	const ff_image *src = img;
	int rc = FF_OK;

	while (rc == FF_OK && src->width >= 2 * ws && src->height >= 2 * hs) {
		rc = halve(src, &next);
		ff_image_free(&half);
		half = next;
		next = (ff_image)FF_IMAGE_EMPTY;
		src = &half;
	}
	if (rc == FF_OK)
		rc = ff_image_resize(src, ws, hs, out);
	ff_image_free(&half);
	return rc;
}

/* Stage 1: pyramid + P-Net. Appends candidates to *all (n_all). */
static int run_pnet(ff_detector *d, const ff_image *img, float min_face, ff_mtcnn_box **all,
		    size_t *cap, size_t *n_all)
{
	float scales[FF_MAX_SCALES];
	size_t ns = ff_mtcnn_pyramid_scales(img->width, img->height, min_face, d->opt.factor,
					    scales, FF_MAX_SCALES);
	ff_image level0 = FF_IMAGE_EMPTY, scaled = FF_IMAGE_EMPTY;
	int rc = FF_OK;

	if (ns > FF_MAX_SCALES)
		ns = FF_MAX_SCALES;
	for (size_t si = 0; si < ns; si++) {
		int ws = (int)ceil(img->width * (double)scales[si]);
		int hs = (int)ceil(img->height * (double)scales[si]);
		const float *prob, *reg;
		ff_shape psh, rsh;
		ff_net *net;
		int ip, ir, ow, oh;
		size_t got;

		if (ff_mtcnn_pnet_out(ws) <= 0 || ff_mtcnn_pnet_out(hs) <= 0)
			continue;
		/* the first level from the image, the others from the first: each
		 * resize then reads a fraction of the pixels (the pyramid's resizes
		 * from the whole frame cost as much as P-Net itself) */
		rc = level0.data ? ff_image_resize(&level0, ws, hs, &scaled)
				 : first_level(img, ws, hs, &scaled);
		if (rc != FF_OK ||
		    (rc = pnet_get(d, ws, hs, &net)) != FF_OK)
			goto out;
		ip = find_output(net, d->p.model, 2);
		ir = find_output(net, d->p.model, 4);
		if (ip < 0 || ir < 0) {
			rc = FF_ERR_FORMAT;
			goto out;
		}
		ff_vision_fill_input(ff_net_input(net, 0, NULL), &scaled, &d->p.norm);
		if (!level0.data)
			level0 = scaled;
		else
			ff_image_free(&scaled);
		scaled = (ff_image)FF_IMAGE_EMPTY;
		if ((rc = ff_net_run(net)) != FF_OK)
			goto out;
		prob = ff_net_output(net, (unsigned)ip, &psh);
		reg = ff_net_output(net, (unsigned)ir, &rsh);
		if (psh.rank != 4 || rsh.rank != 4 || psh.dims[1] != rsh.dims[1] ||
		    psh.dims[2] != rsh.dims[2]) {
			rc = FF_ERR_FORMAT;
			goto out;
		}
		ow = (int)(d->p.norm.transposed ? psh.dims[1] : psh.dims[2]);
		oh = (int)(d->p.norm.transposed ? psh.dims[2] : psh.dims[1]);
		got = ff_mtcnn_generate(prob, reg, ow, oh, d->p.norm.transposed, scales[si],
					d->opt.thresholds[0], NULL, 0);
		if ((rc = reserve(all, cap, *n_all + got)) != FF_OK)
			goto out;
		got = ff_mtcnn_generate(prob, reg, ow, oh, d->p.norm.transposed, scales[si],
					d->opt.thresholds[0], *all + *n_all, got);
		got = ff_mtcnn_nms(*all + *n_all, got, d->opt.nms[0], FF_NMS_UNION);
		*n_all += got;
	}
out:
	ff_image_free(&scaled);
	ff_image_free(&level0);
	return rc;
}

/* The w x h region of img at (x, y) as *view: img's own pixels when it lies
 * inside img (no copy), else a copy in *copy, black outside img (facenet's
 * padding). *copy is to be freed by the caller. */
static int crop_view(const ff_image *img, int x, int y, int w, int h, ff_image *copy,
		     ff_image *view)
{
	*view = *img;
	if (x >= 0 && y >= 0 && x + w <= img->width && y + h <= img->height) {
		view->data = img->data + (size_t)y * img->stride + (size_t)x * 3u;
		view->width = w;
		view->height = h;
		return FF_OK;
	}
	int rc = ff_image_crop(img, x, y, w, h, NULL, copy);
	*view = *copy;
	return rc;
}

/* The search region around a known face: a square ROI_SCALE times the
 * face's side around its centre (the face may move by a quarter of the
 * region, and shrink or grow by half, between analysed frames), scaled to
 * ROI_SIDE pixels. A fixed ROI_SIDE keeps P-Net's input sizes few (XNNPACK
 * runtimes have fixed shapes: one each, made once); in it the face is about
 * ROI_SIDE / ROI_SCALE pixels, and P-Net looks down to 12 pixels, half that. */
#define ROI_SCALE 2.0f
#define ROI_SIDE 48

/* The ROI of hint h (working-image coordinates: the caller's times s) as a
 * ROI_SIDE x ROI_SIDE image; *x0, *y0, *k: its corner and pixel size in img. */
static int roi_image(const ff_image *img, const ff_face *h, float s, ff_image *out, int *x0,
		     int *y0, float *k)
{
	float side = fmaxf(h->x1 - h->x0, h->y1 - h->y0) * s + 1.0f;
	int r = (int)ceilf(fminf(side * ROI_SCALE, 4.0f * (float)(img->width + img->height)));
	ff_image src, crop = FF_IMAGE_EMPTY;
	int rc;

	*out = (ff_image)FF_IMAGE_EMPTY;
	if (!isfinite(side) || r < 12)
		return FF_ERR_RANGE;
	*x0 = (int)lroundf(0.5f * (h->x0 + h->x1) * s - 0.5f * (float)r);
	*y0 = (int)lroundf(0.5f * (h->y0 + h->y1) * s - 0.5f * (float)r);
	*k = (float)r / ROI_SIDE;
	if ((rc = crop_view(img, *x0, *y0, r, r, &crop, &src)) != FF_OK)
		return rc;
	rc = ff_image_resize(&src, ROI_SIDE, ROI_SIDE, out);
	ff_image_free(&crop);
	return rc;
}

/* Stage 1 near hint h only: P-Net over its ROI; candidates in
 * working-image coordinates are appended to *all (n_all). */
static int run_pnet_near(ff_detector *d, const ff_image *img, const ff_face *h, float s,
			 ff_mtcnn_box **all, size_t *cap, size_t *n_all)
{
	ff_image roi = FF_IMAGE_EMPTY;
	size_t first = *n_all;
	int x0, y0, rc;
	float k;

	rc = roi_image(img, h, s, &roi, &x0, &y0, &k);
	if (rc == FF_ERR_RANGE) /* a degenerate hint: nothing to search */
		return FF_OK;
	if (rc == FF_OK)
		rc = run_pnet(d, &roi, 12.0f, all, cap, n_all);
	for (size_t j = first; j < *n_all; j++) {
		ff_mtcnn_box *b = &(*all)[j];
		b->x1 = (float)x0 + b->x1 * k;
		b->y1 = (float)y0 + b->y1 * k;
		b->x2 = (float)x0 + b->x2 * k;
		b->y2 = (float)y0 + b->y2 * k;
	}
	ff_image_free(&roi);
	return rc;
}

/* Crops box b (black outside img), resizes to side x side, feeds net. */
static int crop_into(const ff_image *img, const ff_mtcnn_box *b, int side,
		     const struct ff_stage *s, ff_net *net)
{
	ff_image crop = FF_IMAGE_EMPTY, small = FF_IMAGE_EMPTY, src;
	long x = lroundf(b->x1), y = lroundf(b->y1);
	long w = lroundf(b->x2) - x + 1, h = lroundf(b->y2) - y + 1;
	long lim = 4L * (img->width > img->height ? img->width : img->height);
	int rc;

	if (w <= 0 || h <= 0 || w > lim || h > lim || labs(x) > lim || labs(y) > lim)
		return FF_ERR_RANGE;
	rc = crop_view(img, (int)x, (int)y, (int)w, (int)h, &crop, &src);
	if (rc == FF_OK)
		rc = ff_image_resize(&src, side, side, &small);
	if (rc == FF_OK)
		ff_vision_fill_input(ff_net_input(net, 0, NULL), &small, &s->norm);
	ff_image_free(&crop);
	ff_image_free(&small);
	return rc;
}

/* Stages 2 and 3: refine boxes with R-Net (onet = 0) or O-Net (onet = 1).
 * Boxes failing the threshold or the crop are dropped; returns kept count
 * through *n. */
static int refine(ff_detector *d, const ff_image *img, ff_mtcnn_box *b, size_t *n, int onet)
{
	const struct ff_stage *s = onet ? &d->o : &d->r;
	ff_net *net = onet ? d->onet : d->rnet;
	int side = onet ? 48 : 24;
	float thr = d->opt.thresholds[onet ? 2 : 1];
	int ip = find_output(net, s->model, 2), ir = find_output(net, s->model, 4);
	int il = onet ? find_output(net, s->model, 10) : -1;
	size_t kept = 0;
	int rc;

	for (size_t i = 0; i < *n; i++) {
		const float *prob, *reg;
		rc = crop_into(img, &b[i], side, s, net);
		if (rc == FF_ERR_RANGE)
			continue;
		if (rc != FF_OK)
			return rc;
		if ((rc = ff_net_run(net)) != FF_OK)
			return rc;
		prob = ff_net_output(net, (unsigned)ip, NULL);
		reg = ff_net_output(net, (unsigned)ir, NULL);
		if (!(prob[1] > thr))
			continue;
		b[kept] = b[i];
		b[kept].score = prob[1];
		memcpy(b[kept].reg, reg, sizeof(b[kept].reg));
		if (onet)
			ff_mtcnn_landmarks(&b[kept], ff_net_output(net, (unsigned)il, NULL));
		kept++;
	}
	*n = kept;
	return FF_OK;
}

/* Maps a box found in the working image (the caller's image resized by
 * 1/inv, pixel centres aligned as in ff_image_resize) back to the caller's. */
static void to_face(const ff_mtcnn_box *b, float inv, ff_face *f)
{
	f->x0 = (b->x1 + 0.5f) * inv - 0.5f;
	f->y0 = (b->y1 + 0.5f) * inv - 0.5f;
	f->x1 = (b->x2 + 0.5f) * inv - 0.5f;
	f->y1 = (b->y2 + 0.5f) * inv - 0.5f;
	f->score = b->score;
	for (int k = 0; k < 10; k++)
		f->landmarks[k] = (b->landmarks[k] + 0.5f) * inv - 0.5f;
}

/* A P-Net candidate overlapping a face O-Net already confirmed this much
 * (IoU) is that face: it skips R-Net and O-Net. */
#define KNOWN_IOU 0.3f

/* P-Net's candidates through R-Net and O-Net, but those over the nk faces
 * already confirmed; n in and out. */
static int cascade(ff_detector *d, const ff_image *img, ff_mtcnn_box *b, size_t *n,
		   const ff_mtcnn_box *known, size_t nk)
{
	int rc;

	*n = ff_mtcnn_nms(b, *n, d->opt.nms[1], FF_NMS_UNION);
	if (*n > d->opt.max_candidates)
		*n = d->opt.max_candidates;
	ff_mtcnn_regress(b, *n);
	ff_mtcnn_square(b, *n);
	*n = ff_mtcnn_drop_known(b, *n, known, nk, KNOWN_IOU);
	if ((rc = refine(d, img, b, n, 0)) != FF_OK)
		return rc;
	*n = ff_mtcnn_nms(b, *n, d->opt.nms[2], FF_NMS_UNION);
	ff_mtcnn_regress(b, *n);
	ff_mtcnn_square(b, *n);
	if ((rc = refine(d, img, b, n, 1)) != FF_OK)
		return rc;
	ff_mtcnn_regress(b, *n);
	return FF_OK;
}

/* A known face, first with O-Net alone on its last box (squared, in the
 * working image): when it still holds a face there, O-Net's regression
 * follows the motion and P-Net and R-Net are skipped. *found: 1 if so, the
 * face in *out. */
static int onet_on_hint(ff_detector *d, const ff_image *img, const ff_face *h, float s,
			ff_mtcnn_box *out, int *found)
{
	size_t n = 1;
	int rc;

	memset(out, 0, sizeof(*out));
	out->x1 = h->x0 * s, out->y1 = h->y0 * s, out->x2 = h->x1 * s, out->y2 = h->y1 * s;
	ff_mtcnn_square(out, 1);
	rc = refine(d, img, out, &n, 1);
	*found = rc == FF_OK && n == 1;
	if (*found)
		ff_mtcnn_regress(out, 1);
	return rc;
}

/* Near the hints: O-Net alone where it confirms the face, else P-Net on the
 * hint's ROI; with whole, P-Net over the whole image too (min_face). The
 * candidates then go through the cascade, but those over a confirmed face.
 * Appends to *all (n_all). */
static int near_faces(ff_detector *d, const ff_image *img, const ff_face *hints, size_t nh,
		      float s, float min_face, int whole, ff_mtcnn_box **all, size_t *cap,
		      size_t *n_all)
{
	ff_mtcnn_box *kept = NULL;
	size_t nk = 0, ck = 0;
	int rc = reserve(&kept, &ck, nh ? nh : 1);

	for (size_t i = 0; i < nh && rc == FF_OK; i++) {
		int found = 0;
		rc = onet_on_hint(d, img, &hints[i], s, &kept[nk], &found);
		if (rc == FF_OK && found)
			nk++;
		else if (rc == FF_OK && !whole) /* a whole scan's P-Net covers it */
			rc = run_pnet_near(d, img, &hints[i], s, all, cap, n_all);
	}
	if (rc == FF_OK && whole)
		rc = run_pnet(d, img, min_face, all, cap, n_all);
	if (rc == FF_OK && *n_all)
		rc = cascade(d, img, *all, n_all, kept, nk);
	if (rc == FF_OK)
		rc = reserve(all, cap, *n_all + nk);
	if (rc == FF_OK) {
		memcpy(*all + *n_all, kept, nk * sizeof(*kept));
		*n_all += nk;
	}
	free(kept);
	return rc;
}

/* ff_detect (whole, no hints) and ff_detect_near. */
static int detect(ff_detector *d, const ff_image *orig, const ff_face *hints, size_t nh,
		  int whole, ff_face *faces, size_t max_faces, size_t *count)
{
	ff_image small = FF_IMAGE_EMPTY;
	const ff_image *img = orig;
	ff_mtcnn_box *b = NULL;
	size_t cap = 0, n = 0;
	float s = 1.0f, min_face;
	int rc;

	if (count)
		*count = 0;
	if (!d || !orig || !orig->data || orig->width <= 0 || orig->height <= 0 || !count ||
	    (max_faces && !faces) || (nh && !hints))
		return FF_ERR_INVAL;
	min_face = d->opt.min_face_size;
	if (d->opt.max_side > 0 &&
	    (orig->width > d->opt.max_side || orig->height > d->opt.max_side)) {
		int big = orig->width > orig->height ? orig->width : orig->height;
		s = (float)d->opt.max_side / (float)big;
		rc = ff_image_resize(orig, (int)fmaxf(1.0f, roundf(orig->width * s)),
				     (int)fmaxf(1.0f, roundf(orig->height * s)), &small);
		if (rc != FF_OK)
			goto out;
		img = &small;
		/* divided by the exact ratio (s is rounded): the pyramid's sizes are
		 * then those of the same detection on a max_side copy */
		min_face = fmaxf(12.0f, min_face / ((float)big / (float)d->opt.max_side));
	}
	if ((rc = near_faces(d, img, hints, nh, s, min_face, whole, &b, &cap, &n)) != FF_OK)
		goto out;
	n = ff_mtcnn_nms(b, n, d->opt.nms[3], FF_NMS_MIN);
	for (size_t i = 0; i < n && i < max_faces; i++) {
		to_face(&b[i], 1.0f / s, &faces[i]);
		(*count)++;
	}
	rc = FF_OK;
out:
	ff_image_free(&small);
	free(b);
	return rc;
}

int ff_detect(ff_detector *d, const ff_image *img, ff_face *faces, size_t max_faces,
	      size_t *count)
{
	return detect(d, img, NULL, 0, 1, faces, max_faces, count);
}

int ff_detect_near(ff_detector *d, const ff_image *img, const ff_face *hints, size_t nhints,
		   int whole, ff_face *faces, size_t max_faces, size_t *count)
{
	return detect(d, img, hints, nhints, whole, faces, max_faces, count);
}

int ff_face_pick_central(const ff_face *faces, size_t n, int width, int height)
{
	int best = -1;
	double best_d = 0;

	for (size_t i = 0; faces && i < n; i++) {
		double cx = 0.5 * (faces[i].x0 + faces[i].x1) - 0.5 * (width - 1);
		double cy = 0.5 * (faces[i].y0 + faces[i].y1) - 0.5 * (height - 1);
		double dd = cx * cx + cy * cy;
		if (best < 0 || dd < best_d - 1e-9 ||
		    (fabs(dd - best_d) <= 1e-9 && faces[i].score > faces[best].score)) {
			best = (int)i;
			best_d = dd;
		}
	}
	return best;
}
