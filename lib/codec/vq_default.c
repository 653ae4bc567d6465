/* Which VQ model a program uses when none is configured: the one a folder's
 * DEFAULT file names, else the folder's only model. One rule for the device
 * agent, fleet-eval and fleet-bench. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/vq.h"

#define ENC_SUFFIX ".enc.ffn"

/* The id on DEFAULT's first line; false when missing, empty or a path. */
static int default_id(const char *dir, char *id, size_t len)
{
	char path[4096];
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof(path), "%s/DEFAULT", dir);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(id, (int)len, f)) {
		id[strcspn(id, " \t\r\n")] = '\0';
		ok = id[0] && !strchr(id, '/');
	}
	fclose(f);
	return ok;
}

int ff_vq_default_model(const char *dir, char *prefix, size_t len, int *candidates)
{
	char id[64];
	DIR *d;
	struct dirent *de;
	int found = 0;

	if (!dir || !prefix || !len)
		return FF_ERR_INVAL;
	if (default_id(dir, id, sizeof(id))) {
		snprintf(prefix, len, "%s/%s", dir, id);
		found = 1;
		goto exit;
	}
	if (!(d = opendir(dir)))
		goto exit;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), s = strlen(ENC_SUFFIX);
		if (n > s && strcmp(de->d_name + n - s, ENC_SUFFIX) == 0 && found++ == 0)
			snprintf(prefix, len, "%s/%.*s", dir, (int)(n - s), de->d_name);
	}
	closedir(d);
exit:
	if (candidates)
		*candidates = found;
	return found ? FF_OK : FF_ERR_NOTFOUND;
}
