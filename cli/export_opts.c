// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The command lines of pagescan export and pagescan serve: one parser
 * for both, as they select processes and bound cardinality alike, each
 * refusing the options that are only the other's.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static void help(FILE *f, bool serve)
{
	if (serve)
		fprintf(f,
"usage: pagescan serve --listen ADDR:PORT [PID... | --all | --name NAME]\n"
"                      [options]\n"
"\n"
"Answer GET /metrics over HTTP/1.1 with the metrics of pagescan export,\n"
"scanned anew for each request: the text format 0.0.4, or OpenMetrics 1.0\n"
"when the request's Accept header prefers it (as Prometheus does).  ADDR\n"
"is an IPv4 or [IPv6] address (0.0.0.0 or [::] for every interface);\n"
"PORT 0 takes a free port.  The address bound is printed on stdout:\n"
"\"listening on ADDR:PORT\".  SIGTERM or SIGINT stop it (exit 0).\n"
"\n");
	else
		fprintf(f,
"usage: pagescan export [PID... | --all | --name NAME] [options]\n"
"\n"
"The summary of each process (pagescan PID...) as Prometheus metrics, in\n"
"the text exposition format 0.0.4 (or OpenMetrics 1.0): on stdout, or\n"
"written atomically to FILE (a temporary file in FILE's directory,\n"
"fsync, rename) for node_exporter's textfile collector.\n"
"\n");
	fprintf(f,
"Without a PID, --all or --name: every process this user may read.\n"
"The metrics are listed in doc/metrics.md and pagescan(1).\n"
"\n"
"Options:\n"
"  --all             every process this user may read (the default)\n"
"  --name NAME       the processes called NAME (comm or program name);\n"
"                    repeated: any of them\n"
"  --filter TEXT     only processes whose comm contains TEXT; repeated\n"
"  --top N           the N processes with the most rss get their own\n"
"                    series, the rest one summed pid=\"other\" (default 20)\n"
"  --top-mappings M  per process, the M mapping groups with the most rss,\n"
"                    the rest one mapping=\"other\" (default 10; 0: none)\n");
	if (serve)
		fprintf(f,
"  --listen ADDR:PORT  where to listen (required), e.g. 127.0.0.1:9572\n"
"  --timeout SECONDS a client that has not sent its request, or read the\n"
"                    answer, within SECONDS is dropped (default 10)\n");
	else
		fprintf(f,
"  --output FILE     write FILE atomically instead of stdout (mode 0644\n"
"                    less the umask); name it *.prom for node_exporter\n"
"  --openmetrics     OpenMetrics 1.0 (ends with # EOF)\n");
	fprintf(f,
"  -h, --help        this text\n"
"\n%s", exit_help);
}

static int positive(const char *opt, const char *s, uint64_t *v, bool zero)
{
	if (!parse_u64(s, v) && (zero || *v))
		return 0;
	{
		struct obuf o = { 0 };

		ob_text(&o, s);
		err_msg("%s wants a %s decimal number, not '%s'", opt,
			zero ? "non-negative" : "positive", o.buf);
		ob_free(&o);
	}
	return -1;
}

void export_options_free(struct export_opts *eo)
{
	free(eo->so.filters);
	free(eo->so.names);
	free(eo->so.pids);
	eo->so.filters = NULL;
	eo->so.names = NULL;
	eo->so.pids = NULL;
}

int export_options(int argc, char **argv, bool serve, struct export_opts *eo)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "filter", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 't' },
		{ "top-mappings", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "openmetrics", no_argument, NULL, 'O' },
		{ "listen", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sub = serve ? "serve" : "export";
	bool seen_top = false, seen_maps = false, seen_out = false;
	bool seen_listen = false, seen_to = false;
	int c, i;

	memset(eo, 0, sizeof(*eo));
	eo->top = 20;
	eo->top_maps = 10;
	eo->timeout = 10;
	opterr = 0;
	eo->so.filters = calloc((size_t)argc, sizeof(*eo->so.filters));
	eo->so.names = calloc((size_t)argc, sizeof(*eo->so.names));
	eo->so.pids = calloc((size_t)argc, sizeof(*eo->so.pids));
	if (!eo->so.filters || !eo->so.names || !eo->so.pids) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		/* Each command takes only its own options. */
		if ((serve && (c == 'o' || c == 'O')) ||
		    (!serve && (c == 'l' || c == 'T'))) {
			err_msg("%s is an option of pagescan %s, not of %s",
				argv[optind - 1], serve ? "export" : "serve",
				sub);
			return EX_USAGE;
		}
		switch (c) {
		case 'a':
			eo->so.all = true;
			break;
		case 'n':
			eo->so.names[eo->so.nnames++] = optarg;
			break;
		case 'f':
			eo->so.filters[eo->so.nfilters++] = optarg;
			break;
		case 't':
			if (once(&seen_top, "--top") ||
			    positive("--top", optarg, &eo->top, false))
				return EX_USAGE;
			break;
		case 'm':
			if (once(&seen_maps, "--top-mappings") ||
			    positive("--top-mappings", optarg, &eo->top_maps,
				     true))
				return EX_USAGE;
			break;
		case 'o':
			if (once(&seen_out, "--output"))
				return EX_USAGE;
			if (!optarg[0]) {
				err_msg("--output wants a file name");
				return EX_USAGE;
			}
			eo->output = optarg;
			break;
		case 'O':
			eo->om = true;
			break;
		case 'l':
			if (once(&seen_listen, "--listen"))
				return EX_USAGE;
			eo->listen = optarg;
			break;
		case 'T':
			if (once(&seen_to, "--timeout"))
				return EX_USAGE;
			if (parse_seconds(optarg, &eo->timeout) ||
			    eo->timeout <= 0 || eo->timeout > 3600) {
				struct obuf o = { 0 };

				ob_text(&o, optarg);
				err_msg("--timeout wants seconds, more than 0 "
					"and at most 3600, not '%s'", o.buf);
				ob_free(&o);
				return EX_USAGE;
			}
			break;
		case 'h':
			if (help_alone(argc, argv, sub))
				return EX_USAGE;
			help(stdout, serve);
			return -1;
		default:
			return bad_option(argv, sub);
		}
	}
	for (i = optind; i < argc; i++) {
		struct sum_opts *so = &eo->so;
		size_t j;

		if (parse_pid(argv[i], &so->pids[so->npids]))
			return EX_USAGE;
		for (j = 0; j < so->npids; j++)
			if (so->pids[j] == so->pids[so->npids]) {
				err_msg("pid %d given twice", (int)so->pids[j]);
				return EX_USAGE;
			}
		so->npids++;
	}
	if (eo->so.all && (eo->so.npids || eo->so.nnames)) {
		err_msg("--all takes no PID or --name (it means every process)");
		return EX_USAGE;
	}
	if (!eo->so.npids && !eo->so.nnames)
		eo->so.all = true;
	if (serve && !eo->listen) {
		err_msg("serve needs --listen ADDR:PORT (e.g. 127.0.0.1:9572)");
		return EX_USAGE;
	}
	return EX_OK;
}
