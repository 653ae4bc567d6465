/* tests/runtime/nn_testvec.c: see nn_testvec.h. */
#include "nn_testvec.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ff_test.h"

void *nn_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long sz;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)sz + 1);
		if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)sz;
	}
	fclose(f);
	return buf;
}

const char *nn_data_path(char *buf, size_t len, const char *name, const char *ext)
{
	char rel[256];
	snprintf(rel, sizeof rel, "nn/%s%s", name, ext);
	return ff_test_data_path(buf, len, rel);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int nn_vec_load(const char *path, nn_vec *v)
{
	size_t len = 0, pos = 12;
	unsigned char *b = nn_read_file(path, &len);
	memset(v, 0, sizeof *v);
	if (!b || len < 12 || memcmp(b, "FFTV", 4) != 0)
		goto bad;
	v->n_in = get32(b + 4);
	v->n_out = get32(b + 8);
	if (v->n_in + v->n_out > NN_VEC_MAX)
		goto bad;
	for (unsigned k = 0; k < v->n_in + v->n_out; k++) {
		if (pos + 20 > len)
			goto bad;
		v->shape[k].rank = get32(b + pos);
		for (int d = 0; d < 4; d++)
			v->shape[k].dims[d] = get32(b + pos + 4 + 4 * d);
		pos += 20;
		size_t bytes = ff_shape_numel(&v->shape[k]) * sizeof(float);
		if (v->shape[k].rank > 4 || pos + bytes > len || !(v->data[k] = malloc(bytes + 1)))
			goto bad;
		memcpy(v->data[k], b + pos, bytes);
		pos += bytes;
	}
	free(b);
	return 0;
bad:
	free(b);
	nn_vec_free(v);
	return -1;
}

void nn_vec_free(nn_vec *v)
{
	for (int k = 0; k < NN_VEC_MAX; k++)
		free(v->data[k]);
	memset(v, 0, sizeof *v);
}

double nn_max_abs_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m)) /* NaN counts as infinitely wrong */
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}
