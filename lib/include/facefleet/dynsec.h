/* facefleet/dynsec.h: a client of Mosquitto's dynamic-security plugin, the
 * broker's account and ACL store (broker-config/ACL.md).
 *
 *   ff_dynsec_options o = FF_DYNSEC_OPTIONS_INIT;
 *   o.url = "tcp://127.0.0.1:1883"; o.username = "ff-admin"; o.password = pw;
 *   ff_dynsec *d; ff_dynsec_open(&o, &d, err, sizeof(err));
 *   ff_dynsec_disable_device(d, "door-1", err, sizeof(err));
 *   ff_dynsec_close(d);
 *
 * One admin session (an MQTT v5 connection of an account holding the
 * plugin's admin role) sends requests {"commands":[...]} to
 * $CONTROL/dynamic-security/v1 and reads the answers on .../v1/response.
 * The broker answers every admin session on that topic, so each command
 * carries a correlationData tag unique to this session (random per session,
 * then a counter) and only answers with our tags count. Commands are cJSON
 * objects (<cjson/cJSON.h>) built with the helpers below and extended with
 * cJSON_Add*ToObject; passwords in them are zeroed when they are freed.
 *
 * Device accounts: fleetctl device add makes "dev.<device>" (its role of the
 * same name); ff_dynsec_device_user writes that name, the one place it is
 * made. A session is not thread-safe: one thread at a time per ff_dynsec. */
#ifndef FACEFLEET_DYNSEC_H
#define FACEFLEET_DYNSEC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;
typedef struct ff_dynsec ff_dynsec;

typedef struct ff_dynsec_options {
	const char *url;        /* required: tcp://, ssl:// or mqtts:// host:port */
	const char *username;   /* required: an account with the plugin's admin role */
	const char *password;   /* NULL: none */
	const char *ca_file;    /* TLS urls: the CA that signs the broker's certificate */
	const char *client_id;  /* NULL: ff_mqtt's "ff-<pid>-<random>" */
	int connect_timeout_ms; /* the CONNACK and the SUBACK, each */
	int timeout_ms;         /* a request's answers, all of them */
} ff_dynsec_options;

#define FF_DYNSEC_OPTIONS_INIT                                                            \
	{                                                                                 \
		.url = NULL, .username = NULL, .password = NULL, .ca_file = NULL,          \
		.client_id = NULL, .connect_timeout_ms = 5000, .timeout_ms = 10000          \
	}

/* Connects as the admin account and subscribes to the response topic.
 * Returns FF_OK (*out set), FF_ERR_INVAL (no url or username, bad url,
 * timeouts < 1), FF_ERR_AUTH (credentials refused, or the account may not
 * read the response topic: not an admin), FF_ERR_TIMEOUT, FF_ERR_MQTT
 * (unreachable, TLS failure), FF_ERR_NOMEM; the reason goes to errbuf
 * (never the password). */
int ff_dynsec_open(const ff_dynsec_options *o, ff_dynsec **out, char *errbuf, size_t errlen);
/* Disconnects and frees. NULL is a no-op. */
void ff_dynsec_close(ff_dynsec *d);

/* A command {"command":command,key:value} (key NULL: without it), to which
 * the caller adds fields. NULL when out of memory. */
struct cJSON *ff_dynsec_command(const char *command, const char *key, const char *value);
/* Appends the ACL {"acltype":type,"topic":topic,"allow":true} to the array
 * acls (NULL: fails). False when out of memory. */
bool ff_dynsec_acl(struct cJSON *acls, const char *type, const char *topic);
/* The createClient command of user: password, the client id it is bound
 * to, textname (NULL: ""), one role. NULL when out of memory. */
struct cJSON *ff_dynsec_create_client(const char *user, const char *pw, const char *clientid,
				      const char *textname, const char *role);
/* Frees the n commands (NULL entries allowed), their passwords zeroed
 * first, and sets them to NULL. */
void ff_dynsec_free(struct cJSON **cmds, int n);

/* Sends the n (1..16) commands (not consumed) in one request and waits for
 * their answers (timeout_ms). Returns FF_OK when every command succeeded;
 * else the last failure's text goes to errbuf and: FF_ERR_NOTFOUND when the
 * errors say "not found" (an unknown client or role), FF_ERR_STATE for
 * "already exists", FF_ERR_AUTH when the broker refused the request (not an
 * admin), FF_ERR_TIMEOUT when not every command was answered (plugin not
 * loaded?), FF_ERR_MQTT for other errors or a lost connection, FF_ERR_INVAL
 * (n out of range), FF_ERR_NOMEM (also for a NULL command). */
int ff_dynsec_run(ff_dynsec *d, struct cJSON *const *cmds, int n, char *errbuf, size_t errlen);

/* The broker account of a device, "dev.<device>", into buf. Returns FF_OK,
 * FF_ERR_INVAL (device is not a valid id, facefleet/ids.h), FF_ERR_RANGE
 * (buf too small; 48 bytes always do). */
int ff_dynsec_device_user(char *buf, size_t cap, const char *device);
/* Revocation's broker half: disableClient of the device's account. The
 * plugin then refuses its logins and drops its open sessions at once.
 * Returns what ff_dynsec_run does (FF_ERR_NOTFOUND: no such account), or
 * FF_ERR_INVAL for an invalid device id. */
int ff_dynsec_disable_device(ff_dynsec *d, const char *device, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
