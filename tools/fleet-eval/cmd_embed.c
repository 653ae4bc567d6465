/* fleet-eval embed: detect, align and embed the faces of images; one JSON
 * line per face: image, face index, box, score, landmarks, embedding. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "facefleet/align.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "fleet_eval.h"

#define FE_MAX_FACES 64

static void embed_usage(FILE *f)
{
	fprintf(f,
		"usage: fleet-eval embed [--aligned | --landmarks-only] [--models DIR] [--min-face PX]\n"
		"                        [--threads N] IMAGE...\n"
		"Prints one JSON line per face found:\n"
		"  {\"image\":PATH,\"face\":I,\"box\":[x0,y0,x1,y1],\"score\":S,\"landmarks\":[10],"
		"\"embedding\":[D]}\n"
		"An image with no face prints {\"image\":PATH,\"faces\":0}.\n"
		"  --aligned      images are already 112x112 ArcFace crops: no detection\n"
		"  --landmarks-only  detection only: \"embedding\":null (no alignment, no\n"
		"                 MobileFaceNet; what models/train/prepare_data.py needs)\n"
		"  --models DIR   model folder (default $FF_MODELS_DIR, else models/cache)\n"
		"  --min-face PX  smallest face side for the detector (default 20)\n"
		"  --threads N    XNNPACK threads (default 1)\n"
		"Exit status: 0 all images processed, 1 an image or model failed, 2 usage.\n");
}

static void print_face(const char *path, int idx, const ff_face *face, const float *emb,
		       size_t dim)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "image", path);
	cJSON_AddNumberToObject(o, "face", idx);
	if (face) {
		const float box[4] = { face->x0, face->y0, face->x1, face->y1 };
		cJSON *b = cJSON_AddArrayToObject(o, "box");
		for (int i = 0; i < 4; i++)
			fe_json_num(b, NULL, box[i], 1, 'f');
		fe_json_num(o, "score", face->score, 5, 'f');
		fe_json_floats(o, "landmarks", face->landmarks, 10);
	} else {
		cJSON_AddNullToObject(o, "box");
		cJSON_AddNullToObject(o, "score");
		cJSON_AddNullToObject(o, "landmarks");
	}
	if (emb)
		fe_json_floats(o, "embedding", emb, dim);
	else
		cJSON_AddNullToObject(o, "embedding");
	fe_json_print(o);
}

enum embed_mode { EMBED_DETECT, EMBED_ALIGNED, EMBED_LANDMARKS };

/* Embeds the faces of one image (EMBED_LANDMARKS: only prints what the
 * detector found). Returns FF_OK or an error (logged). */
static int embed_one(struct fe_models *m, const char *path, enum embed_mode mode)
{
	ff_image img = FF_IMAGE_EMPTY, crop = FF_IMAGE_EMPTY;
	ff_face faces[FE_MAX_FACES];
	float emb[1024];
	size_t dim = ff_embedder_dim(m->emb), n = 0;
	char why[256] = "", q[300], qw[300];
	int rc;

	if (dim > sizeof(emb) / sizeof(emb[0]))
		return FF_ERR_RANGE;
	rc = ff_image_load(path, NULL, &img, why, sizeof(why));
	if (rc != FF_OK)
		goto out;
	if (mode == EMBED_ALIGNED) {
		if (img.width != FF_ALIGN_SIZE || img.height != FF_ALIGN_SIZE) {
			ff_log(FF_LOG_WARN, "eval", "event=resized_aligned_input w=%d h=%d",
			       img.width, img.height);
			if ((rc = ff_image_resize(&img, FF_ALIGN_SIZE, FF_ALIGN_SIZE, &crop)) != FF_OK)
				goto out;
		}
		rc = ff_embed_image(m->emb, crop.data ? &crop : &img, emb, dim);
		if (rc == FF_OK)
			print_face(path, 0, NULL, emb, dim);
		goto out;
	}
	if ((rc = ff_detect(m->det, &img, faces, FE_MAX_FACES, &n)) != FF_OK)
		goto out;
	if (n == 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "image", path);
		cJSON_AddNumberToObject(o, "faces", 0);
		fe_json_print(o);
	}
	for (size_t i = 0; i < n; i++) {
		if (mode == EMBED_LANDMARKS) {
			print_face(path, (int)i, &faces[i], NULL, 0);
			continue;
		}
		if ((rc = ff_align_face(&img, faces[i].landmarks, &crop)) != FF_OK ||
		    (rc = ff_embed_image(m->emb, &crop, emb, dim)) != FF_OK)
			goto out;
		ff_image_free(&crop);
		print_face(path, (int)i, &faces[i], emb, dim);
	}
out:
	if (rc != FF_OK)
		ff_log(FF_LOG_ERROR, "eval", "event=embed_failed image=%s err=%s reason=%s",
		       ff_log_quote(q, sizeof(q), path), ff_strerror(rc),
		       ff_log_quote(qw, sizeof(qw), why[0] ? why : ff_strerror(rc)));
	ff_image_free(&img);
	ff_image_free(&crop);
	return rc;
}

int fe_cmd_embed(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "aligned", no_argument, NULL, 'a' },	 { "models", required_argument, NULL, 'm' },
		{ "landmarks-only", no_argument, NULL, 'l' },
		{ "min-face", required_argument, NULL, 'f' }, { "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	ff_detector_options dopt = FF_DETECTOR_OPTIONS_INIT;
	struct fe_models m;
	const char *models = NULL;
	char dir[4096];
	enum embed_mode mode = EMBED_DETECT;
	int c, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "alm:f:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			if (mode != EMBED_DETECT) /* one or the other */
				goto usage;
			mode = c == 'a' ? EMBED_ALIGNED : EMBED_LANDMARKS;
			break;
		case 'm':
			models = optarg;
			break;
		case 'f':
			if (fe_parse_float(optarg, 12.0f, 10000.0f, &dopt.min_face_size) != 0)
				goto usage;
			break;
		case 't':
			if (fe_parse_int(optarg, 1, 64, &dopt.threads) != 0)
				goto usage;
			break;
		case 'h':
			embed_usage(stdout);
			return FF_EXIT_OK;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if (fe_models_open(fe_models_dir(models, dir, sizeof(dir)), mode != EMBED_ALIGNED, &dopt,
			   &m) != FF_OK)
		return FF_EXIT_FAIL;
	for (int i = optind; i < argc; i++)
		if (embed_one(&m, argv[i], mode) != FF_OK)
			failed = 1;
	fe_models_close(&m);
	return failed ? FF_EXIT_FAIL : FF_EXIT_OK;
usage:
	embed_usage(stderr);
	return FF_EXIT_USAGE;
}
