/* fleet-eval --cache DIR: one method's column of an ev_cache saved to disk,
 * so that identify, openset and verify (and each --enrol variant) on the
 * same images embed every image once per method. See eval_pipeline.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facefleet/error.h"
#include "facefleet/vq.h"
#include "eval_pipeline.h"

#define EV_STORE_MAGIC "ffevcol1"

/* FNV-1a, continued from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* The VQ model's files as they are now (size and modification time): a
 * re-exported model, a reconstruction-side embedder added next to it or new
 * rANS tables (they move rate-controlled codes) make new columns. */
static uint64_t fnv_model_files(uint64_t h, const char *prefix, int int8)
{
	static const char *const suffix[] = { ".enc.ffn", ".dec.ffn", ".emb.ffp", ".codes.ent",
					      ".enc.q8",  ".dec.q8",  ".emb.q8" };
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < (int8 ? 7u : 4u); i++) {
		snprintf(path, sizeof(path), "%s%s", prefix, suffix[i]);
		if (stat(path, &st) != 0)
			continue;
		h = fnv(h, &st.st_size, sizeof(st.st_size));
		h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
	}
	return h;
}

/* Everything a column depends on: the method, the crops (folder, aligned or
 * detector settings), the VQ model and its files for vq rows, and the image list. */
static uint64_t column_key(const struct ev_config *cfg, int m, char *const *names, size_t n)
{
	const struct ev_method *me = &cfg->methods[m];
	uint64_t h = fnv_str(14695981039346656037ull, me->name);
	char real[PATH_MAX];

	/* the folder however it was named (relative, absolute, through links) */
	h = fnv_str(h, realpath(cfg->images, real) ? real : cfg->images);
	h = fnv(h, &cfg->aligned, sizeof(cfg->aligned));
	if (!cfg->aligned)
		h = fnv(h, &cfg->dopt.min_face_size, sizeof(cfg->dopt.min_face_size));
	if (me->kind == EV_VQ) {
		/* a float column keeps its old key */
		h = fnv_model_files(fnv_str(h, cfg->vq_prefix), cfg->vq_prefix, cfg->int8 != 0);
		if (cfg->int8)
			h = fnv(h, &cfg->int8, sizeof(cfg->int8));
		if (cfg->code_bytes != FF_VQ_MAX_PAYLOAD) /* columns made before the option keep their key */
			h = fnv(h, &cfg->code_bytes, sizeof(cfg->code_bytes));
	}
	for (size_t i = 0; i < n; i++)
		h = fnv_str(h, names[i]);
	return h;
}

static void column_path(char *buf, size_t len, const struct ev_config *cfg, int m, uint64_t key)
{
	snprintf(buf, len, "%s/%s-%016llx.col", cfg->cache_dir, cfg->methods[m].name,
		 (unsigned long long)key);
}

/* One row's fields, in file order. */
static int row_io(FILE *f, struct ev_cache *c, size_t r, int write)
{
	struct {
		void *p;
		size_t size;
	} f_[] = { { &c->status[r], 1 },
		   { &c->bytes[r], sizeof(int32_t) },
		   { &c->quality[r], 1 },
		   { &c->side[r], 1 },
		   { c->emb + r * c->dim, c->dim * sizeof(float) } };

	for (size_t i = 0; i < sizeof(f_) / sizeof(f_[0]); i++)
		if ((write ? fwrite(f_[i].p, f_[i].size, 1, f) : fread(f_[i].p, f_[i].size, 1, f)) != 1)
			return -1;
	return 0;
}

int ev_store_load(const struct ev_config *cfg, int m, char *const *names, struct ev_cache *c)
{
	char path[4400], magic[8];
	uint64_t key = column_key(cfg, m, names, c->n), hdr[3];
	FILE *f;
	int rc = FF_ERR_FORMAT;

	column_path(path, sizeof(path), cfg, m, key);
	if (!(f = fopen(path, "rb")))
		return FF_ERR_NOTFOUND;
	if (fread(magic, 8, 1, f) != 1 || memcmp(magic, EV_STORE_MAGIC, 8) != 0 ||
	    fread(hdr, sizeof(hdr), 1, f) != 1 || hdr[0] != key || hdr[1] != c->n ||
	    hdr[2] != c->dim)
		goto out;
	for (size_t i = 0; i < c->n; i++)
		if (row_io(f, c, i * (size_t)c->n_methods + (size_t)m, 0) != 0)
			goto out;
	rc = FF_OK;
out:
	fclose(f);
	return rc;
}

int ev_store_save(const struct ev_config *cfg, int m, char *const *names, struct ev_cache *c)
{
	char path[4400], tmp[4500];
	uint64_t key = column_key(cfg, m, names, c->n), hdr[3] = { key, c->n, c->dim };
	FILE *f;
	int ok;

	column_path(path, sizeof(path), cfg, m, key);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "wb")))
		return FF_ERR_IO;
	ok = fwrite(EV_STORE_MAGIC, 8, 1, f) == 1 && fwrite(hdr, sizeof(hdr), 1, f) == 1;
	for (size_t i = 0; ok && i < c->n; i++)
		ok = row_io(f, c, i * (size_t)c->n_methods + (size_t)m, 1) == 0;
	ok = fclose(f) == 0 && ok;
	/* written aside then renamed: a killed run never leaves a half column */
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return FF_ERR_IO;
	}
	return FF_OK;
}
