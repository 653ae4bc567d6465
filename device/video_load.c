/* source=video's entry in the agent: the FFmpeg side lives in a module
 * (fleet-device-video.so, built from source_video.c) that is loaded only
 * when a video source is configured. Debian's FFmpeg libraries bring about
 * 130 shared libraries with them (every codec, TLS, fonts...): loading them
 * costs some 26 MB of RSS, which a device reading still images or raw frames
 * should not pay. The module calls back into the agent (logging, images),
 * whose symbols fleet-device exports for it. */
#include "device.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/log.h"

#define PLUGIN "fleet-device-video.so"

bool dev_video_is_live(const char *input)
{
	const char *sep = strstr(input, "://");
	if (!strncmp(input, "/dev/", 5))
		return true;
	return sep && !(sep - input == 4 && !strncmp(input, "file", 4));
}

/* $FF_DEVICE_VIDEO_PLUGIN, else the module next to the running program. */
static void plugin_path(char *buf, size_t len)
{
	const char *env = getenv("FF_DEVICE_VIDEO_PLUGIN");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/%s", n > 0 ? exe : ".", PLUGIN);
}

int dev_source_video_open(const dev_video_options *o, dev_source **out)
{
	static void *handle; /* kept: FFmpeg keeps state in it until exit */
	dev_video_open_fn open_fn = NULL;
	char path[PATH_MAX + 64], q[600];

	if (!handle) {
		plugin_path(path, sizeof(path));
		handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!handle) {
			ff_log_error("video", "event=video_module_failed path=%s reason=%s", path,
				     ff_log_quote(q, sizeof(q), dlerror()));
			return FF_ERR_UNSUPPORTED;
		}
	}
	*(void **)&open_fn = dlsym(handle, "dev_video_plugin_open");
	return open_fn ? open_fn(o, out) : FF_ERR_UNSUPPORTED;
}
