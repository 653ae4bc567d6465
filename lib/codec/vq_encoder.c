/* VQ-VAE encoder (device side): aligned 112x112 face -> net -> latent
 * [1, grid_h, grid_w, codes_per_cell * code_dim] -> for each cell and code
 * group, the index of the nearest codeword (squared L2; ties go to the lowest
 * index) of the "codebook" constant, by rounding each dimension when the
 * codebook is a regular lattice (vq_lattice.c). No allocation per call. */
#include <float.h>
#include <stdlib.h>

#include "facefleet/error.h"
#include "vq_internal.h"

FF_VQ_DEFINE_HANDLE(encoder, FF_VQ_ROLE_ENCODER)

/* Index of the codeword nearest v (dim floats) among k rows of cb. */
static uint16_t nearest(const float *cb, uint32_t k, uint32_t dim, const float *v)
{
	float best = FLT_MAX;
	uint32_t arg = 0;

	for (uint32_t i = 0; i < k; i++, cb += dim) {
		float d = 0.0f;
		for (uint32_t j = 0; j < dim; j++) {
			float t = v[j] - cb[j];
			d += t * t;
		}
		if (d < best) {
			best = d;
			arg = i;
		}
	}
	return (uint16_t)arg;
}

int ff_vq_encode(ff_vq_encoder *e, const ff_image *face, uint16_t *idx, size_t n)
{
	const ff_vq_info *vi;
	const float *lat;
	float *in;
	int rc;

	if (!e || !face || !face->data || !idx)
		return FF_ERR_INVAL;
	vi = &e->h.info;
	if (face->width != FF_VQ_FACE_SIZE || face->height != FF_VQ_FACE_SIZE ||
	    face->stride < 3u * FF_VQ_FACE_SIZE || n < vi->num_codes)
		return FF_ERR_INVAL;
	in = ff_net_input(e->h.net, 0, NULL);
	for (int y = 0; y < FF_VQ_FACE_SIZE; y++) {
		const uint8_t *row = face->data + (size_t)y * face->stride;
		for (int x = 0; x < 3 * FF_VQ_FACE_SIZE; x++)
			*in++ = ((float)row[x] - e->h.mean) * e->h.scale;
	}
	if ((rc = ff_net_run(e->h.net)) != FF_OK)
		return rc;
	/* latent is cell-major with the groups' code_dim values contiguous:
	 * exactly the wire order of idx, one group every code_dim floats */
	lat = ff_net_output(e->h.net, 0, NULL);
	for (uint32_t i = 0; i < vi->num_codes; i++)
		idx[i] = e->h.lattice.ok ? ff_vq_lattice_nearest(&e->h.lattice, lat + (size_t)i * vi->code_dim)
					 : nearest(e->h.codebook, vi->codebook_size, vi->code_dim,
						   lat + (size_t)i * vi->code_dim);
	return FF_OK;
}
