/* fleet-mqtt-idle: many idle MQTT v5 connections, as a fleet of devices
 * that sends nothing but keep-alives, to measure what a connected device
 * costs the broker (docs/SCALING.md, tests/load/measure-broker).
 *
 * Each connection logs in (one account for all, client id PREFIX-N), makes
 * one literal subscription (fleet/load/PREFIX-N/config, as a device's config
 * topic) and then only answers its keep-alive with PINGREQ. One thread,
 * epoll, non-blocking sockets; connections are opened at --connect-rate per
 * second so that the broker's login (PBKDF2) is not the thing measured.
 * Prints one line when all are connected ("connected N"), holds them for
 * --hold seconds (0: until SIGTERM/SIGINT), then exits.
 *
 *   fleet-mqtt-idle --port P --user U --count N [--host 127.0.0.1]
 *                   [--keepalive 30] [--hold 0] [--connect-rate 500] [--prefix idle]
 *   the password from the environment: FF_MQTT_PASSWORD (never a command line)
 * Exit 0 done, 1 a connection failed or was refused, 2 usage. */
#define _GNU_SOURCE
#include "facefleet/exit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
	int fd;
	int state; /* 0 connecting, 1 CONNECT sent, 2 subscribed (idle) */
	uint8_t in[64];
	size_t in_len;
} conn;

static struct {
	const char *host, *user, *password, *prefix;
	int port, count, keepalive, hold, rate;
} O = { .host = "127.0.0.1", .prefix = "idle", .keepalive = 30, .rate = 500 };

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MQTT's variable byte integer; returns bytes written. */
static size_t put_varint(uint8_t *p, size_t v)
{
	size_t n = 0;
	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t l = strlen(s);
	p[0] = (uint8_t)(l >> 8);
	p[1] = (uint8_t)l;
	memcpy(p + 2, s, l);
	return l + 2;
}

/* A fixed header + body into out; returns the packet's length. */
static size_t packet(uint8_t *out, uint8_t type, const uint8_t *body, size_t len)
{
	size_t n = 0;
	out[n++] = type;
	n += put_varint(out + n, len);
	memcpy(out + n, body, len);
	return n + len;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1; /* a packet this small never meets a full buffer */
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_connect(conn *c, int i)
{
	uint8_t body[512], pkt[600];
	char id[96];
	size_t n = 0;
	snprintf(id, sizeof(id), "%s-%d", O.prefix, i);
	n += put_str(body, "MQTT");
	body[n++] = 5;                       /* MQTT v5 */
	body[n++] = 0xC2;                    /* user name, password, clean start */
	body[n++] = (uint8_t)(O.keepalive >> 8);
	body[n++] = (uint8_t)O.keepalive;
	body[n++] = 0;                       /* no properties */
	n += put_str(body + n, id);
	n += put_str(body + n, O.user);
	n += put_str(body + n, O.password);
	return send_all(c->fd, pkt, packet(pkt, 0x10, body, n));
}

static int send_subscribe(conn *c, int i)
{
	uint8_t body[256], pkt[300];
	char topic[128];
	size_t n = 0;
	snprintf(topic, sizeof(topic), "fleet/load/%s-%d/config", O.prefix, i);
	body[n++] = 0;
	body[n++] = 1;                       /* packet id */
	body[n++] = 0;                       /* no properties */
	n += put_str(body + n, topic);
	body[n++] = 1;                       /* QoS 1 */
	return send_all(c->fd, pkt, packet(pkt, 0x82, body, n));
}

static int open_conn(int ep, conn *c, int i)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)O.port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || inet_pton(AF_INET, O.host, &a.sin_addr) != 1)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
		return -1;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Handles what arrived on c; returns 1 when it just became idle, 0, -1 on failure. */
static int on_readable(conn *c, int i)
{
	ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (r <= 0)
		return r < 0 && errno == EAGAIN ? 0 : -1;
	c->in_len += (size_t)r;
	while (c->in_len >= 2 && c->in_len >= (size_t)c->in[1] + 2) { /* all our packets are < 128 */
		uint8_t type = c->in[0] & 0xf0;
		size_t len = (size_t)c->in[1] + 2;
		int rc = 0;
		if (type == 0x20) { /* CONNACK: reason code is the second body byte */
			if (c->in[3] != 0) {
				fprintf(stderr, "fleet-mqtt-idle: %s-%d refused (reason 0x%02x)\n", O.prefix, i,
					c->in[3]);
				return -1;
			}
			rc = send_subscribe(c, i);
		} else if (type == 0x90) { /* SUBACK */
			c->state = 2;
			rc = 1;
		}
		memmove(c->in, c->in + len, c->in_len - len);
		c->in_len -= len;
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: fleet-mqtt-idle --port P --user U --count N [--host H] [--keepalive S]\n"
		   "         [--hold S] [--connect-rate N] [--prefix P]   (password: FF_MQTT_PASSWORD)\n");
	return rc;
}

int main(int argc, char **argv)
{
	conn *cs;
	int ep, opened = 0, idle = 0, rc = FF_EXIT_OK;
	double t0, last_ping, hold_until = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (OPT("--host")) O.host = v;
		else if (OPT("--port")) O.port = atoi(v);
		else if (OPT("--user")) O.user = v;
		else if (OPT("--count")) O.count = atoi(v);
		else if (OPT("--keepalive")) O.keepalive = atoi(v);
		else if (OPT("--hold")) O.hold = atoi(v);
		else if (OPT("--connect-rate")) O.rate = atoi(v);
		else if (OPT("--prefix")) O.prefix = v;
		else if (strcmp(a, "--help") == 0) return usage(stdout, FF_EXIT_OK);
		else return usage(stderr, FF_EXIT_USAGE);
#undef OPT
	}
	O.password = getenv("FF_MQTT_PASSWORD");
	if (O.port <= 0 || O.port > 65535 || !O.user || !O.password || O.count < 1 ||
	    O.keepalive < 5 || O.keepalive > 600 || O.hold < 0 || O.rate < 1 || strlen(O.prefix) > 40 ||
	    strlen(O.user) > 128 || strlen(O.password) > 256)
		return usage(stderr, FF_EXIT_USAGE);
	cs = calloc((size_t)O.count, sizeof(conn));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0) {
		perror("fleet-mqtt-idle");
		return FF_EXIT_FAIL;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	t0 = last_ping = now_s();
	while (!g_stop && rc == FF_EXIT_OK) {
		struct epoll_event evs[256];
		double t = now_s();
		int n;
		/* open connections at the given rate */
		while (opened < O.count && opened < (int)((t - t0) * O.rate) + 1) {
			if (open_conn(ep, &cs[opened], opened) != 0) {
				fprintf(stderr, "fleet-mqtt-idle: connection %d: %s\n", opened, strerror(errno));
				rc = FF_EXIT_FAIL;
				break;
			}
			opened++;
		}
		/* keep-alive: every connection pings at half its keep-alive */
		if (t - last_ping >= O.keepalive / 2.0) {
			static const uint8_t ping[2] = { 0xC0, 0 };
			for (int i = 0; i < opened && rc == FF_EXIT_OK; i++)
				if (cs[i].state == 2 && send_all(cs[i].fd, ping, 2) != 0)
					rc = FF_EXIT_FAIL;
			last_ping = t;
		}
		if (hold_until > 0 && t >= hold_until)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n && rc == FF_EXIT_OK; k++) {
			int i = (int)evs[k].data.u32, r = 0;
			conn *c = &cs[i];
			if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
				r = -1;
			} else if (c->state == 0 && (evs[k].events & EPOLLOUT)) {
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
				c->state = 1;
				r = epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0 ? send_connect(c, i) : -1;
			} else if (evs[k].events & EPOLLIN) {
				r = on_readable(c, i);
			}
			if (r < 0) {
				fprintf(stderr, "fleet-mqtt-idle: connection %d lost (%d idle)\n", i, idle);
				rc = FF_EXIT_FAIL;
			} else if (r == 1 && ++idle == O.count) {
				printf("connected %d in %.1f s\n", idle, now_s() - t0);
				fflush(stdout);
				if (O.hold > 0)
					hold_until = now_s() + O.hold;
			}
		}
	}
	for (int i = 0; i < opened; i++)
		close(cs[i].fd);
	free(cs);
	close(ep);
	return rc;
}
