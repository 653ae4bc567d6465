/* make_seeds: writes the FaceCodes seed corpus of fuzz_facecodes into the
 * folder given (tests/fuzz/corpus/facecodes): valid messages for the
 * tiny-test model from the backend's own builder, plus one of each bad kind
 * the validator knows. Each file is <topic byte><payload> (fuzz_facecodes.c).
 * Run: build/tests/fuzz/make-fuzz-seeds tests/fuzz/corpus/facecodes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "recognize.h"
#include "test_face_codes.h"

static void put(const char *dir, const char *name, unsigned topic, const uint8_t *p, size_t n)
{
	char path[1024];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fputc((int)topic, fp) == EOF || fwrite(p, 1, n, fp) != n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

int main(int argc, char **argv)
{
	be_model_set set;
	char err[256], vq[1024];
	uint8_t buf[512], bad[512];
	size_t n;
	const char *src = getenv("FF_SOURCE_DIR");
	if (argc != 2) {
		fprintf(stderr, "usage: make-fuzz-seeds DIR\n");
		return 2;
	}
	snprintf(vq, sizeof(vq), "%s/tests/data/vq", src ? src : FF_FUZZ_SOURCE_DIR);
	memset(&set, 0, sizeof(set));
	if (be_model_set_load(&set, vq, "", err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "%s: %s\n", vq, err);
		return 1;
	}
	n = test_face_codes_build(&set.info[0], 7, 1700000000000000LL, NULL, 7, buf,
				sizeof(buf));
	if (!n)
		return 1;
	put(argv[1], "valid", 0, buf, n);
	put(argv[1], "valid-disabled-device", 1, buf, n);
	put(argv[1], "valid-wrong-site", 2, buf, n);
	put(argv[1], "valid-unknown-device", 3, buf, n);
	put(argv[1], "truncated", 0, buf, n / 2);
	memcpy(bad, buf, n);
	bad[n - 1] ^= 0xff; /* last packed index byte: likely out of range */
	put(argv[1], "index-flip", 0, bad, n);
	put(argv[1], "empty", 0, buf, 0);
	{ /* topic from the input: a hostile topic then the payload */
		static const char t[] = "fleet/site-1/dev-1/faces/../x";
		uint8_t tb[600];
		tb[0] = 0xff;
		memcpy(tb + 1, t, sizeof(t)); /* with its NUL */
		memcpy(tb + 1 + sizeof(t), buf, n);
		put(argv[1], "topic-from-input", tb[0], tb + 1, sizeof(t) + n);
	}
	printf("make-fuzz-seeds: %zu-byte FaceCodes for %s into %s\n", n, set.info[0].model_id,
	       argv[1]);
	return 0;
}
