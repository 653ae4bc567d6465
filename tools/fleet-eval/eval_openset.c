/* fleet-eval openset: the access-control figure, for each method. The
 * people of the image folder with 2+ images, sorted by name, alternate: the
 * 1st, 3rd, ... are enrolled (first image sorted = their gallery entry, the
 * others genuine probes), the 2nd, 4th, ... are strangers; people with one
 * image are strangers too (they could never be a genuine probe, and as
 * gallery entries they would only be distractors). Every image of a
 * stranger is a probe. Each probe
 * is given its best-scoring gallery entry (cosine). The threshold for a
 * false-accept rate f is set on the strangers' best scores
 * (ev_threshold_at_far: a stranger whose best score is above it is a false
 * accept); TAR at f = genuine probes whose best entry is their own person
 * and scores above it, over all genuine probes. A missing embedding (no
 * face, not representable, failure) never matches: a genuine probe without
 * one is rejected. --enrol M as in identify: the gallery through M. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"

#define OS_MISSING_SCORE (-2.0)
#define OS_NFAR 2
static const double os_far[OS_NFAR] = { 1e-3, 1e-2 };
static const char *const os_far_name[OS_NFAR] = { "1e-3", "1e-2" };

static void openset_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval openset --images DIR [--aligned] [--vq-model PREFIX]\n"
		"                          [--methods LIST] [--enrol METHOD] [--limit N] [--models DIR]\n"
		"                          [--threads N]\n"
		"Open-set identification (access control): the people of DIR with 2+ images,\n"
		"sorted by name, alternate enrolled (first image = gallery, the rest genuine\n"
		"probes) and strangers; people with one image are strangers too; every image\n"
		"of a stranger is a probe. Per method: TAR at FAR 1e-3 and 1e-2, the\n"
		"thresholds set on the strangers' best gallery scores; a genuine probe counts\n"
		"when its best match is its own person above the threshold. Each image is\n"
		"embedded once per method; the last stdout line is one JSON object.\n"
		"  --limit N         only the first N images (sorted by name)\n" EV_COMMON_USAGE
		"Exit status: 0 done, 1 runtime failure (models, folder), 2 usage.\n");
}

/* Rows of the image list by role. */
struct os_split {
	size_t *gallery, ng;          /* row of each enrolled person's gallery image */
	size_t *genuine, *truth, ngen; /* genuine probe rows, their gallery slot */
	size_t *strangers, nstr;      /* stranger probe rows */
	size_t people_enrolled, people_strangers;
};

static void split_free(struct os_split *sp)
{
	free(sp->gallery);
	free(sp->genuine);
	free(sp->truth);
	free(sp->strangers);
}

/* Alternate the people with 2+ images (runs of the same person in the
 * sorted names); the others are strangers. */
static int split_people(char *const *names, size_t n, struct os_split *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->gallery = malloc((n ? n : 1) * sizeof(size_t));
	sp->genuine = malloc((n ? n : 1) * sizeof(size_t));
	sp->truth = malloc((n ? n : 1) * sizeof(size_t));
	sp->strangers = malloc((n ? n : 1) * sizeof(size_t));
	if (!sp->gallery || !sp->genuine || !sp->truth || !sp->strangers) {
		split_free(sp);
		return FF_ERR_NOMEM;
	}
	for (size_t i = 0, multi = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ev_same_person(names[i], names[j]))
			j++;
		if (j - i >= 2 && multi++ % 2 == 0) {
			for (size_t k = i + 1; k < j; k++) {
				sp->genuine[sp->ngen] = k;
				sp->truth[sp->ngen++] = sp->ng;
			}
			sp->gallery[sp->ng++] = i;
			sp->people_enrolled++;
		} else {
			for (size_t k = i; k < j; k++)
				sp->strangers[sp->nstr++] = k;
			sp->people_strangers++;
		}
		i = j;
	}
	return sp->ngen && sp->nstr ? FF_OK : FF_ERR_NOTFOUND;
}

/* The best gallery score of probe row `row` (method m, gallery through g);
 * *slot = its gallery slot, or (size_t)-1 with OS_MISSING_SCORE. */
static double best_match(const struct ev_cache *c, const struct os_split *sp, size_t row, int m,
			 int g, size_t *slot)
{
	double best = OS_MISSING_SCORE;

	*slot = (size_t)-1;
	if (ev_status_of(c, row, m) != EV_OK)
		return best;
	for (size_t k = 0; k < sp->ng; k++) {
		double s;
		if (ev_status_of(c, sp->gallery[k], g) != EV_OK)
			continue;
		s = ff_cosine(ev_emb(c, row, m), ev_emb(c, sp->gallery[k], g), c->dim);
		if (s > best) {
			best = s;
			*slot = k;
		}
	}
	return best;
}

struct os_result {
	double tar[OS_NFAR], far[OS_NFAR], thr[OS_NFAR];
	size_t top1, missing; /* genuine probes: best entry is own person; no embedding */
};

/* gen_s/gen_ok: genuine probes' best scores, and whether the best is theirs;
 * neg: strangers' best scores (sorted in place). */
static void rates(const double *gen_s, const int *gen_ok, size_t ngen, double *neg, size_t nstr,
		  struct os_result *r)
{
	for (int f = 0; f < OS_NFAR; f++) {
		size_t acc = 0, fa = 0;
		r->thr[f] = ev_threshold_at_far(neg, nstr, os_far[f]);
		for (size_t j = 0; j < ngen; j++)
			acc += gen_ok[j] && gen_s[j] > r->thr[f];
		for (size_t j = 0; j < nstr; j++)
			fa += neg[j] > r->thr[f];
		r->tar[f] = (double)acc / (double)ngen;
		r->far[f] = (double)fa / (double)nstr;
	}
}

static int evaluate(const struct ev_config *cfg, const struct ev_cache *c,
		    const struct os_split *sp, int m, struct os_result *r)
{
	const int g = ev_side_method(cfg, m, 1);
	double *gen_s = malloc(sp->ngen * sizeof(double)), *neg = malloc(sp->nstr * sizeof(double));
	int *gen_ok = malloc(sp->ngen * sizeof(int)), rc = FF_ERR_NOMEM;
	size_t slot;

	memset(r, 0, sizeof(*r));
	if (!gen_s || !neg || !gen_ok)
		goto out;
	for (size_t j = 0; j < sp->ngen; j++) {
		gen_s[j] = best_match(c, sp, sp->genuine[j], m, g, &slot);
		gen_ok[j] = slot == sp->truth[j];
		r->top1 += (size_t)gen_ok[j];
		r->missing += ev_status_of(c, sp->genuine[j], m) != EV_OK;
	}
	for (size_t j = 0; j < sp->nstr; j++)
		neg[j] = best_match(c, sp, sp->strangers[j], m, g, &slot);
	rates(gen_s, gen_ok, sp->ngen, neg, sp->nstr, r);
	rc = FF_OK;
out:
	free(gen_s);
	free(neg);
	free(gen_ok);
	return rc;
}

static int print_json(const struct ev_config *cfg, const struct ev_cache *c,
		      const struct os_split *sp, const struct os_result *r)
{
	cJSON *o = ev_json_begin("openset", cfg, c), *ms;

	cJSON_AddStringToObject(o, "split", "people with 2+ images sorted by name alternate, enrolled "
					    "first; people with one image strangers");
	cJSON_AddNumberToObject(o, "people_enrolled", (double)sp->people_enrolled);
	cJSON_AddNumberToObject(o, "people_strangers", (double)sp->people_strangers);
	cJSON_AddNumberToObject(o, "gallery", (double)sp->ng);
	cJSON_AddNumberToObject(o, "genuine_probes", (double)sp->ngen);
	cJSON_AddNumberToObject(o, "stranger_probes", (double)sp->nstr);
	ms = cJSON_AddObjectToObject(o, "methods");
	for (int m = 0; m < cfg->n_methods; m++) {
		cJSON *mo = ev_json_method(ms, cfg, c, m);
		char key[40];
		if (r[m].missing == sp->ngen) { /* nothing embedded: no figure, as identify */
			cJSON_AddNullToObject(mo, "tar_at_far_1e-3");
			cJSON_AddNullToObject(mo, "tar_at_far_1e-2");
			cJSON_AddNullToObject(mo, "top1_enrolled");
		} else {
			for (int f = 0; f < OS_NFAR; f++) {
				snprintf(key, sizeof(key), "tar_at_far_%s", os_far_name[f]);
				fe_json_num(mo, key, r[m].tar[f], 5, 'f');
				snprintf(key, sizeof(key), "threshold_far_%s", os_far_name[f]);
				fe_json_num(mo, key, r[m].thr[f], 5, 'f');
				snprintf(key, sizeof(key), "far_%s", os_far_name[f]);
				fe_json_num(mo, key, r[m].far[f], 5, 'f');
			}
			fe_json_num(mo, "top1_enrolled", (double)r[m].top1 / (double)sp->ngen, 5, 'f');
		}
		cJSON_AddNumberToObject(mo, "probes_missing", (double)r[m].missing);
	}
	return fe_json_print(o);
}

static int report(const struct ev_config *cfg, const struct ev_cache *c, char *const *names,
		  size_t n)
{
	struct os_split sp;
	struct os_result r[EV_MAX_METHODS];
	int rc = FF_EXIT_FAIL;

	if (split_people(names, n, &sp) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=openset_split_failed images=%zu", n);
		return FF_EXIT_FAIL;
	}
	ev_print_enrol(cfg, "gallery", "probes");
	for (int m = 0; m < cfg->n_methods; m++) {
		if (evaluate(cfg, c, &sp, m, &r[m]) != FF_OK)
			goto out;
		printf("%-10s TAR@FAR=1e-3 %.4f (threshold %.4f)  TAR@FAR=1e-2 %.4f (threshold "
		       "%.4f)  top1 %.4f  probes without embedding %zu\n",
		       cfg->methods[m].name, r[m].tar[0], r[m].thr[0], r[m].tar[1], r[m].thr[1],
		       (double)r[m].top1 / (double)sp.ngen, r[m].missing);
	}
	ev_print_method_notes(cfg, c);
	if (print_json(cfg, c, &sp, r) == 0)
		rc = FF_EXIT_OK;
out:
	split_free(&sp);
	return rc;
}

int fe_cmd_openset(int argc, char **argv)
{
	return ev_run_images(argc, argv, openset_usage, "openset", report);
}
