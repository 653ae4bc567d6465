/* fleetctl/creds.c: ids, random passwords, time arguments and the
 * credential bundle files (mode 0600, replaced atomically). */
#include "fleetctl.h"

#include "facefleet/error.h"
#include "facefleet/random.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool fc_random_password(char *out, size_t cap)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33];
	size_t o = 0;
	int rc;
	if (cap < 45)
		return false;
	if ((rc = ff_random_bytes(raw, 32)) != FF_OK) {
		fc_fail(FF_EXIT_FAIL, "no random bytes: %s (%s)", ff_strerror(rc), strerror(errno));
		return false;
	}
	raw[32] = 0;
	for (size_t i = 0; i < 33; i += 3) { /* 33 bytes -> 44 chars; keep 43 (256 bits) */
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	out[43] = '\0';
	return true;
}

bool fc_time_arg(const char *in, char *out, size_t cap)
{
	char *end;
	long long v;
	long long mult = 0;
	out[0] = '\0';
	if (!in || !*in)
		return true;
	v = strtoll(in, &end, 10);
	if (end != in && v >= 0 && end[0] && !end[1]) {
		switch (end[0]) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: break;
		}
		if (mult && v <= 100LL * 365 * 86400 / mult) {
			time_t t = time(NULL) - (time_t)(v * mult);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
			return true;
		}
	}
	/* ISO 8601: YYYY-MM-DD, optionally followed by [T ]hh:mm[:ss[.frac]][Z|+hh:mm] */
	if (strlen(in) >= 10 && strlen(in) < cap && isdigit((unsigned char)in[0]) && in[4] == '-' &&
	    in[7] == '-') {
		for (const char *p = in; *p; p++)
			if (!isdigit((unsigned char)*p) && !strchr("-:T .Z+", *p))
				return false;
		snprintf(out, cap, "%s", in);
		return true;
	}
	return false;
}

int fc_query_window(fc_ctx *ctx, char *since, char *until, size_t cap, char *limit, size_t lcap)
{
	if (!fc_time_arg(ctx->cfg.since, since, cap))
		return fc_fail(FF_EXIT_USAGE, "--since '%s': not an ISO 8601 time or a duration like 2h",
			       ctx->cfg.since);
	if (!fc_time_arg(ctx->cfg.until, until, cap))
		return fc_fail(FF_EXIT_USAGE, "--until '%s': not an ISO 8601 time or a duration like 2h",
			       ctx->cfg.until);
	snprintf(limit, lcap, "%d", ctx->cfg.limit);
	return FF_EXIT_OK;
}

bool fc_bundle_open(fc_bundle *b, const char *path)
{
	int fd;
	snprintf(b->path, sizeof(b->path), "%s", path);
	snprintf(b->tmp, sizeof(b->tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(b->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	fchmod(fd, 0600);
	b->f = fdopen(fd, "w");
	if (!b->f) {
		close(fd);
		unlink(b->tmp);
		return false;
	}
	return true;
}

bool fc_bundle_close(fc_bundle *b)
{
	bool ok = fflush(b->f) == 0 && fsync(fileno(b->f)) == 0;
	ok = fclose(b->f) == 0 && ok;
	b->f = NULL;
	if (ok && rename(b->tmp, b->path) == 0)
		return true;
	unlink(b->tmp);
	return false;
}

void fc_bundle_path(const fc_ctx *ctx, const char *name, char *out, size_t cap)
{
	if (ctx->cfg.out && *ctx->cfg.out)
		snprintf(out, cap, "%s", ctx->cfg.out);
	else
		snprintf(out, cap, "%s/%s.conf", ctx->cfg.bundle_dir && *ctx->cfg.bundle_dir ?
							   ctx->cfg.bundle_dir : ".", name);
}

bool fc_copy_ca(const char *src, const char *bundle_path, char *out, size_t cap)
{
	char buf[8192];
	size_t n, len = strlen(bundle_path);
	FILE *in;
	fc_bundle b;
	bool ok = true;
	if (len > 5 && strcmp(bundle_path + len - 5, ".conf") == 0)
		len -= 5;
	snprintf(out, cap, "%.*s.ca.crt", (int)len, bundle_path);
	in = fopen(src, "rb");
	if (!in)
		return false;
	if (!fc_bundle_open(&b, out)) {
		fclose(in);
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = ok && fwrite(buf, 1, n, b.f) == n;
	ok = !ferror(in) && ok;
	fclose(in);
	fchmod(fileno(b.f), 0644); /* a certificate is public */
	return fc_bundle_close(&b) && ok;
}

int fc_split_ids(char *buf, char **items, int max)
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (!ff_id_valid(t) || n >= max)
			return -1;
		items[n++] = t;
	}
	return n;
}

bool fc_url_tls(const char *url)
{
	return url && (strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0);
}

bool fc_bundle_start(const fc_ctx *ctx, const char *name, fc_bundle *b, const char **url, char *ca_name,
		     size_t cap)
{
	const fc_cfg *c = &ctx->cfg;
	const char *ca = c->device_ca_file && *c->device_ca_file ? c->device_ca_file : c->mqtt_ca_file;
	char path[1024], copy[1100];
	*url = c->device_mqtt_url && *c->device_mqtt_url ? c->device_mqtt_url : c->mqtt_url;
	ca_name[0] = '\0';
	fc_bundle_path(ctx, name, path, sizeof(path));
	if (fc_url_tls(*url) && ca && *ca) {
		if (!fc_copy_ca(ca, path, copy, sizeof(copy))) {
			fc_fail(FF_EXIT_FAIL, "cannot copy the CA certificate %s beside %s", ca, path);
			return false;
		}
		const char *base = strrchr(copy, '/');
		snprintf(ca_name, cap, "%s", base ? base + 1 : copy);
	}
	if (!fc_bundle_open(b, path)) {
		fc_fail(FF_EXIT_FAIL, "cannot write %s", path);
		return false;
	}
	return true;
}
