/* fleet-bench: shared declarations (C timing in fleet_bench.c, the PyTorch
 * helper process in torch_helper.c). */
#ifndef FLEET_BENCH_H
#define FLEET_BENCH_H

#define FB_EXIT_OK 0
#define FB_EXIT_FAIL 1
#define FB_EXIT_USAGE 2
#define FB_MAX_THREADS 2 /* entries in a --threads list */

struct fb_stat {
	double median, p90;
	int n;
};

/* Figures of the PyTorch helper (tools/fleet-bench/torch_bench.py). */
struct fb_torch {
	struct fb_stat detect[FB_MAX_THREADS], embed[FB_MAX_THREADS];
	double peak_rss_mb;
};

/* Runs `python script --models M --faces F --runs R --warmup W --threads T`,
 * echoes its output to stderr and reads its "result ..." lines for each of the
 * nthreads thread counts. Returns 0, or -1 (cannot start, failed, or a figure
 * missing; a reason is on stderr). */
int fb_torch_run(const char *python, const char *script, const char *models, const char *faces,
		 int runs, int warmup, const int *threads, int nthreads, struct fb_torch *out);

#endif
