/* Validation of one FaceCodes message before any compute (recognize.h). */
#include "recognize.h"

#include "facefleet.pb-c.h"
#include "facefleet/bitpack.h"
#include "facefleet/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* [a-z0-9-]{1,32} */
static bool valid_id(const char *s, size_t n)
{
	if (n < 1 || n > FF_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* fleet/<site>/<device>/faces -> site, device; false when not that shape. */
static bool parse_topic(const char *t, char site[FF_ID_MAX + 1], char dev[FF_ID_MAX + 1])
{
	const char *a, *b, *c;
	if (strncmp(t, "fleet/", 6) != 0)
		return false;
	a = t + 6;
	b = strchr(a, '/');
	if (!b)
		return false;
	c = strchr(b + 1, '/');
	if (!c || strcmp(c, "/faces") != 0)
		return false;
	if (!valid_id(a, (size_t)(b - a)) || !valid_id(b + 1, (size_t)(c - b - 1)))
		return false;
	memcpy(site, a, (size_t)(b - a));
	site[b - a] = '\0';
	memcpy(dev, b + 1, (size_t)(c - b - 1));
	dev[c - b - 1] = '\0';
	return true;
}

static void claim(ff_job *j, const char *s)
{
	ff_sanitize(j->claimed_device, sizeof(j->claimed_device), s, s ? strlen(s) : 0);
}

void ff_validate(ff_job *j, const ff_model_set *models, ff_devices *devices,
		 const ff_validate_options *opt)
{
	char tsite[FF_ID_MAX + 1] = "", tdev[FF_ID_MAX + 1] = "";
	Facefleet__V1__FaceCodes *fc = NULL;
	const ff_vq_info *info;
	const char *why;
	int m, rc;
	int64_t now = ff_now_us();
	bool topic_ok = parse_topic(j->topic, tsite, tdev);

	/* who the message claims to be, for the audit row even when all else fails */
	if (topic_ok)
		claim(j, tdev);
	if (j->len > opt->max_payload) {
		ff_job_reject(j, FF_DECISION_NONE, "payload_too_large");
		return;
	}
	if (!topic_ok) {
		ff_job_reject(j, FF_DECISION_NONE, "bad_topic");
		return;
	}
	fc = facefleet__v1__face_codes__unpack(NULL, j->len, j->payload);
	if (!fc) {
		ff_job_reject(j, FF_DECISION_NONE, "bad_protobuf");
		return;
	}
	claim(j, fc->device_id);
	if (!valid_id(fc->device_id, strlen(fc->device_id)) ||
	    !valid_id(fc->site_id, strlen(fc->site_id))) {
		ff_job_reject(j, FF_DECISION_NONE, "bad_id");
		goto out;
	}
	if (strcmp(fc->device_id, tdev) != 0 || strcmp(fc->site_id, tsite) != 0) {
		ff_job_reject(j, FF_DECISION_NONE, "topic_mismatch");
		goto out;
	}
	snprintf(j->device_id, sizeof(j->device_id), "%s", fc->device_id);
	snprintf(j->site_id, sizeof(j->site_id), "%s", fc->site_id);
	if (fc->seq == 0 || fc->seq > (uint64_t)INT64_MAX) {
		ff_job_reject(j, FF_DECISION_NONE, "bad_seq");
		goto out;
	}
	j->seq = fc->seq;
	why = ff_devices_check(devices, j->device_id, j->site_id, j->seq, opt->replay_window);
	if (why) {
		ff_job_reject(j, FF_DECISION_NONE, why);
		goto out;
	}
	/* a device clock that is unset or far off: keep the receive time */
	j->capture_us = fc->capture_time_us;
	if (j->capture_us <= 0 || j->capture_us > now + 366LL * 86400 * 1000000)
		j->capture_us = j->received_us;

	/* from here on the sender is a known, current device: an INVALID event */
	ff_sanitize(j->model_id, sizeof(j->model_id), fc->model_id, strlen(fc->model_id));
	if (fc->schema_version == 0) {
		ff_job_reject(j, FF_DECISION_INVALID, "bad_schema_version");
		goto out;
	}
	m = valid_id(fc->model_id, strlen(fc->model_id)) ? ff_model_set_find(models, fc->model_id)
							  : -1;
	if (m < 0) {
		ff_job_reject(j, FF_DECISION_INVALID, "unknown_model");
		goto out;
	}
	info = &models->info[m];
	if (fc->grid_h != info->grid_h || fc->grid_w != info->grid_w ||
	    fc->codebook_size != info->codebook_size || fc->bits_per_index != info->bits_per_index) {
		ff_job_reject(j, FF_DECISION_INVALID, "grid_mismatch");
		goto out;
	}
	if (info->num_codes > sizeof(j->idx) / sizeof(j->idx[0])) {
		ff_job_reject(j, FF_DECISION_INVALID, "unsupported_model");
		goto out;
	}
	rc = ff_bitpack_unpack(fc->codes.data, fc->codes.len, info->num_codes, info->bits_per_index,
			       info->codebook_size, j->idx);
	if (rc == FF_ERR_RANGE) {
		ff_job_reject(j, FF_DECISION_INVALID, "index_range");
		goto out;
	}
	if (rc != FF_OK) {
		ff_job_reject(j, FF_DECISION_INVALID, "bad_size");
		goto out;
	}
	j->nidx = info->num_codes;
	j->model_index = m;
out:
	facefleet__v1__face_codes__free_unpacked(fc, NULL);
}

size_t ff_face_codes_build(const ff_vq_info *vi, const char *site, const char *device,
			   uint64_t seq, int64_t capture_us, const uint16_t *idx, uint64_t seed,
			   uint8_t *buf, size_t cap)
{
	Facefleet__V1__FaceCodes fc = FACEFLEET__V1__FACE_CODES__INIT;
	uint16_t own[FF_VQ_MAX_CODES];
	uint8_t packed[256];
	size_t plen = ff_bitpack_size(vi->num_codes, vi->bits_per_index);
	if (vi->num_codes > FF_VQ_MAX_CODES || plen > sizeof(packed))
		return 0;
	if (!idx) {
		uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 12345;
		for (uint32_t i = 0; i < vi->num_codes; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			own[i] = (uint16_t)((x >> 33) % vi->codebook_size);
		}
		idx = own;
	}
	if (ff_bitpack_pack(idx, vi->num_codes, vi->bits_per_index, vi->codebook_size, packed,
			    plen) != FF_OK)
		return 0;
	fc.schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT;
	fc.device_id = (char *)device;
	fc.site_id = (char *)site;
	fc.seq = seq;
	fc.capture_time_us = capture_us;
	fc.model_id = (char *)vi->model_id;
	fc.grid_h = vi->grid_h;
	fc.grid_w = vi->grid_w;
	fc.codebook_size = vi->codebook_size;
	fc.bits_per_index = vi->bits_per_index;
	fc.codes.data = packed;
	fc.codes.len = plen;
	if (facefleet__v1__face_codes__get_packed_size(&fc) > cap)
		return 0;
	return facefleet__v1__face_codes__pack(&fc, buf);
}
