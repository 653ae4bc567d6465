/* runtime_ops: every .ffn op type run on XNNPACK through lib/nn, compared with
 * the numpy reference outputs of tests/data/nn/make_test_models.py
 * (max abs error <= 1e-4), plus net-level behaviour: threads, any-size
 * inputs, shape errors, metadata and constants, and the exact graph rewrites
 * (lib/nn/net_rewrite.c): made where they apply, not elsewhere, same outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "ff_test.h"
#include "nn_testvec.h"

#define TOL 1e-4

static const char *const op_models[] = {
	"op_conv_explicit", "op_conv_same_groups", "op_conv_1x1", "op_dwconv_same_mult",
	"op_dwconv_explicit", "op_fc_flatten", "op_fc_2d", "op_maxpool_same",
	"op_maxpool_explicit", "op_avgpool_padded", "op_avgpool_same", "op_add_const",
	"op_sub_two_inputs", "op_mul_broadcast", "op_prelu_4d", "op_prelu_2d", "op_clamp",
	"op_softmax", "op_softmax_2d", "op_reshape", "op_sigmoid", "op_depth_to_space",
	"op_global_avgpool", "op_resize_up", "op_resize_up_align", "op_resize_down",
	"mini_pnet", "mini_rnet",
};

static ff_model *load_model(const char *name)
{
	char path[512], err[256];
	ff_model *m = NULL;
	int rc = ff_model_load(nn_data_path(path, sizeof path, name, ".ffn"), NULL, &m, err,
			       sizeof err);
	if (rc)
		fprintf(stderr, "load %s: %d %s\n", name, rc, err);
	CU_ASSERT_EQUAL(rc, FF_OK);
	return m;
}

static int same_shape(const ff_shape *a, const ff_shape *b)
{
	if (a->rank != b->rank)
		return 0;
	for (uint32_t d = 0; d < a->rank; d++)
		if (a->dims[d] != b->dims[d])
			return 0;
	return 1;
}

/* Runs model name on its test vector with opt; returns the max abs error over
 * all outputs (INFINITY on any failure); *rewrites (when not NULL): the net's
 * ff_net_rewrites. */
static double run_vec_rw(const char *name, const ff_nn_options *opt, unsigned *rewrites)
{
	char path[512], err[256];
	nn_vec v;
	ff_model *m = NULL;
	ff_net *n = NULL;
	double worst = INFINITY;
	if (nn_vec_load(nn_data_path(path, sizeof path, name, ".vec"), &v)) {
		fprintf(stderr, "%s: cannot read test vector %s\n", name, path);
		return worst;
	}
	if (!(m = load_model(name)))
		goto out;
	if (ff_model_num_inputs(m) != v.n_in || ff_model_num_outputs(m) != v.n_out) {
		fprintf(stderr, "%s: io count mismatch\n", name);
		goto out;
	}
	int rc = ff_net_create_ex(m, v.shape, opt, &n, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s: ff_net_create: %d %s\n", name, rc, err);
		goto out;
	}
	for (unsigned k = 0; k < v.n_in; k++) {
		ff_shape s;
		float *in = ff_net_input(n, k, &s);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		CU_ASSERT(same_shape(&s, &v.shape[k]));
		memcpy(in, v.data[k], ff_shape_numel(&s) * sizeof(float));
	}
	if ((rc = ff_net_run(n))) {
		fprintf(stderr, "%s: ff_net_run: %d\n", name, rc);
		goto out;
	}
	if (rewrites)
		*rewrites = ff_net_rewrites(n);
	worst = 0;
	for (unsigned k = 0; k < v.n_out; k++) {
		ff_shape s;
		const float *o = ff_net_output(n, k, &s);
		const ff_shape *want = &v.shape[v.n_in + k];
		if (!o || !same_shape(&s, want)) {
			fprintf(stderr, "%s: output %u shape rank %u [%u,%u,%u,%u], want rank %u [%u,%u,%u,%u]\n",
				name, k, s.rank, s.dims[0], s.dims[1], s.dims[2], s.dims[3], want->rank,
				want->dims[0], want->dims[1], want->dims[2], want->dims[3]);
			worst = INFINITY;
			continue;
		}
		double e = nn_max_abs_diff(o, v.data[v.n_in + k], ff_shape_numel(&s));
		if (!(e <= worst))
			worst = e;
	}
out:
	ff_net_free(n);
	ff_model_free(m);
	nn_vec_free(&v);
	return worst;
}

static double run_vec(const char *name, const ff_nn_options *opt)
{
	return run_vec_rw(name, opt, NULL);
}

static void test_each_op(void)
{
	for (size_t i = 0; i < sizeof op_models / sizeof op_models[0]; i++) {
		unsigned rw = 99;
		double e = run_vec_rw(op_models[i], NULL, &rw);
		CU_ASSERT_EQUAL(rw, 0); /* nothing in these to rewrite */
		printf("\n  %-22s max abs err %.3g %s", op_models[i], e, e <= TOL ? "ok" : "FAIL");
		CU_ASSERT(e <= TOL);
	}
	printf("\n");
}

/* Each rw_ graph gets exactly its rewrites and computes what the graph as
 * written does (numpy); built as written it gets none and the same. */
static void test_rewrites(void)
{
	static const struct {
		const char *name;
		unsigned rewrites;
	} rw[] = { { "rw_resize_pointwise", 1 }, { "rw_pointwise_chain", 1 }, { "rw_zero_branch", 1 } };
	ff_nn_options as_written = FF_NN_OPTIONS_INIT;
	as_written.as_written = 1;
	for (size_t i = 0; i < sizeof rw / sizeof rw[0]; i++) {
		unsigned got = 99, got_file = 99;
		double e = run_vec_rw(rw[i].name, NULL, &got);
		double e_file = run_vec_rw(rw[i].name, &as_written, &got_file);
		printf("\n  %-22s %u rewrite(s), max abs err %.3g (as written: %.3g)", rw[i].name, got,
		       e, e_file);
		CU_ASSERT_EQUAL(got, rw[i].rewrites);
		CU_ASSERT_EQUAL(got_file, 0);
		CU_ASSERT(e <= TOL);
		CU_ASSERT(e_file <= TOL);
	}
	printf("\n");
}

static void test_threads(void)
{
	ff_nn_options opt = FF_NN_OPTIONS_INIT;
	opt.threads = 2;
	CU_ASSERT(run_vec("mini_pnet", &opt) <= TOL);
	CU_ASSERT(run_vec("op_conv_same_groups", &opt) <= TOL);
	CU_ASSERT(run_vec("mini_rnet", &opt) <= TOL);
}

/* mini_pnet declares its input [1,0,0,3]: any height and width. */
static void test_any_size_input(void)
{
	ff_model *m = load_model("mini_pnet");
	ff_net *n = NULL;
	ff_shape s, in = {4, {1, 20, 17, 3}};
	char err[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(ff_model_input_shape(m, 0, &s), FF_OK);
	CU_ASSERT_EQUAL(s.rank, 4);
	CU_ASSERT_EQUAL(s.dims[1], 0);
	CU_ASSERT_EQUAL(ff_model_input_shape(m, 1, &s), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_model_output_shape(m, 2, &s), FF_ERR_RANGE);
	/* declared shape not fully known */
	CU_ASSERT_EQUAL(ff_net_create_ex(m, NULL, NULL, &n, err, sizeof err), FF_ERR_RANGE);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT(strlen(err) > 0);
	/* conv3 (20x17 -> 18x15), pool SAME /2 (9x8), conv3 (7x6), 1x1 heads */
	FF_ASSERT_OK(ff_net_create(m, &in, NULL, &n));
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_PTR_NOT_NULL(ff_net_output(n, 0, &s));
	CU_ASSERT(s.rank == 4 && s.dims[0] == 1 && s.dims[1] == 7 && s.dims[2] == 6 && s.dims[3] == 2);
	CU_ASSERT_PTR_NOT_NULL(ff_net_output(n, 1, &s));
	CU_ASSERT(s.rank == 4 && s.dims[1] == 7 && s.dims[2] == 6 && s.dims[3] == 4);
	CU_ASSERT_PTR_NULL(ff_net_output(n, 2, &s));
	CU_ASSERT_PTR_NULL(ff_net_input(n, 1, &s));
	float *x = ff_net_input(n, 0, NULL);
	for (size_t i = 0; i < ff_shape_numel(&in); i++)
		x[i] = (float)((i * 37) % 255) / 128.0f - 1.0f;
	FF_ASSERT_OK(ff_net_run(n));
	const float *p = ff_net_output(n, 0, NULL);
	for (size_t i = 0; i < 7 * 6; i++) /* softmax rows sum to 1 */
		CU_ASSERT(fabsf(p[2 * i] + p[2 * i + 1] - 1.0f) < 1e-5f);
	ff_net_free(n);
	ff_model_free(m);
}

static void test_bad_input_shapes(void)
{
	ff_model *m = load_model("mini_pnet");
	ff_net *n = NULL;
	char err[256];
	ff_shape wrong_c = {4, {1, 20, 17, 4}}, wrong_rank = {3, {20, 17, 3, 0}},
		 too_small = {4, {1, 4, 4, 3}}, zero = {4, {1, 0, 17, 3}};
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(ff_net_create_ex(m, &wrong_c, NULL, &n, err, sizeof err), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_net_create_ex(m, &wrong_rank, NULL, &n, err, sizeof err), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_net_create_ex(m, &too_small, NULL, &n, err, sizeof err), FF_ERR_RANGE);
	CU_ASSERT_EQUAL(ff_net_create_ex(m, &zero, NULL, &n, err, sizeof err), FF_ERR_RANGE);
	CU_ASSERT_PTR_NULL(n);
	ff_nn_options opt = FF_NN_OPTIONS_INIT;
	opt.threads = -1;
	CU_ASSERT_EQUAL(ff_net_create(m, NULL, &opt, &n), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_net_create(NULL, NULL, NULL, &n), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_net_run(NULL), FF_ERR_BACKEND);
	ff_model_free(m);
}

static void test_meta_and_constants(void)
{
	ff_model *m = load_model("mini_pnet");
	const float *data = NULL;
	ff_shape s;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(ff_model_meta(m, "name"), "mini_pnet");
	CU_ASSERT_STRING_EQUAL(ff_model_meta(m, "input_layout"), "nwhc");
	CU_ASSERT_STRING_EQUAL(ff_model_meta(m, "input_scale"), "0.0078125");
	CU_ASSERT_PTR_NULL(ff_model_meta(m, "nope"));
	CU_ASSERT_PTR_NULL(ff_model_meta(m, "nam"));
	CU_ASSERT_EQUAL(ff_model_num_inputs(m), 1);
	CU_ASSERT_EQUAL(ff_model_num_outputs(m), 2);
	FF_ASSERT_OK(ff_model_constant(m, "c1", &data, &s));
	CU_ASSERT_PTR_NOT_NULL(data);
	CU_ASSERT(s.rank == 4 && s.dims[0] == 6 && s.dims[1] == 3 && s.dims[2] == 3 && s.dims[3] == 3);
	CU_ASSERT_EQUAL(ff_model_constant(m, "in0", &data, &s), FF_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(ff_model_constant(m, "missing", &data, &s), FF_ERR_NOTFOUND);
	ff_model_free(m);
}

/* A net keeps no state between runs and can be run many times. */
static void test_repeat_runs(void)
{
	for (int i = 0; i < 3; i++)
		CU_ASSERT(run_vec("mini_rnet", NULL) <= TOL);
	ff_model *m = load_model("op_conv_1x1");
	ff_shape in = {4, {1, 5, 6, 8}};
	ff_net *n = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	FF_ASSERT_OK(ff_net_create(m, &in, NULL, &n));
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	float *x = ff_net_input(n, 0, NULL);
	for (size_t i = 0; i < ff_shape_numel(&in); i++)
		x[i] = (float)i / 100.0f;
	FF_ASSERT_OK(ff_net_run(n));
	float first[5 * 6 * 16];
	memcpy(first, ff_net_output(n, 0, NULL), sizeof first);
	for (int r = 0; r < 5; r++) {
		FF_ASSERT_OK(ff_net_run(n));
		CU_ASSERT(memcmp(first, ff_net_output(n, 0, NULL), sizeof first) == 0);
	}
	ff_net_free(n);
	ff_model_free(m);
}

static CU_TestInfo ops_tests[] = {
	{"each_op_vs_numpy", test_each_op},
	{"graph_rewrites_exact", test_rewrites},
	{"threads", test_threads},
	{"any_size_input", test_any_size_input},
	{"bad_input_shapes", test_bad_input_shapes},
	{"meta_and_constants", test_meta_and_constants},
	{"repeat_runs", test_repeat_runs},
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({"nn_ops", NULL, NULL, NULL, NULL, ops_tests});
