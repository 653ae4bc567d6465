/* LISTEN/NOTIFY refreshes of the gallery and device cache, and partition
 * maintenance (store.h). */
#include "store.h"

#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/waker.h"
#include "metrics.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"

struct be_store_listen {
	be_store_listen_options opt;
	char *conninfo, *model;
	PGconn *db;
	pthread_t thread;
	ff_waker waker;
	int64_t next_maint_us;
};

static void publish_gallery_size(be_gallery *g)
{
	size_t t, i;
	be_gallery_size(g, &t, &i);
	be_metrics_set_gallery(t, i);
}

/* LISTEN and load both caches. */
static int setup(be_store_listen *l)
{
	PGresult *r;
	int rc;
	l->db = be_store_connect(l->conninfo, "listen");
	if (!l->db)
		return FF_ERR_DB;
	r = PQexec(l->db, "LISTEN ff_gallery; LISTEN ff_devices");
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? FF_OK : FF_ERR_DB;
	PQclear(r);
	if (rc == FF_OK)
		rc = be_devices_reload(l->opt.devices, l->db);
	if (rc == FF_OK)
		rc = be_gallery_reload(l->opt.gallery, l->db, l->model);
	if (rc == FF_OK) {
		publish_gallery_size(l->opt.gallery);
		be_metrics_set_db_up(1);
	}
	if (rc != FF_OK) {
		PQfinish(l->db);
		l->db = NULL;
	}
	return rc;
}

static void maintain(be_store_listen *l)
{
	static const char *const tables[2] = { "recognition_events", "audit_log" };
	int keep[2] = { l->opt.retention_events_days, l->opt.retention_audit_days };
	for (int i = 0; i < 2; i++) {
		char kbuf[16];
		const char *p[2] = { tables[i], kbuf };
		PGresult *r;
		snprintf(kbuf, sizeof(kbuf), "%d", keep[i]);
		r = PQexecParams(l->db, "SELECT ff_partitions_maintain($1, $2::integer)", 2, NULL, p,
				 NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			ff_log_warn(LOG_COMP, "event=maintenance_failed table=%s err=\"%s\"", tables[i],
				    PQerrorMessage(l->db));
		} else {
			for (int row = 0; row < PQntuples(r); row++)
				ff_log_info(LOG_COMP, "event=partition table=%s change=\"%s\"", tables[i],
					    PQgetvalue(r, row, 0));
		}
		PQclear(r);
	}
	l->next_maint_us = ff_mono_us() + (int64_t)l->opt.maintenance_interval_s * 1000000;
}

static void *listen_main(void *arg)
{
	be_store_listen *l = arg;
	int backoff = 200;
	while (!ff_waker_stopping(&l->waker)) {
		if (!l->db) {
			if (setup(l) != FF_OK) {
				ff_waker_sleep(&l->waker, backoff);
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
				continue;
			}
			backoff = 200;
			ff_log_info(LOG_COMP, "event=listen_ready");
		}
		if (ff_mono_us() >= l->next_maint_us)
			maintain(l);
		struct pollfd p[2] = { { PQsocket(l->db), POLLIN, 0 },
				       { ff_waker_fd(&l->waker), POLLIN, 0 } };
		int pr = poll(p, 2, 1000);
		/* notifications that arrived during a reload's query are already
		 * buffered by libpq: drain them even when the socket is quiet */
		if (pr > 0 && p[0].revents &&
		    (!PQconsumeInput(l->db) || PQstatus(l->db) != CONNECTION_OK)) {
			ff_log_warn(LOG_COMP, "event=listen_lost err=\"%s\"", PQerrorMessage(l->db));
			PQfinish(l->db);
			l->db = NULL;
			continue;
		}
		bool gallery = false, devices = false;
		PGnotify *n;
		while ((n = PQnotifies(l->db))) {
			if (strcmp(n->relname, "ff_gallery") == 0)
				gallery = true;
			else if (strcmp(n->relname, "ff_devices") == 0)
				devices = true;
			PQfreemem(n);
		}
		if (devices)
			be_devices_reload(l->opt.devices, l->db);
		if (gallery) {
			be_gallery_reload(l->opt.gallery, l->db, l->model);
			publish_gallery_size(l->opt.gallery);
		}
		if ((devices || gallery) && PQstatus(l->db) == CONNECTION_OK)
			PQconsumeInput(l->db); /* pick up what came during the reload */
	}
	return NULL;
}

int be_store_listen_start(const be_store_listen_options *opt, be_store_listen **out)
{
	be_store_listen *l = calloc(1, sizeof(*l));
	int rc;
	if (!l)
		return FF_ERR_NOMEM;
	l->opt = *opt;
	l->conninfo = strdup(opt->conninfo);
	l->model = strdup(opt->gallery_model);
	if (ff_waker_init(&l->waker) != FF_OK || !l->conninfo || !l->model) {
		rc = FF_ERR_NOMEM;
		goto fail;
	}
	rc = setup(l);
	if (rc != FF_OK)
		goto fail;
	maintain(l);
	if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
		rc = FF_ERR_NOMEM;
		goto fail;
	}
	*out = l;
	return FF_OK;
fail:
	PQfinish(l->db);
	ff_waker_close(&l->waker);
	free(l->conninfo);
	free(l->model);
	free(l);
	return rc;
}

void be_store_listen_stop(be_store_listen *l)
{
	if (!l)
		return;
	ff_waker_stop(&l->waker);
	pthread_join(l->thread, NULL);
	PQfinish(l->db);
	ff_waker_close(&l->waker);
	free(l->conninfo);
	free(l->model);
	free(l);
}
