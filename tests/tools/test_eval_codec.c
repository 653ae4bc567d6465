/* unit_fleet_eval_codec: fleet-eval's baselines (codecs at a byte budget,
 * the side ladder), its people file, image listing, method names and the
 * FAR threshold, on the sample faces of tests/data (no models needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "eval_codec.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"
#include "ff_test.h"

static ff_image face = FF_IMAGE_EMPTY;

static int load_face(void)
{
	char path[4096];

	ff_test_data_path(path, sizeof(path), "faces/aligned112/Al_Pacino/Al_Pacino_0001.jpg");
	return ff_image_load(path, NULL, &face, NULL, 0) == FF_OK && face.width == 112 ? 0 : -1;
}

static int free_face(void)
{
	ff_image_free(&face);
	return 0;
}

static const struct ev_codec *codec(const char *name)
{
	return ev_codec_find(name, strlen(name));
}

static void test_find(void)
{
	CU_ASSERT_PTR_NOT_NULL(codec("jpeg"));
	CU_ASSERT_PTR_NOT_NULL(codec("webp"));
	CU_ASSERT_PTR_NOT_NULL(codec("avif"));
	CU_ASSERT_PTR_NOT_NULL(codec("av1"));
	CU_ASSERT_PTR_NULL(codec("jpe"));
	CU_ASSERT_PTR_NULL(codec("png"));
	CU_ASSERT_PTR_NULL(ev_codec_find("webp_128", 8));
}

/* The file fits and is the best quality that does: one step up does not. */
static void check_fit(const char *name, const ff_image *img, int budget)
{
	const struct ev_codec *c = codec(name);
	unsigned char *buf = NULL, *up = NULL;
	size_t len = 0, up_len = 0;
	int q = -1;

	FF_ASSERT_OK(ev_codec_fit(c, img, budget, &buf, &len, &q));
	CU_ASSERT(ev_codec_counted(c, buf, len) <= (size_t)budget);
	CU_ASSERT(q >= c->q_min && q <= c->q_max);
	if (q < c->q_max) {
		FF_ASSERT_OK(c->encode(img, q + 1, &up, &up_len));
		CU_ASSERT(ev_codec_counted(c, up, up_len) > (size_t)budget);
	}
	free(buf);
	free(up);
}

static void test_fit_best_quality(void)
{
	ff_image small = FF_IMAGE_EMPTY;

	check_fit("jpeg", &face, 1500);
	check_fit("webp", &face, 600);
	check_fit("avif", &face, 700);
	FF_ASSERT_OK(ff_image_resize(&face, 48, 48, &small));
	check_fit("webp", &small, 256);
	check_fit("av1", &small, 128);
	ff_image_free(&small);
}

static void test_fit_too_small(void)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int q = 0;

	/* a JFIF file's tables alone are over 128 B; libavif 0.11's container over 256 B */
	CU_ASSERT_EQUAL(ev_codec_fit(codec("jpeg"), &face, 128, &buf, &len, &q), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ev_codec_fit(codec("avif"), &face, 256, &buf, &len, &q), FF_ERR_RANGE);
	CU_ASSERT_PTR_NULL(buf);
}

/* av1_N counts the AVIF file's mdat payload: less than the file, same decode */
static void test_av1_counts_payload(void)
{
	const struct ev_codec *c = codec("av1");
	unsigned char *buf = NULL;
	size_t len = 0, payload;
	ff_image dec = FF_IMAGE_EMPTY;

	FF_ASSERT_OK(c->encode(&face, 20, &buf, &len));
	payload = ev_codec_counted(c, buf, len);
	CU_ASSERT(payload > 0 && payload + 200 < len);
	CU_ASSERT_EQUAL(ev_codec_counted(codec("avif"), buf, len), len);
	FF_ASSERT_OK(c->decode(buf, len, &dec));
	CU_ASSERT(dec.width == 112 && dec.height == 112);
	CU_ASSERT(ev_image_mse(&dec, &face) < 400);
	ff_image_free(&dec);
	free(buf);
}

/* Each rung alone, and the ladder keeps the one nearest the crop. */
static void test_ladder_picks_least_error(void)
{
	static const int sides[] = EV_LADDER_SIDES;
	const char *names[] = { "webp", "av1" };

	for (size_t k = 0; k < 2; k++) {
		struct ev_coded best, one;
		double least = 1e30;
		FF_ASSERT_OK(ev_codec_compress(codec(names[k]), &face, 256, 0, &best));
		for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
			int rc = ev_codec_compress(codec(names[k]), &face, 256, sides[i], &one);
			if (rc == FF_ERR_RANGE)
				continue;
			FF_ASSERT_OK(rc);
			CU_ASSERT_EQUAL(one.side, sides[i]);
			CU_ASSERT(one.face.width == 112 && one.face.height == 112);
			CU_ASSERT(one.bytes <= 256);
			if (one.mse < least)
				least = one.mse;
			ff_image_free(&one.face);
		}
		CU_ASSERT_DOUBLE_EQUAL(best.mse, least, 1e-9);
		CU_ASSERT(best.bytes <= 256 && best.face.width == 112);
		CU_ASSERT_DOUBLE_EQUAL(ev_image_mse(&best.face, &face), best.mse, 1e-9);
		ff_image_free(&best.face);
	}
}

static void test_mse(void)
{
	ff_image small = FF_IMAGE_EMPTY;

	CU_ASSERT_DOUBLE_EQUAL(ev_image_mse(&face, &face), 0.0, 0.0);
	FF_ASSERT_OK(ff_image_resize(&face, 56, 56, &small));
	CU_ASSERT_DOUBLE_EQUAL(ev_image_mse(&face, &small), -1.0, 0.0);
	ff_image_free(&small);
}

static void test_threshold_at_far(void)
{
	double s[2000];

	for (int i = 0; i < 2000; i++)
		s[i] = (double)i / 2000.0; /* ascending: sorted descending by the call */
	/* 2,000 impostors at 1e-3: 2 allowed above the threshold -> the 2nd highest */
	CU_ASSERT_DOUBLE_EQUAL(ev_threshold_at_far(s, 2000, 1e-3), 1998.0 / 2000.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(ev_threshold_at_far(s, 2000, 1e-2), 1980.0 / 2000.0, 1e-12);
	/* fewer than 1/far: none may pass -> the highest */
	CU_ASSERT_DOUBLE_EQUAL(ev_threshold_at_far(s, 10, 1e-2), s[0], 0.0);
	CU_ASSERT_DOUBLE_EQUAL(ev_threshold_at_far(s, 0, 1e-3), 1.0, 0.0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_read_people(void)
{
	char path[] = "/tmp/ff_people_XXXXXX", **v = NULL;
	size_t n = 0;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	write_file(path, "3\nCarol_C\t2\nAnn_A\t1\nBob_B 4\n");
	FF_ASSERT_OK(ev_read_people(path, &v, &n));
	CU_ASSERT_EQUAL(n, 3);
	if (n == 3) {
		CU_ASSERT_STRING_EQUAL(v[0], "Ann_A");
		CU_ASSERT_STRING_EQUAL(v[2], "Carol_C");
	}
	ev_free_names(v, n);
	/* a count that disagrees (truncated file, people.txt's folds) is refused */
	write_file(path, "4\nAnn_A 1\nBob_B 4\n");
	CU_ASSERT_EQUAL(ev_read_people(path, &v, &n), FF_ERR_FORMAT);
	unlink(path);
	CU_ASSERT_EQUAL(ev_read_people(path, &v, &n), FF_ERR_IO);
}

static void test_list_images(void)
{
	char dir[4096], **v = NULL;
	size_t n = 0;

	ff_test_data_path(dir, sizeof(dir), "faces/aligned112");
	FF_ASSERT_OK(ev_list_images(dir, &v, &n));
	CU_ASSERT_EQUAL(n, 14);
	if (n == 14) {
		CU_ASSERT_STRING_EQUAL(v[0], "AJ_Lamas/AJ_Lamas_0001.jpg");
		CU_ASSERT(ev_same_person(v[4], v[5])); /* Aitor_Gonzalez 1, 2 */
		CU_ASSERT(!ev_same_person(v[5], v[6])); /* then Al_Pacino */
	}
	ev_free_names(v, n);
}

static void quiet_usage(FILE *f)
{
	(void)f;
}

static void test_method_names(void)
{
	char *ok[] = { "x", "--images", "/tmp", "--methods", "webp_128@64,av1_256,jpeg_512", NULL };
	char *bad[] = { "x", "--images", "/tmp", "--methods", "webp_x", NULL };
	char *bad_side[] = { "x", "--images", "/tmp", "--methods", "avif_128@200", NULL };
	struct ev_config cfg;

	CU_ASSERT_EQUAL(ev_parse_args(&cfg, 5, ok, NULL, 0, quiet_usage), -1);
	CU_ASSERT_EQUAL(cfg.n_methods, 3);
	CU_ASSERT(cfg.methods[0].kind == EV_CODEC && cfg.methods[0].codec == codec("webp"));
	CU_ASSERT(cfg.methods[0].budget == 128 && cfg.methods[0].side == 64);
	CU_ASSERT(cfg.methods[1].codec == codec("av1") && cfg.methods[1].side == 0);
	CU_ASSERT(cfg.methods[2].codec == codec("jpeg") && cfg.methods[2].budget == 512);
	CU_ASSERT_EQUAL(ev_parse_args(&cfg, 5, bad, NULL, 0, quiet_usage), FF_EXIT_USAGE);
	CU_ASSERT_EQUAL(ev_parse_args(&cfg, 5, bad_side, NULL, 0, quiet_usage), FF_EXIT_USAGE);
}

static CU_TestInfo codec_tests[] = {
	{ "find", test_find },
	{ "fit_best_quality", test_fit_best_quality },
	{ "fit_too_small", test_fit_too_small },
	{ "av1_counts_payload", test_av1_counts_payload },
	{ "ladder_picks_least_error", test_ladder_picks_least_error },
	{ "mse", test_mse },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo eval_tests[] = {
	{ "threshold_at_far", test_threshold_at_far },
	{ "read_people", test_read_people },
	{ "list_images", test_list_images },
	{ "method_names", test_method_names },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "eval_codec", load_face, free_face, NULL, NULL, codec_tests },
	       { "eval_misc", NULL, NULL, NULL, NULL, eval_tests });
