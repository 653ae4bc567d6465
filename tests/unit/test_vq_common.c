/* Golden-file checks of the VQ codec shared by unit_vq_codec and
 * models_vq_golden (format: models/vq/make_golden.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/bitpack.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "test_vq_common.h"

#define FACE 112

int vq_read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	int rc = FF_ERR_IO;

	*buf = NULL;
	*len = 0;
	if (!f)
		return FF_ERR_IO;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if (!(*buf = malloc(n ? (size_t)n : 1)))
		goto out;
	if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		free(*buf);
		*buf = NULL;
		goto out;
	}
	*len = (size_t)n;
	rc = FF_OK;
out:
	fclose(f);
	return rc;
}

/* Parses "<rel> i0 i1 ..." into rel and idx[0..n-1]. */
static int parse_line(char *line, char *rel, size_t rel_len, uint16_t *idx, size_t n)
{
	char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);

	if (!tok || strlen(tok) >= rel_len)
		return FF_ERR_FORMAT;
	strcpy(rel, tok);
	for (size_t i = 0; i < n; i++) {
		char *end;
		long v;
		if (!(tok = strtok_r(NULL, " \t\r\n", &save)))
			return FF_ERR_FORMAT;
		v = strtol(tok, &end, 10);
		if (*end || v < 0 || v > 65535)
			return FF_ERR_FORMAT;
		idx[i] = (uint16_t)v;
	}
	return strtok_r(NULL, " \t\r\n", &save) ? FF_ERR_FORMAT : FF_OK;
}

static void golden_stem(const char *rel, char *stem, size_t cap)
{
	const char *base = strrchr(rel, '/');
	snprintf(stem, cap, "%s", base ? base + 1 : rel);
	if (strrchr(stem, '.'))
		*strrchr(stem, '.') = '\0';
}

static int check_recon(const char *golden_dir, const char *rel, const float *rgb, int stride,
		       struct vq_golden_result *r)
{
	char path[4096], stem[512];
	unsigned char *buf;
	size_t len, side = (size_t)(FACE + stride - 1) / (size_t)stride, k = 0;
	int rc;

	golden_stem(rel, stem, sizeof(stem));
	snprintf(path, sizeof(path), "%s/%s.recon", golden_dir, stem);
	if ((rc = vq_read_file(path, &buf, &len)) != FF_OK) {
		fprintf(stderr, "vq golden: cannot read %s\n", path);
		return rc;
	}
	if (len != side * side * 3 * sizeof(float)) {
		fprintf(stderr, "vq golden: %s has %zu bytes, expected %zu\n", path, len,
			side * side * 3 * sizeof(float));
		free(buf);
		return FF_ERR_FORMAT;
	}
	for (int y = 0; y < FACE; y += stride)
		for (int x = 0; x < FACE; x += stride)
			for (int c = 0; c < 3; c++, k++) {
				float g;
				double e;
				memcpy(&g, buf + k * sizeof(float), sizeof(float));
				e = fabs((double)rgb[((size_t)y * FACE + (size_t)x) * 3 + (size_t)c] - g);
				if (!(e <= r->recon_max_err)) /* NaN sticks */
					r->recon_max_err = isnan(e) ? INFINITY : e;
			}
	r->recon_values += k;
	free(buf);
	return FF_OK;
}

/* The reconstruction-side embedder on the C reconstruction against the
 * reference's embedding of its own (golden_dir/<stem>.emb). */
static int check_embedding(ff_embedder *e, const char *golden_dir, const char *rel,
			   const float *rgb, struct vq_golden_result *r)
{
	char path[4096], stem[512];
	float v[1024];
	unsigned char *buf;
	size_t len, dim = ff_embedder_dim(e);
	double cos = 0.0;
	int rc;

	golden_stem(rel, stem, sizeof(stem));
	snprintf(path, sizeof(path), "%s/%s.emb", golden_dir, stem);
	if ((rc = vq_read_file(path, &buf, &len)) != FF_OK) {
		fprintf(stderr, "vq golden: cannot read %s\n", path);
		return rc;
	}
	if (dim > 1024 || len != dim * sizeof(float) || (rc = ff_embed_rgbf(e, rgb, v, dim)) != FF_OK) {
		fprintf(stderr, "vq golden: %s: %zu bytes for a %zu-d embedder\n", path, len, dim);
		free(buf);
		return rc != FF_OK ? rc : FF_ERR_FORMAT;
	}
	for (size_t i = 0; i < dim; i++) {
		float g;
		memcpy(&g, buf + i * sizeof(float), sizeof(float));
		cos += (double)g * v[i];
	}
	if (r->emb_faces++ == 0 || !(cos >= r->emb_min_cos))
		r->emb_min_cos = isnan(cos) ? -INFINITY : cos;
	free(buf);
	return FF_OK;
}

/* encode -> pack -> unpack must give the codes back within the payload limit */
static int check_bitpack(const ff_vq_info *vi, const uint16_t *idx)
{
	uint8_t wire[FF_VQ_MAX_PACKED];
	uint16_t back[FF_VQ_MAX_CODES];
	size_t bytes = ff_bitpack_size(vi->num_codes, vi->bits_per_index);

	if (bytes == 0 || bytes > sizeof(wire) ||
	    ff_bitpack_pack(idx, vi->num_codes, vi->bits_per_index, vi->codebook_size, wire,
			    bytes) != FF_OK ||
	    ff_bitpack_unpack(wire, bytes, vi->num_codes, vi->bits_per_index, vi->codebook_size,
			      back) != FF_OK ||
	    memcmp(back, idx, vi->num_codes * sizeof(*idx)) != 0) {
		fprintf(stderr, "vq golden: bitpack round trip failed (%zu bytes)\n", bytes);
		return FF_ERR_FORMAT;
	}
	return FF_OK;
}

int vq_golden_check(ff_vq_encoder *enc, ff_vq_decoder *dec, ff_embedder *recon_emb,
		    const char *golden_dir, const char *faces_dir, struct vq_golden_result *r)
{
	const ff_vq_info *vi = ff_vq_encoder_info(enc);
	static float rgb[FACE * FACE * 3];
	uint16_t want[FF_VQ_MAX_CODES], got[FF_VQ_MAX_CODES];
	char path[4096], line[16384], rel[512] = "golden.txt";
	ff_image img = FF_IMAGE_EMPTY;
	FILE *f;
	int stride = 0, rc = FF_OK;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/golden.txt", golden_dir);
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "vq golden: cannot open %s\n", path);
		return FF_ERR_IO;
	}
	if (!fgets(line, sizeof(line), f) || sscanf(line, "recon_stride %d", &stride) != 1 ||
	    stride < 1 || stride > FACE) {
		rc = FF_ERR_FORMAT;
		goto out;
	}
	while (rc == FF_OK && fgets(line, sizeof(line), f)) {
		size_t miss = 0;
		if ((rc = parse_line(line, rel, sizeof(rel), want, vi->num_codes)) != FF_OK)
			break;
		snprintf(path, sizeof(path), "%s/%s", faces_dir, rel);
		if ((rc = ff_image_load(path, NULL, &img, NULL, 0)) != FF_OK ||
		    (rc = ff_vq_encode(enc, &img, got, vi->num_codes)) != FF_OK ||
		    (rc = check_bitpack(vi, got)) != FF_OK ||
		    (rc = ff_vq_decode(dec, want, vi->num_codes, rgb, FACE * FACE * 3)) != FF_OK ||
		    (rc = check_recon(golden_dir, rel, rgb, stride, r)) != FF_OK ||
		    (recon_emb && (rc = check_embedding(recon_emb, golden_dir, rel, rgb, r)) != FF_OK))
			break;
		ff_image_free(&img);
		for (size_t i = 0; i < vi->num_codes; i++)
			miss += got[i] != want[i];
		fprintf(stderr, "vq golden: %s: %zu/%u codes differ\n", rel, miss, vi->num_codes);
		r->mismatches += miss;
		r->codes += vi->num_codes;
		r->faces++;
	}
out:
	if (rc != FF_OK)
		fprintf(stderr, "vq golden: %s failed: %s\n", rel, ff_strerror(rc));
	ff_image_free(&img);
	fclose(f);
	return rc;
}
