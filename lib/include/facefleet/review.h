/* facefleet/review.h: human review of a recorded event (lib/review/).
 *
 * The backend keeps each recorded event's packed code indices
 * (recognition_events.codes, migration 009). For an authorised operator the
 * decoder's reconstruction of those codes is rendered as a PNG, upscaled for
 * viewing and visibly marked as a reconstruction (a "RECONSTRUCTION" banner
 * and a tEXt chunk "Description: facefleet VQ reconstruction, not a photo").
 * Every view is an audit row (action "event.view_face"), written in the same
 * call. Shared by fleet-backend (GET /api/v1/events/{id}/face.png) and
 * fleetctl (events show ID --image out.png).
 *
 * Decoders are opened on first use from models_dir (models/vq layout:
 * <model_id>.dec.ffn) and kept for the object's life. */
#ifndef FACEFLEET_REVIEW_H
#define FACEFLEET_REVIEW_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FF_REVIEW_SIZE 224 /* the PNG's width and height (the 112x112 face, upscaled) */

typedef struct ff_review ff_review;

/* models_dir: directory holding the VQ model files (models/vq layout: <id>.dec.ffn ...).
 * Returns FF_OK, FF_ERR_INVAL (NULL arguments), FF_ERR_NOTFOUND (models_dir is
 * not a directory), FF_ERR_NOMEM. */
int ff_review_open(ff_review **out, const char *models_dir, char *errbuf, size_t errlen);
void ff_review_close(ff_review *r);

/* PNG (malloc'd, caller frees) of the reconstruction decoded from event_id's stored codes, marked as a
 * reconstruction; writes the audit row (action "event.view_face", actor). Returns FF_OK,
 * FF_ERR_NOTFOUND (no such event, or its codes were not kept), FF_ERR_UNSUPPORTED (model not
 * available), FF_ERR_DB, FF_ERR_NOMEM. Thread-safe per ff_review (internal mutex). */
int ff_review_event_png(ff_review *r, PGconn *db, const char *event_id, const char *actor,
                        unsigned char **png, size_t *png_len, char *errbuf, size_t errlen);

/* The same rendering without the database: the PNG of the packed codes
 * (FaceCodes.codes layout) of model_id. No audit row (callers that show it to
 * a person write one). Returns FF_OK, FF_ERR_INVAL (NULL arguments, bad
 * model id), FF_ERR_UNSUPPORTED (model not available), FF_ERR_FORMAT (codes
 * are not the model's packed size, or padding bits set), FF_ERR_RANGE (an
 * index beyond the codebook), FF_ERR_BACKEND, FF_ERR_NOMEM. Thread-safe. */
int ff_review_codes_png(ff_review *r, const char *model_id, const uint8_t *codes, size_t len,
			unsigned char **png, size_t *png_len, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
