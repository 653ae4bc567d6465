/* facefleet/config.h: one table-driven configuration parser (the redis
 * pattern). A program describes its settings once, as a table of
 * ff_config_field rows pointing into its own config struct; the same table
 * drives defaults, the `key = value` file, command-line overrides,
 * validation and the --help text.
 *
 *   struct dev_cfg { char *mqtt_url; int min_face_px; bool tls; double det; };
 *   static const ff_config_field fields[] = {
 *     { "mqtt_url", FF_CFG_STRING, offsetof(struct dev_cfg, mqtt_url),
 *       "tcp://127.0.0.1:18883", 0, 0, "broker URL", FF_CFG_REQUIRED },
 *     { "min_face_px", FF_CFG_INT, offsetof(struct dev_cfg, min_face_px),
 *       "40", 8, 4096, "smallest face side in pixels", 0 },
 *     FF_CONFIG_END
 *   };
 *
 * File syntax: one `key = value` per line; blank lines and lines whose first
 * non-blank character is '#' are ignored (no trailing comments: '#' inside a
 * value is part of it); a value may be wrapped in double quotes to keep
 * leading/trailing blanks. A key may appear once per file.
 * Command line: --config FILE (or --config=FILE), --key=value, --key value,
 * --set key=value, and for booleans a bare --key (true) or --no-key (false).
 * In command-line keys '-' and '_' are interchangeable.
 * Precedence: defaults < environment < file < command line (last one wins).
 *
 * Environment: every field KEY may also come from FF_<KEY in capitals>
 * (mqtt_url: FF_MQTT_URL; a bool: true/false, yes/no, on/off, 1/0), when set
 * and not empty; the value is checked as a file's is (a bad one is a usage
 * error naming the variable). Not read: fields flagged FF_CFG_NOENV, and the
 * names the project's tooling sets with another meaning (FF_MODELS_DIR, the
 * models cache root that CTest gives every test; FF_SOURCE_DIR, FF_BUILD_DIR,
 * FF_TEST_*, FF_STACK_*). Only ff_config_parse_args reads the environment.
 *
 * Secrets (STRING fields flagged FF_CFG_SECRET: passwords, conninfo strings)
 * need never be on a command line, where `ps` shows them: each may also come
 *   - from a file: `KEY_file = PATH` in a config file (relative to the file's
 *     folder) or --KEY-file=PATH: the file's first line, its line break
 *     dropped (a regular file of at most 64 KiB and one line; never echoed
 *     in messages). KEY and KEY_file in one file are a duplicate;
 *   - from the environment, as every field: FF_<KEY in capitals>
 *     (mqtt_password: FF_MQTT_PASSWORD); a file or the command line still wins.
 * --help lists the --KEY-file option and the variable of each secret, and
 * ends with one line on the environment.
 * --help-man and --help-completion write the table as roff (ff_config_man)
 * or as a bash completion script (ff_config_completion) on stdout and exit
 * the process with status 0 from inside ff_config_parse_args, so that every
 * program has them without code of its own (the build generates the man
 * pages and completions with them: man/generate).
 * --version sets ff_config_args.version (and help, so a program that does
 * not handle it stops as for --help instead of starting):
 * ff_config_version prints the one version string.
 *
 * Storage per type: STRING and PATH -> char * (heap, owned; release with
 * ff_config_free), INT -> int, INT64 -> int64_t, BOOL -> bool, DOUBLE -> double.
 * PATH values that are relative in a file are resolved against the file's
 * folder; on the command line they are kept as given.
 * Errors are FF_ERR_CONFIG (or FF_ERR_NOTFOUND / FF_ERR_IO for the file) with
 * a one-line message in errbuf naming file:line (or "command line") and key. */
#ifndef FACEFLEET_CONFIG_H
#define FACEFLEET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ff_config_type {
	FF_CFG_STRING = 0,
	FF_CFG_PATH,
	FF_CFG_INT,
	FF_CFG_INT64,
	FF_CFG_BOOL,
	FF_CFG_DOUBLE
} ff_config_type;

/* flags */
#define FF_CFG_REQUIRED 0x1u /* STRING/PATH: must end non-empty (no effect on other types) */
#define FF_CFG_SECRET 0x2u   /* ff_config_dump prints "***" instead of the value; a STRING
			      * one also comes from KEY_file (see above) */
#define FF_CFG_NOENV 0x4u    /* never read from FF_<KEY> (the name means something else) */

typedef struct ff_config_field {
	const char *key;      /* lowercase snake_case; NULL ends the table */
	ff_config_type type;
	size_t offset;        /* offsetof(your_struct, member) */
	const char *def;      /* default as text; NULL = none (0, false, NULL) */
	double min, max;      /* numbers: allowed range; strings: length range;
			       * min == max == 0 means unbounded */
	const char *help;     /* one line for --help */
	unsigned flags;       /* FF_CFG_REQUIRED, FF_CFG_SECRET */
} ff_config_field;

#define FF_CONFIG_END { NULL, FF_CFG_STRING, 0, NULL, 0, 0, NULL, 0 }

/* What ff_config_parse_args found besides settings. */
typedef struct ff_config_args {
	const char *config_path; /* --config value, or NULL */
	bool help;               /* --help or -h (or --version) was given */
	bool version;            /* --version was given: ff_config_version, exit 0 */
	int npositional;         /* arguments that are not options, in order; */
	char **positional;       /* they are moved to the front of argv */
} ff_config_args;

/* Zero-initialise obj yourself, then call this once: sets every field to its
 * default. Returns FF_OK, FF_ERR_CONFIG (a default fails validation: a table
 * bug), FF_ERR_NOMEM. */
int ff_config_defaults(const ff_config_field *fields, void *obj, char *errbuf, size_t errlen);

/* Applies a `key = value` file over obj. Returns FF_OK, FF_ERR_NOTFOUND (no
 * such file), FF_ERR_IO, FF_ERR_CONFIG (syntax, unknown key, bad value, out of
 * range, duplicate key), FF_ERR_NOMEM. */
int ff_config_load_file(const ff_config_field *fields, void *obj, const char *path,
			char *errbuf, size_t errlen);
/* Same from a string; name is used in messages ("<name>:<line>"). */
int ff_config_load_string(const ff_config_field *fields, void *obj, const char *text,
			  const char *name, char *errbuf, size_t errlen);

/* Sets one key from text (origin names the source in messages, may be NULL).
 * Returns FF_OK, FF_ERR_CONFIG (unknown key or bad value), FF_ERR_NOMEM. */
int ff_config_set(const ff_config_field *fields, void *obj, const char *key, const char *value,
		  const char *origin, char *errbuf, size_t errlen);

/* Full command-line handling: defaults, then --config FILE, then the
 * overrides in order, then the FF_CFG_REQUIRED check (skipped when --help is
 * given). argv[0] is skipped; "--" ends options. Non-option arguments are
 * moved to the front of argv[1..] and reported in out. Returns FF_OK or one of
 * the codes above; on error the message is in errbuf (usage error: exit 2). */
int ff_config_parse_args(const ff_config_field *fields, void *obj, int argc, char **argv,
			 ff_config_args *out, char *errbuf, size_t errlen);

/* Checks FF_CFG_REQUIRED fields. Returns FF_OK or FF_ERR_CONFIG. */
int ff_config_check_required(const ff_config_field *fields, const void *obj, char *errbuf,
			     size_t errlen);

/* Writes one help line per field: "  --key=<type>  help (default: x; range a..b)",
 * then one line saying that each also comes from $FF_<KEY>. */
void ff_config_help(const ff_config_field *fields, FILE *out);
/* Writes the options as man(7) roff: an OPTIONS section (--config, --set,
 * --help, --version, then one .TP per field with its type, default, range and
 * variable) and an ENVIRONMENT section. program: for the examples (NULL ok). */
void ff_config_man(const ff_config_field *fields, FILE *out, const char *program);
/* Writes a bash completion script for program (complete -F): every --option
 * (bools also --no-KEY, secrets also --KEY-file), file names after path
 * options. Positional words come from a function _ff_words_<program, '-' as
 * '_'> when one is defined: called with the positional words so far, it
 * prints the candidates (fleetctl's nouns and verbs, generated by the build). */
void ff_config_completion(const ff_config_field *fields, FILE *out, const char *program);
/* Writes the effective settings as a loadable `key = value` file. */
void ff_config_dump(const ff_config_field *fields, const void *obj, FILE *out);

/* Writes "<program> <version>\n": FF_VERSION of the generated
 * facefleet/version.h, CMake's project version, the same for every program. */
void ff_config_version(FILE *out, const char *program);

/* Frees the STRING/PATH members of obj and sets them to NULL. */
void ff_config_free(const ff_config_field *fields, void *obj);

#ifdef __cplusplus
}
#endif
#endif
