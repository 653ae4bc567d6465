/* backend/http.h: fleet-backend's HTTP listener (libmicrohttpd): /metrics
 * and /healthz unauthenticated, the JSON API under /api/v1 behind bearer
 * tokens (docs/openapi.yaml), the web console's static files at / and
 * /console/. Files by concern:
 *   http.c              server: listener (TLS optional), requests, bodies, replies
 *   http_routes.c       the route table (method, path pattern, role, handler)
 *   http_db.c           the API's own small pool of database connections
 *   http_auth.c         bearer tokens and site scope
 *   http_events.c       events: list, detail, face.png
 *   http_stream.c       events: the server-sent events feed
 *   http_identities.c   identities: list, enrol from a photo, erase
 *   http_devices.c      devices: list with state, revoke, threshold
 *   http_sites.c        sites: list, add, remove, threshold
 *   http_stats.c        stats (fleetctl stats' figures)
 *   http_console.c      the web console's static files
 * Nothing here runs on the recognition pipeline's threads except
 * be_http_feed_event (the writer's hand-off, never blocking). */
#ifndef BE_HTTP_H
#define BE_HTTP_H

#include <stddef.h>

#include "facefleet/dynsec.h"

struct be_devices;

typedef struct be_http_options {
	const char *listen;          /* "host:port", "[v6]:port" */
	const char *tls_cert;        /* PEM files; both set: HTTPS */
	const char *tls_key;
	const char *console_dir;     /* "" or NULL: no console */
	const char *conninfo;        /* the backend's runtime role */
	const char *ffn_dir;         /* MTCNN + MobileFaceNet (enrolment) */
	const char *vq_dir;          /* VQ decoders (face.png) */
	const char *embed_model_id;  /* face_templates.model_id written at enrolment */
	double threshold;            /* the global default the sites list shows */
	int db_connections;          /* the API's pool */
	int max_connections;         /* HTTP connections at once (each a thread) */
	int online_s;                /* a device seen this recently is online */
	int max_body;                /* largest request body (photos), bytes */
	struct be_devices *devices;  /* each device's DeviceStatus (registry.h); NULL: none */
	/* The broker's dynamic-security admin: a device revoke also disables the
	 * device's broker account. No username: not configured (the revoke only
	 * refuses the device's faces). Its strings must outlive the listener. */
	ff_dynsec_options broker_admin;
} be_http_options;

typedef struct be_http be_http;

/* Starts the listener. Returns FF_OK, FF_ERR_INVAL (bad listen address),
 * FF_ERR_IO (cannot listen, or the TLS files cannot be read). */
int be_http_start(const be_http_options *o, be_http **out);
/* Ends every stream, stops the listener, closes its connections. NULL: no-op. */
void be_http_stop(be_http *h);

/* The store writer's hand-off after COMMIT: a new event of site for the
 * stream's clients (only its id travels; each client reads the row). Never
 * blocks: a client whose queue is full is dropped. Cheap without clients. */
void be_http_feed_event(const char *event_id, const char *site);

#endif
