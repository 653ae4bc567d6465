/* fleet-bench: shared declarations (C timing in fleet_bench.c, the PyTorch
 * helper process in torch_helper.c). */
#ifndef FLEET_BENCH_H
#define FLEET_BENCH_H

#include "facefleet/exit.h" /* FF_EXIT_OK, FF_EXIT_FAIL, FF_EXIT_USAGE */
#define FB_MAX_THREADS 2 /* entries in a --threads list */

/* The timed stages, in their order within a pass (vq_decode decodes the
 * codes vq_encode produced earlier in the same pass). */
enum fb_stage { FB_DETECT, FB_EMBED, FB_VQ_ENCODE, FB_VQ_DECODE, FB_NSTAGES };

/* Each stage's name in torch_bench.py's "result" lines and the JSON ratios. */
extern const char *const fb_stage_name[FB_NSTAGES];

struct fb_stat {
	double median, p90;
	int n; /* samples; 0: the stage did not run */
};

struct fb_opts {
	const char *faces, *models, *python, *script;
	const char *vq; /* VQ model prefix (PREFIX.enc.ffn, PREFIX.dec.ffn); NULL: no vq stages */
	int runs, warmup, torch;
	int threads[FB_MAX_THREADS], nthreads;
	const char *engine; /* torch_bench.py --engine: "frozen" (jit freeze + oneDNN) or "interp" */
};

/* One side's figures: st[index into opts.threads][stage]. */
struct fb_side {
	struct fb_stat st[FB_MAX_THREADS][FB_NSTAGES];
	double peak_rss_mb;
};

/* Runs `python script --models M --faces F --runs R --warmup W --threads T
 * --engine E [--vq-model PREFIX]` (from o), echoes its output to stderr and reads its
 * "result ..." lines: every stage (the vq ones only with o->vq) for each
 * thread count. Returns 0, or -1 (cannot start, failed, or a figure missing;
 * a reason is on stderr). */
int fb_torch_run(const struct fb_opts *o, struct fb_side *out);

#endif
