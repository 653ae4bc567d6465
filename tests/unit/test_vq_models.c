/* models_vq_golden: the committed VQ-VAE (models/vq/<model_id>.{enc,dec}.ffn)
 * in C against expectations computed from the same files by the PyTorch
 * reference interpreter (models/vq/golden/<model_id>/, written by
 * models/vq/make_golden.py) on the sample faces of tests/data/faces:
 * >= 99.5% identical code positions, reconstruction within 0.5 (0..255);
 * with a reconstruction-side embedder (<model_id>.emb.ffp over the fetched
 * MobileFaceNet in FF_MODELS_DIR), its embeddings within cosine 0.999.
 * Skipped (77) while no model is committed. */
#include "ff_test.h"

#include <glob.h>
#include <time.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "facefleet/vq.h"
#include "test_vq_common.h"

static char dir[4096], prefix[4096 + 256];

/* Finds the committed model (ff_vq_default_model: models/vq/DEFAULT's id,
 * else a models/vq/<id>.enc.ffn) and skips the run (exit 77) when there is
 * none. Runs before main(): ff_test_skip from inside a running suite trips a
 * CUnit assertion (CU_cleanup_registry while a test is running). */
__attribute__((constructor)) static void find_model(void)
{
	const char *src = ff_test_env_get("FF_SOURCE_DIR");

	snprintf(dir, sizeof(dir), "%s/models/vq", src ? src : ".");
	if (ff_vq_default_model(dir, prefix, sizeof(prefix), NULL) != FF_OK)
		ff_test_skip("no models/vq/*.enc.ffn committed yet");
}

/* The model's reconstruction-side embedder, or NULL when it has none. */
static ff_embedder *recon_embedder(const char *dec_path)
{
	char base[4400], why[256] = "";
	const char *models = ff_test_env_get("FF_MODELS_DIR");
	ff_embedder *e = NULL;
	int rc;
	CU_ASSERT_PTR_NOT_NULL_FATAL(models);
	snprintf(base, sizeof(base), "%s/ffn/mobilefacenet.ffn", models);
	rc = ff_vq_recon_embedder_open(dec_path, base, 192, NULL, &e, why, sizeof(why));
	if (rc == FF_ERR_NOTFOUND)
		return NULL;
	FF_ASSERT_OK(rc);
	if (!e)
		fprintf(stderr, "models_vq_golden: %s: %s\n", dec_path, why);
	return e;
}

static void test_committed_model(void)
{
	char path[4400], gdir[4300], fdir[4096], why[256] = "";
	ff_vq_encoder *enc = NULL;
	ff_vq_decoder *dec = NULL;
	ff_embedder *emb = NULL;
	const ff_vq_info *vi;
	struct vq_golden_result r;

	snprintf(path, sizeof(path), "%s.enc.ffn", prefix);
	FF_ASSERT_OK(ff_vq_encoder_create(path, NULL, &enc, why, sizeof(why)));
	snprintf(path, sizeof(path), "%s.dec.ffn", prefix);
	if (enc)
		FF_ASSERT_OK(ff_vq_decoder_create(path, NULL, &dec, why, sizeof(why)));
	if (!enc || !dec) {
		fprintf(stderr, "models_vq_golden: %s: %s\n", path, why);
		goto out;
	}
	vi = ff_vq_encoder_info(enc);
	fprintf(stderr, "models_vq_golden: model_id %s, %u codes of %u bits\n", vi->model_id,
		vi->num_codes, vi->bits_per_index);
	CU_ASSERT_EQUAL(memcmp(vi, ff_vq_decoder_info(dec), sizeof(ff_vq_info)), 0);
	/* goldens are per model id: a new export needs its own (make_golden.py) */
	snprintf(gdir, sizeof(gdir), "%s/golden/%s", dir, vi->model_id);
	ff_test_data_path(fdir, sizeof(fdir), "faces/aligned112");
	emb = recon_embedder(path);
	FF_ASSERT_OK(vq_golden_check(enc, dec, emb, gdir, fdir, &r));
	if (emb) {
		fprintf(stderr, "models_vq_golden: reconstruction-side embedder: %zu faces, lowest "
				"cosine to PyTorch %.6f\n", r.emb_faces, r.emb_min_cos);
		CU_ASSERT_EQUAL(r.emb_faces, r.faces);
		CU_ASSERT(r.emb_min_cos > 0.999);
	}
	fprintf(stderr, "models_vq_golden: %zu faces, %zu/%zu codes differ from PyTorch, "
			"reconstruction max abs err %.3g over %zu values\n",
		r.faces, r.mismatches, r.codes, r.recon_max_err, r.recon_values);
	CU_ASSERT(r.faces > 0);
	CU_ASSERT(r.mismatches * 200 <= r.codes); /* >= 99.5% identical */
	CU_ASSERT(r.recon_max_err < 0.5);
out:
	ff_vq_encoder_free(enc);
	ff_vq_decoder_free(dec);
	ff_embedder_free(emb);
}

/* Rate control (ff_vq_encode_coded) on the sample faces, for every committed
 * model with tables (models/vq/ID.codes.ent): within a budget 5 bytes under
 * each face's own coded size (or 128 for a model packed past it, whose
 * nearest codes may already need it) it fits, and the stream decodes to
 * exactly the indices it reports; so does a budget 4 B over the tables'
 * cheapest stream; a budget no stream can meet is FF_ERR_RANGE, never an
 * overrun. Prints the time of the constrained path. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The tables' cheapest stream: each index, in wire order, its context's
 * cheapest codeword (ties: the lower index). Returns its length in bytes. */
static size_t cheapest_stream(const ff_entropy_table *t, const ff_vq_info *vi)
{
	uint16_t idx[FF_VQ_MAX_CODES] = { 0 }, *syms = calloc(vi->codebook_size, sizeof(*syms));
	double *bits = calloc(vi->codebook_size, sizeof(*bits));
	uint8_t out[FF_ENTROPY_MAX_STREAM];
	size_t len = 0;
	CU_ASSERT_FATAL(syms && bits);
	for (uint32_t k = 0; k < vi->codebook_size; k++)
		syms[k] = (uint16_t)k;
	for (uint32_t i = 0; i < vi->num_codes; i++) {
		ff_entropy_costs(t, idx, i, syms, vi->codebook_size, bits);
		for (uint32_t k = 1; k < vi->codebook_size; k++)
			if (bits[k] < bits[idx[i]])
				idx[i] = (uint16_t)k;
	}
	FF_ASSERT_OK(ff_entropy_encode(t, idx, vi->num_codes, out, sizeof(out), &len));
	free(syms);
	free(bits);
	return len;
}

static void rate_control_of(const char *enc_path, const glob_t *faces)
{
	char why[256] = "";
	ff_vq_encoder *enc = NULL;
	ff_entropy_table *t = NULL;
	uint16_t idx[FF_VQ_MAX_CODES], back[FF_VQ_MAX_CODES];
	uint8_t out[FF_VQ_MAX_PACKED];
	double us = 0.0;
	size_t len, free_len, moved, n = 0, floor_bytes;

	FF_ASSERT_OK(ff_vq_encoder_create(enc_path, NULL, &enc, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
	FF_ASSERT_OK(ff_entropy_table_open(enc_path, ff_vq_encoder_info(enc), &t, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* a few bytes over it, for ties broken another way */
	floor_bytes = cheapest_stream(t, ff_vq_encoder_info(enc)) + 4;
	for (size_t f = 0; f < faces->gl_pathc; f++) {
		ff_image img = FF_IMAGE_EMPTY;
		uint32_t num = ff_vq_encoder_info(enc)->num_codes;
		size_t budget;
		if (ff_image_load(faces->gl_pathv[f], NULL, &img, NULL, 0) != FF_OK)
			continue;
		FF_ASSERT_OK(ff_vq_encode_coded(enc, &img, t, FF_VQ_MAX_PAYLOAD, idx, num, out,
						&free_len, NULL));
		budget = free_len - 5;
		double t0 = now_s();
		FF_ASSERT_OK(ff_vq_encode_coded(enc, &img, t, budget, idx, num, out, &len, &moved));
		us += (now_s() - t0) * 1e6;
		CU_ASSERT(len <= budget && moved > 0);
		FF_ASSERT_OK(ff_entropy_decode(t, out, len, back, num));
		CU_ASSERT_EQUAL(memcmp(back, idx, num * sizeof(*idx)), 0);
		/* any budget the tables' cheapest stream meets, every face meets
		 * (the few nearest codewords alone did not reach it) */
		FF_ASSERT_OK(ff_vq_encode_coded(enc, &img, t, floor_bytes, idx, num, out, &len, NULL));
		CU_ASSERT(len <= floor_bytes);
		FF_ASSERT_OK(ff_entropy_decode(t, out, len, back, num));
		CU_ASSERT_EQUAL(memcmp(back, idx, num * sizeof(*idx)), 0);
		CU_ASSERT_EQUAL(ff_vq_encode_coded(enc, &img, t, 6, idx, num, out, &len, NULL),
				FF_ERR_RANGE);
		ff_image_free(&img);
		n++;
	}
	fprintf(stderr, "models_vq_golden: %s: rate control on %zu faces, 5 B under their own "
			"size: %.0f us per face (encode included); all fit %zu B\n",
		ff_vq_encoder_info(enc)->model_id, n, n ? us / n : 0.0, floor_bytes);
	CU_ASSERT(n >= 10);
	ff_entropy_table_free(t);
	ff_vq_encoder_free(enc);
}

static void test_rate_control(void)
{
	char pattern[4400], tables[4400];
	glob_t faces, ents;
	ff_test_data_path(pattern, sizeof(pattern), "faces/aligned112/*/*.jpg");
	CU_ASSERT_EQUAL_FATAL(glob(pattern, 0, NULL, &faces), 0);
	snprintf(tables, sizeof(tables), "%s/*%s", dir, FF_ENTROPY_SUFFIX);
	if (glob(tables, 0, NULL, &ents) != 0)
		ents.gl_pathc = 0;
	for (size_t k = 0; k < ents.gl_pathc; k++) {
		char enc[4400];
		size_t stem = strlen(ents.gl_pathv[k]) - strlen(FF_ENTROPY_SUFFIX);
		snprintf(enc, sizeof(enc), "%.*s.enc.ffn", (int)stem, ents.gl_pathv[k]);
		rate_control_of(enc, &faces);
	}
	CU_ASSERT(ents.gl_pathc >= 1);
	if (ents.gl_pathc)
		globfree(&ents);
	globfree(&faces);
}

/* The decoder's embed_adapter (fit_adapter.py): emb -> normalise(emb * A),
 * checked against A read straight from the file, for basis vectors (which
 * pick one row of A: the orientation) and a dense vector. */
static void test_embed_adapter(void)
{
	char path[4400], why[256] = "";
	ff_vq_decoder *dec = NULL;
	ff_model *m = NULL;
	const float *a;
	ff_shape s;
	float e[FF_VQ_MAX_EMBED_DIM], want[FF_VQ_MAX_EMBED_DIM];
	size_t dim;

	snprintf(path, sizeof(path), "%s.dec.ffn", prefix);
	FF_ASSERT_OK(ff_vq_decoder_create(path, NULL, &dec, why, sizeof(why)));
	FF_ASSERT_OK(ff_model_load(path, NULL, &m, why, sizeof(why)));
	CU_ASSERT_FATAL(dec && m);
	dim = ff_vq_adapter_dim(dec);
	if (dim == 0) { /* none: the decoder has its own embedder instead (PREFIX.emb.ffp) */
		char emb[4400];
		CU_ASSERT_EQUAL(ff_vq_recon_embedder_path(path, emb, sizeof(emb)), FF_OK);
		ff_model_free(m);
		ff_vq_decoder_free(dec);
		return;
	}
	FF_ASSERT_OK(ff_model_constant(m, "embed_adapter", &a, &s));
	CU_ASSERT_EQUAL_FATAL(s.dims[0], dim);
	const size_t basis[3] = { 0, 7, dim - 1 }; /* e_0, e_7, e_last, then a dense vector */
	for (size_t t = 0; t < 4; t++) {
		double n = 0.0, err = 0.0;
		for (size_t i = 0; i < dim; i++)
			e[i] = t < 3 ? (float)(i == basis[t]) : (float)((i * 37) % 11) - 5.0f;
		for (size_t j = 0; j < dim; j++) {
			double v = 0.0;
			for (size_t i = 0; i < dim; i++)
				v += (double)e[i] * a[i * dim + j];
			want[j] = (float)v;
			n += v * v;
		}
		FF_ASSERT_OK(ff_vq_adapt_embedding(dec, e, dim));
		for (size_t j = 0; j < dim; j++)
			err = fmax(err, fabs(e[j] - want[j] / sqrt(n)));
		CU_ASSERT(err < 1e-5);
	}
	CU_ASSERT_EQUAL(ff_vq_adapt_embedding(dec, e, dim - 1), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_adapt_embedding(dec, NULL, dim), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_vq_adapt_embedding(NULL, e, dim), FF_ERR_INVAL);
	ff_model_free(m);
	ff_vq_decoder_free(dec);
}

static CU_TestInfo vq_model_tests[] = {
	{ "committed model vs PyTorch reference", test_committed_model },
	{ "embedding adapter", test_embed_adapter },
	{ "rate control", test_rate_control },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "vq_models", NULL, NULL, NULL, NULL, vq_model_tests });
