// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan features: the library's probe table, with reasons.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan features [--json]\n"
"\n"
"What this kernel (and the library's emulation) can report: the scan\n"
"itself (native PAGEMAP_SCAN ioctl, emulated from /proc/PID/pagemap, or\n"
"unavailable), each page category and flag, userfaultfd write-protect,\n"
"soft-dirty, the zero page, THP, hugetlb and guard regions, and the\n"
"write-watch backends (pagescan_watch(3)), each with the reason the\n"
"probe gave.  PAGESCAN_BACKEND=native|emulate|auto selects the\n"
"backend whose support level is shown.\n"
"\n"
"Options:\n"
"  --json          one JSON object (schema \"" JSON_SCHEMA "\")\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

/*
 * Write-watch backends (pagescan_watch(3)): dirty tracking of the calling
 * process's own memory, so what is listed is what a program using the
 * library on this machine would get, fastest first.
 */
static void write_watch_text(struct obuf *o)
{
	int b;

	ob_printf(o, "\n%-22s %-7s %s\n", "WRITE-WATCH BACKEND", "USABLE",
		  "REASON");
	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++) {
		const char *reason = NULL;
		int ret = pagescan_watch_available(b, &reason);

		ob_printf(o, "%-22s %-7s %s\n",
			  pagescan_watch_backend_name(b),
			  ret == 1 ? "yes" : ret == 0 ? "no" : "unknown",
			  reason ? reason : "");
	}
}

static void write_watch_json(struct obuf *o)
{
	int b;

	ob_puts(o, ",\"write_watch\":[");
	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++) {
		const char *reason = NULL;
		int ret = pagescan_watch_available(b, &reason);

		ob_printf(o, "%s{\"name\":\"%s\",\"available\":%s,"
			  "\"reason\":", b > PAGESCAN_WATCH_UFFD_ASYNC ? "," : "",
			  pagescan_watch_backend_name(b),
			  ret == 1 ? "true" : ret == 0 ? "false" : "null");
		ob_json_str(o, reason ? reason : "");
		ob_puts(o, "}");
	}
	ob_puts(o, "]");
}

int cmd_features(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct obuf o = { 0 };
	bool json = false;
	int c, i, n = 0, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "features");
		}
	}
	if (optind != argc) {
		err_msg("features takes no arguments");
		return EX_USAGE;
	}
	if (json) {
		json_head(&o, "features", NULL);
		ob_puts(&o, ",\"features\":[");
	} else {
		ob_printf(&o, "kernel %s, libpagescan %d.%d\n",
			  kernel_release(), pagescan_version_major(),
			  pagescan_version_minor());
		ob_printf(&o, "%-22s %-7s %-11s %s\n", "FEATURE", "PRESENT",
			  "SUPPORT", "REASON");
	}
	for (i = 0; i < PAGESCAN_FEAT__COUNT; i++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };
		const char *sup;

		if (pagescan_feature_info(i, &fi))
			continue;
		sup = pagescan_support_name(fi.support);
		if (json) {
			ob_puts(&o, n++ ? ",{\"name\":" : "{\"name\":");
			ob_json_str(&o, fi.name);
			ob_puts(&o, ",\"description\":");
			ob_json_str(&o, fi.desc ? fi.desc : "");
			ob_printf(&o, ",\"present\":%s,\"support\":\"%s\","
				  "\"reason\":", fi.present == 1 ? "true" :
				  fi.present == 0 ? "false" : "null", sup);
			ob_json_str(&o, fi.reason ? fi.reason : "");
			ob_puts(&o, "}");
		} else {
			ob_printf(&o, "%-22s %-7s %-11s %s\n", fi.name,
				  fi.present == 1 ? "yes" : fi.present == 0 ?
				  "no" : "unknown", sup,
				  fi.reason ? fi.reason : "");
		}
	}
	if (json) {
		ob_puts(&o, "]");
		write_watch_json(&o);
		ob_puts(&o, "}\n");
	} else {
		write_watch_text(&o);
	}
	ret = ob_flush(&o, stdout);
	ob_free(&o);
	return ret ? EX_FAIL : EX_OK;
}
