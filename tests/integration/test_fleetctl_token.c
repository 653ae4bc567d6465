/* fleetctl_token: `fleetctl token add|list|revoke` (as fleetctl's runtime
 * role) against a real fleet-backend's HTTP API, broker and database: the
 * token add prints (once) opens the API with its role and sites; token list
 * shows neither the secret nor its hash; after token revoke the same token
 * gets 401 at once; a bad role, a bad or unknown site, a bad name and a
 * second token of the same name are refused, nothing stored; each change is
 * an audit row. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_backend_http_common.h"
#include "test_fleetctl_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/exit.h"

static PGconn *db; /* the schema owner: what fleetctl stored */
static bt_proc be;
static char site[48], tok[48], secret[160];

static long tokens_named(const char *name)
{
	const char *p[1] = { name };
	return bt_query_long(db, "SELECT count(*) FROM api_tokens WHERE name = $1", 1, p);
}

static long audits(const char *action, const char *name)
{
	const char *p[2] = { action, name };
	return bt_query_long(db, "SELECT count(*) FROM audit_log WHERE action = $1 AND subject = $2", 2, p);
}

/* The GET's status with token t. */
static long status_of(const char *path, const char *t)
{
	ht_reply r = ht_get(path, t);
	long st = r.status;
	ht_free(&r);
	return st;
}

static void test_setup(void)
{
	char base[64];
	db = bt_db();
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	fct_id(site, sizeof(site), "tks");
	fct_id(tok, sizeof(tok), "tk");
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), FF_EXIT_OK);
	CU_ASSERT_FATAL(bt_start(&be, "tok", "tok", NULL));
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", be.metrics_port);
	ht_base(base, NULL);
}

/* add prints NAME.SECRET once; it opens the API as that role and site */
static void test_add_works(void)
{
	char start[64];
	const char *line;
	ht_reply r;
	CU_ASSERT_EQUAL_FATAL(fct_run("token add %s --role integrator --sites %s", tok, site), FF_EXIT_OK);
	snprintf(start, sizeof(start), "\n%s.", tok); /* its own line, after the notice */
	line = strstr(fct_output(), start);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	snprintf(secret, sizeof(secret), "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
	CU_ASSERT(strlen(secret) > strlen(tok) + 32 && secret[strlen(tok)] == '.');
	CU_ASSERT_EQUAL(tokens_named(tok), 1);
	CU_ASSERT_EQUAL(audits("token.add", tok), 1);
	r = ht_get("/api/v1/whoami", secret);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"role\":\"integrator\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, site));
	ht_free(&r);
	CU_ASSERT_EQUAL(status_of("/api/v1/events", secret), 200);
	CU_ASSERT_EQUAL(status_of("/api/v1/devices", secret), 403); /* an integrator reads events only */
	/* only the printed text opens it: a changed secret does not */
	secret[strlen(secret) - 1] ^= 1;
	CU_ASSERT_EQUAL(status_of("/api/v1/whoami", secret), 401);
	secret[strlen(secret) - 1] ^= 1;
}

/* list: the token with its role and sites, never the secret or its hash */
static void test_list_hides_secret(void)
{
	const char *p[1] = { tok };
	PGresult *h = PQexecParams(db, "SELECT encode(token_sha256, 'hex') FROM api_tokens WHERE name = $1", 1,
				   NULL, p, NULL, NULL, 0);
	CU_ASSERT_FATAL(PQntuples(h) == 1);
	for (int json = 0; json < 2; json++) {
		CU_ASSERT_EQUAL(fct_run("token list%s", json ? " --format json" : ""), FF_EXIT_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), tok));
		CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "integrator"));
		CU_ASSERT_PTR_NULL(strstr(fct_output(), strchr(secret, '.') + 1));
		CU_ASSERT_PTR_NULL(strstr(fct_output(), PQgetvalue(h, 0, 0)));
	}
	PQclear(h);
}

/* revoke: 401 at once, listed as revoked; a second revoke fails */
static void test_revoke(void)
{
	CU_ASSERT_EQUAL(fct_run("token revoke %s", tok), FF_EXIT_OK);
	CU_ASSERT_EQUAL(status_of("/api/v1/whoami", secret), 401);
	CU_ASSERT_EQUAL(status_of("/api/v1/events", secret), 401);
	CU_ASSERT_EQUAL(audits("token.revoke", tok), 1);
	CU_ASSERT_EQUAL(fct_run("token revoke %s", tok), FF_EXIT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "no active token"));
	/* its name is not reused: the revoked row stays */
	CU_ASSERT_NOT_EQUAL(fct_run("token add %s --role operator", tok), FF_EXIT_OK);
	CU_ASSERT_EQUAL(tokens_named(tok), 1);
	CU_ASSERT_EQUAL(audits("token.add", tok), 1);
}

/* bad role, bad or unknown site, bad name: refused, nothing stored */
static void test_refused(void)
{
	char name[48];
	fct_id(name, sizeof(name), "tkbad");
	CU_ASSERT_EQUAL(fct_run("token add %s --role admin", name), FF_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "--role operator|integrator"));
	CU_ASSERT_EQUAL(fct_run("token add %s", name), FF_EXIT_USAGE);
	CU_ASSERT_EQUAL(fct_run("token add %s --role operator --sites 'Bad_Site'", name), FF_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "--sites"));
	CU_ASSERT_EQUAL(fct_run("token add %s --role operator --sites %s,nosuch-%s", name, site, name),
			FF_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "unknown site 'nosuch-"));
	CU_ASSERT_EQUAL(tokens_named(name), 0);
	CU_ASSERT_EQUAL(fct_run("token add 'Bad.Name' --role operator"), FF_EXIT_USAGE);
	CU_ASSERT_EQUAL(fct_run("token revoke nosuch-%s", name), FF_EXIT_FAIL);
	CU_ASSERT_EQUAL(audits("token.add", name), 0);
}

static void test_teardown(void)
{
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
	PQfinish(db);
}

static CU_TestInfo token_tests[] = {
	{ "setup: a site, a backend", test_setup },
	{ "token add: the printed token opens the API as its role", test_add_works },
	{ "token list: no secret, no hash", test_list_hides_secret },
	{ "token revoke: 401 at once; the name stays taken", test_revoke },
	{ "bad role, bad or unknown site, bad name: refused", test_refused },
	{ "teardown", test_teardown },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_token", NULL, NULL, NULL, NULL, token_tests });
