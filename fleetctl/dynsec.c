/* fleetctl/dynsec.c: fleetctl's glue to the dynamic-security client
 * (facefleet/dynsec.h): where the broker admin account's settings come from
 * (mqtt_url, mqtt_admin_user, mqtt_admin_password, mqtt_ca_file: config
 * file, --flags or $FF_MQTT_*) and how a failure is told. */
#include "fleetctl.h"

#include <stdio.h>
#include <unistd.h>

#include "facefleet/dynsec.h"
#include "facefleet/error.h"
#include "facefleet/mqtt.h"

bool fc_admin_mqtt_options(const fc_ctx *ctx, ff_mqtt_options *o, char *cid, size_t cap)
{
	const fc_cfg *c = &ctx->cfg;
	if (!c->mqtt_url || !*c->mqtt_url || !c->mqtt_admin_user || !*c->mqtt_admin_user)
		return false;
	snprintf(cid, cap, "fleetctl-%.60s-%ld", ctx->host, (long)getpid());
	o->url = c->mqtt_url;
	o->client_id = cid;
	o->username = c->mqtt_admin_user;
	o->password = c->mqtt_admin_password;
	o->ca_file = fc_url_tls(c->mqtt_url) && c->mqtt_ca_file && *c->mqtt_ca_file ? c->mqtt_ca_file : NULL;
	o->connect_timeout_ms = 5000;
	return true;
}

ff_dynsec *fc_dynsec_open(fc_ctx *ctx)
{
	ff_mqtt_options mo = FF_MQTT_OPTIONS_INIT;
	ff_dynsec_options o = FF_DYNSEC_OPTIONS_INIT;
	ff_dynsec *d;
	char cid[128], err[512];

	if (!fc_admin_mqtt_options(ctx, &mo, cid, sizeof(cid))) {
		fc_fail(FF_EXIT_FAIL, "no broker admin account: set mqtt_url, mqtt_admin_user and "
				      "mqtt_admin_password (config file or $FF_MQTT_*)");
		return NULL;
	}
	o.url = mo.url;
	o.client_id = mo.client_id;
	o.username = mo.username;
	o.password = mo.password;
	o.ca_file = mo.ca_file;
	o.connect_timeout_ms = mo.connect_timeout_ms;
	if (ff_dynsec_open(&o, &d, err, sizeof(err)) != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "%s", err);
		return NULL;
	}
	return d;
}
