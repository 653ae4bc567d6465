/* fleetctl/output.c: query results as an aligned table, JSON lines or CSV. */
#include "fleetctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void json_put(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

char *fc_json_str(char *buf, size_t cap, const char *s)
{
	FILE *f = fmemopen(buf, cap, "w");
	if (!f) {
		snprintf(buf, cap, "\"\"");
		return buf;
	}
	json_put(f, s ? s : "");
	fclose(f);
	return buf;
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
			fputc('{', stdout);
			for (int c = 0; c < cols; c++) {
				Oid t = PQftype(r, c);
				const char *v = PQgetvalue(r, i, c);
				if (c)
					fputc(',', stdout);
				json_put(stdout, PQfname(r, c));
				fputc(':', stdout);
				if (PQgetisnull(r, i, c))
					fputs("null", stdout);
				else if (t == OID_BOOL)
					fputs(v[0] == 't' ? "true" : "false", stdout);
				else if (is_number(t) || t == OID_JSON || t == OID_JSONB)
					fputs(v, stdout);
				else
					json_put(stdout, v);
			}
			fputs("}\n", stdout);
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
