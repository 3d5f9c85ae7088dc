// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan map's drawing: the rows map.c laid out and counted, as a
 * coloured (or lettered) text picture fitted to the terminal, as SVG with
 * a tooltip per cell and row, and as JSON.  A cell shows the class most
 * of its populated pages belong to.
 */
#include <inttypes.h>
#include <string.h>

#include "map.h"

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

void map_draw_text(struct obuf *o, const struct space *s, struct drow *rows,
		   size_t nrows, bool color, int namew, unsigned int room)
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

/*
 * The CSS class of a page class: its letter in lower case, but "e" for
 * empty, as "." is no CSS identifier (the rule would be dropped and
 * empty cells drawn black).  "u" (unmapped gaps), "p" and "m" are taken.
 */
static char svg_class(enum page_class k)
{
	return k == CLS_EMPTY ? 'e' : cls_info[k].ch | 0x20;
}

/* At most @max characters of @s: the tail, after an ellipsis. */
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

void map_draw_svg(struct obuf *o, const struct space *s, struct drow *rows,
		  size_t nrows, unsigned int width)
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

void map_draw_json(struct obuf *o, const struct space *s, struct drow *rows,
		   size_t nrows)
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
