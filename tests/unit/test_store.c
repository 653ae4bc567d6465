/* unit_store: the PostgreSQL contract's pure parts (facefleet/store.h): array
 * literals and the gallery's vector format. Migrations and connecting run
 * against the real database in backend_migrations and every integration test. */
#include "ff_test.h"

#include "facefleet/error.h"
#include "facefleet/store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_array_text_escapes(void)
{
	ff_pg_array a = FF_PG_ARRAY_INITIALIZER;
	ff_pg_array_begin(&a);
	ff_pg_array_text(&a, "door-1");
	ff_pg_array_text(&a, NULL);
	ff_pg_array_text(&a, "a\"b\\c,{d}");
	ff_pg_array_text(&a, "");
	CU_ASSERT_EQUAL(ff_pg_array_end(&a), FF_OK);
	CU_ASSERT_STRING_EQUAL(a.p, "{\"door-1\",NULL,\"a\\\"b\\\\c,{d}\",\"\"}");
	/* begin again: the buffer is reused, the literal starts over */
	ff_pg_array_begin(&a);
	ff_pg_array_i64(&a, -9223372036854775807LL - 1);
	ff_pg_array_i64(&a, 42);
	CU_ASSERT_EQUAL(ff_pg_array_end(&a), FF_OK);
	CU_ASSERT_STRING_EQUAL(a.p, "{-9223372036854775808,42}");
	ff_pg_array_begin(&a);
	CU_ASSERT_EQUAL(ff_pg_array_end(&a), FF_OK);
	CU_ASSERT_STRING_EQUAL(a.p, "{}");
	ff_pg_array_free(&a);
	CU_ASSERT_PTR_NULL(a.p);
}

static void test_array_grows(void)
{
	ff_pg_array a = FF_PG_ARRAY_INITIALIZER;
	char want[16];
	ff_pg_array_begin(&a);
	for (int i = 0; i < 10000; i++)
		ff_pg_array_text(&a, "0123456789");
	CU_ASSERT_EQUAL(ff_pg_array_end(&a), FF_OK);
	CU_ASSERT_EQUAL(a.len, 2 + 10000 * 12 + 9999);
	CU_ASSERT_EQUAL(a.n, 10000);
	snprintf(want, sizeof(want), "\"}");
	CU_ASSERT_STRING_EQUAL(a.p + a.len - 2, want);
	ff_pg_array_free(&a);
}

static void test_vector_roundtrip(void)
{
	float v[192], back[192];
	char txt[192 * 20];
	for (int i = 0; i < 192; i++)
		v[i] = sinf((float)i * 0.37f) / (float)(i + 1) * (i % 7 == 0 ? 1e-6f : 1.0f);
	CU_ASSERT_EQUAL(ff_store_vector_format(v, 192, txt, sizeof(txt)), FF_OK);
	CU_ASSERT_EQUAL(txt[0], '{');
	CU_ASSERT_EQUAL(ff_store_vector_parse(txt, back, 192), FF_OK);
	CU_ASSERT_EQUAL(memcmp(v, back, sizeof(v)), 0); /* 9 digits: every float exactly */
	CU_ASSERT_EQUAL(ff_store_vector_parse(txt, back, 191), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_store_vector_parse(txt, back, 193), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_store_vector_format(v, 192, txt, 100), FF_ERR_RANGE);
}

static void test_vector_rejects(void)
{
	float v[3] = { 1.0f, NAN, 0.0f }, out[3];
	char txt[64];
	static const char *bad[] = {
		"", "1,2,3", "{1,2}", "{1,2,3,4}", "{1,,3}", "{1,2,x}", "{1,2,3", "{1,2,3}x",
		"{1;2;3}", "{1,2,inf}", "{1,2,nan}", "{1,2,1e999}",
	};
	CU_ASSERT_EQUAL(ff_store_vector_format(v, 3, txt, sizeof(txt)), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_store_vector_format(v, 0, txt, sizeof(txt)), FF_ERR_INVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL_FATAL(ff_store_vector_parse(bad[i], out, 3), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_store_vector_parse(NULL, out, 3), FF_ERR_FORMAT);
	CU_ASSERT_EQUAL(ff_store_vector_parse("{1,2.5e-3,-3}", out, 3), FF_OK);
	CU_ASSERT_DOUBLE_EQUAL(out[1], 2.5e-3, 1e-9);
}

static CU_TestInfo store_tests[] = {
	{ "array_text_escapes", test_array_text_escapes },
	{ "array_grows", test_array_grows },
	{ "vector_roundtrip", test_vector_roundtrip },
	{ "vector_rejects", test_vector_rejects },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "store", NULL, NULL, NULL, NULL, store_tests });
