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
"usage: pagescan PID [options]           what each mapping holds (default)\n"
"       pagescan PID... | --all | --name NAME\n"
"                                        one row per process\n"
"       pagescan regions PID [options]   the scan itself, region by region\n"
"       pagescan map PID [options]       the address space as a picture\n"
"       pagescan watch PID [options]     how the mappings change over time\n"
"       pagescan diff A.json B.json      what changed between two --json runs\n"
"       pagescan features [--json]       what this kernel can report\n"
"       pagescan export [PID...]         Prometheus metrics (a .prom file)\n"
"       pagescan serve --listen ADDR:PORT  the same over HTTP (/metrics)\n"
"       pagescan COMMAND --help          the options of COMMAND\n"
"\n"
"Every command takes --json (schema \"" JSON_SCHEMA "\", see pagescan(1)) but\n"
"export and serve.\n"
"\n%s", exit_help);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "summary", cmd_summary },
	{ "regions", cmd_regions },
	{ "map", cmd_map },
	{ "watch", cmd_watch },
	{ "diff", cmd_diff },
	{ "features", cmd_features },
	{ "export", cmd_export },
	{ "serve", cmd_serve },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char *const cmd_names[] = {
	"summary", "regions", "map", "watch", "diff", "features", "export",
	"serve", "help",
	NULL,
};

static int find(const char *s)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(s, cmds[i].name))
			return (int)i;
	return -1;
}

/* Neither a command, a number nor an option: say so, and what was meant. */
static int unknown(const char *s)
{
	const char *near = nearest(s, cmd_names);
	struct obuf o = { 0 };

	ob_text(&o, s);
	if (!o.buf)
		ob_puts(&o, "");
	if (near)
		err_msg("unknown command '%s'; did you mean '%s'? (pagescan "
			"--help lists the commands)", o.buf, near);
	else
		err_msg("unknown command '%s' (pagescan --help lists the "
			"commands; a PID is a decimal number)", o.buf);
	ob_free(&o);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	const char *a;
	int i;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
		/* "pagescan help map" is "pagescan map --help". */
		if (argc == 3 && !strcmp(a, "help") && find(argv[2]) >= 0) {
			char *sub[] = { argv[2], (char *)"--help", NULL };

			return cmds[find(argv[2])].fn(2, sub);
		}
		if (argc == 3 && !strcmp(a, "help"))
			return unknown(argv[2]);
		if (argc > 2) {
			struct obuf o = { 0 };

			ob_text(&o, argv[2]);
			err_msg("%s takes nothing else, not '%s' (try pagescan "
				"COMMAND --help)", a, o.buf);
			ob_free(&o);
			return EX_USAGE;
		}
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
		if (argc > 2) {
			err_msg("%s takes no arguments", a);
			return EX_USAGE;
		}
		printf("pagescan (libpagescan %d.%d), JSON schema %s\n",
		       pagescan_version_major(), pagescan_version_minor(),
		       JSON_SCHEMA);
		return EX_OK;
	}
	i = find(a);
	if (i >= 0)
		return cmds[i].fn(argc - 1, argv + 1);
	/* "pagescan PID ..." and "pagescan --all ...": the summary. */
	if (!a[0] || a[0] == '-' || (a[0] >= '0' && a[0] <= '9') ||
	    a[0] == ' ' || a[0] == '+')
		return cmd_summary(argc, argv);
	return unknown(a);
}
