/* fleet-eval align-check: runs our detector + 5-point aligner over the LFW
 * images of pairs.txt and compares MobileFaceNet(our crop) with
 * MobileFaceNet(gold crop of lfw-aligned112, same file name).
 *
 * Which face: when several are found, the one whose box centre is nearest
 * the image centre (ff_face_pick_central; LFW subjects are centred). Prints
 * the figures, the last line one JSON object. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facefleet/align.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "fleet_eval.h"

#define AC_MAX_FACES 32

struct ac_item {
	char *name; /* Person/Person_NNNN.jpg */
	int status; /* FF_OK, or an error */
	int nfaces;
	float cosine; /* NAN when not detected */
	float score;
};

struct ac_job {
	struct ac_item *items;
	size_t n;
	size_t next; /* guarded by lock */
	pthread_mutex_t lock;
	const char *lfw, *gold, *models;
	ff_detector_options dopt;
	int failed_models;
};

static void ac_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval align-check --lfw DIR --gold DIR [--pairs FILE] [--models DIR]\n"
		"                              [--jobs N] [--limit N] [--min-face PX] [--per-image]\n"
		"  --lfw DIR      LFW images_deepfunneled folder (Name/Name_NNNN.jpg)\n"
		"  --gold DIR     lfw-aligned112 images folder, same names\n"
		"  --pairs FILE   LFW pairs file (default DIR/../pairs.txt of --lfw)\n"
		"  --models DIR   model folder (default $FF_MODELS_DIR, else models/cache)\n"
		"  --jobs N       worker threads, each with its own nets (default 2)\n"
		"  --limit N      only the first N distinct images (sorted by name)\n"
		"  --min-face PX  detector minimum face size (default 20)\n"
		"  --per-image    also print one JSON line per image\n"
		"Last line: one JSON object with detection_rate and cosine statistics.\n");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static int add_name(char ***names, size_t *n, size_t *cap, const char *person, int num)
{
	char buf[600];

	if (strlen(person) > 255 || num < 0 || num > 99999)
		return FF_ERR_FORMAT;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		char **nn = realloc(*names, nc * sizeof(**names));
		if (!nn)
			return FF_ERR_NOMEM;
		*names = nn;
		*cap = nc;
	}
	snprintf(buf, sizeof(buf), "%s/%s_%04d.jpg", person, person, num);
	if (!((*names)[*n] = strdup(buf)))
		return FF_ERR_NOMEM;
	(*n)++;
	return FF_OK;
}

/* Distinct image names of an LFW pairs file, sorted. */
static int read_pairs(const char *path, char ***out, size_t *count)
{
	FILE *f = fopen(path, "r");
	char line[1024], a[256], b[256];
	char **names = NULL;
	size_t n = 0, cap = 0, w = 0;
	int i1, i2, rc = FF_OK;

	if (!f)
		return FF_ERR_IO;
	while (rc == FF_OK && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %d %255s %d", a, &i1, b, &i2) == 4)
			;
		else if (sscanf(line, "%255s %d %d", a, &i1, &i2) == 3)
			strcpy(b, a);
		else
			continue;
		rc = add_name(&names, &n, &cap, a, i1);
		if (rc == FF_OK)
			rc = add_name(&names, &n, &cap, b, i2);
	}
	fclose(f);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (w && strcmp(names[w - 1], names[i]) == 0)
			free(names[i]);
		else
			names[w++] = names[i];
	}
	*out = names;
	*count = w;
	return rc != FF_OK ? rc : (w ? FF_OK : FF_ERR_FORMAT);
}

/* Detect + align + embed one image and embed its gold crop. */
static void check_one(struct fe_models *m, const struct ac_job *job, struct ac_item *it)
{
	ff_image img = FF_IMAGE_EMPTY, gold = FF_IMAGE_EMPTY, crop = FF_IMAGE_EMPTY;
	ff_face faces[AC_MAX_FACES];
	float e1[1024], e2[1024];
	size_t dim = ff_embedder_dim(m->emb), n = 0;
	char path[4096];
	int rc, k;

	it->cosine = NAN;
	snprintf(path, sizeof(path), "%s/%s", job->lfw, it->name);
	if ((rc = ff_image_load(path, NULL, &img, NULL, 0)) != FF_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", job->gold, it->name);
	if ((rc = ff_image_load(path, NULL, &gold, NULL, 0)) != FF_OK)
		goto out;
	if (dim > 1024 || gold.width != FF_ALIGN_SIZE || gold.height != FF_ALIGN_SIZE) {
		rc = FF_ERR_RANGE;
		goto out;
	}
	if ((rc = ff_detect(m->det, &img, faces, AC_MAX_FACES, &n)) != FF_OK)
		goto out;
	it->nfaces = (int)n;
	k = ff_face_pick_central(faces, n, img.width, img.height);
	if (k < 0)
		goto out;
	it->score = faces[k].score;
	if ((rc = ff_align_face(&img, faces[k].landmarks, &crop)) != FF_OK ||
	    (rc = ff_embed_image(m->emb, &crop, e1, dim)) != FF_OK ||
	    (rc = ff_embed_image(m->emb, &gold, e2, dim)) != FF_OK)
		goto out;
	it->cosine = ff_cosine(e1, e2, dim);
out:
	it->status = rc;
	ff_image_free(&img);
	ff_image_free(&gold);
	ff_image_free(&crop);
}

static void *worker(void *arg)
{
	struct ac_job *job = arg;
	struct fe_models m;

	if (fe_models_open(job->models, 1, &job->dopt, &m) != FF_OK) {
		pthread_mutex_lock(&job->lock);
		job->failed_models = 1;
		pthread_mutex_unlock(&job->lock);
		return NULL;
	}
	for (;;) {
		size_t i;
		pthread_mutex_lock(&job->lock);
		i = job->next++;
		pthread_mutex_unlock(&job->lock);
		if (i >= job->n)
			break;
		check_one(&m, job, &job->items[i]);
	}
	fe_models_close(&m);
	return NULL;
}

static float quantile(const float *sorted, size_t n, double q)
{
	double pos;
	size_t i;

	if (n == 0)
		return NAN;
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	if (i + 1 >= n)
		return sorted[n - 1];
	return (float)(sorted[i] + (pos - (double)i) * (sorted[i + 1] - sorted[i]));
}

static int report(const struct ac_job *job, int per_image, double secs)
{
	size_t errors = 0, detected = 0, multi = 0, ge90 = 0, ge95 = 0, nc = 0;
	float *cos = malloc((job->n ? job->n : 1) * sizeof(float));
	double sum = 0;
	char q[600];

	if (!cos)
		return FF_EXIT_FAIL;
	for (size_t i = 0; i < job->n; i++) {
		const struct ac_item *it = &job->items[i];
		if (per_image) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "image", it->name);
			cJSON_AddStringToObject(o, "status", ff_strerror(it->status));
			cJSON_AddNumberToObject(o, "faces", it->nfaces);
			fe_json_num(o, "cosine", it->cosine, 5, 'f');
			fe_json_print(o);
		}
		if (it->status != FF_OK) {
			errors++;
			ff_log(FF_LOG_WARN, "eval", "event=image_failed image=%s err=%s",
			       ff_log_quote(q, sizeof(q), it->name), ff_strerror(it->status));
			continue;
		}
		if (it->nfaces > 0)
			detected++;
		if (it->nfaces > 1)
			multi++;
		if (!isnan(it->cosine)) {
			cos[nc++] = it->cosine;
			sum += it->cosine;
			ge90 += it->cosine >= 0.90f;
			ge95 += it->cosine >= 0.95f;
		}
	}
	qsort(cos, nc, sizeof(float), cmp_float);
	printf("images %zu, errors %zu, detected %zu (%.2f%%), several faces %zu\n", job->n,
	       errors, detected, job->n ? 100.0 * detected / job->n : 0.0, multi);
	printf("cosine(own crop, gold crop) over %zu detected: median %.4f mean %.4f p05 %.4f "
	       "min %.4f, >=0.90 %.2f%%, >=0.95 %.2f%%\n",
	       nc, quantile(cos, nc, 0.5), nc ? sum / nc : NAN, quantile(cos, nc, 0.05),
	       nc ? cos[0] : NAN, nc ? 100.0 * ge90 / nc : 0.0, nc ? 100.0 * ge95 / nc : 0.0);
	{
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "images", (double)job->n);
		cJSON_AddNumberToObject(o, "errors", (double)errors);
		cJSON_AddNumberToObject(o, "detected", (double)detected);
		fe_json_num(o, "detection_rate", job->n ? (double)detected / job->n : 0.0, 5, 'f');
		cJSON_AddNumberToObject(o, "several_faces", (double)multi);
		fe_json_num(o, "cosine_median", nc ? quantile(cos, nc, 0.5) : 0.0f, 5, 'f');
		fe_json_num(o, "cosine_mean", nc ? sum / nc : 0.0, 5, 'f');
		fe_json_num(o, "cosine_p05", nc ? quantile(cos, nc, 0.05) : 0.0f, 5, 'f');
		fe_json_num(o, "cosine_min", nc ? cos[0] : 0.0f, 5, 'f');
		fe_json_num(o, "frac_cosine_ge_0_90", nc ? (double)ge90 / nc : 0.0, 5, 'f');
		fe_json_num(o, "frac_cosine_ge_0_95", nc ? (double)ge95 / nc : 0.0, 5, 'f');
		fe_json_num(o, "min_face", job->dopt.min_face_size, 6, 'g');
		fe_json_num(o, "seconds", secs, 1, 'f');
		fe_json_print(o);
	}
	free(cos);
	return errors ? FF_EXIT_FAIL : FF_EXIT_OK;
}

int fe_cmd_align_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lfw", required_argument, NULL, 'l' },   { "gold", required_argument, NULL, 'g' },
		{ "pairs", required_argument, NULL, 'p' }, { "models", required_argument, NULL, 'm' },
		{ "jobs", required_argument, NULL, 'j' },  { "limit", required_argument, NULL, 'n' },
		{ "min-face", required_argument, NULL, 'f' }, { "per-image", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },	   { NULL, 0, NULL, 0 },
	};
	struct ac_job job;
	const char *pairs = NULL, *models = NULL;
	char dir[4096], pairs_buf[4096];
	char **names = NULL;
	size_t nnames = 0;
	pthread_t tids[64];
	int jobs = 2, limit = 0, per_image = 0, c, rc = FF_EXIT_FAIL, started = 0;
	struct timespec t0, t1;

	memset(&job, 0, sizeof(job));
	job.dopt = (ff_detector_options)FF_DETECTOR_OPTIONS_INIT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:g:p:m:j:n:f:ih", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			job.lfw = optarg;
			break;
		case 'g':
			job.gold = optarg;
			break;
		case 'p':
			pairs = optarg;
			break;
		case 'm':
			models = optarg;
			break;
		case 'j':
			if (fe_parse_int(optarg, 1, 64, &jobs) != 0)
				goto usage;
			break;
		case 'n':
			if (fe_parse_int(optarg, 1, 1000000, &limit) != 0)
				goto usage;
			break;
		case 'f':
			if (fe_parse_float(optarg, 12.0f, 10000.0f, &job.dopt.min_face_size) != 0)
				goto usage;
			break;
		case 'i':
			per_image = 1;
			break;
		case 'h':
			ac_usage(stdout);
			return FF_EXIT_OK;
		default:
			goto usage;
		}
	}
	if (!job.lfw || !job.gold || optind != argc)
		goto usage;
	if (!pairs) {
		snprintf(pairs_buf, sizeof(pairs_buf), "%s/../pairs.txt", job.lfw);
		pairs = pairs_buf;
	}
	if (read_pairs(pairs, &names, &nnames) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=pairs_failed path=%s", pairs);
		goto out;
	}
	if (limit && (size_t)limit < nnames)
		nnames = (size_t)limit;
	job.items = calloc(nnames, sizeof(*job.items));
	if (!job.items)
		goto out;
	for (size_t i = 0; i < nnames; i++)
		job.items[i].name = names[i];
	job.n = nnames;
	job.models = fe_models_dir(models, dir, sizeof(dir));
	pthread_mutex_init(&job.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; started < jobs; started++)
		if (pthread_create(&tids[started], NULL, worker, &job) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_destroy(&job.lock);
	if (job.failed_models || started == 0)
		goto out;
	rc = report(&job, per_image,
		    (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
out:
	for (size_t i = 0; names && i < (job.items ? job.n : 0); i++)
		free(names[i]);
	free(names);
	free(job.items);
	return rc;
usage:
	ac_usage(stderr);
	return FF_EXIT_USAGE;
}
