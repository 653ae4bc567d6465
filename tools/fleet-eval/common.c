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

bool fe_json_num(cJSON *parent, const char *key, double v, int prec, char conv)
{
	char t[64];
	cJSON *item;

	if (!isfinite(v))
		item = cJSON_CreateNull();
	else {
		snprintf(t, sizeof(t), conv == 'g' ? "%.*g" : "%.*f", prec, v);
		item = cJSON_CreateRaw(t);
	}
	if (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item))
		return true;
	cJSON_Delete(item);
	return false;
}

cJSON *fe_json_floats(cJSON *parent, const char *key, const float *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(parent, key);
	for (size_t i = 0; a && i < n; i++)
		if (!fe_json_num(a, NULL, v[i], 6, 'g'))
			return NULL;
	return a;
}

int fe_json_print(cJSON *root)
{
	char *t = cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	if (!t) {
		ff_log(FF_LOG_ERROR, "eval", "event=json_failed err=%s", ff_strerror(FF_ERR_NOMEM));
		return -1;
	}
	puts(t);
	cJSON_free(t);
	return 0;
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
