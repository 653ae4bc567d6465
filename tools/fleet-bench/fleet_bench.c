/* fleet-bench: per-stage latency per face of the C runtime and of the same
 * models in PyTorch, side by side (a benchmark, not a test).
 *
 * C side, per thread count T (XNNPACK worker threads of every net): after
 * --warmup passes, --runs passes; a pass runs each stage in turn on each of
 * its images, one sample per image per pass:
 *   detect_align: ff_detect (pyramid resizes, P-Net per level, R-Net and O-Net
 *     per crop, NMS, regression) + ff_face_pick_central + ff_align_face on a
 *     decoded 250x250 image of FACES/lfw (decoding not timed);
 *   embed: ff_embed_image (pre-processing + MobileFaceNet + L2 norm) on each
 *     decoded 112x112 crop of FACES/aligned112;
 *   vq_encode: ff_vq_encode (pre-processing, encoder net, nearest codeword per
 *     code) + ff_bitpack_pack (the FaceCodes.codes bytes) on each such crop;
 *   vq_decode: ff_bitpack_unpack + ff_vq_decode (codeword lookup, decoder net,
 *     float 112x112 RGB on the 0..255 scale) of that crop's codes.
 * The vq stages need a VQ model (--vq-model, else models/vq/<DEFAULT's id>);
 * without one they are left out. vq_encode+vq_decode is the sum of the two
 * medians (not a median of per-face sums).
 * PyTorch side: tools/fleet-bench/torch_bench.py (its docstring says exactly
 * what it times: the MTCNN network forwards only, the MobileFaceNet forward,
 * the VQ encoder forward + nearest codeword, the lookup + decoder forward, all
 * at batch 1), run as a child process after the C side. Ratio = torch median
 * / C median. Peak RSS: getrusage of each process. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "facefleet/ids.h"
#include "facefleet/align.h"
#include "facefleet/clock.h"
#include "facefleet/bitpack.h"
#include "facefleet/detect.h"
#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/vq.h"
#include "fleet_bench.h"
#include "facefleet/config.h"

#define FB_MAX_IMAGES 4096
#define FB_FACE_FLOATS (112 * 112 * 3) /* ff_vq_decode output: 112x112 RGB floats */

const char *const fb_stage_name[FB_NSTAGES] = { "detect", "embed", "vq_encode", "vq_decode" };
/* JSON keys and printed labels of the stages, per side */
static const char *const c_key[FB_NSTAGES] = { "detect_align_ms", "embed_ms", "vq_encode_ms",
					       "vq_decode_ms" };
static const char *const t_key[FB_NSTAGES] = { "detect_forward_ms", "embed_ms", "vq_encode_ms",
					       "vq_decode_ms" };
/* Our nets' variants: float (graphs rewritten where an exact identity saves
 * work: the default), int8, and float as the files have them. */
enum fb_variant { FB_FLOAT, FB_INT8, FB_AS_WRITTEN, FB_NVARIANTS };
static const struct {
	const char *side, *ratio, *json, *json_ratio;
} fb_variants[FB_NVARIANTS] = {
	[FB_FLOAT] = { "C", NULL, "c", NULL },
	[FB_INT8] = { "C int8", "int8/float", "c_int8", "ratio_int8_over_float" },
	[FB_AS_WRITTEN] = { "C file", "file/rewritten", "c_as_written", "ratio_as_written_over_c" },
};

static const char *const c_label[FB_NSTAGES] = { "detect+align", "embed", "vq_encode",
						 "vq_decode" };
static const char *const t_label[FB_NSTAGES] = { "detect fwd", "embed", "vq_encode",
						 "vq_decode" };

struct fb_list {
	char **path;
	int n;
};

/* What the C stages of one thread count work on and with. */
struct fb_work {
	const ff_image *full, *al; /* FACES/lfw images, FACES/aligned112 crops */
	int nfull, nal;
	ff_detector *det;
	ff_embedder *emb;
	ff_vq_encoder *venc; /* NULL without a VQ model */
	ff_vq_decoder *vdec;
	uint8_t *packed;   /* nal * packed_len: each crop's codes as vq_encode packed them */
	size_t packed_len; /* ff_bitpack_size(num_codes, bits_per_index) */
	float *rgb;        /* FB_FACE_FLOATS: vq_decode's output */
	float vec[512];    /* embed's output */
	uint16_t idx[FF_VQ_MAX_CODES];
	int found; /* faces aligned, over all passes */
};

/* One stage on item i of w: >= 0 done, < 0 failed. */
typedef int (*fb_op)(struct fb_work *w, int i);

struct fb_c {
	struct fb_side side;
	int faces_found; /* per pass */
	char vq_id[FF_ID_MAX + 1];  /* the VQ model's model_id; "" without one */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-bench [OPTIONS]\n"
		"Per-face latency (median, p90) of detect+align, embed, vq_encode and vq_decode\n"
		"in C (lib/vision on XNNPACK) and of the same .ffn models in PyTorch\n"
		"(torch_bench.py) and ONNX Runtime, ratios peer/C, peak RSS, the outputs'\n"
		"agreement. Last line: one JSON object.\n\n"
		"  --faces DIR      sample faces: DIR/lfw/**.jpg (detect+align), DIR/aligned112/**.jpg\n"
		"                   (embed, vq_*) [%s/tests/data/faces]\n"
		"  --models DIR     model files, DIR/ffn/*.ffn or DIR/*.ffn [$FF_MODELS_DIR or\n"
		"                   %s/models/cache]\n"
		"  --vq-model P     VQ-VAE P.enc.ffn, P.dec.ffn [%s/models/vq/<id in DEFAULT>;\n"
		"                   vq stages left out when it is missing]\n"
		"  --runs N         timed passes over the images (1..10000) [10]\n"
		"  --warmup N       untimed passes first (0..100) [2]\n"
		"  --threads LIST   thread counts, at most %d, e.g. 1,2 [1,2]\n"
		"  --no-torch       C side only\n"
		"  --python PATH    interpreter with torch and cv2 [/usr/bin/python3]\n"
		"  --torch-script P the PyTorch helper [%s/tools/fleet-bench/torch_bench.py]\n"
		"  --torch-engine E frozen (torch.jit.trace + freeze + optimize_for_inference) or\n"
		"                   interp (models/ref/ffn_torch.py, eager) [frozen]\n"
		"  --no-ort         leave the ONNX Runtime side out\n"
		"  --int8           also our nets in int8 (embed, vq_encode, vq_decode; the .q8\n"
		"                   activation ranges next to each model: calibrate_int8.py),\n"
		"                   printed as \"C int8\" with its ratio to C float\n"
		"  --as-written     also our float nets built as the files have them, without the\n"
		"                   exact graph rewrites (lib/nn/net_rewrite.c), printed as\n"
		"                   \"C file\" with its ratio to C\n"
		"  --ort-dir DIR    its exported models and inputs (tools/fleet-bench/ort-setup)\n"
		"                   [MODELS/ort/bench]\n"
		"  --ort-lib PATH   libonnxruntime.so [MODELS/ort/libonnxruntime.so.1.30.0]; without\n"
		"                   it or the models the ORT figures say \"not available\"\n"
		"  -h, --help       this text\n\n"
		"exit status: 0 success, 1 runtime failure, 2 usage error\n",
		FB_SOURCE_DIR, FB_SOURCE_DIR, FB_SOURCE_DIR, FB_MAX_THREADS, FB_SOURCE_DIR);
}

static double now_ms(void)
{
	return (double)ff_mono_us() / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct fb_stat fb_stat_of(double *v, int n)
{
	struct fb_stat s = { 0, 0, n };
	double pos;
	int i;

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
	pos = 0.9 * (n - 1);
	i = (int)pos;
	s.p90 = i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
	return s;
}

static double peak_rss_mb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0;
}

/* Appends the .jpg/.jpeg/.png files under dir (recursively) to l. */
static int list_images(const char *dir, struct fb_list *l, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return depth ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		char p[4096];
		struct stat st;
		const char *dot = strrchr(e->d_name, '.');
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p) ||
		    stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4) {
			list_images(p, l, depth + 1);
		} else if (S_ISREG(st.st_mode) && dot &&
			   (!strcmp(dot, ".jpg") || !strcmp(dot, ".jpeg") || !strcmp(dot, ".png")) &&
			   l->n < FB_MAX_IMAGES) {
			char **np = realloc(l->path, (size_t)(l->n + 1) * sizeof(*np));
			if (!np || !(np[l->n] = strdup(p))) {
				free(np ? np : l->path);
				closedir(d);
				l->path = NULL;
				return -1;
			}
			l->path = np;
			l->n++;
		}
	}
	closedir(d);
	if (depth == 0 && l->n)
		qsort(l->path, (size_t)l->n, sizeof(*l->path), cmp_str);
	return 0;
}

static void free_list(struct fb_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->path[i]);
	free(l->path);
}

static int load_all(const struct fb_list *l, ff_image *imgs)
{
	for (int i = 0; i < l->n; i++) {
		char err[256] = "";
		if (ff_image_load(l->path[i], NULL, &imgs[i], err, sizeof(err)) != FF_OK) {
			fprintf(stderr, "fleet-bench: %s: %s\n", l->path[i], err);
			return -1;
		}
	}
	return 0;
}

/* One detect+align of img; returns 1 when a face was aligned, 0 when none, -1 on error. */
static int detect_align(ff_detector *det, const ff_image *img)
{
	ff_face faces[16];
	ff_image crop = FF_IMAGE_EMPTY;
	size_t n = 0;
	int k, rc;

	if (ff_detect(det, img, faces, 16, &n) != FF_OK)
		return -1;
	k = ff_face_pick_central(faces, n, img->width, img->height);
	if (k < 0)
		return 0;
	rc = ff_align_face(img, faces[k].landmarks, &crop);
	ff_image_free(&crop);
	return rc == FF_OK ? 1 : -1;
}

/* detect_align: the image's central face aligned (counted in w->found), or none. */
static int op_detect(struct fb_work *w, int i)
{
	int got = detect_align(w->det, &w->full[i]);

	w->found += got > 0;
	return got;
}

static int op_embed(struct fb_work *w, int i)
{
	return ff_embed_image(w->emb, &w->al[i], w->vec, ff_embedder_dim(w->emb)) == FF_OK ? 0 : -1;
}

/* vq_encode: crop i -> code indices -> packed bytes (kept for vq_decode). */
static int op_vq_encode(struct fb_work *w, int i)
{
	const ff_vq_info *vi = ff_vq_encoder_info(w->venc);

	if (ff_vq_encode(w->venc, &w->al[i], w->idx, vi->num_codes) != FF_OK)
		return -1;
	return ff_bitpack_pack(w->idx, vi->num_codes, vi->bits_per_index, vi->codebook_size,
			       w->packed + (size_t)i * w->packed_len, w->packed_len) == FF_OK ? 0 : -1;
}

/* vq_decode: crop i's packed bytes -> code indices -> float 112x112 RGB. */
static int op_vq_decode(struct fb_work *w, int i)
{
	const ff_vq_info *vi = ff_vq_decoder_info(w->vdec);

	if (ff_bitpack_unpack(w->packed + (size_t)i * w->packed_len, w->packed_len, vi->num_codes,
			      vi->bits_per_index, vi->codebook_size, w->idx) != FF_OK)
		return -1;
	return ff_vq_decode(w->vdec, w->idx, vi->num_codes, w->rgb, FB_FACE_FLOATS) == FF_OK ? 0 : -1;
}

static const fb_op stage_op[FB_NSTAGES] = { op_detect, op_embed, op_vq_encode, op_vq_decode };

/* Loads the VQ model prefix.{enc,dec}.ffn into w and sizes its buffers. 0 or -1. */
static int vq_open(const char *prefix, const ff_nn_options *nopt, struct fb_work *w)
{
	char path[4200], err[512] = "";
	const ff_vq_info *vi;
	int rc = -1;

	snprintf(path, sizeof(path), "%s.enc.ffn", prefix);
	if (ff_vq_encoder_create(path, nopt, &w->venc, err, sizeof(err)) != FF_OK)
		goto out;
	snprintf(path, sizeof(path), "%s.dec.ffn", prefix);
	if (ff_vq_decoder_create(path, nopt, &w->vdec, err, sizeof(err)) != FF_OK)
		goto out;
	vi = ff_vq_encoder_info(w->venc);
	if (strcmp(vi->model_id, ff_vq_decoder_info(w->vdec)->model_id) != 0) {
		snprintf(err, sizeof(err), "model_id %s, the encoder's is %s",
			 ff_vq_decoder_info(w->vdec)->model_id, vi->model_id);
		goto out;
	}
	w->packed_len = ff_bitpack_size(vi->num_codes, vi->bits_per_index);
	w->packed = malloc(w->packed_len * (size_t)w->nal);
	w->rgb = malloc(sizeof(float) * FB_FACE_FLOATS);
	if (!w->packed || !w->rgb) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "fleet-bench: VQ model %s: %s\n", path, err);
	return rc;
}

/* Creates w's nets at `threads` XNNPACK threads (the VQ ones with o->vq). 0 or
 * -1; work_close(w) in both cases. */
static int work_open(const struct fb_opts *o, int threads, enum fb_variant variant,
		     const char *models_dir, const char *mfn, struct fb_work *w)
{
	ff_detector_options dopt = FF_DETECTOR_OPTIONS_INIT;
	ff_nn_options nopt = FF_NN_OPTIONS_INIT;
	char err[512] = "";

	dopt.threads = nopt.threads = threads;
	nopt.int8 = variant == FB_INT8;
	nopt.as_written = variant == FB_AS_WRITTEN;
	if (ff_detector_create(models_dir, &dopt, &w->det, err, sizeof(err)) != FF_OK ||
	    ff_embedder_create(mfn, &nopt, &w->emb, err, sizeof(err)) != FF_OK ||
	    ff_embedder_dim(w->emb) > sizeof(w->vec) / sizeof(w->vec[0])) {
		fprintf(stderr, "fleet-bench: cannot load models from %s: %s\n", models_dir, err);
		return -1;
	}
	return o->vq ? vq_open(o->vq, &nopt, w) : 0;
}

static void work_close(struct fb_work *w)
{
	ff_detector_free(w->det);
	ff_embedder_free(w->emb);
	ff_vq_encoder_free(w->venc);
	ff_vq_decoder_free(w->vdec);
	free(w->packed);
	free(w->rgb);
}

/* One pass: each stage in turn on each of its count[s] items; when timed,
 * each item's milliseconds go to v[s][k[s]++]. 0, or -1 when a stage failed. */
static int run_pass(struct fb_work *w, const int *count, double *const *v, int *k, int timed)
{
	for (int s = 0; s < FB_NSTAGES; s++)
		for (int i = 0; i < count[s]; i++) {
			double t0 = now_ms();
			if (stage_op[s](w, i) < 0) {
				fprintf(stderr, "fleet-bench: %s failed on image %d\n", fb_stage_name[s],
					i);
				return -1;
			}
			if (timed)
				v[s][k[s]++] = now_ms() - t0;
		}
	return 0;
}

/* --warmup untimed passes, then --runs timed ones; median and p90 of each
 * stage's samples in st (n = 0 for a stage without items). dt holds
 * o->runs * (nfull + 3 * nal) samples. */
static int time_stages(const struct fb_opts *o, struct fb_work *w, double *dt, struct fb_stat *st)
{
	int nvq = w->venc ? w->nal : 0;
	int count[FB_NSTAGES] = { w->nfull, w->nal, nvq, nvq }, k[FB_NSTAGES] = { 0 };
	double *v[FB_NSTAGES];

	v[0] = dt;
	for (int s = 1; s < FB_NSTAGES; s++)
		v[s] = v[s - 1] + (size_t)o->runs * (size_t)count[s - 1];
	for (int r = 0; r < o->warmup + o->runs; r++)
		if (run_pass(w, count, v, k, r >= o->warmup) != 0)
			return -1;
	for (int s = 0; s < FB_NSTAGES; s++)
		st[s] = fb_stat_of(v[s], k[s]);
	return 0;
}

static double ratio(double torch_ms, double c_ms)
{
	return c_ms > 0 ? torch_ms / c_ms : 0;
}

/* The derived vq_encode+vq_decode figure: the sum of the two medians. */
static double vq_sum(const struct fb_stat *st)
{
	return st[FB_VQ_ENCODE].median + st[FB_VQ_DECODE].median;
}

/* One line per stage that ran, then the vq_encode+vq_decode sum; with the
 * torch/C ratio when c (the C figures) is given. */
static void print_side(const char *side, int threads, const char *const *label,
		       const struct fb_stat *st, const struct fb_stat *c, const char *rlabel)
{
	for (int s = 0; s < FB_NSTAGES; s++) {
		if (!st[s].n)
			continue;
		printf("%-7s threads=%d %-19s median %9.3f ms p90 %9.3f ms (%d samples)", side,
		       threads, label[s], st[s].median, st[s].p90, st[s].n);
		if (c)
			printf(" %s %.2fx", rlabel, ratio(st[s].median, c[s].median));
		putchar('\n');
	}
	if (st[FB_VQ_DECODE].n) {
		printf("%-7s threads=%d %-19s median %9.3f ms (sum of the two medians)", side, threads,
		       "vq_encode+vq_decode", vq_sum(st));
		if (c)
			printf(" %s %.2fx", rlabel, ratio(vq_sum(st), vq_sum(c)));
		putchar('\n');
	}
	fflush(stdout);
}

/* Our side, in float, or another variant (printed against float's figures f). */
static int run_c(const struct fb_opts *o, enum fb_variant variant, const struct fb_c *f,
		 const char *models_dir,
		 const char *mfn, const ff_image *full, int nfull, const ff_image *al, int nal,
		 struct fb_c *out)
{
	double *dt = malloc(sizeof(double) * (size_t)o->runs * (size_t)(nfull + 3 * nal));
	int rc = -1;

	if (!dt)
		return -1;
	for (int ti = 0; ti < o->nthreads; ti++) {
		struct fb_work w = { .full = full, .al = al, .nfull = nfull, .nal = nal };
		int ok = work_open(o, o->threads[ti], variant, models_dir, mfn, &w) == 0 &&
			 time_stages(o, &w, dt, out->side.st[ti]) == 0;

		if (ok && w.venc)
			snprintf(out->vq_id, sizeof(out->vq_id), "%s",
				 ff_vq_encoder_info(w.venc)->model_id);
		work_close(&w);
		if (!ok)
			goto out;
		out->faces_found = w.found / (o->warmup + o->runs);
		print_side(fb_variants[variant].side, o->threads[ti], c_label, out->side.st[ti],
			   f ? f->side.st[ti] : NULL, fb_variants[variant].ratio);
	}
	out->side.peak_rss_mb = peak_rss_mb();
	rc = 0;
out:
	free(dt);
	return rc;
}

static int parse_int(const char *s, int lo, int hi, int *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < lo || x > hi)
		return -1;
	*v = (int)x;
	return 0;
}

static int parse_threads(const char *s, struct fb_opts *o)
{
	char buf[64], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	o->nthreads = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nthreads == FB_MAX_THREADS ||
		    parse_int(tok, 1, 64, &o->threads[o->nthreads]) != 0)
			return -1;
		o->nthreads++;
	}
	return o->nthreads ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct fb_opts *o)
{
	const char *a = "";

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		a = argv[i];
		if (!strcmp(a, "--version")) {
			ff_config_version(stdout, "fleet-bench");
			exit(FF_EXIT_OK);
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(FF_EXIT_OK);
		} else if (!strcmp(a, "--no-torch")) {
			o->torch = 0;
			continue;
		} else if (!strcmp(a, "--no-ort")) {
			o->ort = 0;
			continue;
		} else if (!strcmp(a, "--int8")) {
			o->int8 = 1;
			continue;
		} else if (!strcmp(a, "--as-written")) {
			o->as_written = 1;
			continue;
		}
		if (!v)
			goto bad;
		if (!strcmp(a, "--faces"))
			o->faces = v;
		else if (!strcmp(a, "--models"))
			o->models = v;
		else if (!strcmp(a, "--vq-model"))
			o->vq = v;
		else if (!strcmp(a, "--python"))
			o->python = v;
		else if (!strcmp(a, "--torch-script"))
			o->script = v;
		else if (!strcmp(a, "--ort-dir"))
			o->ort_dir = v;
		else if (!strcmp(a, "--ort-lib"))
			o->ort_lib = v;
		else if (!strcmp(a, "--torch-engine")) {
			if (strcmp(v, "frozen") && strcmp(v, "interp"))
				goto bad;
			o->engine = v;
		} else if (!strcmp(a, "--runs")) {
			if (parse_int(v, 1, 10000, &o->runs))
				goto bad;
		} else if (!strcmp(a, "--warmup")) {
			if (parse_int(v, 0, 100, &o->warmup))
				goto bad;
		} else if (!strcmp(a, "--threads")) {
			if (parse_threads(v, o))
				goto bad;
		} else
			goto bad;
		i++;
	}
	if (o->torch && !strcmp(o->engine, "frozen") && o->warmup < 1) {
		fprintf(stderr, "fleet-bench: --torch-engine frozen traces its graphs in the warm-up: "
				"give --warmup 1 or more (or --torch-engine interp, --no-torch)\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "fleet-bench: bad or incomplete option '%s'\n", a);
	usage(stderr);
	return -1;
}

/* Adds key: v with that many decimals ("%.*f", as the figures were always
 * printed; null when not finite). */
static void json_fixed(cJSON *o, const char *key, double v, int decimals)
{
	char t[64];

	if (!isfinite(v)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	snprintf(t, sizeof(t), "%.*f", decimals, v);
	cJSON_AddRawToObject(o, key, t);
}

static void json_stat(cJSON *o, const char *key, const struct fb_stat *s)
{
	cJSON *x = cJSON_AddObjectToObject(o, key);

	json_fixed(x, "median", s->median, 4);
	json_fixed(x, "p90", s->p90, 4);
	cJSON_AddNumberToObject(x, "n", s->n);
}

/* {"T":{"<key[stage]>":{...},...,"vq_encode+vq_decode_median_ms":x}, ... for
 * each thread count (stages that ran), "peak_rss_mb":x} as o's key. */
static void json_side(cJSON *parent, const char *name, const struct fb_opts *o,
		      const char *const *key, const struct fb_side *sd)
{
	cJSON *side = cJSON_AddObjectToObject(parent, name);
	char t[16];

	for (int i = 0; i < o->nthreads; i++) {
		const struct fb_stat *st = sd->st[i];
		cJSON *x;

		snprintf(t, sizeof(t), "%d", o->threads[i]);
		x = cJSON_AddObjectToObject(side, t);
		for (int s = 0; s < FB_NSTAGES; s++)
			if (st[s].n)
				json_stat(x, key[s], &st[s]);
		if (st[FB_VQ_DECODE].n)
			json_fixed(x, "vq_encode+vq_decode_median_ms", vq_sum(st), 4);
	}
	json_fixed(side, "peak_rss_mb", sd->peak_rss_mb, 1);
}

/* "ratio_torch_over_c":{"T":{"detect":r,...,"vq_encode+vq_decode":r}, ...}:
 * torch median / C median. */
static void json_ratios(cJSON *parent, const char *name, const struct fb_opts *o,
			const struct fb_side *t, const struct fb_side *c)
{
	cJSON *r = cJSON_AddObjectToObject(parent, name);
	char k[16];

	for (int i = 0; i < o->nthreads; i++) {
		const struct fb_stat *ts = t->st[i], *cs = c->st[i];
		cJSON *x;

		snprintf(k, sizeof(k), "%d", o->threads[i]);
		x = cJSON_AddObjectToObject(r, k);
		for (int s = 0; s < FB_NSTAGES; s++)
			if (cs[s].n)
				json_fixed(x, fb_stage_name[s], ratio(ts[s].median, cs[s].median), 3);
		if (cs[FB_VQ_DECODE].n)
			json_fixed(x, "vq_encode+vq_decode", ratio(vq_sum(ts), vq_sum(cs)), 3);
	}
}

/* --vq-model, else FB_SOURCE_DIR/models/vq's default model (ff_vq_default_model,
 * the device agent's and fleet-eval's rule) when both of its files are there, else
 * none: the vq stages are left out (said on stdout). */
static void find_vq(struct fb_opts *o, char *buf, size_t len)
{
	char enc[4400], dec[4400];

	if (o->vq)
		return;
	if (ff_vq_default_model(FB_SOURCE_DIR "/models/vq", buf, len, NULL) == FF_OK) {
		snprintf(enc, sizeof(enc), "%s.enc.ffn", buf);
		snprintf(dec, sizeof(dec), "%s.dec.ffn", buf);
		if (access(enc, R_OK) == 0 && access(dec, R_OK) == 0)
			o->vq = buf;
	}
	if (!o->vq)
		printf("fleet-bench: no VQ model (%s/models/vq/DEFAULT naming an id with "
		       "<id>.enc.ffn and <id>.dec.ffn there): vq_encode and vq_decode skipped; "
		       "give --vq-model PREFIX\n",
		       FB_SOURCE_DIR);
}

#define FB_AGREE_MIN 0.999 /* minimum cosine of a peer's outputs with ours */

/* The peers that ran: PyTorch (torch, NULL when left out) and ONNX Runtime
 * (ort, NULL with --no-ort; ort->available 0 when it could not run). */
struct fb_peers {
	const struct fb_side *torch;
	const struct fb_ort_result *ort;
	const struct fb_side *ort_side; /* &ort->side when it ran, else NULL */
	struct fb_side best;            /* per thread count and stage, the faster peer's figure */
	const char *best_name[FB_MAX_THREADS][FB_NSTAGES];
};

/* p->best: for each figure the lower median of the peers that ran. 0 when none ran. */
static int strongest(const struct fb_opts *o, struct fb_peers *p)
{
	const struct fb_side *side[2] = { p->torch, p->ort_side };
	static const char *const name[2] = { "torch", "ort" };

	memset(&p->best, 0, sizeof(p->best));
	for (int i = 0; i < o->nthreads; i++)
		for (int s = 0; s < FB_NSTAGES; s++)
			for (int k = 0; k < 2; k++) {
				const struct fb_stat *x = side[k] ? &side[k]->st[i][s] : NULL;
				if (x && x->n && (!p->best.st[i][s].n ||
						  x->median < p->best.st[i][s].median)) {
					p->best.st[i][s] = *x;
					p->best_name[i][s] = name[k];
				}
			}
	return p->torch || p->ort_side;
}

/* One line per stage: the minimum cosine of ours with each peer. 0 when all
 * agree (>= FB_AGREE_MIN), else -1. */
static int print_agreement(const struct fb_ort_result *r)
{
	int ok = 1;

	for (int s = 0; s < FB_NSTAGES; s++) {
		if (r->vs_ort[s] > 1.5)
			continue;
		printf("agree   %-9s min cosine of our outputs with ORT's %.6f, with PyTorch "
		       "frozen's %.6f (same inputs) %s\n",
		       fb_stage_name[s], r->vs_ort[s], r->vs_torch[s],
		       r->vs_ort[s] >= FB_AGREE_MIN && r->vs_torch[s] >= FB_AGREE_MIN ? "ok"
										   : "DISAGREE");
		ok &= r->vs_ort[s] >= FB_AGREE_MIN && r->vs_torch[s] >= FB_AGREE_MIN;
	}
	return ok ? 0 : -1;
}

/* "agreement":{"min_cosine_ours_ort":{stage:x},"min_cosine_ours_torch":{..},"threshold":t} */
static void json_agreement(cJSON *r, const struct fb_ort_result *o)
{
	cJSON *a = cJSON_AddObjectToObject(r, "agreement");
	cJSON *x = cJSON_AddObjectToObject(a, "min_cosine_ours_ort");
	cJSON *y = cJSON_AddObjectToObject(a, "min_cosine_ours_torch");

	for (int s = 0; s < FB_NSTAGES; s++)
		if (o->vs_ort[s] <= 1.5) {
			json_fixed(x, fb_stage_name[s], o->vs_ort[s], 6);
			json_fixed(y, fb_stage_name[s], o->vs_torch[s], 6);
		}
	json_fixed(a, "threshold", FB_AGREE_MIN, 3);
}

/* The ORT side's keys: figures or null, its version and status. */
static void json_ort(cJSON *r, const struct fb_opts *o, const struct fb_c *c,
		     const struct fb_peers *p)
{
	char st[600];

	snprintf(st, sizeof(st), "%s%s", p->ort_side ? "ran" : p->ort ? "not available: " : "off",
		 p->ort_side || !p->ort ? "" : p->ort->why);
	cJSON_AddStringToObject(r, "ort_status", st);
	if (!p->ort_side) {
		cJSON_AddNullToObject(r, "ort");
		cJSON_AddNullToObject(r, "ratio_ort_over_c");
		return;
	}
	json_side(r, "ort", o, t_key, p->ort_side);
	cJSON_AddStringToObject(r, "ort_version", p->ort->version);
	json_ratios(r, "ratio_ort_over_c", o, p->ort_side, &c->side);
	json_agreement(r, p->ort);
}

/* "strongest_peer":{"T":{stage:"torch"|"ort"}} and its ratios over C. */
static void json_strongest(cJSON *r, const struct fb_opts *o, const struct fb_c *c,
			   const struct fb_peers *p)
{
	cJSON *sp = cJSON_AddObjectToObject(r, "strongest_peer");
	char k[16];

	for (int i = 0; i < o->nthreads; i++) {
		cJSON *x;
		snprintf(k, sizeof(k), "%d", o->threads[i]);
		x = cJSON_AddObjectToObject(sp, k);
		for (int s = 0; s < FB_NSTAGES; s++)
			if (p->best_name[i][s])
				cJSON_AddStringToObject(x, fb_stage_name[s], p->best_name[i][s]);
	}
	json_ratios(r, "ratio_strongest_over_c", o, &p->best, &c->side);
}

/* The last line: one JSON object. */
static void json_report(const struct fb_opts *o, const struct fb_c *const *var,
			const struct fb_peers *p, int nfull, int nal, double load1)
{
	const struct fb_side *t = p->torch;
	const struct fb_c *c = var[FB_FLOAT];
	cJSON *r = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(r, "tool", "fleet-bench");
	cJSON_AddNumberToObject(r, "images", nfull);
	cJSON_AddNumberToObject(r, "aligned", nal);
	cJSON_AddNumberToObject(r, "runs", o->runs);
	cJSON_AddNumberToObject(r, "warmup", o->warmup);
	json_fixed(r, "load_avg_1m", load1, 2);
	if (c->vq_id[0])
		cJSON_AddStringToObject(r, "vq_model", c->vq_id);
	else
		cJSON_AddNullToObject(r, "vq_model");
	json_side(r, "c", o, c_key, &c->side);
	for (int v = FB_FLOAT + 1; v < FB_NVARIANTS; v++)
		if (var[v]) {
			json_side(r, fb_variants[v].json, o, c_key, &var[v]->side);
			json_ratios(r, fb_variants[v].json_ratio, o, &var[v]->side, &c->side);
		}
	if (t) {
		json_side(r, "torch", o, t_key, t);
		cJSON_AddStringToObject(r, "torch_engine", o->engine);
		json_ratios(r, "ratio_torch_over_c", o, t, &c->side);
	} else {
		cJSON_AddNullToObject(r, "torch");
		cJSON_AddNullToObject(r, "ratio_torch_over_c");
	}
	json_ort(r, o, c, p);
	if (p->torch || p->ort_side)
		json_strongest(r, o, c, p);
	text = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	if (text)
		puts(text);
	else
		fprintf(stderr, "fleet-bench: out of memory printing the JSON line\n");
	cJSON_free(text);
}

/* The ONNX Runtime side into r (p->ort_side when it ran): its figures, ratios
 * and agreement printed. -1 when it failed or a peer disagrees with ours. */
static int run_ort(const struct fb_opts *o, const char *models_dir, const struct fb_c *c, int nfull,
		   int nal, struct fb_ort_result *r, struct fb_peers *p)
{
	fflush(stdout);
	p->ort = r;
	if (fb_ort_run(o, models_dir, c->vq_id[0] ? c->vq_id : "-", nfull, nal, r) != 0) {
		fprintf(stderr, "fleet-bench: ONNX Runtime side failed: %s\n", r->why);
		return -1;
	}
	if (!r->available) {
		printf("ORT     not available: %s (tools/fleet-bench/ort-setup makes it)\n", r->why);
		return 0;
	}
	p->ort_side = &r->side;
	for (int i = 0; i < o->nthreads; i++)
		print_side("ORT", o->threads[i], t_label, r->side.st[i], c->side.st[i], "ort/C");
	printf("ORT     %s, peak RSS %.1f MiB over the process's RSS before it (same process)\n",
	       r->version, r->side.peak_rss_mb);
	return print_agreement(r);
}

/* The strongest peer's figure per stage, over ours. */
static void print_strongest(const struct fb_opts *o, const struct fb_c *c, struct fb_peers *p)
{
	if (!strongest(o, p))
		return;
	for (int i = 0; i < o->nthreads; i++)
		for (int s = 0; s < FB_NSTAGES; s++)
			if (p->best_name[i][s] && c->side.st[i][s].n)
				printf("best    threads=%d %-19s %-5s median %9.3f ms, %.2fx ours\n",
				       o->threads[i], t_label[s], p->best_name[i][s],
				       p->best.st[i][s].median,
				       ratio(p->best.st[i][s].median, c->side.st[i][s].median));
}

int main(int argc, char **argv)
{
	static char faces_def[4096], models_def[4096], script_def[4096], vq_def[4200], sub[4200],
		models_dir[4200], mfn[4300];
	static char ort_dir_def[4200], ort_lib_def[4200];
	struct fb_opts o = { NULL, NULL, "/usr/bin/python3", NULL, NULL, 10, 2, 1, { 1, 2 }, 2, "frozen",
			     1, NULL, NULL, 0, 0 };
	struct fb_list lfull = { NULL, 0 }, lal = { NULL, 0 };
	ff_image *full = NULL, *al = NULL;
	struct fb_c c, c8, cw;
	struct fb_side t;
	struct fb_ort_result ort;
	struct fb_peers peers;
	double load1 = -1;
	int rc = FF_EXIT_FAIL;
	FILE *f;

	memset(&peers, 0, sizeof(peers));

	memset(&c, 0, sizeof(c));
	memset(&c8, 0, sizeof(c8));
	memset(&cw, 0, sizeof(cw));
	snprintf(faces_def, sizeof(faces_def), "%s/tests/data/faces", FB_SOURCE_DIR);
	snprintf(models_def, sizeof(models_def), "%s",
		 getenv("FF_MODELS_DIR") ? getenv("FF_MODELS_DIR") : FB_SOURCE_DIR "/models/cache");
	snprintf(script_def, sizeof(script_def), "%s/tools/fleet-bench/torch_bench.py",
		 FB_SOURCE_DIR);
	o.faces = faces_def;
	o.models = models_def;
	o.script = script_def;
	if (parse_args(argc, argv, &o) != 0)
		return FF_EXIT_USAGE;
	snprintf(ort_dir_def, sizeof(ort_dir_def), "%s/ort/bench", o.models);
	snprintf(ort_lib_def, sizeof(ort_lib_def), "%s/ort/libonnxruntime.so.1.30.0", o.models);
	o.ort_dir = o.ort_dir ? o.ort_dir : ort_dir_def;
	o.ort_lib = o.ort_lib ? o.ort_lib : ort_lib_def;
	find_vq(&o, vq_def, sizeof(vq_def));

	snprintf(models_dir, sizeof(models_dir), "%s/ffn", o.models);
	snprintf(mfn, sizeof(mfn), "%s/mobilefacenet.ffn", models_dir);
	if (access(mfn, R_OK) != 0) {
		snprintf(models_dir, sizeof(models_dir), "%s", o.models);
		snprintf(mfn, sizeof(mfn), "%s/mobilefacenet.ffn", models_dir);
	}
	snprintf(sub, sizeof(sub), "%s/lfw", o.faces);
	if (list_images(sub, &lfull, 0) != 0 || lfull.n == 0) {
		fprintf(stderr, "fleet-bench: no images under %s\n", sub);
		goto out;
	}
	snprintf(sub, sizeof(sub), "%s/aligned112", o.faces);
	if (list_images(sub, &lal, 0) != 0 || lal.n == 0) {
		fprintf(stderr, "fleet-bench: no images under %s\n", sub);
		goto out;
	}
	full = calloc((size_t)lfull.n, sizeof(*full));
	al = calloc((size_t)lal.n, sizeof(*al));
	if (!full || !al || load_all(&lfull, full) || load_all(&lal, al))
		goto out;
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fscanf(f, "%lf", &load1) != 1)
			load1 = -1;
		fclose(f);
	}
	printf("fleet-bench: %d images (%s/lfw), %d aligned crops, VQ model %s, %d warm-up + %d "
	       "timed passes, load average %.2f\n",
	       lfull.n, o.faces, lal.n, o.vq ? o.vq : "none", o.warmup, o.runs, load1);
	fflush(stdout);
	if (run_c(&o, FB_FLOAT, NULL, models_dir, mfn, full, lfull.n, al, lal.n, &c) != 0)
		goto out;
	printf("C       peak RSS %.1f MiB, faces aligned per pass %d of %d\n", c.side.peak_rss_mb,
	       c.faces_found, lfull.n);
	if (o.int8 && run_c(&o, FB_INT8, &c, models_dir, mfn, full, lfull.n, al, lal.n, &c8) != 0)
		goto out;
	if (o.as_written &&
	    run_c(&o, FB_AS_WRITTEN, &c, models_dir, mfn, full, lfull.n, al, lal.n, &cw) != 0)
		goto out;
	if (o.torch) {
		fflush(stdout);
		if (fb_torch_run(&o, &t) != 0)
			goto out;
		peers.torch = &t;
		for (int i = 0; i < o.nthreads; i++)
			print_side("PyTorch", o.threads[i], t_label, t.st[i], c.side.st[i], "torch/C");
		printf("PyTorch peak RSS %.1f MiB\n", t.peak_rss_mb);
	}
	if (o.ort && run_ort(&o, models_dir, &c, lfull.n, lal.n, &ort, &peers) != 0)
		goto out;
	print_strongest(&o, &c, &peers);
	const struct fb_c *var[FB_NVARIANTS] = {
		&c, o.int8 ? &c8 : NULL, o.as_written ? &cw : NULL };
	json_report(&o, var, &peers, lfull.n, lal.n, load1);
	rc = FF_EXIT_OK;
out:
	for (int i = 0; full && i < lfull.n; i++)
		ff_image_free(&full[i]);
	for (int i = 0; al && i < lal.n; i++)
		ff_image_free(&al[i]);
	free(full);
	free(al);
	free_list(&lfull);
	free_list(&lal);
	return rc;
}
