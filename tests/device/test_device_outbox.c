/* device_outbox: the store-and-forward outbox of fleet-device on its own
 * (device/OUTBOX.md): order, ack/nack/rewind, persistence across a clean
 * close and a crash, leftovers of interrupted writes, corrupt files, the
 * bounds and both drop policies, one agent per folder, resuming above the
 * backend's receipt, holding faces until their receipts. */
#define _GNU_SOURCE /* nftw */
#include "ff_test.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "facefleet/error.h"

static char dir[256];

static dev_outbox *open_box(int max_messages, int64_t max_bytes, bool drop_newest)
{
	dev_outbox_options o = { dir, max_messages, max_bytes, drop_newest, true, 0 };
	dev_outbox *ob = NULL;
	FF_ASSERT_OK(dev_outbox_open(&o, &ob));
	return ob;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A new empty folder; the previous one goes unless a test failed. */
static void fresh_dir(void)
{
	if (dir[0] && CU_get_number_of_failures() == 0)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(dir, sizeof(dir), "/tmp/ff-outbox-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

/* Puts a message "msg-<seq>" under a fresh seq; returns the seq. */
static uint64_t put(dev_outbox *ob, uint64_t *dropped, int *rc)
{
	char text[32];
	uint64_t seq = dev_outbox_next_seq(ob);
	int n = snprintf(text, sizeof(text), "msg-%llu", (unsigned long long)seq);
	*rc = dev_outbox_put(ob, seq, text, (size_t)n, dropped);
	return seq;
}

/* Takes one message and checks its text matches its seq; returns seq or 0. */
static uint64_t take(dev_outbox *ob)
{
	char buf[DEV_MAX_MSG + 1], want[32];
	uint64_t seq = 0;
	size_t len = 0;
	if (dev_outbox_take(ob, &seq, buf, DEV_MAX_MSG, &len) != 1)
		return 0;
	buf[len] = '\0';
	snprintf(want, sizeof(want), "msg-%llu", (unsigned long long)seq);
	CU_ASSERT_STRING_EQUAL(buf, want);
	return seq;
}

static void test_order_ack_reopen(void)
{
	uint64_t dropped = 0;
	dev_outbox *ob;
	int rc;

	fresh_dir();
	ob = open_box(100, 1 << 20, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	for (int i = 1; i <= 5; i++) {
		CU_ASSERT_EQUAL(put(ob, &dropped, &rc), (uint64_t)i);
		CU_ASSERT_EQUAL(rc, FF_OK);
	}
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 5);
	CU_ASSERT_EQUAL(take(ob), 1);
	CU_ASSERT_EQUAL(take(ob), 2);
	CU_ASSERT_EQUAL(take(ob), 3);
	dev_outbox_nack(ob, 2);        /* failed: goes again first */
	CU_ASSERT_EQUAL(take(ob), 2);
	CU_ASSERT_EQUAL(take(ob), 4);
	dev_outbox_ack(ob, 1);
	dev_outbox_ack(ob, 3);
	dev_outbox_ack(ob, 99);        /* unknown: ignored */
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 3);
	dev_outbox_rewind(ob);         /* new connection: all un-acked again */
	CU_ASSERT_EQUAL(take(ob), 2);
	CU_ASSERT_EQUAL(take(ob), 4);
	CU_ASSERT_EQUAL(take(ob), 5);
	CU_ASSERT_EQUAL(take(ob), 0);
	CU_ASSERT_EQUAL(dropped, 0);
	dev_outbox_close(ob);

	/* reopen: the three un-acked are there, numbering goes on without a gap */
	ob = open_box(100, 1 << 20, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 3);
	CU_ASSERT_EQUAL(take(ob), 2);
	CU_ASSERT_EQUAL(dev_outbox_next_seq(ob), 6);
	dev_outbox_close(ob);
}

static void test_one_agent_per_folder(void)
{
	dev_outbox_options o = { NULL, 10, 1 << 20, false, true, 0 };
	dev_outbox *a, *b = NULL;

	fresh_dir();
	o.dir = dir;
	a = open_box(10, 1 << 20, false);
	CU_ASSERT_EQUAL(dev_outbox_open(&o, &b), FF_ERR_STATE);
	CU_ASSERT_PTR_NULL(b);
	dev_outbox_close(a);
	o.dir = "";
	CU_ASSERT_EQUAL(dev_outbox_open(&o, &b), FF_ERR_INVAL);
}

static void test_crash_leftovers_and_corruption(void)
{
	uint64_t dropped = 0, last = 0;
	char path[512];
	dev_outbox *ob;
	pid_t pid;
	int rc, st, fd;

	fresh_dir();
	/* a child queues 3 messages and dies without closing (crash) */
	pid = fork();
	if (pid == 0) {
		dev_outbox_options o = { dir, 100, 1 << 20, false, true, 0 };
		dev_outbox *c = NULL;
		if (dev_outbox_open(&o, &c) != FF_OK)
			_exit(2);
		for (int i = 0; i < 3; i++)
			put(c, &dropped, &rc);
		dev_outbox_next_seq(c); /* used for a face that never got queued */
		_exit(rc == FF_OK ? 0 : 3);
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_EQUAL_FATAL(WEXITSTATUS(st), 0);

	/* an interrupted write, a torn message and a flipped bit */
	snprintf(path, sizeof(path), "%s/.tmp-m%020d.msg", dir, 4);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT_EQUAL(write(fd, "FFO1", 4), 4);
	close(fd);
	snprintf(path, sizeof(path), "%s/m%020d.msg", dir, 2);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "X", 1, 21), 1); /* payload byte: CRC mismatch */
	close(fd);
	snprintf(path, sizeof(path), "%s/m%020d.msg", dir, 3);
	CU_ASSERT_EQUAL(truncate(path, 10), 0);     /* shorter than a header */

	ob = open_box(100, 1 << 20, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	snprintf(path, sizeof(path), "%s/.tmp-m%020d.msg", dir, 4);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* leftover removed */
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 2);   /* torn one discarded at open */
	CU_ASSERT_EQUAL(take(ob), 1);
	CU_ASSERT_EQUAL(take(ob), 0);               /* corrupt 2 discarded on read */
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 1);
	last = put(ob, &dropped, &rc);
	CU_ASSERT(last > 4);                        /* above all the child used */
	dev_outbox_close(ob);
}

static void test_bounds_drop_oldest(void)
{
	uint64_t dropped = 0;
	dev_outbox *ob;
	int rc;

	fresh_dir();
	ob = open_box(3, 1 << 20, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	for (int i = 0; i < 5; i++) {
		put(ob, &dropped, &rc);
		CU_ASSERT_EQUAL(rc, FF_OK);
	}
	CU_ASSERT_EQUAL(dropped, 2);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 3);
	CU_ASSERT_EQUAL(take(ob), 3);
	CU_ASSERT_EQUAL(take(ob), 4);
	CU_ASSERT_EQUAL(take(ob), 5);
	dev_outbox_close(ob);

	/* the byte bound: "msg-N" is 5 bytes here; 12 bytes hold two */
	fresh_dir();
	dropped = 0;
	ob = open_box(100, 12, false);
	for (int i = 0; i < 4; i++)
		put(ob, &dropped, &rc);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 2);
	CU_ASSERT_EQUAL(dropped, 2);
	CU_ASSERT_EQUAL(take(ob), 3);
	{
		char big[64] = { 0 };
		CU_ASSERT_EQUAL(dev_outbox_put(ob, dev_outbox_next_seq(ob), big, sizeof(big), &dropped),
				FF_ERR_RANGE);
	}
	dev_outbox_close(ob);
}

static void test_bounds_drop_newest(void)
{
	uint64_t dropped = 0;
	dev_outbox *ob;
	int rc;

	fresh_dir();
	ob = open_box(3, 1 << 20, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	for (int i = 0; i < 3; i++) {
		put(ob, &dropped, &rc);
		CU_ASSERT_EQUAL(rc, FF_OK);
	}
	put(ob, &dropped, &rc);
	CU_ASSERT_EQUAL(rc, FF_ERR_FULL);
	CU_ASSERT_EQUAL(dropped, 1);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 3);
	CU_ASSERT_EQUAL(take(ob), 1);
	dev_outbox_close(ob);
}

static dev_outbox *open_waiting(int wait_ms)
{
	dev_outbox_options o = { dir, 100, 1 << 20, false, true, wait_ms };
	dev_outbox *ob = NULL;
	FF_ASSERT_OK(dev_outbox_open(&o, &ob));
	return ob;
}

static void *receipt_later(void *arg)
{
	usleep(100 * 1000);
	dev_outbox_resume(arg, 41);
	return NULL;
}

/* A fresh outbox (a wiped device) numbers nothing until the backend's
 * receipt, then resumes above it; without one it goes on after the wait.
 * An outbox with history does not wait, and a lower receipt changes
 * nothing. */
static void test_resume_above_receipt(void)
{
	dev_outbox *ob;
	pthread_t t;
	int64_t t0;
	fresh_dir();
	ob = open_waiting(10000);
	pthread_create(&t, NULL, receipt_later, ob);
	t0 = dev_mono_ms();
	CU_ASSERT_EQUAL(dev_outbox_next_seq(ob), 41 + 1000);
	CU_ASSERT(dev_mono_ms() - t0 >= 90);
	pthread_join(t, NULL);
	dev_outbox_resume(ob, 5); /* lower: no change */
	CU_ASSERT_EQUAL(dev_outbox_next_seq(ob), 41 + 1001);
	dev_outbox_close(ob);
	ob = open_waiting(10000); /* history now: no wait, the counter persisted */
	t0 = dev_mono_ms();
	CU_ASSERT_EQUAL(dev_outbox_next_seq(ob), 41 + 1002);
	CU_ASSERT(dev_mono_ms() - t0 < 1000);
	dev_outbox_close(ob);

	fresh_dir();
	ob = open_waiting(150); /* no receipt comes: 1 after the wait */
	t0 = dev_mono_ms();
	CU_ASSERT_EQUAL(dev_outbox_next_seq(ob), 1);
	CU_ASSERT(dev_mono_ms() - t0 >= 140);
	dev_outbox_close(ob);
}

/* Once the backend sends receipts, the broker's PUBACK no longer ends a
 * face: it stays until its own receipt, and one whose receipt is late is
 * handed out again (same seq). */
static void test_hold_until_receipt(void)
{
	dev_outbox *ob;
	uint64_t dropped = 0, s[3];
	int rc;
	fresh_dir();
	ob = open_box(100, 1 << 20, false);
	dev_outbox_receipt(ob, 999); /* some receipt: holding from now on */
	for (int i = 0; i < 3; i++)
		s[i] = put(ob, &dropped, &rc);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(take(ob), s[i]);
		dev_outbox_ack(ob, s[i]);
	}
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 3);
	CU_ASSERT_EQUAL(take(ob), 0); /* delivered, waiting: not handed out */
	dev_outbox_receipt(ob, s[1]);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 2);
	CU_ASSERT_EQUAL(dev_outbox_resend_unanswered(ob, 60000), 0);
	usleep(20 * 1000);
	CU_ASSERT_EQUAL(dev_outbox_resend_unanswered(ob, 10), 2);
	CU_ASSERT_EQUAL(take(ob), s[0]);
	CU_ASSERT_EQUAL(take(ob), s[2]);
	dev_outbox_ack(ob, s[0]);
	dev_outbox_ack(ob, s[2]);
	CU_ASSERT_EQUAL(dev_outbox_resend_unanswered(ob, 10), 0); /* 10 ms x 2 now */
	dev_outbox_receipt(ob, s[0]);
	dev_outbox_receipt(ob, s[2]);
	CU_ASSERT_EQUAL(dev_outbox_count(ob), 0);
	dev_outbox_close(ob);
}

static void test_cleanup(void)
{
	fresh_dir(); /* removes the last test's folder */
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static CU_TestInfo outbox_tests[] = {
	{ "order_ack_reopen", test_order_ack_reopen },
	{ "one_agent_per_folder", test_one_agent_per_folder },
	{ "crash_leftovers_and_corruption", test_crash_leftovers_and_corruption },
	{ "bounds_drop_oldest", test_bounds_drop_oldest },
	{ "bounds_drop_newest", test_bounds_drop_newest },
	{ "resume_above_receipt", test_resume_above_receipt },
	{ "hold_until_receipt", test_hold_until_receipt },
	{ "cleanup", test_cleanup },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_outbox", NULL, NULL, NULL, NULL, outbox_tests });
