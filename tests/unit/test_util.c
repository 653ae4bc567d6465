/* unit_util: ff_strerror, the ff_log line format, bounded file reads, the
 * token bucket, random bytes, UUIDs and the waker. */
#include "ff_test.h"

#include "facefleet/bucket.h"
#include "facefleet/error.h"
#include "facefleet/file.h"
#include "facefleet/log.h"
#include "facefleet/random.h"
#include "facefleet/uuid.h"
#include "facefleet/waker.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void test_strerror_all_codes(void)
{
	for (int e = 0; e > FF_ERR__LAST; e--) {
		const char *s = ff_strerror(e);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_STRING_NOT_EQUAL(s, "unknown error");
		/* every code has its own text */
		for (int o = 0; o > e; o--)
			CU_ASSERT_STRING_NOT_EQUAL(s, ff_strerror(o));
	}
	CU_ASSERT_STRING_EQUAL(ff_strerror(FF_ERR_AUTH), "authentication or authorisation refused");
}

static void test_strerror_unknown(void)
{
	CU_ASSERT_STRING_EQUAL(ff_strerror(FF_ERR__LAST), "unknown error");
	CU_ASSERT_STRING_EQUAL(ff_strerror(-1000), "unknown error");
	CU_ASSERT_STRING_EQUAL(ff_strerror(5), "unknown error");
}

static void test_seterr(void)
{
	char buf[16];
	ff_seterr(buf, sizeof(buf), "%s:%d: bad", "f.conf", 3);
	CU_ASSERT_STRING_EQUAL(buf, "f.conf:3: bad");
	/* one line: inner newlines become spaces, trailing ones go */
	ff_seterr(buf, sizeof(buf), "a\nb\n");
	CU_ASSERT_STRING_EQUAL(buf, "a b");
	ff_seterr(buf, sizeof(buf), "%s", "a message longer than the buffer");
	CU_ASSERT_STRING_EQUAL(buf, "a message longe");
	ff_seterr(NULL, 10, "x");  /* no buffer: nothing happens */
	ff_seterr(buf, 0, "y");
	CU_ASSERT_STRING_EQUAL(buf, "a message longe");
}

static size_t fmt(char *buf, size_t len, const struct timespec *ts, ff_log_level lvl,
		  const char *comp, const char *f, ...) __attribute__((format(printf, 6, 7)));
static size_t fmt(char *buf, size_t len, const struct timespec *ts, ff_log_level lvl,
		  const char *comp, const char *f, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, f);
	n = ff_log_format(buf, len, ts, lvl, comp, f, ap);
	va_end(ap);
	return n;
}

static void test_log_format(void)
{
	/* 2026-11-23T17:40:00.123Z */
	struct timespec ts = { .tv_sec = 1795455600, .tv_nsec = 123456789 };
	char buf[256];
	size_t n = fmt(buf, sizeof(buf), &ts, FF_LOG_INFO, "device", "event=start seq=%d", 42);
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-23T17:40:00.123Z info device event=start seq=42\n");
	CU_ASSERT_EQUAL(n, strlen(buf));

	fmt(buf, sizeof(buf), &ts, FF_LOG_ERROR, NULL, "a=1");
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-23T17:40:00.123Z error - a=1\n");

	/* one call is one line: embedded newlines become spaces */
	fmt(buf, sizeof(buf), &ts, FF_LOG_WARN, "mqtt", "msg=two\nlines");
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-23T17:40:00.123Z warn mqtt msg=two lines\n");
}

static void test_log_truncation(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 0 };
	char buf[48];
	size_t n = fmt(buf, sizeof(buf), &ts, FF_LOG_DEBUG, "x", "%s",
		       "a very long value that does not fit in the buffer at all");
	CU_ASSERT_EQUAL(n, sizeof(buf) - 1);
	CU_ASSERT_EQUAL(strlen(buf), sizeof(buf) - 1);
	CU_ASSERT_EQUAL(buf[n - 1], '\n');
	CU_ASSERT_EQUAL(memcmp(buf + n - 4, "...", 3), 0);
	CU_ASSERT_EQUAL(strncmp(buf, "1970-01-01T00:00:00.000Z debug x a very", 39), 0);
}

static void test_log_level_filter(void)
{
	char line[512] = { 0 };
	FILE *fp = tmpfile();
	ff_log_level saved = ff_log_get_level();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	ff_log_set_stream(fp);
	ff_log_set_level(FF_LOG_WARN);
	ff_log_info("test", "event=hidden");
	ff_log_warn("test", "event=shown n=%d", 7);
	ff_log_set_stream(NULL);
	ff_log_set_level(saved);
	rewind(fp);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), fp));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " warn test event=shown n=7\n"));
	CU_ASSERT_EQUAL(strlen(line), 24 + strlen(" warn test event=shown n=7\n"));
	CU_ASSERT_EQUAL(line[10], 'T');
	CU_ASSERT_EQUAL(line[23], 'Z');
	CU_ASSERT_PTR_NULL(fgets(line, sizeof(line), fp)); /* the info line was dropped */
	fclose(fp);
}

static void test_log_level_parse(void)
{
	ff_log_level l = FF_LOG_INFO;
	CU_ASSERT_EQUAL(ff_log_level_parse("DEBUG", &l), FF_OK);
	CU_ASSERT_EQUAL(l, FF_LOG_DEBUG);
	CU_ASSERT_EQUAL(ff_log_level_parse("warning", &l), FF_OK);
	CU_ASSERT_EQUAL(l, FF_LOG_WARN);
	CU_ASSERT_EQUAL(ff_log_level_parse("loud", &l), FF_ERR_INVAL);
	CU_ASSERT_EQUAL(l, FF_LOG_WARN);
	CU_ASSERT_STRING_EQUAL(ff_log_level_name(FF_LOG_ERROR), "error");
	CU_ASSERT_STRING_EQUAL(ff_log_level_name((ff_log_level)99), "?");
}

static void test_log_quote(void)
{
	char buf[64];
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, sizeof(buf), "plain"), "plain");
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, sizeof(buf), "two words"), "\"two words\"");
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, sizeof(buf), "a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, sizeof(buf), ""), "\"\"");
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, sizeof(buf), NULL), "\"\"");
	CU_ASSERT_STRING_EQUAL(ff_log_quote(buf, 6, "a b c d e f"), "\"a b\"");
}

/* A FIFO with no writer (handed over as an image) is refused at once
 * instead of blocking its reader; so are folders, missing and oversized
 * files; a regular file comes back whole with a NUL after it. */
static void test_file_read(void)
{
	char dir[] = "/tmp/ff_file_XXXXXX", path[64], err[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(ff_file_read(path, 1024, &buf, &len, err, sizeof(err)), FF_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
	unlink(path);
	CU_ASSERT_EQUAL(ff_file_read(dir, 1024, &buf, &len, err, sizeof(err)), FF_ERR_IO);
	CU_ASSERT_EQUAL(ff_file_read(path, 1024, &buf, &len, err, sizeof(err)), FF_ERR_NOTFOUND);
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("hello", f);
	fclose(f);
	CU_ASSERT_EQUAL(ff_file_read(path, 4, &buf, &len, err, sizeof(err)), FF_ERR_RANGE);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(ff_file_read(path, 5, &buf, &len, err, sizeof(err)), FF_OK);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL(buf, "hello");
	free(buf);
	unlink(path);
	rmdir(dir);
}

/* a new bucket is full; it refills at rate up to burst; wait says when */
static void test_bucket(void)
{
	ff_bucket b = { 0 };
	const int64_t s = 1000000;
	int n = 0;
	while (ff_bucket_take(&b, 4, 10, 5 * s))
		n++;
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT(ff_bucket_wait_us(&b, 4, 10, 5 * s) > 249000);
	CU_ASSERT(ff_bucket_wait_us(&b, 4, 10, 5 * s) <= 250001);
	CU_ASSERT_EQUAL(ff_bucket_wait_us(&b, 4, 10, 5 * s + s / 4), 0);
	CU_ASSERT_TRUE(ff_bucket_take(&b, 4, 10, 5 * s + s / 4));
	CU_ASSERT_FALSE(ff_bucket_take(&b, 4, 10, 5 * s + s / 4));
	n = 0;
	while (ff_bucket_take(&b, 4, 10, 100 * s)) /* long quiet: full, not more */
		n++;
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_TRUE(ff_bucket_take(&b, 0, 1, 100 * s)); /* rate 0: unlimited */
	CU_ASSERT_EQUAL(ff_bucket_wait_us(&b, 0, 1, 100 * s), 0);
}

/* random bytes fill the whole buffer (short reads retried) and differ
 * from call to call */
static void test_random_bytes(void)
{
	static unsigned char big[100000];
	unsigned char a[64] = { 0 }, b[64] = { 0 }, zero[64] = { 0 };
	size_t zeros = 0;
	FF_ASSERT_OK(ff_random_bytes(a, sizeof(a)));
	FF_ASSERT_OK(ff_random_bytes(b, sizeof(b)));
	CU_ASSERT_NOT_EQUAL(memcmp(a, zero, sizeof(a)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(b, zero, sizeof(b)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	FF_ASSERT_OK(ff_random_bytes(big, sizeof(big)));
	for (size_t i = 0; i < sizeof(big); i++)
		zeros += big[i] == 0;
	CU_ASSERT(zeros < 1000); /* about 390 expected; 0 everywhere if not filled */
	CU_ASSERT(big[sizeof(big) - 1] != 0 || big[sizeof(big) - 2] != 0 || big[sizeof(big) - 3] != 0);
	FF_ASSERT_OK(ff_random_bytes(NULL, 0));
	CU_ASSERT_EQUAL(ff_random_bytes(NULL, 1), FF_ERR_INVAL);
}

/* 8-4-4-4-12 lowercase hex, NUL at 36 */
static void assert_uuid_text(const char *u)
{
	CU_ASSERT_EQUAL_FATAL(strlen(u), 36);
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		CU_ASSERT(dash ? u[i] == '-'
			       : isxdigit((unsigned char)u[i]) && !isupper((unsigned char)u[i]));
	}
}

/* version nibble 4, variant 10xx, lowercase; two differ; ff_uuid5 gives the
 * known version-5 id (Python's uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")),
 * the same every time */
static void test_uuid(void)
{
	char u[37], v[37];
	memset(u, 'X', sizeof(u));
	ff_uuid4(u);
	ff_uuid4(v);
	assert_uuid_text(u);
	assert_uuid_text(v);
	CU_ASSERT_EQUAL(u[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", u[19]));
	CU_ASSERT_EQUAL(v[14], '4');
	CU_ASSERT_STRING_NOT_EQUAL(u, v);
	ff_uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", u);
	CU_ASSERT_STRING_EQUAL(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	ff_uuid5(FF_UUID_NS_EVENTS, "door-1/42", u);
	ff_uuid5(FF_UUID_NS_EVENTS, "door-1/42", v);
	CU_ASSERT_STRING_EQUAL(u, v);
	CU_ASSERT_EQUAL(u[14], '5');
	ff_uuid5(FF_UUID_NS_EVENTS, "door-1/43", v);
	CU_ASSERT_STRING_NOT_EQUAL(u, v);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static atomic_int waker_wakeups;

/* the pattern of the backend's threads: poll the waker (a long timeout, so
 * only a wake-up ends it early), drain, loop until stopping */
static void *waker_thread(void *arg)
{
	ff_waker *w = arg;
	while (!ff_waker_stopping(w)) {
		struct pollfd p = { ff_waker_fd(w), POLLIN, 0 };
		if (poll(&p, 1, 10000) > 0 && !ff_waker_stopping(w)) {
			ff_waker_drain(w);
			atomic_fetch_add(&waker_wakeups, 1);
		}
	}
	return NULL;
}

/* wake reaches a thread blocked in poll, drain empties the pipe, stop ends
 * the thread at once; close is idempotent */
static void test_waker(void)
{
	ff_waker w = FF_WAKER_INIT;
	pthread_t t;
	struct pollfd p;
	int64_t t0;
	FF_ASSERT_OK(ff_waker_init(&w));
	CU_ASSERT_FATAL(ff_waker_fd(&w) >= 0);
	CU_ASSERT(fcntl(ff_waker_fd(&w), F_GETFD) & FD_CLOEXEC);
	CU_ASSERT(fcntl(ff_waker_fd(&w), F_GETFL) & O_NONBLOCK);
	CU_ASSERT_FALSE(ff_waker_stopping(&w));
	CU_ASSERT_FALSE(ff_waker_sleep(&w, 10)); /* nothing pending: times out */

	/* wake-ups without a thread: readable, then drained */
	ff_waker_wake(&w);
	ff_waker_wake(&w);
	p = (struct pollfd){ ff_waker_fd(&w), POLLIN, 0 };
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 1);
	ff_waker_drain(&w);
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 0);

	atomic_store(&waker_wakeups, 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, waker_thread, &w), 0);
	ff_waker_wake(&w);
	t0 = mono_ms();
	while (atomic_load(&waker_wakeups) < 1 && mono_ms() - t0 < 5000)
		poll(NULL, 0, 1);
	CU_ASSERT(atomic_load(&waker_wakeups) >= 1);
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 0); /* the thread drained it */

	t0 = mono_ms();
	ff_waker_stop(&w);
	CU_ASSERT_TRUE(ff_waker_stopping(&w));
	pthread_join(t, NULL);
	CU_ASSERT(mono_ms() - t0 < 5000); /* not the thread's 10 s poll timeout */
	CU_ASSERT_TRUE(ff_waker_sleep(&w, 10000)); /* stopping: returns at once */
	CU_ASSERT(mono_ms() - t0 < 5000);

	ff_waker_close(&w);
	CU_ASSERT_EQUAL(ff_waker_fd(&w), -1);
	ff_waker_close(&w);
	ff_waker_wake(&w); /* closed: no-op */
	ff_waker_drain(&w);
	FF_ASSERT_OK(ff_waker_init(&w)); /* reusable, stop flag cleared */
	CU_ASSERT_FALSE(ff_waker_stopping(&w));
	ff_waker_close(&w);
}

static CU_TestInfo file_tests[] = {
	{ "bucket", test_bucket },
	{ "read_bounded_regular_only", test_file_read },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo error_tests[] = {
	{ "strerror_all_codes", test_strerror_all_codes },
	{ "strerror_unknown", test_strerror_unknown },
	{ "seterr", test_seterr },
	CU_TEST_INFO_NULL,
};
static CU_TestInfo log_tests[] = {
	{ "format", test_log_format },
	{ "truncation", test_log_truncation },
	{ "level_filter", test_log_level_filter },
	{ "level_parse", test_log_level_parse },
	{ "quote", test_log_quote },
	CU_TEST_INFO_NULL,
};
static CU_TestInfo helper_tests[] = {
	{ "random_bytes_fill_and_differ", test_random_bytes },
	{ "uuid4_format", test_uuid },
	{ "waker_wake_drain_stop", test_waker },
	CU_TEST_INFO_NULL,
};

FF_TEST_SUITES({ "error", NULL, NULL, NULL, NULL, error_tests },
	       { "log", NULL, NULL, NULL, NULL, log_tests },
	       { "file", NULL, NULL, NULL, NULL, file_tests },
	       { "helpers", NULL, NULL, NULL, NULL, helper_tests });
