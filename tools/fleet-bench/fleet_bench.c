/* fleet-bench: per-stage latency per face of the C runtime and of the same
 * models in PyTorch, side by side (a benchmark, not a test).
 *
 * C side, per thread count T (XNNPACK worker threads of the detector and the
 * embedder): after --warmup passes, --runs passes over the images, one sample
 * per image per pass:
 *   detect_align: ff_detect (pyramid resizes, P-Net per level, R-Net and O-Net
 *     per crop, NMS, regression) + ff_face_pick_central + ff_align_face on a
 *     decoded 250x250 image of FACES/lfw (decoding not timed);
 *   embed: ff_embed_image (pre-processing + MobileFaceNet + L2 norm) on each
 *     decoded 112x112 crop of FACES/aligned112.
 * PyTorch side: tools/fleet-bench/torch_bench.py (its docstring says exactly
 * what it times: the MTCNN network forwards only, and the MobileFaceNet
 * forward at batch 1), run as a child process after the C side. Ratio =
 * torch median / C median. Peak RSS: getrusage of each process. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facefleet/align.h"
#include "facefleet/detect.h"
#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "fleet_bench.h"

#define FB_MAX_IMAGES 4096

struct fb_list {
	char **path;
	int n;
};

struct fb_opts {
	const char *faces, *models, *python, *script;
	int runs, warmup, torch;
	int threads[FB_MAX_THREADS], nthreads;
};

struct fb_c {
	struct fb_stat detect[FB_MAX_THREADS], embed[FB_MAX_THREADS];
	int faces_found;
	double peak_rss_mb;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-bench [OPTIONS]\n"
		"Per-face latency (median, p90) of detect+align and embed in C (lib/vision on\n"
		"XNNPACK) and of the same .ffn models in PyTorch (torch_bench.py), ratio\n"
		"torch/C, peak RSS. Last line: one JSON object.\n\n"
		"  --faces DIR      sample faces: DIR/lfw/**.jpg (detect+align), DIR/aligned112/**.jpg\n"
		"                   (embed) [%s/tests/data/faces]\n"
		"  --models DIR     model files, DIR/ffn/*.ffn or DIR/*.ffn [$FF_MODELS_DIR or\n"
		"                   %s/models/cache]\n"
		"  --runs N         timed passes over the images (1..10000) [10]\n"
		"  --warmup N       untimed passes first (0..100) [2]\n"
		"  --threads LIST   thread counts, at most %d, e.g. 1,2 [1,2]\n"
		"  --no-torch       C side only\n"
		"  --python PATH    interpreter with torch and cv2 [/usr/bin/python3]\n"
		"  --torch-script P the PyTorch helper [%s/tools/fleet-bench/torch_bench.py]\n"
		"  -h, --help       this text\n\n"
		"exit status: 0 success, 1 runtime failure, 2 usage error\n",
		FB_SOURCE_DIR, FB_SOURCE_DIR, FB_MAX_THREADS, FB_SOURCE_DIR);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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

/* Median and p90 (linear interpolation, as numpy's percentile) of n samples. */
static struct fb_stat stat_of(double *v, int n)
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

static int run_c(const struct fb_opts *o, const char *models_dir, const char *mfn,
		 const ff_image *full, int nfull, const ff_image *al, int nal, struct fb_c *out)
{
	double *dt = malloc(sizeof(double) * (size_t)o->runs * (size_t)(nfull + nal));
	float emb[512];
	int rc = -1;

	if (!dt)
		return -1;
	for (int ti = 0; ti < o->nthreads; ti++) {
		ff_detector_options dopt = FF_DETECTOR_OPTIONS_INIT;
		ff_nn_options nopt = FF_NN_OPTIONS_INIT;
		ff_detector *det = NULL;
		ff_embedder *e = NULL;
		char err[512] = "";
		int nd = 0, ne = 0, found = 0, ok = 1;

		dopt.threads = nopt.threads = o->threads[ti];
		if (ff_detector_create(models_dir, &dopt, &det, err, sizeof(err)) != FF_OK ||
		    ff_embedder_create(mfn, &nopt, &e, err, sizeof(err)) != FF_OK ||
		    ff_embedder_dim(e) > sizeof(emb) / sizeof(emb[0])) {
			fprintf(stderr, "fleet-bench: cannot load models from %s: %s\n", models_dir,
				err);
			ff_detector_free(det);
			ff_embedder_free(e);
			goto out;
		}
		for (int r = 0; r < o->warmup + o->runs && ok; r++) {
			int timed = r >= o->warmup;
			for (int i = 0; i < nfull && ok; i++) {
				double t0 = now_ms();
				int got = detect_align(det, &full[i]);
				double t = now_ms() - t0;
				ok = got >= 0;
				if (timed) {
					dt[nd++] = t;
					found += got > 0;
				}
			}
			for (int i = 0; i < nal && ok; i++) {
				double t0 = now_ms();
				ok = ff_embed_image(e, &al[i], emb, ff_embedder_dim(e)) == FF_OK;
				if (timed)
					dt[(size_t)o->runs * nfull + ne++] = now_ms() - t0;
			}
		}
		ff_detector_free(det);
		ff_embedder_free(e);
		if (!ok) {
			fprintf(stderr, "fleet-bench: detect/align/embed failed\n");
			goto out;
		}
		out->detect[ti] = stat_of(dt, nd);
		out->embed[ti] = stat_of(dt + (size_t)o->runs * nfull, ne);
		out->faces_found = found / o->runs;
		printf("C       threads=%d detect+align median %8.3f ms p90 %8.3f ms | embed median %8.3f ms "
		       "p90 %8.3f ms (%d + %d samples)\n",
		       o->threads[ti], out->detect[ti].median, out->detect[ti].p90,
		       out->embed[ti].median, out->embed[ti].p90, nd, ne);
		fflush(stdout);
	}
	out->peak_rss_mb = peak_rss_mb();
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
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(FB_EXIT_OK);
		} else if (!strcmp(a, "--no-torch")) {
			o->torch = 0;
			continue;
		}
		if (!v)
			goto bad;
		if (!strcmp(a, "--faces"))
			o->faces = v;
		else if (!strcmp(a, "--models"))
			o->models = v;
		else if (!strcmp(a, "--python"))
			o->python = v;
		else if (!strcmp(a, "--torch-script"))
			o->script = v;
		else if (!strcmp(a, "--runs")) {
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
	return 0;
bad:
	fprintf(stderr, "fleet-bench: bad or incomplete option '%s'\n", a);
	usage(stderr);
	return -1;
}

static void json_stat(const char *key, const struct fb_stat *s)
{
	printf("\"%s\":{\"median\":%.4f,\"p90\":%.4f,\"n\":%d}", key, s->median, s->p90, s->n);
}

/* "T":{"<dkey>":{...},"embed_ms":{...}}, ... for each thread count, then "peak_rss_mb". */
static void json_side(const struct fb_opts *o, const char *dkey, const struct fb_stat *det,
		      const struct fb_stat *emb, double rss_mb)
{
	putchar('{');
	for (int i = 0; i < o->nthreads; i++) {
		printf("\"%d\":{", o->threads[i]);
		json_stat(dkey, &det[i]);
		putchar(',');
		json_stat("embed_ms", &emb[i]);
		printf("},");
	}
	printf("\"peak_rss_mb\":%.1f}", rss_mb);
}

static double ratio(double torch_ms, double c_ms)
{
	return c_ms > 0 ? torch_ms / c_ms : 0;
}

int main(int argc, char **argv)
{
	static char faces_def[4096], models_def[4096], script_def[4096], sub[4200], models_dir[4200],
		mfn[4300];
	struct fb_opts o = { NULL, NULL, "/usr/bin/python3", NULL, 10, 2, 1, { 1, 2 }, 2 };
	struct fb_list lfull = { NULL, 0 }, lal = { NULL, 0 };
	ff_image *full = NULL, *al = NULL;
	struct fb_c c;
	struct fb_torch t;
	double load1 = -1;
	int rc = FB_EXIT_FAIL, have_torch = 0;
	FILE *f;

	memset(&c, 0, sizeof(c));
	snprintf(faces_def, sizeof(faces_def), "%s/tests/data/faces", FB_SOURCE_DIR);
	snprintf(models_def, sizeof(models_def), "%s",
		 getenv("FF_MODELS_DIR") ? getenv("FF_MODELS_DIR") : FB_SOURCE_DIR "/models/cache");
	snprintf(script_def, sizeof(script_def), "%s/tools/fleet-bench/torch_bench.py",
		 FB_SOURCE_DIR);
	o.faces = faces_def;
	o.models = models_def;
	o.script = script_def;
	if (parse_args(argc, argv, &o) != 0)
		return FB_EXIT_USAGE;

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
	printf("fleet-bench: %d images (%s/lfw), %d aligned crops, %d warm-up + %d timed passes, "
	       "load average %.2f\n",
	       lfull.n, o.faces, lal.n, o.warmup, o.runs, load1);
	fflush(stdout);
	if (run_c(&o, models_dir, mfn, full, lfull.n, al, lal.n, &c) != 0)
		goto out;
	printf("C       peak RSS %.1f MiB, faces aligned per pass %d of %d\n", c.peak_rss_mb,
	       c.faces_found, lfull.n);
	if (o.torch) {
		fflush(stdout);
		if (fb_torch_run(o.python, o.script, o.models, o.faces, o.runs, o.warmup, o.threads,
				 o.nthreads, &t) != 0)
			goto out;
		have_torch = 1;
		for (int i = 0; i < o.nthreads; i++)
			printf("PyTorch threads=%d detect fwd   median %8.3f ms p90 %8.3f ms | embed median %8.3f ms "
			       "p90 %8.3f ms | torch/C detect %.2fx embed %.2fx\n",
			       o.threads[i], t.detect[i].median, t.detect[i].p90, t.embed[i].median,
			       t.embed[i].p90, ratio(t.detect[i].median, c.detect[i].median),
			       ratio(t.embed[i].median, c.embed[i].median));
		printf("PyTorch peak RSS %.1f MiB\n", t.peak_rss_mb);
	}

	printf("{\"tool\":\"fleet-bench\",\"images\":%d,\"aligned\":%d,\"runs\":%d,\"warmup\":%d,"
	       "\"load_avg_1m\":%.2f,\"c\":",
	       lfull.n, lal.n, o.runs, o.warmup, load1);
	json_side(&o, "detect_align_ms", c.detect, c.embed, c.peak_rss_mb);
	printf(",\"torch\":");
	if (!have_torch) {
		printf("null,\"ratio_torch_over_c\":null}\n");
	} else {
		json_side(&o, "detect_forward_ms", t.detect, t.embed, t.peak_rss_mb);
		printf(",\"ratio_torch_over_c\":{");
		for (int i = 0; i < o.nthreads; i++)
			printf("%s\"%d\":{\"detect\":%.3f,\"embed\":%.3f}", i ? "," : "", o.threads[i],
			       ratio(t.detect[i].median, c.detect[i].median),
			       ratio(t.embed[i].median, c.embed[i].median));
		printf("}}\n");
	}
	rc = FB_EXIT_OK;
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
