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
	int ort;                       /* run the ONNX Runtime side */
	const char *ort_dir, *ort_lib; /* its bundle (ort_export.py) and libonnxruntime.so */
	int int8;                      /* also time our nets in int8 (lib/nn, .q8 ranges) */
	int as_written;                /* also our float nets as the files have them (no rewrites) */
};

/* One side's figures: st[index into opts.threads][stage]. */
struct fb_side {
	struct fb_stat st[FB_MAX_THREADS][FB_NSTAGES];
	double peak_rss_mb;
};

/* Median and p90 (linear interpolation, as numpy's percentile) of n samples (sorts v). */
struct fb_stat fb_stat_of(double *v, int n);

/* The ONNX Runtime side (ort_side.c): figures, and the agreement of our nets'
 * outputs with ORT's and with the frozen PyTorch graphs' on the same inputs
 * (minimum cosine per stage; 2 where the stage had no call). */
struct fb_ort_result {
	struct fb_side side; /* peak_rss_mb: VmHWM over the RSS before ORT, same process */
	double vs_ort[FB_NSTAGES], vs_torch[FB_NSTAGES];
	char version[32];
	char why[512]; /* when not available or failed */
	int available;
};

/* Runs the ORT side of o (o->ort_dir's bundle, o->ort_lib) for each thread
 * count; vq_id is the C side's VQ model_id. Returns 0 (res->available says
 * whether it ran; when not, res->why says why: no library, no bundle, a bundle
 * for other inputs) or -1 (it failed while running; res->why). */
int fb_ort_run(const struct fb_opts *o, const char *models_dir, const char *vq_id, int nfull,
	       int nal, struct fb_ort_result *res);

/* Runs `python script --models M --faces F --runs R --warmup W --threads T
 * --engine E [--vq-model PREFIX]` (from o), echoes its output to stderr and reads its
 * "result ..." lines: every stage (the vq ones only with o->vq) for each
 * thread count. Returns 0, or -1 (cannot start, failed, or a figure missing;
 * a reason is on stderr). */
int fb_torch_run(const struct fb_opts *o, struct fb_side *out);

#endif
