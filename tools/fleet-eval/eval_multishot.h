/* fleet-eval multishot: identification and open-set access from probes made
 * of K different images of a person, fused the way the backend fuses a face
 * track (issue 15, section 3; backend/track_fusion.c): the quality-weighted
 * mean of the L2-normalised embeddings, renormalised. The backend turns a
 * face's quality into its weight (an unknown quality weighs 1); the images
 * evaluated here have none, so fleet-eval fuses with equal weights.
 *
 * Probes are nested groups: a person's probe images (after the gallery image
 * when the person is enrolled) are cut, in name order, into disjoint groups
 * of KMAX images (the largest K asked for); the K-shot probe of a group
 * fuses its first K images. So every K row has the same people, the same
 * number of probes and the same first image per probe, and the K-shot probe
 * holds the (K-1)-shot one: the rows differ only by the shots added. Only
 * people with enough images for one group give probes (1 + KMAX images when
 * enrolled, KMAX for a stranger). */
#ifndef FLEET_EVAL_MULTISHOT_H
#define FLEET_EVAL_MULTISHOT_H

#include <stddef.h>

#define EV_MS_MAX_SHOTS 8
#define EV_MS_STRANGER ((size_t)-1)

/* out = the fusion of k embeddings e[0..k-1] of dim floats each:
 * sum_i w_i e_i / |e_i|, scaled to unit L2 norm (dividing by sum_i w_i does
 * not change the direction); w NULL: equal weights. An embedding of norm 0,
 * or of weight 0, adds nothing. Returns FF_OK, or FF_ERR_INVAL (k == 0, dim
 * == 0, a negative or non-finite weight, or nothing left to fuse: every
 * weight 0 or every embedding 0; out is then left as zeros). */
int ev_fuse(const float *const *e, const float *w, size_t k, size_t dim, float *out);

/* One probe: kmax image rows of one person in name order (a K-shot probe
 * fuses rows[0..K-1]) and its person's gallery slot (EV_MS_STRANGER: a
 * stranger, in no gallery). */
struct ev_ms_probe {
	size_t rows[EV_MS_MAX_SHOTS];
	size_t truth;
};

enum ev_ms_protocol {
	/* identify's gallery (first image, sorted, of every person with 2+
	 * images); probes from the people with 1 + kmax images or more */
	EV_MS_IDENTIFY,
	/* openset's split (eval_openset.c): the people with 2+ images, sorted
	 * by name, alternate enrolled (first image = gallery) and stranger;
	 * people with one image are strangers too. Genuine probes from enrolled
	 * people with 1 + kmax images or more, stranger probes from strangers
	 * with kmax images or more (all their images: none is enrolled). */
	EV_MS_OPENSET,
};

struct ev_ms_split {
	size_t *gallery, ng;                /* gallery image rows, one per enrolled person */
	struct ev_ms_probe *genuine;        /* truth = the person's gallery slot */
	size_t ngen;
	struct ev_ms_probe *strangers;      /* openset only */
	size_t nstr;
	size_t people_enrolled, people_strangers; /* all people by role (strangers: openset) */
	size_t people_genuine, people_stranger_probes; /* the people who give probes */
};

/* The groups of one person whose images are rows first..first+count-1:
 * skip of them left out first (1: the gallery image), then floor((count -
 * skip) / kmax) groups of kmax rows written to out (at most max). Returns
 * how many groups the person has (which may be more than max). */
size_t ev_ms_groups(size_t first, size_t count, size_t skip, size_t kmax, size_t truth,
		    struct ev_ms_probe *out, size_t max);

/* Splits n sorted "person/file" names (ev_list_images) into gallery and
 * probes of kmax shots (1..EV_MS_MAX_SHOTS) by protocol p. Returns FF_OK,
 * FF_ERR_INVAL (kmax out of range), FF_ERR_NOMEM, or FF_ERR_NOTFOUND when
 * no person gives a genuine probe (openset: or no stranger probe); sp is
 * then empty (ev_ms_split_free is still safe). */
int ev_ms_split(char *const *names, size_t n, size_t kmax, enum ev_ms_protocol p,
		struct ev_ms_split *sp);
void ev_ms_split_free(struct ev_ms_split *sp);

/* "1,2,3" -> shots[] ascending without repeats, each 1..EV_MS_MAX_SHOTS.
 * Returns how many (>= 1), or -1 when the list is not one. */
int ev_ms_parse_shots(const char *s, int shots[EV_MS_MAX_SHOTS]);

#endif
