// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan map PID: the address space as a picture.  Mappings are laid
 * out one per row in address order, not by raw address: a 47-bit space is
 * almost all holes, and drawn to scale every library would be a speck.
 * Consecutive mappings of one name (the segments of a library, thousands
 * of [anon] pieces) share a row unless --expand.  Each row gets a number
 * of cells growing with the square root of its size, each cell coloured
 * by the class most of its populated pages belong to, dimmed when fewer
 * than half of its pages are populated.  Counts come from the summary's
 * rule (pagescan_stats_add(3)), so a row adds up to what pagescan PID
 * says of its mappings.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum page_class {
	CLS_EMPTY = 0, CLS_ANON, CLS_FILE, CLS_ZERO, CLS_HUGE, CLS_SWAP,
	CLS_GUARD, CLS__COUNT
};

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

#define GAP (UINT64_C(1) << 30)
#define NAMEW 20

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan map PID [options]\n"
"\n"
"Draws the address space of process PID: one row per mapping, in address\n"
"order, consecutive mappings of one file (a library's segments; beyond\n"
"500 rows also runs of [anon]) sharing a row, with cells growing as the\n"
"square root of the row's size (so that sparse 47-bit spaces stay\n"
"readable).  A cell's colour is the kind of page most of its populated\n"
"pages are: anon, file (or shmem), zero, huge, swapped, guard; a dim\n"
"cell is less than half populated, '.' is untouched.  Unmapped gaps of\n"
"1 GiB or more are shown as a line.  The text fits the terminal (fewer\n"
"cells, shorter names).\n"
"\n"
"Options:\n"
"  --svg FILE      also write an SVG picture with a tooltip per cell\n"
"                  (range, counts) and per row; '-' for stdout\n"
"  --width N       at most N cells per row (default 64)\n"
"  --expand        one row per mapping, never grouped\n"
"  --filter TEXT   only mappings whose name contains TEXT; repeated: any\n"
"  --color, --no-color\n"
"                  force ANSI colours on or off (default: on for a\n"
"                  terminal, off if NO_COLOR is set)\n"
"  --json          one JSON object (schema \"" JSON_SCHEMA "\") instead\n"
"                  of the text picture\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

struct cell {
	uint64_t start, end;	/* first and last address it covers */
	uint64_t pages;		/* its share of the row's pages */
	uint64_t b[PAGESCAN_STAT_SLOTS];
	uint64_t cls[CLS__COUNT];	/* pages by class */
};

/* A row of the picture: one mapping, or consecutive ones of one name. */
struct drow {
	struct row *m;		/* the first mapping */
	unsigned int nmaps;
	uint64_t start, end, size;
	uint32_t perms;		/* union of the members' */
	bool mixed;		/* members differ in permissions */
	uint64_t b[PAGESCAN_STAT_SLOTS];
	unsigned int ncells;
	struct cell *cells;
};

/* A piece of a cell inside one mapping: what the scan counts into. */
struct bucket {
	uint64_t start, end;
	struct cell *c;
	uint32_t flags;		/* the mapping's, for the summary's rule */
};

/* The class of a region: guard over swap over present (huge first). */
static enum page_class region_class(uint64_t c, uint64_t asked)
{
	if (c & PAGESCAN_CAT_GUARD)
		return CLS_GUARD;
	if (c & PAGESCAN_CAT_PRESENT) {
		if (c & PAGESCAN_CAT_HUGE)
			return CLS_HUGE;
		if (c & PAGESCAN_CAT_PFNZERO)
			return CLS_ZERO;
		return c & PAGESCAN_CAT_FILE ? CLS_FILE : CLS_ANON;
	}
	/* uffd-wp markers (no WRITTEN where it was asked) are not swap. */
	if ((c & PAGESCAN_CAT_SWAPPED) &&
	    ((c & PAGESCAN_CAT_WRITTEN) || !(asked & PAGESCAN_CAT_WRITTEN)))
		return CLS_SWAP;
	return CLS_EMPTY;
}

/* The dominant class of a cell, and whether it is under half populated. */
static enum page_class dominant(const struct cell *c, bool *sparse)
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
	*sparse = pop * 2 < c->pages;
	return best;
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b && b[1] && s[0] == '/' ? b + 1 : s;
}

/* A cell's tooltip: its range and the counts that are not zero. */
static void cell_tip(struct obuf *o, const struct space *s,
		     const struct cell *c)
{
	char b[32];
	unsigned int k;
	int n = 0;

	ob_printf(o, "%#" PRIx64 "-%#" PRIx64 " %s", c->start, c->end,
		  human(c->pages * s->page_size, b, sizeof(b)));
	for (k = 0; k < PAGESCAN_STAT__COUNT; k++) {
		if (!c->b[k] || (s->sum.unavailable & (UINT64_C(1) << k)))
			continue;
		ob_printf(o, "%s%s %s", n++ ? ", " : ": ",
			  pagescan_stat_name(k),
			  human(c->b[k], b, sizeof(b)));
	}
}

static void row_tip(struct obuf *o, const struct space *s,
		    const struct drow *r)
{
	char b[32], p[5];

	ob_xml(o, row_label(r->m));
	ob_printf(o, "\n%#" PRIx64 "-%#" PRIx64 ", %s, %s", r->start, r->end,
		  human(r->size, b, sizeof(b)),
		  r->mixed ? "mixed permissions" : perms(r->perms, p));
	if (r->nmaps > 1)
		ob_printf(o, ", %u mappings", r->nmaps);
	ob_printf(o, "\nrss %s", human(r->b[PAGESCAN_STAT_RSS], b, sizeof(b)));
	ob_printf(o, ", swapped %s",
		  human(r->b[PAGESCAN_STAT_SWAPPED], b, sizeof(b)));
}

/*
 * Text cell @k of @n across a row drawn with @r->ncells cells: the sum of
 * the picture's cells it covers (text has fewer where the terminal is
 * narrow; SVG and JSON keep --width).
 */
static void text_cell(const struct drow *r, unsigned int k, unsigned int n,
		      struct cell *out)
{
	unsigned int a = k * r->ncells / n, e = (k + 1) * r->ncells / n, j, c;

	memset(out, 0, sizeof(*out));
	for (j = a; j < e; j++) {
		out->pages += r->cells[j].pages;
		for (c = 0; c < CLS__COUNT; c++)
			out->cls[c] += r->cells[j].cls[c];
	}
}

static void draw_text(struct obuf *o, const struct space *s,
		      struct drow *rows, size_t nrows, bool color, int namew,
		      unsigned int room)
{
	char b[32], line[400];
	struct obuf c = { 0 };
	size_t i;
	int k;

	ob_text(&c, s->comm);
	snprintf(line, sizeof(line), "pid %d (%s), kernel %s, backend %s: %"
		 PRIu64 " mappings in %zu rows, in address order", (int)s->pid,
		 c.buf ? c.buf : "", kernel_release(),
		 pagescan_backend_name(pagescan_backend(s->ps)),
		 s->sum.mappings, nrows);
	ob_free(&c);
	ob_wrap(o, line, 0);
	/* The legend as words, wrapped: colour codes take no columns. */
	{
		int col = 7;

		ob_puts(o, "legend:");
		for (k = 0; k < CLS__COUNT; k++) {
			int w = (color && k ? 4 : 3) +
				(int)strlen(cls_info[k].name);

			if (k == CLS_GUARD && (s->sum.unavailable &
				(UINT64_C(1) << PAGESCAN_STAT_GUARD)))
				continue;
			if (col + w > term_width()) {
				ob_puts(o, "\n       ");
				col = 7;
			}
			col += w;
			if (color && k)
				ob_printf(o, " \033[%dm  \033[0m %s",
					  cls_info[k].ansi, cls_info[k].name);
			else if (color)
				ob_printf(o, " \033[2m.\033[0m %s",
					  cls_info[k].name);
			else
				ob_printf(o, " %c %s", cls_info[k].ch,
					  cls_info[k].name);
		}
	}
	ob_puts(o, "\n");
	ob_wrap(o, color ? "dim: under half populated; cells grow with "
		"sqrt(size); (N): N mappings share the row" :
		"lower case: under half populated; cells grow with "
		"sqrt(size); (N): N mappings share the row", 8);
	for (i = 0; i < nrows; i++) {
		struct drow *r = &rows[i];
		unsigned int j;
		char p[5], cnt[16] = "";

		if (i && r->start - rows[i - 1].end >= GAP)
			ob_printf(o, "%12s ~~ %s unmapped ~~\n", "",
				  human(r->start - rows[i - 1].end, b,
					sizeof(b)));
		ob_printf(o, "%012" PRIx64 " ", r->start);
		if (r->nmaps > 1)
			snprintf(cnt, sizeof(cnt), " (%u)", r->nmaps);
		{
			const char *n = base_name(row_label(r->m));
			int nw = namew - (int)strlen(cnt);
			int w = ob_text_fit(o, n, nw, false);

			ob_puts(o, cnt);
			ob_pad(o, nw - w);
		}
		perms(r->perms, p);
		if (r->mixed)
			p[3] = '*';
		ob_printf(o, " %s %5s ", p, human(r->size, b, sizeof(b)));
		for (j = 0; j < (r->ncells < room ? r->ncells : room); j++) {
			unsigned int n = r->ncells < room ? r->ncells : room;
			struct cell tc;
			bool sparse;
			enum page_class d;

			text_cell(r, j, n, &tc);
			d = dominant(&tc, &sparse);

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

/* At most @max characters of @s: the tail, after an ellipsis. */
/*
 * The CSS class of a page class: its letter in lower case, but "e" for
 * empty, as "." is no CSS identifier (the rule would be dropped and
 * empty cells drawn black).  "u" (unmapped gaps), "p" and "m" are taken.
 */
static char svg_class(enum page_class k)
{
	return k == CLS_EMPTY ? 'e' : cls_info[k].ch | 0x20;
}

static void svg_label(struct obuf *o, const char *s, int max)
{
	size_t i = strlen(s);
	const char *p;
	int n = 0;

	/* UTF-8 continuation bytes do not count as characters. */
	for (p = s; *p; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	if (n <= max) {
		ob_xml(o, s);
		return;
	}
	for (n = 0; i > 0 && n < max - 1;) {
		i--;
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	}
	ob_puts(o, "&#8230;");
	ob_xml(o, s + i);
}

static void draw_svg(struct obuf *o, const struct space *s,
		     struct drow *rows, size_t nrows, unsigned int width)
{
	const int rowh = 18, top = 64, lab = 340, cw = 10, left = 12;
	int w = left + lab + (int)width * cw + 90, h, k, x, y;
	char b[32];
	size_t i;

	h = top + (int)nrows * rowh + 16;
	for (i = 1; i < nrows; i++)
		if (rows[i].start - rows[i - 1].end >= GAP)
			h += rowh;
	if (w < 760)
		w = 760;
	ob_printf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\""
		  " font-size=\"12\">\n<style>rect{stroke:#fff}", w, h, w, h);
	/* One class per colour keeps 20,000 rows in a few MB. */
	for (k = 0; k < CLS__COUNT; k++)
		ob_printf(o, " .%c{fill:%s}", svg_class(k), cls_info[k].rgb);
	ob_puts(o, " .p{fill-opacity:0.4} .u{fill:#888} .m{fill:#666}"
		"</style>\n");
	ob_printf(o, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\" "
		  "style=\"stroke:none\"/>\n", w, h);
	ob_printf(o, "<text x=\"%d\" y=\"20\" font-size=\"14\" "
		  "font-weight=\"bold\">pagescan map: pid %d (", left,
		  (int)s->pid);
	ob_xml(o, s->comm);
	ob_printf(o, "), kernel ");
	ob_xml(o, kernel_release());
	ob_printf(o, ", %" PRIu64 " mappings in %zu rows, address order"
		  "</text>\n", s->sum.mappings, nrows);
	x = left;
	for (k = 0; k < CLS__COUNT; k++) {
		if (k == CLS_GUARD && (s->sum.unavailable &
				       (UINT64_C(1) << PAGESCAN_STAT_GUARD)))
			continue;
		ob_printf(o, "<rect x=\"%d\" y=\"32\" width=\"12\" height=\"12\""
			  " class=\"%c\" style=\"stroke:#888\"><title>%s</title>"
			  "</rect><text x=\"%d\" y=\"43\">%s</text>\n", x,
			  svg_class(k), cls_info[k].desc, x + 16,
			  cls_info[k].name);
		x += 24 + 8 * (int)strlen(cls_info[k].name);
	}
	ob_printf(o, "<text x=\"%d\" y=\"43\" class=\"m\">pale: under half "
		  "populated; hover for counts</text>\n", x + 8);
	y = top;
	for (i = 0; i < nrows; i++) {
		struct drow *r = &rows[i];
		const char *n = base_name(row_label(r->m));
		unsigned int j;
		char p[5];

		if (i && r->start - rows[i - 1].end >= GAP) {
			ob_printf(o, "<text x=\"%d\" y=\"%d\" class=\"u\">~~ "
				  "%s unmapped ~~</text>\n", left + lab,
				  y + 13, human(r->start - rows[i - 1].end,
						b, sizeof(b)));
			y += rowh;
		}
		ob_printf(o, "<g transform=\"translate(0,%d)\"><title>", y);
		row_tip(o, s, r);
		ob_printf(o, "</title><text x=\"%d\" y=\"13\">%012" PRIx64 " ",
			  left, r->start);
		svg_label(o, n, r->nmaps > 1 ? 22 : 28);
		if (r->nmaps > 1)
			ob_printf(o, " (%u)", r->nmaps);
		perms(r->perms, p);
		if (r->mixed)
			p[3] = '*';
		ob_printf(o, "</text><text x=\"%d\" y=\"13\" class=\"m\">%s"
			  "</text><text x=\"%d\" y=\"13\" text-anchor=\"end\">"
			  "%s</text>", left + lab - 88, p, left + lab - 8,
			  human(r->size, b, sizeof(b)));
		for (j = 0; j < r->ncells; j++) {
			bool sparse;
			enum page_class d = dominant(&r->cells[j], &sparse);

			ob_printf(o, "<rect x=\"%d\" y=\"2\" width=\"%d\" "
				  "height=\"%d\" class=\"%c%s\"><title>",
				  left + lab + (int)j * cw, cw, rowh - 4,
				  svg_class(d),
				  d && sparse ? " p" : "");
			cell_tip(o, s, &r->cells[j]);
			ob_puts(o, "</title></rect>");
		}
		ob_puts(o, "</g>\n");
		y += rowh;
	}
	ob_puts(o, "</svg>\n");
}

static void draw_json(struct obuf *o, const struct space *s,
		      struct drow *rows, size_t nrows)
{
	uint64_t u = s->sum.unavailable;
	size_t i;
	int k;

	json_head(o, "map");
	json_target(o, s);
	ob_puts(o, ",\"classes\":[");
	for (k = 0; k < CLS__COUNT; k++)
		ob_printf(o, "%s\"%s\"", k ? "," : "", cls_info[k].name);
	ob_puts(o, "],\"rows\":[");
	for (i = 0; i < nrows; i++) {
		struct drow *r = &rows[i];
		unsigned int j;
		char p[5];

		ob_printf(o, "%s\n{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
			  PRIx64 "\",\"name\":", i ? "," : "", r->start,
			  r->end);
		ob_json_str(o, row_label(r->m));
		ob_printf(o, ",\"mappings\":%u,\"perms\":\"%s\",\"size\":%"
			  PRIu64 ",\"bytes\":{", r->nmaps,
			  r->mixed ? "" : perms(r->perms, p), r->size);
		json_stats(o, r->b, u, true);
		ob_puts(o, "},\"cells\":[");
		for (j = 0; j < r->ncells; j++) {
			const struct cell *c = &r->cells[j];
			bool sparse;
			enum page_class d = dominant(c, &sparse);

			ob_printf(o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
				  PRIx64 "\",\"pages\":%" PRIu64 ",\"class\":"
				  "\"%s\",\"sparse\":%s,\"bytes\":{",
				  j ? "," : "", c->start, c->end, c->pages,
				  cls_info[d].name,
				  d && sparse ? "true" : "false");
			json_stats(o, c->b, u, true);
			ob_puts(o, "}}");
		}
		ob_puts(o, "]}");
	}
	ob_puts(o, "\n]}\n");
}

struct pass {
	struct bucket *b;
	size_t nb, i;
	uint64_t asked, page_size;
};

/* Regions merge across buckets: split them again. */
static int attribute(const struct pagescan_region *r, void *ctx)
{
	struct pass *p = ctx;
	struct pagescan_region piece = *r;
	enum page_class k = region_class(r->categories, p->asked);

	while (piece.start < r->end) {
		struct bucket *b;

		while (p->i < p->nb && p->b[p->i].end <= piece.start)
			p->i++;
		if (p->i == p->nb)
			break;
		b = &p->b[p->i];
		if (b->start >= r->end)
			break;
		if (b->start > piece.start)
			piece.start = b->start;	/* not ours: a gap */
		piece.end = b->end < r->end ? b->end : r->end;
		pagescan_stats_add(b->c->b, b->flags, p->asked, &piece);
		b->c->cls[k] += (piece.end - piece.start) / p->page_size;
		piece.start = piece.end;
	}
	return 0;
}

static bool wanted(char **filters, size_t n, const char *name)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

/*
 * Consecutive mappings of @s from @i on that share a row: those of one
 * file, and with @anon, those of one anonymous name too (when a process
 * has so many mappings that one row each would drown the picture).
 */
#define MANY_ROWS 500

static size_t run_of(const struct space *s, size_t i, char **filters,
		     size_t nf, bool anon)
{
	const char *name = row_label(&s->m[i]);
	size_t j = i + 1;

	/* Before the walk: a run of 10,000 [anon] walked for each of them. */
	if (name[0] != '/' && !anon)
		return 1;
	while (j < s->n && s->m[j].start - s->m[j - 1].end < GAP &&
	       !strcmp(row_label(&s->m[j]), name) &&
	       wanted(filters, nf, name))
		j++;
	return j - i;
}

/* Rows of mappings that share one (one each with @expand). */
static size_t make_rows(struct space *s, struct drow *rows, bool expand,
			char **filters, size_t nf, bool anon)
{
	size_t i = 0, n = 0, k, j;

	while (i < s->n) {
		struct row *m = &s->m[i];
		struct drow *r = &rows[n];

		if (!wanted(filters, nf, row_label(m))) {
			i++;
			continue;
		}
		memset(r, 0, sizeof(*r));
		r->m = m;
		r->nmaps = 1;
		r->start = m->start;
		r->end = m->end;
		r->size = m->size;
		r->perms = m->flags & 0xf;
		memcpy(r->b, m->b, sizeof(r->b));
		k = expand ? 1 : run_of(s, i, filters, nf, anon);
		for (j = 1; j < k; j++) {
			const struct row *x = &s->m[i + j];

			r->nmaps++;
			r->end = x->end;
			r->size += x->size;
			if (r->perms != (x->flags & 0xf))
				r->mixed = true;
			r->perms |= x->flags & 0xf;
			stats_add(r->b, x->b);
		}
		n++;
		i += k;
	}
	return n;
}

/*
 * Cells over the concatenated pages of a row's mappings, and the buckets
 * (cell pieces within one mapping) to count them into, in address order.
 */
static size_t make_cells(struct space *s, struct drow *r, struct cell *cells,
			 struct bucket *b)
{
	uint64_t psz = s->page_size, pages = r->size / psz, done = 0;
	uint64_t mdone = 0;	/* pages of r->m[mi] in earlier buckets */
	unsigned int j, mi = 0;
	size_t nb = 0;

	r->cells = cells;
	for (j = 0; j < r->ncells; j++) {
		uint64_t want = pages * (j + 1) / r->ncells;
		struct cell *c = &cells[j];
		bool first = true;

		memset(c, 0, sizeof(*c));
		c->pages = want - pages * j / r->ncells;
		while (done < want) {
			const struct row *m = &r->m[mi];
			uint64_t left = m->size / psz - mdone, k;

			k = want - done < left ? want - done : left;
			b[nb].start = m->start + mdone * psz;
			b[nb].end = b[nb].start + k * psz;
			b[nb].c = c;
			b[nb].flags = m->flags;
			if (first)
				c->start = b[nb].start;
			first = false;
			c->end = b[nb].end;
			nb++;
			done += k;
			mdone += k;
			if (mdone == m->size / psz) {
				mi++;
				mdone = 0;
			}
		}
	}
	return nb;
}

int cmd_map(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "svg", required_argument, NULL, 's' },
		{ "width", required_argument, NULL, 'w' },
		{ "expand", no_argument, NULL, 'e' },
		{ "filter", required_argument, NULL, 'f' },
		{ "color", no_argument, NULL, 'c' },
		{ "colour", no_argument, NULL, 'c' },
		{ "no-color", no_argument, NULL, 'n' },
		{ "no-colour", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *svg = NULL;
	char **filters;
	int color = -1, c, ret, namew = NAMEW, room;
	bool json = false, expand = false, seen_svg = false, seen_w = false;
	bool text;
	uint64_t width = 64, cap;
	struct drow *rows = NULL;
	struct bucket *b = NULL;
	struct cell *cells = NULL;
	struct obuf o = { 0 }, so = { 0 };
	size_t i, nrows = 0, ncells = 0, nb = 0, nf = 0, nbk = 0;
	struct space s = { 0 };
	pid_t pid;

	filters = calloc((size_t)argc, sizeof(*filters));
	if (!filters) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	ret = EX_USAGE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (once(&seen_svg, "--svg"))
				goto usage;
			svg = optarg;
			break;
		case 'w':
			if (once(&seen_w, "--width"))
				goto usage;
			if (parse_u64(optarg, &width) || !width ||
			    width > 4096) {
				struct obuf e = { 0 };

				ob_text(&e, optarg);
				err_msg("--width wants a decimal number from 1 "
					"to 4096, not '%s'", e.buf);
				ob_free(&e);
				goto usage;
			}
			break;
		case 'e':
			expand = true;
			break;
		case 'f':
			filters[nf++] = optarg;
			break;
		case 'c':
		case 'n':
			if (color >= 0 && color != (c == 'c')) {
				err_msg("--color and --no-color contradict each "
					"other");
				goto usage;
			}
			color = c == 'c';
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			if (help_alone(argc, argv, "map"))
				goto usage;
			help(stdout);
			ret = EX_OK;
			goto usage;
		default:
			ret = bad_option(argv, "map");
			goto usage;
		}
	}
	if (pid_operand(argc, argv, &pid))
		goto usage;
	if (svg && !strcmp(svg, "-") && json) {
		err_msg("--svg - and --json would both go to stdout: write the "
			"SVG to a file, or drop --json");
		goto usage;
	}
	if (color < 0)
		color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	text = !json && !(svg && !strcmp(svg, "-"));

	ret = space_begin(&s, pid, true);
	if (ret)
		goto usage;
	rows = calloc(s.n ? s.n : 1, sizeof(*rows));
	if (!rows)
		goto oom;
	nrows = make_rows(&s, rows, expand, filters, nf, false);
	if (nrows > MANY_ROWS && !expand)
		nrows = make_rows(&s, rows, expand, filters, nf, true);
	/* The text fits the terminal: fewer cells first, then names. */
	cap = width;
	room = term_width() - (12 + 1 + NAMEW + 1 + 4 + 1 + 5 + 1);
	if (room < 8) {
		namew -= 8 - room;
		room = 8;
	}
	for (i = 0; i < nrows; i++) {
		uint64_t pages = rows[i].size / s.page_size;
		uint64_t n = (uint64_t)ceil(sqrt((double)pages) / 2);

		if (n > cap)
			n = cap;
		if (n > pages)
			n = pages;
		if (!n)
			n = 1;
		rows[i].ncells = (unsigned int)n;
		ncells += n;
		/* A cell spans at most all the row's mappings. */
		nbk += n + rows[i].nmaps;
	}
	cells = calloc(ncells ? ncells : 1, sizeof(*cells));
	b = calloc(nbk ? nbk : 1, sizeof(*b));
	if (!cells || !b)
		goto oom;
	for (i = 0, ncells = 0; i < nrows; i++) {
		nb += make_cells(&s, &rows[i], &cells[ncells], &b[nb]);
		ncells += rows[i].ncells;
	}
	if (nb) {
		uint64_t asked = cats_meaningful();
		PAGESCAN_OPTS(pagescan_scan_opts, opt,
			.return_mask = asked,
			.category_anyof_mask = asked & (PAGESCAN_CAT_PRESENT |
							PAGESCAN_CAT_SWAPPED));
		struct pass p = { .b = b, .nb = nb, .asked = asked,
				  .page_size = s.page_size };

		ret = pagescan_foreach(s.ps, b[0].start, b[nb - 1].end, &opt,
				       attribute, &p);
		if (ret < 0) {
			ret = scan_error(&s, ret);
			goto out;
		}
	}

	if (svg)
		draw_svg(&so, &s, rows, nrows, (unsigned int)cap);
	if (json)
		draw_json(&o, &s, rows, nrows);
	else if (text)
		draw_text(&o, &s, rows, nrows, color, namew,
			  (unsigned int)room);
	if (svg && strcmp(svg, "-")) {
		FILE *f = fopen(svg, "we");

		if (!f) {
			struct obuf e = { 0 };

			ob_text(&e, svg);
			err_msg("cannot write %s: %s", e.buf, strerror(errno));
			ob_free(&e);
			ret = EX_FAIL;
			goto out;
		}
		ret = ob_flush(&so, f);
		if (fclose(f) && !ret)
			ret = -EIO;
		if (ret) {
			err_msg("writing the SVG: %s", strerror(-ret));
			ret = EX_FAIL;
			goto out;
		}
	} else if (svg) {
		if (ob_flush(&so, stdout)) {
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
	space_end(&s);
usage:
	free(filters);
	free(rows);
	free(cells);
	free(b);
	ob_free(&o);
	ob_free(&so);
	return ret;
}
