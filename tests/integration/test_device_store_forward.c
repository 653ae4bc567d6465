/* device_store_forward: the outbox of fleet-device against a private
 * Mosquitto that the test stops and starts (same config and users as the
 * stack's broker, own port and data):
 *  - 200 faces captured while the broker is down all arrive exactly once
 *    after it comes back, in sequence 1..200;
 *  - an agent killed (SIGKILL) with queued messages loses none: a restarted
 *    agent delivers them, and its own sequence numbers continue above them;
 *  - a full outbox drops the oldest faces, and the status counts them. */
#include "ff_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_test.h"
#include "facefleet.pb-c.h"
#include "facefleet/clock.h"
#include "facefleet/error.h"

#define MAX_SEQ 1024

/* Counts FaceCodes per sequence number in ib; returns the number of messages. */
static size_t tally(dt_inbox *ib, const char *dev, unsigned *per_seq)
{
	size_t n = 0;
	memset(per_seq, 0, MAX_SEQ * sizeof(*per_seq));
	pthread_mutex_lock(&ib->mu);
	for (size_t i = 0; i < ib->n; i++) {
		Facefleet__V1__FaceCodes *fc;
		if (!strstr(ib->msgs[i].topic, "/faces") || !strstr(ib->msgs[i].topic, dev))
			continue;
		fc = facefleet__v1__face_codes__unpack(NULL, ib->msgs[i].len, ib->msgs[i].payload);
		CU_ASSERT_PTR_NOT_NULL(fc);
		if (fc && fc->seq < MAX_SEQ)
			per_seq[fc->seq]++;
		if (fc)
			n++;
		facefleet__v1__face_codes__free_unpacked(fc, NULL);
	}
	pthread_mutex_unlock(&ib->mu);
	return n;
}

/* Waits until the outbox folder holds want messages (or timeout). */
static size_t wait_outbox(const char *dir, size_t want, int timeout_s)
{
	size_t n = 0;
	for (int i = 0; i < timeout_s * 10 && (n = dt_outbox_files(dir, NULL, 0)) < want; i++)
		dt_sleep_ms(100);
	return n;
}

struct fixture {
	dt_broker broker;
	dt_inbox ib;
	ff_mqtt *sub;
	dt_run run;
	char img[1024], dev[40];
};

/* Broker up, a persistent subscriber on the device's topics, broker down. */
static void setup(struct fixture *f, const char *tag)
{
	char filter[128], id[64];
	dt_need_models();
	CU_ASSERT_EQUAL_FATAL(dt_broker_init(&f->broker, tag), 0);
	CU_ASSERT_EQUAL_FATAL(dt_broker_start(&f->broker), 0);
	dt_inbox_init(&f->ib);
	snprintf(f->dev, sizeof(f->dev), "dev-%s-%ld", tag, (long)getpid());
	snprintf(filter, sizeof(filter), "fleet/test-site/%s/#", f->dev);
	snprintf(id, sizeof(id), "test-sub-%s-%ld", tag, (long)getpid());
	f->sub = dt_client(f->broker.url, id, true, &f->ib, filter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->sub);
	dt_broker_stop(&f->broker);
	dt_run_init(&f->run, tag);
	ff_test_data_path(f->img, sizeof(f->img), "faces/lfw/Al_Pacino/Al_Pacino_0001.jpg");
}

static void teardown(struct fixture *f)
{
	ff_mqtt_destroy(f->sub);
	dt_broker_stop(&f->broker);
	dt_inbox_free(&f->ib);
	dt_cleanup(f->broker.dir);
	dt_cleanup(f->run.tmp);
}

static void test_broker_outage_200(void)
{
	static struct fixture f;
	static unsigned per_seq[MAX_SEQ];
	pid_t pid;
	size_t n;

	setup(&f, "outage");
	/* one face per frame, 200 frames, while nothing listens */
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--repeat=200",
			     "--drain-timeout-s=90", f.img, NULL);
	CU_ASSERT_EQUAL(wait_outbox(f.run.outbox, 200, 60), 200);
	CU_ASSERT_TRUE(dt_file_contains(f.run.log, "event=connect_retry"));
	CU_ASSERT_EQUAL(dt_inbox_count(&f.ib, "/faces"), 0);

	CU_ASSERT_EQUAL_FATAL(dt_broker_start(&f.broker), 0);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0); /* exits once the outbox is empty */
	CU_ASSERT_EQUAL(dt_outbox_files(f.run.outbox, NULL, 0), 0);
	dt_inbox_wait(&f.ib, "/faces", 200, 30);
	dt_sleep_ms(500); /* a duplicate would show up now */
	n = tally(&f.ib, f.dev, per_seq);
	CU_ASSERT_EQUAL(n, 200);
	for (unsigned s = 1; s <= 200; s++)
		if (per_seq[s] != 1) {
			fprintf(stderr, "seq %u arrived %u times\n", s, per_seq[s]);
			CU_FAIL("sequence number not delivered exactly once");
			break;
		}
	teardown(&f);
}

static void test_agent_killed_with_queue(void)
{
	static struct fixture f;
	static unsigned per_seq[MAX_SEQ];
	uint64_t queued[MAX_SEQ];
	size_t nq, n;
	uint64_t max_q = 0;
	pid_t pid;

	setup(&f, "kill");
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--repeat=60",
			     "--drain-timeout-s=90", f.img, NULL);
	CU_ASSERT(wait_outbox(f.run.outbox, 20, 60) >= 20);
	kill(pid, SIGKILL); /* mid-capture, 20+ queued */
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 10), 128 + SIGKILL);
	nq = dt_outbox_files(f.run.outbox, queued, MAX_SEQ);
	CU_ASSERT_FATAL(nq >= 20 && nq < MAX_SEQ);
	for (size_t i = 0; i < nq; i++)
		max_q = queued[i] > max_q ? queued[i] : max_q;

	/* broker back; a new agent with no input only forwards the outbox */
	CU_ASSERT_EQUAL_FATAL(dt_broker_start(&f.broker), 0);
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--source=none", NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_outbox_files(f.run.outbox, NULL, 0), 0);
	dt_inbox_wait(&f.ib, "/faces", nq, 20);
	dt_sleep_ms(500);
	n = tally(&f.ib, f.dev, per_seq);
	CU_ASSERT_EQUAL(n, nq);
	for (size_t i = 0; i < nq; i++)
		CU_ASSERT_EQUAL(per_seq[queued[i]], 1);

	/* sequence numbers go on above everything sent before the kill */
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--repeat=3", f.img, NULL);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_inbox_wait(&f.ib, "/faces", nq + 3, 20), nq + 3);
	n = tally(&f.ib, f.dev, per_seq);
	CU_ASSERT_EQUAL(n, nq + 3);
	{
		unsigned above = 0;
		for (uint64_t s = max_q + 1; s < MAX_SEQ; s++)
			above += per_seq[s];
		CU_ASSERT_EQUAL(above, 3);
	}
	teardown(&f);
}

/* The last DeviceStatus received (caller frees), or NULL. */
static Facefleet__V1__DeviceStatus *last_status(dt_inbox *ib)
{
	Facefleet__V1__DeviceStatus *st = NULL;
	pthread_mutex_lock(&ib->mu);
	for (size_t i = ib->n; i-- > 0 && !st;)
		if (strstr(ib->msgs[i].topic, "/status"))
			st = facefleet__v1__device_status__unpack(NULL, ib->msgs[i].len, ib->msgs[i].payload);
	pthread_mutex_unlock(&ib->mu);
	return st;
}

static void test_outbox_full_drops_oldest(void)
{
	static struct fixture f;
	static unsigned per_seq[MAX_SEQ];
	Facefleet__V1__DeviceStatus *st;
	pid_t pid;

	setup(&f, "full");
	/* 12 faces, room for 5, nobody listening */
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--repeat=12",
			     "--outbox-max-messages=5", "--drain-timeout-s=60", f.img, NULL);
	for (int i = 0; i < 600 && !dt_file_contains(f.run.log, "event=drop policy=oldest seq=7"); i++)
		dt_sleep_ms(100);
	/* the outbox logs a drop, removes the file, then writes the new face: give
	 * seq 12's write (an fsync) time to land before counting */
	for (int i = 0; i < 50 && dt_outbox_files(f.run.outbox, NULL, 0) != 5; i++)
		dt_sleep_ms(100);
	CU_ASSERT_EQUAL(dt_outbox_files(f.run.outbox, NULL, 0), 5);
	CU_ASSERT_EQUAL_FATAL(dt_broker_start(&f.broker), 0);
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(dt_inbox_wait(&f.ib, "/faces", 5, 20), 5);
	dt_sleep_ms(300);
	CU_ASSERT_EQUAL(tally(&f.ib, f.dev, per_seq), 5);
	for (unsigned s = 8; s <= 12; s++) /* the newest five */
		CU_ASSERT_EQUAL(per_seq[s], 1);
	st = last_status(&f.ib); /* OFFLINE, retained at the clean exit */
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st->counters);
	CU_ASSERT_EQUAL(st->counters->faces, 12);
	CU_ASSERT_EQUAL(st->counters->dropped, 7);
	CU_ASSERT_EQUAL(st->counters->published, 5);
	CU_ASSERT_EQUAL(st->counters->queued, 0);
	facefleet__v1__device_status__free_unpacked(st, NULL);
	teardown(&f);
}

/* After an outage the outbox drains at the device's pace (send_burst at
 * once, then max_send_rate a second), under the backend's per-device
 * budget, which would drop a faster drain; every face still once. */
static void test_paced_drain(void)
{
	static struct fixture f;
	static unsigned per_seq[MAX_SEQ];
	int64_t t0, took_ms;
	pid_t pid;

	setup(&f, "paced");
	pid = dt_agent_start(f.run.log, -1, f.dev, f.broker.url, f.run.outbox, "--repeat=40",
			     "--max-send-rate=20", "--send-burst=10", "--drain-timeout-s=60", f.img, NULL);
	CU_ASSERT_EQUAL(wait_outbox(f.run.outbox, 40, 60), 40);
	CU_ASSERT_EQUAL_FATAL(dt_broker_start(&f.broker), 0);
	t0 = ff_mono_us();
	CU_ASSERT_EQUAL(dt_inbox_wait(&f.ib, "/faces", 40, 30), 40);
	took_ms = (ff_mono_us() - t0) / 1000;
	CU_ASSERT_EQUAL(dt_agent_wait(pid, 60), 0);
	CU_ASSERT(took_ms >= 1400); /* (40 - 10) / 20 s, less the connect */
	CU_ASSERT(took_ms < 15000);
	CU_ASSERT_EQUAL(tally(&f.ib, f.dev, per_seq), 40);
	teardown(&f);
}

static CU_TestInfo sf_tests[] = {
	{ "paced_drain", test_paced_drain },
	{ "broker_outage_200", test_broker_outage_200 },
	{ "agent_killed_with_queue", test_agent_killed_with_queue },
	{ "outbox_full_drops_oldest", test_outbox_full_drops_oldest },
	CU_TEST_INFO_NULL,
};
FF_TEST_SUITES({ "device_store_forward", NULL, NULL, NULL, NULL, sf_tests });
