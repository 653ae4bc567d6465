/* fleet-eval multishot: Top-1 / Top-5 (identify's gallery) and open-set TAR
 * at FAR 1e-3 / 1e-2 (openset's split) for probes fused from K = 1, 2, 3 (by
 * default) different images of a person, per method; the fused threshold at
 * each FAR is the one a backend deciding on fused tracks needs. See
 * eval_multishot.h for the fusion and the probe groups. The gallery side is
 * embedded through --enrol's method when given (as deployed: --enrol
 * original), each probe image through the row's method; a probe image
 * without an embedding (no face, not representable, failure) is left out of
 * its fusion, and a probe with none never matches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "eval_multishot.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"

#define MS_NFAR 2
static const double ms_far[MS_NFAR] = { 1e-3, 1e-2 };
static const char *const ms_far_name[MS_NFAR] = { "1e-3", "1e-2" };
#define MS_MISSING_SCORE (-2.0)
#define MS_FUSION "mean of the L2-normalised embeddings, renormalised (equal weights: no quality)"

/* ---- fusion and probe groups (eval_multishot.h) ------------------------------------ */

int ev_fuse(const float *const *e, const float *w, size_t k, size_t dim, float *out)
{
	double acc[EV_MAX_DIM], norm = 0;
	int used = 0;

	if (dim)
		memset(out, 0, dim * sizeof(float));
	if (k == 0 || dim == 0 || dim > EV_MAX_DIM)
		return FF_ERR_INVAL;
	for (size_t i = 0; w && i < k; i++)
		if (!isfinite(w[i]) || w[i] < 0)
			return FF_ERR_INVAL;
	memset(acc, 0, dim * sizeof(double));
	for (size_t i = 0; i < k; i++) {
		double n2 = 0, wi = w ? (double)w[i] : 1.0;
		for (size_t d = 0; d < dim; d++)
			n2 += (double)e[i][d] * (double)e[i][d];
		if (wi == 0 || n2 == 0 || !isfinite(n2))
			continue;
		for (size_t d = 0; d < dim; d++)
			acc[d] += wi * (double)e[i][d] / sqrt(n2);
		used = 1;
	}
	for (size_t d = 0; d < dim; d++)
		norm += acc[d] * acc[d];
	if (!used || norm == 0) /* nothing, or opposite embeddings that cancel */
		return FF_ERR_INVAL;
	norm = sqrt(norm);
	for (size_t d = 0; d < dim; d++)
		out[d] = (float)(acc[d] / norm);
	return FF_OK;
}

size_t ev_ms_groups(size_t first, size_t count, size_t skip, size_t kmax, size_t truth,
		    struct ev_ms_probe *out, size_t max)
{
	size_t groups = kmax && count > skip ? (count - skip) / kmax : 0;

	for (size_t j = 0; j < groups && j < max; j++) {
		memset(&out[j], 0, sizeof(out[j]));
		for (size_t i = 0; i < kmax; i++)
			out[j].rows[i] = first + skip + j * kmax + i;
		out[j].truth = truth;
	}
	return groups;
}

void ev_ms_split_free(struct ev_ms_split *sp)
{
	free(sp->gallery);
	free(sp->genuine);
	free(sp->strangers);
	memset(sp, 0, sizeof(*sp));
}

int ev_ms_split(char *const *names, size_t n, size_t kmax, enum ev_ms_protocol p,
		struct ev_ms_split *sp)
{
	const size_t cap = n ? n : 1; /* every count below is at most n */

	memset(sp, 0, sizeof(*sp));
	if (kmax < 1 || kmax > EV_MS_MAX_SHOTS)
		return FF_ERR_INVAL;
	sp->gallery = malloc(cap * sizeof(size_t));
	sp->genuine = malloc(cap * sizeof(struct ev_ms_probe));
	sp->strangers = malloc(cap * sizeof(struct ev_ms_probe));
	if (!sp->gallery || !sp->genuine || !sp->strangers) {
		ev_ms_split_free(sp);
		return FF_ERR_NOMEM;
	}
	for (size_t i = 0, multi = 0; i < n;) {
		size_t j = i + 1, got;
		int enrolled;
		while (j < n && ev_same_person(names[i], names[j]))
			j++;
		enrolled = j - i >= 2 && (p == EV_MS_IDENTIFY || multi++ % 2 == 0);
		if (enrolled) {
			got = ev_ms_groups(i, j - i, 1, kmax, sp->ng, sp->genuine + sp->ngen,
					   cap - sp->ngen);
			sp->ngen += got;
			sp->people_genuine += got > 0;
			sp->gallery[sp->ng++] = i;
			sp->people_enrolled++;
		} else if (p == EV_MS_OPENSET) {
			got = ev_ms_groups(i, j - i, 0, kmax, EV_MS_STRANGER, sp->strangers + sp->nstr,
					   cap - sp->nstr);
			sp->nstr += got;
			sp->people_stranger_probes += got > 0;
			sp->people_strangers++;
		}
		i = j;
	}
	if (sp->ngen == 0 || (p == EV_MS_OPENSET && sp->nstr == 0)) {
		ev_ms_split_free(sp);
		return FF_ERR_NOTFOUND;
	}
	return FF_OK;
}

int ev_ms_parse_shots(const char *s, int shots[EV_MS_MAX_SHOTS])
{
	int seen[EV_MS_MAX_SHOTS + 1] = { 0 }, n = 0;
	char buf[128], *save = NULL;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;
		if (fe_parse_int(t, 1, EV_MS_MAX_SHOTS, &k) != 0)
			return -1;
		seen[k] = 1;
	}
	for (int k = 1; k <= EV_MS_MAX_SHOTS; k++)
		if (seen[k])
			shots[n++] = k;
	return n ? n : -1;
}

/* ---- the command --------------------------------------------------------------------- */

static void multishot_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval multishot --images DIR [--shots LIST] [--aligned] [--vq-model PREFIX]\n"
		"                            [--methods LIST] [--enrol METHOD] [--limit N] [--models DIR]\n"
		"                            [--threads N] [--cache DIR]\n"
		"Identification and open-set access from probes of K different images of a\n"
		"person, fused as the backend fuses a track (mean of the L2-normalised\n"
		"embeddings, renormalised). A person's probe images (after the gallery image\n"
		"when enrolled) are cut in name order into groups of KMAX (the largest K); the\n"
		"K-shot probe fuses a group's first K, so every K row has the same probes.\n"
		"Identify: identify's gallery (first image of each person with 2+ images),\n"
		"probes from people with 1+KMAX images; Top-1, Top-5. Open set: openset's\n"
		"split (people with 2+ images alternate enrolled / stranger); genuine probes\n"
		"from enrolled people with 1+KMAX images, stranger probes from strangers with\n"
		"KMAX images; TAR at FAR 1e-3 and 1e-2 and the fused thresholds. The last\n"
		"stdout line is one JSON object.\n"
		"  --shots LIST      K values, comma-separated, 1..%d (default 1,2,3)\n"
		"  --limit N         only the first N images (sorted by name)\n" EV_COMMON_USAGE
		"Exit status: 0 done, 1 runtime failure (models, folder, too few images), 2 usage.\n",
		EV_MS_MAX_SHOTS);
}

/* The K-shot fusion of probe pr through method m into q. Returns 0, or -1
 * when none of its images has an embedding. */
static int fused_probe(const struct ev_cache *c, const struct ev_ms_probe *pr, int k, int m,
		       float *q)
{
	const float *e[EV_MS_MAX_SHOTS];
	size_t ok = 0;

	for (int i = 0; i < k; i++)
		if (ev_status_of(c, pr->rows[i], m) == EV_OK)
			e[ok++] = ev_emb(c, pr->rows[i], m);
	return ok && ev_fuse(e, NULL, ok, c->dim, q) == FF_OK ? 0 : -1;
}

/* The best gallery score of q (gallery through method g); *slot its gallery
 * slot, or EV_MS_STRANGER when no gallery entry has an embedding. */
static double best_match(const struct ev_cache *c, const struct ev_ms_split *sp, int g,
			 const float *q, size_t *slot)
{
	double best = MS_MISSING_SCORE;

	*slot = EV_MS_STRANGER;
	for (size_t k = 0; k < sp->ng; k++) {
		double s;
		if (ev_status_of(c, sp->gallery[k], g) != EV_OK)
			continue;
		s = ff_cosine(q, ev_emb(c, sp->gallery[k], g), c->dim);
		if (s > best) {
			best = s;
			*slot = k;
		}
	}
	return best;
}

struct ms_result {
	/* identify */
	size_t probes, missing, top1, top5;
	/* open set: per probe (its best gallery score) */
	size_t gen, str, gen_missing, os_top1;
	double tar[MS_NFAR], far[MS_NFAR], thr[MS_NFAR];
	/* per comparison: every stranger probe against every gallery entry, the
	 * way backend/THRESHOLD.md sets the single-face threshold on pairs; the
	 * open-set TAR and FAR a backend deciding at that threshold gets */
	size_t pairs;
	double pair_thr, pair_os_tar, pair_os_far;
};

/* Top-1 / Top-5 as identify counts them: ties favour the truth. */
static void ms_identify(const struct ev_cache *c, const struct ev_ms_split *sp, int m, int g,
			int k, struct ms_result *r)
{
	float q[EV_MAX_DIM];

	r->probes = sp->ngen;
	for (size_t j = 0; j < sp->ngen; j++) {
		const struct ev_ms_probe *pr = &sp->genuine[j];
		size_t above = 0;
		float st;
		if (fused_probe(c, pr, k, m, q) != 0 ||
		    ev_status_of(c, sp->gallery[pr->truth], g) != EV_OK) {
			r->missing++;
			continue;
		}
		st = ff_cosine(q, ev_emb(c, sp->gallery[pr->truth], g), c->dim);
		for (size_t s = 0; s < sp->ng && above < 5; s++)
			if (s != pr->truth && ev_status_of(c, sp->gallery[s], g) == EV_OK &&
			    ff_cosine(q, ev_emb(c, sp->gallery[s], g), c->dim) > st)
				above++;
		r->top1 += above == 0;
		r->top5 += above < 5;
	}
}

/* Open set as eval_openset.c scores it, on fused probes. */
static int ms_openset(const struct ev_cache *c, const struct ev_ms_split *sp, int m, int g, int k,
		      struct ms_result *r)
{
	double *gen_s = malloc(sp->ngen * sizeof(double)), *neg = malloc(sp->nstr * sizeof(double));
	double *pair = malloc((sp->nstr * sp->ng + 1) * sizeof(double));
	int *gen_ok = malloc(sp->ngen * sizeof(int)), rc = FF_ERR_NOMEM;
	float q[EV_MAX_DIM];
	size_t slot, pacc = 0, pfa = 0;

	if (!gen_s || !neg || !gen_ok || !pair)
		goto out;
	r->gen = sp->ngen;
	r->str = sp->nstr;
	for (size_t j = 0; j < sp->ngen; j++) {
		gen_s[j] = MS_MISSING_SCORE;
		gen_ok[j] = 0;
		if (fused_probe(c, &sp->genuine[j], k, m, q) != 0) {
			r->gen_missing++;
			continue;
		}
		gen_s[j] = best_match(c, sp, g, q, &slot);
		gen_ok[j] = slot == sp->genuine[j].truth;
		r->os_top1 += (size_t)gen_ok[j];
	}
	for (size_t j = 0; j < sp->nstr; j++) {
		neg[j] = MS_MISSING_SCORE;
		if (fused_probe(c, &sp->strangers[j], k, m, q) != 0)
			continue;
		neg[j] = best_match(c, sp, g, q, &slot);
		for (size_t s = 0; s < sp->ng; s++)
			if (ev_status_of(c, sp->gallery[s], g) == EV_OK)
				pair[r->pairs++] = ff_cosine(q, ev_emb(c, sp->gallery[s], g), c->dim);
	}
	r->pair_thr = ev_threshold_at_far(pair, r->pairs, 1e-3);
	for (size_t j = 0; j < sp->ngen; j++)
		pacc += gen_ok[j] && gen_s[j] > r->pair_thr;
	for (size_t j = 0; j < sp->nstr; j++)
		pfa += neg[j] > r->pair_thr;
	r->pair_os_tar = (double)pacc / (double)sp->ngen;
	r->pair_os_far = (double)pfa / (double)sp->nstr;
	for (int f = 0; f < MS_NFAR; f++) {
		size_t acc = 0, fa = 0;
		r->thr[f] = ev_threshold_at_far(neg, sp->nstr, ms_far[f]);
		for (size_t j = 0; j < sp->ngen; j++)
			acc += gen_ok[j] && gen_s[j] > r->thr[f];
		for (size_t j = 0; j < sp->nstr; j++)
			fa += neg[j] > r->thr[f];
		r->tar[f] = (double)acc / (double)sp->ngen;
		r->far[f] = (double)fa / (double)sp->nstr;
	}
	rc = FF_OK;
out:
	free(gen_s);
	free(neg);
	free(gen_ok);
	free(pair);
	return rc;
}

static double frac(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

/* Disjoint groups of k probe images (after the gallery image) over the
 * people with 1 + k images: the probes K = k alone could have, each K on
 * its own people (the rows use kmax's people, so that they compare). */
static size_t own_probes(char *const *names, size_t n, size_t k)
{
	size_t total = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ev_same_person(names[i], names[j]))
			j++;
		total += ev_ms_groups(i, j - i, 1, k, 0, NULL, 0);
		i = j;
	}
	return total;
}

static void json_counts(cJSON *o, const struct ev_ms_split *id, const struct ev_ms_split *os,
			int kmax, char *const *names, size_t n)
{
	cJSON *j = cJSON_AddObjectToObject(o, "identify"), *a;

	cJSON_AddStringToObject(j, "rule", "gallery: first image (sorted) of each person with 2+ "
					   "images; probes: groups of kmax of the other images of "
					   "people with 1+kmax images");
	cJSON_AddNumberToObject(j, "gallery", (double)id->ng);
	cJSON_AddNumberToObject(j, "probe_people", (double)id->people_genuine);
	cJSON_AddNumberToObject(j, "probes_per_k", (double)id->ngen);
	a = cJSON_AddObjectToObject(j, "probes_if_each_k_on_own_people");
	for (int k = 1; k <= kmax; k++) {
		char key[16];
		snprintf(key, sizeof(key), "%d", k);
		cJSON_AddNumberToObject(a, key, (double)own_probes(names, n, (size_t)k));
	}
	j = cJSON_AddObjectToObject(o, "openset");
	cJSON_AddStringToObject(j, "rule", "people with 2+ images sorted by name alternate, enrolled "
					   "first; people with one image strangers; genuine probes "
					   "from enrolled people with 1+kmax images, stranger probes "
					   "from strangers with kmax images");
	cJSON_AddNumberToObject(j, "people_enrolled", (double)os->people_enrolled);
	cJSON_AddNumberToObject(j, "people_strangers", (double)os->people_strangers);
	cJSON_AddNumberToObject(j, "gallery", (double)os->ng);
	cJSON_AddNumberToObject(j, "genuine_people", (double)os->people_genuine);
	cJSON_AddNumberToObject(j, "genuine_probes_per_k", (double)os->ngen);
	cJSON_AddNumberToObject(j, "stranger_people", (double)os->people_stranger_probes);
	cJSON_AddNumberToObject(j, "stranger_probes_per_k", (double)os->nstr);
	cJSON_AddNumberToObject(o, "kmax", kmax);
}

static void json_row(cJSON *ks, int k, const struct ms_result *r, double bytes_per_face)
{
	char key[40];
	cJSON *o;

	snprintf(key, sizeof(key), "%d", k);
	o = cJSON_AddObjectToObject(ks, key);
	cJSON_AddNumberToObject(o, "probes", (double)r->probes);
	fe_json_num(o, "top1", r->missing < r->probes ? frac(r->top1, r->probes) : NAN, 5, 'f');
	fe_json_num(o, "top5", r->missing < r->probes ? frac(r->top5, r->probes) : NAN, 5, 'f');
	cJSON_AddNumberToObject(o, "probes_missing", (double)r->missing);
	cJSON_AddNumberToObject(o, "genuine_probes", (double)r->gen);
	cJSON_AddNumberToObject(o, "stranger_probes", (double)r->str);
	for (int f = 0; f < MS_NFAR; f++) {
		int valid = r->gen_missing < r->gen;
		snprintf(key, sizeof(key), "tar_at_far_%s", ms_far_name[f]);
		fe_json_num(o, key, valid ? r->tar[f] : NAN, 5, 'f');
		snprintf(key, sizeof(key), "threshold_far_%s", ms_far_name[f]);
		fe_json_num(o, key, valid ? r->thr[f] : NAN, 5, 'f');
		snprintf(key, sizeof(key), "far_%s", ms_far_name[f]);
		fe_json_num(o, key, valid ? r->far[f] : NAN, 5, 'f');
	}
	fe_json_num(o, "top1_enrolled", r->gen_missing < r->gen ? frac(r->os_top1, r->gen) : NAN, 5,
		    'f');
	cJSON_AddNumberToObject(o, "impostor_pairs", (double)r->pairs);
	fe_json_num(o, "pair_threshold_far_1e-3", r->pairs ? r->pair_thr : NAN, 5, 'f');
	fe_json_num(o, "tar_at_pair_threshold", r->pairs ? r->pair_os_tar : NAN, 5, 'f');
	fe_json_num(o, "far_at_pair_threshold", r->pairs ? r->pair_os_far : NAN, 5, 'f');
	cJSON_AddNumberToObject(o, "genuine_probes_missing", (double)r->gen_missing);
	fe_json_num(o, "bytes_per_decision", bytes_per_face > 0 ? k * bytes_per_face : NAN, 1, 'f');
}

static int ms_shots[EV_MS_MAX_SHOTS], ms_nshots;

static int report(const struct ev_config *cfg, const struct ev_cache *c, char *const *names,
		  size_t n)
{
	const int kmax = ms_shots[ms_nshots - 1];
	struct ev_ms_split id, os;
	cJSON *o = NULL, *ms;
	int rc = FF_EXIT_FAIL;

	if (ev_ms_split(names, n, (size_t)kmax, EV_MS_IDENTIFY, &id) != FF_OK ||
	    ev_ms_split(names, n, (size_t)kmax, EV_MS_OPENSET, &os) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval",
		       "event=multishot_split_failed images=%zu kmax=%d reason=\"no person with 1+kmax "
		       "images, or no stranger with kmax\"",
		       n, kmax);
		ev_ms_split_free(&id);
		return FF_EXIT_FAIL;
	}
	ev_print_enrol(cfg, "gallery", "probes");
	printf("identify: gallery %zu, probes %zu per K from %zu people with %d+ images\n", id.ng,
	       id.ngen, id.people_genuine, 1 + kmax);
	printf("open set: gallery %zu, genuine probes %zu per K (%zu people), stranger probes %zu "
	       "per K (%zu people)\n",
	       os.ng, os.ngen, os.people_genuine, os.nstr, os.people_stranger_probes);
	printf("%-10s %2s %6s %7s %7s %9s %9s %9s %9s %9s %9s %9s %10s\n", "method", "K", "probes",
	       "top1", "top5", "TAR@1e-3", "thr@1e-3", "TAR@1e-2", "thr@1e-2", "pair_thr", "TAR@pair",
	       "FAR@pair", "bytes/dec");
	o = ev_json_begin("multishot", cfg, c);
	{
		cJSON *a = cJSON_AddArrayToObject(o, "shots");
		for (int i = 0; i < ms_nshots; i++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(ms_shots[i]));
	}
	cJSON_AddStringToObject(o, "fusion", MS_FUSION);
	json_counts(o, &id, &os, kmax, names, n);
	ms = cJSON_AddObjectToObject(o, "methods");
	for (int m = 0; m < cfg->n_methods; m++) {
		const int g = ev_side_method(cfg, m, 1);
		struct ev_method_stats st;
		cJSON *mo = ev_json_method(ms, cfg, c, m), *ks = cJSON_AddObjectToObject(mo, "by_shots");
		ev_method_stats(cfg, c, m, &st);
		for (int i = 0; i < ms_nshots; i++) {
			struct ms_result r;
			memset(&r, 0, sizeof(r));
			ms_identify(c, &id, m, g, ms_shots[i], &r);
			if (ms_openset(c, &os, m, g, ms_shots[i], &r) != FF_OK)
				goto out;
			printf("%-10s %2d %6zu %7.4f %7.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f "
			       "%10.0f\n",
			       cfg->methods[m].name, ms_shots[i], r.probes, frac(r.top1, r.probes),
			       frac(r.top5, r.probes), r.tar[0], r.thr[0], r.tar[1], r.thr[1],
			       r.pair_thr, r.pair_os_tar, r.pair_os_far, ms_shots[i] * st.bytes_mean);
			json_row(ks, ms_shots[i], &r, st.ok ? st.bytes_mean : 0);
		}
	}
	ev_print_method_notes(cfg, c);
	rc = fe_json_print(o) == 0 ? FF_EXIT_OK : FF_EXIT_FAIL;
	o = NULL;
out:
	cJSON_Delete(o);
	ev_ms_split_free(&id);
	ev_ms_split_free(&os);
	return rc;
}

int fe_cmd_multishot(int argc, char **argv)
{
	const char *shots = NULL;
	const struct ev_extra_opt extra[] = { { "shots", 'K', &shots, 0 } };
	struct ev_config cfg;
	int rc = ev_parse_args(&cfg, argc, argv, extra, 1, multishot_usage);

	if (rc >= 0)
		return rc;
	if ((ms_nshots = ev_ms_parse_shots(shots ? shots : "1,2,3", ms_shots)) < 0) {
		fprintf(stderr, "fleet-eval: bad --shots '%s' (comma-separated, 1..%d)\n", shots,
			EV_MS_MAX_SHOTS);
		multishot_usage(stderr);
		return FF_EXIT_USAGE;
	}
	return ev_embed_and_report(&cfg, "multishot", report);
}
