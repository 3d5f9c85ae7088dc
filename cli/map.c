// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan map PID: the address space as a picture.  Mappings are laid
 * out one per row in address order, not by raw address: a 47-bit space is
 * almost all holes, and drawn to scale every library would be a speck.
 * Each mapping gets a number of cells growing with the square root of its
 * size (1 to --width), each cell coloured by the class most of its
 * populated pages belong to, dimmed when fewer than half of its pages are
 * populated.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct cls_info {
	const char *name;	/* JSON and legend */
	char ch;		/* no-colour letter (lower case: sparse) */
	int ansi;		/* ANSI background colour */
	const char *rgb;	/* SVG fill */
	const char *desc;
} cls_info[CLS__COUNT] = {
	[CLS_EMPTY] = { "empty", '.', 0, "#eeeeee", "not populated" },
	[CLS_ANON] = { "anon", 'A', 42, "#2e9d4a", "present, anonymous" },
	[CLS_FILE] = { "file", 'F', 44, "#2f6fd6", "present, file or shmem" },
	[CLS_ZERO] = { "zero", 'Z', 47, "#a0a0a0", "the shared zero page" },
	[CLS_HUGE] = { "huge", 'H', 45, "#a23bc4", "present, huge page" },
	[CLS_SWAP] = { "swapped", 'S', 43, "#e0a800", "swapped out" },
	[CLS_GUARD] = { "guard", 'G', 41, "#d23030", "guard region" },
};

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan map PID [options]\n"
"\n"
"Draws the address space of process PID: one row per mapping, in address\n"
"order, with cells growing as the square root of the mapping's size (so\n"
"that sparse 47-bit spaces stay readable).  A cell's colour is the kind\n"
"of page most of its populated pages are: anon, file (or shmem), zero,\n"
"huge, swapped, guard; a dim cell is less than half populated, '.' is\n"
"untouched.  Unmapped gaps of 1 GiB or more are shown as a line.\n"
"\n"
"Options:\n"
"  --svg FILE      also write an SVG picture with a tooltip per cell\n"
"                  (mapping, range, page counts); '-' for stdout\n"
"  --width N       at most N cells per mapping (default 64)\n"
"  --filter TEXT   only mappings whose name contains TEXT\n"
"  --color, --no-color\n"
"                  force ANSI colours on or off (default: on for a\n"
"                  terminal, off if NO_COLOR is set)\n"
"  --json          one JSON object (schema \"" JSON_SCHEMA "\") instead\n"
"                  of the text picture\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

struct row {
	struct mapping *m;
	unsigned int ncells;
	struct counts *cells;	/* ncells of them */
};

static uint64_t cell_start(const struct row *r, unsigned int j,
			   uint64_t psz)
{
	uint64_t pages = (r->m->end - r->m->start) / psz;

	return r->m->start + pages * j / r->ncells * psz;
}

/* The dominant class of a cell, and whether it is under half populated. */
static enum page_class dominant(const struct counts *c, uint64_t pages,
				bool *sparse)
{
	enum page_class best = CLS_EMPTY;
	uint64_t pop = 0;
	int k;

	/*
	 * On a tie the rarer, more telling class wins (guard over swapped
	 * over huge over zero over file over anon): four guard pages among
	 * four anonymous ones must show.
	 */
	for (k = 1; k < CLS__COUNT; k++) {
		pop += c->cls[k];
		if (c->cls[k] && c->cls[k] >= (best ? c->cls[best] : 0))
			best = (enum page_class)k;
	}
	*sparse = pop * 2 < pages;
	return best;
}

/* Cell @j of a row: its range [*a, *e), dominant class and sparseness. */
static enum page_class cell_info(const struct row *r, unsigned int j,
				 uint64_t psz, uint64_t *a, uint64_t *e,
				 bool *sparse)
{
	*a = cell_start(r, j, psz);
	*e = j + 1 < r->ncells ? cell_start(r, j + 1, psz) : r->m->end;
	return dominant(&r->cells[j], (*e - *a) / psz, sparse);
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b && b[1] && s[0] == '/' ? b + 1 : s;
}

static void tooltip(struct obuf *o, const struct space *s,
		    const struct mapping *m, uint64_t a, uint64_t e,
		    const struct counts *c, bool xml)
{
	char b[32];
	const char *name = mapping_label(m);
	int k;

	if (xml) {
		for (; *name; name++) {
			if (*name == '<')
				ob_puts(o, "&lt;");
			else if (*name == '>')
				ob_puts(o, "&gt;");
			else if (*name == '&')
				ob_puts(o, "&amp;");
			else if ((unsigned char)*name >= 0x20 &&
				 (unsigned char)*name < 0x7f)
				ob_printf(o, "%c", *name);
			else
				ob_puts(o, "?");
		}
	} else {
		ob_puts(o, name);
	}
	ob_printf(o, "\n%#" PRIx64 "-%#" PRIx64 " (%s, %" PRIu64 " pages)", a,
		  e, human(e - a, b, sizeof(b)), (e - a) / s->page_size);
	for (k = 0; k < NCOLS; k++) {
		if (!(s->avail & cols[k].cat))
			ob_printf(o, "\n%s: n/a", cols[k].name);
		else
			ob_printf(o, "\n%s: %" PRIu64, cols[k].name,
				  col_get(c, &cols[k]));
	}
}

static void draw_text(struct obuf *o, const struct space *s,
		      struct row *rows, size_t nrows, bool color,
		      unsigned int width)
{
	char comm[64], b[32];
	size_t i;
	int k;

	ob_printf(o, "pid %d (%s), kernel %s, backend %s: %zu mappings, "
		  "one row each, in address order\n", (int)s->pid,
		  proc_comm(s->pid, comm, sizeof(comm)), kernel_release(),
		  pagescan_backend_name(pagescan_backend(s->ps)), nrows);
	ob_puts(o, "legend:");
	for (k = 0; k < CLS__COUNT; k++) {
		if (k == CLS_GUARD && !(s->avail & PAGESCAN_CAT_GUARD))
			continue;
		if (color && k)
			ob_printf(o, " \033[%dm  \033[0m %s", cls_info[k].ansi,
				  cls_info[k].name);
		else if (color)
			ob_printf(o, " \033[2m.\033[0m %s", cls_info[k].name);
		else
			ob_printf(o, " %c %s", cls_info[k].ch,
				  cls_info[k].name);
	}
	ob_printf(o, "\n        %s; cells grow with sqrt(size), at most "
		  "%u per mapping\n", color ? "dim: under half populated" :
		  "lower case: under half populated", width);
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		const struct mapping *m = r->m;
		unsigned int j;
		char p[5];

		if (i && m->start - rows[i - 1].m->end >= (UINT64_C(1) << 30))
			ob_printf(o, "%12s ~~ %s unmapped ~~\n", "",
				  human(m->start - rows[i - 1].m->end, b,
					sizeof(b)));
		{
			const char *n = base_name(mapping_label(m));

			/* Cut long names, visibly. */
			ob_printf(o, "%012" PRIx64 " ", m->start);
			if (strlen(n) > 22)
				ob_printf(o, "%-21.21s~", n);
			else
				ob_printf(o, "%-22s", n);
		}
		ob_printf(o, " %s %6s ", perms(m->flags, p),
			  human(m->end - m->start, b, sizeof(b)));
		for (j = 0; j < r->ncells; j++) {
			uint64_t a, e;
			bool sparse;
			enum page_class d = cell_info(r, j, s->page_size,
						      &a, &e, &sparse);

			if (!color)
				ob_printf(o, "%c", d && sparse ?
					  cls_info[d].ch | 0x20 :
					  cls_info[d].ch);
			else if (d == CLS_EMPTY)
				ob_puts(o, "\033[2m.\033[0m");
			else if (sparse)
				ob_printf(o, "\033[%dm:\033[0m",
					  cls_info[d].ansi - 10);
			else
				ob_printf(o, "\033[%dm \033[0m",
					  cls_info[d].ansi);
		}
		ob_puts(o, "\n");
	}
}

static void draw_svg(struct obuf *o, const struct space *s,
		     struct row *rows, size_t nrows, unsigned int width)
{
	const int rowh = 18, top = 64, lab = 340, cw = 10, left = 12;
	int w = left + lab + (int)width * cw + 90, h;
	char comm[64], b[32];
	size_t i;
	int k, x, y;

	h = top + (int)nrows * rowh + 16;
	for (i = 1; i < nrows; i++)
		if (rows[i].m->start - rows[i - 1].m->end >=
		    (UINT64_C(1) << 30))
			h += rowh;
	if (w < 760)
		w = 760;
	ob_printf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\""
		  " font-size=\"12\">\n", w, h, w, h);
	ob_printf(o, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
		  w, h);
	ob_printf(o, "<text x=\"%d\" y=\"20\" font-size=\"14\" "
		  "font-weight=\"bold\">pagescan map: pid %d (", left,
		  (int)s->pid);
	{
		const char *c = proc_comm(s->pid, comm, sizeof(comm));

		for (; *c; c++)
			if (*c == '<' || *c == '>' || *c == '&')
				ob_puts(o, "_");
			else
				ob_printf(o, "%c", *c);
	}
	ob_printf(o, "), kernel %s, one row per mapping in address order"
		  "</text>\n", kernel_release());
	x = left;
	for (k = 0; k < CLS__COUNT; k++) {
		if (k == CLS_GUARD && !(s->avail & PAGESCAN_CAT_GUARD))
			continue;
		ob_printf(o, "<rect x=\"%d\" y=\"32\" width=\"12\" height=\"12\""
			  " fill=\"%s\" stroke=\"#888\"><title>%s</title>"
			  "</rect><text x=\"%d\" y=\"43\">%s</text>\n", x,
			  cls_info[k].rgb, cls_info[k].desc, x + 16,
			  cls_info[k].name);
		x += 24 + 8 * (int)strlen(cls_info[k].name);
	}
	ob_printf(o, "<text x=\"%d\" y=\"43\" fill=\"#555\">pale: under half "
		  "populated; hover a cell for its counts</text>\n", x + 8);
	y = top;
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		const struct mapping *m = r->m;
		unsigned int j;
		char p[5];

		if (i && m->start - rows[i - 1].m->end >= (UINT64_C(1) << 30)) {
			ob_printf(o, "<text x=\"%d\" y=\"%d\" fill=\"#888\">~~ "
				  "%s unmapped ~~</text>\n", left + lab,
				  y + 13, human(m->start - rows[i - 1].m->end,
						b, sizeof(b)));
			y += rowh;
		}
		ob_printf(o, "<g><title>");
		tooltip(o, s, m, m->start, m->end, &m->c, true);
		ob_printf(o, "</title><text x=\"%d\" y=\"%d\">%012" PRIx64 " ",
			  left, y + 13, m->start);
		{
			const char *n = base_name(mapping_label(m));
			int len = 0;

			for (; *n && len < 20; n++, len++)
				if (*n == '<' || *n == '>' || *n == '&' ||
				    (unsigned char)*n < 0x20 ||
				    (unsigned char)*n >= 0x7f)
					ob_puts(o, "_");
				else
					ob_printf(o, "%c", *n);
			if (*n)
				ob_puts(o, "&#8230;");
		}
		ob_printf(o, "</text><text x=\"%d\" y=\"%d\" "
			  "fill=\"#666\">%s</text><text x=\"%d\" y=\"%d\" "
			  "text-anchor=\"end\">%s</text></g>\n",
			  left + lab - 88, y + 13, perms(m->flags, p),
			  left + lab - 8, y + 13,
			  human(m->end - m->start, b, sizeof(b)));
		for (j = 0; j < r->ncells; j++) {
			uint64_t a, e;
			bool sparse;
			enum page_class d = cell_info(r, j, s->page_size,
						      &a, &e, &sparse);

			ob_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				  "height=\"%d\" fill=\"%s\"%s stroke=\"#fff\""
				  " stroke-width=\"1\"><title>", left + lab +
				  (int)j * cw, y + 2, cw, rowh - 4,
				  cls_info[d].rgb, d && sparse ?
				  " fill-opacity=\"0.4\"" : "");
			tooltip(o, s, m, a, e, &r->cells[j], true);
			ob_puts(o, "</title></rect>\n");
		}
		y += rowh;
	}
	ob_puts(o, "</svg>\n");
}

static void draw_json(struct obuf *o, const struct space *s,
		      struct row *rows, size_t nrows)
{
	size_t i;
	int k;

	json_head(o, "map", s);
	ob_puts(o, ",\"classes\":[");
	for (k = 0; k < CLS__COUNT; k++)
		ob_printf(o, "%s\"%s\"", k ? "," : "", cls_info[k].name);
	ob_puts(o, "],\"rows\":[");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		unsigned int j;

		ob_printf(o, "%s\n{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
			  PRIx64 "\",\"name\":", i ? "," : "", r->m->start,
			  r->m->end);
		ob_json_str(o, mapping_label(r->m));
		ob_puts(o, ",\"cells\":[");
		for (j = 0; j < r->ncells; j++) {
			uint64_t a, e;
			bool sparse;
			enum page_class d = cell_info(r, j, s->page_size,
						      &a, &e, &sparse);

			ob_printf(o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
				  PRIx64 "\",\"class\":\"%s\",\"sparse\":%s,",
				  j ? "," : "", a, e, cls_info[d].name,
				  d && sparse ? "true" : "false");
			json_counts(o, s, &r->cells[j], true);
			ob_puts(o, "}");
		}
		ob_puts(o, "]}");
	}
	ob_puts(o, "\n]}\n");
}

int cmd_map(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "svg", required_argument, NULL, 's' },
		{ "width", required_argument, NULL, 'w' },
		{ "filter", required_argument, NULL, 'f' },
		{ "color", no_argument, NULL, 'c' },
		{ "colour", no_argument, NULL, 'c' },
		{ "no-color", no_argument, NULL, 'n' },
		{ "no-colour", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *svg = NULL, *filter = NULL;
	int color = -1, c, ret;
	bool json = false;
	uint64_t width = 64;
	struct row *rows = NULL;
	struct bucket *b = NULL;
	struct counts *cells = NULL, other = { 0 };
	struct obuf o = { 0 }, so = { 0 };
	size_t i, nrows = 0, ncells = 0, k;
	struct space s;
	pid_t pid;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			svg = optarg;
			break;
		case 'w':
			if (parse_u64(optarg, &width) || !width ||
			    width > 4096) {
				err_msg("--width wants a number from 1 to 4096,"
					" not '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'f':
			filter = optarg;
			break;
		case 'c':
			color = 1;
			break;
		case 'n':
			color = 0;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "map");
		}
	}
	if (pid_operand(argc, argv, &pid))
		return EX_USAGE;
	if (color < 0)
		color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	ret = space_begin(&s, pid, false);
	if (ret)
		return ret;
	rows = calloc(s.n ? s.n : 1, sizeof(*rows));
	if (!rows)
		goto oom;
	for (i = 0; i < s.n; i++) {
		uint64_t pages = (s.m[i].end - s.m[i].start) / s.page_size;
		uint64_t n;

		if (filter && !strstr(mapping_label(&s.m[i]), filter))
			continue;
		n = (uint64_t)ceil(sqrt((double)pages) / 2);
		if (n > width)
			n = width;
		if (n > pages)
			n = pages;
		if (!n)
			n = 1;
		rows[nrows].m = &s.m[i];
		rows[nrows].ncells = (unsigned int)n;
		ncells += n;
		nrows++;
	}
	cells = calloc(ncells ? ncells : 1, sizeof(*cells));
	b = calloc(ncells ? ncells : 1, sizeof(*b));
	if (!cells || !b)
		goto oom;
	for (i = 0, k = 0; i < nrows; i++) {
		unsigned int j;

		rows[i].cells = &cells[k];
		for (j = 0; j < rows[i].ncells; j++, k++) {
			b[k].start = cell_start(&rows[i], j, s.page_size);
			b[k].end = j + 1 < rows[i].ncells ?
				cell_start(&rows[i], j + 1, s.page_size) :
				rows[i].m->end;
			b[k].c = &cells[k];
		}
	}
	ret = count_pass(&s, b, ncells, &other);
	if (ret) {
		if (ret == -ESRCH)
			err_msg("pid %d exited during the scan; nothing "
				"printed", (int)pid);
		else
			err_msg("scan of pid %d failed: %s", (int)pid,
				strerror(-ret));
		ret = exit_code(-ret);
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		unsigned int j;

		for (j = 0; j < rows[i].ncells; j++)
			counts_add(&rows[i].m->c, &rows[i].cells[j]);
	}

	if (svg)
		draw_svg(&so, &s, rows, nrows, (unsigned int)width);
	if (json)
		draw_json(&o, &s, rows, nrows);
	else if (!svg || strcmp(svg, "-"))
		draw_text(&o, &s, rows, nrows, color, (unsigned int)width);
	if (svg && strcmp(svg, "-")) {
		FILE *f = fopen(svg, "we");

		if (!f) {
			err_msg("cannot write %s: %s", svg, strerror(errno));
			ret = EX_FAIL;
			goto out;
		}
		ret = ob_flush(&so, f);
		if (fclose(f) && !ret)
			ret = -EIO;
		if (ret) {
			err_msg("writing %s: %s", svg, strerror(-ret));
			ret = EX_FAIL;
			goto out;
		}
	} else if (svg) {
		ret = ob_flush(&so, stdout);
		if (ret) {
			ret = EX_FAIL;
			goto out;
		}
	}
	ret = ob_flush(&o, stdout) ? EX_FAIL : EX_OK;
	goto out;
oom:
	err_msg("out of memory");
	ret = EX_FAIL;
out:
	free(rows);
	free(cells);
	free(b);
	ob_free(&o);
	ob_free(&so);
	space_end(&s);
	return ret;
}
