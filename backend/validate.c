/* Validation of one FaceCodes message before any compute (recognize.h). */
#include "validate.h"

#include "facefleet.pb-c.h"
#include "facefleet/ids.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/facecodes.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool be_faces_topic_parse(const char *t, char site[FF_ID_MAX + 1], char dev[FF_ID_MAX + 1])
{
	return be_fleet_topic_parse(t, "faces", site, dev);
}

bool be_fleet_topic_parse(const char *t, const char *leaf, char site[FF_ID_MAX + 1],
			  char dev[FF_ID_MAX + 1])
{
	const char *a, *b, *c;
	if (strncmp(t, "fleet/", 6) != 0)
		return false;
	a = t + 6;
	b = strchr(a, '/');
	if (!b)
		return false;
	c = strchr(b + 1, '/');
	if (!c || c[1] == '\0' || strcmp(c + 1, leaf) != 0)
		return false;
	if (!ff_id_valid_n(a, (size_t)(b - a)) || !ff_id_valid_n(b + 1, (size_t)(c - b - 1)))
		return false;
	memcpy(site, a, (size_t)(b - a));
	site[b - a] = '\0';
	memcpy(dev, b + 1, (size_t)(c - b - 1));
	dev[c - b - 1] = '\0';
	return true;
}

/* What tells a redelivery (same bytes) from a reused seq (other bytes). */
static void payload_digest(be_job *j)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(j->payload, j->len, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(j->digest + 2 * i, 3, "%02x", md[i]);
}

static void claim(be_job *j, const char *s)
{
	ff_sanitize(j->claimed_device, sizeof(j->claimed_device), s, s ? strlen(s) : 0);
}

void be_validate(be_job *j, const be_model_set *models, be_devices *devices,
		 const be_validate_options *opt)
{
	char tsite[FF_ID_MAX + 1] = "", tdev[FF_ID_MAX + 1] = "";
	Facefleet__V1__FaceCodes *fc = NULL;
	const ff_vq_info *info;
	const char *why;
	ff_facecodes_box box;
	bool has_box;
	int m, rc;
	int64_t now = ff_now_us();
	bool topic_ok = be_faces_topic_parse(j->topic, tsite, tdev);

	/* who the message claims to be, for the audit row even when all else fails */
	if (topic_ok)
		claim(j, tdev);
	if (j->len > opt->max_payload) {
		be_job_reject(j, BE_DECISION_NONE, "payload_too_large");
		return;
	}
	if (!topic_ok) {
		be_job_reject(j, BE_DECISION_NONE, "bad_topic");
		return;
	}
	fc = facefleet__v1__face_codes__unpack(NULL, j->len, j->payload);
	if (!fc) {
		be_job_reject(j, BE_DECISION_NONE, "bad_protobuf");
		return;
	}
	/* the topic is authoritative (the broker ACL binds the account to it);
	 * ids in the message are optional but must agree with it */
	if (fc->device_id && *fc->device_id)
		claim(j, fc->device_id);
	why = ff_facecodes_check_ids(fc, tsite, tdev);
	if (why) {
		be_job_reject(j, BE_DECISION_NONE, why);
		goto out;
	}
	snprintf(j->device_id, sizeof(j->device_id), "%s", tdev);
	snprintf(j->site_id, sizeof(j->site_id), "%s", tsite);
	if (fc->seq == 0 || fc->seq > (uint64_t)INT64_MAX) {
		be_job_reject(j, BE_DECISION_NONE, "bad_seq");
		goto out;
	}
	j->seq = fc->seq;
	be_event_id(j->device_id, j->seq, j->event_id);
	payload_digest(j);
	why = be_devices_check(devices, j->device_id, j->site_id, j->seq, opt->replay_window,
			       opt->max_seq_jump);
	if (why) {
		be_job_reject(j, BE_DECISION_NONE, why);
		goto out;
	}
	if (j->budget_dropped) { /* the minute's audited drop (budget taken at arrival) */
		be_job_reject(j, BE_DECISION_NONE, j->flood_disable ? "flooding" : "over_budget");
		goto out;
	}
	/* a device clock that is unset or off: keep the receive time (and say so
	 * in the audit row). Before 2020 predates every device; ahead of now
	 * by more than the skew allowance is not a capture yet */
	j->capture_us = ff_facecodes_capture_us(fc); /* schema 3: fleet epoch + seconds */
	if (j->capture_us < BE_CAPTURE_MIN_US || j->capture_us > now + BE_CAPTURE_SKEW_US) {
		j->capture_us = j->received_us;
		j->capture_clamped = true;
	}

	/* from here on the sender is a known, current device: an INVALID event */
	ff_sanitize(j->model_id, sizeof(j->model_id), fc->model_id, strlen(fc->model_id));
	if (ff_facecodes_schema(fc) == 0) { /* schema 3 leaves it out: capture_offset_s says 3 */
		be_job_reject(j, BE_DECISION_INVALID, "bad_schema_version");
		goto out;
	}
	m = ff_id_valid(fc->model_id) ? be_model_set_find(models, fc->model_id)
							  : -1;
	if (m < 0) {
		be_job_reject(j, BE_DECISION_INVALID, "unknown_model");
		goto out;
	}
	info = &models->info[m];
	/* grid, K, bits and codes per cell are the model's (schema 3 sends none:
	 * the model id implies them; present ones must agree) */
	why = ff_facecodes_check_layout(fc, info);
	if (why) {
		be_job_reject(j, BE_DECISION_INVALID, why);
		goto out;
	}
	if (info->num_codes > sizeof(j->idx) / sizeof(j->idx[0])) {
		be_job_reject(j, BE_DECISION_INVALID, "unsupported_model");
		goto out;
	}
	/* packed, or rANS-coded with the model's tables (codes_ans) */
	why = ff_facecodes_get_codes(fc, info, models->ent[m], j->idx, NULL);
	if (why) {
		be_job_reject(j, BE_DECISION_INVALID, why);
		goto out;
	}
	/* box_px (schema 2) or the legacy Box; none is fine */
	why = ff_facecodes_get_box(fc, &has_box, &box);
	if (why) {
		be_job_reject(j, BE_DECISION_INVALID, why);
		goto out;
	}
	/* its track (FaceCodes 19/20, optional): ids that fit the bigint and
	 * integer columns; an invalid face is never part of its track */
	if (fc->track_id > (uint64_t)INT64_MAX || fc->track_index > (uint32_t)INT32_MAX) {
		be_job_reject(j, BE_DECISION_INVALID, "bad_track");
		goto out;
	}
	j->track_id = fc->track_id;
	j->track_index = fc->track_id ? fc->track_index : 0;
	j->quality = fc->quality;
	j->nidx = info->num_codes;
	j->model_index = m;
	/* the event row keeps the packed form whichever came (review unpacks it) */
	rc = ff_bitpack_pack(j->idx, j->nidx, info->bits_per_index, info->codebook_size, j->codes,
			     sizeof(j->codes)); /* fits: the codec caps packed forms at 256 */
	j->ncodes = rc == FF_OK ? ff_bitpack_size(j->nidx, info->bits_per_index) : 0;
out:
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
}
