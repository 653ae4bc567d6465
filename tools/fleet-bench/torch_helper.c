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

int fb_torch_run(const char *python, const char *script, const char *models, const char *faces,
		 int runs, int warmup, const int *threads, int nthreads, struct fb_torch *out)
{
	char s_runs[16], s_warm[16], s_thr[64] = "", line[1024];
	int fd[2], status, got = 0, rc = -1;
	FILE *f;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	snprintf(s_runs, sizeof(s_runs), "%d", runs);
	snprintf(s_warm, sizeof(s_warm), "%d", warmup);
	for (int i = 0; i < nthreads; i++)
		snprintf(s_thr + strlen(s_thr), sizeof(s_thr) - strlen(s_thr), "%s%d", i ? "," : "",
			 threads[i]);
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
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execl(python, python, script, "--models", models, "--faces", faces, "--runs", s_runs,
		      "--warmup", s_warm, "--threads", s_thr, (char *)NULL);
		perror("fleet-bench: exec python");
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f) {
		close(fd[0]);
		waitpid(pid, &status, 0);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		int t, k, dn, en;
		double dm, dp, em, ep, rss;

		fprintf(stderr, "  torch| %s", line);
		if (sscanf(line, "result threads=%d detect_median=%lf detect_p90=%lf embed_median=%lf "
				 "embed_p90=%lf detect_n=%d embed_n=%d", &t, &dm, &dp, &em, &ep, &dn,
			   &en) == 7 &&
		    (k = find_threads(threads, nthreads, t)) >= 0) {
			out->detect[k] = (struct fb_stat){ dm, dp, dn };
			out->embed[k] = (struct fb_stat){ em, ep, en };
			got++;
		} else if (sscanf(line, "result peak_rss_mb=%lf", &rss) == 1) {
			out->peak_rss_mb = rss;
		}
	}
	fclose(f);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    got == nthreads)
		rc = 0;
	else
		fprintf(stderr, "fleet-bench: PyTorch helper %s failed or gave %d of %d results\n",
			script, got, nthreads);
	return rc;
}
