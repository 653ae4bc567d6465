/* unit_backend_metrics: the Prometheus text fleet-backend serves
 * (backend/metrics.h), rendered into a buffer with no server: every family
 * has # HELP and # TYPE before its samples, ff_backend_build_info carries
 * FF_VERSION, the label sets known in advance are there at 0 before any
 * event, and every line keeps the exposition format's grammar. */
#include "ff_test.h"
#include "metrics.h"

#include "facefleet/version.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 64

typedef struct family {
	char name[96];
	char type[16];
	int help, samples;
} family;

static family fams[MAXF];
static int nfams;

static family *fam_get(const char *name, size_t n)
{
	for (int i = 0; i < nfams; i++)
		if (strlen(fams[i].name) == n && strncmp(fams[i].name, name, n) == 0)
			return &fams[i];
	if (nfams == MAXF || n >= sizeof(fams[0].name))
		return NULL;
	memset(&fams[nfams], 0, sizeof(fams[0]));
	memcpy(fams[nfams].name, name, n);
	return &fams[nfams++];
}

static int name_char(int c, int first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* the family of a sample name: histograms' _bucket/_sum/_count belong to
 * the histogram declared without them */
static family *sample_family(const char *name, size_t n)
{
	static const char *const suf[] = { "_bucket", "_sum", "_count" };
	for (int i = 0; i < nfams; i++)
		if (strlen(fams[i].name) == n && strncmp(fams[i].name, name, n) == 0)
			return &fams[i];
	for (size_t k = 0; k < 3; k++) {
		size_t sl = strlen(suf[k]);
		if (n > sl && strncmp(name + n - sl, suf[k], sl) == 0)
			for (int i = 0; i < nfams; i++)
				if (strcmp(fams[i].type, "histogram") == 0 &&
				    strlen(fams[i].name) == n - sl &&
				    strncmp(fams[i].name, name, n - sl) == 0)
					return &fams[i];
	}
	return NULL;
}

/* one sample line: name [{k="v",...}] value; returns 0 when well formed */
static int check_sample(const char *l)
{
	const char *p = l, *q;
	char *end;
	family *f;
	if (!name_char((unsigned char)*p, 1))
		return -1;
	while (name_char((unsigned char)*p, 0))
		p++;
	f = sample_family(l, (size_t)(p - l));
	if (!f || !f->help || !f->type[0])
		return -2; /* a sample before (or without) its HELP and TYPE */
	f->samples++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			q = p;
			if (!name_char((unsigned char)*p, 1))
				return -3;
			while (name_char((unsigned char)*p, 0))
				p++;
			if (p == q || *p++ != '=' || *p++ != '"')
				return -4;
			while (*p && *p != '"') {
				if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
					p++;
				else if (*p == '\\' || *p == '\n')
					return -5;
				p++;
			}
			if (*p++ != '"')
				return -6;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return -7;
		}
		p++;
	}
	if (*p++ != ' ')
		return -8;
	if (strcmp(p, "+Inf") != 0 && strcmp(p, "-Inf") != 0 && strcmp(p, "NaN") != 0) {
		strtod(p, &end);
		if (end == p || *end)
			return -9;
	}
	return 0;
}

static char *text;

/* parses the whole exposition; every line is checked */
static void parse_all(void)
{
	size_t len = 0;
	char *copy, *line, *save = NULL;
	free(text);
	nfams = 0;
	text = be_metrics_render(&len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_TRUE(len > 0 && text[len - 1] == '\n');
	copy = strdup(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			const char *n = line + 7, *sp = strchr(n, ' ');
			family *f;
			CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
			f = fam_get(n, (size_t)(sp - n));
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			if (line[2] == 'H') {
				CU_ASSERT_EQUAL(f->help, 0);    /* once */
				CU_ASSERT_EQUAL(f->samples, 0); /* before its samples */
				CU_ASSERT_TRUE(strlen(sp + 1) > 0);
				f->help = 1;
			} else {
				CU_ASSERT_EQUAL(f->type[0], '\0');
				CU_ASSERT_EQUAL(f->samples, 0);
				CU_ASSERT_TRUE(strcmp(sp + 1, "counter") == 0 ||
					       strcmp(sp + 1, "gauge") == 0 ||
					       strcmp(sp + 1, "histogram") == 0);
				snprintf(f->type, sizeof(f->type), "%s", sp + 1);
			}
			continue;
		}
		CU_ASSERT_NOT_EQUAL(line[0], '#');
		int rc = check_sample(line);
		if (rc != 0)
			fprintf(stderr, "bad sample line (%d): %s\n", rc, line);
		CU_ASSERT_EQUAL(rc, 0);
	}
	free(copy);
	CU_ASSERT_TRUE(nfams >= 15);
	for (int i = 0; i < nfams; i++) {
		if (!fams[i].help || !fams[i].type[0] || !fams[i].samples)
			fprintf(stderr, "family %s: help=%d type=%s samples=%d\n", fams[i].name,
				fams[i].help, fams[i].type, fams[i].samples);
		CU_ASSERT_TRUE(fams[i].help);
		CU_ASSERT_TRUE(fams[i].type[0] != '\0');
		CU_ASSERT_TRUE(fams[i].samples > 0);
		/* counters end in _total */
		if (strcmp(fams[i].type, "counter") == 0) {
			size_t n = strlen(fams[i].name);
			CU_ASSERT_TRUE(n > 6 && strcmp(fams[i].name + n - 6, "_total") == 0);
		}
	}
}

static int has_line(const char *l)
{
	const char *p = text;
	size_t n = strlen(l);
	while ((p = strstr(p, l)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

/* before any event: the grammar, and every known series at 0 */
static void test_fresh(void)
{
	char want[160];
	static const char *const decisions[] = { "granted", "unknown", "rejected", "invalid" };
	static const char *const reasons[] = { "bad_protobuf", "unknown_device", "replay",
					       "over_budget", "index_range", "seq_reused",
					       "store_refused" };
	static const char *const stages[] = { "queue", "validate", "decode", "embed",
					      "match", "commit", "total" };
	parse_all();
	snprintf(want, sizeof(want), "ff_backend_build_info{version=\"%s\"} 1", FF_VERSION);
	CU_ASSERT_TRUE(has_line(want));
	for (size_t i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "ff_backend_decisions_total{decision=\"%s\"} 0",
			 decisions[i]);
		CU_ASSERT_TRUE(has_line(want));
	}
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(want, sizeof(want), "ff_backend_rejected_total{reason=\"%s\"} 0",
			 reasons[i]);
		CU_ASSERT_TRUE(has_line(want));
	}
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		snprintf(want, sizeof(want), "ff_backend_stage_seconds_count{stage=\"%s\"} 0",
			 stages[i]);
		CU_ASSERT_TRUE(has_line(want));
		snprintf(want, sizeof(want),
			 "ff_backend_stage_seconds_bucket{stage=\"%s\",le=\"+Inf\"} 0", stages[i]);
		CU_ASSERT_TRUE(has_line(want));
	}
	CU_ASSERT_TRUE(has_line("ff_backend_queue_depth{queue=\"work\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_queue_depth{queue=\"write\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_queue_depth{queue=\"unacked\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_db_errors_total 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_mqtt_up 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_db_batch_rows_count 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_access_published_total{result=\"failed\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"\",state=\"lost\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_device_status_total{result=\"invalid\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_device_status_total{result=\"unknown_device\"} 0"));
}

static size_t three(void *ctx)
{
	(void)ctx;
	return 3;
}

/* another group with a lost member; our own group (first) not seen yet */
static size_t members(void *ctx, const char *first, be_group_members *out, size_t cap)
{
	(void)ctx;
	CU_ASSERT_TRUE(cap >= 2);
	CU_ASSERT_STRING_EQUAL(first, "grp");
	memset(out, 0, 2 * sizeof(*out));
	strcpy(out[0].group, first);
	strcpy(out[1].group, "other");
	out[1].n[BE_MEMBER_ONLINE] = 2;
	out[1].n[BE_MEMBER_LOST] = 1;
	return 2;
}

/* after events: counts land on the pre-made series, a new reason is added
 * once, and the grammar still holds */
static void test_after_events(void)
{
	be_metrics_rejected("replay");
	be_metrics_rejected("replay");
	be_metrics_rejected("some_new_reason");
	be_metrics_rejected("some_new_reason");
	be_metrics_decision(BE_DECISION_GRANTED);
	be_metrics_observe(BE_STAGE_MATCH, 700);
	be_metrics_batch(5, 1500);
	be_metrics_db_error();
	be_metrics_set_mqtt_up(1);
	be_metrics_set_queue_gauges(three, three, three, NULL);
	be_metrics_set_members("grp", members, NULL);
	be_metrics_device_status(BE_DSTATUS_OFFLINE);
	be_metrics_device_status(BE_DSTATUS__COUNT); /* out of range: ignored */
	parse_all();
	CU_ASSERT_TRUE(has_line("ff_backend_rejected_total{reason=\"replay\"} 2"));
	CU_ASSERT_TRUE(has_line("ff_backend_rejected_total{reason=\"some_new_reason\"} 2"));
	CU_ASSERT_TRUE(has_line("ff_backend_rejected_total{reason=\"bad_topic\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_decisions_total{decision=\"granted\"} 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_decisions_total{decision=\"unknown\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_stage_seconds_count{stage=\"match\"} 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_stage_seconds_bucket{stage=\"match\",le=\"0.0005\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_stage_seconds_bucket{stage=\"match\",le=\"0.001\"} 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_db_batch_rows_count 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_db_errors_total 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_mqtt_up 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_queue_depth{queue=\"write\"} 3"));
	/* our group at 0 in every state, the other as reported */
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"grp\",state=\"online\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"grp\",state=\"lost\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"other\",state=\"online\"} 2"));
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"other\",state=\"stopped\"} 0"));
	CU_ASSERT_TRUE(has_line("ff_backend_share_group_members{share_group=\"other\",state=\"lost\"} 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_device_status_total{result=\"offline\"} 1"));
	CU_ASSERT_TRUE(has_line("ff_backend_device_status_total{result=\"online\"} 0"));
	be_metrics_set_queue_gauges(NULL, NULL, NULL, NULL);
	be_metrics_set_members("", NULL, NULL);
	free(text);
	text = NULL;
}

static CU_TestInfo metrics_tests[] = {
	{ "fresh_exposition", test_fresh },
	{ "after_events", test_after_events },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "backend_metrics", NULL, NULL, NULL, NULL, metrics_tests });
