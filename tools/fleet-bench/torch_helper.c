/* fleet-bench: runs the PyTorch helper (torch_bench.py) as a child process
 * and reads its "result key=value ..." lines. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet_bench.h"

static int find_threads(const int *threads, int n, int t)
{
	for (int i = 0; i < n; i++)
		if (threads[i] == t)
			return i;
	return -1;
}

static int find_stage(const char *name)
{
	for (int s = 0; s < FB_NSTAGES; s++)
		if (!strcmp(fb_stage_name[s], name))
			return s;
	return -1;
}

/* Child: stdout to fd, exec the helper with o's arguments. Does not return. */
static void exec_helper(const struct fb_opts *o, int fd)
{
	char s_runs[16], s_warm[16], s_thr[64] = "";
	char *argv[20];
	int k = 0;

	snprintf(s_runs, sizeof(s_runs), "%d", o->runs);
	snprintf(s_warm, sizeof(s_warm), "%d", o->warmup);
	for (int i = 0; i < o->nthreads; i++)
		snprintf(s_thr + strlen(s_thr), sizeof(s_thr) - strlen(s_thr), "%s%d", i ? "," : "",
			 o->threads[i]);
	argv[k++] = (char *)o->python;
	argv[k++] = (char *)o->script;
	argv[k++] = "--models";
	argv[k++] = (char *)o->models;
	argv[k++] = "--faces";
	argv[k++] = (char *)o->faces;
	argv[k++] = "--runs";
	argv[k++] = s_runs;
	argv[k++] = "--warmup";
	argv[k++] = s_warm;
	argv[k++] = "--threads";
	argv[k++] = s_thr;
	argv[k++] = "--engine";
	argv[k++] = (char *)o->engine;
	if (o->vq) {
		argv[k++] = "--vq-model";
		argv[k++] = (char *)o->vq;
	}
	argv[k] = NULL;
	dup2(fd, STDOUT_FILENO);
	close(fd);
	execv(o->python, argv);
	perror("fleet-bench: exec python");
	_exit(127);
}

/* Echoes f's lines to stderr and stores its "result" figures in out. */
static void read_results(const struct fb_opts *o, FILE *f, struct fb_side *out)
{
	char line[1024], stage[32];

	while (fgets(line, sizeof(line), f)) {
		struct fb_stat st;
		int t, k, s;
		double rss;

		fprintf(stderr, "  torch| %s", line);
		if (sscanf(line, "result threads=%d stage=%31s median=%lf p90=%lf n=%d", &t, stage,
			   &st.median, &st.p90, &st.n) == 5 &&
		    (k = find_threads(o->threads, o->nthreads, t)) >= 0 &&
		    (s = find_stage(stage)) >= 0)
			out->st[k][s] = st;
		else if (sscanf(line, "result peak_rss_mb=%lf", &rss) == 1)
			out->peak_rss_mb = rss;
	}
}

/* Figures expected of the helper and missing from out. */
static int missing(const struct fb_opts *o, const struct fb_side *out)
{
	int n = 0;

	for (int k = 0; k < o->nthreads; k++)
		for (int s = 0; s < (o->vq ? FB_NSTAGES : FB_VQ_ENCODE); s++)
			n += out->st[k][s].n <= 0;
	return n;
}

int fb_torch_run(const struct fb_opts *o, struct fb_side *out)
{
	int fd[2], status, rc = -1;
	FILE *f;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (pipe(fd) != 0) {
		perror("fleet-bench: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fleet-bench: fork");
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		exec_helper(o, fd[1]);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f) {
		close(fd[0]);
		waitpid(pid, &status, 0);
		return -1;
	}
	read_results(o, f, out);
	fclose(f);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    !missing(o, out))
		rc = 0;
	else
		fprintf(stderr, "fleet-bench: PyTorch helper %s failed or left %d figures out\n",
			o->script, missing(o, out));
	return rc;
}
