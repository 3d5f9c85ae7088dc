// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The count columns of the summary, process and diff tables, and their
 * JSON: which to show (available, carrying information, fitting the
 * width), their headings and values.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define S(x) PAGESCAN_STAT_##x
#define CORE 99

/*
 * In display order.  RSS, ANON, FILE and SWAP are what ps, top and smaps
 * show, so they always are; the others appear where they are not zero.
 */
const struct col cols[NCOLS] = {
	{ "RSS", "rss", S(RSS), CORE },
	{ "ANON", "anon", S(ANON), CORE },
	{ "FILE", "file", S(FILE), CORE },
	{ "SHMEM", "shmem", S(SHMEM), 8 },
	{ "SWAP", "swapped", S(SWAPPED), CORE },
	{ "HUGE", "huge", -1, 7 },
	{ "ZERO", "zero", S(ZERO), 6 },
	{ "GUARD", "guard", S(GUARD), 5 },
	{ "SDIRTY", "soft-dirty", S(SOFT_DIRTY), 4 },
	{ "WRITTEN", "written", S(WRITTEN), 3 },
	{ "UFFDWP", "wp-marker", S(WP_MARKER), 2 },
	{ "PRESENT", "present", S(PRESENT), 1 },
};

uint64_t col_value(const struct col *k, const uint64_t *b)
{
	if (k->stat < 0)
		return b[S(THP)] + b[S(HUGETLB)];
	return b[k->stat];
}

bool col_available(const struct col *k, uint64_t u)
{
	if (k->stat < 0)
		return !(u & (UINT64_C(1) << S(THP))) ||
		       !(u & (UINT64_C(1) << S(HUGETLB)));
	return !(u & (UINT64_C(1) << k->stat));
}

int col_find(const char *name)
{
	static const struct { const char *alias; int col; } aliases[] = {
		{ "swap", 4 }, { "thp", 5 }, { "hugetlb", 5 }, { "pfnzero", 6 },
		{ "soft_dirty", 8 }, { "softdirty", 8 }, { "sdirty", 8 },
		{ "wp_marker", 10 }, { "uffdwp", 10 },
	};
	size_t i;

	for (i = 0; i < NCOLS; i++)
		if (!strcasecmp(name, cols[i].name) ||
		    !strcasecmp(name, cols[i].head))
			return (int)i;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(name, aliases[i].alias))
			return aliases[i].col;
	return -1;
}

const char *col_list(void)
{
	static char buf[200];
	size_t i;

	if (buf[0])
		return buf;
	for (i = 0; i < NCOLS; i++) {
		if (i)
			strcat(buf, ", ");
		strcat(buf, cols[i].name);
	}
	return buf;
}

int columns_option(const char *list, bool show[NCOLS])
{
	char buf[256], *tok, *save = NULL;

	if (strlen(list) >= sizeof(buf) || !*list) {
		err_msg("--columns wants a list of: all, %s", col_list());
		return -1;
	}
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int c = col_find(tok);

		if (!strcmp(tok, "all")) {
			memset(show, 1, NCOLS * sizeof(*show));
			continue;
		}
		if (c < 0) {
			struct obuf o = { 0 };

			ob_text(&o, tok);
			err_msg("unknown column '%s'; valid: all, %s", o.buf,
				col_list());
			ob_free(&o);
			return -1;
		}
		show[c] = true;
	}
	return 0;
}

static int value_width(const struct table *t, uint64_t v)
{
	char b[32];

	if (t->in_pages)
		return snprintf(b, sizeof(b), "%" PRIu64, v / t->page_size);
	return (int)strlen(human(v, b, sizeof(b)));
}

static void append(char *buf, size_t len, const char *s)
{
	size_t l = strlen(buf);

	snprintf(buf + l, len - l, "%s%s", l ? ", " : "", s);
}

static int plan_used(const struct table *t, int fixed)
{
	int used = fixed, k;

	for (k = 0; k < NCOLS; k++)
		if (t->show[k])
			used += 1 + t->wd[k];
	return used;
}

/*
 * Drop the least telling columns until @name_min columns are left for the
 * name: never a core one, unless @core (then only those 0 in every row,
 * never RSS).  True if it then fits.
 */
static bool plan_drop(struct table *t, int fixed, int name_min, int width,
		      bool core)
{
	int used = plan_used(t, fixed), k;

	while (used + 2 + name_min > width) {
		int drop = -1;

		for (k = 0; k < NCOLS; k++) {
			if (!t->show[k] || (cols[k].prio == CORE &&
			    (!core || k == 0 || t->info[k])))
				continue;
			if (drop < 0 || cols[k].prio < cols[drop].prio ||
			    (cols[k].prio == cols[drop].prio && k > drop))
				drop = k;
		}
		if (drop < 0)
			return false;
		t->show[drop] = false;
		used -= 1 + t->wd[drop];
		append(t->cut_cols, sizeof(t->cut_cols), cols[drop].name);
	}
	return true;
}

void table_plan(struct table *t, const uint64_t *const *rows, size_t nrows,
		int fixed, int name_min, int width)
{
	bool *info = t->info;
	int k;
	size_t i;

	memset(t->info, 0, sizeof(t->info));
	t->name_below = false;
	t->zero_cols[0] = t->cut_cols[0] = '\0';
	for (k = 0; k < NCOLS; k++) {
		t->wd[k] = 0;
		if (!col_available(&cols[k], t->unavailable)) {
			t->show[k] = false;
			continue;
		}
		t->wd[k] = (int)strlen(cols[k].head);
		for (i = 0; i < nrows; i++) {
			uint64_t v = col_value(&cols[k], rows[i]);
			int w = value_width(t, v);

			/* PRESENT says something only where it is not RSS. */
			if (k == NCOLS - 1 ? v != rows[i][S(RSS)] : v != 0)
				info[k] = true;
			if (w > t->wd[k])
				t->wd[k] = w;
		}
		if (t->forced)
			continue;
		t->show[k] = cols[k].prio == CORE || info[k];
		if (!t->show[k] && k != NCOLS - 1)
			append(t->zero_cols, sizeof(t->zero_cols),
			       cols[k].name);
	}
	if (!plan_drop(t, fixed, name_min, width, false)) {
		/*
		 * Not even the core columns leave the name room (a 40
		 * column terminal): the name goes on a line of its own,
		 * and a core column that is 0 in every row may go too.
		 */
		t->name_below = true;
		t->cut_cols[0] = '\0';
		for (k = 0; k < NCOLS; k++)
			if (!t->forced && t->wd[k])
				t->show[k] = cols[k].prio == CORE || info[k];
		if (!plan_drop(t, fixed, -2, width, false))
			plan_drop(t, fixed, -2, width, true);
	}
}

void table_heads(struct obuf *o, const struct table *t)
{
	int k;

	for (k = 0; k < NCOLS; k++)
		if (t->show[k])
			ob_printf(o, " %*s", t->wd[k], cols[k].head);
}

void table_values(struct obuf *o, const struct table *t, const uint64_t *b)
{
	char buf[32];
	int k;

	for (k = 0; k < NCOLS; k++) {
		uint64_t v;

		if (!t->show[k])
			continue;
		v = col_value(&cols[k], b);
		if (!col_available(&cols[k], t->unavailable))
			ob_printf(o, " %*s", t->wd[k], "n/a");
		else if (t->in_pages)
			ob_printf(o, " %*" PRIu64, t->wd[k], v / t->page_size);
		else
			ob_printf(o, " %*s", t->wd[k],
				  human(v, buf, sizeof(buf)));
	}
}

void table_notes(struct obuf *o, const struct table *t, uint64_t approx)
{
	char na[200] = "", ap[200] = "", line[700];
	unsigned int i;

	for (i = 0; i < NCOLS; i++)
		if (!col_available(&cols[i], t->unavailable) &&
		    !(cols[i].stat < 0))
			append(na, sizeof(na), cols[i].name);
	for (i = 0; i < PAGESCAN_STAT__COUNT; i++)
		if (approx & (UINT64_C(1) << i))
			append(ap, sizeof(ap), pagescan_stat_name(i));
	if (t->zero_cols[0]) {
		snprintf(line, sizeof(line), "0 everywhere: %s.", t->zero_cols);
		ob_wrap(o, line, 0);
	}
	if (na[0]) {
		snprintf(line, sizeof(line), "n/a on this kernel (or without "
			 "privilege): %s.", na);
		ob_wrap(o, line, 0);
	}
	if (ap[0]) {
		snprintf(line, sizeof(line), "may over-count here: %s (see "
			 "pagescan(1)).", ap);
		ob_wrap(o, line, 0);
	}
	if (t->cut_cols[0]) {
		snprintf(line, sizeof(line), "not shown for lack of width: %s "
			 "(COLUMNS, --columns, or --json).", t->cut_cols);
		ob_wrap(o, line, 0);
	}
}

void json_stats(struct obuf *o, const uint64_t *b, uint64_t unavailable,
		bool first)
{
	unsigned int i;

	for (i = 0; i < PAGESCAN_STAT__COUNT; i++) {
		ob_printf(o, "%s\"%s\":", first && !i ? "" : ",",
			  pagescan_stat_name(i));
		if (unavailable & (UINT64_C(1) << i))
			ob_puts(o, "null");
		else
			ob_printf(o, "%" PRIu64, b[i]);
	}
}

void json_head(struct obuf *o, const char *command)
{
	ob_printf(o, "{\"schema\":\"%s\",\"command\":\"%s\"", JSON_SCHEMA,
		  command);
	ob_puts(o, ",\"kernel\":");
	ob_json_str(o, kernel_release());
}

void json_limits(struct obuf *o, uint64_t unavailable, uint64_t approximate)
{
	unsigned int i;
	int n = 0;

	ob_puts(o, ",\"available\":[");
	for (i = 0; i < PAGESCAN_STAT__COUNT; i++)
		if (!(unavailable & (UINT64_C(1) << i)))
			ob_printf(o, "%s\"%s\"", n++ ? "," : "",
				  pagescan_stat_name(i));
	ob_puts(o, "],\"approximate\":[");
	for (i = 0, n = 0; i < PAGESCAN_STAT__COUNT; i++)
		if (approximate & (UINT64_C(1) << i))
			ob_printf(o, "%s\"%s\"", n++ ? "," : "",
				  pagescan_stat_name(i));
	ob_puts(o, "]");
}

void json_target(struct obuf *o, const struct space *s)
{
	ob_printf(o, ",\"pid\":%d,\"comm\":", (int)s->pid);
	ob_json_str(o, s->comm);
	ob_printf(o, ",\"backend\":\"%s\",\"page_size\":%" PRIu64,
		  pagescan_backend_name(pagescan_backend(s->ps)),
		  s->page_size);
	json_limits(o, s->sum.unavailable, s->sum.approximate);
}
