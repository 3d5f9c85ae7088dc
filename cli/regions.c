// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan regions PID: the scan itself, with category names.  It streams
 * through the library's iterator, so millions of regions cost constant
 * memory.  Output is held back until 1 MiB has accumulated, so an error in
 * a small scan prints nothing on stdout; a large scan that fails after
 * output began says so on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FLUSH_AT (1U << 20)

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan regions PID [options]\n"
"\n"
"The regions of process PID that match, in address order, each with its\n"
"categories.  Category names:\n"
"  wpallowed, written, file, present, swapped, pfnzero (or zero),\n"
"  huge (or thp), soft-dirty, guard\n"
"\n"
"Options:\n"
"  --require LIST    pages must have all of LIST; !NAME: must not have it\n"
"                    (e.g. --require present,!file)\n"
"  --any LIST        pages must have at least one of LIST\n"
"  --show LIST       categories to report; adjacent pages with the same\n"
"                    shown set merge.  Default: every category this\n"
"                    kernel has but written and wpallowed, which say\n"
"                    something only in memory registered for userfaultfd\n"
"                    write-protection: they are shown where the range\n"
"                    holds such memory (or when named)\n"
"  --range START-END hexadecimal addresses (END exclusive), or the name\n"
"                    (or part of it) of a mapping: all its mappings\n"
"  --max-pages N     stop after N pages\n"
"  --raw             categories exactly as the kernel reports them (a\n"
"                    guard page is also swapped and written there)\n"
"  --json            one JSON object (schema \"" JSON_SCHEMA "\")\n"
"  -h, --help        this text\n"
"\n"
"Without --require or --any every page of every mapping is reported,\n"
"including pages that were never touched (categories \"-\").  A guard\n"
"page is guard, not swapped: --require swapped leaves guard pages out\n"
"unless guard is named too (as the summary's SWAP column does).\n"
"Repeated --require, --any and --show combine.\n"
"\n%s", exit_help);
}

struct ranges {
	uint64_t (*r)[2];
	size_t n;
};

struct out {
	struct obuf o;
	struct space *s;
	size_t vi;		/* mapping cursor */
	bool json, flushed, failed, raw;
	bool narrow;		/* no END column; categories unpadded */
	int width, namew;
	uint64_t nregions, npages;
};

static const char *name_at(struct out *w, uint64_t a)
{
	struct space *s = w->s;

	while (w->vi < s->n && s->m[w->vi].end <= a)
		w->vi++;
	if (w->vi < s->n && s->m[w->vi].start <= a)
		return row_label(&s->m[w->vi]);
	return "?";
}


/* @cats on lines of their own, indented 4, broken after commas. */
static void wrap_cats(struct obuf *o, const char *cats, int width)
{
	int col = width;	/* start a line first */
	const char *p = cats;

	while (*p) {
		const char *e = strchr(p, ',');
		int n = e ? (int)(e - p) + 1 : (int)strlen(p);

		if (col + n > width) {
			ob_puts(o, "\n    ");
			col = 4;
		}
		ob_putn(o, p, (size_t)n);
		col += n;
		p += n;
	}
}

static int emit(const struct pagescan_region *r, void *ctx)
{
	int catw, namew;
	struct out *w = ctx;
	uint64_t pages = (r->end - r->start) / w->s->page_size;
	const char *name = name_at(w, r->start);
	uint64_t c = r->categories;
	char cats[128];

	/* One rule with the summary: a guard marker is no swap entry. */
	if (!w->raw && (c & PAGESCAN_CAT_GUARD))
		c &= ~(PAGESCAN_CAT_SWAPPED | PAGESCAN_CAT_WRITTEN);
	if (w->json) {
		unsigned int b;
		int n = 0;

		ob_printf(&w->o, "%s\n{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
			  PRIx64 "\",\"pages\":%" PRIu64 ",\"categories\":[",
			  w->nregions ? "," : "", r->start, r->end, pages);
		for (b = 0; b < PAGESCAN_CAT_COUNT; b++)
			if (c & (UINT64_C(1) << b))
				ob_printf(&w->o, "%s\"%s\"", n++ ? "," : "",
					  pagescan_category_name(b));
		ob_puts(&w->o, "],\"mapping\":");
		ob_json_str(&w->o, name);
		ob_puts(&w->o, "}");
	} else {
		cat_names(c, cats, sizeof(cats));
		/*
		 * The categories may be wider than their 22 columns
		 * ("file,present,soft-dirty" with soft-dirty): the name
		 * gets what is left, or a line of its own.
		 */
		catw = (int)strlen(cats);
		namew = w->namew - (catw > 22 ? catw - 22 : 0);
		if (!w->narrow && namew >= 8) {
			ob_printf(&w->o, "%012" PRIx64 " %012" PRIx64 " %8"
				  PRIu64 " %-22s ", r->start, r->end, pages,
				  cats);
			ob_text_fit(&w->o, name, namew, false);
		} else if (22 + catw > w->width) {
			/* Not even the categories fit: wrapped at commas. */
			ob_printf(&w->o, "%012" PRIx64 " %8" PRIu64, r->start,
				  pages);
			wrap_cats(&w->o, cats, w->width);
			ob_puts(&w->o, "\n    ");
			ob_text_fit(&w->o, name, w->width - 4, false);
		} else {
			/*
			 * A narrow terminal: START PAGES CATEGORIES NAME,
			 * the name on a line of its own when it would get
			 * less than 12 columns.
			 */
			int left = w->width - 22 - (int)strlen(cats) - 1;

			ob_printf(&w->o, "%012" PRIx64 " %8" PRIu64 " %s",
				  r->start, pages, cats);
			if (left >= 12) {
				ob_puts(&w->o, " ");
				ob_text_fit(&w->o, name, left, false);
			} else {
				ob_puts(&w->o, "\n    ");
				ob_text_fit(&w->o, name, w->width - 4, false);
			}
		}
		ob_puts(&w->o, "\n");
	}
	w->nregions++;
	w->npages += pages;
	if (w->o.len >= FLUSH_AT) {
		if (ob_flush(&w->o, stdout)) {
			w->failed = true;
			return 1;
		}
		w->flushed = true;
	}
	return 0;
}

static int stop_at_one(const struct pagescan_region *r, void *ctx)
{
	return 1;
}

/* Unavailable categories: a clear error naming the missing feature. */
static int check_avail(uint64_t asked, uint64_t avail, const char *opt)
{
	uint64_t missing = asked & ~avail;
	struct pagescan_feature_info fi = { .sz = sizeof(fi) };
	unsigned int b;

	if (!missing)
		return 0;
	b = (unsigned int)__builtin_ctzll(missing);
	if (b == 7)
		pagescan_feature_info(PAGESCAN_FEAT_SOFT_DIRTY, &fi);
	else
		pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + b, &fi);
	err_msg("%s %s: this kernel cannot report it (%s)", opt,
		pagescan_category_name(b), fi.reason ? fi.reason : "no reason");
	return -1;
}

/*
 * Does [the ranges] hold memory registered for uffd-wp async?  Only then
 * do written and wpallowed carry information; one scan that matches only
 * such mappings (the kernel skips the others whole) tells.
 */
static bool tracked(struct space *s, const struct ranges *rg)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_mask = PAGESCAN_CAT_WPALLOWED,
		.return_mask = PAGESCAN_CAT_WPALLOWED,
		.max_pages = 1);
	struct pagescan_region v[1];
	size_t i;

	if (!(cats_meaningful() & PAGESCAN_CAT_WPALLOWED))
		return false;
	for (i = 0; i < rg->n; i++)
		if (pagescan_foreach(s->ps, rg->r[i][0], rg->r[i][1], &o,
				     stop_at_one, v) > 0)
			return true;
	return false;
}

static int parse_range(struct space *s, const char *arg, struct ranges *rg)
{
	const char *dash = strchr(arg, '-');
	uint64_t a, e;
	size_t i;

	rg->r = calloc(s->n ? s->n : 1, sizeof(*rg->r));
	if (!rg->r) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	if (dash && dash != arg) {
		char *sa = strndup(arg, (size_t)(dash - arg));
		int bad = !sa || parse_hex(sa, &a) || parse_hex(dash + 1, &e);

		free(sa);
		if (!bad && (a >= e || a % s->page_size)) {
			err_msg("bad range '%s': START must be page-aligned and "
				"below END", arg);
			return EX_USAGE;
		}
		if (!bad) {
			/*
			 * Clamp to the last mapping: beyond the user
			 * address limit the kernel answers EFAULT.
			 */
			if (s->n && e > s->m[s->n - 1].end)
				e = s->m[s->n - 1].end;
			if (a >= e)
				return EX_OK;
			rg->r[0][0] = a;
			rg->r[0][1] = e;
			rg->n = 1;
			return EX_OK;
		}
		if (arg[0] >= '0' && arg[0] <= '9') {
			err_msg("bad range '%s': expected START-END in "
				"hexadecimal, or a mapping name", arg);
			return EX_USAGE;
		}
	}
	for (i = 0; i < s->n; i++) {
		if (!strstr(row_label(&s->m[i]), arg))
			continue;
		if (rg->n && rg->r[rg->n - 1][1] == s->m[i].start) {
			rg->r[rg->n - 1][1] = s->m[i].end;
			continue;
		}
		rg->r[rg->n][0] = s->m[i].start;
		rg->r[rg->n][1] = s->m[i].end;
		rg->n++;
	}
	if (!rg->n) {
		struct obuf o = { 0 };

		ob_text(&o, arg);
		err_msg("bad range '%s': not START-END in hexadecimal, and no "
			"mapping of pid %d is named so", o.buf, (int)s->pid);
		ob_free(&o);
		return EX_USAGE;
	}
	return EX_OK;
}

int cmd_regions(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "require", required_argument, NULL, 'r' },
		{ "any", required_argument, NULL, 'a' },
		{ "show", required_argument, NULL, 's' },
		{ "range", required_argument, NULL, 'R' },
		{ "max-pages", required_argument, NULL, 'm' },
		{ "raw", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	PAGESCAN_OPTS(pagescan_scan_opts, so);
	uint64_t mask = 0, inv = 0, any = 0, show = 0, maxp = 0, avail;
	const char *range = NULL;
	bool show_set = false, seen_range = false, seen_max = false;
	struct ranges rg = { 0 };
	struct out w = { 0 };
	struct space s;
	pid_t pid;
	int c, ret;
	size_t i;

	w.s = &s;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_cats(optarg, &mask, &inv, true, "--require"))
				return EX_USAGE;
			break;
		case 'a':
			if (parse_cats(optarg, &any, NULL, false, "--any"))
				return EX_USAGE;
			break;
		case 's':
			if (parse_cats(optarg, &show, NULL, false, "--show"))
				return EX_USAGE;
			show_set = true;
			break;
		case 'R':
			if (once(&seen_range, "--range"))
				return EX_USAGE;
			range = optarg;
			break;
		case 'm':
			if (once(&seen_max, "--max-pages"))
				return EX_USAGE;
			if (parse_u64(optarg, &maxp) || !maxp) {
				struct obuf o = { 0 };

				ob_text(&o, optarg);
				err_msg("--max-pages wants a positive decimal "
					"number, not '%s'", o.buf);
				ob_free(&o);
				return EX_USAGE;
			}
			break;
		case 'w':
			w.raw = true;
			break;
		case 'j':
			w.json = true;
			break;
		case 'h':
			if (help_alone(argc, argv, "regions"))
				return EX_USAGE;
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "regions");
		}
	}
	if (pid_operand(argc, argv, &pid))
		return EX_USAGE;
	if (any & mask & inv) {
		err_msg("category '%s' is both in --any and excluded by "
			"--require", pagescan_category_name((unsigned int)
			__builtin_ctzll(any & mask & inv)));
		return EX_USAGE;
	}
	avail = cats_meaningful();
	if (check_avail(mask, avail, "--require") ||
	    check_avail(any, avail, "--any") ||
	    (show_set && check_avail(show, avail, "--show")))
		return EX_UNSUPP;
	/*
	 * A guard page is guard, not swapped (the kernel marks it both):
	 * asking for swapped pages leaves guards out unless guard is named.
	 */
	if (!w.raw && (avail & PAGESCAN_CAT_GUARD) &&
	    ((mask & ~inv) | any) & PAGESCAN_CAT_SWAPPED &&
	    !((mask | any | show) & PAGESCAN_CAT_GUARD)) {
		mask |= PAGESCAN_CAT_GUARD;
		inv |= PAGESCAN_CAT_GUARD;
	}

	ret = space_begin(&s, pid, false);
	if (ret)
		return ret;
	if (range) {
		ret = parse_range(&s, range, &rg);
	} else {
		rg.r = calloc(1, sizeof(*rg.r));
		ret = rg.r ? EX_OK : EX_FAIL;
		if (rg.r && s.n) {
			rg.r[0][0] = s.m[0].start;
			rg.r[0][1] = s.m[s.n - 1].end;
			rg.n = 1;
		}
	}
	if (ret)
		goto out;
	if (!show_set) {
		show = avail & ~(PAGESCAN_CAT_WRITTEN | PAGESCAN_CAT_WPALLOWED);
		if (tracked(&s, &rg))
			show = avail;
	}
	/* Asked for by name: shown, so that a match says why. */
	if (!show_set)
		show |= ((mask & ~inv) | any) & avail;
	w.width = term_width();
	w.namew = w.width - (12 + 1 + 12 + 1 + 8 + 1 + 22 + 1);
	w.narrow = w.namew < 14;

	if (w.json) {
		char b[128];

		json_head(&w.o, "regions");
		json_target(&w.o, &s);
		ob_printf(&w.o, ",\"require\":\"%s\"",
			  cat_names(mask & ~inv, b, sizeof(b)));
		ob_printf(&w.o, ",\"require_not\":\"%s\"",
			  cat_names(inv, b, sizeof(b)));
		ob_printf(&w.o, ",\"any\":\"%s\"", cat_names(any, b,
							     sizeof(b)));
		ob_printf(&w.o, ",\"show\":\"%s\"", cat_names(show, b,
							      sizeof(b)));
		ob_puts(&w.o, ",\"regions\":[");
	} else {
		if (show & PAGESCAN_CAT_WRITTEN)
			ob_wrap(&w.o, "written: not write-protected by "
				"userfaultfd; outside memory registered for "
				"write-protection every page is written.", 0);
		if (w.narrow)
			ob_printf(&w.o, "%-12s %8s %s\n", "START", "PAGES",
				  "CATEGORIES MAPPING");
		else
			ob_printf(&w.o, "%-12s %-12s %8s %-22s %s\n",
				  "START", "END", "PAGES", "CATEGORIES",
				  "MAPPING");
	}
	so.category_mask = mask;
	so.category_inverted = inv;
	so.category_anyof_mask = any;
	so.return_mask = show;
	ret = 0;
	for (i = 0; i < rg.n && !ret; i++) {
		if (maxp) {
			if (w.npages >= maxp)
				break;
			so.max_pages = maxp - w.npages;
		}
		w.vi = 0;
		ret = pagescan_foreach(s.ps, rg.r[i][0], rg.r[i][1], &so, emit,
				       &w);
	}
	if (ret < 0 || w.failed) {
		if (w.failed)
			err_msg("writing the output failed");
		else if (ret == -ESRCH)
			err_msg("pid %d exited during the scan%s", (int)pid,
				w.flushed ? "; the output above is incomplete"
					  : "; nothing printed");
		else
			err_msg("scan of pid %d failed: %s%s", (int)pid,
				lib_error(-ret), w.flushed ?
				"; the output above is incomplete" : "");
		ret = w.failed ? EX_FAIL : exit_code(-ret);
		goto out;
	}
	if (w.json)
		ob_printf(&w.o, "\n],\"total\":{\"regions\":%" PRIu64
			  ",\"pages\":%" PRIu64 "}}\n", w.nregions, w.npages);
	else {
		char b[32];

		ob_printf(&w.o, "%" PRIu64 " region%s, %" PRIu64
			  " pages (%s)\n", w.nregions,
			  w.nregions == 1 ? "" : "s", w.npages,
			  human(w.npages * s.page_size, b, sizeof(b)));
	}
	ret = ob_flush(&w.o, stdout) ? EX_FAIL : EX_OK;
out:
	free(rg.r);
	ob_free(&w.o);
	space_end(&s);
	return ret;
}
