/* unit_fuzz_regressions: every crash the fuzz targets found, as a plain
 * unit test (also run under ASan + UBSan by deploy/test). The inputs
 * themselves stay in tests/fuzz/regress/<target>/ and are replayed by
 * unit_fuzz_<target>_corpus. */
#include "ff_test.h"

#include "facefleet/error.h"
#include "facefleet/nn.h"
#include "registry.h"

#include <stdio.h>
#include <string.h>

/* fuzz_facecodes, first run: the device registry before its first reload
 * (no table yet) passed NULL to bsearch (UBSan: nonnull argument). */
static void test_devices_empty_registry(void)
{
	be_devices *d = NULL;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(be_devices_create(&d), FF_OK);
	why = be_devices_check(d, "dev-1", "site-1", 1, 4096, 1000000);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "unknown_device");
	be_devices_mark(d, "dev-1", 5); /* no-op, no crash */
	CU_ASSERT_EQUAL(be_devices_set(d, "dev-1", "site-1", true), FF_OK);
	CU_ASSERT_PTR_NULL(be_devices_check(d, "dev-1", "site-1", 1, 4096, 1000000));
	CU_ASSERT_EQUAL(be_devices_count(d), 1);
	be_devices_free(d);
}

/* fuzz_nn_load, smoke run in CI: a 456-byte model whose resize grows an 8x8
 * input into a tensor just under the old per-tensor bound (256 MiB) drove one
 * net past 1.7 GB and libFuzzer's 2 GB limit. The bound is now 64 MiB
 * (lib/nn/shape_infer.c): the net is refused before allocating. */
static void test_nn_huge_activations(void)
{
	const char *src = ff_test_env_get("FF_SOURCE_DIR");
	static unsigned char buf[4096];
	char path[4096], err[256] = "";
	ff_model *m = NULL;
	ff_net *n = NULL;
	ff_shape in;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/regress/nn_load/huge-activations-oom",
		 src ? src : ".");
	f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(ff_model_load_memory(buf, len, NULL, &m, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL_FATAL(ff_model_input_shape(m, 0, &in), FF_OK);
	for (uint32_t d = 0; d < in.rank; d++) /* as fuzz_nn_load sizes "any" dims */
		if (in.dims[d] == 0 || in.dims[d] > 64)
			in.dims[d] = 8;
	CU_ASSERT_EQUAL(ff_net_create_ex(m, &in, NULL, &n, err, sizeof(err)), FF_ERR_RANGE);
	CU_ASSERT_PTR_NULL(n);
	fprintf(stderr, "  huge activations refused: %s\n", err);
	ff_net_free(n);
	ff_model_free(m);
}

static CU_TestInfo tests[] = {
	{ "devices_empty_registry", test_devices_empty_registry },
	{ "nn_huge_activations", test_nn_huge_activations },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fuzz_regressions", NULL, NULL, NULL, NULL, tests });
