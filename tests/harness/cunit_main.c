/* main() of every CUnit test executable: runs ff_test_suites (see ff_test.h)
 * and turns the result into an exit status. CU_basic_run_tests alone returns
 * success even when assertions fail; the counts decide here. */
#include "ff_test.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ff_test_skip(const char *fmt, ...)
{
	va_list ap;
	fputs("SKIP: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	CU_cleanup_registry();
	exit(77);
}

int main(int argc, char **argv)
{
	unsigned failures, suites_failed, run;
	CU_SuiteInfo *suites = ff_test_suites;
	CU_SuiteInfo one[2] = { CU_SUITE_INFO_NULL, CU_SUITE_INFO_NULL };

	if (argc > 1) { /* run one suite by name */
		for (CU_SuiteInfo *s = ff_test_suites; s->pName; s++)
			if (strcmp(s->pName, argv[1]) == 0)
				one[0] = *s;
		if (!one[0].pName) {
			fprintf(stderr, "no suite named '%s'\n", argv[1]);
			return 2;
		}
		suites = one;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 1;
	}
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	failures = CU_get_number_of_failures();
	suites_failed = CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	printf("\n%u tests run, %u assertion failures, %u suites failed to set up\n", run, failures,
	       suites_failed);
	if (run == 0) {
		fprintf(stderr, "no test ran\n");
		return 1;
	}
	return failures || suites_failed ? 1 : 0;
}
