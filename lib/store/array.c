/* PostgreSQL array literals (facefleet/store.h). */
#include "facefleet/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"

static void add(ff_pg_array *a, const char *s, size_t n)
{
	if (a->oom)
		return;
	if (a->len + n + 1 > a->cap) {
		size_t ncap = (a->cap ? a->cap * 2 : 256) + n;
		char *np = realloc(a->p, ncap);
		if (!np) {
			a->oom = true;
			return;
		}
		a->p = np;
		a->cap = ncap;
	}
	memcpy(a->p + a->len, s, n);
	a->len += n;
	a->p[a->len] = '\0';
}

static void sep(ff_pg_array *a)
{
	if (a->n++)
		add(a, ",", 1);
}

void ff_pg_array_begin(ff_pg_array *a)
{
	a->len = 0;
	a->n = 0;
	a->oom = false;
	add(a, "{", 1);
}

void ff_pg_array_text(ff_pg_array *a, const char *s)
{
	sep(a);
	if (!s) {
		add(a, "NULL", 4);
		return;
	}
	add(a, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			add(a, "\\", 1);
		add(a, s, 1);
	}
	add(a, "\"", 1);
}

void ff_pg_array_i64(ff_pg_array *a, int64_t v)
{
	char b[24];
	sep(a);
	add(a, b, (size_t)snprintf(b, sizeof(b), "%" PRId64, v));
}

int ff_pg_array_end(ff_pg_array *a)
{
	add(a, "}", 1);
	return a->oom ? FF_ERR_NOMEM : FF_OK;
}

void ff_pg_array_free(ff_pg_array *a)
{
	free(a->p);
	*a = (ff_pg_array)FF_PG_ARRAY_INITIALIZER;
}
