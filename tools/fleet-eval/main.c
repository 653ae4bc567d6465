/* fleet-eval: evaluation and inspection commands for facefleet.
 * Each subcommand lives in its own cmd_<name>.c; add it to the table. */
#include <stdio.h>
#include <string.h>

#include "facefleet/config.h"
#include "fleet_eval.h"

static const struct fe_command commands[] = {
	{ "embed", "detect, align and embed faces; one JSON line per face", fe_cmd_embed },
	{ "align-check", "LFW detection rate and cosine of own crops vs gold crops",
	  fe_cmd_align_check },
	{ "verify", "LFW pairs verification accuracy per method (original, vq, codecs)",
	  fe_cmd_verify },
	{ "identify", "closed-set Top-1/Top-5 identification per method", fe_cmd_identify },
	{ "openset", "open-set identification: TAR at FAR 1e-3 / 1e-2 per method", fe_cmd_openset },
	{ "multishot", "identify and open set from probes fused over K = 1, 2, 3 images",
	  fe_cmd_multishot },
	{ "codes", "VQ code indices of aligned faces (C vs PyTorch parity)", fe_cmd_codes },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fleet-eval COMMAND [OPTIONS] [ARGS]\n"
		   "       fleet-eval COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexit status: 0 success, 1 runtime failure, 2 usage error\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return FF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		ff_config_version(stdout, "fleet-eval");
		return FF_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return FF_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fleet-eval: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return FF_EXIT_USAGE;
}
