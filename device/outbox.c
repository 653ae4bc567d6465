/* Store and forward: one file per FaceCodes message, written to a hidden
 * temporary name, fsync'd and renamed into place before it may be published,
 * removed when the broker acknowledged it. Design, crash cases and the drop
 * policy: device/OUTBOX.md. */
#include "device.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

#define LOG_COMP "outbox"
#define MAGIC "FFO1"
#define HDR_LEN 20   /* magic[4] len[4] seq[8] crc[4], little-endian */
#define SEQ_BLOCK 64 /* sequence numbers reserved per write of the seq file */
/* Above the backend's receipt when resuming: receipts lag commits by up to a
 * second (proto Receipt), and the backend refuses a jump of more than
 * max_seq_jump (1,000,000), so any margin in between is safe. */
#define RESUME_MARGIN 1000

typedef struct entry {
	uint64_t seq;
	uint32_t size;        /* payload bytes */
	bool out;             /* handed to the publisher (and, holding, not answered yet) */
	int64_t delivered_ms; /* holding: the broker's PUBACK (0: not yet) */
	int attempts;         /* holding: sends again for want of a receipt */
} entry;

struct dev_outbox {
	dev_outbox_options opt;
	char *dir;
	int lock_fd;
	pthread_mutex_t mu;
	entry *e;    /* e[head .. head+n-1], ascending seq */
	size_t head, n, cap;
	size_t scan; /* no entry before e[head+scan] is waiting to be handed out */
	int64_t bytes;
	uint64_t next_seq, seq_limit; /* seqs below seq_limit may have been used */
	/* a fresh outbox (no seq file, no message: a new or wiped device) hands
	 * out no seq until the backend's receipt says where to resume, or
	 * resume_deadline_ms passes (monotonic ms; 0: not waiting) */
	pthread_cond_t resumed;
	int64_t resume_deadline_ms;
	bool hold; /* the backend sends receipts: keep a face until its own */
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void msg_path(const dev_outbox *o, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/m%020" PRIu64 ".msg", o->dir, seq);
}

static int sync_dir(const dev_outbox *o)
{
	int fd, rc = FF_OK;
	if (!o->opt.fsync)
		return FF_OK;
	fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = FF_ERR_IO;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Writes len bytes to dir/final via dir/.tmp-final, fsync, rename. */
static int write_atomic(const dev_outbox *o, const char *final, const void *a, size_t alen,
			const void *b, size_t blen)
{
	char tmp[4200], dst[4200];
	int fd, rc = FF_OK;

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", o->dir, final);
	snprintf(dst, sizeof(dst), "%s/%s", o->dir, final);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return FF_ERR_IO;
	if (write(fd, a, alen) != (ssize_t)alen || (blen && write(fd, b, blen) != (ssize_t)blen) ||
	    (o->opt.fsync && fsync(fd) != 0))
		rc = FF_ERR_IO;
	if (close(fd) != 0)
		rc = FF_ERR_IO;
	if (rc == FF_OK && rename(tmp, dst) != 0)
		rc = FF_ERR_IO;
	if (rc != FF_OK) {
		ff_log_error(LOG_COMP, "event=write_failed file=%s errno=%d", dst, errno);
		unlink(tmp);
		return rc;
	}
	return sync_dir(o);
}

static int write_seq_file(dev_outbox *o, uint64_t limit)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", limit);
	int rc = write_atomic(o, "seq", text, (size_t)n, NULL, 0);
	if (rc == FF_OK)
		o->seq_limit = limit;
	return rc;
}

static uint64_t read_seq_file(const dev_outbox *o)
{
	char path[4200], text[32] = "";
	FILE *f;
	snprintf(path, sizeof(path), "%s/seq", o->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	return strtoull(text, NULL, 10);
}

/* ---- in-memory index (hold mu) ---- */

static int index_append(dev_outbox *o, uint64_t seq, uint32_t size)
{
	if (o->head + o->n == o->cap) {
		if (o->head > 0) { /* compact */
			memmove(o->e, o->e + o->head, o->n * sizeof(entry));
			o->head = 0;
		} else {
			size_t cap = o->cap ? o->cap * 2 : 256;
			entry *e = realloc(o->e, cap * sizeof(entry));
			if (!e)
				return FF_ERR_NOMEM;
			o->e = e;
			o->cap = cap;
		}
	}
	o->e[o->head + o->n++] = (entry){ seq, size, false, 0, 0 };
	o->bytes += size;
	return FF_OK;
}

/* Index (relative to head) of seq, or -1. */
static long index_find(const dev_outbox *o, uint64_t seq)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint64_t s = o->e[o->head + mid].seq;
		if (s == seq)
			return (long)mid;
		if (s < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Removes entry i from the index and its file from disk. */
static void index_remove(dev_outbox *o, size_t i)
{
	char path[4200];
	entry *e = &o->e[o->head + i];
	msg_path(o, e->seq, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		ff_log_warn(LOG_COMP, "event=unlink_failed file=%s errno=%d", path, errno);
	o->bytes -= e->size;
	if (i == 0) {
		o->head++;
	} else {
		memmove(e, e + 1, (o->n - i - 1) * sizeof(entry));
	}
	o->n--;
	if (o->scan > i)
		o->scan--;
	if (o->n == 0)
		o->head = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Scans the folder: removes leftovers of interrupted writes, indexes messages. */
static int recover(dev_outbox *o)
{
	DIR *d = opendir(o->dir);
	struct dirent *de;
	uint64_t *seqs = NULL, max_seq = 0;
	size_t nseq = 0, cap = 0;
	int rc = FF_OK;

	if (!d)
		return FF_ERR_IO;
	while ((de = readdir(d))) {
		uint64_t seq;
		char extra;
		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (sscanf(de->d_name, "m%20" SCNu64 ".ms%c", &seq, &extra) != 2 || extra != 'g')
			continue;
		if (nseq == cap) {
			uint64_t *p = realloc(seqs, (cap = cap ? cap * 2 : 256) * sizeof(*p));
			if (!p) {
				rc = FF_ERR_NOMEM;
				goto out;
			}
			seqs = p;
		}
		seqs[nseq++] = seq;
	}
	if (nseq)
		qsort(seqs, nseq, sizeof(*seqs), cmp_u64);
	for (size_t i = 0; i < nseq && rc == FF_OK; i++) {
		char path[4200];
		struct stat st;
		msg_path(o, seqs[i], path, sizeof(path));
		if (stat(path, &st) != 0 || st.st_size < HDR_LEN || st.st_size > HDR_LEN + DEV_MAX_MSG) {
			ff_log_warn(LOG_COMP, "event=discard_corrupt file=%s", path);
			unlink(path);
			continue;
		}
		rc = index_append(o, seqs[i], (uint32_t)(st.st_size - HDR_LEN));
		if (seqs[i] > max_seq)
			max_seq = seqs[i];
	}
	o->next_seq = read_seq_file(o);
	if (o->next_seq == 0 && nseq == 0 && o->opt.resume_wait_ms > 0)
		o->resume_deadline_ms = dev_mono_ms() + o->opt.resume_wait_ms;
	if (o->next_seq <= max_seq)
		o->next_seq = max_seq + 1;
	if (o->next_seq == 0)
		o->next_seq = 1;
	o->seq_limit = o->next_seq;
out:
	free(seqs);
	closedir(d);
	return rc;
}

int dev_outbox_open(const dev_outbox_options *opt, dev_outbox **out)
{
	dev_outbox *o;
	char path[4200];
	int rc;

	if (!opt || !opt->dir || !*opt->dir || opt->max_messages < 1 || opt->max_bytes < 1 || !out)
		return FF_ERR_INVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return FF_ERR_NOMEM;
	o->opt = *opt;
	o->lock_fd = -1;
	pthread_mutex_init(&o->mu, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&o->resumed, &ca);
		pthread_condattr_destroy(&ca);
	}
	o->dir = strdup(opt->dir);
	if (!o->dir) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	o->opt.dir = o->dir;
	if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		ff_log_error(LOG_COMP, "event=mkdir_failed dir=%s errno=%d", o->dir, errno);
		rc = FF_ERR_IO;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/.lock", o->dir);
	o->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (o->lock_fd < 0) {
		ff_log_error(LOG_COMP, "event=open_failed dir=%s errno=%d", o->dir, errno);
		rc = FF_ERR_IO;
		goto out;
	}
	if (flock(o->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		ff_log_error(LOG_COMP, "event=locked dir=%s reason=\"another fleet-device uses this outbox\"",
			     o->dir);
		rc = FF_ERR_STATE;
		goto out;
	}
	rc = recover(o);
	if (rc != FF_OK)
		goto out;
	ff_log_info(LOG_COMP, "event=open dir=%s queued=%zu bytes=%lld next_seq=%" PRIu64, o->dir,
		    o->n, (long long)o->bytes, o->next_seq);
out:
	if (rc != FF_OK) {
		dev_outbox_close(o);
		return rc;
	}
	*out = o;
	return FF_OK;
}

/* Holds mu. Waits (fresh outbox only) for dev_outbox_resume or the deadline. */
static void wait_resume(dev_outbox *o)
{
	struct timespec dl;
	if (!o->resume_deadline_ms)
		return;
	dl.tv_sec = (time_t)(o->resume_deadline_ms / 1000);
	dl.tv_nsec = (long)(o->resume_deadline_ms % 1000) * 1000000L;
	while (o->resume_deadline_ms && pthread_cond_timedwait(&o->resumed, &o->mu, &dl) == 0)
		;
	if (o->resume_deadline_ms) {
		ff_log_warn(LOG_COMP, "event=resume_timeout next_seq=%" PRIu64 " note=\"no receipt from "
				      "the backend yet: if this device sent faces before, the first ones may be "
				      "refused (seq_reused)\"", o->next_seq);
		o->resume_deadline_ms = 0;
	}
}

void dev_outbox_resume(dev_outbox *o, uint64_t last_seq)
{
	pthread_mutex_lock(&o->mu);
	if (o->next_seq <= last_seq) {
		uint64_t from = o->next_seq;
		o->next_seq = last_seq + RESUME_MARGIN;
		if (write_seq_file(o, o->next_seq + SEQ_BLOCK) != FF_OK)
			o->seq_limit = o->next_seq + 1;
		ff_log_warn(LOG_COMP, "event=seq_resumed from=%" PRIu64 " to=%" PRIu64 " backend_last_seq=%" PRIu64
				      " note=\"the backend has recorded seqs this outbox did not know (a lost or "
				      "replaced outbox)\"", from, o->next_seq, last_seq);
	}
	o->resume_deadline_ms = 0;
	pthread_cond_broadcast(&o->resumed);
	pthread_mutex_unlock(&o->mu);
}

uint64_t dev_outbox_next_seq(dev_outbox *o)
{
	uint64_t seq;
	pthread_mutex_lock(&o->mu);
	wait_resume(o);
	if (o->next_seq >= o->seq_limit &&
	    write_seq_file(o, o->next_seq + SEQ_BLOCK) != FF_OK) /* logged; files still order */
		o->seq_limit = o->next_seq + 1;
	seq = o->next_seq++;
	pthread_mutex_unlock(&o->mu);
	return seq;
}

int dev_outbox_put(dev_outbox *o, uint64_t seq, const void *buf, size_t len, uint64_t *dropped)
{
	uint8_t hdr[HDR_LEN];
	char name[64];
	uint32_t crc;
	int rc;

	if (len > DEV_MAX_MSG || (int64_t)len > o->opt.max_bytes)
		return FF_ERR_RANGE;
	pthread_mutex_lock(&o->mu);
	while (o->n && ((int64_t)o->n >= o->opt.max_messages || o->bytes + (int64_t)len > o->opt.max_bytes)) {
		if (o->opt.drop_newest) {
			pthread_mutex_unlock(&o->mu);
			(*dropped)++;
			ff_log_warn(LOG_COMP, "event=drop policy=newest seq=%" PRIu64, seq);
			return FF_ERR_FULL;
		}
		ff_log_warn(LOG_COMP, "event=drop policy=oldest seq=%" PRIu64, o->e[o->head].seq);
		index_remove(o, 0);
		(*dropped)++;
	}
	pthread_mutex_unlock(&o->mu);

	memcpy(hdr, MAGIC, 4);
	put_le(hdr + 4, len, 4);
	put_le(hdr + 8, seq, 8);
	crc = (uint32_t)crc32(0L, hdr + 4, 12);
	crc = (uint32_t)crc32(crc, buf, (uInt)len);
	put_le(hdr + 16, crc, 4);
	snprintf(name, sizeof(name), "m%020" PRIu64 ".msg", seq);
	rc = write_atomic(o, name, hdr, sizeof(hdr), buf, len);
	if (rc != FF_OK)
		return rc;
	pthread_mutex_lock(&o->mu);
	rc = index_append(o, seq, (uint32_t)len);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

/* Reads and checks one message file. Returns FF_OK or FF_ERR_FORMAT/IO. */
static int read_msg(const dev_outbox *o, uint64_t seq, void *buf, size_t cap, size_t *len)
{
	uint8_t data[HDR_LEN + DEV_MAX_MSG];
	char path[4200];
	ssize_t n;
	size_t plen;
	int fd;

	msg_path(o, seq, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FF_ERR_IO;
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n < HDR_LEN || memcmp(data, MAGIC, 4) != 0)
		return FF_ERR_FORMAT;
	plen = (size_t)get_le(data + 4, 4);
	if (plen != (size_t)n - HDR_LEN || plen > cap || get_le(data + 8, 8) != seq ||
	    (uint32_t)crc32(crc32(0L, data + 4, 12), data + HDR_LEN, (uInt)plen) != get_le(data + 16, 4))
		return FF_ERR_FORMAT;
	memcpy(buf, data + HDR_LEN, plen);
	*len = plen;
	return FF_OK;
}

int dev_outbox_take(dev_outbox *o, uint64_t *seq, void *buf, size_t cap, size_t *len)
{
	int rc = 0;
	pthread_mutex_lock(&o->mu);
	while (o->scan < o->n) {
		entry *e = &o->e[o->head + o->scan];
		if (e->out) {
			o->scan++;
			continue;
		}
		if (read_msg(o, e->seq, buf, cap, len) != FF_OK) {
			ff_log_warn(LOG_COMP, "event=discard_corrupt seq=%" PRIu64, e->seq);
			index_remove(o, o->scan);
			continue;
		}
		e->out = true;
		*seq = e->seq;
		o->scan++;
		rc = 1;
		break;
	}
	pthread_mutex_unlock(&o->mu);
	return rc;
}

void dev_outbox_ack(dev_outbox *o, uint64_t seq)
{
	long i;
	pthread_mutex_lock(&o->mu);
	i = index_find(o, seq);
	if (i >= 0 && o->hold)
		o->e[o->head + (size_t)i].delivered_ms = dev_mono_ms(); /* the first hop only */
	else if (i >= 0)
		index_remove(o, (size_t)i);
	pthread_mutex_unlock(&o->mu);
}

void dev_outbox_receipt(dev_outbox *o, uint64_t seq)
{
	long i;
	pthread_mutex_lock(&o->mu);
	if (!o->hold)
		ff_log_info(LOG_COMP, "event=receipts_on note=\"faces stay queued until the backend's "
				      "receipt, not just the broker's PUBACK\"");
	o->hold = true;
	i = index_find(o, seq);
	if (i >= 0)
		index_remove(o, (size_t)i);
	pthread_mutex_unlock(&o->mu);
}

size_t dev_outbox_resend_unanswered(dev_outbox *o, int timeout_ms)
{
	size_t n = 0;
	int64_t now = dev_mono_ms();
	pthread_mutex_lock(&o->mu);
	for (size_t i = 0; i < o->n; i++) {
		entry *e = &o->e[o->head + i];
		int64_t wait = (int64_t)timeout_ms << (e->attempts < 4 ? e->attempts : 4);
		if (!e->delivered_ms || now - e->delivered_ms < wait)
			continue;
		e->out = false;
		e->delivered_ms = 0;
		e->attempts++;
		if (i < o->scan)
			o->scan = i;
		n++;
	}
	pthread_mutex_unlock(&o->mu);
	if (n)
		ff_log_warn(LOG_COMP, "event=resend reason=no_receipt faces=%zu", n);
	return n;
}

void dev_outbox_nack(dev_outbox *o, uint64_t seq)
{
	long i;
	pthread_mutex_lock(&o->mu);
	i = index_find(o, seq);
	if (i >= 0) {
		o->e[o->head + (size_t)i].out = false;
		if ((size_t)i < o->scan)
			o->scan = (size_t)i;
	}
	pthread_mutex_unlock(&o->mu);
}

void dev_outbox_rewind(dev_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	for (size_t i = 0; i < o->n; i++) {
		o->e[o->head + i].out = false;
		o->e[o->head + i].delivered_ms = 0;
	}
	o->scan = 0;
	pthread_mutex_unlock(&o->mu);
}

size_t dev_outbox_count(dev_outbox *o)
{
	size_t n;
	pthread_mutex_lock(&o->mu);
	n = o->n;
	pthread_mutex_unlock(&o->mu);
	return n;
}

void dev_outbox_close(dev_outbox *o)
{
	if (!o)
		return;
	if (o->lock_fd >= 0 && o->seq_limit > o->next_seq)
		write_seq_file(o, o->next_seq); /* clean stop: no gap in sequence numbers */
	if (o->lock_fd >= 0)
		close(o->lock_fd);
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->resumed);
	free(o->e);
	free(o->dir);
	free(o);
}
