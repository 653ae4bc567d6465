/* Helpers shared by the VQ codec tests (unit_vq_codec, models_vq_golden):
 * checking an encoder/decoder pair against golden files written by
 * models/vq/make_golden.py. */
#ifndef FF_TEST_VQ_COMMON_H
#define FF_TEST_VQ_COMMON_H

#include <stddef.h>

#include "facefleet/embed.h"
#include "facefleet/vq.h"

struct vq_golden_result {
	size_t faces;
	size_t codes;      /* code positions compared */
	size_t mismatches; /* C index != golden index */
	double recon_max_err; /* max |C - golden| over the stored pixels, 0..255 scale */
	size_t recon_values;
	size_t emb_faces;     /* reconstructions embedded (recon_emb given) */
	double emb_min_cos;   /* lowest cosine, C embedding vs golden <stem>.emb */
};

/* Reads golden_dir/golden.txt, encodes each listed face (faces_dir/<rel>)
 * and compares its codes; decodes the golden codes and compares with
 * golden_dir/<stem>.recon; with recon_emb (may be NULL), embeds that
 * reconstruction and compares with golden_dir/<stem>.emb. Also checks a
 * bitpack round trip of the codes. Returns FF_OK or an error (reason printed
 * on stderr). */
int vq_golden_check(ff_vq_encoder *enc, ff_vq_decoder *dec, ff_embedder *recon_emb,
		    const char *golden_dir, const char *faces_dir, struct vq_golden_result *r);

/* Reads a whole file into a malloc'd buffer. Returns FF_OK, FF_ERR_IO. */
int vq_read_file(const char *path, unsigned char **buf, size_t *len);

#endif
