/* fleetctl_identity: enrolment with the backend's detect/align/embed code and
 * erasure. `identity enroll` stores one template per image with a face
 * (images without one are skipped, none at all is a failure); `identity
 * delete` erases the templates, renames the identity to "erased-<id>" (past
 * events keep pointing at it, their recorded top-k names are replaced) and
 * audit-logs it without the name. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ff_test.h"
#include "test_fleetctl_common.h"

static long q_long(PGconn *db, const char *sql, const char *param)
{
	const char *p[1] = { param };
	PGresult *r = PQexecParams(db, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);
	long v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atol(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

static void test_enroll_and_delete(void)
{
	char name[64], site[40], dev[40], img1[512], img2[512], models[512], sql_id[32];
	const char *mdir = getenv("FF_MODELS_DIR");
	PGconn *db;
	long id;

	snprintf(models, sizeof(models), "%s/ffn/pnet.ffn", mdir ? mdir : "");
	if (!mdir || access(models, R_OK) != 0)
		ff_test_skip("MTCNN models not fetched (%s): run deploy/setup", models);
	snprintf(name, sizeof(name), "Test_Person_%ld", (long)getpid());
	fct_id(site, sizeof(site), "id-s");
	fct_id(dev, sizeof(dev), "id-d");
	ff_test_data_path(img1, sizeof(img1), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
	ff_test_data_path(img2, sizeof(img2), "faces/lfw/Al_Pacino/Al_Pacino_0002.jpg");

	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s", name), 2); /* no image */
	CU_ASSERT_EQUAL(fct_run("identity enroll --name %s /dev/null", name), 1); /* no face */
	CU_ASSERT_EQUAL_FATAL(fct_run("identity enroll --name %s %s %s /dev/null", name, img1, img2), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "2 template(s)"));
	CU_ASSERT_EQUAL(fct_run("identity list --format csv"), 0);
	{
		char want[128];
		snprintf(want, sizeof(want), "%s,t,,2,", name);
		CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), want));
	}
	db = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
	id = q_long(db, "SELECT identity_id FROM identities WHERE external_id = $1", name);
	CU_ASSERT_TRUE_FATAL(id > 0);
	snprintf(sql_id, sizeof(sql_id), "%ld", id);
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM face_templates WHERE identity_id = $1::bigint "
				   "AND model_id = 'mobilefacenet-v1' AND array_length(embedding, 1) = 192",
			       sql_id),
			2);
	/* a past event that matched this person */
	CU_ASSERT_EQUAL_FATAL(fct_run("site add %s", site), 0);
	CU_ASSERT_EQUAL_FATAL(fct_run("device add --site %s --name %s", site, dev), 0);
	{
		char topk[256];
		snprintf(topk, sizeof(topk), "[{\"identity\":\"%s\",\"score\":0.7}]", name);
		const char *p[4] = { dev, site, sql_id, topk };
		PGresult *r = PQexecParams(db,
					   "INSERT INTO recognition_events (device_id, site_id, seq, capture_time, decision, "
					   "identity_id, score, model_id, topk) VALUES ($1, $2, 1, now(), 'granted', "
					   "$3::bigint, 0.7, 'test', $4::jsonb)",
					   4, NULL, p, NULL, NULL, 0);
		CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	CU_ASSERT_EQUAL(fct_run("events query --identity %s --format json", name), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), dev));

	CU_ASSERT_EQUAL(fct_run("identity delete %s", name), 0);
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM face_templates WHERE identity_id = $1::bigint", sql_id), 0);
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM identities WHERE external_id = $1", name), 0);
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM recognition_events WHERE device_id = $1 "
				   "AND topk::text LIKE '%erased-%'",
			       dev),
			1);
	CU_ASSERT_EQUAL(fct_run("events query --device %s --format csv", dev), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "erased-"));
	CU_ASSERT_PTR_NULL(strstr(fct_output(), name));
	/* the audit trail of enrolment and erasure never names the person */
	{
		char subj[48];
		snprintf(subj, sizeof(subj), "identity:%ld", id);
		CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM audit_log WHERE subject = $1 "
					   "AND action IN ('identity.enroll', 'identity.delete')",
				       subj),
				2);
		CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM audit_log WHERE actor = 'fleetctl:ctest' "
					   "AND (subject = $1 OR detail::text LIKE '%' || $1 || '%')",
				       name),
				0);
	}
	CU_ASSERT_EQUAL(fct_run("identity delete %s", name), 1); /* gone */
	PQfinish(db);
}

/* A name with a terminal escape and a newline (stored by any writer of the
 * table) is listed escaped, as \xNN, in table and CSV output. */
static void test_list_escapes_control_characters(void)
{
	char name[64];
	const char *formats[2] = { "table", "csv" };
	PGconn *db = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
	snprintf(name, sizeof(name), "esc\x1b[2J\nx%ld", (long)getpid());
	CU_ASSERT_EQUAL(q_long(db, "WITH i AS (INSERT INTO identities (external_id) VALUES ($1) "
				   "RETURNING 1) SELECT count(*) FROM i", name), 1);
	for (int f = 0; f < 2; f++) {
		CU_ASSERT_EQUAL(fct_run("identity list --format %s", formats[f]), 0);
		CU_ASSERT_PTR_NULL(strchr(fct_output(), 0x1b));
		CU_ASSERT_PTR_NOT_NULL(strstr(fct_output(), "esc\\x1b[2J\\x0ax"));
	}
	q_long(db, "WITH d AS (DELETE FROM identities WHERE external_id = $1 RETURNING 1) "
		   "SELECT count(*) FROM d", name);
	PQfinish(db);
}

/* A read-only verb never migrates as a side effect of connecting: with a
 * pending migration (a copy of the folder plus 999_probe.sql) `audit
 * query` and `identity list` run and leave it pending. */
static void test_queries_never_migrate(void)
{
	char dir[] = "/tmp/ff-mig-XXXXXX", cmd[1400];
	PGconn *db = PQconnectdb(ff_test_env_need("FF_PG_CONNINFO"));
	CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s'/lib/store/migrations/*.sql '%s'/ && "
		 "echo 'CREATE TABLE probe_999 (x int);' > '%s/999_probe.sql'",
		 ff_test_env_need("FF_SOURCE_DIR"), dir, dir);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(fct_run("--migrations-dir=%s audit query --limit 1", dir), 0);
	CU_ASSERT_EQUAL(fct_run("--migrations-dir=%s identity list", dir), 0);
	CU_ASSERT_EQUAL(q_long(db, "SELECT count(*) FROM schema_migrations WHERE version = 999", NULL), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	PQfinish(db);
}

static CU_TestInfo identity_tests[] = {
	{ "queries_never_migrate", test_queries_never_migrate },
	{ "enroll_and_delete", test_enroll_and_delete },
	{ "list_escapes_control_characters", test_list_escapes_control_characters },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "fleetctl_identity", NULL, NULL, NULL, NULL, identity_tests });
