/* Prometheus metrics of fleet-backend (metrics.h). */
#include "metrics.h"

#include "facefleet/version.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* histogram buckets, microseconds */
static const int64_t lat_bounds[] = { 250,    500,    1000,   2500,   5000,    10000,   20000,
				      50000,  100000, 250000, 500000, 1000000, 5000000 };
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))
static const int64_t batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };
#define NBATCH (sizeof(batch_bounds) / sizeof(batch_bounds[0]))

typedef struct hist {
	atomic_llong bucket[16];
	atomic_llong count;
	atomic_llong sum;
} hist;

static const char *const stage_names[BE_STAGE__COUNT] = { "queue", "validate", "decode", "embed",
							  "match", "commit", "total" };

/* Reasons known in advance (validate.c, devices.c, lib/wire facecodes.c,
 * main.c, store_batch.c, store_writer.c, recognize.c): exported at 0 from
 * the start so rate() and increase() see the first one. Words not listed
 * still count, in the free slots after these. */
static const char *const known_reasons[] = {
	"payload_too_large", "bad_topic", "bad_protobuf", "bad_id", "topic_mismatch",
	"bad_seq", "unknown_device", "device_disabled", "site_mismatch", "replay",
	"seq_jump", "over_budget", "flooding", "bad_schema_version", "unknown_model",
	"grid_mismatch", "codes_per_cell_mismatch", "unsupported_model", "index_range",
	"bad_size", "bad_box", "bad_track", "internal_error", "seq_reused", "store_refused",
	"no_entropy_table", "bad_entropy_codes",
};
#define NKNOWN_REASONS (sizeof(known_reasons) / sizeof(known_reasons[0]))
_Static_assert(NKNOWN_REASONS < BE_REJECT_REASONS_MAX, "room for reasons not listed");

static struct {
	atomic_llong messages_in, duplicates, db_errors, published_ok, published_fail;
	atomic_llong decisions[5];
	atomic_int db_up, mqtt_up;
	atomic_llong gallery_templates, gallery_identities;
	atomic_llong track_faces, track_changes, tracks_held, tracks_expired, tracks_evicted;
	hist stage[BE_STAGE__COUNT];
	hist batch_rows, batch_commit;
	pthread_mutex_t reasons_mu;
	char reason_name[BE_REJECT_REASONS_MAX][BE_REASON_MAX];
	atomic_llong reason_count[BE_REJECT_REASONS_MAX];
	int nreasons;
	int reasons_seeded;
	be_metrics_gauge_fn g_work, g_write, g_inflight;
	void *g_ctx;
	atomic_llong dstatus[BE_DSTATUS__COUNT];
	char own_group[BE_GROUP_NAME_MAX + 1];
	be_metrics_members_fn members;
	void *members_ctx;
} M = { .reasons_mu = PTHREAD_MUTEX_INITIALIZER };

static void hist_add(hist *h, const int64_t *bounds, size_t n, int64_t v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	atomic_fetch_add(&h->bucket[i], 1); /* i == n: +Inf only */
	atomic_fetch_add(&h->count, 1);
	atomic_fetch_add(&h->sum, v);
}

void be_metrics_message_in(void) { atomic_fetch_add(&M.messages_in, 1); }
void be_metrics_duplicate(void) { atomic_fetch_add(&M.duplicates, 1); }
void be_metrics_db_error(void) { atomic_fetch_add(&M.db_errors, 1); }
void be_metrics_set_db_up(int up) { atomic_store(&M.db_up, up); }
void be_metrics_set_mqtt_up(int up) { atomic_store(&M.mqtt_up, up); }

void be_metrics_published(int ok)
{
	atomic_fetch_add(ok ? &M.published_ok : &M.published_fail, 1);
}

void be_metrics_set_gallery(size_t templates, size_t identities)
{
	atomic_store(&M.gallery_templates, (long long)templates);
	atomic_store(&M.gallery_identities, (long long)identities);
}

void be_metrics_track_face(int changed)
{
	atomic_fetch_add(&M.track_faces, 1);
	if (changed)
		atomic_fetch_add(&M.track_changes, 1);
}

void be_metrics_set_tracks(size_t held, uint64_t expired, uint64_t evicted)
{
	atomic_store(&M.tracks_held, (long long)held);
	atomic_store(&M.tracks_expired, (long long)expired);
	atomic_store(&M.tracks_evicted, (long long)evicted);
}

void be_metrics_decision(be_decision d)
{
	if ((int)d >= 0 && (int)d < 5)
		atomic_fetch_add(&M.decisions[d], 1);
}

/* Fills the known reasons in once; M.reasons_mu held. */
static void seed_reasons(void)
{
	if (M.reasons_seeded)
		return;
	for (size_t k = 0; k < NKNOWN_REASONS; k++)
		snprintf(M.reason_name[k], BE_REASON_MAX, "%s", known_reasons[k]);
	M.nreasons = (int)NKNOWN_REASONS;
	M.reasons_seeded = 1;
}

void be_metrics_rejected(const char *reason)
{
	int i;
	if (!reason || !*reason)
		reason = "unspecified";
	pthread_mutex_lock(&M.reasons_mu);
	seed_reasons();
	for (i = 0; i < M.nreasons; i++)
		if (strcmp(M.reason_name[i], reason) == 0)
			break;
	if (i == M.nreasons && M.nreasons < BE_REJECT_REASONS_MAX) {
		snprintf(M.reason_name[i], BE_REASON_MAX, "%s", reason);
		M.nreasons++;
	}
	pthread_mutex_unlock(&M.reasons_mu);
	if (i < BE_REJECT_REASONS_MAX)
		atomic_fetch_add(&M.reason_count[i], 1);
}

void be_metrics_observe(be_stage s, int64_t us)
{
	if (s >= 0 && s < BE_STAGE__COUNT)
		hist_add(&M.stage[s], lat_bounds, NLAT, us < 0 ? 0 : us);
}

void be_metrics_batch(size_t rows, int64_t commit_us)
{
	hist_add(&M.batch_rows, batch_bounds, NBATCH, (int64_t)rows);
	hist_add(&M.batch_commit, lat_bounds, NLAT, commit_us);
}

void be_metrics_set_queue_gauges(be_metrics_gauge_fn work, be_metrics_gauge_fn write,
				 be_metrics_gauge_fn inflight, void *ctx)
{
	M.g_work = work;
	M.g_write = write;
	M.g_inflight = inflight;
	M.g_ctx = ctx;
}

void be_metrics_set_members(const char *own_group, be_metrics_members_fn fn, void *ctx)
{
	snprintf(M.own_group, sizeof(M.own_group), "%s", own_group ? own_group : "");
	for (char *c = M.own_group; *c; c++) /* a label value: nothing to escape */
		if (*c == '"' || *c == '\\' || *c == '\n')
			*c = '_';
	M.members = fn;
	M.members_ctx = ctx;
}

void be_metrics_device_status(be_dstatus_result r)
{
	if ((int)r >= 0 && r < BE_DSTATUS__COUNT)
		atomic_fetch_add(&M.dstatus[r], 1);
}

/* ---- rendering ---- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void render_hist(sbuf *b, const char *name, const char *labels, const hist *h,
			const int64_t *bounds, size_t n, double scale)
{
	long long cum = 0;
	const char *sep = *labels ? "," : "";
	for (size_t i = 0; i < n; i++) {
		cum += atomic_load(&h->bucket[i]);
		sb_printf(b, "%s_bucket{%s%sle=\"%g\"} %lld\n", name, labels, sep,
			  (double)bounds[i] * scale, cum);
	}
	cum += atomic_load(&h->bucket[n]);
	sb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", name, labels, sep, cum);
	/* no labels: the bare name (no empty braces) */
	sb_printf(b, "%s_sum%s%s%s %g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		  (double)atomic_load(&h->sum) * scale);
	sb_printf(b, "%s_count%s%s%s %lld\n", name, *labels ? "{" : "", labels,
		  *labels ? "}" : "", (long long)atomic_load(&h->count));
}

#define MEMBER_GROUPS_MAX 32 /* share groups exported; a fleet has one or two */

/* One group's three states; share group names are [A-Za-z0-9._-]
 * (status_watch.c): nothing to escape. */
static void render_group(sbuf *b, const be_group_members *g)
{
	static const char *const states[BE_MEMBER__COUNT] = { "online", "stopped", "lost" };
	for (int s = 0; s < BE_MEMBER__COUNT; s++)
		sb_printf(b, "ff_backend_share_group_members{share_group=\"%s\",state=\"%s\"} %lld\n",
			  g->group, states[s], g->n[s]);
}

/* The share groups' members and the DeviceStatus messages read. */
static void render_status(sbuf *b)
{
	static const char *const results[BE_DSTATUS__COUNT] = { "invalid", "online", "offline",
								"degraded", "unknown_device" };
	be_group_members g[MEMBER_GROUPS_MAX] = { { .n = { 0 } } };
	size_t n = M.members ? M.members(M.members_ctx, M.own_group, g, MEMBER_GROUPS_MAX) : 0;
	if (n == 0) /* no watch: the own group's states, all 0 */
		snprintf(g[n++].group, sizeof(g[0].group), "%s", M.own_group);
	sb_printf(b, "# HELP ff_backend_share_group_members Backends seen on facefleet/backend/+/status "
		     "(retained presence), by share group and state: lost is a member that died or lost "
		     "its link, whose session may hold a share of the faces.\n"
		     "# TYPE ff_backend_share_group_members gauge\n");
	for (size_t i = 0; i < n; i++) /* g[0]: the own group */
		render_group(b, &g[i]);
	sb_printf(b, "# HELP ff_backend_device_status_total DeviceStatus messages read, by the state "
		     "they carried, or refused (unknown_device: not a registered device of that site; "
		     "invalid: malformed).\n"
		     "# TYPE ff_backend_device_status_total counter\n");
	for (int r = 0; r < BE_DSTATUS__COUNT; r++)
		sb_printf(b, "ff_backend_device_status_total{result=\"%s\"} %lld\n", results[r],
			  (long long)atomic_load(&M.dstatus[r]));
}

char *be_metrics_render(size_t *len)
{
	sbuf b = { malloc(8192), 0, 8192, 0 };
	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	sb_printf(&b, "# HELP ff_backend_build_info The running fleet-backend's version; always 1.\n"
		      "# TYPE ff_backend_build_info gauge\n"
		      "ff_backend_build_info{version=\"%s\"} 1\n",
		  FF_VERSION);
	sb_printf(&b, "# HELP ff_backend_messages_in_total FaceCodes messages received.\n"
		      "# TYPE ff_backend_messages_in_total counter\n"
		      "ff_backend_messages_in_total %lld\n",
		  (long long)atomic_load(&M.messages_in));
	sb_printf(&b, "# HELP ff_backend_rejected_total Messages rejected by validation, by reason.\n"
		      "# TYPE ff_backend_rejected_total counter\n");
	pthread_mutex_lock(&M.reasons_mu);
	seed_reasons();
	for (int i = 0; i < M.nreasons; i++)
		sb_printf(&b, "ff_backend_rejected_total{reason=\"%s\"} %lld\n", M.reason_name[i],
			  (long long)atomic_load(&M.reason_count[i]));
	pthread_mutex_unlock(&M.reasons_mu);
	sb_printf(&b, "# HELP ff_backend_decisions_total Committed events by decision.\n"
		      "# TYPE ff_backend_decisions_total counter\n");
	for (int d = 1; d < 5; d++)
		sb_printf(&b, "ff_backend_decisions_total{decision=\"%s\"} %lld\n",
			  be_decision_name((be_decision)d), (long long)atomic_load(&M.decisions[d]));
	sb_printf(&b, "# HELP ff_backend_duplicates_total Redelivered or replayed (device, seq) pairs that made no new event.\n"
		      "# TYPE ff_backend_duplicates_total counter\n"
		      "ff_backend_duplicates_total %lld\n",
		  (long long)atomic_load(&M.duplicates));
	sb_printf(&b, "# HELP ff_backend_db_errors_total Database statements or batches that failed.\n"
		      "# TYPE ff_backend_db_errors_total counter\nff_backend_db_errors_total %lld\n",
		  (long long)atomic_load(&M.db_errors));
	sb_printf(&b, "# HELP ff_backend_access_published_total AccessEvent publishes, by result.\n"
		      "# TYPE ff_backend_access_published_total counter\n"
		      "ff_backend_access_published_total{result=\"ok\"} %lld\n"
		      "ff_backend_access_published_total{result=\"failed\"} %lld\n",
		  (long long)atomic_load(&M.published_ok), (long long)atomic_load(&M.published_fail));
	sb_printf(&b, "# HELP ff_backend_db_up 1 while the database connection is up.\n"
		      "# TYPE ff_backend_db_up gauge\nff_backend_db_up %d\n"
		      "# HELP ff_backend_mqtt_up 1 while the MQTT session (the share-group "
		      "subscription) is connected.\n"
		      "# TYPE ff_backend_mqtt_up gauge\nff_backend_mqtt_up %d\n",
		  atomic_load(&M.db_up), atomic_load(&M.mqtt_up));
	sb_printf(&b, "# HELP ff_backend_gallery_templates Face templates in the loaded gallery.\n"
		      "# TYPE ff_backend_gallery_templates gauge\nff_backend_gallery_templates %lld\n"
		      "# HELP ff_backend_gallery_identities Identities in the loaded gallery.\n"
		      "# TYPE ff_backend_gallery_identities gauge\nff_backend_gallery_identities %lld\n",
		  (long long)atomic_load(&M.gallery_templates),
		  (long long)atomic_load(&M.gallery_identities));
	sb_printf(&b, "# HELP ff_backend_track_faces_total Committed faces fused into their track.\n"
		      "# TYPE ff_backend_track_faces_total counter\n"
		      "ff_backend_track_faces_total %lld\n"
		      "# HELP ff_backend_track_changes_total Of those, faces that changed their track's "
		      "decision (each one AccessEvent).\n"
		      "# TYPE ff_backend_track_changes_total counter\n"
		      "ff_backend_track_changes_total %lld\n"
		      "# HELP ff_backend_tracks Face tracks held in memory.\n"
		      "# TYPE ff_backend_tracks gauge\nff_backend_tracks %lld\n"
		      "# HELP ff_backend_tracks_dropped_total Tracks forgotten: idle past track_ttl_s "
		      "(expired) or pushed out by track_max (evicted).\n"
		      "# TYPE ff_backend_tracks_dropped_total counter\n"
		      "ff_backend_tracks_dropped_total{reason=\"expired\"} %lld\n"
		      "ff_backend_tracks_dropped_total{reason=\"evicted\"} %lld\n",
		  (long long)atomic_load(&M.track_faces), (long long)atomic_load(&M.track_changes),
		  (long long)atomic_load(&M.tracks_held), (long long)atomic_load(&M.tracks_expired),
		  (long long)atomic_load(&M.tracks_evicted));
	render_status(&b);
	sb_printf(&b, "# HELP ff_backend_queue_depth Jobs waiting per stage.\n"
		      "# TYPE ff_backend_queue_depth gauge\n");
	sb_printf(&b, "ff_backend_queue_depth{queue=\"work\"} %zu\n",
		  M.g_work ? M.g_work(M.g_ctx) : 0);
	sb_printf(&b, "ff_backend_queue_depth{queue=\"write\"} %zu\n",
		  M.g_write ? M.g_write(M.g_ctx) : 0);
	sb_printf(&b, "ff_backend_queue_depth{queue=\"unacked\"} %zu\n",
		  M.g_inflight ? M.g_inflight(M.g_ctx) : 0);
	sb_printf(&b, "# HELP ff_backend_stage_seconds Per-stage latency.\n"
		      "# TYPE ff_backend_stage_seconds histogram\n");
	for (int s = 0; s < BE_STAGE__COUNT; s++) {
		char labels[48];
		snprintf(labels, sizeof(labels), "stage=\"%s\"", stage_names[s]);
		render_hist(&b, "ff_backend_stage_seconds", labels, &M.stage[s], lat_bounds, NLAT,
			    1e-6);
	}
	sb_printf(&b, "# HELP ff_backend_db_batch_rows Messages per database batch.\n"
		      "# TYPE ff_backend_db_batch_rows histogram\n");
	render_hist(&b, "ff_backend_db_batch_rows", "", &M.batch_rows, batch_bounds, NBATCH, 1);
	sb_printf(&b, "# HELP ff_backend_db_batch_seconds Time to write and commit one database batch.\n"
		      "# TYPE ff_backend_db_batch_seconds histogram\n");
	render_hist(&b, "ff_backend_db_batch_seconds", "", &M.batch_commit, lat_bounds, NLAT, 1e-6);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

int be_metrics_db_up(void) { return atomic_load(&M.db_up); }
int be_metrics_mqtt_up(void) { return atomic_load(&M.mqtt_up); }
