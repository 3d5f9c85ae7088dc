/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * pagescan map: the picture's model, laid out and counted by map.c, and
 * its drawing as text, SVG and JSON (map_draw.c).
 */
#ifndef PAGESCAN_CLI_MAP_H
#define PAGESCAN_CLI_MAP_H

#include "cli.h"

enum page_class {
	CLS_EMPTY = 0, CLS_ANON, CLS_FILE, CLS_ZERO, CLS_HUGE, CLS_SWAP,
	CLS_GUARD, CLS__COUNT
};

/* Unmapped gaps this large break a row and are drawn as a line. */
#define GAP (UINT64_C(1) << 30)

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

/*
 * The picture of @nrows rows of @s into @o.  Text: @namew columns of
 * name, at most @room cells a row (the terminal's); SVG: @width cells at
 * most.
 */
void map_draw_text(struct obuf *o, const struct space *s, struct drow *rows,
		   size_t nrows, bool color, int namew, unsigned int room);
void map_draw_svg(struct obuf *o, const struct space *s, struct drow *rows,
		  size_t nrows, unsigned int width);
void map_draw_json(struct obuf *o, const struct space *s, struct drow *rows,
		   size_t nrows);

#endif
