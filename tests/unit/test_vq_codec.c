/* unit_vq_codec: the VQ-VAE encoder/decoder (facefleet/vq.h) on the tiny test
 * model of tests/data/vq (make_tiny_vq.py): codes and reconstructions against
 * the PyTorch reference, index validation, argument checks, and strict
 * metadata validation on corrupted copies of the model files. */
#include "ff_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/vq.h"
#include "test_vq_common.h"
#include "vq_internal.h"

#define TINY_ENC "vq/tiny-test.enc.ffn"
#define TINY_DEC "vq/tiny-test.dec.ffn"

static ff_vq_encoder *enc;
static ff_vq_decoder *dec;
static float rgb[112 * 112 * 3];

static int suite_init(void)
{
	char p[4096], why[256] = "";

	if (ff_vq_encoder_create(ff_test_data_path(p, sizeof(p), TINY_ENC), NULL, &enc, why,
				 sizeof(why)) != FF_OK ||
	    ff_vq_decoder_create(ff_test_data_path(p, sizeof(p), TINY_DEC), NULL, &dec, why,
				 sizeof(why)) != FF_OK) {
		fprintf(stderr, "unit_vq_codec: %s\n", why);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	ff_vq_encoder_free(enc);
	ff_vq_decoder_free(dec);
	enc = NULL;
	dec = NULL;
	return 0;
}

static void test_info(void)
{
	const ff_vq_info *e = ff_vq_encoder_info(enc), *d = ff_vq_decoder_info(dec);

	CU_ASSERT_STRING_EQUAL(e->model_id, "tiny-test");
	CU_ASSERT_EQUAL(e->grid_h, 7);
	CU_ASSERT_EQUAL(e->grid_w, 7);
	CU_ASSERT_EQUAL(e->codes_per_cell, 2);
	CU_ASSERT_EQUAL(e->code_dim, 4);
	CU_ASSERT_EQUAL(e->codebook_size, 1000);
	CU_ASSERT_EQUAL(e->bits_per_index, 10);
	CU_ASSERT_EQUAL(e->num_codes, 98);
	CU_ASSERT_EQUAL(memcmp(e, d, sizeof(*e)), 0);
	CU_ASSERT_PTR_NULL(ff_vq_encoder_info(NULL));
	CU_ASSERT_PTR_NULL(ff_vq_decoder_info(NULL));
}

static void test_golden(void)
{
	char gdir[4096], fdir[4096];
	struct vq_golden_result r;

	ff_test_data_path(gdir, sizeof(gdir), "vq");
	ff_test_data_path(fdir, sizeof(fdir), "faces/aligned112");
	FF_ASSERT_OK(vq_golden_check(enc, dec, NULL, gdir, fdir, &r));
	fprintf(stderr, "unit_vq_codec: %zu faces, %zu/%zu codes differ from PyTorch, "
			"reconstruction max abs err %.3g over %zu values\n",
		r.faces, r.mismatches, r.codes, r.recon_max_err, r.recon_values);
	CU_ASSERT_EQUAL(r.faces, 3);
	CU_ASSERT(r.mismatches * 200 <= r.codes); /* <= 0.5% */
	CU_ASSERT(r.recon_max_err < 0.05);
}

static void test_deterministic_and_image(void)
{
	uint16_t a[FF_VQ_MAX_CODES], b[FF_VQ_MAX_CODES];
	ff_image img = FF_IMAGE_EMPTY, back = FF_IMAGE_EMPTY;
	char p[4096];

	FF_ASSERT_OK(ff_image_load(ff_test_data_path(p, sizeof(p),
						     "faces/aligned112/Al_Pacino/Al_Pacino_0002.jpg"),
				   NULL, &img, NULL, 0));
	FF_ASSERT_OK(ff_vq_encode(enc, &img, a, 98));
	FF_ASSERT_OK(ff_vq_encode(enc, &img, b, sizeof(b) / sizeof(b[0]))); /* n may be larger */
	CU_ASSERT_EQUAL(memcmp(a, b, 98 * sizeof(a[0])), 0);
	FF_ASSERT_OK(ff_vq_decode(dec, a, 98, rgb, sizeof(rgb) / sizeof(rgb[0])));
	FF_ASSERT_OK(ff_vq_rgbf_to_image(rgb, &back));
	CU_ASSERT(back.width == 112 && back.height == 112);
	if (back.data) {
		/* rounded and clamped */
		size_t bad = 0;
		for (int y = 0; y < 112; y++)
			for (int x = 0; x < 336; x++) {
				float v = rgb[y * 336 + x];
				int want = v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f);
				int got = back.data[(size_t)y * back.stride + (size_t)x];
				bad += abs(got - want) > (v - (int)v == 0.5f);
			}
		CU_ASSERT_EQUAL(bad, 0);
	}
	ff_image_free(&back);
	ff_image_free(&img);
}

static void test_index_range(void)
{
	uint16_t idx[98];

	memset(idx, 0, sizeof(idx));
	FF_ASSERT_OK(ff_vq_decode(dec, idx, 98, rgb, sizeof(rgb) / sizeof(rgb[0])));
	idx[97] = 999;
	FF_ASSERT_OK(ff_vq_decode(dec, idx, 98, rgb, sizeof(rgb) / sizeof(rgb[0])));
	idx[50] = 1000;
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 98, rgb, sizeof(rgb) / sizeof(rgb[0])), FF_ERR_RANGE);
	idx[50] = 0;
	idx[0] = 65535;
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 98, rgb, sizeof(rgb) / sizeof(rgb[0])), FF_ERR_RANGE);
}

static void test_bad_args(void)
{
	uint16_t idx[FF_VQ_MAX_CODES];
	ff_image img = FF_IMAGE_EMPTY, small = FF_IMAGE_EMPTY;
	const size_t nrgb = sizeof(rgb) / sizeof(rgb[0]);

	memset(idx, 0, sizeof(idx));
	FF_ASSERT_OK(ff_image_alloc(&img, 112, 112));
	FF_ASSERT_OK(ff_image_alloc(&small, 111, 112));
	memset(img.data, 128, img.stride * 112);
	memset(small.data, 128, small.stride * 112);
	CU_ASSERT_EQUAL(ff_vq_encode(enc, &small, idx, 98), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_encode(enc, &img, idx, 97), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_encode(enc, &img, NULL, 98), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_encode(enc, NULL, idx, 98), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_encode(NULL, &img, idx, 98), FF_ERR_INVAL);
	FF_ASSERT_OK(ff_vq_encode(enc, &img, idx, 98));
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 97, rgb, nrgb), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 99, rgb, nrgb), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 98, rgb, nrgb - 1), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_decode(dec, idx, 98, NULL, nrgb), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_decode(dec, NULL, 98, rgb, nrgb), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_decode(NULL, idx, 98, rgb, nrgb), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_rgbf_to_image(NULL, &img), FF_ERR_INVAL);
	{ /* the tiny model has no embed_adapter: adapting leaves the embedding as is */
		float e[4] = { 0.5f, -0.5f, 0.5f, 0.5f }, same[4];
		memcpy(same, e, sizeof(e));
		CU_ASSERT_EQUAL(ff_vq_adapter_dim(dec), 0);
		CU_ASSERT_EQUAL(ff_vq_adapter_dim(NULL), 0);
		FF_ASSERT_OK(ff_vq_adapt_embedding(dec, e, 4));
		CU_ASSERT_EQUAL(memcmp(e, same, sizeof(e)), 0);
		CU_ASSERT_EQUAL(ff_vq_adapt_embedding(dec, NULL, 4), FF_ERR_INVAL);
	}
	{
		ff_vq_encoder *e = (ff_vq_encoder *)1;
		ff_vq_decoder *d = (ff_vq_decoder *)1;
		CU_ASSERT_EQUAL(ff_vq_encoder_create(NULL, NULL, &e, NULL, 0), FF_ERR_INVAL);
		CU_ASSERT_PTR_NULL(e);
		CU_ASSERT_EQUAL(ff_vq_decoder_create(NULL, NULL, &d, NULL, 0), FF_ERR_INVAL);
		CU_ASSERT_PTR_NULL(d);
		CU_ASSERT_EQUAL(ff_vq_encoder_create("x", NULL, NULL, NULL, 0), FF_ERR_INVAL);
	}
	ff_image_free(&img);
	ff_image_free(&small);
}

/* Writes a copy of tests/data/<file> with the first `from` replaced by `to`
 * (same length: the metadata stays in place) and tries to open it as an
 * encoder (decoder = 0) or decoder. Returns the create() result. */
static int open_variant(const char *file, int decoder, const char *from, const char *to,
			size_t n)
{
	char p[4096], tmp[] = "/tmp/ff_vq_variant_XXXXXX", why[256] = "";
	unsigned char *buf = NULL, *hit = NULL;
	size_t len = 0;
	ff_vq_encoder *e = NULL;
	ff_vq_decoder *d = NULL;
	int fd, rc;

	if (n == 0)
		n = strlen(from);
	CU_ASSERT_EQUAL_FATAL(strlen(to), strlen(from));
	FF_ASSERT_OK(vq_read_file(ff_test_data_path(p, sizeof(p), file), &buf, &len));
	for (size_t i = 0; buf && i + n <= len && !hit; i++)
		if (memcmp(buf + i, from, n) == 0)
			hit = buf + i;
	CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
	memcpy(hit, to, n);
	fd = mkstemp(tmp);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, buf, len), (ssize_t)len);
	close(fd);
	if (decoder)
		rc = ff_vq_decoder_create(tmp, NULL, &d, why, sizeof(why));
	else
		rc = ff_vq_encoder_create(tmp, NULL, &e, why, sizeof(why));
	fprintf(stderr, "  %s '%s' -> '%s': %s (%s)\n", decoder ? "dec" : "enc", from, to,
		ff_strerror(rc), why);
	if (rc != FF_OK) {
		CU_ASSERT(e == NULL && d == NULL);
		CU_ASSERT(why[0] != '\0');
	}
	ff_vq_encoder_free(e);
	ff_vq_decoder_free(d);
	unlink(tmp);
	free(buf);
	return rc;
}

static void test_bad_metadata(void)
{
	static const struct {
		int decoder;
		const char *from, *to;
		size_t n; /* bytes to match (0 = strlen(from)) */
	} cases[] = {
		{ 0, "grid_h=7", "grid_h=6", 0 },                 /* graph output is 7x7 */
		{ 0, "grid_h=7", "grid_h=8", 0 },                 /* payload 140 B > 128 */
		{ 1, "grid_w=7", "grid_w=6", 0 },                 /* graph input is 7x7 */
		{ 0, "grid_h=7", "grid_h=x", 0 },                 /* not a number */
		{ 0, "grid_w=7", "grid_w= ", 0 },
		{ 1, "grid_h=7", "grid_h=0", 0 },
		{ 0, "codebook_size=1000", "codebook_size=1001", 0 }, /* codebook tensor [1000,4] */
		{ 1, "codebook_size=1000", "codebook_size=1024", 0 }, /* same bits, tensor [1000,4] */
		{ 0, "bits_per_index=10", "bits_per_index=11", 0 },   /* not ceil(log2(1000)) */
		{ 1, "bits_per_index=10", "bits_per_index=-1", 0 },
		{ 0, "codes_per_cell=2", "codes_per_cell=3", 0 },     /* payload 184 B > 128 */
		{ 1, "code_dim=4", "code_dim=8", 0 },                 /* codebook tensor [1000,4] */
		{ 0, "code_dim=", "code_xim=", 0 },                   /* missing key */
		{ 1, "model_id=tiny-test", "model_id=Tiny-test", 0 }, /* not [a-z0-9-] */
		{ 0, "model_id=", "modelxid=", 0 },
		{ 0, "name=vq-encoder", "name=vq-decoder", 0 },       /* the other half */
		{ 1, "name=vq-decoder", "name=vq-encoder", 0 },
		{ 0, "input_scale=0.0078125", "input_scale=0.0000000", 0 },
		{ 0, "input_mean=127.5", "input_mean=127.x", 0 },
		{ 0, "input_mean=", "input_xean=", 0 },
		{ 0, "input_layout=nhwc", "input_layout=nwhc", 0 },
		{ 1, "output_scale=0.0078125", "output_scale=1e9999999", 0 },
		{ 1, "output_mean=", "output_xean=", 0 },
		{ 0, "codebook", "codebooX", 9 }, /* tensor name + NUL: no codebook constant */
		{ 1, "codebook", "codebooX", 9 },
	};

	/* the unmodified file opens (the harness itself works) */
	CU_ASSERT_EQUAL(open_variant(TINY_ENC, 0, "grid_h=7", "grid_h=7", 0), FF_OK);
	CU_ASSERT_EQUAL(open_variant(TINY_DEC, 1, "grid_h=7", "grid_h=7", 0), FF_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(open_variant(cases[i].decoder ? TINY_DEC : TINY_ENC,
					     cases[i].decoder, cases[i].from, cases[i].to, cases[i].n),
				FF_ERR_FORMAT);
}

static void test_missing_file(void)
{
	ff_vq_encoder *e = NULL;
	ff_vq_decoder *d = NULL;
	char p[4096];

	CU_ASSERT_NOT_EQUAL(ff_vq_encoder_create("/nonexistent/x.enc.ffn", NULL, &e, NULL, 0),
			    FF_OK);
	CU_ASSERT_PTR_NULL(e);
	/* a decoder file is not an encoder and vice versa */
	CU_ASSERT_EQUAL(ff_vq_encoder_create(ff_test_data_path(p, sizeof(p), TINY_DEC), NULL, &e,
					     NULL, 0),
			FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_vq_decoder_create(ff_test_data_path(p, sizeof(p), TINY_ENC), NULL, &d,
					     NULL, 0),
			FF_ERR_FORMAT);
	CU_ASSERT(e == NULL && d == NULL);
}

/* ff_vq_lattice_near against the whole codebook's FF_VQ_NEAR nearest
 * (ff_vq_near_insert over every codeword): when it answers, the same
 * codewords in the same order. Returns 1 when it answered. */
static int near_matches_search(const struct ff_vq_lattice *l, const float *cb, int k, const float *v)
{
	struct ff_vq_near box, all = { .n = 0 };
	if (!ff_vq_lattice_near(l, cb, v, &box))
		return 0;
	for (int i = 0; i < k; i++)
		ff_vq_near_insert(&all, (uint16_t)i, ff_vq_dist2(v, cb + 3 * i, 3));
	CU_ASSERT_EQUAL(box.n, all.n);
	CU_ASSERT_EQUAL(memcmp(box.k, all.k, all.n * sizeof(all.k[0])), 0);
	return 1;
}

/* vq_lattice.c: an FSQ-ordered codebook is found to be a lattice,
 * per-dimension rounding picks the same codeword as the full search, and so
 * does the box around it for rate control's candidates (vectors inside and
 * outside the lattice's range); a codebook out of that order, or not
 * regular, is not taken for one. */
static void test_lattice(void)
{
	enum { L0 = 7, L1 = 7, L2 = 3, K = L0 * L1 * L2 };
	static float cb[K * 3];
	struct ff_vq_lattice l;
	uint32_t r = 12345;
	int boxed = 0;
	for (int i = 0; i < K; i++) { /* fsq levels 4,4,2 at fine 2: steps of 0.5 */
		cb[i * 3 + 0] = -2.0f + 0.5f * (float)(i % L0);
		cb[i * 3 + 1] = -2.0f + 0.5f * (float)((i / L0) % L1);
		cb[i * 3 + 2] = -1.0f + 0.5f * (float)(i / (L0 * L1));
	}
	ff_vq_lattice_find(cb, K, 3, &l);
	CU_ASSERT_FATAL(l.ok);
	for (int t = 0; t < 2000; t++) {
		float v[3];
		double best = 1e30;
		int arg = 0;
		for (int d = 0; d < 3; d++) {
			r = r * 1103515245u + 12345u;
			v[d] = -2.6f + 4.2f * (float)((r >> 8) & 0xffff) / 65536.0f;
		}
		for (int k = 0; k < K; k++) {
			double s = 0.0;
			for (int d = 0; d < 3; d++)
				s += (double)(v[d] - cb[k * 3 + d]) * (v[d] - cb[k * 3 + d]);
			if (s < best) {
				best = s;
				arg = k;
			}
		}
		CU_ASSERT_EQUAL(ff_vq_lattice_nearest(&l, v), arg);
		(void)near_matches_search(&l, cb, K, v); /* far outside: it may decline */
	}
	for (int t = 0; t < 1000; t++) { /* an encoder's latents stay within the lattice's range */
		float v[3];
		for (int d = 0; d < 3; d++) {
			r = r * 1103515245u + 12345u;
			v[d] = cb[(K - 1) * 3 + d] - (d == 2 ? 1.0f : 3.0f) * (float)((r >> 8) & 0xffff) / 65536.0f;
		}
		boxed += near_matches_search(&l, cb, K, v);
	}
	CU_ASSERT_EQUAL(boxed, 1000); /* there it always answers: rate control's fast path */
	cb[5 * 3 + 1] += 0.25f; /* one codeword off the lattice */
	ff_vq_lattice_find(cb, K, 3, &l);
	CU_ASSERT(!l.ok);
	cb[5 * 3 + 1] -= 0.25f;
	float swap = cb[0]; /* two codewords out of order */
	cb[0] = cb[3];
	cb[3] = swap;
	ff_vq_lattice_find(cb, K, 3, &l);
	CU_ASSERT(!l.ok);
}

static CU_TestInfo vq_tests[] = {
	{ "lattice codebooks", test_lattice },
	{ "info", test_info },
	{ "golden codes and reconstruction", test_golden },
	{ "deterministic encode, rgbf to image", test_deterministic_and_image },
	{ "index out of range", test_index_range },
	{ "bad arguments", test_bad_args },
	{ "bad metadata", test_bad_metadata },
	{ "missing or wrong file", test_missing_file },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vq_codec", suite_init, suite_clean, NULL, NULL, vq_tests });
