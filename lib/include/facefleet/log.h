/* facefleet/log.h: one line per event on stderr,
 *
 *   2026-11-23T17:40:00.123Z info mqtt event=connected url=tcp://127.0.0.1:18883
 *
 * i.e. UTC timestamp with milliseconds, level, component, then the caller's
 * text, by convention key=value pairs (quote values that contain spaces with
 * ff_log_quote). Newlines in the text are replaced by spaces so one call is
 * always one line. Thread-safe: each line is written with a single write. */
#ifndef FACEFLEET_LOG_H
#define FACEFLEET_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ff_log_level {
	FF_LOG_DEBUG = 0,
	FF_LOG_INFO = 1,
	FF_LOG_WARN = 2,
	FF_LOG_ERROR = 3,
	FF_LOG_OFF = 4 /* as a threshold only: log nothing */
} ff_log_level;

/* Lines below level are dropped. Default FF_LOG_INFO, or the value of the
 * FF_LOG_LEVEL environment variable when it names a level. */
void ff_log_set_level(ff_log_level level);
ff_log_level ff_log_get_level(void);

/* Parses "debug", "info", "warn"/"warning", "error", "off" (any case).
 * Returns FF_OK or FF_ERR_INVAL (out untouched). */
int ff_log_level_parse(const char *text, ff_log_level *out);
/* "debug", "info", "warn", "error", "off"; "?" for anything else. */
const char *ff_log_level_name(ff_log_level level);

/* Redirects output (NULL = back to stderr). Meant for tests. */
void ff_log_set_stream(FILE *stream);

/* Logs one line if level passes the threshold. component: short lowercase
 * name ("device", "mqtt", "store"); NULL prints "-". */
void ff_log(ff_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ff_logv(ff_log_level level, const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Formats one line (with the trailing '\n') for time ts into buf, truncating
 * with "...\n" when it does not fit. Returns the line length (excluding NUL).
 * Exposed so that the format can be tested; ff_log uses it. */
size_t ff_log_format(char *buf, size_t len, const struct timespec *ts, ff_log_level level,
		     const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/* Writes value into buf as a log value: unchanged when it has no spaces,
 * quotes, '=' or control characters, else double-quoted with \" \\ \n escapes.
 * Always NUL-terminates (truncates if needed) and returns buf. */
const char *ff_log_quote(char *buf, size_t len, const char *value);

#define ff_log_debug(comp, ...) ff_log(FF_LOG_DEBUG, comp, __VA_ARGS__)
#define ff_log_info(comp, ...) ff_log(FF_LOG_INFO, comp, __VA_ARGS__)
#define ff_log_warn(comp, ...) ff_log(FF_LOG_WARN, comp, __VA_ARGS__)
#define ff_log_error(comp, ...) ff_log(FF_LOG_ERROR, comp, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
