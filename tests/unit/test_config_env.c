/* unit_config_env: every setting from FF_<KEY> (issue 18), and the table as a
 * man page and a bash completion script. Precedence defaults < environment <
 * file < command line; a bad value names its variable; FF_CFG_NOENV fields
 * and the names the tooling uses otherwise (FF_MODELS_DIR) are never read. */
#include "ff_test.h"

#include "facefleet/config.h"
#include "facefleet/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cfg {
	char *mqtt_url;
	int limit;
	bool watch;
	double threshold;
	char *models_dir;
	char *site;
	char *password;
};

static const ff_config_field fields[] = {
	{ "mqtt_url", FF_CFG_STRING, offsetof(struct cfg, mqtt_url), "tcp://x:1", 0, 0, "broker URL",
	  FF_CFG_REQUIRED },
	{ "limit", FF_CFG_INT, offsetof(struct cfg, limit), "100", 1, 1000, "most rows", 0 },
	{ "watch", FF_CFG_BOOL, offsetof(struct cfg, watch), "false", 0, 0, "follow a folder", 0 },
	{ "threshold", FF_CFG_DOUBLE, offsetof(struct cfg, threshold), "0.5", 0, 1, "cosine-sim", 0 },
	{ "models_dir", FF_CFG_PATH, offsetof(struct cfg, models_dir), "", 0, 0, "models folder", 0 },
	{ "site", FF_CFG_STRING, offsetof(struct cfg, site), "", 0, 32, "site id", FF_CFG_NOENV },
	{ "password", FF_CFG_STRING, offsetof(struct cfg, password), "", 0, 0, "a \\secret\\", FF_CFG_SECRET },
	FF_CONFIG_END,
};

static const char *const vars[] = { "FF_MQTT_URL", "FF_LIMIT",  "FF_WATCH", "FF_THRESHOLD",
				    "FF_MODELS_DIR", "FF_SITE", "FF_PASSWORD" };
static char err[512];

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int parse(struct cfg *c, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	ff_config_args a;
	argv[argc++] = "prog";
	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return ff_config_parse_args(fields, c, argc, argv, &a, err, sizeof(err));
}

static int setup(void)
{
	clear_env();
	return 0;
}

static int cleanup(void)
{
	clear_env();
	return 0;
}

static void test_every_type(void)
{
	struct cfg c;
	const char *none[] = { NULL };
	setenv("FF_MQTT_URL", "ssl://env:8883", 1);
	setenv("FF_LIMIT", "7", 1);
	setenv("FF_WATCH", "yes", 1);
	setenv("FF_THRESHOLD", "0.25", 1);
	setenv("FF_PASSWORD", "pw", 1);
	CU_ASSERT_EQUAL_FATAL(parse(&c, none), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.mqtt_url, "ssl://env:8883");
	CU_ASSERT_EQUAL(c.limit, 7);
	CU_ASSERT_TRUE(c.watch);
	CU_ASSERT_DOUBLE_EQUAL(c.threshold, 0.25, 1e-12);
	CU_ASSERT_STRING_EQUAL(c.password, "pw");
	ff_config_free(fields, &c);
	/* the command line wins, a bool too */
	{
		const char *args[] = { "--limit=9", "--no-watch", "--mqtt-url", "tcp://cli:1", NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, args), FF_OK);
		CU_ASSERT_EQUAL(c.limit, 9);
		CU_ASSERT_FALSE(c.watch);
		CU_ASSERT_STRING_EQUAL(c.mqtt_url, "tcp://cli:1");
		ff_config_free(fields, &c);
	}
	/* an empty variable is no value */
	setenv("FF_LIMIT", "", 1);
	CU_ASSERT_EQUAL_FATAL(parse(&c, none), FF_OK);
	CU_ASSERT_EQUAL(c.limit, 100);
	ff_config_free(fields, &c);
	clear_env();
}

static void test_file_wins(void)
{
	struct cfg c;
	char path[64], opt[96];
	FILE *f;
	snprintf(path, sizeof(path), "/tmp/ff-cfgenv-%ld.conf", (long)getpid());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("limit = 3\n", f);
	fclose(f);
	snprintf(opt, sizeof(opt), "--config=%s", path);
	setenv("FF_LIMIT", "7", 1);
	setenv("FF_THRESHOLD", "0.75", 1);
	{
		const char *args[] = { opt, NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, args), FF_OK);
		CU_ASSERT_EQUAL(c.limit, 3);                       /* file > environment */
		CU_ASSERT_DOUBLE_EQUAL(c.threshold, 0.75, 1e-12); /* environment > default */
		ff_config_free(fields, &c);
	}
	remove(path);
	clear_env();
}

static void test_bad_value_names_variable(void)
{
	struct cfg c;
	const char *none[] = { NULL };
	setenv("FF_LIMIT", "5000", 1);
	CU_ASSERT_EQUAL(parse(&c, none), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "environment FF_LIMIT"));
	ff_config_free(fields, &c);
	setenv("FF_LIMIT", "5", 1);
	setenv("FF_WATCH", "maybe", 1);
	CU_ASSERT_EQUAL(parse(&c, none), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "environment FF_WATCH"));
	ff_config_free(fields, &c);
	clear_env();
}

static void test_not_read(void)
{
	struct cfg c;
	const char *none[] = { NULL };
	setenv("FF_SITE", "s1", 1);            /* FF_CFG_NOENV */
	setenv("FF_MODELS_DIR", "/cache", 1);  /* the tooling's models cache root */
	CU_ASSERT_EQUAL_FATAL(parse(&c, none), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.site, "");
	CU_ASSERT_STRING_EQUAL(c.models_dir, "");
	ff_config_free(fields, &c);
	clear_env();
}

static char *capture(void (*fn)(const ff_config_field *, FILE *, const char *), size_t *n)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fn(fields, f, "fleet-x");
	fclose(f);
	return buf;
}

static void help3(const ff_config_field *fl, FILE *f, const char *p)
{
	(void)p;
	ff_config_help(fl, f);
}

static void test_help_man_completion(void)
{
	size_t n;
	char *help = capture(help3, &n);
	char *man = capture(ff_config_man, &n);
	char *comp = capture(ff_config_completion, &n);

	CU_ASSERT_PTR_NOT_NULL(strstr(help, "Environment: $FF_<KEY in capitals> sets KEY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(help, "e.g. $FF_MQTT_URL; not: models_dir, site)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, ".SH OPTIONS\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, ".SH ENVIRONMENT\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, "\\fB\\-\\-mqtt\\-url\\fR=\\fIstring\\fR\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, "Environment: \\fBFF_LIMIT\\fR.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, "Negated by \\fB\\-\\-no\\-watch\\fR"));
	CU_ASSERT_PTR_NOT_NULL(strstr(man, "a \\esecret\\e.\n")); /* backslashes escaped */
	CU_ASSERT_PTR_NULL(strstr(man, "\\fBFF_SITE\\fR."));
	CU_ASSERT_PTR_NOT_NULL(strstr(comp, "complete -F _ff_complete_fleet_x fleet-x\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(comp, " --no-watch "));
	CU_ASSERT_PTR_NOT_NULL(strstr(comp, " --password-file "));
	CU_ASSERT_PTR_NOT_NULL(strstr(comp, "local paths=\" --config --models-dir --password-file \""));
	free(help);
	free(man);
	free(comp);
}

static CU_TestInfo env_tests[] = {
	{ "every_type", test_every_type },
	{ "file_wins", test_file_wins },
	{ "bad_value_names_variable", test_bad_value_names_variable },
	{ "not_read", test_not_read },
	{ "help_man_completion", test_help_man_completion },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "config_env", setup, cleanup, NULL, NULL, env_tests });
