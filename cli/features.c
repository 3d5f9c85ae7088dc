// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan features: the library's probe table, with reasons.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
/*
 * The last column, a sentence: wrapped under itself, or from the next
 * line when the terminal leaves it less than 30 columns.
 */
static void reason_text(struct obuf *o, const char *reason, int col)
{
	bool narrow = term_width() - col < 30;

	/* No blanks before a line's end. */
	while ((narrow || !reason || !*reason) && o->len &&
	       o->buf[o->len - 1] == ' ')
		o->buf[--o->len] = '\0';
	if (!reason || !*reason) {
		ob_puts(o, "\n");
		return;
	}
	if (narrow) {
		ob_puts(o, "\n");
		ob_wrap(o, reason, 4);
	} else {
		ob_wrap_from(o, reason, col, col);
	}
}

static void write_watch_text(struct obuf *o)
{
	int b;

	ob_printf(o, "\n%-22s %-7s %s\n", "WRITE-WATCH BACKEND", "USABLE",
		  "REASON");
	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++) {
		const char *reason = NULL;
		int ret = pagescan_watch_available(b, &reason);

		ob_printf(o, "%-22s %-7s ",
			  pagescan_watch_backend_name(b),
			  ret == 1 ? "yes" : ret == 0 ? "no" : "unknown");
		reason_text(o, reason, 31);
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

/*
 * A bad PAGESCAN_BACKEND or PAGESCAN_WATCH_BACKEND makes every handle or
 * watch fail: say so in one line naming the variable and the values it
 * takes, as the library words it (or, where it says nothing, we do).
 */
static int check_env(void)
{
	const char *e = getenv("PAGESCAN_WATCH_BACKEND");
	struct pagescan_watch *w;
	struct pagescan *ps;
	int ret;

	ret = pagescan_open(0, NULL, &ps);
	if (ret == -EINVAL) {
		err_msg("%s", lib_error(EINVAL));
		return EX_USAGE;
	}
	if (!ret)
		pagescan_close(ps);
	if (e && *e) {
		long psz = sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return EX_OK;
		ret = pagescan_watch_register(p, (size_t)psz, NULL, &w);
		if (!ret)
			pagescan_watch_unregister(w);
		munmap(p, (size_t)psz);
		if (ret == -EINVAL) {
			const char *m = pagescan_last_error();
			char vals[200] = "auto";
			struct obuf o = { 0 };
			int b;

			for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
				strcat(vals, ", ");
				strcat(vals, pagescan_watch_backend_name(b));
			}
			ob_text(&o, e);
			if (m)
				err_msg("%s", m);
			else
				err_msg("PAGESCAN_WATCH_BACKEND=%.40s: not one "
					"of %s", o.buf, vals);
			ob_free(&o);
			return EX_USAGE;
		}
	}
	return EX_OK;
}


/*
 * "kernel RELEASE, libpagescan M.N", on two lines where one does not fit
 * the width (a distribution's release string: "6.12.117+deb13-amd64" is
 * 44 columns with the rest), the release cut to fit where even "kernel
 * RELEASE" does not.
 */
static void head_line(struct obuf *o)
{
	const char *rel = kernel_release();
	int w = term_width(), len = (int)strlen(rel);
	char ver[32];

	snprintf(ver, sizeof(ver), "libpagescan %d.%d",
		 pagescan_version_major(), pagescan_version_minor());
	if (7 + len + 2 + (int)strlen(ver) <= w) {
		ob_printf(o, "kernel %s, %s\n", rel, ver);
		return;
	}
	if (7 + len > w && w > 10)
		ob_printf(o, "kernel %.*s...\n", w - 10, rel);
	else
		ob_printf(o, "kernel %s\n", rel);
	ob_printf(o, "%s\n", ver);
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
			if (help_alone(argc, argv, "features"))
				return EX_USAGE;
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
	ret = check_env();
	if (ret)
		return ret;
	if (json) {
		json_head(&o, "features");
		ob_puts(&o, ",\"features\":[");
	} else {
		head_line(&o);
		ob_printf(&o, "%-20s %-7s %-11s%s\n", "FEATURE", "PRESENT",
			  "SUPPORT", term_width() - 41 < 30 ? "" : " REASON");
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
			ob_printf(&o, "%-20s %-7s %-11s ", fi.name,
				  fi.present == 1 ? "yes" : fi.present == 0 ?
				  "no" : "unknown", sup);
			reason_text(&o, fi.reason, 41);
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
