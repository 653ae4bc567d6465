/* fuzz_nn_load: libFuzzer target for the .ffn loader and net builder. Any
 * input must give an error code or a model; a model is then built (input dims
 * of "any size" become 8) and run once. Seed corpus: tests/fuzz/corpus/nn_load
 * (the small test models of tests/data/nn). Built with -DFF_FUZZ=ON (clang);
 * deploy/fuzz runs it, unit_fuzz_nn_load_corpus replays the corpus in every
 * build (tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "facefleet/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ff_model *m = NULL;
	ff_net *n = NULL;
	ff_shape in[4];
	char err[256];
	if (ff_model_load_memory(data, size, NULL, &m, err, sizeof err) != 0)
		return 0;
	for (unsigned k = 0; k < ff_model_num_inputs(m) && k < 4; k++) {
		ff_model_input_shape(m, k, &in[k]);
		for (uint32_t d = 0; d < in[k].rank; d++)
			if (in[k].dims[d] == 0 || in[k].dims[d] > 64)
				in[k].dims[d] = 8;
	}
	if (ff_net_create_ex(m, in, NULL, &n, err, sizeof err) == 0)
		ff_net_run(n);
	ff_net_free(n);
	ff_model_free(m);
	return 0;
}
