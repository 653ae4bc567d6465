/* DeviceStatus: retained on fleet/<site>/<device>/status on connect, every
 * status_interval_s, on changes, as OFFLINE on a clean stop, and as the MQTT
 * last will (OFFLINE, published by the broker when the device vanishes). */
#include "device.h"

#include "facefleet/ids.h"

#include <string.h>

#include "facefleet.pb-c.h"

size_t dev_status_pack(dev_agent *a, int state, uint8_t *buf, size_t cap)
{
	Facefleet__V1__DeviceStatus s = FACEFLEET__V1__DEVICE_STATUS__INIT;
	Facefleet__V1__DeviceCounters c = FACEFLEET__V1__DEVICE_COUNTERS__INIT;
	char model[FF_ID_MAX + 1], detail[128];
	int64_t up_ms = dev_mono_ms() - a->start_mono_ms;

	pthread_mutex_lock(&a->settings.mu);
	memcpy(model, a->settings.model_id, sizeof(model));
	memcpy(detail, a->settings.detail, sizeof(detail));
	if (state == DEV_STATE_ONLINE && a->settings.degraded)
		state = DEV_STATE_DEGRADED;
	s.config_version = a->settings.config_version;
	pthread_mutex_unlock(&a->settings.mu);

	c.captured = atomic_load(&a->counters.captured);
	c.faces = atomic_load(&a->counters.faces);
	c.published = atomic_load(&a->counters.published);
	c.dropped = atomic_load(&a->counters.dropped);
	c.queued = a->outbox ? dev_outbox_count(a->outbox) : 0;
	s.schema_version = FACEFLEET__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT;
	s.device_id = a->cfg.device_id;
	s.site_id = a->cfg.site_id;
	s.state = (Facefleet__V1__DeviceState)state;
	s.time_us = dev_now_us();
	s.model_id = model;
	s.counters = &c;
	s.uptime_s = up_ms > 0 ? (uint64_t)(up_ms / 1000) : 0;
	s.agent_version = DEV_VERSION;
	s.detail = detail;
	if (facefleet__v1__device_status__get_packed_size(&s) > cap)
		return 0;
	return facefleet__v1__device_status__pack(&s, buf);
}
