/* Activation ranges (.q8, models/FORMAT.md "Activation ranges"): the calibrated
 * low/high of a model's activation tensors, from which net_xnnpack.c picks the
 * int8 scale and zero point of each. Bound to the base file like a weight
 * patch (model_patch.c). */
#include "facefleet/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "nn_internal.h"

#define FFQ_HEADER 20u
#define FFQ_RECORD 12u
#define FFQ_MAX_BYTES (1u << 20)

static int check_header(const ff_model *m, const uint8_t *b, size_t len, char *errbuf,
			size_t errlen)
{
	if (len < FFQ_HEADER || memcmp(b, "FFQ1", 4) != 0)
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "not an activation ranges file (magic)");
	if ((uint32_t)crc32_z(0L, b + FFQ_HEADER, len - FFQ_HEADER) != ffn_rd32(b + 16))
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "CRC-32 mismatch (corrupt ranges)");
	if (!ffn_bound_to(m, b))
		FFN_SIDECAR_FAIL(FF_ERR_UNSUPPORTED,
				 "made for another base model (data CRC %08x, this base %08x)",
				 ffn_rd32(b + 4), ffn_rd32(m->buf + 56));
	if ((len - FFQ_HEADER) / FFQ_RECORD != ffn_rd32(b + 12) || (len - FFQ_HEADER) % FFQ_RECORD)
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "%u records in %zu bytes", ffn_rd32(b + 12), len - FFQ_HEADER);
	return FF_OK;
}

/* Fills r (n_tensors entries, zeroed) from the records, checking each. */
static int read_records(const ff_model *m, const uint8_t *b, uint32_t n, struct ffn_range *r,
			char *errbuf, size_t errlen)
{
	for (uint32_t k = 0; k < n; k++) {
		const uint8_t *p = b + FFQ_HEADER + (size_t)k * FFQ_RECORD;
		uint32_t t = ffn_rd32(p);
		float lo = ffn_rdf32(p + 4), hi = ffn_rdf32(p + 8);
		if (t >= m->n_tensors || m->tensors[t].data)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: tensor %u is not an activation of the base", k,
					 t);
		if (!isfinite(lo) || !isfinite(hi) || lo > 0.0f || hi < 0.0f || hi - lo <= 0.0f)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: range [%g, %g] of tensor %u must hold 0", k,
					 (double)lo, (double)hi, t);
		if (r[t].have)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: tensor %u given twice", k, t);
		r[t] = (struct ffn_range){lo, hi, 1};
	}
	return FF_OK;
}

int ff_model_set_ranges_memory(ff_model *m, const void *buf, size_t len, char *errbuf,
			       size_t errlen)
{
	struct ffn_range *r;
	int rc;
	if (!m || !buf)
		return FF_ERR_INVAL;
	if ((rc = check_header(m, buf, len, errbuf, errlen)) != FF_OK)
		return rc;
	if (!(r = calloc(m->n_tensors, sizeof *r)))
		FFN_SIDECAR_FAIL(FF_ERR_NOMEM, "out of memory");
	if ((rc = read_records(m, buf, ffn_rd32((const uint8_t *)buf + 12), r, errbuf, errlen))) {
		free(r);
		return rc;
	}
	free(m->range);
	m->range = r;
	return FF_OK;
}

int ff_model_set_ranges(ff_model *m, const char *path, char *errbuf, size_t errlen)
{
	return ffn_apply_file(m, path, FFQ_MAX_BYTES, ff_model_set_ranges_memory, errbuf, errlen);
}

int ff_model_load_ranges_for(ff_model *m, const char *path, char *errbuf, size_t errlen)
{
	char q8[4096];
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
	int rc;
	if (stem + sizeof(".q8") > sizeof(q8))
		FFN_SIDECAR_FAIL(FF_ERR_RANGE, "path too long");
	memcpy(q8, path, stem);
	memcpy(q8 + stem, ".q8", sizeof(".q8"));
	rc = ff_model_set_ranges(m, q8, errbuf, errlen);
	if (rc == FF_ERR_NOTFOUND && errbuf && errlen)
		errbuf[0] = '\0';
	return rc == FF_ERR_NOTFOUND ? FF_OK : rc;
}
