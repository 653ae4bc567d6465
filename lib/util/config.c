/* Table-driven configuration parser (facefleet/config.h). */
#include "facefleet/config.h"
#include "facefleet/error.h"
#include "facefleet/file.h"
#include "facefleet/version.h" /* generated from CMake's project version */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FF_CFG_LINE_MAX 4096
#define FF_CFG_SECRET_FILE_MAX (64u << 10) /* a password or a conninfo, not a document */

static const char *type_name(ff_config_type t)
{
	switch (t) {
	case FF_CFG_STRING: return "string";
	case FF_CFG_PATH: return "path";
	case FF_CFG_INT: return "int";
	case FF_CFG_INT64: return "int";
	case FF_CFG_BOOL: return "bool";
	case FF_CFG_DOUBLE: return "number";
	}
	return "?";
}

static bool has_range(const ff_config_field *f)
{
	return !(f->min == 0 && f->max == 0);
}

/* Keys compare with '-' == '_' so that --min-face-px works. */
static bool key_eq(const char *a, const char *b, size_t blen)
{
	size_t i;
	for (i = 0; i < blen && a[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i];
		char y = b[i] == '-' ? '_' : b[i];
		if (x != y)
			return false;
	}
	return i == blen && a[i] == '\0';
}

static const ff_config_field *find_field(const ff_config_field *fields, const char *key,
					 size_t keylen)
{
	for (const ff_config_field *f = fields; f->key; f++)
		if (key_eq(f->key, key, keylen))
			return f;
	return NULL;
}

/* A secret that may come from a file or the environment: a STRING field
 * flagged FF_CFG_SECRET (a PATH, e.g. a key file, is already a file). */
static bool secret_value(const ff_config_field *f)
{
	return (f->flags & FF_CFG_SECRET) && f->type == FF_CFG_STRING;
}

/* The field whose companion key is key ("<secret>_file", '-' == '_'), or NULL. */
static const ff_config_field *find_secret_file(const ff_config_field *fields, const char *key,
					       size_t keylen)
{
	const ff_config_field *f;
	if (keylen <= 5 || !key_eq("_file", key + keylen - 5, 5))
		return NULL;
	f = find_field(fields, key, keylen - 5);
	return f && secret_value(f) ? f : NULL;
}

/* "FF_" + the key in capitals: the environment variable of a field. */
static void env_name(const ff_config_field *f, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *k = "FF_"; *k && o + 1 < cap; k++)
		out[o++] = *k;
	for (const char *k = f->key; *k && o + 1 < cap; k++)
		out[o++] = (char)toupper((unsigned char)*k);
	out[o] = '\0';
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static char *join_dir(const char *base_file, const char *rel)
{
	const char *slash = base_file ? strrchr(base_file, '/') : NULL;
	size_t dlen, rlen = strlen(rel);
	char *p;

	if (!slash || rel[0] == '/')
		return strdup(rel);
	dlen = (size_t)(slash - base_file);
	p = malloc(dlen + 1 + rlen + 1);
	if (!p)
		return NULL;
	memcpy(p, base_file, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, rel, rlen + 1);
	return p;
}

/* Parses value for f and stores it. where: "file:line" or "command line".
 * base_file: for PATH resolution (NULL: keep as given). */
static int store_value(const ff_config_field *f, void *obj, const char *value, const char *where,
		       const char *base_file, char *errbuf, size_t errlen)
{
	char *member = (char *)obj + f->offset;
	char *end = NULL;

	switch (f->type) {
	case FF_CFG_STRING:
	case FF_CFG_PATH: {
		size_t len = strlen(value);
		char *copy;
		if (has_range(f) && ((double)len < f->min || (double)len > f->max)) {
			ff_seterr(errbuf, errlen, "%s: key '%s': length %zu is outside %.0f..%.0f", where,
			       f->key, len, f->min, f->max);
			return FF_ERR_CONFIG;
		}
		copy = (f->type == FF_CFG_PATH && *value) ? join_dir(base_file, value) : strdup(value);
		if (!copy)
			return FF_ERR_NOMEM;
		free(*(char **)member);
		*(char **)member = copy;
		return FF_OK;
	}
	case FF_CFG_INT:
	case FF_CFG_INT64: {
		long long v;
		errno = 0;
		v = strtoll(value, &end, 0);
		if (!*value || *end) {
			ff_seterr(errbuf, errlen, "%s: key '%s': '%s' is not an integer", where, f->key,
			       value);
			return FF_ERR_CONFIG;
		}
		if (errno == ERANGE || (f->type == FF_CFG_INT && (v < INT_MIN || v > INT_MAX))) {
			ff_seterr(errbuf, errlen, "%s: key '%s': %s does not fit an integer", where,
			       f->key, value);
			return FF_ERR_CONFIG;
		}
		if (has_range(f) && ((double)v < f->min || (double)v > f->max)) {
			ff_seterr(errbuf, errlen, "%s: key '%s': %lld is out of range %.0f..%.0f", where,
			       f->key, v, f->min, f->max);
			return FF_ERR_CONFIG;
		}
		if (f->type == FF_CFG_INT)
			*(int *)member = (int)v;
		else
			*(int64_t *)member = (int64_t)v;
		return FF_OK;
	}
	case FF_CFG_BOOL: {
		bool b;
		if (parse_bool(value, &b) != 0) {
			ff_seterr(errbuf, errlen,
			       "%s: key '%s': '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
			       where, f->key, value);
			return FF_ERR_CONFIG;
		}
		*(bool *)member = b;
		return FF_OK;
	}
	case FF_CFG_DOUBLE: {
		double d;
		errno = 0;
		d = strtod(value, &end);
		if (!*value || *end || errno == ERANGE || !isfinite(d)) {
			ff_seterr(errbuf, errlen, "%s: key '%s': '%s' is not a finite number", where,
			       f->key, value);
			return FF_ERR_CONFIG;
		}
		if (has_range(f) && (d < f->min || d > f->max)) {
			ff_seterr(errbuf, errlen, "%s: key '%s': %g is out of range %g..%g", where, f->key,
			       d, f->min, f->max);
			return FF_ERR_CONFIG;
		}
		*(double *)member = d;
		return FF_OK;
	}
	}
	ff_seterr(errbuf, errlen, "%s: key '%s': bad field type in table", where, f->key);
	return FF_ERR_CONFIG;
}

/* Sets the secret field f from the file at path (relative: against base_file's
 * folder, as PATH values are): its text without the trailing line break, one
 * line. The secret is never part of a message; the buffer is wiped. */
static int store_secret_file(const ff_config_field *f, void *obj, const char *path, const char *where,
			     const char *base_file, char *errbuf, size_t errlen)
{
	char *full, *text = NULL, why[384] = "";
	size_t len = 0;
	int rc;

	if (!*path) {
		ff_seterr(errbuf, errlen, "%s: key '%s_file': empty file name", where, f->key);
		return FF_ERR_CONFIG;
	}
	if (!(full = join_dir(base_file, path)))
		return FF_ERR_NOMEM;
	rc = ff_file_read(full, FF_CFG_SECRET_FILE_MAX, &text, &len, why, sizeof(why));
	if (rc == FF_ERR_NOMEM)
		goto out;
	if (rc != FF_OK) {
		ff_seterr(errbuf, errlen, "%s: key '%s_file': %s", where, f->key, why);
		rc = FF_ERR_CONFIG;
		goto out;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (strlen(text) != len || strpbrk(text, "\r\n")) {
		ff_seterr(errbuf, errlen, "%s: key '%s_file': %s must hold one line of text", where, f->key,
			  full);
		rc = FF_ERR_CONFIG;
		goto out;
	}
	rc = store_value(f, obj, text, where, NULL, errbuf, errlen);
out:
	if (text) {
		memset(text, 0, len);
		free(text);
	}
	free(full);
	return rc;
}

/* Variables the project's tooling sets with another meaning (CTest gives
 * every test FF_MODELS_DIR, the models cache root; deploy/stack writes
 * FF_STACK_*): never a field's value, whatever the table says. */
static bool env_reserved(const char *name)
{
	static const char *const exact[] = { "FF_MODELS_DIR", "FF_SOURCE_DIR", "FF_BUILD_DIR" };
	static const char *const prefix[] = { "FF_TEST_", "FF_STACK_" };
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

/* Whether f is read from FF_<KEY>; name receives the variable either way. */
static bool field_env(const ff_config_field *f, char *name, size_t cap)
{
	env_name(f, name, cap);
	return !(f->flags & FF_CFG_NOENV) && !env_reserved(name);
}

/* Every field from the environment: FF_<KEY> when set and not empty. */
static int load_env(const ff_config_field *fields, void *obj, char *errbuf, size_t errlen)
{
	for (const ff_config_field *f = fields; f->key; f++) {
		char name[96], where[128];
		const char *v;
		int rc;
		if (!field_env(f, name, sizeof(name)))
			continue;
		if (!(v = getenv(name)) || !*v)
			continue;
		snprintf(where, sizeof(where), "environment %s", name);
		if ((rc = store_value(f, obj, v, where, NULL, errbuf, errlen)) != FF_OK)
			return rc;
	}
	return FF_OK;
}

int ff_config_defaults(const ff_config_field *fields, void *obj, char *errbuf, size_t errlen)
{
	if (!fields || !obj)
		return FF_ERR_INVAL;
	for (const ff_config_field *f = fields; f->key; f++) {
		char *member = (char *)obj + f->offset;
		int rc;
		if (f->def) {
			rc = store_value(f, obj, f->def, "default", NULL, errbuf, errlen);
			if (rc != FF_OK)
				return rc;
			continue;
		}
		switch (f->type) {
		case FF_CFG_STRING:
		case FF_CFG_PATH:
			free(*(char **)member);
			*(char **)member = NULL;
			break;
		case FF_CFG_INT: *(int *)member = 0; break;
		case FF_CFG_INT64: *(int64_t *)member = 0; break;
		case FF_CFG_BOOL: *(bool *)member = false; break;
		case FF_CFG_DOUBLE: *(double *)member = 0.0; break;
		}
	}
	return FF_OK;
}

int ff_config_set(const ff_config_field *fields, void *obj, const char *key, const char *value,
		  const char *origin, char *errbuf, size_t errlen)
{
	const ff_config_field *f;
	if (!fields || !obj || !key || !value)
		return FF_ERR_INVAL;
	if (!origin)
		origin = "command line";
	f = find_field(fields, key, strlen(key));
	if (!f) {
		ff_seterr(errbuf, errlen, "%s: unknown key '%s'", origin, key);
		return FF_ERR_CONFIG;
	}
	return store_value(f, obj, value, origin, NULL, errbuf, errlen);
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parses text line by line. path: for PATH resolution and messages (name). */
static int load_text(const ff_config_field *fields, void *obj, const char *text, const char *name,
		     const char *path, char *errbuf, size_t errlen)
{
	size_t nfields = 0;
	int *seen_at = NULL;
	int rc = FF_OK, lineno = 0;
	const char *p = text;
	char line[FF_CFG_LINE_MAX];
	char where[512];

	for (const ff_config_field *f = fields; f->key; f++)
		nfields++;
	seen_at = calloc(nfields + 1, sizeof(*seen_at));
	if (!seen_at)
		return FF_ERR_NOMEM;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *s, *eq, *key, *value;
		const ff_config_field *f, *secret_file;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		if (len >= sizeof(line)) {
			ff_seterr(errbuf, errlen, "%s: line longer than %zu bytes", where, sizeof(line) - 1);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;

		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			ff_seterr(errbuf, errlen, "%s: expected 'key = value', got '%s'", where, s);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (*key == '\0') {
			ff_seterr(errbuf, errlen, "%s: missing key before '='", where);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		if (value[0] == '"') {
			size_t vlen = strlen(value);
			if (vlen < 2 || value[vlen - 1] != '"') {
				ff_seterr(errbuf, errlen, "%s: key '%s': unterminated quoted value", where, key);
				rc = FF_ERR_CONFIG;
				goto out;
			}
			value[vlen - 1] = '\0';
			value++;
		}
		f = find_field(fields, key, strlen(key));
		secret_file = !f ? find_secret_file(fields, key, strlen(key)) : NULL;
		if (secret_file)
			f = secret_file;
		if (!f || strchr(key, '-')) {
			ff_seterr(errbuf, errlen, "%s: unknown key '%s'", where, key);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		/* KEY and KEY_file set the same secret: one of them per file */
		if (seen_at[f - fields]) {
			ff_seterr(errbuf, errlen, "%s: duplicate key '%s' (first set at line %d)", where,
			       key, seen_at[f - fields]);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		seen_at[f - fields] = lineno;
		if (secret_file)
			rc = store_secret_file(f, obj, value, where, path, errbuf, errlen);
		else
			rc = store_value(f, obj, value, where, path, errbuf, errlen);
		if (rc != FF_OK)
			goto out;
	}
out:
	free(seen_at);
	return rc;
}

int ff_config_load_string(const ff_config_field *fields, void *obj, const char *text,
			  const char *name, char *errbuf, size_t errlen)
{
	if (!fields || !obj || !text)
		return FF_ERR_INVAL;
	return load_text(fields, obj, text, name ? name : "<string>", NULL, errbuf, errlen);
}

int ff_config_load_file(const ff_config_field *fields, void *obj, const char *path,
			char *errbuf, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!fields || !obj || !path)
		return FF_ERR_INVAL;
	rc = ff_file_read(path, 16u << 20, &text, &len, errbuf, errlen);
	if (rc == FF_ERR_RANGE) /* a configuration too large is a bad configuration */
		rc = FF_ERR_CONFIG;
	if (rc != FF_OK)
		return rc;
	if (strlen(text) != len) {
		ff_seterr(errbuf, errlen, "%s: contains a NUL byte", path);
		rc = FF_ERR_CONFIG;
	} else {
		rc = load_text(fields, obj, text, path, path, errbuf, errlen);
	}
	free(text);
	return rc;
}

int ff_config_check_required(const ff_config_field *fields, const void *obj, char *errbuf,
			     size_t errlen)
{
	for (const ff_config_field *f = fields; f->key; f++) {
		const char *member = (const char *)obj + f->offset;
		if (!(f->flags & FF_CFG_REQUIRED))
			continue;
		if (f->type == FF_CFG_STRING || f->type == FF_CFG_PATH) {
			const char *v = *(char *const *)member;
			if (!v || !*v) {
				ff_seterr(errbuf, errlen, "missing required setting '%s' (%s)", f->key,
				       f->help ? f->help : type_name(f->type));
				return FF_ERR_CONFIG;
			}
		}
	}
	return FF_OK;
}

int ff_config_parse_args(const ff_config_field *fields, void *obj, int argc, char **argv,
			 ff_config_args *out, char *errbuf, size_t errlen)
{
	ff_config_args args = { NULL, false, false, 0, NULL };
	int rc, i, npos = 0;
	bool opts_done = false;

	if (!fields || !obj || argc < 0 || (argc > 0 && !argv))
		return FF_ERR_INVAL;
	rc = ff_config_defaults(fields, obj, errbuf, errlen);
	if (rc != FF_OK)
		goto out;
	/* defaults < environment < file < command line */
	rc = load_env(fields, obj, errbuf, errlen);
	if (rc != FF_OK)
		goto out;

	/* pass 1: --config and --help, so the file applies before any override */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--help-man") == 0 || strcmp(a, "--help-completion") == 0) {
			const char *prog = argv[0] ? strrchr(argv[0], '/') : NULL;
			prog = prog ? prog + 1 : argv[0];
			if (a[7] == 'm')
				ff_config_man(fields, stdout, prog);
			else
				ff_config_completion(fields, stdout, prog);
			ff_config_free(fields, obj);
			exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1);
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			args.help = true;
		} else if (strcmp(a, "--version") == 0) {
			args.version = args.help = true; /* a program that ignores it never starts */
		} else if (strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				ff_seterr(errbuf, errlen, "command line: --config needs a file name");
				rc = FF_ERR_CONFIG;
				goto out;
			}
			args.config_path = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			args.config_path = a + 9;
		} else if (strcmp(a, "--set") == 0) {
			i++; /* skip its argument */
		}
	}
	if (args.config_path) {
		rc = ff_config_load_file(fields, obj, args.config_path, errbuf, errlen);
		if (rc != FF_OK)
			goto out;
	}

	/* pass 2: overrides in order, positionals to the front */
	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		const char *key, *value = NULL;
		size_t keylen;
		const ff_config_field *f, *secret_file;

		if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
			argv[1 + npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0)
			continue;
		if (strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		if (strcmp(a, "--set") == 0) {
			const char *eq;
			if (i + 1 >= argc || !(eq = strchr(argv[i + 1], '=')) || eq == argv[i + 1]) {
				ff_seterr(errbuf, errlen, "command line: --set needs key=value");
				rc = FF_ERR_CONFIG;
				goto out;
			}
			key = argv[++i];
			keylen = (size_t)(eq - key);
			value = eq + 1;
		} else if (strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a + 2, '=');
			key = a + 2;
			keylen = eq ? (size_t)(eq - key) : strlen(key);
			if (eq)
				value = eq + 1;
		} else {
			ff_seterr(errbuf, errlen, "command line: unknown option '%s'", a);
			rc = FF_ERR_CONFIG;
			goto out;
		}

		f = find_field(fields, key, keylen);
		if (!f && (secret_file = find_secret_file(fields, key, keylen))) {
			if (!value && i + 1 >= argc) {
				ff_seterr(errbuf, errlen, "command line: key '%s_file' needs a file name",
					  secret_file->key);
				rc = FF_ERR_CONFIG;
				goto out;
			}
			rc = store_secret_file(secret_file, obj, value ? value : argv[++i], "command line",
					       NULL, errbuf, errlen);
			if (rc != FF_OK)
				goto out;
			continue;
		}
		if (!f && !value && keylen > 3 && strncmp(key, "no-", 3) == 0) {
			f = find_field(fields, key + 3, keylen - 3);
			if (f && f->type == FF_CFG_BOOL) {
				*(bool *)((char *)obj + f->offset) = false;
				continue;
			}
			f = NULL;
		}
		if (!f) {
			ff_seterr(errbuf, errlen, "command line: unknown key '%.*s'", (int)keylen, key);
			rc = FF_ERR_CONFIG;
			goto out;
		}
		if (!value) {
			if (f->type == FF_CFG_BOOL) {
				value = "true";
			} else if (i + 1 < argc) {
				value = argv[++i];
			} else {
				ff_seterr(errbuf, errlen, "command line: key '%s' needs a value", f->key);
				rc = FF_ERR_CONFIG;
				goto out;
			}
		}
		rc = store_value(f, obj, value, "command line", NULL, errbuf, errlen);
		if (rc != FF_OK)
			goto out;
	}
	if (!args.help) {
		rc = ff_config_check_required(fields, obj, errbuf, errlen);
		if (rc != FF_OK)
			goto out;
	}
out:
	args.npositional = npos;
	args.positional = argc > 0 ? argv + 1 : NULL;
	if (out)
		*out = args;
	return rc;
}

static void help_env_line(const ff_config_field *fields, FILE *out);

void ff_config_help(const ff_config_field *fields, FILE *out)
{
	for (const ff_config_field *f = fields; f->key; f++) {
		char opt[96];
		snprintf(opt, sizeof(opt), "--%s=<%s>", f->key, type_name(f->type));
		fprintf(out, "  %-32s %s", opt, f->help ? f->help : "");
		if (f->def || has_range(f) || (f->flags & FF_CFG_REQUIRED)) {
			const char *sep = "";
			fputs(" (", out);
			if (f->flags & FF_CFG_REQUIRED) {
				fputs("required", out);
				sep = "; ";
			}
			if (f->def) {
				fprintf(out, "%sdefault: %s", sep, *f->def ? f->def : "\"\"");
				sep = "; ";
			}
			if (has_range(f)) {
				if (f->type == FF_CFG_STRING || f->type == FF_CFG_PATH)
					fprintf(out, "%slength %g..%g", sep, f->min, f->max);
				else
					fprintf(out, "%srange %g..%g", sep, f->min, f->max);
			}
			fputc(')', out);
		}
		fputc('\n', out);
		if (secret_value(f)) {
			char env[96];
			env_name(f, env, sizeof(env));
			snprintf(opt, sizeof(opt), "--%s_file=<path>", f->key);
			fprintf(out, "  %-32s %s read from a file (one line; also %s_file = PATH in a "
				     "config file), or from $%s\n", opt, f->key, f->key, env);
		}
	}
	help_env_line(fields, out);
}

/* The one line of --help on the environment, naming the fields left out. */
static void help_env_line(const ff_config_field *fields, FILE *out)
{
	const char *sep;
	char name[96], example[128] = "";
	for (const ff_config_field *f = fields; f->key && !*example; f++)
		if (field_env(f, name, sizeof(name)))
			snprintf(example, sizeof(example), "e.g. $%s", name);
	fprintf(out, "  Environment: $FF_<KEY in capitals> sets KEY when not empty (%s", example);
	sep = *example ? "; not: " : "not: ";
	for (const ff_config_field *f = fields; f->key; f++) {
		if (field_env(f, name, sizeof(name)))
			continue;
		fprintf(out, "%s%s", sep, f->key);
		sep = ", ";
	}
	fputs("); precedence: default < environment < config file < command line\n", out);
}

void ff_config_version(FILE *out, const char *program)
{
	fprintf(out, "%s %s\n", program && *program ? program : "facefleet", FF_VERSION);
}

void ff_config_dump(const ff_config_field *fields, const void *obj, FILE *out)
{
	for (const ff_config_field *f = fields; f->key; f++) {
		const char *member = (const char *)obj + f->offset;
		if (f->flags & FF_CFG_SECRET) {
			fprintf(out, "%s = ***\n", f->key);
			continue;
		}
		switch (f->type) {
		case FF_CFG_STRING:
		case FF_CFG_PATH: {
			const char *v = *(char *const *)member;
			fprintf(out, "%s = \"%s\"\n", f->key, v ? v : "");
			break;
		}
		case FF_CFG_INT: fprintf(out, "%s = %d\n", f->key, *(const int *)member); break;
		case FF_CFG_INT64:
			fprintf(out, "%s = %lld\n", f->key, (long long)*(const int64_t *)member);
			break;
		case FF_CFG_BOOL:
			fprintf(out, "%s = %s\n", f->key, *(const bool *)member ? "true" : "false");
			break;
		case FF_CFG_DOUBLE: fprintf(out, "%s = %.17g\n", f->key, *(const double *)member); break;
		}
	}
}

void ff_config_free(const ff_config_field *fields, void *obj)
{
	if (!fields || !obj)
		return;
	for (const ff_config_field *f = fields; f->key; f++) {
		if (f->type == FF_CFG_STRING || f->type == FF_CFG_PATH) {
			char **member = (char **)((char *)obj + f->offset);
			free(*member);
			*member = NULL;
		}
	}
}


/* ---- man page and bash completion ------------------------------------------ */

/* Text for a roff line: backslashes doubled as \e, a leading '.' or '\''
 * protected, '-' kept (prose); opt: '-' as \- (option names). */
static void roff_text(FILE *out, const char *s, bool opt)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-' && opt)
			fputs("\\-", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

/* "--key" in the command line's spelling: '_' as '-'. */
static void opt_name(const char *key, const char *suffix, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *k = "--"; *k && o + 1 < cap; k++)
		out[o++] = *k;
	for (const char *k = key; *k && o + 1 < cap; k++)
		out[o++] = *k == '_' ? '-' : *k;
	for (const char *k = suffix ? suffix : ""; *k && o + 1 < cap; k++)
		out[o++] = *k == '_' ? '-' : *k;
	out[o] = '\0';
}

void ff_config_man(const ff_config_field *fields, FILE *out, const char *program)
{
	char opt[128], env[96], example[96] = "FF_LOG_LEVEL";

	(void)program;
	fputs(".SH OPTIONS\n"
	      "Every setting below is a key of the configuration file (\\fIkey\\fR = \\fIvalue\\fR\n"
	      "lines, \\fB#\\fR comments), a command-line option and an environment variable.\n"
	      "On the command line \\fB\\-\\-\\fIkey\\fB=\\fIvalue\\fR, \\fB\\-\\-\\fIkey value\\fR and\n"
	      "\\fB\\-\\-set \\fIkey\\fB=\\fIvalue\\fR are the same; '\\-' and '_' are interchangeable\n"
	      "in keys; a boolean may be given bare (\\fB\\-\\-\\fIkey\\fR) or negated\n"
	      "(\\fB\\-\\-no\\-\\fIkey\\fR).\n"
	      "Precedence: default < environment < configuration file < command line.\n"
	      ".TP\n\\fB\\-\\-config\\fR \\fIFILE\\fR\n"
	      "Read settings from \\fIFILE\\fR; relative paths in it are relative to its folder.\n"
	      ".TP\n\\fB\\-\\-set\\fR \\fIkey\\fB=\\fIvalue\\fR\nSet one key.\n"
	      ".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\nPrint the options and exit.\n"
	      ".TP\n\\fB\\-\\-version\\fR\nPrint the version and exit.\n"
	      ".TP\n\\fB\\-\\-help\\-man\\fR, \\fB\\-\\-help\\-completion\\fR\n"
	      "Print this page's options as roff, or a bash completion script, and exit.\n",
	      out);
	for (const ff_config_field *f = fields; f->key; f++) {
		bool has_env = field_env(f, env, sizeof(env));
		opt_name(f->key, NULL, opt, sizeof(opt));
		fputs(".TP\n\\fB", out);
		roff_text(out, opt, true);
		fprintf(out, "\\fR=\\fI%s\\fR\n", type_name(f->type));
		roff_text(out, f->help && *f->help ? f->help : f->key, false);
		fputs(".\n", out);
		if ((f->flags & FF_CFG_REQUIRED) && (f->type == FF_CFG_STRING || f->type == FF_CFG_PATH))
			fputs("Required.\n", out);
		if (f->def && *f->def) {
			fputs("Default: \\fB", out);
			roff_text(out, f->def, false);
			fputs("\\fR.\n", out);
		}
		if (has_range(f))
			fprintf(out, "%s %.15g to %.15g.\n",
				f->type == FF_CFG_STRING || f->type == FF_CFG_PATH ? "Length" : "Range",
				f->min, f->max);
		if (f->type == FF_CFG_BOOL) {
			opt_name("no_", f->key, opt, sizeof(opt));
			fputs("Negated by \\fB", out);
			roff_text(out, opt, true);
			fputs("\\fR.\n", out);
		}
		if (secret_value(f)) {
			opt_name(f->key, "_file", opt, sizeof(opt));
			fputs("A secret: also read from a file (its one line) with \\fB", out);
			roff_text(out, opt, true);
			fputs("=\\fIPATH\\fR or \\fB", out);
			roff_text(out, f->key, false);
			fputs("_file = \\fIPATH\\fR in the configuration file; never shown by a dump.\n", out);
		}
		if (has_env) {
			fputs("Environment: \\fB", out);
			roff_text(out, env, false);
			fputs("\\fR.\n", out);
		}
	}
	for (const ff_config_field *f = fields; f->key; f++)
		if (field_env(f, env, sizeof(env))) {
			snprintf(example, sizeof(example), "%s", env);
			break;
		}
	fputs(".SH ENVIRONMENT\n"
	      "Each setting \\fIkey\\fR may also come from the variable \\fBFF_\\fIKEY\\fR\n"
	      "(the key in capitals, e.g. \\fB",
	      out);
	roff_text(out, example, false);
	fputs("\\fR) when it is set and not empty; it is checked as a\n"
	      "configuration file's value is, and a configuration file or the command line wins.\n",
	      out);
	{
		const char *sep = "Not read from the environment: ";
		for (const ff_config_field *f = fields; f->key; f++) {
			if (field_env(f, env, sizeof(env)))
				continue;
			fputs(sep, out);
			fputs("\\fB", out);
			roff_text(out, env, false);
			fputs("\\fR", out);
			sep = ", ";
		}
		if (*sep == ',')
			fputs(" (these names have another meaning in facefleet's tooling).\n", out);
	}
}

/* A shell word for name: letters, digits and '_' ('-' and others as '_'). */
static void shell_ident(const char *name, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *k = name ? name : "prog"; *k && o + 1 < cap; k++)
		out[o++] = isalnum((unsigned char)*k) ? *k : '_';
	out[o] = '\0';
}

void ff_config_completion(const ff_config_field *fields, FILE *out, const char *program)
{
	char id[128], opt[128];
	const char *prog = program && *program ? program : "facefleet";

	shell_ident(prog, id, sizeof(id));
	fprintf(out, "# bash completion for %s, generated from its option table (%s --help-completion)\n",
		prog, prog);
	fprintf(out, "_ff_complete_%s()\n{\n", id);
	fputs("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" i w o\n", out);
	fputs("\tlocal opts=\"--config --set --help --version", out);
	for (const ff_config_field *f = fields; f->key; f++) {
		opt_name(f->key, NULL, opt, sizeof(opt));
		fprintf(out, " %s", opt);
		if (f->type == FF_CFG_BOOL) {
			opt_name("no_", f->key, opt, sizeof(opt));
			fprintf(out, " %s", opt);
		}
		if (secret_value(f)) {
			opt_name(f->key, "_file", opt, sizeof(opt));
			fprintf(out, " %s", opt);
		}
	}
	fputs("\"\n\t# options followed by a file name, and by any value\n", out);
	fputs("\tlocal paths=\" --config", out);
	for (const ff_config_field *f = fields; f->key; f++) {
		if (f->type == FF_CFG_PATH) {
			opt_name(f->key, NULL, opt, sizeof(opt));
			fprintf(out, " %s", opt);
		}
		if (secret_value(f)) {
			opt_name(f->key, "_file", opt, sizeof(opt));
			fprintf(out, " %s", opt);
		}
	}
	fputs(" \"\n\tlocal values=\" --set", out);
	for (const ff_config_field *f = fields; f->key; f++) {
		if (f->type != FF_CFG_BOOL && f->type != FF_CFG_PATH) {
			opt_name(f->key, NULL, opt, sizeof(opt));
			fprintf(out, " %s", opt);
		}
	}
	fputs(" \"\n", out);
	fputs("\tCOMPREPLY=()\n"
	      "\t[ \"$COMP_CWORD\" -gt 0 ] && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
	      "\t# --key=VALUE: bash splits at '=' (COMP_WORDBREAKS)\n"
	      "\tif [ \"$prev\" = \"=\" ] && [ \"$COMP_CWORD\" -gt 1 ]; then\n"
	      "\t\to=\"${COMP_WORDS[COMP_CWORD-2]//_/-}\"\n"
	      "\t\t[[ \"$paths\" == *\" $o \"* ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\tcase \"$cur\" in\n"
	      "\t--*=*)\n"
	      "\t\to=\"${cur%%=*}\"; o=\"${o//_/-}\"\n"
	      "\t\t[[ \"$paths\" == *\" $o \"* ]] && COMPREPLY=($(compgen -f -P \"${cur%%=*}=\" -- \"${cur#*=}\"))\n"
	      "\t\treturn 0;;\n"
	      "\t-*)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\t\treturn 0;;\n"
	      "\tesac\n"
	      "\to=\"${prev//_/-}\"\n"
	      "\tif [[ \"$paths\" == *\" $o \"* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\t[[ \"$values\" == *\" $o \"* ]] && return 0\n",
	      out);
	fprintf(out,
		"\tdeclare -F _ff_words_%s >/dev/null || { COMPREPLY=($(compgen -f -- \"$cur\")); return 0; }\n"
		"\t# the positional words so far: options and their values skipped\n"
		"\tlocal pos=()\n"
		"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		"\t\tw=\"${COMP_WORDS[i]}\"\n"
		"\t\tcase \"$w\" in\n"
		"\t\t=) ;;\n"
		"\t\t-*) o=\"${w//_/-}\"\n"
		"\t\t\tif [[ \"$paths$values\" == *\" $o \"* ]] && [ \"${COMP_WORDS[i+1]}\" != \"=\" ]; then i=$((i + 1)); fi;;\n"
		"\t\t*) [ \"${COMP_WORDS[i-1]}\" = \"=\" ] || pos+=(\"$w\");;\n"
		"\t\tesac\n"
		"\tdone\n"
		"\tCOMPREPLY=($(compgen -W \"$(_ff_words_%s \"${pos[@]}\")\" -- \"$cur\"))\n"
		"\treturn 0\n}\n",
		id, id);
	fprintf(out, "complete -F _ff_complete_%s %s\n", id, prog);
}
