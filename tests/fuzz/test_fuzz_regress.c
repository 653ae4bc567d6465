/* unit_fuzz_regressions: every crash the fuzz targets found, as a plain
 * unit test (also run under ASan + UBSan by deploy/test). The inputs
 * themselves stay in tests/fuzz/regress/<target>/ and are replayed by
 * unit_fuzz_<target>_corpus. */
#include "ff_test.h"

#include "facefleet/error.h"
#include "registry.h"

#include <string.h>

/* fuzz_facecodes, first run: the device registry before its first reload
 * (no table yet) passed NULL to bsearch (UBSan: nonnull argument). */
static void test_devices_empty_registry(void)
{
	ff_devices *d = NULL;
	const char *why;
	CU_ASSERT_EQUAL_FATAL(ff_devices_create(&d), FF_OK);
	why = ff_devices_check(d, "dev-1", "site-1", 1, 4096);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "unknown_device");
	ff_devices_mark(d, "dev-1", 5); /* no-op, no crash */
	CU_ASSERT_EQUAL(ff_devices_set(d, "dev-1", "site-1", true), FF_OK);
	CU_ASSERT_PTR_NULL(ff_devices_check(d, "dev-1", "site-1", 1, 4096));
	CU_ASSERT_EQUAL(ff_devices_count(d), 1);
	ff_devices_free(d);
}

static CU_TestInfo tests[] = {
	{ "devices_empty_registry", test_devices_empty_registry },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fuzz_regressions", NULL, NULL, NULL, NULL, tests });
