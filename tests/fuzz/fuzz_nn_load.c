/* fuzz_nn_load: libFuzzer target for the .ffn loader and net builder. Any
 * input must give an error code or a model; a model is then built (input dims
 * of "any size" become 8) and run once. Build and run (seed corpus: the test
 * models):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE -Ilib/include \
 *     tests/runtime/fuzz_nn_load.c lib/nn/{crc32,model_load,shape_infer,net_xnnpack}.c lib/util/error.c -lXNNPACK -lpthreadpool -lcpuinfo -lm \
 *     -o /tmp/fuzz_nn_load
 *   mkdir -p /tmp/ffn-corpus && cp tests/data/nn/[a-z]*.ffn /tmp/ffn-corpus/
 *   /tmp/fuzz_nn_load -max_total_time=300 -max_len=8192 /tmp/ffn-corpus */
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
