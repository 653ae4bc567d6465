/* fleet-eval helpers shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/log.h"
#include "fleet_eval.h"

const char *fe_models_dir(const char *dir, char *buf, size_t len)
{
	char probe[4096];

	if (!dir || !*dir)
		dir = getenv("FF_MODELS_DIR");
	if (!dir || !*dir)
		dir = "models/cache";
	snprintf(probe, sizeof(probe), "%s/ffn/pnet.ffn", dir);
	if (access(probe, R_OK) == 0)
		snprintf(buf, len, "%s/ffn", dir);
	else
		snprintf(buf, len, "%s", dir);
	return buf;
}

void fe_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int fe_parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int fe_parse_float(const char *s, float min, float max, float *out)
{
	char *end;
	float v;

	if (!s)
		return -1;
	errno = 0;
	v = strtof(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int fe_models_open(const char *models_dir, int want_detector, const ff_detector_options *dopt,
		   struct fe_models *m)
{
	ff_nn_options nnopt = FF_NN_OPTIONS_INIT;
	char path[4096], why[512] = "";
	int rc;

	m->det = NULL;
	m->emb = NULL;
	if (dopt)
		nnopt.threads = dopt->threads;
	snprintf(path, sizeof(path), "%s/mobilefacenet.ffn", models_dir);
	rc = ff_embedder_create(path, &nnopt, &m->emb, why, sizeof(why));
	if (rc == FF_OK && want_detector)
		rc = ff_detector_create(models_dir, dopt, &m->det, why, sizeof(why));
	if (rc != FF_OK) {
		char q[600];
		ff_log(FF_LOG_ERROR, "eval", "event=models_failed err=%s reason=%s",
		       ff_strerror(rc), ff_log_quote(q, sizeof(q), why));
		fe_models_close(m);
	}
	return rc;
}

void fe_models_close(struct fe_models *m)
{
	ff_detector_free(m->det);
	ff_embedder_free(m->emb);
	m->det = NULL;
	m->emb = NULL;
}
