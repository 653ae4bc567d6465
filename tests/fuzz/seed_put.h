/* seed_put.h: one seed file of a fuzz corpus, <first byte><bytes> (the first
 * byte picks the target's mode: fuzz_facecodes' topic, fuzz_entropy's input
 * kind). Exits on a write error: the seed writers are one-shot tools. */
#ifndef FF_FUZZ_SEED_PUT_H
#define FF_FUZZ_SEED_PUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void seed_put(const char *dir, const char *name, unsigned first, const uint8_t *p,
			    size_t n)
{
	char path[1024];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fputc((int)first, fp) == EOF || fwrite(p, 1, n, fp) != n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

#endif
