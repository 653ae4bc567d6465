/* fleet-backend: wires subscriber -> workers (validate, recognize) ->
 * batched store -> acknowledge + AccessEvent. See backend.h for the map. */
#include "backend.h"
#include "backend_config.h"
#include "http.h"
#include "metrics.h"
#include "facefleet/exit.h"
#include "facefleet/store.h"
#include "publisher.h"
#include "recognize.h"
#include "validate.h"
#include "registry.h"
#include "status_watch.h"
#include "store.h"
#include "subscriber.h"
#include "track_fusion.h"

#include "facefleet/error.h"
#include "facefleet/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "backend"

typedef struct app {
	be_backend_config cfg;
	be_model_set models;
	be_devices *devices;
	be_status_watch *watch; /* DeviceStatus and share-group presence read */
	be_gallery *gallery;
	be_tracks *tracks;      /* NULL: no fusion (track_max 0) */
	be_recognizer **rec;
	pthread_t *workers;
	int nworkers;
	be_queue work, write;
	be_sub *sub;
	be_store_writer *writer;
	be_store_listen *listen;
	be_publisher *pub;
	be_http *http;           /* NULL: no listener */
	be_validate_options vopt;
	atomic_size_t inflight; /* received, not yet acknowledged or dropped */
	atomic_bool pub_ready;  /* a->pub may be used from other threads */
	be_budget_limits budget; /* each device's (device_rate, device_burst, flood_disable_s) */
} app;

typedef struct worker_arg {
	app *a;
	int index;
} worker_arg;

static size_t gauge_work(void *ctx) { return be_queue_depth(&((app *)ctx)->work); }
static size_t gauge_write(void *ctx) { return be_queue_depth(&((app *)ctx)->write); }
static size_t gauge_inflight(void *ctx) { return atomic_load(&((app *)ctx)->inflight); }

/* The sender's budget, charged on arrival (the topic names it; unknown
 * senders are left to validation): over it, the job is marked to be dropped
 * unread; spending its burst, it waits in lane 1 behind everyone else's
 * faces. Returns the lane. */
static int take_budget(app *a, be_job *j)
{
	char site[FF_ID_MAX + 1], dev[FF_ID_MAX + 1];
	if (!be_faces_topic_parse(j->topic, site, dev))
		return 0;
	switch (be_devices_take(a->devices, dev, &a->budget, ff_mono_us(), &j->budget_dropped)) {
	case BE_BUDGET_OK_BURST:
		return 1;
	case BE_BUDGET_DROP:
		j->drop_silently = true;
		return 0;
	case BE_BUDGET_DISABLE:
		j->flood_disable = true;
		return 0;
	default:
		return 0;
	}
}

/* subscriber thread: may block on a full work queue (back-pressure) */
static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len,
		       uint16_t packet_id, bool dup, uint64_t gen)
{
	app *a = ctx;
	be_job *j = be_job_new(topic, payload, len);
	be_metrics_message_in();
	if (!j) {
		ff_log_error(LOG_COMP, "event=oom note=\"message left unacknowledged\"");
		return;
	}
	j->packet_id = packet_id;
	j->conn_gen = gen;
	j->dup = dup;
	atomic_fetch_add(&a->inflight, 1);
	if (!be_queue_push_lane(&a->work, j, take_budget(a, j))) {
		atomic_fetch_sub(&a->inflight, 1);
		be_job_free(j); /* shutting down: the broker redelivers it */
	}
}

/* subscriber thread: a status topic's message (status_watch.h) */
static void on_status(void *ctx, const char *topic, const uint8_t *payload, size_t len,
		      bool retained)
{
	be_status_watch_message(((app *)ctx)->watch, topic, payload, len, retained);
}

static void on_sub_state(void *ctx, bool connected)
{
	(void)ctx;
	be_metrics_set_mqtt_up(connected);
}

static void ack_face(app *a, const be_job *j);

static void *worker_main(void *arg)
{
	worker_arg *wa = arg;
	app *a = wa->a;
	be_recognizer *rec = a->rec[wa->index];
	be_job *j;
	free(wa); /* ours from start_all; everything needed is copied above */
	while ((j = be_queue_pop(&a->work, -1))) {
		int64_t t0 = ff_mono_us(), t1;
		be_metrics_observe(BE_STAGE_QUEUE, t0 - j->t_in);
		if (j->drop_silently) { /* a flood: not even parsed; no row, no log line */
			be_metrics_rejected("over_budget");
			ack_face(a, j);
			atomic_fetch_sub(&a->inflight, 1);
			be_job_free(j);
			continue;
		}
		be_validate(j, &a->models, a->devices, &a->vopt);
		t1 = ff_mono_us();
		j->t_validate = t1 - t0;
		be_metrics_observe(BE_STAGE_VALIDATE, j->t_validate);
		if (j->decision == BE_DECISION_NONE && !j->reason[0]) {
			/* a device's or its site's threshold overrides both global ones
			 * (backend/THRESHOLD.md) */
			be_recognize(rec, j, a->gallery,
				     be_devices_threshold(a->devices, j->device_id, a->cfg.threshold),
				     a->cfg.top_k);
			be_metrics_observe(BE_STAGE_DECODE, j->t_decode);
			be_metrics_observe(BE_STAGE_EMBED, j->t_embed);
			be_metrics_observe(BE_STAGE_MATCH, j->t_match);
			/* a face of a track: its track decided on the fusion too */
			if (a->tracks && j->track_id && (j->decision == BE_DECISION_GRANTED ||
							 j->decision == BE_DECISION_UNKNOWN ||
							 j->decision == BE_DECISION_REJECTED))
				be_track_decide_job(a->tracks, j, be_recognizer_embedding(rec), a->gallery,
						    be_devices_threshold(a->devices, j->device_id,
									 a->cfg.track_threshold),
						    ff_mono_us());
		}
		if (j->decision == BE_DECISION_NONE || j->decision == BE_DECISION_INVALID) {
			char dev[80];
			be_metrics_rejected(j->reason);
			ff_log_info(LOG_COMP, "event=rejected reason=%s device=%s topic=%s bytes=%zu",
				    j->reason, ff_log_quote(dev, sizeof(dev), j->claimed_device),
				    j->topic, j->len);
		}
		j->decided_us = ff_now_us();
		j->t_decided = ff_mono_us();
		if (!be_queue_push(&a->write, j)) {
			atomic_fetch_sub(&a->inflight, 1);
			be_job_free(j);
		}
	}
	return NULL;
}

static void ack_face(app *a, const be_job *j)
{
	if (a->sub && be_sub_ack(a->sub, j->packet_id, j->conn_gen) != FF_OK)
		ff_log_debug(LOG_COMP, "event=ack_skipped packet_id=%u note=\"connection gone; "
				       "the redelivery is a duplicate\"", j->packet_id);
}

/* The face's Receipt, to its device only (proto): its row is committed, or
 * it was refused for a reason no retry can change; with the device's last
 * recorded seq, where a device that lost its outbox resumes. Over-budget
 * faces get none: the device sends them again later. */
static void send_receipt(app *a, const be_job *j)
{
	static const char *const final_refusals[] = { "replay", "seq_reused", "seq_jump" };
	const char *outcome = j->decision == BE_DECISION_NONE ? NULL
			      : j->inserted		  ? "recorded"
							  : "duplicate";
	for (size_t i = 0; !outcome && i < sizeof(final_refusals) / sizeof(final_refusals[0]); i++)
		if (strcmp(j->reason, final_refusals[i]) == 0)
			outcome = final_refusals[i];
	if (outcome && j->seq && j->device_id[0])
		be_publisher_receipt(a->pub, j->site_id, j->device_id,
				     be_devices_last_seq(a->devices, j->device_id), j->seq, outcome);
}

/* publisher or Paho thread, after the AccessEvent (publisher.h) */
static void on_published(void *ctx, const be_job *j)
{
	ack_face(ctx, j);
	send_receipt(ctx, j);
}

/* listener thread: a device provisioned while we run gets its first
 * Receipt at once, so its first start does not wait for one */
static void on_new_device(void *ctx, const char *site, const char *device_id, uint64_t last_seq)
{
	app *a = ctx;
	if (atomic_load(&a->pub_ready))
		be_publisher_receipt(a->pub, site, device_id, last_seq, 0, NULL);
}

/* writer thread, after COMMIT: a face with a decision (a new row or a
 * duplicate) goes to the publisher, which acknowledges it after its
 * AccessEvent; one rejected without an event, and a face of a track that
 * did not change its track's decision (its row is its record), is
 * acknowledged here */
static void on_committed(void *ctx, be_job **jobs, size_t n)
{
	app *a = ctx;
	int64_t now = ff_mono_us();
	for (size_t i = 0; i < n; i++) {
		be_job *j = jobs[i];
		bool publish = j->decision != BE_DECISION_NONE &&
			       (j->track_decision == BE_DECISION_NONE || j->track_changed);
		if (j->decision != BE_DECISION_NONE) {
			if (j->inserted) {
				be_metrics_decision(j->decision);
				be_http_feed_event(j->event_id, j->site_id);
				be_devices_mark(a->devices, j->device_id, j->seq);
				if (j->track_decision != BE_DECISION_NONE)
					be_metrics_track_face(j->track_changed);
			} else {
				be_metrics_duplicate();
			}
		}
		if (!publish) {
			ack_face(a, j);
			send_receipt(a, j);
		}
		be_metrics_observe(BE_STAGE_COMMIT, now - j->t_decided);
		be_metrics_observe(BE_STAGE_TOTAL, now - j->t_in);
		ff_log_debug(LOG_COMP, "event=decided device=%s seq=%llu decision=%s score=%.3f "
				       "event_id=%s new=%d track=%llu fused=%d track_decision=%s "
				       "track_score=%.3f announced=%d",
			     j->device_id, (unsigned long long)j->seq, be_decision_name(j->decision),
			     j->score, j->event_id, j->inserted, (unsigned long long)j->track_id,
			     j->faces_fused, be_decision_name(j->track_decision), j->track_score,
			     publish);
		atomic_fetch_sub(&a->inflight, 1);
		if (publish)
			be_publisher_submit(a->pub, j);
		else
			be_job_free(j);
	}
}

static int migrate_db(app *a)
{
	char err[512] = "";
	int applied = 0, rc = FF_ERR_DB;
	/* PostgreSQL may still be starting (systemd ordering, restarts): 30 s */
	for (int attempt = 0; attempt < 60; attempt++) {
		PGconn *db = be_store_connect(a->cfg.pg_conninfo, "migrate");
		if (db) {
			rc = a->cfg.migrate ? ff_store_migrate(db, *a->cfg.migrations_dir
								     ? a->cfg.migrations_dir
								     : NULL,
							      &applied, err, sizeof(err))
					    : FF_OK;
			PQfinish(db);
			if (rc != FF_OK)
				ff_log_error(LOG_COMP, "event=migration_failed err=\"%s\"", err);
			else
				ff_log_info(LOG_COMP, "event=schema_ready applied=%d", applied);
			return rc;
		}
		poll(NULL, 0, 500);
	}
	return rc;
}

/* The VQ models, and one recognizer (decoders + embedder) per worker. */
static int start_models(app *a)
{
	char err[512] = "";
	int rc = be_model_set_load(&a->models, a->cfg.vq_dir, a->cfg.vq_models, err, sizeof(err));
	if (rc != FF_OK) {
		ff_log_error(LOG_COMP, "event=vq_models_failed err=\"%s\"", err);
		return rc;
	}
	for (size_t i = 0; i < a->models.n; i++)
		ff_log_info(LOG_COMP, "event=vq_model id=%s grid=%ux%u codes=%u codebook=%u bits=%u",
			    a->models.info[i].model_id, a->models.info[i].grid_h,
			    a->models.info[i].grid_w, a->models.info[i].num_codes,
			    a->models.info[i].codebook_size, a->models.info[i].bits_per_index);
	a->nworkers = a->cfg.workers;
	a->rec = calloc((size_t)a->nworkers, sizeof(*a->rec));
	a->workers = calloc((size_t)a->nworkers, sizeof(*a->workers));
	if (!a->rec || !a->workers)
		return FF_ERR_NOMEM;
	ff_nn_options nn = FF_NN_OPTIONS_INIT;
	nn.as_written = !a->cfg.nn_rewrites;
	for (int i = 0; i < a->nworkers; i++) {
		rc = be_recognizer_create(&a->models, a->cfg.embed_model, &nn, &a->rec[i], err,
					  sizeof(err));
		if (rc != FF_OK) {
			ff_log_error(LOG_COMP, "event=models_failed err=\"%s\"", err);
			return rc;
		}
	}
	return FF_OK;
}

/* The device and gallery caches, loaded and then kept fresh by the listener. */
static int start_caches(app *a)
{
	int rc = be_devices_create(&a->devices);
	if (rc == FF_OK)
		be_devices_on_new(a->devices, on_new_device, a);
	if (rc == FF_OK && (rc = be_status_watch_create(a->devices, &a->watch)) == FF_OK)
		be_metrics_set_members(a->cfg.share_group, be_status_watch_members, a->watch);
	if (rc != FF_OK ||
	    (rc = be_gallery_create(be_recognizer_dim(a->rec[0]), &a->gallery)) != FF_OK)
		return rc;
	if (a->cfg.track_max > 0) {
		be_tracks_options to = { .dim = be_recognizer_dim(a->rec[0]),
					 .max_tracks = (size_t)a->cfg.track_max,
					 .max_faces = a->cfg.track_max_faces,
					 .ttl_us = (int64_t)a->cfg.track_ttl_s * 1000000 };
		if ((rc = be_tracks_create(&to, &a->tracks)) != FF_OK)
			return rc;
	}
	be_store_listen_options lo = {
		.conninfo = a->cfg.pg_conninfo, .gallery = a->gallery,
		.gallery_model = a->cfg.embed_model_id, .devices = a->devices,
		.retention_events_days = a->cfg.retention_events_days,
		.retention_audit_days = a->cfg.retention_audit_days,
		.maintenance_interval_s = a->cfg.maintenance_interval_s,
	};
	if ((rc = be_store_listen_start(&lo, &a->listen)) != FF_OK)
		ff_log_error(LOG_COMP, "event=cache_load_failed");
	return rc;
}

/* The queues between the stages, their gauges, and the writer at their end. */
static int start_queues_and_writer(app *a)
{
	char actor[96]; /* copied by the writer */
	if (be_queue_init(&a->work, (size_t)a->cfg.queue_size) != 0 ||
	    be_queue_init(&a->write, (size_t)a->cfg.queue_size) != 0)
		return FF_ERR_NOMEM;
	be_metrics_set_queue_gauges(gauge_work, gauge_write, gauge_inflight, a);
	snprintf(actor, sizeof(actor), "backend:%s", a->cfg.instance);
	be_store_writer_options wo = { .conninfo = a->cfg.pg_conninfo, .actor = actor,
				       .batch_max = a->cfg.batch_max, .batch_ms = a->cfg.batch_ms,
				       .in = &a->write, .done = on_committed, .ctx = a };
	return be_store_writer_start(&wo, &a->writer);
}

/* AccessEvents and Receipts, on the publisher's own connection and account. */
static int start_publisher(app *a)
{
	ff_mqtt_options mo = FF_MQTT_OPTIONS_INIT;
	char pub_id[96];
	int rc;
	snprintf(pub_id, sizeof(pub_id), "%s-pub", a->cfg.mqtt_client_id);
	mo.url = a->cfg.mqtt_url;
	mo.client_id = pub_id;
	mo.username = *a->cfg.mqtt_pub_user ? a->cfg.mqtt_pub_user
		      : *a->cfg.mqtt_user  ? a->cfg.mqtt_user
					   : NULL;
	mo.password = *a->cfg.mqtt_password ? a->cfg.mqtt_password : NULL;
	mo.ca_file = *a->cfg.mqtt_ca_file ? a->cfg.mqtt_ca_file : NULL;
	mo.max_inflight = 64;
	be_presence pr = { a->cfg.instance, a->cfg.share_group, a->cfg.session_expiry_s };
	rc = be_publisher_start(&mo, &pr, a->cfg.embed_model_id, (size_t)a->cfg.queue_size,
				on_published, a, &a->pub);
	if (rc != FF_OK)
		ff_log_error(LOG_COMP, "event=publisher_failed err=\"%s\"", ff_strerror(rc));
	else
		atomic_store(&a->pub_ready, true);
	return rc;
}

/* The worker threads, with the checks they apply. */
static int start_workers(app *a)
{
	a->vopt.max_payload = (size_t)a->cfg.max_payload;
	a->vopt.replay_window = (uint64_t)a->cfg.replay_window;
	a->vopt.max_seq_jump = (uint64_t)a->cfg.max_seq_jump;
	a->budget = (be_budget_limits){ a->cfg.device_rate, a->cfg.device_burst,
					(int64_t)a->cfg.flood_disable_s * 1000000 };
	for (int i = 0; i < a->nworkers; i++) {
		worker_arg *wa = malloc(sizeof(*wa));
		if (!wa)
			return FF_ERR_NOMEM;
		wa->a = a;
		wa->index = i;
		if (pthread_create(&a->workers[i], NULL, worker_main, wa) != 0) {
			free(wa);
			return FF_ERR_NOMEM;
		}
	}
	return FF_OK;
}

/* Last: the subscription that feeds everything above. */
static int start_subscriber(app *a, char *filter, size_t cap)
{
	int rc;
	if (*a->cfg.share_group)
		snprintf(filter, cap, "$share/%s/%s", a->cfg.share_group, a->cfg.faces_filter);
	else /* one backend: a plain subscription survives a broker restart */
		snprintf(filter, cap, "%s", a->cfg.faces_filter);
	be_sub_options so = {
		.url = a->cfg.mqtt_url, .ca_file = a->cfg.mqtt_ca_file, .client_id = a->cfg.mqtt_client_id,
		.username = a->cfg.mqtt_user, .password = a->cfg.mqtt_password,
		.filter = filter, .keepalive_s = a->cfg.mqtt_keepalive_s,
		.session_expiry_s = (uint32_t)a->cfg.session_expiry_s,
		.receive_max = (uint16_t)a->cfg.receive_max,
		.max_packet = 1u << 20, .on_message = on_message, .on_state = on_sub_state,
		.watch_filters = be_status_watch_filters(a->watch), .on_watch = on_status, .ctx = a,
	};
	if ((rc = be_sub_start(&so, &a->sub)) != FF_OK) {
		ff_log_error(LOG_COMP, "event=subscriber_failed url=%s err=\"%s\"", a->cfg.mqtt_url,
			     ff_strerror(rc));
		return rc;
	}
	if (be_sub_wait_ready(a->sub, 10000) != FF_OK)
		ff_log_warn(LOG_COMP, "event=subscription_pending note=\"retrying in the background\"");
	return FF_OK;
}

/* The HTTP listener (http.h): http_listen, else the older metrics_bind:metrics_port
 * (metrics_port 0: none). Enrolment finds MTCNN beside embed_model. */
static int start_http(app *a)
{
	char listen[96], ffn[1024];
	const char *slash = strrchr(a->cfg.embed_model, '/');
	if (*a->cfg.http_listen)
		snprintf(listen, sizeof(listen), "%s", a->cfg.http_listen);
	else if (a->cfg.metrics_port)
		snprintf(listen, sizeof(listen), "%s%s%s:%d", strchr(a->cfg.metrics_bind, ':') ? "[" : "",
			 a->cfg.metrics_bind, strchr(a->cfg.metrics_bind, ':') ? "]" : "", a->cfg.metrics_port);
	else
		return FF_OK;
	snprintf(ffn, sizeof(ffn), "%.*s", slash ? (int)(slash - a->cfg.embed_model) : 1,
		 slash ? a->cfg.embed_model : ".");
	be_http_options o = {
		.listen = listen, .tls_cert = a->cfg.http_tls_cert, .tls_key = a->cfg.http_tls_key,
		.console_dir = a->cfg.http_console_dir, .conninfo = a->cfg.pg_conninfo, .ffn_dir = ffn,
		.vq_dir = a->cfg.vq_dir, .embed_model_id = a->cfg.embed_model_id,
		.threshold = a->cfg.threshold, .db_connections = a->cfg.http_db_connections,
		.max_connections = a->cfg.http_max_connections, .online_s = a->cfg.http_online_s,
		.max_body = a->cfg.http_max_body, .devices = a->devices,
		.broker_admin = FF_DYNSEC_OPTIONS_INIT,
	};
	if (*a->cfg.broker_admin_user) { /* the backend's own broker URL and CA */
		o.broker_admin.url = a->cfg.mqtt_url;
		o.broker_admin.ca_file = *a->cfg.mqtt_ca_file ? a->cfg.mqtt_ca_file : NULL;
		o.broker_admin.username = a->cfg.broker_admin_user;
		o.broker_admin.password = a->cfg.broker_admin_password;
	}
	return be_http_start(&o, &a->http);
}

/* Each stage before the one that feeds it; stop_all undoes what started. */
static int start_all(app *a)
{
	char filter[256];
	int rc;
	if ((rc = migrate_db(a)) != FF_OK || (rc = start_models(a)) != FF_OK ||
	    (rc = start_caches(a)) != FF_OK ||
	    (rc = start_http(a)) != FF_OK ||
	    (rc = start_queues_and_writer(a)) != FF_OK || (rc = start_publisher(a)) != FF_OK ||
	    (rc = start_workers(a)) != FF_OK || (rc = start_subscriber(a, filter, sizeof(filter))) != FF_OK)
		return rc;
	ff_log_info(LOG_COMP, "event=started instance=%s filter=%s workers=%d threshold=%.4f "
			      "track_threshold=%.4f track_max=%d",
		    a->cfg.instance, filter, a->nworkers, a->cfg.threshold, a->cfg.track_threshold,
		    a->cfg.track_max);
	return FF_OK;
}

static void stop_all(app *a)
{
	int drain_ms = a->cfg.drain_timeout_s * 1000;
	/* 1. no new work; 2. workers finish what they hold; 3. writer commits
	 * (or gives up at the deadline); 4. publisher publishes and acknowledges;
	 * 5. DISCONNECT */
	if (a->sub)
		be_sub_pause(a->sub);
	if (a->work.lane[0].items)
		be_queue_close(&a->work);
	if (a->workers) {
		for (int i = 0; i < a->nworkers; i++)
			if (a->workers[i])
				pthread_join(a->workers[i], NULL);
	}
	if (a->write.lane[0].items)
		be_queue_close(&a->write);
	be_store_writer_stop(a->writer, drain_ms);
	ff_log_info(LOG_COMP, "event=drained unacknowledged=%zu", atomic_load(&a->inflight));
	/* the listener may publish receipts: stopped before the publisher, which
	 * acknowledges faces through a->sub: stopped before that */
	be_store_listen_stop(a->listen);
	a->listen = NULL;
	be_publisher_stop(a->pub, 2000);
	be_sub_stop(a->sub);
	be_http_stop(a->http);
	a->http = NULL;
	be_metrics_set_members(a->cfg.share_group, NULL, NULL); /* no scrape reads it any more */
	be_status_watch_free(a->watch);
	if (a->rec)
		for (int i = 0; i < a->nworkers; i++)
			be_recognizer_free(a->rec[i]);
	free(a->rec);
	be_model_set_free(&a->models);
	free(a->workers);
	be_queue_destroy(&a->work);
	be_queue_destroy(&a->write);
	be_gallery_free(a->gallery);
	be_tracks_free(a->tracks);
	be_devices_free(a->devices);
}

int main(int argc, char **argv)
{
	app a;
	sigset_t sigs;
	int sig = 0, rc;

	memset(&a, 0, sizeof(a));
	rc = be_backend_config_parse(&a.cfg, argc, argv);
	if (rc != 0) { /* --help (1) or a usage error (2) */
		be_backend_config_free(&a.cfg);
		return rc == 1 ? FF_EXIT_OK : FF_EXIT_USAGE;
	}
	/* every thread inherits the mask; main takes the signals with sigwait */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (a.cfg.migrate_only) { /* the one schema step, as the owner role */
		a.cfg.migrate = true;
		rc = migrate_db(&a);
		be_backend_config_free(&a.cfg);
		return rc == FF_OK ? FF_EXIT_OK : FF_EXIT_FAIL;
	}
	rc = start_all(&a);
	if (rc == FF_OK) {
		for (;;) {
			if (sigwait(&sigs, &sig) != 0)
				continue;
			if (sig == SIGHUP) {
				ff_log_info(LOG_COMP, "event=sighup note=\"settings reload needs a "
						      "restart; ignored\"");
				continue;
			}
			break;
		}
		ff_log_info(LOG_COMP, "event=stopping signal=%d", sig);
	} else {
		ff_log_error(LOG_COMP, "event=start_failed err=\"%s\"", ff_strerror(rc));
	}
	stop_all(&a);
	ff_log_info(LOG_COMP, "event=stopped");
	be_backend_config_free(&a.cfg);
	return rc == FF_OK ? FF_EXIT_OK : FF_EXIT_FAIL;
}
