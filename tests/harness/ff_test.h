/* tests/harness/ff_test.h: what a CUnit test file needs.
 *
 *   static void test_roundtrip(void) { CU_ASSERT_EQUAL(1, 1); }
 *   static CU_TestInfo bitpack_tests[] = {
 *       { "roundtrip", test_roundtrip },
 *       CU_TEST_INFO_NULL,
 *   };
 *   FF_TEST_SUITES({ "bitpack", NULL, NULL, NULL, NULL, bitpack_tests });
 *
 * cunit_main.c (linked into every test executable by ff_add_unit_test /
 * ff_add_integration_test) registers ff_test_suites, runs them verbosely and
 * exits 1 if any assertion failed or any suite setup failed, 77 when a test
 * called ff_test_skip, else 0. An optional argument runs one suite only. */
#ifndef FF_TEST_H
#define FF_TEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdio.h>

#include "ff_test_env.h"

extern CU_SuiteInfo ff_test_suites[];

#define FF_TEST_SUITES(...) CU_SuiteInfo ff_test_suites[] = { __VA_ARGS__, CU_SUITE_INFO_NULL }

/* Marks the whole executable as skipped (CTest SKIP_RETURN_CODE 77) with a
 * reason on stderr, e.g. when model files have not been fetched. Use it for
 * missing optional inputs only, never to hide a failure. Does not return. */
void ff_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Asserts that a call returned FF_OK and prints the ff_err text if not. */
#define FF_ASSERT_OK(expr)                                                                      \
	do {                                                                                    \
		int ff_rc_ = (expr);                                                            \
		if (ff_rc_ != 0)                                                                \
			fprintf(stderr, "%s:%d: %s -> %d (%s)\n", __FILE__, __LINE__, #expr,    \
				ff_rc_, ff_strerror(ff_rc_));                                    \
		CU_ASSERT_EQUAL(ff_rc_, 0);                                                     \
	} while (0)

#endif
