/* backend/backend_config.h: fleet-backend settings (one ff_config table:
 * defaults, `key = value` file, --flags, --help). */
#ifndef BE_BACKEND_CONFIG_H
#define BE_BACKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct be_backend_config {
	char *instance;        /* name in logs, audit actor, MQTT client id */
	char *mqtt_url;
	char *mqtt_ca_file;
	char *mqtt_user;
	char *mqtt_pub_user;
	char *mqtt_password;
	char *mqtt_client_id;  /* empty: fleet-backend-<instance> */
	char *broker_admin_user;     /* empty: the API's revoke leaves the broker account */
	char *broker_admin_password;
	char *share_group;
	char *faces_filter;    /* topic filter under the share group */
	int mqtt_keepalive_s;
	int session_expiry_s;
	int receive_max;       /* un-acknowledged messages the broker may send us */
	char *pg_conninfo;
	char *migrations_dir;
	bool migrate;
	bool migrate_only;
	char *vq_dir;          /* models/vq: <model_id>.dec.ffn */
	char *vq_models;       /* comma-separated model ids; empty = every *.dec.ffn */
	char *embed_model;     /* mobilefacenet.ffn */
	char *embed_model_id;  /* face_templates.model_id of the gallery */
	double threshold;
	double track_threshold; /* on the fusion of a track's faces (track_fusion.h) */
	int track_ttl_s;
	int track_max;         /* tracks held at once; 0: no fusion */
	int track_max_faces;
	int top_k;
	int workers;
	bool nn_rewrites;      /* lib/nn's exact graph rewrites (ff_nn_options.as_written off) */
	int queue_size;
	int batch_max;
	int batch_ms;
	int max_payload;
	int replay_window;
	int max_seq_jump;
	double device_rate;
	int device_burst;
	int flood_disable_s;
	int metrics_port;      /* older: the listener's port when http_listen is empty; 0 = none */
	char *metrics_bind;    /* older: its address then */
	char *http_listen;     /* host:port of the HTTP listener (http.h); "" = metrics_bind:metrics_port */
	char *http_tls_cert;   /* both set: HTTPS */
	char *http_tls_key;
	char *http_console_dir;
	int http_db_connections;
	int http_max_connections;
	int http_online_s;
	int http_max_body;
	int retention_events_days;
	int retention_audit_days;
	int maintenance_interval_s;
	int drain_timeout_s;
	char *log_level;
} be_backend_config;

/* Parses argv (defaults < --config file < flags). Returns 0 to run, 1 when
 * --help was printed (exit 0), 2 on a usage error (message printed). */
int be_backend_config_parse(be_backend_config *cfg, int argc, char **argv);
void be_backend_config_free(be_backend_config *cfg);

#endif
