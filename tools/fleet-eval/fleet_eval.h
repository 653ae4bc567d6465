/* fleet-eval: shared declarations of the subcommands (one file each). */
#ifndef FLEET_EVAL_H
#define FLEET_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "facefleet/detect.h"
#include "facefleet/embed.h"

/* Exit codes of every facefleet program. */
#include "facefleet/exit.h" /* FF_EXIT_OK, FF_EXIT_FAIL, FF_EXIT_USAGE */

/* A subcommand: argv[0] is the subcommand name. Returns an exit code. */
struct fe_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int fe_cmd_embed(int argc, char **argv);
int fe_cmd_align_check(int argc, char **argv);
int fe_cmd_verify(int argc, char **argv);   /* eval_verify.c */
int fe_cmd_identify(int argc, char **argv); /* eval_identify.c */
int fe_cmd_openset(int argc, char **argv);  /* eval_openset.c */
int fe_cmd_multishot(int argc, char **argv); /* eval_multishot.c */
int fe_cmd_codes(int argc, char **argv);    /* cmd_codes.c */

/* Directory holding pnet/rnet/onet/mobilefacenet.ffn: `dir` when given,
 * else $FF_MODELS_DIR, else models/cache; a trailing /ffn is added when the
 * files live there. Writes into buf; returns buf. */
const char *fe_models_dir(const char *dir, char *buf, size_t len);
/* The nets a subcommand needs (detector optional). */
struct fe_models {
	ff_detector *det;
	ff_embedder *emb;
};
/* Opens mobilefacenet.ffn and, when want_detector, the MTCNN stages from
 * models_dir; errors are logged. Returns FF_OK or an ff_err code. */
int fe_models_open(const char *models_dir, int want_detector, const ff_detector_options *dopt,
		   struct fe_models *m);
void fe_models_close(struct fe_models *m);
/* JSON result lines are cJSON documents. fe_json_num adds key: v printed
 * with prec and conv ('f': "%.*f", 'g': "%.*g"), so each figure keeps the
 * precision it always had; null when v is not finite. key NULL: appends v
 * to the array parent. False when out of memory. */
bool fe_json_num(cJSON *parent, const char *key, double v, int prec, char conv);
/* Adds key: [v...] ("%.6g" each); returns the array, NULL when out of memory. */
cJSON *fe_json_floats(cJSON *parent, const char *key, const float *v, size_t n);
/* Prints root as one line on stdout and frees it. 0, or -1 when out of
 * memory (logged). */
int fe_json_print(cJSON *root);
/* Parses a positive integer / float option value; returns 0 or -1. */
int fe_parse_int(const char *s, int min, int max, int *out);
int fe_parse_float(const char *s, float min, float max, float *out);

#endif
