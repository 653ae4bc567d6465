/* unit_dynsec: the dynamic-security client's parts that need no broker
 * (facefleet/dynsec.h): device account names, commands as the plugin reads
 * them, passwords zeroed on free, and clear errors for bad options, an
 * unreachable broker and bad requests. The broker side runs in fleetctl_*
 * and backend_http_revoke. */
#include "ff_test.h"

#include "facefleet/dynsec.h"
#include "facefleet/error.h"

#include <cjson/cJSON.h>
#include <string.h>

static void test_device_user(void)
{
	char buf[48], tiny[6];
	FF_ASSERT_OK(ff_dynsec_device_user(buf, sizeof(buf), "door-1"));
	CU_ASSERT_STRING_EQUAL(buf, "dev.door-1");
	CU_ASSERT_EQUAL(ff_dynsec_device_user(buf, sizeof(buf), "Door/#"), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_dynsec_device_user(buf, sizeof(buf), ""), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_dynsec_device_user(buf, sizeof(buf), NULL), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(ff_dynsec_device_user(tiny, sizeof(tiny), "door-1"), FF_ERR_RANGE);
}

static void test_commands(void)
{
	cJSON *c = ff_dynsec_create_client("dev.d1", "s3cret", "s1-d1", NULL, "dev.d1");
	cJSON *roles, *acls = cJSON_CreateArray();
	char *pw;
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(c, "command")), "createClient");
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(c, "clientid")), "s1-d1");
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(c, "textname")), "");
	roles = cJSON_GetObjectItem(c, "roles");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(roles), 1);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(roles, 0),
									 "rolename")), "dev.d1");
	pw = cJSON_GetStringValue(cJSON_GetObjectItem(c, "password"));
	CU_ASSERT_STRING_EQUAL(pw, "s3cret");
	ff_dynsec_free(&c, 1);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(ff_dynsec_acl(acls, "subscribeLiteral", "fleet/s1/d1/config"));
	CU_ASSERT_FALSE(ff_dynsec_acl(NULL, "subscribeLiteral", "x"));
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(acls, 0), "acltype")),
			       "subscribeLiteral");
	CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(acls, 0), "allow")));
	cJSON_Delete(acls);
	c = ff_dynsec_command("listClients", NULL, NULL);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(c), 1);
	ff_dynsec_free(&c, 1);
}

/* A password left in a command is zeroed before its memory goes back. */
static void test_free_wipes_password(void)
{
	cJSON *c = ff_dynsec_command("setClientPassword", "username", "dev.d1");
	cJSON *p;
	char *text;
	cJSON_AddStringToObject(c, "password", "s3cret");
	p = cJSON_DetachItemFromObject(c, "password"); /* keep the string alive to look at it */
	text = p->valuestring;
	cJSON_AddItemReferenceToObject(c, "password", p); /* a reference: free leaves p */
	ff_dynsec_free(&c, 1);
	CU_ASSERT_EQUAL(text[0], '\0');
	CU_ASSERT_EQUAL(memcmp(text, "\0\0\0\0\0\0", 6), 0);
	cJSON_Delete(p);
}

static void test_bad_options_and_broker(void)
{
	ff_dynsec_options o = FF_DYNSEC_OPTIONS_INIT;
	ff_dynsec *d = (ff_dynsec *)&o; /* overwritten with NULL on every failure */
	char err[256] = "";
	CU_ASSERT_EQUAL(ff_dynsec_open(&o, &d, err, sizeof(err)), FF_ERR_INVAL);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "required"));
	o.url = "tcp://127.0.0.1:1";
	CU_ASSERT_EQUAL(ff_dynsec_open(&o, &d, err, sizeof(err)), FF_ERR_INVAL); /* no username */
	o.username = "ff-admin";
	o.password = "s3cret";
	o.connect_timeout_ms = 2000;
	CU_ASSERT_NOT_EQUAL(ff_dynsec_open(&o, &d, err, sizeof(err)), FF_OK); /* nothing listens */
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ff-admin"));
	CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
	o.url = "http://127.0.0.1:1";
	CU_ASSERT_EQUAL(ff_dynsec_open(&o, &d, err, sizeof(err)), FF_ERR_INVAL);
	/* requests without a session, with no or too many commands */
	{
		cJSON *c[17] = { NULL };
		CU_ASSERT_EQUAL(ff_dynsec_run(NULL, c, 1, err, sizeof(err)), FF_ERR_INVAL);
		CU_ASSERT_EQUAL(ff_dynsec_run(NULL, c, 0, err, sizeof(err)), FF_ERR_INVAL);
		CU_ASSERT_EQUAL(ff_dynsec_run(NULL, c, 17, err, sizeof(err)), FF_ERR_INVAL);
	}
	ff_dynsec_close(NULL);
}

static CU_TestInfo dynsec_tests[] = {
	{ "device_user", test_device_user },
	{ "commands", test_commands },
	{ "free_wipes_password", test_free_wipes_password },
	{ "bad_options_and_broker", test_bad_options_and_broker },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "dynsec", NULL, NULL, NULL, NULL, dynsec_tests });
