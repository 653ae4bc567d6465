/* MQTT v5 packets of the backend's inbound session (mqtt_packet.h). */
#include "mqtt_packet.h"

#include <string.h>

#include "facefleet/error.h"

typedef struct wbuf {
	uint8_t b[MQP_MAX];
	size_t n;
	bool overflow;
} wbuf;

static void put8(wbuf *w, unsigned v)
{
	if (w->n < sizeof(w->b))
		w->b[w->n++] = (uint8_t)v;
	else
		w->overflow = true;
}
static void put16(wbuf *w, unsigned v) { put8(w, v >> 8); put8(w, v & 0xff); }
static void put32(wbuf *w, uint32_t v) { put16(w, v >> 16); put16(w, v & 0xffff); }
static void putvar(wbuf *w, size_t v)
{
	do {
		unsigned byte = v % 128;
		v /= 128;
		put8(w, byte | (v ? 0x80 : 0));
	} while (v);
}
static void putstr(wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 65535) {
		w->overflow = true;
		return;
	}
	put16(w, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		put8(w, (uint8_t)s[i]);
}

/* Wraps body (variable header + payload) into a packet with a fixed header. */
static int frame(mqp_buf *out, unsigned first, const wbuf *body)
{
	wbuf h = { .n = 0 };
	put8(&h, first);
	putvar(&h, body->n);
	if (body->overflow || h.n + body->n > sizeof(out->b))
		return FF_ERR_RANGE;
	memcpy(out->b, h.b, h.n);
	memcpy(out->b + h.n, body->b, body->n);
	out->n = h.n + body->n;
	return FF_OK;
}

int mqp_build_connect(mqp_buf *out, const mqp_connect *c)
{
	wbuf body = { .n = 0 };
	bool user = c->username && *c->username, pass = c->password && *c->password;
	putstr(&body, "MQTT");
	put8(&body, 5);
	put8(&body, (user ? 0x80 : 0) | (pass ? 0x40 : 0) | (c->session_expiry_s ? 0 : 0x02));
	put16(&body, c->keepalive_s);
	/* properties: session expiry (0x11), receive maximum (0x21) */
	putvar(&body, 5 + 3);
	put8(&body, 0x11);
	put32(&body, c->session_expiry_s);
	put8(&body, 0x21);
	put16(&body, c->receive_max);
	putstr(&body, c->client_id);
	if (user)
		putstr(&body, c->username);
	if (pass)
		putstr(&body, c->password);
	return frame(out, MQP_CONNECT << 4, &body);
}

/* What SUBSCRIBE and UNSUBSCRIBE begin with: packet id, no properties, the
 * filter. */
static void put_filter(wbuf *w, uint16_t pid, const char *filter)
{
	put16(w, pid);
	putvar(w, 0);
	putstr(w, filter);
}

int mqp_build_subscribe(mqp_buf *out, uint16_t pid, const char *filter, unsigned opts)
{
	wbuf body = { .n = 0 };
	put_filter(&body, pid, filter);
	put8(&body, opts);
	return frame(out, (MQP_SUBSCRIBE << 4) | 0x02, &body);
}

void mqp_build_puback(uint8_t out[4], uint16_t pid)
{
	out[0] = MQP_PUBACK << 4;
	out[1] = 2;
	out[2] = (uint8_t)(pid >> 8);
	out[3] = (uint8_t)(pid & 0xff);
}

int mqp_build_unsubscribe(mqp_buf *out, uint16_t pid, const char *filter)
{
	wbuf body = { .n = 0 };
	put_filter(&body, pid, filter);
	return frame(out, (MQP_UNSUBSCRIBE << 4) | 0x02, &body);
}

int mqp_getvar(const uint8_t *p, size_t n, size_t *out)
{
	size_t v = 0, mult = 1;
	for (int i = 0; i < 4; i++) {
		if ((size_t)i >= n)
			return 0;
		v += (size_t)(p[i] & 0x7f) * mult;
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
		mult *= 128;
	}
	return -1;
}

int mqp_parse_publish(unsigned first, const uint8_t *p, size_t n, mqp_publish *out)
{
	size_t pos, plen;
	int k;
	memset(out, 0, sizeof(*out));
	out->qos = (first >> 1) & 3;
	out->dup = (first >> 3) & 1;
	out->retain = first & 1;
	if (n < 2 || out->qos == 3)
		return FF_ERR_FORMAT;
	out->topic_len = ((size_t)p[0] << 8) | p[1];
	out->topic = p + 2;
	pos = 2 + out->topic_len;
	if (pos > n)
		return FF_ERR_FORMAT;
	if (out->qos) {
		if (pos + 2 > n)
			return FF_ERR_FORMAT;
		out->pid = (uint16_t)((p[pos] << 8) | p[pos + 1]);
		pos += 2;
	}
	k = mqp_getvar(p + pos, n - pos, &plen); /* properties */
	if (k <= 0 || pos + (size_t)k + plen > n)
		return FF_ERR_FORMAT;
	pos += (size_t)k + plen;
	out->payload = p + pos;
	out->payload_len = n - pos;
	return FF_OK;
}

int mqp_suback_reason(const uint8_t *p, size_t n)
{
	size_t plen;
	int k;
	if (n < 3)
		return -1;
	k = mqp_getvar(p + 2, n - 2, &plen);
	if (k <= 0 || 2 + (size_t)k + plen >= n)
		return -1;
	return p[2 + (size_t)k + plen];
}

bool mqp_topic_matches(const char *f, const char *t)
{
	for (;;) {
		if (f[0] == '#' && !f[1])
			return true;
		if (*f == '+') {
			f++;
			while (*t && *t != '/')
				t++;
		} else {
			for (; *f && *f != '/'; f++, t++)
				if (*f != *t)
					return false;
		}
		if (!*f || !*t)
			return !*f && !*t;
		if (*t != '/') /* *f is '/': the topic's level goes on */
			return false;
		f++;
		t++;
	}
}

int mqp_suback_pid(const uint8_t *p, size_t n)
{
	return n < 2 ? -1 : (p[0] << 8) | p[1];
}

/* Same layout as a SUBACK's: packet id, properties, one reason per filter
 * (MQTT v5 3.9 and 3.11). */
int mqp_parse_unsuback(const uint8_t *p, size_t n, uint16_t *pid)
{
	int reason = mqp_suback_reason(p, n);
	if (reason >= 0)
		*pid = (uint16_t)mqp_suback_pid(p, n);
	return reason;
}
