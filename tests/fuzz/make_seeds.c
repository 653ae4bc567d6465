/* make_seeds: writes the FaceCodes seed corpus of fuzz_facecodes into the
 * folder given (tests/fuzz/corpus/facecodes): valid messages for the
 * tiny-test model from the backend's own builder, plus one of each bad kind
 * the validator knows. Each file is <topic byte><payload> (fuzz_facecodes.c).
 * The valid messages are schema 3 (what devices send) and schema 2 (devices
 * in the field, wire_schema = 2).
 * Run: build/tests/fuzz/make-fuzz-seeds tests/fuzz/corpus/facecodes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "facefleet/facecodes.h"
#include "recognize.h"
#include "seed_put.h"
#include "test_face_codes.h"


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
	seed_put(argv[1], "valid", 0, buf, n);
	seed_put(argv[1], "valid-disabled-device", 1, buf, n);
	seed_put(argv[1], "valid-wrong-site", 2, buf, n);
	seed_put(argv[1], "valid-unknown-device", 3, buf, n);
	seed_put(argv[1], "truncated", 0, buf, n / 2);
	memcpy(bad, buf, n);
	bad[n - 1] ^= 0xff; /* last packed index byte: likely out of range */
	seed_put(argv[1], "index-flip", 0, bad, n);
	seed_put(argv[1], "empty", 0, buf, 0);
	{ /* schema 2 with box, frame size and score; schema 3 with them and a
	   * capture_offset_s (the seeds above: schema 3 with a 2023 clock, sent whole) */
		ff_facecodes_fields f = FF_FACECODES_FIELDS_INIT;
		uint16_t idx[FF_VQ_MAX_CODES] = { 0 };
		size_t m = 0;
		f.schema = 2;
		f.seq = 8;
		f.capture_time_us = 1700000000000000LL;
		f.has_box = true;
		f.box_x0 = 10;
		f.box_y0 = 12;
		f.box_x1 = 90;
		f.box_y1 = 100;
		f.frame_w = f.frame_h = 112;
		f.det_score = 0.9f;
		if (ff_facecodes_build(&set.info[0], idx, &f, bad, sizeof(bad), &m) != FF_OK)
			return 1;
		seed_put(argv[1], "valid-schema2", 0, bad, m);
		f.schema = 3;
		f.capture_time_us = 1796551200000000LL; /* 2026: the fleet-epoch offset */
		if (ff_facecodes_build(&set.info[0], idx, &f, bad, sizeof(bad), &m) != FF_OK)
			return 1;
		seed_put(argv[1], "valid-schema3-box", 0, bad, m);
	}
	{ /* the codes as codes_ans (22): a stream the tiny model has no tables for */
		Facefleet__V1__FaceCodes *fc = facefleet__v1__face_codes__unpack(NULL, n, buf);
		if (!fc)
			return 1;
		fc->codes_ans = fc->codes;
		fc->codes.len = 0;
		seed_put(argv[1], "codes-ans", 0, bad, facefleet__v1__face_codes__pack(fc, bad));
		fc->codes.len = fc->codes_ans.len; /* one buffer, freed once */
		fc->codes_ans.len = 0;
		fc->codes_ans.data = NULL;
		facefleet__v1__face_codes__free_unpacked(fc, NULL);
	}
	{ /* topic from the input: a hostile topic then the payload */
		static const char t[] = "fleet/site-1/dev-1/faces/../x";
		uint8_t tb[600];
		tb[0] = 0xff;
		memcpy(tb + 1, t, sizeof(t)); /* with its NUL */
		memcpy(tb + 1 + sizeof(t), buf, n);
		seed_put(argv[1], "topic-from-input", tb[0], tb + 1, sizeof(t) + n);
	}
	printf("make-fuzz-seeds: %zu-byte FaceCodes for %s into %s\n", n, set.info[0].model_id,
	       argv[1]);
	be_model_set_free(&set);
	return 0;
}
