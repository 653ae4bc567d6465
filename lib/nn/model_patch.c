/* Weight patches (.ffp, models/FORMAT.md "Weight patches"): constants of a
 * base .ffn replaced in memory before a net is built, so a network fine-tuned
 * from a fetched pretrained model ships as the few weights that changed, bound
 * to the exact base file by its data CRC-32. */
#include "facefleet/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "facefleet/error.h"
#include "facefleet/file.h"
#include "nn_internal.h"

#define FFP_HEADER 20u
#define FFP_MAX_BYTES (64u << 20)


/* Checks every record against m before anything is written: a bad patch
 * leaves the model as it was. */
static int check_records(const ff_model *m, const uint8_t *b, size_t len, uint32_t n,
			 char *errbuf, size_t errlen)
{
	size_t off = FFP_HEADER;
	for (uint32_t r = 0; r < n; r++) {
		uint32_t idx, count;
		const struct ffn_tensor *t;
		if (len - off < 8)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: truncated", r);
		idx = ffn_rd32(b + off);
		count = ffn_rd32(b + off + 4);
		off += 8;
		if (idx >= m->n_tensors || !(t = &m->tensors[idx])->data)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: tensor %u is not a constant of the base",
					 r, idx);
		if ((uint64_t)count * 4 != t->data_size || (len - off) / 4 < count)
			FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: %u values for tensor %u of %u bytes", r,
					 count, idx, t->data_size);
		for (uint32_t i = 0; i < count; i++) {
			float v;
			memcpy(&v, b + off + 4 * (size_t)i, 4);
			if (!isfinite(v))
				FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "record %u: value %u not finite", r, i);
		}
		off += 4 * (size_t)count;
	}
	if (off != len)
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "%zu bytes after the last record", len - off);
	return FF_OK;
}

static void apply_records(ff_model *m, const uint8_t *b, uint32_t n)
{
	size_t off = FFP_HEADER;
	for (uint32_t r = 0; r < n; r++) {
		uint32_t idx = ffn_rd32(b + off), count = ffn_rd32(b + off + 4);
		/* the tensor's data lies in the model's own (writable) buffer */
		memcpy((void *)m->tensors[idx].data, b + off + 8, 4 * (size_t)count);
		off += 8 + 4 * (size_t)count;
	}
}

int ff_model_patch_memory(ff_model *m, const void *buf, size_t len, char *errbuf, size_t errlen)
{
	const uint8_t *b = buf, *base = m ? m->buf : NULL;
	uint32_t n;
	int rc;
	if (!m || !buf)
		return FF_ERR_INVAL;
	if (len < FFP_HEADER || memcmp(b, "FFP1", 4) != 0)
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "not a weight patch (magic)");
	if ((uint32_t)crc32_z(0L, b + FFP_HEADER, len - FFP_HEADER) != ffn_rd32(b + 16))
		FFN_SIDECAR_FAIL(FF_ERR_FORMAT, "CRC-32 mismatch (corrupt patch)");
	/* bound to the base file: its header's data size and CRC-32 */
	if (!ffn_bound_to(m, b))
		FFN_SIDECAR_FAIL(FF_ERR_UNSUPPORTED, "made for another base model (data CRC %08x, "
				 "this base %08x)", ffn_rd32(b + 4), ffn_rd32(base + 56));
	n = ffn_rd32(b + 12);
	if ((rc = check_records(m, b, len, n, errbuf, errlen)) != FF_OK)
		return rc;
	apply_records(m, b, n);
	return FF_OK;
}

int ffn_apply_file(ff_model *m, const char *path, size_t max,
		   int (*apply)(ff_model *, const void *, size_t, char *, size_t), char *errbuf,
		   size_t errlen)
{
	char *buf = NULL, why[256] = "";
	size_t len = 0;
	int rc = ff_file_read(path, max, &buf, &len, errbuf, errlen);
	if (rc != FF_OK)
		return rc;
	if ((rc = apply(m, buf, len, why, sizeof(why))) != FF_OK)
		ff_seterr(errbuf, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}

int ff_model_patch(ff_model *m, const char *path, char *errbuf, size_t errlen)
{
	return ffn_apply_file(m, path, FFP_MAX_BYTES, ff_model_patch_memory, errbuf, errlen);
}
