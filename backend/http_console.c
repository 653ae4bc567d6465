/* The web console's static files (http_console_dir), served at / (its
 * index.html) and /console/<file>. Only plain names below the folder: no
 * "..", no hidden files; the content type from the extension. */
#include "http_internal.h"

#include "facefleet/error.h"
#include "facefleet/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (8 << 20)

static const char *content_type(const char *path)
{
	static const char *const map[][2] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },   { ".json", "application/json" },
		{ ".svg", "image/svg+xml" },             { ".png", "image/png" },
		{ ".ico", "image/x-icon" },              { ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(dot, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

/* A path below the folder: [A-Za-z0-9._/-], no segment starting with '.'. */
static bool safe_path(const char *p)
{
	if (!*p || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") != strlen(p))
		return false;
	for (const char *s = p; s; s = strchr(s, '/')) {
		s += *s == '/';
		if (*s == '.' || *s == '/')
			return false;
	}
	return true;
}

int be_h_console(be_req *r)
{
	const char *rel = strcmp(r->url, "/") == 0 || strcmp(r->url, "/console/") == 0 ||
				  strcmp(r->url, "/console") == 0
			      ? "index.html"
			  : strncmp(r->url, "/console/", 9) == 0 ? r->url + 9
								 : NULL;
	char path[1400], err[256];
	char *buf = NULL;
	size_t len = 0;
	int st;
	if (!*r->h->console_dir || !rel || !safe_path(rel) || strlen(rel) > 256)
		return be_reply_error(r, 404, "no resource %.200s", r->url);
	snprintf(path, sizeof(path), "%s/%s", r->h->console_dir, rel);
	if (ff_file_read(path, FILE_MAX, &buf, &len, err, sizeof(err)) != FF_OK)
		return be_reply_error(r, 404, "no resource %.200s", r->url);
	st = be_reply_bytes(r, 200, content_type(rel), buf, len);
	free(buf);
	return st;
}
