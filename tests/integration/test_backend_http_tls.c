/* backend_http_tls: the HTTP listener over HTTPS (http_tls_cert/key, a
 * certificate from broker-config/make-certs): /healthz and the API answer
 * when verified against the project CA, a token still decides, a client
 * that trusts another CA is refused the handshake, plain HTTP gets no API. */
#include "ff_test.h"
#include "test_backend_common.h"
#include "test_backend_http_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_https(void)
{
	PGconn *db = bt_db();
	bt_proc be;
	char dir[256], other[300], cmd[1200], cert[400], key[400], base[96], ca[400], name[48], tok[128];
	ht_reply r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	snprintf(dir, sizeof(dir), "/tmp/ff-httptls-%s", bt_run_id());
	snprintf(other, sizeof(other), "%s-other", dir);
	snprintf(cmd, sizeof(cmd), "'%s/broker-config/make-certs' --out '%s' >/dev/null 2>&1 && "
				   "'%s/broker-config/make-certs' --out '%s' >/dev/null 2>&1",
		 getenv("FF_SOURCE_DIR"), dir, getenv("FF_SOURCE_DIR"), other);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(cert, sizeof(cert), "--http-tls-cert=%s/broker.crt", dir);
	snprintf(key, sizeof(key), "--http-tls-key=%s/broker.key", dir);
	snprintf(name, sizeof(name), "%s-tls", bt_run_id());
	CU_ASSERT_FATAL(ht_token(db, name, "integrator", NULL, tok, sizeof(tok)));
	{
		const char *extra[] = { cert, key, NULL };
		CU_ASSERT_FATAL(bt_start(&be, "httptls", "httptls", extra));
	}
	snprintf(base, sizeof(base), "https://localhost:%d", be.metrics_port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	ht_base(base, ca);
	r = ht_get("/healthz", NULL);
	CU_ASSERT_EQUAL(r.status, 200);
	ht_free(&r);
	r = ht_get("/api/v1/whoami", tok);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"role\":\"integrator\""));
	ht_free(&r);
	r = ht_get("/api/v1/whoami", NULL);
	CU_ASSERT_EQUAL(r.status, 401);
	ht_free(&r);
	r = ht_get("/metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "ff_backend_build_info"));
	ht_free(&r);
	/* another CA: the handshake fails, no reply */
	snprintf(ca, sizeof(ca), "%s/ca.crt", other);
	ht_base(base, ca);
	r = ht_get("/healthz", NULL);
	CU_ASSERT_EQUAL(r.status, 0);
	ht_free(&r);
	/* plain HTTP on the TLS port: no API reply */
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", be.metrics_port);
	ht_base(base, NULL);
	r = ht_get("/api/v1/whoami", tok);
	CU_ASSERT_NOT_EQUAL(r.status, 200);
	ht_free(&r);
	CU_ASSERT_EQUAL(bt_stop(&be), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, other);
	CU_ASSERT_EQUAL(system(cmd), 0);
	PQfinish(db);
}

static CU_TestInfo tls_tests[] = {
	{ "the API over HTTPS, verified against the project CA", test_https },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_http_tls", NULL, NULL, NULL, NULL, tls_tests });
