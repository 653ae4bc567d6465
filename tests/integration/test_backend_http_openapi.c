/* backend_http_openapi: docs/openapi.yaml (written as JSON, which is YAML
 * 1.2, so cJSON reads it without a YAML parser) describes what the server
 * serves: every path and method in it answers something other than 404 or
 * 405 (nor a server error) with an operator token (path parameters filled with objects that
 * exist), and every route of the server is in it (the server answers 404
 * for a path the document does not name, 405 for a method it does not). */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_backend_http_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char site[40], dev[40], ident[48], event_id[64], tok[128];

/* path with each {name} replaced by a real object's id */
static void fill(const char *tmpl, char *out, size_t cap)
{
	size_t o = 0;
	while (*tmpl && o + 1 < cap) {
		if (*tmpl == '{') {
			const char *end = strchr(tmpl, '}');
			const char *v = strncmp(tmpl, "{id}", 4) == 0 ? event_id
				      : strncmp(tmpl, "{device}", 8) == 0 ? dev
				      : strncmp(tmpl, "{identity}", 10) == 0 ? ident
									  : site;
			o += (size_t)snprintf(out + o, cap - o, "%s", v);
			tmpl = end ? end + 1 : tmpl + strlen(tmpl);
		} else {
			out[o++] = *tmpl++;
		}
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static void setup(PGconn *db, bt_proc *be)
{
	char name[48], base[64], topic[160];
	uint8_t buf[512];
	size_t n;
	bt_client *cli;
	const char *p[2] = { ident, NULL };
	snprintf(site, sizeof(site), "%s-oa", bt_run_id());
	snprintf(dev, sizeof(dev), "%s-oad", bt_run_id());
	snprintf(ident, sizeof(ident), "%s-oaperson", bt_run_id());
	snprintf(name, sizeof(name), "%s-oa", bt_run_id());
	CU_ASSERT_FATAL(ht_site(db, site) && bt_add_device(db, dev, site, true));
	CU_ASSERT_FATAL(ht_token(db, name, "operator", NULL, tok, sizeof(tok)));
	CU_ASSERT_FATAL(bt_exec(db, "INSERT INTO identities (external_id, display_name) VALUES ($1, $1)", 1, p));
	CU_ASSERT_FATAL(bt_start(be, "openapi", "openapi", NULL));
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", be->metrics_port);
	ht_base(base, NULL);
	cli = bt_client_new("oa");
	n = bt_face_codes(buf, sizeof(buf), 1, NULL);
	CU_ASSERT(bt_publish(cli, bt_faces_topic(topic, sizeof(topic), site, dev), buf, n));
	p[0] = dev;
	CU_ASSERT_EQUAL(bt_wait_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1",
				     1, p, 1, 15000), 1);
	{
		PGresult *r = PQexecParams(db, "SELECT event_id::text FROM recognition_events WHERE device_id = $1",
					   1, NULL, p, NULL, NULL, 0);
		snprintf(event_id, sizeof(event_id), "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
		PQclear(r);
	}
	bt_client_free(cli);
}

/* A body each method may carry, so the check reaches the handler. */
static ht_reply call(const char *method, const char *path)
{
	if (strstr(path, "/threshold"))
		return ht_call(method, path, tok, "{\"threshold\":null}", 18, "application/json");
	if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/sites") == 0) {
		char b[96];
		snprintf(b, sizeof(b), "{\"site\":\"%s-new\"}", bt_run_id());
		return ht_call(method, path, tok, b, strlen(b), "application/json");
	}
	return ht_call(method, path, tok, NULL, 0, NULL);
}

static void test_openapi(void)
{
	PGconn *db = bt_db();
	bt_proc be;
	char file[1024], path[512], upper[16];
	size_t len = 0;
	char *text;
	cJSON *doc, *paths, *p;
	int checked = 0;
	static const char *const methods[] = { "get", "post", "put", "delete" };
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(file, sizeof(file), "%s/docs/openapi.yaml", getenv("FF_SOURCE_DIR"));
	text = ht_file(file, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	doc = cJSON_Parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "openapi")), "3.0.3");
	paths = cJSON_GetObjectItem(doc, "paths");
	CU_ASSERT_FATAL(cJSON_IsObject(paths));
	setup(db, &be);
	/* DELETE last: the identity and site they remove are used by the others first */
	for (int pass = 0; pass < 2; pass++)
		cJSON_ArrayForEach(p, paths) {
			for (size_t m = 0; m < 4; m++) {
				if (!cJSON_GetObjectItem(p, methods[m]) || (pass == 0) == (m == 3))
					continue;
				fill(p->string, path, sizeof(path));
				for (size_t k = 0; k <= strlen(methods[m]); k++)
					upper[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32 : methods[m][k]);
				ht_reply r = call(upper, path); /* a stream: its first 2 s */
				/* 5xx: the route exists but failed (a missing grant, say) */
				bool served = r.status != 0 && r.status != 404 && r.status != 405 && r.status < 500;
				if (!served)
					fprintf(stderr, "%s %s -> %ld %s\n", upper, path, r.status, r.body);
				CU_ASSERT(served);
				checked++;
				ht_free(&r);
			}
		}
	CU_ASSERT(checked >= 17);
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
	cJSON_Delete(doc);
	PQfinish(db);
}

static CU_TestInfo openapi_tests[] = {
	{ "every path and method of docs/openapi.yaml is served", test_openapi },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_http_openapi", NULL, NULL, NULL, NULL, openapi_tests });
