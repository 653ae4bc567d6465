/* models_nn_real: the converted pretrained models (models/cache/ffn, made by
 * models/convert) on lib/nn + XNNPACK: outputs on a fixed input pattern match
 * the PyTorch reference (tests/data/nn/golden_*.vec from make_golden.py),
 * MobileFaceNet embeddings of LFW sample faces rank the same person above a
 * different one, and the run time is reported. Skipped (77) when the models
 * have not been converted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h> /* after stdio.h: it needs FILE and size_t */

#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "ff_test.h"
#include "nn_testvec.h"

struct real_model {
	const char *name;
	ff_shape in;
	unsigned rewrites; /* the exact rewrites its float net gets */
};

static const struct real_model models[] = {
	/* MobileFaceNet's two 1x1 pairs without an activation between (lib/nn/net_rewrite.c) */
	{"mobilefacenet", {4, {1, 112, 112, 3}}, 2},
	{"pnet", {4, {1, 40, 30, 3}}, 0},
	{"rnet", {4, {1, 24, 24, 3}}, 0},
	{"onet", {4, {1, 48, 48, 3}}, 0},
};

static const char *model_path(char *buf, size_t len, const char *name)
{
	const char *dir = ff_test_env_get("FF_MODELS_DIR");
	snprintf(buf, len, "%s/ffn/%s.ffn", dir ? dir : "models/cache", name);
	return buf;
}

static int suite_init(void)
{
	char path[512];
	FILE *f = fopen(model_path(path, sizeof path, "mobilefacenet"), "rb");
	if (!f)
		ff_test_skip("%s absent: run models/convert first", path);
	fclose(f);
	return 0;
}

static ff_net *make_net(const char *name, const ff_shape *in, int threads, ff_model **mout)
{
	char path[512], err[256];
	ff_nn_options opt = FF_NN_OPTIONS_INIT;
	ff_net *n = NULL;
	opt.threads = threads;
	int rc = ff_model_load(model_path(path, sizeof path, name), &opt, mout, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		CU_FAIL("model load");
		return NULL;
	}
	rc = ff_net_create_ex(*mout, in, &opt, &n, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s: %s\n", name, err);
		CU_FAIL("net create");
	}
	return n;
}

static void fill_pattern(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(((double)((i * 7919u) % 256u) - 127.5) / 128.0);
}

static void test_golden(void)
{
	for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
		char path[512];
		nn_vec g;
		ff_model *m = NULL;
		char base[64];
		snprintf(base, sizeof base, "golden_%s", models[k].name);
		if (nn_vec_load(nn_data_path(path, sizeof path, base, ".vec"), &g))
			memset(&g, 0, sizeof g);
		ff_net *n = make_net(models[k].name, &models[k].in, 1, &m);
		if (!n || g.n_out != ff_model_num_outputs(m)) {
			CU_FAIL("golden vector missing or output count differs");
			goto next;
		}
		CU_ASSERT_EQUAL(ff_net_rewrites(n), models[k].rewrites);
		fill_pattern(ff_net_input(n, 0, NULL), ff_shape_numel(&models[k].in));
		FF_ASSERT_OK(ff_net_run(n));
		for (unsigned o = 0; o < g.n_out; o++) {
			ff_shape s;
			const float *y = ff_net_output(n, o, &s);
			size_t cnt = ff_shape_numel(&s);
			CU_ASSERT_EQUAL_FATAL(cnt, ff_shape_numel(&g.shape[o]));
			double scale = 0;
			for (size_t i = 0; i < cnt; i++)
				scale = fmax(scale, fabs(g.data[o][i]));
			double e = nn_max_abs_diff(y, g.data[o], cnt);
			printf("\n  %-14s output %u: %zu values, max |ref| %.3g, max abs err %.3g", models[k].name,
			       o, cnt, scale, e);
			CU_ASSERT(e <= 1e-4 * fmax(1.0, scale));
		}
	next:
		ff_net_free(n);
		ff_model_free(m);
		nn_vec_free(&g);
	}
	printf("\n");
}

/* Test-only JPEG decode (lib/vision has the real one) into 112x112 RGB. */
static int decode_jpeg(const char *path, unsigned char *rgb, unsigned w, unsigned h)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	cinfo.err = jpeg_std_error(&jerr);
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, f);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);
	int ok = cinfo.output_width == w && cinfo.output_height == h && cinfo.output_components == 3;
	while (ok && cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = rgb + (size_t)cinfo.output_scanline * w * 3;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	if (ok)
		jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	fclose(f);
	return ok ? 0 : -1;
}

static int embed(ff_model *m, ff_net *n, const char *face, float *emb, size_t dim)
{
	static unsigned char rgb[112 * 112 * 3];
	char rel[256], path[512];
	snprintf(rel, sizeof rel, "faces/aligned112/%s.jpg", face);
	if (decode_jpeg(ff_test_data_path(path, sizeof path, rel), rgb, 112, 112)) {
		fprintf(stderr, "cannot decode %s\n", path);
		return -1;
	}
	const char *mean_s = ff_model_meta(m, "input_mean"), *scale_s = ff_model_meta(m, "input_scale");
	float mean = mean_s ? strtof(mean_s, NULL) : 127.5f;
	float scale = scale_s ? strtof(scale_s, NULL) : 1.0f / 128;
	float *x = ff_net_input(n, 0, NULL);
	for (size_t i = 0; i < sizeof rgb; i++)
		x[i] = ((float)rgb[i] - mean) * scale;
	if (ff_net_run(n))
		return -1;
	const float *y = ff_net_output(n, 0, NULL);
	double norm = 0;
	for (size_t i = 0; i < dim; i++)
		norm += (double)y[i] * y[i];
	norm = sqrt(norm);
	for (size_t i = 0; i < dim; i++)
		emb[i] = (float)(y[i] / norm);
	return 0;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static void test_embeddings(void)
{
	ff_model *m = NULL;
	ff_shape os;
	ff_net *n = make_net("mobilefacenet", &models[0].in, 1, &m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	ff_net_output(n, 0, &os);
	size_t dim = ff_shape_numel(&os);
	CU_ASSERT_FATAL(dim >= 64 && dim <= 512);
	float *a = malloc(dim * 4), *b = malloc(dim * 4), *c = malloc(dim * 4);
	CU_ASSERT_EQUAL(embed(m, n, "Al_Pacino/Al_Pacino_0001", a, dim), 0);
	CU_ASSERT_EQUAL(embed(m, n, "Al_Pacino/Al_Pacino_0002", b, dim), 0);
	CU_ASSERT_EQUAL(embed(m, n, "Alan_Greenspan/Alan_Greenspan_0001", c, dim), 0);
	printf("\n  Al_Pacino_0001 embedding (%zu-d, L2-normalised):", dim);
	for (size_t i = 0; i < 8; i++)
		printf(" %.5f", a[i]);
	double same = dot(a, b, dim), diff = dot(a, c, dim);
	printf(" ...\n  cos(Al_Pacino 1, 2) = %.4f, cos(Al_Pacino 1, Alan_Greenspan 1) = %.4f\n", same,
	       diff);
	CU_ASSERT(same > diff);
	free(a);
	free(b);
	free(c);
	ff_net_free(n);
	ff_model_free(m);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void test_timing(void)
{
	enum { RUNS = 40 };
	for (int threads = 1; threads <= 2; threads++) {
		ff_model *m = NULL;
		ff_net *n = make_net("mobilefacenet", &models[0].in, threads, &m);
		double t[RUNS];
		CU_ASSERT_PTR_NOT_NULL_FATAL(n);
		fill_pattern(ff_net_input(n, 0, NULL), ff_shape_numel(&models[0].in));
		for (int i = 0; i < 5; i++)
			ff_net_run(n);
		for (int i = 0; i < RUNS; i++) {
			double t0 = now_ms();
			FF_ASSERT_OK(ff_net_run(n));
			t[i] = now_ms() - t0;
		}
		qsort(t, RUNS, sizeof t[0], cmp_double);
		printf("\n  mobilefacenet 1x112x112x3, %d thread(s): median %.2f ms, min %.2f ms", threads,
		       t[RUNS / 2], t[0]);
		ff_net_free(n);
		ff_model_free(m);
	}
	printf("\n");
}

static CU_TestInfo real_tests[] = {
	{"golden_vs_torch_reference", test_golden},
	{"mobilefacenet_embeddings", test_embeddings},
	{"timing", test_timing},
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({"nn_real", suite_init, NULL, NULL, NULL, real_tests});
