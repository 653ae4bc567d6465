/* 5-point similarity alignment to the ArcFace template. */
#include "facefleet/align.h"

#include <math.h>
#include <string.h>

#include "facefleet/error.h"

const float ff_arcface_template[10] = {
	38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f, 71.7366f, 41.5493f, 92.3655f,
	70.7299f, 92.2041f,
};

int ff_similarity_estimate(const double *src, const double *dst, int n, double m[6])
{
	double msx = 0, msy = 0, mdx = 0, mdy = 0, a = 0, b = 0, ss = 0, ca, sa;

	if (!src || !dst || !m || n < 2)
		return FF_ERR_INVAL;
	for (int i = 0; i < n; i++) {
		msx += src[2 * i];
		msy += src[2 * i + 1];
		mdx += dst[2 * i];
		mdy += dst[2 * i + 1];
	}
	msx /= n;
	msy /= n;
	mdx /= n;
	mdy /= n;
	/* With centred points s, d the optimum of sum |c R s + t - d|^2 over
	 * rotations R (det +1) is c cos = sum(s.d) / sum|s|^2 and
	 * c sin = sum(s x d) / sum|s|^2 -- Umeyama's SVD solution in 2-D. */
	for (int i = 0; i < n; i++) {
		double sx = src[2 * i] - msx, sy = src[2 * i + 1] - msy;
		double dx = dst[2 * i] - mdx, dy = dst[2 * i + 1] - mdy;
		a += sx * dx + sy * dy;
		b += sx * dy - sy * dx;
		ss += sx * sx + sy * sy;
	}
	if (!(ss > 1e-12) || !isfinite(ss) || !isfinite(a) || !isfinite(b))
		return FF_ERR_INVAL;
	ca = a / ss;
	sa = b / ss;
	m[0] = ca;
	m[1] = -sa;
	m[2] = mdx - (ca * msx - sa * msy);
	m[3] = sa;
	m[4] = ca;
	m[5] = mdy - (sa * msx + ca * msy);
	return FF_OK;
}

int ff_affine_invert(const double m[6], double inv[6])
{
	double det;

	if (!m || !inv)
		return FF_ERR_INVAL;
	det = m[0] * m[4] - m[1] * m[3];
	if (!isfinite(det) || fabs(det) < 1e-12)
		return FF_ERR_INVAL;
	inv[0] = m[4] / det;
	inv[1] = -m[1] / det;
	inv[3] = -m[3] / det;
	inv[4] = m[0] / det;
	inv[2] = -(inv[0] * m[2] + inv[1] * m[5]);
	inv[5] = -(inv[3] * m[2] + inv[4] * m[5]);
	return FF_OK;
}

int ff_align_face(const ff_image *img, const float landmarks[10], ff_image *out)
{
	double src[10], dst[10], m[6], inv[6];
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!img || !landmarks || !out)
		return FF_ERR_INVAL;
	for (int i = 0; i < 10; i++) {
		if (!isfinite(landmarks[i]))
			return FF_ERR_INVAL;
		src[i] = landmarks[i];
		dst[i] = ff_arcface_template[i];
	}
	rc = ff_similarity_estimate(src, dst, 5, m);
	if (rc != FF_OK)
		return rc;
	rc = ff_affine_invert(m, inv);
	if (rc != FF_OK)
		return rc;
	return ff_image_warp_affine(img, inv, FF_ALIGN_SIZE, FF_ALIGN_SIZE, NULL, out);
}
