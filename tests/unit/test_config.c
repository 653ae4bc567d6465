/* unit_config: the table-driven config parser (facefleet/config.h). */
#include "ff_test.h"

#include "facefleet/config.h"
#include "facefleet/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cfg {
	char *url;
	char *model_dir;
	int min_face_px;
	int64_t max_bytes;
	bool tls;
	double threshold;
	char *secret;
};

static const ff_config_field fields[] = {
	{ "url", FF_CFG_STRING, offsetof(struct cfg, url), "tcp://127.0.0.1:18883", 0, 0,
	  "broker URL", FF_CFG_REQUIRED },
	{ "model_dir", FF_CFG_PATH, offsetof(struct cfg, model_dir), "models", 0, 0,
	  "folder of .ffn files", 0 },
	{ "min_face_px", FF_CFG_INT, offsetof(struct cfg, min_face_px), "40", 8, 4096,
	  "smallest face side, pixels", 0 },
	{ "max_bytes", FF_CFG_INT64, offsetof(struct cfg, max_bytes), "8589934592", 0, 0,
	  "outbox size limit", 0 },
	{ "tls", FF_CFG_BOOL, offsetof(struct cfg, tls), "false", 0, 0, "use TLS", 0 },
	{ "threshold", FF_CFG_DOUBLE, offsetof(struct cfg, threshold), "0.5", -1, 1,
	  "match threshold", 0 },
	{ "secret", FF_CFG_STRING, offsetof(struct cfg, secret), NULL, 0, 0, "password",
	  FF_CFG_SECRET },
	FF_CONFIG_END,
};

static char err[256];

static void defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL_FATAL(ff_config_defaults(fields, c, err, sizeof(err)), FF_OK);
}

static int load(struct cfg *c, const char *text)
{
	err[0] = '\0';
	return ff_config_load_string(fields, c, text, "test.conf", err, sizeof(err));
}

static void test_defaults(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.url, "tcp://127.0.0.1:18883");
	CU_ASSERT_STRING_EQUAL(c.model_dir, "models");
	CU_ASSERT_EQUAL(c.min_face_px, 40);
	CU_ASSERT_EQUAL(c.max_bytes, INT64_C(8589934592));
	CU_ASSERT_FALSE(c.tls);
	CU_ASSERT_DOUBLE_EQUAL(c.threshold, 0.5, 1e-12);
	CU_ASSERT_PTR_NULL(c.secret);
	ff_config_free(fields, &c);
	CU_ASSERT_PTR_NULL(c.url);
}

static void test_file_values(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "# a comment\n\n  url = ssl://broker:8883  \n"
				 "min_face_px=64\r\n"
				 "tls = yes\n"
				 "   # indented comment\n"
				 "threshold = -0.25\n"
				 "secret = \"  spaced # not a comment \"\n"
				 "max_bytes = 0x10"),
			FF_OK);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(c.url, "ssl://broker:8883");
	CU_ASSERT_EQUAL(c.min_face_px, 64);
	CU_ASSERT_TRUE(c.tls);
	CU_ASSERT_DOUBLE_EQUAL(c.threshold, -0.25, 1e-12);
	CU_ASSERT_STRING_EQUAL(c.secret, "  spaced # not a comment ");
	CU_ASSERT_EQUAL(c.max_bytes, 16);
	ff_config_free(fields, &c);
}

static void test_unknown_key(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "url = x\n\nmin_fase_px = 3\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:3: unknown key 'min_fase_px'");
	/* dashes are for the command line only */
	CU_ASSERT_EQUAL(load(&c, "min-face-px = 50\n"), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown key 'min-face-px'"));
	ff_config_free(fields, &c);
}

static void test_out_of_range(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "min_face_px = 5000\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:1: key 'min_face_px': 5000 is out of range 8..4096");
	CU_ASSERT_EQUAL(c.min_face_px, 40); /* unchanged */
	CU_ASSERT_EQUAL(load(&c, "min_face_px = 99999999999\n"), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not fit"));
	CU_ASSERT_EQUAL(load(&c, "min_face_px = 12px\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:1: key 'min_face_px': '12px' is not an integer");
	CU_ASSERT_EQUAL(load(&c, "threshold = 1.5\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:1: key 'threshold': 1.5 is out of range -1..1");
	CU_ASSERT_EQUAL(load(&c, "threshold = nan\n"), FF_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, "threshold =\n"), FF_ERR_CONFIG);
	ff_config_free(fields, &c);
}

static void test_bad_bool(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "tls = maybe\n"), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:1: key 'tls': 'maybe' is not a boolean"));
	CU_ASSERT_EQUAL(load(&c, "tls = ON\n"), FF_OK);
	CU_ASSERT_TRUE(c.tls);
	ff_config_free(fields, &c);
}

static void test_duplicate_key(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "tls = on\nurl = a\n# c\ntls = off\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:4: duplicate key 'tls' (first set at line 1)");
	ff_config_free(fields, &c);
}

static void test_syntax(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(load(&c, "url\n"), FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:1: expected 'key = value', got 'url'");
	CU_ASSERT_EQUAL(load(&c, " = 3\n"), FF_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, "url = \"open\n"), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unterminated"));
	ff_config_free(fields, &c);
}

static void test_missing_file(void)
{
	struct cfg c;
	defaults(&c);
	CU_ASSERT_EQUAL(ff_config_load_file(fields, &c, "/nonexistent/ff.conf", err, sizeof(err)),
			FF_ERR_NOTFOUND);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/ff.conf: cannot open: No such file or directory");
	ff_config_free(fields, &c);
}

static void test_file_and_path_resolution(void)
{
	struct cfg c;
	char dir[] = "/tmp/ff_cfg_XXXXXX";
	char path[128];
	char want[160];
	FILE *fp;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.conf", dir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("model_dir = cache/ffn\nmin_face_px = 80\n", fp);
	fclose(fp);
	defaults(&c);
	CU_ASSERT_EQUAL(ff_config_load_file(fields, &c, path, err, sizeof(err)), FF_OK);
	snprintf(want, sizeof(want), "%s/cache/ffn", dir);
	CU_ASSERT_STRING_EQUAL(c.model_dir, want);
	CU_ASSERT_EQUAL(c.min_face_px, 80);
	ff_config_free(fields, &c);
	unlink(path);
	rmdir(dir);
}

static void test_args(void)
{
	struct cfg c;
	ff_config_args a;
	char *argv[] = { "prog", "--min-face-px=100", "in.jpg", "--set", "threshold=0.75", "--tls",
			 "--url", "tcp://h:1", "--", "--not-an-option", NULL };
	int argc = 10;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, argc, argv, &a, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL(c.min_face_px, 100);
	CU_ASSERT_DOUBLE_EQUAL(c.threshold, 0.75, 1e-12);
	CU_ASSERT_TRUE(c.tls);
	CU_ASSERT_STRING_EQUAL(c.url, "tcp://h:1");
	CU_ASSERT_FALSE(a.help);
	CU_ASSERT_PTR_NULL(a.config_path);
	CU_ASSERT_EQUAL_FATAL(a.npositional, 2);
	CU_ASSERT_STRING_EQUAL(a.positional[0], "in.jpg");
	CU_ASSERT_STRING_EQUAL(a.positional[1], "--not-an-option");
	ff_config_free(fields, &c);
}

static void test_args_errors(void)
{
	struct cfg c;
	ff_config_args a;
	char *bad_key[] = { "prog", "--colour=red", NULL };
	char *bad_val[] = { "prog", "--tls=perhaps", NULL };
	char *no_file[] = { "prog", "--config", "/nonexistent.conf", NULL };
	char *neg[] = { "prog", "--tls", "--no-tls", "--help", NULL };
	char *empty_req[] = { "prog", "--url=", NULL };

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, 2, bad_key, &a, err, sizeof(err)),
			FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "command line: unknown key 'colour'");
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, 2, bad_val, &a, err, sizeof(err)),
			FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "command line: key 'tls': 'perhaps'"));
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, 3, no_file, &a, err, sizeof(err)),
			FF_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, 4, neg, &a, err, sizeof(err)), FF_OK);
	CU_ASSERT_FALSE(c.tls);
	CU_ASSERT_TRUE(a.help);
	CU_ASSERT_EQUAL(ff_config_parse_args(fields, &c, 2, empty_req, &a, err, sizeof(err)),
			FF_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "missing required setting 'url' (broker URL)");
	ff_config_free(fields, &c);
}

static void test_help_and_dump(void)
{
	struct cfg c;
	char text[2048] = { 0 };
	FILE *fp = tmpfile();
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	ff_config_help(fields, fp);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--min_face_px=<int>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "smallest face side, pixels (default: 40; range 8..4096)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "broker URL (required; default: tcp://127.0.0.1:18883)"));
	fclose(fp);

	/* the dump is a loadable file and hides secrets */
	defaults(&c);
	c.secret = strdup("hunter2");
	fp = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	ff_config_dump(fields, &c, fp);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "secret = ***\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "min_face_px = 40\n"));
	ff_config_free(fields, &c);
}

static CU_TestInfo config_tests[] = {
	{ "defaults", test_defaults },
	{ "file_values", test_file_values },
	{ "unknown_key", test_unknown_key },
	{ "out_of_range", test_out_of_range },
	{ "bad_bool", test_bad_bool },
	{ "duplicate_key", test_duplicate_key },
	{ "syntax", test_syntax },
	{ "missing_file", test_missing_file },
	{ "file_and_path_resolution", test_file_and_path_resolution },
	{ "args", test_args },
	{ "args_errors", test_args_errors },
	{ "help_and_dump", test_help_and_dump },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "config", NULL, NULL, NULL, NULL, config_tests });
