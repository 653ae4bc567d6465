/* fleetctl/output.c: query results as an aligned table, JSON lines or CSV;
 * every JSON text fleetctl prints or audits is built with cJSON. */
#include "fleetctl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facefleet/text.h"

/* PostgreSQL type oids (pg_type.h is a server header) */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

bool fc_format_parse(const char *s, fc_format *out)
{
	static const char *names[] = { "table", "json", "csv" };
	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, names[i]) == 0) {
			*out = (fc_format)i;
			return true;
		}
	return false;
}

char *fc_json_take(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

bool fc_json_line(cJSON *o)
{
	char *t = fc_json_take(o);
	if (!t)
		return false;
	puts(t);
	cJSON_free(t);
	return true;
}

bool fc_report(const fc_ctx *ctx, cJSON *o, const char *fmt, ...)
{
	va_list ap;
	if (fc_ctx_format(ctx) == FC_FMT_JSON) {
		if (o && fc_json_line(o))
			return true;
		fc_fail(FF_EXIT_FAIL, "out of memory");
		return false;
	}
	cJSON_Delete(o);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	return true;
}

bool fc_json_add_fixed(cJSON *o, const char *key, double v, int decimals)
{
	char t[64];
	if (!isfinite(v))
		return cJSON_AddNullToObject(o, key) != NULL;
	snprintf(t, sizeof(t), "%.*f", decimals, v);
	return cJSON_AddRawToObject(o, key, t) != NULL;
}

bool fc_audit_json(fc_ctx *ctx, const char *action, const char *subject, cJSON *detail)
{
	char *t = fc_json_take(detail);
	bool ok;
	if (!t) {
		fc_fail(FF_EXIT_FAIL, "out of memory writing the audit row of %s", action);
		return false;
	}
	ok = fc_audit(ctx, action, subject, t);
	cJSON_free(t);
	return ok;
}

bool fc_audit_commit(fc_ctx *ctx, const char *action, const char *subject, cJSON *detail, bool *in_tx)
{
	if (!fc_audit_json(ctx, action, subject, detail) || !fc_sql_ok(ctx, "COMMIT", 0, NULL))
		return false;
	*in_tx = false;
	return true;
}

static void csv_put(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

const char *fc_safe(char *buf, size_t cap, const char *s)
{
	return ff_sanitize(buf, cap, s ? s : "", s ? strlen(s) : 0);
}

static bool is_number(Oid t)
{
	return t == OID_INT2 || t == OID_INT4 || t == OID_INT8 || t == OID_FLOAT4 || t == OID_FLOAT8 ||
	       t == OID_NUMERIC;
}

void fc_print_result(const PGresult *r, fc_format fmt)
{
	int rows = PQntuples(r), cols = PQnfields(r);
	if (fmt == FC_FMT_JSON) {
		for (int i = 0; i < rows; i++) {
			cJSON *o = cJSON_CreateObject();
			for (int c = 0; c < cols; c++) {
				Oid t = PQftype(r, c);
				const char *k = PQfname(r, c), *v = PQgetvalue(r, i, c);
				if (PQgetisnull(r, i, c))
					cJSON_AddNullToObject(o, k);
				else if (t == OID_BOOL)
					cJSON_AddBoolToObject(o, k, v[0] == 't');
				else if (is_number(t) || t == OID_JSON || t == OID_JSONB)
					cJSON_AddRawToObject(o, k, v); /* PostgreSQL's text is JSON */
				else
					cJSON_AddStringToObject(o, k, v);
			}
			if (!fc_json_line(o)) {
				fc_fail(FF_EXIT_FAIL, "out of memory printing row %d", i + 1);
				return;
			}
		}
		return;
	}
	if (fmt == FC_FMT_CSV) {
		for (int c = 0; c < cols; c++) {
			if (c)
				fputc(',', stdout);
			csv_put(stdout, PQfname(r, c));
		}
		fputc('\n', stdout);
		for (int i = 0; i < rows; i++) {
			for (int c = 0; c < cols; c++) {
				char v[1024];
				if (c)
					fputc(',', stdout);
				csv_put(stdout, fc_safe(v, sizeof(v), PQgetvalue(r, i, c)));
			}
			fputc('\n', stdout);
		}
		return;
	}
	int *w = calloc((size_t)(cols ? cols : 1), sizeof(int));
	if (!w)
		return;
	/* cells as shown: control characters and terminal escapes as \xNN */
	for (int c = 0; c < cols; c++) {
		w[c] = (int)strlen(PQfname(r, c));
		for (int i = 0; i < rows; i++) {
			char v[256];
			int l = (int)strlen(fc_safe(v, sizeof(v), PQgetvalue(r, i, c)));
			if (l > w[c])
				w[c] = l > 60 ? 60 : l;
		}
	}
	for (int c = 0; c < cols; c++)
		printf("%-*s%s", w[c], PQfname(r, c), c + 1 < cols ? "  " : "\n");
	for (int i = 0; i < rows; i++)
		for (int c = 0; c < cols; c++) {
			char v[256];
			fc_safe(v, sizeof(v), PQgetvalue(r, i, c));
			if (is_number(PQftype(r, c)))
				printf("%*.*s%s", w[c], w[c], v, c + 1 < cols ? "  " : "\n");
			else
				printf("%-*.*s%s", w[c], w[c], v, c + 1 < cols ? "  " : "\n");
		}
	if (rows == 0)
		printf("(no rows)\n");
	free(w);
}
