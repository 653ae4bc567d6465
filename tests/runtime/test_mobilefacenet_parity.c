/* models_mobilefacenet_parity: lib/vision's embedder (libjpeg-turbo decode,
 * XNNPACK MobileFaceNet) equals the PyTorch reference interpreter of the same
 * file (models/ref/ffn_torch.py, OpenCV decode) to cosine >= 0.9999 on every
 * one of 50 aligned LFW DevTest faces (tests/data/faces/parity112). Goldens:
 * tests/data/nn/parity_mobilefacenet.bin from make_parity_golden.py. Needs
 * mobilefacenet.ffn in FF_MODELS_DIR (directly or under ffn/); skips (77)
 * when absent. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/embed.h"
#include "facefleet/error.h"
#include "ff_test.h"

#define PARITY_FACES 50
#define PARITY_MIN_COSINE 0.9999

static ff_embedder *emb;

static int suite_init(void)
{
	const char *dir = ff_test_env_get("FF_MODELS_DIR");
	char p[2100], err[512] = "";

	if (!dir)
		ff_test_skip("FF_MODELS_DIR not set");
	snprintf(p, sizeof(p), "%s/ffn/mobilefacenet.ffn", dir);
	if (access(p, R_OK) != 0)
		snprintf(p, sizeof(p), "%s/mobilefacenet.ffn", dir);
	if (access(p, R_OK) != 0)
		ff_test_skip("models not converted: %s missing (run models/convert)", p);
	if (ff_embedder_create(p, NULL, &emb, err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "cannot load %s: %s\n", p, err);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	ff_embedder_free(emb);
	return 0;
}

/* Reads the golden file: "FFPG", u32 version 1, u32 count, u32 dim, then per
 * face u16 name length, the name, dim float32 (all little-endian; the test
 * machines are little-endian, as the .ffn loader assumes). */
static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_parity(void)
{
	char path[1024], rel[512];
	size_t len = 0, off = 16, dim = ff_embedder_dim(emb), done = 0;
	uint8_t *g = read_all(ff_test_data_path(path, sizeof(path), "nn/parity_mobilefacenet.bin"),
			      &len);
	uint32_t hdr[3];
	double min = 2, sum = 0;
	float *ref = malloc(dim * sizeof(float)), *e = malloc(dim * sizeof(float));

	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_FATAL(g && len >= 16 && memcmp(g, "FFPG", 4) == 0);
	memcpy(hdr, g + 4, sizeof(hdr));
	CU_ASSERT_EQUAL_FATAL(hdr[0], 1);
	CU_ASSERT_EQUAL_FATAL(hdr[1], PARITY_FACES);
	CU_ASSERT_EQUAL_FATAL(hdr[2], dim);
	for (uint32_t i = 0; i < hdr[1]; i++) {
		ff_image im = FF_IMAGE_EMPTY;
		uint16_t nl;
		double c;

		CU_ASSERT_FATAL(off + 2 <= len);
		memcpy(&nl, g + off, 2);
		CU_ASSERT_FATAL(nl < 400 && off + 2 + nl + dim * sizeof(float) <= len);
		snprintf(rel, sizeof(rel), "faces/parity112/%.*s", (int)nl, (const char *)g + off + 2);
		memcpy(ref, g + off + 2 + nl, dim * sizeof(float));
		off += 2 + nl + dim * sizeof(float);
		FF_ASSERT_OK(ff_image_load(ff_test_data_path(path, sizeof(path), rel), NULL, &im,
					   NULL, 0));
		FF_ASSERT_OK(ff_embed_image(emb, &im, e, dim));
		ff_image_free(&im);
		c = ff_cosine(e, ref, dim);
		if (!(c >= PARITY_MIN_COSINE))
			fprintf(stderr, "\n  %s: cosine %.6f < %.4f", rel, c, PARITY_MIN_COSINE);
		CU_ASSERT(c >= PARITY_MIN_COSINE);
		min = c < min ? c : min;
		sum += c;
		done++;
	}
	CU_ASSERT_EQUAL(off, len);
	printf("\n  %zu faces, cosine(C, PyTorch reference): min %.8f mean %.8f (need >= %.4f)\n",
	       done, min, done ? sum / (double)done : 0.0, PARITY_MIN_COSINE);
	free(ref);
	free(e);
	free(g);
}

static CU_TestInfo parity_tests[] = {
	{"embeddings_vs_torch_reference", test_parity},
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({"mobilefacenet_parity", suite_init, suite_clean, NULL, NULL, parity_tests});
