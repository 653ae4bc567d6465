/* fleet-eval verify / identify / openset: the per-image pipeline (original,
 * vq, classical codecs), worker threads, progress bar, image listing. See
 * eval_pipeline.h. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "facefleet/align.h"
#include "facefleet/bitpack.h"
#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/log.h"
#include "facefleet/vq.h"
#include "eval_pipeline.h"
#include "fleet_eval.h"

#define EV_FACE 112
#define EV_MAX_FACES 32

static void config_init(struct ev_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 2;
	cfg->enrol = -1;
	cfg->code_bytes = FF_VQ_DEFAULT_CODE_BYTES;
	cfg->dopt = (ff_detector_options)FF_DETECTOR_OPTIONS_INIT;
}

/* CODEC_N or CODEC_N@S into m. Returns 0, or -1 when name is not one. */
static int parse_codec(const char *name, struct ev_method *m)
{
	const char *us = strrchr(name, '_'), *at;
	char num[16];
	size_t len;

	if (!us || !(m->codec = ev_codec_find(name, (size_t)(us - name))))
		return -1;
	at = strchr(us, '@');
	len = at ? (size_t)(at - us - 1) : strlen(us + 1);
	if (len >= sizeof(num))
		return -1;
	memcpy(num, us + 1, len);
	num[len] = '\0';
	m->side = 0;
	if (fe_parse_int(num, 1, 1 << 24, &m->budget) != 0 ||
	    (at && fe_parse_int(at + 1, 8, EV_FACE, &m->side) != 0))
		return -1;
	m->kind = EV_CODEC;
	return 0;
}

static int add_method(struct ev_config *cfg, const char *name)
{
	struct ev_method *m;

	if (cfg->n_methods == EV_MAX_METHODS || strlen(name) >= sizeof(m->name))
		return -1;
	m = &cfg->methods[cfg->n_methods];
	memset(m, 0, sizeof(*m));
	if (strcmp(name, "original") == 0)
		m->kind = EV_ORIGINAL;
	else if (strcmp(name, "vq") == 0 || strcmp(name, "vq_raw") == 0)
		m->kind = EV_VQ;
	else if (parse_codec(name, m) != 0)
		return -1;
	for (int i = 0; i < cfg->n_methods; i++)
		if (strcmp(cfg->methods[i].name, name) == 0)
			return -1;
	m->no_adapter = strcmp(name, "vq_raw") == 0;
	strcpy(m->name, name);
	cfg->n_methods++;
	return 0;
}

static int parse_int8(struct ev_config *cfg, const char *list)
{
	static const char *const names[] = { "enc", "dec", "emb" };
	char buf[64], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t k = 0;
		while (k < 3 && strcmp(t, names[k]) != 0)
			k++;
		if (k == 3) {
			fprintf(stderr, "fleet-eval: --int8 takes enc, dec, emb, not \"%s\"\n", t);
			return -1;
		}
		cfg->int8 |= 1u << k;
	}
	return 0;
}

static int parse_methods(struct ev_config *cfg, const char *list)
{
	char buf[512], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	cfg->n_methods = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (add_method(cfg, t) != 0) {
			fprintf(stderr, "fleet-eval: bad method '%s' (original, vq, vq_raw, "
					"jpeg_N, webp_N, avif_N, av1_N, CODEC_N@S; at most %d)\n",
				t, EV_MAX_METHODS);
			return -1;
		}
	return cfg->n_methods ? 0 : -1;
}

/* One of the common options: 1 handled, 0 not common, -1 bad value, 2 --help. */
static int common_option(struct ev_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'i':
		cfg->images = arg;
		return 1;
	case 'a':
		cfg->aligned = 1;
		return 1;
	case 'q':
		cfg->vq_prefix = arg;
		return 1;
	case 'M':
		return parse_methods(cfg, arg) == 0 ? 1 : -1;
	case 'e':
		cfg->enrol_name = arg; /* resolved once --methods is known */
		return 1;
	case 'n':
		return fe_parse_int(arg, 1, 100000000, &cfg->limit) == 0 ? 1 : -1;
	case 'm':
		cfg->models = arg;
		return 1;
	case 't':
		return fe_parse_int(arg, 1, 64, &cfg->threads) == 0 ? 1 : -1;
	case 'f':
		return fe_parse_float(arg, 12.0f, 10000.0f, &cfg->dopt.min_face_size) == 0 ? 1 : -1;
	case 'C':
		cfg->cache_dir = arg;
		return 1;
	case '8':
		return parse_int8(cfg, arg) == 0 ? 1 : -1;
	case 'B':
		return fe_parse_int(arg, 16, FF_VQ_MAX_PAYLOAD, &cfg->code_bytes) == 0 ? 1 : -1;
	case 'h':
		return 2;
	default:
		return 0;
	}
}

/* models/vq/<id> where <id> is models/vq/DEFAULT's, else the only
 * models/vq/<id>.enc.ffn. Returns 0 found, -1 none (or several, no DEFAULT). */
static int find_vq_model(char *prefix, size_t len)
{
	int found = 0;

	return ff_vq_default_model("models/vq", prefix, len, &found) == FF_OK && found == 1 ? 0 : -1;
}

static int has_vq(const struct ev_config *cfg)
{
	for (int i = 0; i < cfg->n_methods; i++)
		if (cfg->methods[i].kind == EV_VQ)
			return 1;
	return 0;
}

/* --enrol METHOD: its index in methods, appended when not listed since its
 * embeddings have to be computed too. Returns 0, or -1 for a bad name. */
static int resolve_enrol(struct ev_config *cfg)
{
	cfg->enrol = -1;
	if (!cfg->enrol_name)
		return 0;
	for (int i = 0; i < cfg->n_methods; i++)
		if (strcmp(cfg->methods[i].name, cfg->enrol_name) == 0)
			cfg->enrol = i;
	if (cfg->enrol < 0 && add_method(cfg, cfg->enrol_name) == 0)
		cfg->enrol = cfg->n_methods - 1;
	if (cfg->enrol < 0) {
		fprintf(stderr, "fleet-eval: bad --enrol method '%s' (original, vq, vq_raw, CODEC_N; at most "
				"%d methods)\n", cfg->enrol_name, EV_MAX_METHODS);
		return -1;
	}
	return 0;
}

static int config_finish(struct ev_config *cfg, int methods_given)
{
	if (!cfg->images) {
		fprintf(stderr, "fleet-eval: --images is required\n");
		return -1;
	}
	if (!cfg->vq_prefix && find_vq_model(cfg->vq_prefix_buf, sizeof(cfg->vq_prefix_buf)) == 0)
		cfg->vq_prefix = cfg->vq_prefix_buf;
	if (!methods_given) {
		parse_methods(cfg, cfg->vq_prefix ? "original,vq,jpeg_128,jpeg_512,jpeg_2048"
						  : "original,jpeg_128,jpeg_512,jpeg_2048");
		if (!cfg->vq_prefix)
			fprintf(stderr, "fleet-eval: no models/vq/DEFAULT and not exactly one "
					"models/vq/*.enc.ffn: method vq left out; give --vq-model PREFIX\n");
	}
	if (resolve_enrol(cfg) != 0)
		return -1;
	if (has_vq(cfg) && !cfg->vq_prefix) {
		fprintf(stderr, "fleet-eval: method vq needs --vq-model PREFIX\n");
		return -1;
	}
	cfg->dopt.threads = 1;
	return 0;
}

int ev_parse_args(struct ev_config *cfg, int argc, char **argv, const struct ev_extra_opt *extra,
		  size_t n_extra, void (*usage)(FILE *))
{
	static const struct option common[] = {
		{ "images", required_argument, NULL, 'i' },   { "aligned", no_argument, NULL, 'a' },
		{ "vq-model", required_argument, NULL, 'q' }, { "methods", required_argument, NULL, 'M' },
		{ "limit", required_argument, NULL, 'n' },    { "models", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },  { "min-face", required_argument, NULL, 'f' },
		{ "enrol", required_argument, NULL, 'e' },    { "help", no_argument, NULL, 'h' },
		{ "cache", required_argument, NULL, 'C' },    { "int8", required_argument, NULL, '8' },
		{ "code-bytes", required_argument, NULL, 'B' },
	};
	const size_t nc = sizeof(common) / sizeof(common[0]);
	struct option longopts[sizeof(common) / sizeof(common[0]) + EV_MAX_EXTRA + 1];
	char shortopts[64] = "i:aq:M:n:m:t:f:e:hC:8:B:";
	int c, r, methods_given = 0;

	if (n_extra > EV_MAX_EXTRA)
		goto usage;
	config_init(cfg);
	memcpy(longopts, common, sizeof(common));
	for (size_t i = 0; i < n_extra; i++) {
		longopts[nc + i] = (struct option){ extra[i].name, required_argument, NULL, extra[i].key };
		snprintf(shortopts + strlen(shortopts), sizeof(shortopts) - strlen(shortopts), "%c:",
			 extra[i].key);
	}
	memset(&longopts[nc + n_extra], 0, sizeof(longopts[0]));
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		size_t i = 0;
		while (i < n_extra && extra[i].key != c)
			i++;
		if (i < n_extra) {
			*extra[i].dest = optarg;
			continue;
		}
		methods_given |= c == 'M';
		if ((r = common_option(cfg, c, optarg)) == 2) {
			usage(stdout);
			return FF_EXIT_OK;
		}
		if (r != 1)
			goto usage;
	}
	for (size_t i = 0; i < n_extra; i++)
		if (extra[i].required && !*extra[i].dest) {
			fprintf(stderr, "fleet-eval: --%s is required\n", extra[i].name);
			goto usage;
		}
	if (optind != argc || config_finish(cfg, methods_given) != 0)
		goto usage;
	return -1;
usage:
	usage(stderr);
	return FF_EXIT_USAGE;
}

/* ---- workers ---------------------------------------------------------------- */

struct ev_job {
	const struct ev_config *cfg;
	char *const *names;
	struct ev_cache *cache;
	pthread_mutex_t lock;
	size_t next, done;
	int active, failed_models;
	int loaded[EV_MAX_METHODS]; /* column read from --cache: not computed */
};

struct ev_worker {
	struct fe_models m;
	ff_vq_encoder *enc;
	ff_vq_decoder *dec;
	ff_embedder *recon_emb; /* the decoder's own embedder (PREFIX.emb.ffp), or NULL */
	ff_entropy_table *ent;  /* PREFIX.codes.ent: a model packed past the payload is sent coded */
	float rgb[EV_FACE * EV_FACE * 3];
	int32_t rgb_bytes; /* > 0: rgb holds the current crop's decoded codes (vq, vq_raw share it) */
};

/* The aligned crop of one image. Returns an ev_status. */
static int get_crop(struct ev_worker *w, const struct ev_config *cfg, const char *name,
		    ff_image *crop)
{
	ff_image img = FF_IMAGE_EMPTY;
	ff_face faces[EV_MAX_FACES];
	char path[4096];
	size_t n = 0;
	int k, st = EV_FAILED;

	snprintf(path, sizeof(path), "%s/%s", cfg->images, name);
	if (ff_image_load(path, NULL, &img, NULL, 0) != FF_OK)
		goto out;
	if (cfg->aligned) {
		if (img.width == EV_FACE && img.height == EV_FACE) {
			*crop = img;
			img = (ff_image)FF_IMAGE_EMPTY;
			st = EV_OK;
		} else if (ff_image_resize(&img, EV_FACE, EV_FACE, crop) == FF_OK) {
			st = EV_OK;
		}
		goto out;
	}
	if (ff_detect(w->m.det, &img, faces, EV_MAX_FACES, &n) != FF_OK)
		goto out;
	if ((k = ff_face_pick_central(faces, n, img.width, img.height)) < 0) {
		st = EV_NO_FACE;
		goto out;
	}
	if (ff_align_face(&img, faces[k].landmarks, crop) == FF_OK)
		st = EV_OK;
out:
	ff_image_free(&img);
	return st;
}

/* crop -> codes -> wire bytes -> codes -> decoded face in w->rgb, once per
 * crop. Packed as the wire carries it, or, for a model packed past the
 * payload limit, entropy-coded within it as the device does (rate control:
 * ff_vq_encode_coded), the bytes then the coded length. */
static int decode_crop(struct ev_worker *w, const ff_image *crop, size_t budget)
{
	const ff_vq_info *vi = ff_vq_encoder_info(w->enc);
	uint16_t idx[FF_VQ_MAX_CODES], back[FF_VQ_MAX_CODES];
	uint8_t wire[FF_VQ_MAX_PACKED];
	size_t nb = ff_bitpack_size(vi->num_codes, vi->bits_per_index);

	if (w->rgb_bytes > 0)
		return EV_OK;
	if (ff_vq_coded_only(vi)) {
		if (!w->ent || ff_vq_encode_coded(w->enc, crop, w->ent, budget, idx,
						  vi->num_codes, wire, &nb, NULL) != FF_OK ||
		    ff_entropy_decode(w->ent, wire, nb, back, vi->num_codes) != FF_OK)
			return EV_FAILED;
	} else if (ff_vq_encode(w->enc, crop, idx, vi->num_codes) != FF_OK ||
		   ff_bitpack_pack(idx, vi->num_codes, vi->bits_per_index, vi->codebook_size, wire,
				   nb) ||
		   ff_bitpack_unpack(wire, nb, vi->num_codes, vi->bits_per_index,
				     vi->codebook_size, back)) {
		return EV_FAILED;
	}
	if (ff_vq_decode(w->dec, back, vi->num_codes, w->rgb, sizeof(w->rgb) / sizeof(float)))
		return EV_FAILED;
	w->rgb_bytes = (int32_t)nb;
	return EV_OK;
}

/* the decoded face -> embedding as the backend makes it (the decoder's own
 * embedder, else MobileFaceNet and the decoder's adapter), or with plain
 * MobileFaceNet (vq_raw) */
static int run_vq(struct ev_worker *w, const struct ev_config *cfg, const ff_image *crop,
		  int as_deployed, float *emb, size_t dim, int32_t *bytes)
{
	ff_embedder *e = as_deployed && w->recon_emb ? w->recon_emb : w->m.emb;
	if (decode_crop(w, crop, (size_t)cfg->code_bytes) != EV_OK ||
	    ff_embed_rgbf(e, w->rgb, emb, dim) != FF_OK ||
	    (as_deployed && !w->recon_emb && ff_vq_adapt_embedding(w->dec, emb, dim) != FF_OK))
		return EV_FAILED;
	*bytes = w->rgb_bytes;
	return EV_OK;
}

/* crop -> codec file within the budget -> decoded face -> embedding; row r
 * of the cache gets the bytes, quality and side */
static int run_codec(struct ev_worker *w, const ff_image *crop, const struct ev_method *me,
		     float *emb, struct ev_cache *c, size_t r)
{
	struct ev_coded cd;
	int rc = ev_codec_compress(me->codec, crop, me->budget, me->side, &cd), st = EV_FAILED;

	if (rc == FF_ERR_RANGE)
		return EV_UNREPRESENTABLE;
	if (rc != FF_OK)
		return EV_FAILED;
	if (ff_embed_image(w->m.emb, &cd.face, emb, c->dim) == FF_OK) {
		c->bytes[r] = (int32_t)cd.bytes;
		c->quality[r] = (int8_t)cd.quality;
		c->side[r] = (uint8_t)cd.side;
		st = EV_OK;
	}
	ff_image_free(&cd.face);
	return st;
}

static void process_image(struct ev_worker *w, const struct ev_job *job, size_t i)
{
	const struct ev_config *cfg = job->cfg;
	struct ev_cache *c = job->cache;
	ff_image crop = FF_IMAGE_EMPTY;
	size_t row = i * (size_t)c->n_methods;
	int st = get_crop(w, cfg, job->names[i], &crop);

	w->rgb_bytes = 0; /* a new crop: nothing decoded yet */
	for (int m = 0; m < cfg->n_methods; m++) {
		float *emb = c->emb + (row + (size_t)m) * c->dim;
		int s = st;
		if (job->loaded[m])
			continue;
		if (st == EV_OK) {
			switch (cfg->methods[m].kind) {
			case EV_ORIGINAL:
				s = ff_embed_image(w->m.emb, &crop, emb, c->dim) == FF_OK ? EV_OK
											 : EV_FAILED;
				c->bytes[row + (size_t)m] = EV_FACE * EV_FACE * 3;
				break;
			case EV_VQ:
				s = run_vq(w, cfg, &crop, !cfg->methods[m].no_adapter, emb, c->dim,
					   &c->bytes[row + (size_t)m]);
				break;
			case EV_CODEC:
				s = run_codec(w, &crop, &cfg->methods[m], emb, c, row + (size_t)m);
				break;
			}
		}
		if (s == EV_FAILED) /* named: the summary only counts them */
			fprintf(stderr, "fleet-eval: %s: method %s failed\n", job->names[i],
				cfg->methods[m].name);
		c->status[row + (size_t)m] = (uint8_t)s;
	}
	ff_image_free(&crop);
}

/* The decoder's own embedder, when it has one: MobileFaceNet with the
 * weight patch next to the decoder (ff_vq_recon_embedder_path). */
static int open_recon_embedder(struct ev_worker *w, const struct ev_config *cfg,
			       const char *models, const char *dec_path, char *why, size_t wlen)
{
	ff_nn_options nnopt = FF_NN_OPTIONS_INIT;
	nnopt.int8 = (cfg->int8 & EV_INT8_EMB) != 0;
	char base[4200];
	int rc;
	snprintf(base, sizeof(base), "%s/mobilefacenet.ffn", models);
	rc = ff_vq_recon_embedder_open(dec_path, base, ff_embedder_dim(w->m.emb), &nnopt,
				       &w->recon_emb, why, wlen);
	return rc == FF_ERR_NOTFOUND ? FF_OK : rc;
}

static int worker_open(struct ev_worker *w, const struct ev_config *cfg, const char *models)
{
	ff_nn_options nnopt = FF_NN_OPTIONS_INIT;
	char path[4200], why[512] = "";
	int rc;

	if ((rc = fe_models_open(models, !cfg->aligned, &cfg->dopt, &w->m)) != FF_OK)
		return rc;
	if (!has_vq(cfg))
		return FF_OK;
	snprintf(path, sizeof(path), "%s.enc.ffn", cfg->vq_prefix);
	nnopt.int8 = (cfg->int8 & EV_INT8_ENC) != 0;
	rc = ff_vq_encoder_create(path, &nnopt, &w->enc, why, sizeof(why));
	if (rc == FF_OK) {
		snprintf(path, sizeof(path), "%s.dec.ffn", cfg->vq_prefix);
		nnopt.int8 = (cfg->int8 & EV_INT8_DEC) != 0;
		rc = ff_vq_decoder_create(path, &nnopt, &w->dec, why, sizeof(why));
	}
	if (rc == FF_OK &&
	    memcmp(ff_vq_encoder_info(w->enc), ff_vq_decoder_info(w->dec), sizeof(ff_vq_info))) {
		rc = FF_ERR_FORMAT;
		snprintf(why, sizeof(why), "encoder and decoder metadata differ");
	}
	if (rc == FF_OK && open_recon_embedder(w, cfg, models, path, why, sizeof(why)) != FF_OK)
		rc = FF_ERR_FORMAT;
	if (rc == FF_OK && (rc = ff_entropy_table_open(path, ff_vq_encoder_info(w->enc), &w->ent,
						       why, sizeof(why))) == FF_ERR_NOTFOUND)
		/* no tables: fine for packed codes, not for a model sent coded only */
		rc = ff_vq_coded_only(ff_vq_encoder_info(w->enc)) ? FF_ERR_NOTFOUND : FF_OK;
	if (rc == FF_OK && ff_vq_adapter_dim(w->dec) &&
	    ff_vq_adapter_dim(w->dec) != ff_embedder_dim(w->m.emb)) {
		rc = FF_ERR_FORMAT;
		snprintf(why, sizeof(why), "embed_adapter is %zu-d, the embedder %zu-d",
			 ff_vq_adapter_dim(w->dec), ff_embedder_dim(w->m.emb));
	}
	if (rc != FF_OK) {
		char q[600];
		ff_log(FF_LOG_ERROR, "eval", "event=vq_model_failed path=%s err=%s reason=%s", path,
		       ff_strerror(rc), ff_log_quote(q, sizeof(q), why));
	}
	return rc;
}

static void worker_close(struct ev_worker *w)
{
	fe_models_close(&w->m);
	ff_vq_encoder_free(w->enc);
	ff_vq_decoder_free(w->dec);
	ff_embedder_free(w->recon_emb);
	ff_entropy_table_free(w->ent);
}

static void *worker(void *arg)
{
	struct ev_job *job = arg;
	struct ev_worker *w = calloc(1, sizeof(*w));
	char dir[4096];

	if (!w || worker_open(w, job->cfg, fe_models_dir(job->cfg->models, dir, sizeof(dir)))) {
		pthread_mutex_lock(&job->lock);
		job->failed_models = 1;
		job->next = job->cache->n; /* stop the others */
		pthread_mutex_unlock(&job->lock);
		goto out;
	}
	if (job->cache->model_id[0] == '\0' && w->enc) {
		pthread_mutex_lock(&job->lock);
		snprintf(job->cache->model_id, sizeof(job->cache->model_id), "%s",
			 ff_vq_encoder_info(w->enc)->model_id);
		job->cache->vq_bytes = ff_bitpack_size(ff_vq_encoder_info(w->enc)->num_codes,
						       ff_vq_encoder_info(w->enc)->bits_per_index);
		pthread_mutex_unlock(&job->lock);
	}
	for (;;) {
		size_t i;
		pthread_mutex_lock(&job->lock);
		i = job->next < job->cache->n ? job->next++ : job->cache->n;
		pthread_mutex_unlock(&job->lock);
		if (i >= job->cache->n)
			break;
		process_image(w, job, i);
		pthread_mutex_lock(&job->lock);
		job->done++;
		pthread_mutex_unlock(&job->lock);
	}
out:
	if (w)
		worker_close(w);
	free(w);
	pthread_mutex_lock(&job->lock);
	job->active--;
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A bar redrawn in place on a terminal; otherwise a line per 10%. */
static void progress(size_t done, size_t n, double elapsed)
{
	static size_t last_decile = (size_t)-1;
	const int width = 30;
	int fill = n ? (int)((double)width * (double)done / (double)n) : width;
	double rate = elapsed > 0 ? (double)done / elapsed : 0;
	double eta = rate > 0 ? (double)(n - done) / rate : 0;

	int tty = isatty(fileno(stderr));
	size_t decile = n ? done * 10 / n : 10;

	if (!tty && decile == last_decile)
		return;
	last_decile = decile;
	fprintf(stderr, "%s[%.*s%*s] %zu/%zu images %.1f/s ETA %dm%02ds%s", tty ? "\r" : "", fill,
		"##############################", width - fill, "", done, n, rate,
		(int)eta / 60, (int)eta % 60, tty ? " " : "\n");
	fflush(stderr);
}

/* Starts cfg->threads workers on job and waits for them, drawing the
 * progress bar. Returns FF_OK, or FF_ERR_NOTFOUND when the models failed. */
static int run_workers(struct ev_job *job, double t0)
{
	pthread_t tids[64];
	int started = 0, active;

	for (; started < job->cfg->threads && started < 64; started++) {
		pthread_mutex_lock(&job->lock);
		job->active++;
		pthread_mutex_unlock(&job->lock);
		if (pthread_create(&tids[started], NULL, worker, job) != 0) {
			pthread_mutex_lock(&job->lock);
			job->active--;
			pthread_mutex_unlock(&job->lock);
			break;
		}
	}
	do {
		size_t done;
		usleep(250000);
		pthread_mutex_lock(&job->lock);
		done = job->done;
		active = job->active;
		pthread_mutex_unlock(&job->lock);
		progress(done, job->cache->n, now_s() - t0);
	} while (active > 0);
	if (isatty(fileno(stderr)))
		fputc('\n', stderr);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	return job->failed_models || started == 0 ? FF_ERR_NOTFOUND : FF_OK;
}

/* --cache: the columns already on disk; returns how many are left to compute. */
static int load_columns(const struct ev_config *cfg, char *const *names, struct ev_cache *c,
			int *loaded)
{
	int todo = 0;

	for (int m = 0; m < cfg->n_methods; m++) {
		loaded[m] = cfg->cache_dir && ev_store_load(cfg, m, names, c) == FF_OK;
		todo += !loaded[m];
	}
	if (cfg->cache_dir)
		fprintf(stderr, "cache: %d of %d methods read from %s\n", cfg->n_methods - todo,
			cfg->n_methods, cfg->cache_dir);
	return todo;
}

static void save_columns(const struct ev_config *cfg, char *const *names, struct ev_cache *c,
			 const int *loaded)
{
	for (int m = 0; cfg->cache_dir && m < cfg->n_methods; m++)
		if (!loaded[m] && ev_store_save(cfg, m, names, c) != FF_OK)
			ff_log(FF_LOG_WARN, "eval", "event=cache_save_failed dir=%s method=%s",
			       cfg->cache_dir, cfg->methods[m].name);
}

static int cache_alloc(struct ev_cache *cache, const struct ev_config *cfg, size_t n)
{
	size_t rows = n * (size_t)cfg->n_methods;
	struct fe_models m;
	char dir[4096];

	memset(cache, 0, sizeof(*cache));
	cache->n = n;
	cache->n_methods = cfg->n_methods;
	/* the embedding size, from a first embedder */
	if (fe_models_open(fe_models_dir(cfg->models, dir, sizeof(dir)), 0, NULL, &m) != FF_OK)
		return FF_ERR_NOTFOUND;
	cache->dim = ff_embedder_dim(m.emb);
	fe_models_close(&m);
	if (cache->dim == 0 || cache->dim > EV_MAX_DIM)
		return FF_ERR_RANGE;
	cache->emb = calloc(rows ? rows : 1, cache->dim * sizeof(float));
	cache->status = malloc(rows ? rows : 1);
	cache->bytes = calloc(rows ? rows : 1, sizeof(int32_t));
	cache->quality = calloc(rows ? rows : 1, 1);
	cache->side = calloc(rows ? rows : 1, 1);
	if (!cache->emb || !cache->status || !cache->bytes || !cache->quality || !cache->side) {
		ev_cache_free(cache);
		return FF_ERR_NOMEM;
	}
	memset(cache->status, EV_PENDING, rows);
	return FF_OK;
}

int ev_embed_all(const struct ev_config *cfg, char *const *names, size_t n,
		 struct ev_cache *cache)
{
	struct ev_job job;
	double t0 = now_s();
	int rc;

	if ((rc = cache_alloc(cache, cfg, n)) != FF_OK)
		return rc;
	memset(&job, 0, sizeof(job));
	job.cfg = cfg;
	job.names = names;
	job.cache = cache;
	/* all columns on disk: the workers only open the models (the VQ model id) */
	if (load_columns(cfg, names, cache, job.loaded) == 0)
		job.next = job.done = n;
	pthread_mutex_init(&job.lock, NULL);
	rc = run_workers(&job, t0);
	pthread_mutex_destroy(&job.lock);
	cache->seconds = now_s() - t0;
	if (rc != FF_OK) {
		ev_cache_free(cache);
		return rc;
	}
	save_columns(cfg, names, cache, job.loaded);
	return FF_OK;
}

void ev_cache_free(struct ev_cache *cache)
{
	free(cache->emb);
	free(cache->status);
	free(cache->bytes);
	free(cache->quality);
	free(cache->side);
	cache->side = NULL;
	cache->emb = NULL;
	cache->status = NULL;
	cache->bytes = NULL;
	cache->quality = NULL;
}

void ev_method_stats(const struct ev_config *cfg, const struct ev_cache *c, int m,
		     struct ev_method_stats *st)
{
	double bytes = 0, q = 0, side = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < c->n; i++) {
		size_t r = i * (size_t)c->n_methods + (size_t)m;
		switch (c->status[r]) {
		case EV_OK:
			st->ok++;
			bytes += c->bytes[r];
			q += c->quality[r];
			side += c->side[r];
			break;
		case EV_NO_FACE:
			st->no_face++;
			break;
		case EV_UNREPRESENTABLE:
			st->unrepresentable++;
			break;
		default:
			st->failed++;
		}
	}
	st->bytes_mean = st->ok ? bytes / (double)st->ok : 0;
	if (st->ok && cfg->methods[m].kind == EV_CODEC) {
		st->quality_mean = q / (double)st->ok;
		st->side_mean = side / (double)st->ok;
	}
}

cJSON *ev_json_method(cJSON *methods, const struct ev_config *cfg, const struct ev_cache *c, int m)
{
	struct ev_method_stats st;
	const struct ev_method *me = &cfg->methods[m];
	cJSON *o = cJSON_AddObjectToObject(methods, me->name);

	ev_method_stats(cfg, c, m, &st);
	if (st.ok)
		fe_json_num(o, "bytes_per_face", st.bytes_mean, 1, 'f');
	else
		cJSON_AddNullToObject(o, "bytes_per_face");
	if (me->kind == EV_CODEC) {
		cJSON_AddStringToObject(o, "codec", me->codec->name);
		cJSON_AddNumberToObject(o, "byte_budget", me->budget);
		cJSON_AddNumberToObject(o, "fixed_side", me->side);
		fe_json_num(o, "quality_mean", st.quality_mean, 2, 'f');
		fe_json_num(o, "side_mean", st.side_mean, 1, 'f');
		cJSON_AddBoolToObject(o, "representable", !st.unrepresentable);
	}
	cJSON_AddNumberToObject(o, "images_ok", (double)st.ok);
	cJSON_AddNumberToObject(o, "no_face", (double)st.no_face);
	cJSON_AddNumberToObject(o, "not_representable", (double)st.unrepresentable);
	cJSON_AddNumberToObject(o, "failed", (double)st.failed);
	return o;
}

cJSON *ev_json_begin(const char *command, const struct ev_config *cfg, const struct ev_cache *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "command", command);
	cJSON_AddNumberToObject(o, "images", (double)c->n);
	cJSON_AddBoolToObject(o, "aligned", cfg->aligned);
	if (c->model_id[0])
		cJSON_AddStringToObject(o, "vq_model", c->model_id);
	else
		cJSON_AddNullToObject(o, "vq_model");
	if (cfg->enrol >= 0)
		cJSON_AddStringToObject(o, "enrol", cfg->methods[cfg->enrol].name);
	else
		cJSON_AddNullToObject(o, "enrol");
	cJSON_AddNumberToObject(o, "threads", cfg->threads);
	if (cfg->int8) {
		cJSON *q = cJSON_AddArrayToObject(o, "int8");
		static const char *const names[] = { "enc", "dec", "emb" };
		for (unsigned k = 0; k < 3; k++)
			if (cfg->int8 & (1u << k))
				cJSON_AddItemToArray(q, cJSON_CreateString(names[k]));
	}
	fe_json_num(o, "seconds", c->seconds, 1, 'f');
	return o;
}

void ev_print_enrol(const struct ev_config *cfg, const char *enrolled, const char *other)
{
	const char *e = cfg->enrol >= 0 ? cfg->methods[cfg->enrol].name : NULL;

	if (e)
		printf("enrol %s: %s embedded with %s, %s with each row's method\n", e, enrolled, e,
		       other);
}

int ev_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ev_print_method_notes(const struct ev_config *cfg, const struct ev_cache *c)
{
	struct ev_method_stats st;

	for (int m = 0; m < cfg->n_methods; m++) {
		ev_method_stats(cfg, c, m, &st);
		if (st.unrepresentable)
			printf("%-10s not representable for %zu/%zu images: even the lowest quality is over "
			       "%d bytes\n",
			       cfg->methods[m].name, st.unrepresentable, c->n, cfg->methods[m].budget);
		if (st.no_face || st.failed)
			printf("%-10s no face in %zu, failed on %zu of %zu images\n",
			       cfg->methods[m].name, st.no_face, st.failed, c->n);
	}
}


/* Appends a strdup of s to the growing array *v. Returns FF_OK or FF_ERR_NOMEM. */
static int push_name(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		char **nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return FF_ERR_NOMEM;
		*v = nv;
		*cap = nc;
	}
	if (!((*v)[*n] = strdup(s)))
		return FF_ERR_NOMEM;
	(*n)++;
	return FF_OK;
}

void ev_free_names(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Appends "person/file" for each .jpg or .png file of dir/person. */
static int list_person(const char *dir, const char *person, char ***v, size_t *n, size_t *cap)
{
	char path[4096];
	struct dirent *f;
	DIR *pd;
	int rc = FF_OK;

	snprintf(path, sizeof(path), "%s/%s", dir, person);
	if (!(pd = opendir(path)))
		return FF_OK; /* not a folder */
	while (rc == FF_OK && (f = readdir(pd)) != NULL) {
		size_t len = strlen(f->d_name);
		if (f->d_name[0] == '.' || len < 5 ||
		    (strcmp(f->d_name + len - 4, ".jpg") != 0 && strcmp(f->d_name + len - 4, ".png") != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", person, f->d_name);
		rc = push_name(v, n, cap, path);
	}
	closedir(pd);
	return rc;
}

int ev_list_images(const char *dir, char ***out, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = FF_OK;

	*out = NULL;
	*count = 0;
	if (!d)
		return FF_ERR_IO;
	while (rc == FF_OK && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			rc = list_person(dir, e->d_name, &v, &n, &cap);
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), ev_cmp_str);
	*out = v;
	*count = n;
	return rc != FF_OK ? rc : n ? FF_OK : FF_ERR_NOTFOUND;
}

int ev_read_people(const char *path, char ***out, size_t *count)
{
	FILE *f = fopen(path, "r");
	char line[1024], name[256];
	char **v = NULL;
	size_t n = 0, cap = 0;
	long want = -1;
	int rc = FF_OK, imgs;

	*out = NULL;
	*count = 0;
	if (!f)
		return FF_ERR_IO;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%ld", &want) != 1)
		rc = FF_ERR_FORMAT;
	while (rc == FF_OK && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %d", name, &imgs) == 2)
			rc = push_name(&v, &n, &cap, name);
	fclose(f);
	if (rc == FF_OK && (n == 0 || (long)n != want))
		rc = FF_ERR_FORMAT; /* a truncated or foreign file would exclude too little */
	if (rc != FF_OK) {
		ev_free_names(v, n);
		return rc;
	}
	qsort(v, n, sizeof(*v), ev_cmp_str);
	*out = v;
	*count = n;
	return FF_OK;
}

int ev_same_person(const char *a, const char *b)
{
	const char *sa = strchr(a, '/'), *sb = strchr(b, '/');

	return sa && sb && sa - a == sb - b && strncmp(a, b, (size_t)(sa - a)) == 0;
}

static int cmp_double_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? 1 : a > b ? -1 : 0;
}

double ev_threshold_at_far(double *neg, size_t n, double far)
{
	long k = (long)floor((double)n * far) - 1;

	if (n == 0)
		return 1;
	qsort(neg, n, sizeof(*neg), cmp_double_desc);
	return neg[k < 0 ? 0 : k];
}

int ev_embed_and_report(const struct ev_config *cfg, const char *what, ev_report_fn report)
{
	struct ev_cache cache;
	char **names = NULL;
	size_t n = 0, all = 0;
	int rc = FF_EXIT_FAIL;

	if (ev_list_images(cfg->images, &names, &all) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=images_failed dir=%s", cfg->images);
		goto out;
	}
	n = cfg->limit && (size_t)cfg->limit < all ? (size_t)cfg->limit : all;
	fprintf(stderr, "%s: %zu images, %d methods, %d threads\n", what, n, cfg->n_methods,
		cfg->threads);
	if (ev_embed_all(cfg, names, n, &cache) != FF_OK)
		goto out;
	rc = report(cfg, &cache, names, n);
	ev_cache_free(&cache);
out:
	ev_free_names(names, all);
	return rc;
}

int ev_run_images(int argc, char **argv, void (*usage)(FILE *), const char *what,
		  ev_report_fn report)
{
	struct ev_config cfg;
	int rc = ev_parse_args(&cfg, argc, argv, NULL, 0, usage);

	return rc >= 0 ? rc : ev_embed_and_report(&cfg, what, report);
}
