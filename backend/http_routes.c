/* Every route the HTTP listener serves, in one table: method, path pattern
 * ({} = one path segment, handed to the handler), the least role it needs
 * (public, integrator = any valid token, operator) and its handler. Scope
 * (a token's sites) is each handler's to apply. docs/openapi.yaml describes
 * exactly these (backend_http_openapi checks it). Anything else GET outside
 * /api/ is the console's static files. */
#include "http_internal.h"

#include <stddef.h>

const be_route be_routes[] = {
	{ "GET", "/healthz", BE_ROLE_PUBLIC, be_h_healthz },
	{ "GET", "/metrics", BE_ROLE_PUBLIC, be_h_metrics },
	{ "GET", "/api/v1/whoami", BE_ROLE_INTEGRATOR, be_h_whoami },
	{ "GET", "/api/v1/events", BE_ROLE_INTEGRATOR, be_h_events_list },
	{ "GET", "/api/v1/events/stream", BE_ROLE_INTEGRATOR, be_h_events_stream },
	{ "GET", "/api/v1/events/{}", BE_ROLE_INTEGRATOR, be_h_event_get },
	{ "GET", "/api/v1/events/{}/face.png", BE_ROLE_OPERATOR, be_h_event_face },
	{ "GET", "/api/v1/identities", BE_ROLE_OPERATOR, be_h_identities_list },
	{ "POST", "/api/v1/identities", BE_ROLE_OPERATOR, be_h_identity_enrol },
	{ "DELETE", "/api/v1/identities/{}", BE_ROLE_OPERATOR, be_h_identity_delete },
	{ "GET", "/api/v1/devices", BE_ROLE_OPERATOR, be_h_devices_list },
	{ "POST", "/api/v1/devices/{}/revoke", BE_ROLE_OPERATOR, be_h_device_revoke },
	{ "PUT", "/api/v1/devices/{}/threshold", BE_ROLE_OPERATOR, be_h_device_threshold },
	{ "GET", "/api/v1/sites", BE_ROLE_OPERATOR, be_h_sites_list },
	{ "POST", "/api/v1/sites", BE_ROLE_OPERATOR, be_h_site_add },
	{ "DELETE", "/api/v1/sites/{}", BE_ROLE_OPERATOR, be_h_site_remove },
	{ "PUT", "/api/v1/sites/{}/threshold", BE_ROLE_OPERATOR, be_h_site_threshold },
	{ "GET", "/api/v1/stats", BE_ROLE_OPERATOR, be_h_stats },
	{ NULL, NULL, BE_ROLE_PUBLIC, NULL },
};
