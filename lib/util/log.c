/* One-line key=value logging to stderr (facefleet/log.h). */
#include "facefleet/log.h"
#include "facefleet/error.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FF_LOG_LINE_MAX 4096

static atomic_int g_level = -1; /* -1: not yet read from FF_LOG_LEVEL */
static FILE *_Atomic g_stream;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

const char *ff_log_level_name(ff_log_level level)
{
	if ((int)level < 0 || (int)level > (int)FF_LOG_OFF)
		return "?";
	return level_names[level];
}

int ff_log_level_parse(const char *text, ff_log_level *out)
{
	if (!text || !out)
		return FF_ERR_INVAL;
	for (int i = 0; i <= (int)FF_LOG_OFF; i++) {
		if (strcasecmp(text, level_names[i]) == 0) {
			*out = (ff_log_level)i;
			return FF_OK;
		}
	}
	if (strcasecmp(text, "warning") == 0) {
		*out = FF_LOG_WARN;
		return FF_OK;
	}
	return FF_ERR_INVAL;
}

void ff_log_set_level(ff_log_level level)
{
	atomic_store(&g_level, (int)level);
}

ff_log_level ff_log_get_level(void)
{
	int lvl = atomic_load(&g_level);
	if (lvl < 0) {
		ff_log_level parsed = FF_LOG_INFO;
		const char *env = getenv("FF_LOG_LEVEL");
		if (env)
			(void)ff_log_level_parse(env, &parsed);
		int expected = -1;
		atomic_compare_exchange_strong(&g_level, &expected, (int)parsed);
		lvl = atomic_load(&g_level);
	}
	return (ff_log_level)lvl;
}

void ff_log_set_stream(FILE *stream)
{
	atomic_store(&g_stream, stream);
}

size_t ff_log_format(char *buf, size_t len, const struct timespec *ts, ff_log_level level,
		     const char *component, const char *fmt, va_list ap)
{
	struct tm tm;
	size_t cap, n, want;
	int w;

	if (!buf || len < 16)
		return 0;
	cap = len - 2; /* room for '\n' and NUL */
	gmtime_r(&ts->tv_sec, &tm);
	w = snprintf(buf, cap + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(ts->tv_nsec / 1000000), ff_log_level_name(level),
		     component && *component ? component : "-");
	want = w > 0 ? (size_t)w : 0;
	n = want < cap ? want : cap;
	if (n < cap) {
		w = vsnprintf(buf + n, cap + 1 - n, fmt, ap);
		want += w > 0 ? (size_t)w : 0;
		n = want < cap ? want : cap;
	}
	/* one call, one line: no embedded newlines or carriage returns */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	if (want > cap) {
		memcpy(buf + cap - 3, "...", 3);
		n = cap;
	} else {
		while (n > 0 && buf[n - 1] == ' ')
			n--;
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

void ff_logv(ff_log_level level, const char *component, const char *fmt, va_list ap)
{
	char line[FF_LOG_LINE_MAX];
	struct timespec ts;
	size_t n;
	FILE *out;

	if ((int)level < (int)ff_log_get_level() || level >= FF_LOG_OFF)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = ff_log_format(line, sizeof(line), &ts, level, component, fmt, ap);
	out = atomic_load(&g_stream);
	if (!out)
		out = stderr;
	/* a single fwrite of the whole line keeps concurrent lines whole */
	flockfile(out);
	fwrite(line, 1, n, out);
	fflush(out);
	funlockfile(out);
}

void ff_log(ff_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ff_logv(level, component, fmt, ap);
	va_end(ap);
}

const char *ff_log_quote(char *buf, size_t len, const char *value)
{
	size_t o = 0;
	int plain = 1;

	if (!buf || len == 0)
		return buf;
	if (!value)
		value = "";
	if (!*value)
		plain = 0;
	for (const char *p = value; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || iscntrl((unsigned char)*p))
			plain = 0;
	if (plain) {
		snprintf(buf, len, "%s", value);
		return buf;
	}
	if (len < 3) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	/* room for this character (2 if escaped), the closing quote and NUL */
	for (const char *p = value; *p; p++) {
		char c = *p;
		bool esc = c == '"' || c == '\\' || c == '\n';
		if (o + (esc ? 2u : 1u) + 2u > len)
			break;
		if (esc) {
			buf[o++] = '\\';
			buf[o++] = c == '\n' ? 'n' : c;
		} else {
			buf[o++] = iscntrl((unsigned char)c) ? '?' : c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
