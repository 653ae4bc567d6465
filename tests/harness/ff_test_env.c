/* Reads the private stack's env file for integration tests (ff_test_env.h). */
#include "ff_test_env.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VARS 64

static struct {
	char *key;
	char *value;
} vars[MAX_VARS];
static int nvars = -1; /* -1: file not read yet */

static char *unquote(char *v)
{
	size_t n = strlen(v);
	while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		v[--n] = '\0';
	if (n >= 2 && ((v[0] == '\'' && v[n - 1] == '\'') || (v[0] == '"' && v[n - 1] == '"'))) {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

static void load_env_file(void)
{
	const char *path = getenv("FF_STACK_ENV");
	char line[1024];
	FILE *fp;

	nvars = 0;
	if (!path || !(fp = fopen(path, "r")))
		return;
	while (nvars < MAX_VARS && fgets(line, sizeof(line), fp)) {
		char *s = line, *eq;
		if (strncmp(s, "export ", 7) == 0)
			s += 7;
		if (*s == '#' || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		vars[nvars].key = strdup(s);
		vars[nvars].value = strdup(unquote(eq + 1));
		if (!vars[nvars].key || !vars[nvars].value)
			break;
		nvars++;
	}
	fclose(fp);
}

const char *ff_test_env_get(const char *key)
{
	const char *v = getenv(key);
	if (v && *v)
		return v;
	if (nvars < 0)
		load_env_file();
	for (int i = 0; i < nvars; i++)
		if (strcmp(vars[i].key, key) == 0)
			return vars[i].value;
	return NULL;
}

const char *ff_test_env_need(const char *key)
{
	const char *v = ff_test_env_get(key);
	if (!v) {
		fprintf(stderr, "test environment lacks %s (is the stack up? FF_STACK_ENV=%s)\n", key,
			getenv("FF_STACK_ENV") ? getenv("FF_STACK_ENV") : "(unset)");
		CU_FAIL_FATAL("missing test environment variable");
		return "";
	}
	return v;
}

const char *ff_test_data_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("FF_TEST_DATA_DIR");
	snprintf(buf, len, "%s/%s", dir ? dir : "tests/data", name);
	return buf;
}
