/* fuzz_facecodes: libFuzzer target for what the backend does with an MQTT
 * FaceCodes message before any compute: protobuf decode and be_validate
 * (backend/validate.c: topic, ids, seq, device registry and replay window,
 * model id, grid, bit-packed indices, box). The first input byte picks the
 * topic (the registered device's own, another device's, or topic text taken
 * from the input), the rest is the payload. Every input must end in a clean
 * job or a reject reason; ASan/UBSan catch the rest.
 * Seed corpus: tests/fuzz/corpus/facecodes (tests/fuzz/make_seeds.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/error.h"
#include "recognize.h"
#include "validate.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static be_model_set g_models;
static be_devices *g_devices;
static bool g_ready;

/* the VQ decoders of tests/data/vq (tiny-test; metadata only is needed) */
static void setup(void)
{
	const char *src = getenv("FF_SOURCE_DIR");
	char dir[1024], err[256];
	snprintf(dir, sizeof(dir), "%s/tests/data/vq", src ? src : FF_FUZZ_SOURCE_DIR);
	if (be_model_set_load(&g_models, dir, "", err, sizeof(err)) != FF_OK) {
		fprintf(stderr, "fuzz_facecodes: %s: %s\n", dir, err);
		abort();
	}
	if (be_devices_create(&g_devices) != FF_OK ||
	    be_devices_set(g_devices, "dev-1", "site-1", true) != FF_OK ||
	    be_devices_set(g_devices, "dev-off", "site-1", false) != FF_OK)
		abort();
	g_ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const topics[] = { "fleet/site-1/dev-1/faces", "fleet/site-1/dev-off/faces",
					      "fleet/site-2/dev-1/faces", "fleet/site-1/dev-9/faces" };
	be_validate_options opt = { .max_payload = 1024, .replay_window = 4096, .max_seq_jump = 1000000 };
	char topic[160];
	be_job *j;
	if (!g_ready)
		setup();
	if (size < 1)
		return 0;
	if (data[0] < 0xf0) {
		snprintf(topic, sizeof(topic), "%s", topics[data[0] % 4]);
		data++;
		size--;
	} else { /* topic text from the input, up to a NUL */
		size_t n = 1;
		while (n < size && data[n] && n < sizeof(topic))
			n++;
		memcpy(topic, data + 1, n - 1);
		topic[n - 1] = '\0';
		data += n < size ? n + 1 : n;
		size -= n < size ? n + 1 : n;
	}
	j = be_job_new(topic, data, size);
	if (!j)
		return 0;
	be_validate(j, &g_models, g_devices, &opt);
	/* a clean job has indices inside the codebook */
	if (!j->reason[0]) {
		const ff_vq_info *vi = &g_models.info[j->model_index];
		if (j->nidx != vi->num_codes)
			abort();
		for (size_t i = 0; i < j->nidx; i++)
			if (j->idx[i] >= vi->codebook_size)
				abort();
	}
	be_job_free(j);
	return 0;
}
