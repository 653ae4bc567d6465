/* fleet-eval identify: closed-set identification over an image folder, for
 * each method (original, vq, codecs): gallery = the first image (sorted) of
 * each person with 2+ images, probes = the rest; Top-1 and Top-5 by cosine,
 * as models/train/lfw_eval.identification. A probe whose true gallery entry
 * scores as high as another counts as found (ties favour the truth); a
 * missing embedding (no face, not representable, failure) never matches.
 * With --enrol M the gallery is embedded with M for every row and the probes
 * with the row's method: the backend's device-face-vs-enrolled-photo match. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"

static void identify_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval identify --images DIR [--aligned] [--vq-model PREFIX]\n"
		"                           [--methods LIST] [--enrol METHOD] [--limit N] [--models DIR]\n"
		"                           [--threads N]\n"
		"Closed-set identification: gallery = first image (sorted) of each person with\n"
		"2+ images, probes = the others; Top-1 and Top-5 (cosine) and bytes per face for\n"
		"each method. Each image is embedded once per method; a progress bar goes to\n"
		"stderr; the last stdout line is one JSON object with every figure.\n"
		"  --limit N         only the first N images (sorted by name)\n" EV_COMMON_USAGE
		"Exit status: 0 done, 1 runtime failure (models, folder), 2 usage.\n");
}

struct ident {
	size_t gallery, probes, top1, top5, probes_missing;
};

/* gallery[k] = row of person k's first image; truth[j] = gallery slot of probe j */
static void identification(const struct ev_config *cfg, const struct ev_cache *c, int m,
			   const size_t *gallery, size_t ng, const size_t *probes, const size_t *truth,
			   size_t np, struct ident *r)
{
	const int g = ev_side_method(cfg, m, 1); /* the gallery's method */

	memset(r, 0, sizeof(*r));
	r->gallery = ng;
	r->probes = np;
	for (size_t j = 0; j < np; j++) {
		const float *q = ev_emb(c, probes[j], m);
		size_t above = 0;
		float st;
		if (ev_status_of(c, probes[j], m) != EV_OK ||
		    ev_status_of(c, gallery[truth[j]], g) != EV_OK) {
			r->probes_missing++;
			continue;
		}
		st = ff_cosine(q, ev_emb(c, gallery[truth[j]], g), c->dim);
		for (size_t k = 0; k < ng && above < 5; k++)
			if (k != truth[j] && ev_status_of(c, gallery[k], g) == EV_OK &&
			    ff_cosine(q, ev_emb(c, gallery[k], g), c->dim) > st)
				above++;
		r->top1 += above == 0;
		r->top5 += above < 5;
	}
}

static int report(const struct ev_config *cfg, const struct ev_cache *c, char *const *names,
		  size_t n)
{
	size_t *gallery = malloc(n * sizeof(size_t)), *probes = malloc(n * sizeof(size_t));
	size_t *truth = malloc(n * sizeof(size_t)), ng = 0, np = 0;
	struct ident r[EV_MAX_METHODS];
	int rc;

	if (!gallery || !probes || !truth) {
		free(gallery);
		free(probes);
		free(truth);
		return FF_EXIT_FAIL;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ev_same_person(names[i], names[j]))
			j++;
		if (j - i >= 2) {
			for (size_t k = i + 1; k < j; k++) {
				probes[np] = k;
				truth[np++] = ng;
			}
			gallery[ng++] = i;
		}
		i = j;
	}
	ev_print_enrol(cfg, "gallery", "probes");
	for (int m = 0; m < cfg->n_methods; m++) {
		identification(cfg, c, m, gallery, ng, probes, truth, np, &r[m]);
		if (r[m].probes_missing == np)
			printf("%-10s no probe scored (see not_representable / no_face / failed)\n",
			       cfg->methods[m].name);
		else
			printf("%-10s top1 %.4f  top5 %.4f  probes without embedding %zu\n",
			       cfg->methods[m].name, (double)r[m].top1 / (double)np,
			       (double)r[m].top5 / (double)np, r[m].probes_missing);
	}
	ev_print_method_notes(cfg, c);
	{
		cJSON *o = ev_json_begin("identify", cfg, c), *ms;
		cJSON_AddNumberToObject(o, "gallery", (double)ng);
		cJSON_AddNumberToObject(o, "probes", (double)np);
		ms = cJSON_AddObjectToObject(o, "methods");
		for (int m = 0; m < cfg->n_methods; m++) {
			int valid = np && r[m].probes_missing < np;
			cJSON *mo = ev_json_method(ms, cfg, c, m);
			fe_json_num(mo, "top1", valid ? (double)r[m].top1 / (double)np : NAN, 5, 'f');
			fe_json_num(mo, "top5", valid ? (double)r[m].top5 / (double)np : NAN, 5, 'f');
			cJSON_AddNumberToObject(mo, "probes_missing", (double)r[m].probes_missing);
		}
		rc = fe_json_print(o) == 0 ? FF_EXIT_OK : FF_EXIT_FAIL;
	}
	free(gallery);
	free(probes);
	free(truth);
	return rc;
}

int fe_cmd_identify(int argc, char **argv)
{
	return ev_run_images(argc, argv, identify_usage, "identify", report);
}
