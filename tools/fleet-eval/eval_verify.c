/* fleet-eval verify: LFW-style verification over a pairs file, for each
 * method (original, vq, codecs): 10-fold accuracy (threshold chosen on 9
 * contiguous folds, applied to the 10th) and TAR at FAR=1e-3, with the
 * definitions of models/train/lfw_eval.py. A pair with a missing embedding
 * (no face, not representable, failure) scores -2: "different". With
 * --enrol M each pair's first image is embedded with M (the enrolled side)
 * and the second with the row's method, so scores are asymmetric.
 * --exclude-people FILE drops the pairs with a person of FILE (e.g. the
 * codec's training people: LFW's peopleDevTrain.txt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"

#define EV_MISSING_SCORE (-2.0)

struct ev_pair {
	char *a, *b; /* relative names, owned */
	size_t ia, ib;
	int same;
};

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval verify --images DIR --pairs FILE [--aligned] [--vq-model PREFIX]\n"
		"                         [--methods LIST] [--enrol METHOD] [--limit N] [--models DIR]\n"
		"                         [--threads N]\n"
		"Face verification on LFW-style pairs (pairs.txt: a header line, then\n"
		"'Name n1 n2' same-person and 'Name1 n1 Name2 n2' different-person lines).\n"
		"Per method: 10-fold accuracy (threshold picked on 9 contiguous folds, tested\n"
		"on the 10th), TAR at FAR=1e-3 and bytes per face. Each image is embedded once\n"
		"per method; a progress bar goes to stderr; the last stdout line is one JSON\n"
		"object with every figure.\n"
		"  --pairs FILE      the pairs file\n"
		"  --limit N         only the first N pairs of the file\n"
		"  --exclude-people FILE  leave out the pairs with a person listed in FILE\n"
		"                    (LFW people format: a count line, then 'Name N' lines),\n"
		"                    e.g. peopleDevTrain.txt for the pairs the codec never saw\n"
		"  --scores FILE     also write 'method same score' per pair (pairs order), e.g.\n"
		"                    to check the figures with models/train/lfw_eval.py\n" EV_COMMON_USAGE
		"Exit status: 0 done, 1 runtime failure (models, pairs, images), 2 usage.\n");
}

static char *pair_name(const char *person, int num)
{
	char buf[600];

	if (strlen(person) > 255 || num < 0 || num > 99999)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%s_%04d.jpg", person, person, num);
	return strdup(buf);
}

static void free_pairs(struct ev_pair *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].a);
		free(p[i].b);
	}
	free(p);
}

/* Reads up to limit (0 = all) pairs; the first line is a header. */
static int read_pairs(const char *path, int limit, struct ev_pair **out, size_t *count)
{
	FILE *f = fopen(path, "r");
	char line[1024], a[256], b[256];
	struct ev_pair *p = NULL;
	size_t n = 0, cap = 0;
	int i1, i2, rc = FF_OK;

	*out = NULL;
	*count = 0;
	if (!f)
		return FF_ERR_IO;
	if (!fgets(line, sizeof(line), f))
		rc = FF_ERR_FORMAT;
	while (rc == FF_OK && (!limit || n < (size_t)limit) && fgets(line, sizeof(line), f)) {
		int same;
		if (sscanf(line, "%255s %d %255s %d", a, &i1, b, &i2) == 4)
			same = 0;
		else if (sscanf(line, "%255s %d %d", a, &i1, &i2) == 3)
			same = 1, strcpy(b, a);
		else
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			struct ev_pair *np = realloc(p, nc * sizeof(*p));
			if (!np) {
				rc = FF_ERR_NOMEM;
				break;
			}
			p = np;
			cap = nc;
		}
		p[n].a = pair_name(a, i1);
		p[n].b = pair_name(b, i2);
		p[n].same = same;
		n++;
		if (!p[n - 1].a || !p[n - 1].b)
			rc = FF_ERR_FORMAT;
	}
	fclose(f);
	if (rc == FF_OK && n == 0)
		rc = FF_ERR_FORMAT;
	if (rc != FF_OK) {
		free_pairs(p, n);
		return rc;
	}
	*out = p;
	*count = n;
	return FF_OK;
}

/* The person of a "person/file" name into buf. */
static const char *person_of(const char *name, char *buf, size_t len)
{
	size_t n = strcspn(name, "/");

	snprintf(buf, len, "%.*s", (int)n, name);
	return buf;
}

static int listed(char *const *people, size_t n, const char *name)
{
	char buf[256];
	const char *key = person_of(name, buf, sizeof(buf));

	return bsearch(&key, people, n, sizeof(*people), ev_cmp_str) != NULL;
}

/* Drops the pairs with a person of the people file; *excluded = how many. */
static int exclude_people(const char *path, struct ev_pair *p, size_t *np, size_t *excluded)
{
	char **people = NULL;
	size_t n = 0, kept = 0;
	int rc = ev_read_people(path, &people, &n);

	*excluded = 0;
	if (rc != FF_OK)
		return rc;
	for (size_t i = 0; i < *np; i++) {
		if (listed(people, n, p[i].a) || listed(people, n, p[i].b)) {
			free(p[i].a);
			free(p[i].b);
			continue;
		}
		p[kept++] = p[i];
	}
	*excluded = *np - kept;
	*np = kept;
	ev_free_names(people, n);
	return kept ? FF_OK : FF_ERR_NOTFOUND;
}

/* Sorted distinct image names of the pairs; sets each pair's indices. */
static int index_images(struct ev_pair *p, size_t np, char ***names, size_t *count)
{
	char **v = malloc(2 * np * sizeof(*v));
	size_t n = 0;

	if (!v)
		return FF_ERR_NOMEM;
	for (size_t i = 0; i < np; i++) {
		v[n++] = p[i].a;
		v[n++] = p[i].b;
	}
	qsort(v, n, sizeof(*v), ev_cmp_str);
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (*count == 0 || strcmp(v[*count - 1], v[i]) != 0)
			v[(*count)++] = v[i];
	for (size_t i = 0; i < np; i++) {
		char **a = bsearch(&p[i].a, v, *count, sizeof(*v), ev_cmp_str);
		char **b = bsearch(&p[i].b, v, *count, sizeof(*v), ev_cmp_str);
		p[i].ia = (size_t)(a - v);
		p[i].ib = (size_t)(b - v);
	}
	*names = v; /* borrowed strings, owned by the pairs */
	return FF_OK;
}

struct scored {
	double s;
	int same;
};

static int cmp_scored(const void *x, const void *y)
{
	double a = ((const struct scored *)x)->s, b = ((const struct scored *)y)->s;

	return a < b ? -1 : a > b;
}

/* lfw_eval.best_threshold: among the distinct scores, the lowest t that
 * maximises #(s >= t) == same. tmp: n entries of scratch. */
static double best_threshold(const double *s, const int *same, const size_t *rows, size_t n,
			     struct scored *tmp)
{
	size_t total_same = 0, same_before = 0, diff_before = 0, best = 0;
	double t = 0;

	for (size_t i = 0; i < n; i++) {
		tmp[i].s = s[rows[i]];
		tmp[i].same = same[rows[i]];
		total_same += (size_t)tmp[i].same;
	}
	qsort(tmp, n, sizeof(*tmp), cmp_scored);
	for (size_t i = 0; i < n;) {
		size_t correct = total_same - same_before + diff_before, j = i;
		if (i == 0 || correct > best) {
			best = correct;
			t = tmp[i].s;
		}
		for (; j < n && tmp[j].s == tmp[i].s; j++) {
			same_before += (size_t)tmp[j].same;
			diff_before += (size_t)!tmp[j].same;
		}
		i = j;
	}
	return t;
}

struct verif {
	double acc_mean, acc_std, thr_mean, tar;
	size_t negatives;
	int tar_valid;
};

/* np.array_split folds: the first n % folds folds get one more. */
static void verification(const double *s, const int *same, size_t n, struct verif *v,
			 size_t *rows, struct scored *tmp, double *neg)
{
	const size_t folds = 10;
	double accs[10], sum = 0, sq = 0;
	size_t start = 0, nneg = 0, pos = 0, hit = 0;

	memset(v, 0, sizeof(*v));
	for (size_t k = 0; k < folds; k++) {
		size_t len = n / folds + (k < n % folds), m = 0, ok = 0;
		double t;
		for (size_t i = 0; i < n; i++)
			if (i < start || i >= start + len)
				rows[m++] = i;
		t = best_threshold(s, same, rows, m, tmp);
		for (size_t i = start; i < start + len; i++)
			ok += (s[i] >= t) == (same[i] != 0);
		accs[k] = len ? (double)ok / (double)len : 0;
		v->thr_mean += t / (double)folds;
		sum += accs[k];
		start += len;
	}
	v->acc_mean = sum / (double)folds;
	for (size_t k = 0; k < folds; k++)
		sq += (accs[k] - v->acc_mean) * (accs[k] - v->acc_mean);
	v->acc_std = sqrt(sq / (double)folds);
	for (size_t i = 0; i < n; i++)
		if (!same[i])
			neg[nneg++] = s[i];
	v->negatives = nneg;
	if (nneg == 0)
		return;
	{
		double t = ev_threshold_at_far(neg, nneg, 1e-3);
		for (size_t i = 0; i < n; i++)
			if (same[i]) {
				pos++;
				hit += s[i] > t;
			}
	}
	v->tar = pos ? (double)hit / (double)pos : 0;
	v->tar_valid = pos > 0;
}

static int report(const struct ev_config *cfg, const struct ev_cache *c, const struct ev_pair *p,
		  size_t np, size_t excluded, FILE *dump)
{
	double *s = malloc(np * sizeof(*s)), *neg = malloc(np * sizeof(*neg));
	int *same = malloc(np * sizeof(*same));
	size_t *rows = malloc(np * sizeof(*rows));
	struct scored *tmp = malloc(np * sizeof(*tmp));
	struct verif *v = calloc((size_t)cfg->n_methods, sizeof(*v));
	size_t *missing = calloc((size_t)cfg->n_methods, sizeof(*missing));
	int rc = FF_EXIT_FAIL;

	if (!s || !neg || !same || !rows || !tmp || !v || !missing)
		goto out;
	for (size_t i = 0; i < np; i++)
		same[i] = p[i].same;
	ev_print_enrol(cfg, "each pair's first image", "the second");
	for (int m = 0; m < cfg->n_methods; m++) {
		int ma = ev_side_method(cfg, m, 1);
		for (size_t i = 0; i < np; i++) {
			if (ev_status_of(c, p[i].ia, ma) == EV_OK &&
			    ev_status_of(c, p[i].ib, m) == EV_OK) {
				s[i] = ff_cosine(ev_emb(c, p[i].ia, ma), ev_emb(c, p[i].ib, m), c->dim);
			} else {
				s[i] = EV_MISSING_SCORE;
				missing[m]++;
			}
		}
		verification(s, same, np, &v[m], rows, tmp, neg);
		for (size_t i = 0; dump && i < np; i++)
			fprintf(dump, "%s %d %.9g\n", cfg->methods[m].name, same[i], s[i]);
		if (missing[m] == np)
			printf("%-10s no pair scored (see not_representable / no_face / failed)\n",
			       cfg->methods[m].name);
		else
			printf("%-10s accuracy %.4f +- %.4f  TAR@FAR=1e-3 %.4f  pairs without "
			       "embedding %zu\n",
			       cfg->methods[m].name, v[m].acc_mean, v[m].acc_std, v[m].tar,
			       missing[m]);
	}
	ev_print_method_notes(cfg, c);
	{
		cJSON *o = ev_json_begin("verify", cfg, c), *ms;
		cJSON_AddNumberToObject(o, "pairs", (double)np);
		cJSON_AddNumberToObject(o, "pairs_excluded", (double)excluded);
		ms = cJSON_AddObjectToObject(o, "methods");
		for (int m = 0; m < cfg->n_methods; m++) {
			int valid = missing[m] < np; /* at least one pair scored */
			cJSON *mo = ev_json_method(ms, cfg, c, m);
			fe_json_num(mo, "accuracy", valid ? v[m].acc_mean : NAN, 5, 'f');
			fe_json_num(mo, "accuracy_std", valid ? v[m].acc_std : NAN, 5, 'f');
			fe_json_num(mo, "threshold_mean", valid ? v[m].thr_mean : NAN, 5, 'f');
			fe_json_num(mo, "tar_at_far_1e-3", valid && v[m].tar_valid ? v[m].tar : NAN, 5, 'f');
			cJSON_AddNumberToObject(mo, "pairs_missing", (double)missing[m]);
		}
		if (fe_json_print(o) != 0)
			goto out;
	}
	rc = FF_EXIT_OK;
out:
	free(s);
	free(neg);
	free(same);
	free(rows);
	free(tmp);
	free(v);
	free(missing);
	return rc;
}

int fe_cmd_verify(int argc, char **argv)
{
	struct ev_config cfg;
	struct ev_cache cache;
	struct ev_pair *pairs = NULL;
	const char *pairs_path = NULL, *scores_path = NULL, *exclude_path = NULL;
	const struct ev_extra_opt extra[] = { { "pairs", 'p', &pairs_path, 1 },
					      { "scores", 's', &scores_path, 0 },
					      { "exclude-people", 'x', &exclude_path, 0 } };
	FILE *dump = NULL;
	char **names = NULL;
	size_t np = 0, nimg = 0, excluded = 0;
	int rc = ev_parse_args(&cfg, argc, argv, extra, sizeof(extra) / sizeof(extra[0]),
			       verify_usage);

	if (rc >= 0)
		return rc;
	rc = FF_EXIT_FAIL;
	if (read_pairs(pairs_path, cfg.limit, &pairs, &np) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=pairs_failed path=%s", pairs_path);
		goto out;
	}
	if (exclude_path && exclude_people(exclude_path, pairs, &np, &excluded) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=exclude_people_failed path=%s pairs_left=%zu",
		       exclude_path, np);
		goto out;
	}
	if (index_images(pairs, np, &names, &nimg) != FF_OK)
		goto out;
	fprintf(stderr, "verify: %zu pairs (%zu excluded), %zu images, %d methods, %d threads\n", np,
		excluded, nimg, cfg.n_methods, cfg.threads);
	if (ev_embed_all(&cfg, names, nimg, &cache) != FF_OK)
		goto out;
	if (scores_path && !(dump = fopen(scores_path, "w")))
		ff_log(FF_LOG_ERROR, "eval", "event=scores_failed path=%s", scores_path);
	else
		rc = report(&cfg, &cache, pairs, np, excluded, dump);
	if (dump && fclose(dump) != 0)
		rc = FF_EXIT_FAIL;
	ev_cache_free(&cache);
out:
	free(names);
	free_pairs(pairs, np);
	return rc;
}
