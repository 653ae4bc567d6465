/* tests/runtime/nn_testvec.h: helpers shared by the lib/nn tests: whole-file
 * reads and the .vec test vectors written by tests/data/nn/make_test_models.py
 * (b"FFTV", u32 n_in, u32 n_out, then per tensor u32 rank, u32 dims[4],
 * float32 data). */
#ifndef NN_TESTVEC_H
#define NN_TESTVEC_H

#include <stddef.h>

#include "facefleet/nn.h"

#define NN_VEC_MAX 8

typedef struct nn_vec {
	unsigned n_in, n_out;
	ff_shape shape[NN_VEC_MAX]; /* inputs, then outputs */
	float *data[NN_VEC_MAX];
} nn_vec;

/* Reads a whole file into a malloc'd buffer; NULL if unreadable. */
void *nn_read_file(const char *path, size_t *len);
/* Path of tests/data/nn/<name><ext> in buf. */
const char *nn_data_path(char *buf, size_t len, const char *name, const char *ext);
/* Loads a .vec file; returns 0 or -1. */
int nn_vec_load(const char *path, nn_vec *v);
void nn_vec_free(nn_vec *v);
/* Max |a - b| over n floats. */
double nn_max_abs_diff(const float *a, const float *b, size_t n);

#endif
