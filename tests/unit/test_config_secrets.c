/* unit_config_secrets: secrets never only on the command line (issue 16).
 * A STRING setting flagged FF_CFG_SECRET also comes from a file (KEY_file in
 * a config file, relative to it; --KEY-file on the command line) or from
 * the environment (FF_<KEY>); precedence defaults < environment < file <
 * command line; a bad secret file is a configuration error that never shows
 * the secret. --version is reported (and stops the program as --help). */
#include "ff_test.h"

#include "facefleet/config.h"
#include "facefleet/error.h"
#include "facefleet/version.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cfg {
	char *user;
	char *db_password;
	char *key_file; /* a secret PATH: masked, but no _file (FF_KEY_FILE as any field) */
	int port;
};

static const ff_config_field fields[] = {
	{ "user", FF_CFG_STRING, offsetof(struct cfg, user), "", 0, 0, "user", 0 },
	{ "db_password", FF_CFG_STRING, offsetof(struct cfg, db_password), "", 0, 64, "password",
	  FF_CFG_SECRET },
	{ "key_file", FF_CFG_PATH, offsetof(struct cfg, key_file), "", 0, 0, "key", FF_CFG_SECRET },
	{ "port", FF_CFG_INT, offsetof(struct cfg, port), "1", 1, 65535, "port", 0 },
	FF_CONFIG_END,
};

static char dir[64], err[512];

static const char *write_file(const char *name, const char *text)
{
	static char path[2][160];
	static int k;
	char *p = path[k++ & 1];
	FILE *f;
	snprintf(p, 160, "%s/%s", dir, name);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* ff_config_parse_args on a NULL-terminated list (argv[0] added). */
static int parse(struct cfg *c, ff_config_args *a, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = "prog";
	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return ff_config_parse_args(fields, c, argc, argv, a, err, sizeof(err));
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ff-cfgsec-%ld", (long)getpid());
	unsetenv("FF_DB_PASSWORD");
	return mkdir(dir, 0700);
}

static int cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	unsetenv("FF_DB_PASSWORD");
	return system(cmd) == 0 ? 0 : 1;
}

static void test_file_on_command_line(void)
{
	struct cfg c;
	ff_config_args a;
	const char *pw = write_file("pw", "s3cret value\n");
	const char *args1[] = { "--db-password-file", pw, NULL };
	char opt[200];
	CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args1), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.db_password, "s3cret value"); /* line break dropped */
	ff_config_free(fields, &c);
	snprintf(opt, sizeof(opt), "--db_password_file=%s", pw);
	{
		const char *args2[] = { opt, NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args2), FF_OK);
		CU_ASSERT_STRING_EQUAL(c.db_password, "s3cret value");
		ff_config_free(fields, &c);
	}
	/* the last one wins, as for every setting */
	{
		const char *args3[] = { opt, "--db-password=plain", NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args3), FF_OK);
		CU_ASSERT_STRING_EQUAL(c.db_password, "plain");
		ff_config_free(fields, &c);
	}
	/* CRLF too */
	{
		const char *crlf = write_file("pw-crlf", "abc\r\n");
		const char *args4[] = { "--db-password-file", crlf, NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args4), FF_OK);
		CU_ASSERT_STRING_EQUAL(c.db_password, "abc");
		ff_config_free(fields, &c);
	}
}

static void test_file_in_config_file(void)
{
	struct cfg c;
	ff_config_args a;
	const char *conf;
	char opt[200];
	write_file("db.pw", "from-file\n");
	/* relative to the config file's folder */
	conf = write_file("a.conf", "user = u\ndb_password_file = db.pw\n");
	snprintf(opt, sizeof(opt), "--config=%s", conf);
	{
		const char *args[] = { opt, NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args), FF_OK);
		CU_ASSERT_STRING_EQUAL(c.db_password, "from-file");
		ff_config_free(fields, &c);
	}
	/* KEY and KEY_file in one file set the same secret twice */
	conf = write_file("b.conf", "db_password = x\ndb_password_file = db.pw\n");
	snprintf(opt, sizeof(opt), "--config=%s", conf);
	{
		const char *args[] = { opt, NULL };
		CU_ASSERT_EQUAL(parse(&c, &a, args), FF_ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "duplicate key 'db_password_file'"));
		ff_config_free(fields, &c);
	}
	/* only secrets have a _file companion; a secret PATH is a file already */
	CU_ASSERT_EQUAL(ff_config_load_string(fields, &c, "user_file = x\n", "t", err, sizeof(err)),
			FF_ERR_CONFIG);
	CU_ASSERT_EQUAL(ff_config_load_string(fields, &c, "key_file_file = x\n", "t", err, sizeof(err)),
			FF_ERR_CONFIG);
	ff_config_free(fields, &c);
}

static void test_bad_files_never_show_the_secret(void)
{
	struct cfg c;
	ff_config_args a;
	const char *two = write_file("two-lines", "line-one-secret\nline-two\n");
	const char *big;
	const char *args1[] = { "--db-password-file", two, NULL };
	const char *args2[] = { "--db-password-file", "/nonexistent/pw", NULL };
	const char *args3[] = { "--db-password-file", NULL };
	const char *args4[] = { "--db-password-file", dir, NULL }; /* a folder */
	CU_ASSERT_EQUAL(parse(&c, &a, args1), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "one line"));
	CU_ASSERT_PTR_NULL(strstr(err, "line-one-secret"));
	ff_config_free(fields, &c);
	CU_ASSERT_EQUAL(parse(&c, &a, args2), FF_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/pw"));
	ff_config_free(fields, &c);
	CU_ASSERT_EQUAL(parse(&c, &a, args3), FF_ERR_CONFIG);
	ff_config_free(fields, &c);
	CU_ASSERT_EQUAL(parse(&c, &a, args4), FF_ERR_CONFIG);
	ff_config_free(fields, &c);
	/* the field's own bounds still apply (length 0..64), without the value */
	big = write_file("long", "0123456789012345678901234567890123456789012345678901234567890123456789\n");
	{
		const char *args5[] = { "--db-password-file", big, NULL };
		CU_ASSERT_EQUAL(parse(&c, &a, args5), FF_ERR_CONFIG);
		CU_ASSERT_PTR_NULL(strstr(err, "0123456789"));
		ff_config_free(fields, &c);
	}
}

static void test_environment(void)
{
	struct cfg c;
	ff_config_args a;
	const char *none[] = { NULL };
	const char *cli[] = { "--db-password=cli", NULL };
	const char *conf = write_file("env.conf", "db_password = conf\n");
	char opt[200];
	CU_ASSERT_EQUAL_FATAL(setenv("FF_DB_PASSWORD", "from-env", 1), 0);
	CU_ASSERT_EQUAL_FATAL(parse(&c, &a, none), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.db_password, "from-env");
	ff_config_free(fields, &c);
	/* a file and the command line win over the environment */
	snprintf(opt, sizeof(opt), "--config=%s", conf);
	{
		const char *args[] = { opt, NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, args), FF_OK);
		CU_ASSERT_STRING_EQUAL(c.db_password, "conf");
		ff_config_free(fields, &c);
	}
	CU_ASSERT_EQUAL_FATAL(parse(&c, &a, cli), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.db_password, "cli");
	ff_config_free(fields, &c);
	/* an empty variable is no value; every field comes from its variable */
	CU_ASSERT_EQUAL_FATAL(setenv("FF_DB_PASSWORD", "", 1), 0);
	CU_ASSERT_EQUAL_FATAL(setenv("FF_USER", "env-user", 1), 0);
	CU_ASSERT_EQUAL_FATAL(parse(&c, &a, none), FF_OK);
	CU_ASSERT_STRING_EQUAL(c.db_password, "");
	CU_ASSERT_STRING_EQUAL(c.user, "env-user");
	ff_config_free(fields, &c);
	unsetenv("FF_DB_PASSWORD");
	unsetenv("FF_USER");
}

static void test_help_and_dump(void)
{
	char buf[4096] = "";
	struct cfg c;
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ff_config_help(fields, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--db_password_file=<path>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "$FF_DB_PASSWORD"));
	CU_ASSERT_PTR_NULL(strstr(buf, "--key_file_file"));
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(ff_config_defaults(fields, &c, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL(ff_config_set(fields, &c, "db_password", "hidden", NULL, err, sizeof(err)), FF_OK);
	memset(buf, 0, sizeof(buf));
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	ff_config_dump(fields, &c, f);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(buf, "hidden"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "db_password = ***"));
	ff_config_free(fields, &c);
}

static void test_version(void)
{
	struct cfg c;
	ff_config_args a;
	char buf[128] = "", want[128];
	const char *args[] = { "--port=0", "--version", NULL }; /* nothing else is checked */
	FILE *f;
	CU_ASSERT_EQUAL(parse(&c, &a, args), FF_ERR_CONFIG); /* a bad value still is one */
	ff_config_free(fields, &c);
	{
		const char *ok[] = { "--version", NULL };
		CU_ASSERT_EQUAL_FATAL(parse(&c, &a, ok), FF_OK);
		CU_ASSERT_TRUE(a.version);
		CU_ASSERT_TRUE(a.help); /* a program that ignores --version stops as for --help */
		ff_config_free(fields, &c);
	}
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	ff_config_version(f, "prog");
	fclose(f);
	snprintf(want, sizeof(want), "prog %s\n", FF_VERSION);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT_TRUE(strlen(FF_VERSION) >= 5 && strchr(FF_VERSION, '.') != NULL);
}

static CU_TestInfo secret_tests[] = {
	{ "file_on_command_line", test_file_on_command_line },
	{ "file_in_config_file", test_file_in_config_file },
	{ "bad_files_never_show_the_secret", test_bad_files_never_show_the_secret },
	{ "environment", test_environment },
	{ "help_and_dump", test_help_and_dump },
	{ "version", test_version },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "config_secrets", setup, cleanup, NULL, NULL, secret_tests });
