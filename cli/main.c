// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan: what a process's memory is doing, per mapping, per region,
 * as JSON and as a picture.  See pagescan(1).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: pagescan PID [options]           summary per mapping (default)\n"
"       pagescan regions PID [options]   the scan itself, region by region\n"
"       pagescan map PID [options]       the address space as a picture\n"
"       pagescan watch PID [options]     how the mappings change over time\n"
"       pagescan features [--json]       what this kernel can report\n"
"       pagescan COMMAND --help          the options of COMMAND\n"
"\n"
"Every command takes --json (schema \"" JSON_SCHEMA "\", see pagescan(1)).\n"
"\n%s", exit_help);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "summary", cmd_summary },
		{ "regions", cmd_regions },
		{ "map", cmd_map },
		{ "watch", cmd_watch },
		{ "features", cmd_features },
	};
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pagescan (libpagescan %d.%d)\n",
		       pagescan_version_major(), pagescan_version_minor());
		return EX_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	/* "pagescan PID ...": the summary. */
	return cmd_summary(argc, argv);
}
