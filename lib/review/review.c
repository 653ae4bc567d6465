/* Human review of a recorded event (facefleet/review.h): its stored codes
 * decoded by its model's VQ decoder, upscaled, marked as a reconstruction,
 * as PNG; every view of an event an audit row. */
#include "facefleet/review.h"

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/ids.h"
#include "facefleet/uuid.h"
#include "facefleet/vq.h"
#include "review_internal.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MODELS 8
#define FACE_SIDE 112
#define FACE_FLOATS (FACE_SIDE * FACE_SIDE * 3)

struct ff_review {
	pthread_mutex_t mu; /* one decode at a time: a decoder's net is not reentrant */
	char *dir;
	size_t n;
	ff_vq_decoder *dec[MAX_MODELS]; /* opened on first use, kept */
	float rgb[FACE_FLOATS];
	uint16_t idx[FF_VQ_MAX_CODES];
};

int ff_review_open(ff_review **out, const char *models_dir, char *errbuf, size_t errlen)
{
	struct stat st;
	ff_review *r;
	if (!out || !models_dir) {
		ff_seterr(errbuf, errlen, "ff_review_open: NULL argument");
		return FF_ERR_INVAL;
	}
	if (stat(models_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ff_seterr(errbuf, errlen, "%s: not a VQ model folder", models_dir);
		return FF_ERR_NOTFOUND;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->dir = strdup(models_dir))) {
		free(r);
		return FF_ERR_NOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return FF_OK;
}

void ff_review_close(ff_review *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		ff_vq_decoder_free(r->dec[i]);
	pthread_mutex_destroy(&r->mu);
	free(r->dir);
	free(r);
}

/* model_id's decoder, opened from <dir>/<id>.dec.ffn on first use (under mu). */
static int decoder(ff_review *r, const char *model_id, ff_vq_decoder **out, char *errbuf,
		   size_t errlen)
{
	char path[1024];
	int rc;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(ff_vq_decoder_info(r->dec[i])->model_id, model_id) == 0) {
			*out = r->dec[i];
			return FF_OK;
		}
	if (r->n == MAX_MODELS) {
		ff_seterr(errbuf, errlen, "more than %d VQ models reviewed", MAX_MODELS);
		return FF_ERR_UNSUPPORTED;
	}
	snprintf(path, sizeof(path), "%s/%s.dec.ffn", r->dir, model_id);
	rc = ff_vq_decoder_create(path, NULL, &r->dec[r->n], errbuf, errlen);
	if (rc == FF_ERR_NOMEM)
		return rc;
	if (rc != FF_OK) /* no such file, or one this build cannot run */
		return FF_ERR_UNSUPPORTED;
	if (strcmp(ff_vq_decoder_info(r->dec[r->n])->model_id, model_id) != 0) {
		ff_seterr(errbuf, errlen, "%s: holds model %s, not %s", path,
			  ff_vq_decoder_info(r->dec[r->n])->model_id, model_id);
		ff_vq_decoder_free(r->dec[r->n]);
		return FF_ERR_UNSUPPORTED;
	}
	*out = r->dec[r->n++];
	return FF_OK;
}

/* codes -> face -> FF_REVIEW_SIZE square, banner, PNG (under mu). */
static int render(ff_review *r, const char *model_id, const uint8_t *codes, size_t len,
		  unsigned char **png, size_t *png_len, char *errbuf, size_t errlen)
{
	ff_image face = FF_IMAGE_EMPTY, big = FF_IMAGE_EMPTY;
	const ff_vq_info *info;
	ff_vq_decoder *d;
	int rc = decoder(r, model_id, &d, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	info = ff_vq_decoder_info(d);
	rc = ff_bitpack_unpack(codes, len, info->num_codes, info->bits_per_index,
			       info->codebook_size, r->idx);
	if (rc == FF_ERR_INVAL) /* a model this library checked cannot say so: the codes are bad */
		rc = FF_ERR_FORMAT;
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "%zu bytes of codes are not model %s's %zu: %s", len, model_id,
			  ff_bitpack_size(info->num_codes, info->bits_per_index), ff_strerror(rc));
		return rc;
	}
	if ((rc = ff_vq_decode(d, r->idx, info->num_codes, r->rgb, FACE_FLOATS)) != FF_OK ||
	    (rc = ff_vq_rgbf_to_image(r->rgb, &face)) != FF_OK ||
	    (rc = ff_image_resize(&face, FF_REVIEW_SIZE, FF_REVIEW_SIZE, &big)) != FF_OK ||
	    (rc = ff_review_draw_banner(&big)) != FF_OK ||
	    (rc = ff_review_encode_png(&big, png, png_len)) != FF_OK)
		ff_seterr(errbuf, errlen, "rendering model %s's face: %s", model_id, ff_strerror(rc));
	ff_image_free(&face);
	ff_image_free(&big);
	return rc;
}

int ff_review_codes_png(ff_review *r, const char *model_id, const uint8_t *codes, size_t len,
			unsigned char **png, size_t *png_len, char *errbuf, size_t errlen)
{
	int rc;
	if (!r || !model_id || !codes || !png || !png_len) {
		ff_seterr(errbuf, errlen, "ff_review_codes_png: NULL argument");
		return FF_ERR_INVAL;
	}
	if (!ff_id_valid(model_id)) {
		ff_seterr(errbuf, errlen, "model id '%.40s' is not an id", model_id);
		return FF_ERR_INVAL;
	}
	pthread_mutex_lock(&r->mu);
	rc = render(r, model_id, codes, len, png, png_len, errbuf, errlen);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* The audit row of one view, detail {device, site, model}. */
static int audit_view(PGconn *db, const char *event_id, const char *actor, PGresult *ev,
		      char *errbuf, size_t errlen)
{
	cJSON *o = cJSON_CreateObject();
	char *detail;
	PGresult *res;
	int rc = FF_ERR_NOMEM;
	cJSON_AddStringToObject(o, "device", PQgetvalue(ev, 0, 2));
	cJSON_AddStringToObject(o, "site", PQgetvalue(ev, 0, 3));
	cJSON_AddStringToObject(o, "model", PQgetvalue(ev, 0, 0));
	detail = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!detail)
		return rc;
	{
		const char *p[3] = { actor, event_id, detail };
		res = PQexecParams(db, "INSERT INTO audit_log (actor, action, subject, detail) "
				       "VALUES ($1, 'event.view_face', $2, $3::jsonb)",
				   3, NULL, p, NULL, NULL, 0);
	}
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? FF_OK : FF_ERR_DB;
	if (rc != FF_OK)
		ff_seterr(errbuf, errlen, "audit row of the view: %s", PQerrorMessage(db));
	PQclear(res);
	cJSON_free(detail);
	return rc;
}

int ff_review_event_png(ff_review *r, PGconn *db, const char *event_id, const char *actor,
			unsigned char **png, size_t *png_len, char *errbuf, size_t errlen)
{
	PGresult *ev = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc;
	if (!r || !db || !event_id || !actor || !*actor || !png || !png_len) {
		ff_seterr(errbuf, errlen, "ff_review_event_png: NULL argument");
		return FF_ERR_INVAL;
	}
	if (!ff_uuid_valid(event_id)) { /* never PostgreSQL's uuid parse error */
		ff_seterr(errbuf, errlen, "no event '%.40s' (not an event id)", event_id);
		return FF_ERR_NOTFOUND;
	}
	{
		const char *p[1] = { event_id };
		/* binary results: codes arrive as their bytes */
		ev = PQexecParams(db, "SELECT model_id, codes, device_id, site_id FROM recognition_events "
				      "WHERE event_id = $1::uuid",
				  1, NULL, p, NULL, NULL, 1);
	}
	if (PQresultStatus(ev) != PGRES_TUPLES_OK) {
		ff_seterr(errbuf, errlen, "event %s: %s", event_id, PQerrorMessage(db));
		rc = FF_ERR_DB;
		goto out;
	}
	if (PQntuples(ev) != 1 || PQgetisnull(ev, 0, 1)) {
		ff_seterr(errbuf, errlen, PQntuples(ev) ? "event %s: its codes were not kept"
							: "no event %s", event_id);
		rc = FF_ERR_NOTFOUND;
		goto out;
	}
	rc = ff_review_codes_png(r, PQgetvalue(ev, 0, 0), (const uint8_t *)PQgetvalue(ev, 0, 1),
				 (size_t)PQgetlength(ev, 0, 1), &out, &out_len, errbuf, errlen);
	if (rc == FF_ERR_INVAL) /* a model id the database holds but no model file can have */
		rc = FF_ERR_UNSUPPORTED;
	if (rc == FF_OK)
		rc = audit_view(db, event_id, actor, ev, errbuf, errlen);
	if (rc == FF_OK) { /* shown only once its view is on record */
		*png = out;
		*png_len = out_len;
		out = NULL;
	}
out:
	free(out);
	PQclear(ev);
	return rc;
}
