/* fleet-backend settings: the ff_config table (backend_config.h). */
#include "backend_config.h"

#include "facefleet/config.h"
#include "facefleet/log.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FF_BACKEND_DEFAULT_MODELS
#define FF_BACKEND_DEFAULT_MODELS "models"
#endif
/* An installed build (CMake FF_INSTALL_LAYOUT) sets both to /usr/share/facefleet. */
#ifndef FF_BACKEND_DEFAULT_VQ_DIR
#define FF_BACKEND_DEFAULT_VQ_DIR FF_BACKEND_DEFAULT_MODELS "/vq"
#endif
#ifndef FF_BACKEND_DEFAULT_EMBED_MODEL
#define FF_BACKEND_DEFAULT_EMBED_MODEL FF_BACKEND_DEFAULT_MODELS "/cache/ffn/mobilefacenet.ffn"
#endif
/* The web console: the source tree's console/, installed /usr/share/facefleet/console. */
#ifndef FF_BACKEND_DEFAULT_CONSOLE_DIR
#define FF_BACKEND_DEFAULT_CONSOLE_DIR ""
#endif

#define F(key, type, member, def, lo, hi, help, flags) \
	{ key, type, offsetof(be_backend_config, member), def, lo, hi, help, flags }

static const ff_config_field fields[] = {
	F("instance", FF_CFG_STRING, instance, "", 0, 64,
	  "instance name (logs, audit actor, MQTT client id); empty = host name", 0),
	F("mqtt_url", FF_CFG_STRING, mqtt_url, "tcp://127.0.0.1:1883", 0, 0,
	  "broker URL (tcp://host:port beside the broker, ssl://host:port with mqtt_ca_file from another host)",
	  FF_CFG_REQUIRED),
	F("mqtt_ca_file", FF_CFG_PATH, mqtt_ca_file, "", 0, 0,
	  "CA certificate that must sign the broker's (ssl:// urls: a backend on another host)", 0),
	F("mqtt_user", FF_CFG_STRING, mqtt_user, "", 0, 0, "MQTT user name", 0),
	F("mqtt_pub_user", FF_CFG_STRING, mqtt_pub_user, "", 0, 0,
	  "MQTT user name of the publisher connection (empty: mqtt_user; fleetctl backend add makes "
	  "one account per connection, each bound to its client id)", 0),
	F("mqtt_password", FF_CFG_STRING, mqtt_password, "", 0, 0, "MQTT password", FF_CFG_SECRET),
	F("broker_admin_user", FF_CFG_STRING, broker_admin_user, "", 0, 0,
	  "optional: a dynamic-security admin account (mqtt_url, mqtt_ca_file) with which the "
	  "API's device revoke also disables the device's broker account and drops its "
	  "sessions; empty: the revoke only refuses the device's faces (broker-config/ACL.md)", 0),
	F("broker_admin_password", FF_CFG_STRING, broker_admin_password, "", 0, 0,
	  "password of broker_admin_user", FF_CFG_SECRET),
	F("mqtt_client_id", FF_CFG_STRING, mqtt_client_id, "", 0, 64,
	  "MQTT client id of the subscription session (stable across restarts so the broker "
	  "redelivers what was not acknowledged); empty = fleet-backend-<instance>", 0),
	F("share_group", FF_CFG_STRING, share_group, "backend", 0, 64,
	  "shared subscription group ($share/<group>/...); empty = a plain subscription, for a "
	  "single backend: unlike a shared one, Mosquitto 2.0 keeps it across a broker restart "
	  "(docs/RELIABILITY.md)", 0),
	F("faces_filter", FF_CFG_STRING, faces_filter, "fleet/+/+/faces", 1, 128,
	  "topic filter of FaceCodes messages", 0),
	F("mqtt_keepalive_s", FF_CFG_INT, mqtt_keepalive_s, "30", 5, 600, "MQTT keep-alive, s", 0),
	F("session_expiry_s", FF_CFG_INT, session_expiry_s, "120", 0, 86400 * 7,
	  "MQTT session expiry: how long the broker keeps our un-acknowledged and queued "
	  "messages while we are away (a crash and a restart), s; short, because a session "
	  "left in the share group keeps drawing its share of faces. A clean stop of a "
	  "share-group member unsubscribes its shared filter first (docs/RELIABILITY.md)", 0),
	F("receive_max", FF_CFG_INT, receive_max, "256", 1, 65535,
	  "messages in flight (received, not yet committed and acknowledged)", 0),
	F("pg_conninfo", FF_CFG_STRING, pg_conninfo, "", 0, 0, "libpq connection string",
	  FF_CFG_REQUIRED | FF_CFG_SECRET),
	F("migrations_dir", FF_CFG_PATH, migrations_dir, "", 0, 0,
	  "SQL migrations folder (empty: FF_MIGRATIONS_DIR or the source tree's)", 0),
	F("migrate", FF_CFG_BOOL, migrate, "true", 0, 0,
	  "apply pending migrations on start (needs the schema owner's pg_conninfo; a runtime role "
	  "passes only when none is pending)", 0),
	F("migrate_only", FF_CFG_BOOL, migrate_only, "false", 0, 0,
	  "apply pending migrations and exit (run it as the owner before starting backends that "
	  "connect as facefleet_backend)", 0),
	F("vq_dir", FF_CFG_PATH, vq_dir, FF_BACKEND_DEFAULT_VQ_DIR, 0, 0,
	  "folder of VQ decoders <model_id>.dec.ffn", 0),
	F("vq_models", FF_CFG_STRING, vq_models, "", 0, 0,
	  "comma-separated VQ model ids to load; empty = every *.dec.ffn in vq_dir", 0),
	F("embed_model", FF_CFG_PATH, embed_model, FF_BACKEND_DEFAULT_EMBED_MODEL, 0, 0,
	  "MobileFaceNet .ffn file", 0),
	F("embed_model_id", FF_CFG_STRING, embed_model_id, "mobilefacenet-v1", 1, 64,
	  "face_templates.model_id of the gallery to match against", 0),
	F("threshold", FF_CFG_DOUBLE, threshold, "0.451", -1, 1,
	  "open-set cosine threshold: below it the decision is unknown (backend/THRESHOLD.md)", 0),
	F("track_threshold", FF_CFG_DOUBLE, track_threshold, "0.451", -1, 1,
	  "open-set cosine threshold of a face track's decision, on the quality-weighted fusion "
	  "of its faces (backend/THRESHOLD.md: FAR 1e-3 per comparison for up to 3 faces)", 0),
	F("track_ttl_s", FF_CFG_INT, track_ttl_s, "30", 1, 3600,
	  "a face track (FaceCodes track_id) is forgotten this long after its last face, s", 0),
	F("track_max", FF_CFG_INT, track_max, "4096", 0, 1 << 20,
	  "face tracks held in memory at once (a new one pushes out the least recently fed); "
	  "0: no fusion, every face decided and announced alone", 0),
	F("track_max_faces", FF_CFG_INT, track_max_faces, "3", 1, 16,
	  "faces fused per track (a device sends at most its track_max_faces, default 3); "
	  "beyond it the lowest quality goes", 0),
	F("top_k", FF_CFG_INT, top_k, "5", 1, 10, "identities recorded per event", 0),
	F("workers", FF_CFG_INT, workers, "2", 1, 64, "recognition worker threads", 0),
	F("nn_rewrites", FF_CFG_BOOL, nn_rewrites, "true", 0, 0,
	  "build the decoders and embedders with lib/nn's exact graph rewrites (the same results "
	  "to float rounding, less work: lib/nn/README.md); false: the model files' graphs as written", 0),
	F("queue_size", FF_CFG_INT, queue_size, "512", 8, 1 << 20,
	  "jobs queued between stages", 0),
	F("batch_max", FF_CFG_INT, batch_max, "128", 1, 4096, "events per database batch", 0),
	F("batch_ms", FF_CFG_INT, batch_ms, "10", 0, 1000,
	  "longest wait to fill a database batch, ms", 0),
	F("max_payload", FF_CFG_INT, max_payload, "1024", 64, 65536,
	  "largest FaceCodes message accepted, bytes (larger: rejected unparsed)", 0),
	F("replay_window", FF_CFG_INT, replay_window, "4096", 0, 1 << 30,
	  "seq this far below a device's highest committed seq is a replay (closer ones are "
	  "caught exactly by the unique (device, seq))", 0),
	F("device_rate", FF_CFG_DOUBLE, device_rate, "10", 0, 100000,
	  "faces a second each device may send over time (0: no budget); beyond its budget a "
	  "device's faces are dropped before decoding, counted, audited once a minute", 0),
	F("device_burst", FF_CFG_INT, device_burst, "300", 1, 1000000,
	  "faces a device may send at once (an outbox draining after an outage)", 0),
	F("flood_disable_s", FF_CFG_INT, flood_disable_s, "0", 0, 86400,
	  "a device over its budget this many seconds without 10 s of calm is disabled (devices."
	  "enabled = false, audited device.flood_disable; an operator enables it again); 0: never", 0),
	F("max_seq_jump", FF_CFG_INT, max_seq_jump, "1000000", 1, 1 << 30,
	  "seq more than this above a device's highest committed seq is refused (seq_jump): "
	  "one forged seq near 2^63 would otherwise make every later face a replay", 0),
	F("http_listen", FF_CFG_STRING, http_listen, "", 0, 72,
	  "address:port of the HTTP listener: /metrics, /healthz, the API under /api/v1 "
	  "(docs/openapi.yaml), the console; [v6]:port for IPv6; empty = metrics_bind:metrics_port", 0),
	F("metrics_port", FF_CFG_INT, metrics_port, "9464", 0, 65535,
	  "older form of http_listen, used while it is empty: the listener's port (0 = no listener)", 0),
	F("metrics_bind", FF_CFG_STRING, metrics_bind, "127.0.0.1", 1, 64,
	  "older form of http_listen, used while it is empty: the listener's address", 0),
	F("http_tls_cert", FF_CFG_PATH, http_tls_cert, "", 0, 0,
	  "PEM certificate (chain) of the HTTP listener; with http_tls_key the listener speaks HTTPS only", 0),
	F("http_tls_key", FF_CFG_PATH, http_tls_key, "", 0, 0,
	  "PEM private key of http_tls_cert (read once at start)", 0),
	F("http_console_dir", FF_CFG_PATH, http_console_dir, FF_BACKEND_DEFAULT_CONSOLE_DIR, 0, 0,
	  "folder of the web console's static files, served at / and /console/ (empty: none)", 0),
	F("http_db_connections", FF_CFG_INT, http_db_connections, "4", 1, 64,
	  "database connections of the HTTP API (its own: API calls never wait on the pipeline's)", 0),
	F("http_max_connections", FF_CFG_INT, http_max_connections, "64", 4, 4096,
	  "HTTP connections at once (each a thread; event streams hold theirs)", 0),
	F("http_online_s", FF_CFG_INT, http_online_s, "300", 10, 86400,
	  "a device that sent no DeviceStatus since the backend started is online in GET "
	  "/api/v1/devices when its last face came this recently, s (one that did: as its status says)", 0),
	F("http_max_body", FF_CFG_INT, http_max_body, "4194304", 1024, 64 << 20,
	  "largest HTTP request body (an enrolment photo), bytes; larger: 413", 0),
	F("retention_events_days", FF_CFG_INT, retention_events_days, "90", 0, 36500,
	  "days of recognition events kept (0 = forever)", 0),
	F("retention_audit_days", FF_CFG_INT, retention_audit_days, "365", 0, 36500,
	  "days of audit log kept (0 = forever)", 0),
	F("maintenance_interval_s", FF_CFG_INT, maintenance_interval_s, "3600", 10, 86400,
	  "seconds between partition maintenance runs", 0),
	F("drain_timeout_s", FF_CFG_INT, drain_timeout_s, "10", 0, 600,
	  "on SIGTERM, longest wait for in-flight messages to commit, s", 0),
	F("log_level", FF_CFG_STRING, log_level, "info", 1, 16, "debug, info, warn, error", 0),
	FF_CONFIG_END
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fleet-backend [--config FILE] [--key=value ...]\n"
		"Turns FaceCodes messages into access decisions, events and audit rows.\n"
		"Subscribes $share/<share_group>/<faces_filter> (or <faces_filter> with an empty\n"
		"share_group; MQTT v5), validates, decodes\n"
		"(VQ-VAE), embeds (MobileFaceNet), matches the gallery, writes PostgreSQL in\n"
		"batches, acknowledges each message after its row is committed and publishes an\n"
		"AccessEvent on fleet/<site>/<device>/access. SIGTERM drains and exits 0.\n"
		"Exit: 0 ok, 1 runtime failure, 2 usage error.\n\noptions:\n"
		"  --config FILE  settings file (key = value lines)\n"
		"  --help         this text\n");
	ff_config_help(fields, out);
}

int be_backend_config_parse(be_backend_config *cfg, int argc, char **argv)
{
	char err[512] = "";
	ff_config_args args;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = ff_config_parse_args(fields, cfg, argc, argv, &args, err, sizeof(err));
	if (rc == 0 && args.version) {
		ff_config_version(stdout, "fleet-backend");
		return 1;
	}
	if (rc == 0 && args.help) {
		usage(stdout);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "fleet-backend: %s\n", err);
		return 2;
	}
	if (args.npositional) {
		fprintf(stderr, "fleet-backend: unexpected argument '%s' (see --help)\n",
			args.positional[0]);
		return 2;
	}
	if (!*cfg->instance) {
		char host[64] = "backend";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		if (ff_config_set(fields, cfg, "instance", host, "default", err, sizeof(err)) != 0)
			return 2;
	}
	if (!*cfg->mqtt_client_id) {
		char id[96];
		snprintf(id, sizeof(id), "fleet-backend-%s", cfg->instance);
		if (ff_config_set(fields, cfg, "mqtt_client_id", id, "default", err, sizeof(err)) != 0) {
			fprintf(stderr, "fleet-backend: %s\n", err);
			return 2;
		}
	}
	{
		ff_log_level lvl;
		if (ff_log_level_parse(cfg->log_level, &lvl) != 0) {
			fprintf(stderr, "fleet-backend: log_level '%s' is not debug|info|warn|error\n",
				cfg->log_level);
			return 2;
		}
		ff_log_set_level(lvl);
	}
	return 0;
}

void be_backend_config_free(be_backend_config *cfg)
{
	ff_config_free(fields, cfg);
}
