/* The fleet's topic rule (facefleet/mqtt.h): fleet/<site>/<device>/<leaf>,
 * ids by ff_id_valid; the one place topic strings are made. */
#include "facefleet/mqtt.h"

#include <stdio.h>

#include "facefleet/error.h"
#include "facefleet/ids.h"

int ff_mqtt_fleet_topic(char *buf, size_t len, const char *site, const char *device,
			const char *leaf)
{
	int n;
	if (!buf || (site && !ff_id_valid(site)) || (device && !ff_id_valid(device)) || !leaf ||
	    !*leaf)
		return FF_ERR_INVAL;
	n = snprintf(buf, len, "fleet/%s/%s/%s", site ? site : "+", device ? device : "+", leaf);
	return n < 0 || (size_t)n >= len ? FF_ERR_RANGE : FF_OK;
}
