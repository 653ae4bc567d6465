/* fleet-eval verify / identify: what both share. Every image is taken once
 * through each compared method and embedded with MobileFaceNet:
 *   original  the aligned 112x112 crop as is
 *   vq        crop -> VQ encoder -> indices -> bitpack -> unpack -> VQ
 *             decoder -> float face (the device -> backend path); its
 *             embedding through the decoder's embed_adapter when it has one
 *   vq_raw    the same without the adapter (ablation)
 *   jpeg_N, webp_N, avif_N, av1_N
 *             crop -> a classical codec's file of at most N bytes (libjpeg-turbo,
 *             libwebp, libavif; av1_N counts only the AV1 bitstream of the
 *             AVIF file) at the best quality that fits, at 112x112 or at a
 *             smaller side scaled back up, whichever is nearest the crop
 *             (eval_codec.h); CODEC_N@S fixes the side to S
 * The crop is the image itself with --aligned, else MTCNN + 5-point
 * alignment of the face nearest the image centre. Work is spread over
 * --threads workers, each with its own nets. */
#ifndef FLEET_EVAL_PIPELINE_H
#define FLEET_EVAL_PIPELINE_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "facefleet/detect.h"
#include "eval_codec.h"

#define EV_MAX_METHODS 12
#define EV_MAX_DIM 1024

enum ev_kind { EV_ORIGINAL, EV_VQ, EV_CODEC };

struct ev_method {
	enum ev_kind kind;
	const struct ev_codec *codec; /* EV_CODEC */
	int budget; /* CODEC_N: N bytes */
	int side;   /* CODEC_N@S: S; 0 = the side ladder */
	int no_adapter; /* vq_raw: the decoder's embed_adapter left out (ablation) */
	char name[24];
};

/* Status of one (image, method) embedding. */
enum ev_status {
	EV_OK = 0,
	EV_PENDING,
	EV_NO_FACE,        /* detector found nothing */
	EV_UNREPRESENTABLE, /* CODEC_N: even the lowest quality is larger than N */
	EV_FAILED,         /* I/O, decode or inference error */
};

struct ev_config {
	const char *images;   /* DIR/<Name>/<Name>_NNNN.jpg */
	const char *models;   /* mobilefacenet + MTCNN folder (NULL = default) */
	const char *vq_prefix; /* PREFIX.enc.ffn, PREFIX.dec.ffn */
	int aligned;
	int threads;
	int limit;
	ff_detector_options dopt;
	struct ev_method methods[EV_MAX_METHODS];
	int n_methods;
	const char *cache_dir;  /* --cache DIR, NULL when not given */
	const char *enrol_name; /* --enrol METHOD, NULL when not given */
	unsigned int8;          /* --int8: EV_INT8_* nets of the vq methods built in int8 */
	int code_bytes;         /* --code-bytes: the coded codes' budget (rate control) */
	int enrol;              /* its index in methods, -1 when not given */
	char vq_prefix_buf[4096];
};

/* --int8 enc,dec,emb: which of the vq path's nets run in int8 (lib/nn, the
 * .q8 activation ranges next to the model). */
enum { EV_INT8_ENC = 1, EV_INT8_DEC = 2, EV_INT8_EMB = 4 };

/* Embeddings of n images x n_methods, filled by ev_embed_all. */
struct ev_cache {
	size_t n, dim;
	int n_methods;
	float *emb;       /* [n][n_methods][dim] */
	uint8_t *status;  /* [n][n_methods] enum ev_status */
	int32_t *bytes;   /* [n][n_methods] payload bytes (codec: counted file bytes) */
	int8_t *quality;  /* [n][n_methods] codec quality used */
	uint8_t *side;    /* [n][n_methods] side the codec coded at */
	char model_id[40];  /* the VQ model's id, "" when vq not run */
	size_t vq_bytes;    /* packed payload of the VQ model */
	double seconds;
};

/* Usage lines of the options every evaluation subcommand accepts. */
#define EV_COMMON_USAGE                                                                      \
	"  --images DIR      images as DIR/<Name>/<Name>_NNNN.jpg\n"                             \
	"  --aligned         images are 112x112 ArcFace crops (else MTCNN + alignment;\n"        \
	"                    the face nearest the image centre)\n"                                \
	"  --vq-model PREFIX VQ-VAE files PREFIX.enc.ffn and PREFIX.dec.ffn (default:\n"         \
	"                    models/vq/<id of models/vq/DEFAULT>, else the only\n"               \
	"                    models/vq/*.enc.ffn; method vq is dropped from the default\n"       \
	"                    list when there is none)\n"                                          \
	"  --int8 LIST       run these nets of the vq methods in int8: enc, dec, emb\n"      \
	"                    (activation ranges PREFIX.enc.q8, .dec.q8, .emb.q8)\n"         \
	"  --code-bytes N    a model sent entropy-coded only: rate control's budget, as\n"   \
	"                    the device's code_bytes_max (16..128, default 121)\n"          \
	"  --methods LIST    comma-separated, of original, vq, vq_raw (vq without the\n"       \
	"                    decoder's embedding adapter), jpeg_N, webp_N, avif_N (N bytes\n"    \
	"                    per face, the whole file; best quality that fits, at the side\n"   \
	"                    of 112, 96, 80, 64, 48, 32 nearest the crop once scaled back),\n" \
	"                    av1_N (avif_N counting only the AV1 bitstream), CODEC_N@S (at\n"  \
	"                    side S only); default original,vq,jpeg_128,jpeg_512,jpeg_2048\n"  \
	"  --enrol METHOD    gallery (identify) / first image of each pair (verify) through\n"   \
	"                    METHOD, the other side the row's; added to --methods if absent\n"   \
	"  --models DIR      MobileFaceNet/MTCNN folder (default $FF_MODELS_DIR, else models/cache)\n" \
	"  --threads N       worker threads, each with its own nets (default 2)\n"               \
	"  --cache DIR       keep each method's embeddings of these images in DIR and reuse\n"  \
	"                    them (keyed by method, image folder and list, VQ model path)\n"  \
	"  --min-face PX     detector minimum face size (default 20)\n"

/* A subcommand's own option: --name VALUE stored in *dest. */
struct ev_extra_opt {
	const char *name;
	int key; /* its getopt code, a letter not used by the common options */
	const char **dest;
	int required;
};
#define EV_MAX_EXTRA 4

/* Parses argv (the common options plus n_extra of the subcommand's own; no
 * positional arguments) into cfg, then completes it: default methods, VQ
 * model lookup. Returns -1 to go on, or the exit code to return at once after
 * printing usage(): FF_EXIT_OK for --help (stdout), FF_EXIT_USAGE (stderr). */
int ev_parse_args(struct ev_config *cfg, int argc, char **argv, const struct ev_extra_opt *extra,
		  size_t n_extra, void (*usage)(FILE *));

/* Embeds every image (relative names under cfg->images) with every method.
 * Prints a progress bar to stderr. Returns FF_OK or the error that prevented
 * the run (models missing): per-image failures are recorded in status. */
int ev_embed_all(const struct ev_config *cfg, char *const *names, size_t n,
		 struct ev_cache *cache);
void ev_cache_free(struct ev_cache *cache);

/* A whole subcommand over every image of --images (identify, openset):
 * parses argv (usage as for ev_parse_args), lists and embeds the images,
 * then returns report(...)'s exit code; what names the command on stderr. */
typedef int (*ev_report_fn)(const struct ev_config *cfg, const struct ev_cache *c,
			    char *const *names, size_t n);
int ev_run_images(int argc, char **argv, void (*usage)(FILE *), const char *what,
		  ev_report_fn report);
/* The part after the arguments: list cfg->images, embed them (--cache), report.
 * Returns the report's exit code, or FF_EXIT_FAIL. */
int ev_embed_and_report(const struct ev_config *cfg, const char *what, ev_report_fn report);
/* --cache: method m's column of c (all n images) from / to cfg->cache_dir
 * (eval_store.c). load: FF_OK, FF_ERR_NOTFOUND, FF_ERR_FORMAT (stale or
 * damaged file: recompute); save: FF_OK or FF_ERR_IO. */
int ev_store_load(const struct ev_config *cfg, int m, char *const *names, struct ev_cache *c);
int ev_store_save(const struct ev_config *cfg, int m, char *const *names, struct ev_cache *c);
static inline const float *ev_emb(const struct ev_cache *c, size_t img, int m)
{
	return c->emb + (img * (size_t)c->n_methods + (size_t)m) * c->dim;
}
static inline int ev_status_of(const struct ev_cache *c, size_t img, int m)
{
	return c->status[img * (size_t)c->n_methods + (size_t)m];
}

/* The method that embeds one side of a comparison in method row m: the
 * enrolled side (identify's gallery, verify's first image of a pair) uses
 * --enrol's when given, as the backend matches device faces against a
 * gallery enrolled from original photos; the other side always row m's. */
static inline int ev_side_method(const struct ev_config *cfg, int m, int enrolled_side)
{
	return enrolled_side && cfg->enrol >= 0 ? cfg->enrol : m;
}
/* With --enrol, one stdout line naming the enrolled side and the other. */
void ev_print_enrol(const struct ev_config *cfg, const char *enrolled, const char *other);

/* Per-method counts over the cache rows: failures and mean bytes. */
struct ev_method_stats {
	size_t ok, no_face, unrepresentable, failed;
	double bytes_mean; /* over OK rows: codec file bytes, vq payload, original 112*112*3 */
	double quality_mean, side_mean; /* codecs */
};
void ev_method_stats(const struct ev_config *cfg, const struct ev_cache *c, int m,
		     struct ev_method_stats *st);
/* Adds method m's object to the JSON object methods, named after it, with
 * the common fields ("bytes_per_face":..,"images_ok":..); returns it for the
 * command's figures (NULL when out of memory). */
cJSON *ev_json_method(cJSON *methods, const struct ev_config *cfg, const struct ev_cache *c, int m);

/* One stdout line per method with images not embedded (not representable,
 * no face, failed), saying why. */
void ev_print_method_notes(const struct ev_config *cfg, const struct ev_cache *c);
/* The result line's object {"command":..,"images":..,"aligned":..,
 * "vq_model":..,"enrol":..,"threads":..,"seconds":..}, for the command to
 * add its figures to and print with fe_json_print. */
cJSON *ev_json_begin(const char *command, const struct ev_config *cfg, const struct ev_cache *c);
/* qsort comparator of char * strings. */
int ev_cmp_str(const void *a, const void *b);

/* All DIR/<person>/<file>.jpg as "person/file", sorted (*out and its
 * strings malloc'd). Returns FF_OK, FF_ERR_IO, FF_ERR_NOMEM, FF_ERR_NOTFOUND
 * (no image). */
int ev_list_images(const char *dir, char ***out, size_t *count);
/* The person names of an LFW people file (a count line, then "Name N"
 * lines), sorted (ev_free_names). Returns FF_OK, FF_ERR_IO, FF_ERR_NOMEM,
 * FF_ERR_FORMAT (no name, or a count that differs from the lines). */
int ev_read_people(const char *path, char ***out, size_t *count);
void ev_free_names(char **v, size_t n);
/* Do two "person/file" names have the same person? */
int ev_same_person(const char *a, const char *b);

/* The score threshold for a false-accept rate far from n impostor scores
 * (sorted descending in place): the k-th highest, k = floor(n * far) - 1 or
 * the highest when n * far < 1; a score is accepted when strictly above it
 * (models/train/lfw_eval.py's TAR). Returns it, or 1 when n == 0. */
double ev_threshold_at_far(double *neg, size_t n, double far);

#endif
