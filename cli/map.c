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
 *
 * This file is the command: its options, the rows and their cells laid
 * out, and the one scan counted into them; map_draw.c draws the result.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"

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
		map_draw_svg(&so, &s, rows, nrows, (unsigned int)cap);
	if (json)
		map_draw_json(&o, &s, rows, nrows);
	else if (text)
		map_draw_text(&o, &s, rows, nrows, color, namew,
			  (unsigned int)room);
	if (svg && strcmp(svg, "-")) {
		ret = ob_write_file(&so, svg);
		if (ret) {
			struct obuf e = { 0 };

			ob_text(&e, svg);
			err_msg("cannot write %s: %s", e.buf, strerror(-ret));
			ob_free(&e);
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
