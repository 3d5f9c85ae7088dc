// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan PID: one row per mapping with its page counts.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan PID [options]\n"
"       pagescan summary PID [options]\n"
"\n"
"One row per mapping of process PID: its address, permissions, size and\n"
"how much of it is present (resident), swapped, file-backed (page cache\n"
"or shmem), the shared zero page, huge (THP or hugetlb), soft-dirty and\n"
"guard pages, then the totals.  Categories this kernel cannot report\n"
"are shown as n/a (null in JSON), never as 0.\n"
"\n"
"Options:\n"
"  --sort COLUMN   address (default), size, name, present, swapped,\n"
"                  file, zero, huge, soft-dirty or guard (largest first)\n"
"  --top N         only the first N rows (sorted by present unless\n"
"                  --sort is given)\n"
"  --filter TEXT   only mappings whose name contains TEXT\n"
"  --pages         counts in pages instead of bytes\n"
"  --group         one row per name (all of libc, all [anon], ...): the\n"
"                  PERM column then holds the number of mappings\n"
"  --json          one JSON object (schema \"" JSON_SCHEMA "\")\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

/* -3 name, -2 size, -1 address, else an index in cols[] */
static int sort_col;

static int cmp_rows(const void *a, const void *b)
{
	const struct mapping *x = *(const struct mapping *const *)a;
	const struct mapping *y = *(const struct mapping *const *)b;
	uint64_t vx, vy;

	switch (sort_col) {
	case -1:
		return x->start < y->start ? -1 : x->start > y->start;
	case -2:
		vx = x->size;
		vy = y->size;
		break;
	case -3:
		return strcmp(mapping_label(x), mapping_label(y));
	default:
		vx = col_get(&x->c, &cols[sort_col]);
		vy = col_get(&y->c, &cols[sort_col]);
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_label(const void *a, const void *b)
{
	const struct mapping *x = *(const struct mapping *const *)a;
	const struct mapping *y = *(const struct mapping *const *)b;
	int c = strcmp(mapping_label(x), mapping_label(y));

	if (c)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * --group: one row per name.  The rows point into *@out afterwards; the
 * names still belong to the mappings.
 */
static int make_groups(struct mapping **rows, size_t *nrows,
		       struct mapping **out)
{
	struct mapping *g;
	size_t i, n = 0;

	qsort(rows, *nrows, sizeof(*rows), cmp_label);
	g = calloc(*nrows, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (i = 0; i < *nrows; i++) {
		const struct mapping *m = rows[i];

		if (n && !strcmp(mapping_label(&g[n - 1]), mapping_label(m))) {
			struct mapping *last = &g[n - 1];

			if (m->start < last->start)
				last->start = m->start;
			if (m->end > last->end)
				last->end = m->end;
			last->size += m->size;
			last->nmaps++;
			counts_add(&last->c, &m->c);
			continue;
		}
		g[n++] = *m;
	}
	for (i = 0; i < n; i++)
		rows[i] = &g[i];
	*nrows = n;
	*out = g;
	return 0;
}

static int parse_sort(const char *s)
{
	int i;

	if (!strcmp(s, "address") || !strcmp(s, "addr"))
		return -1;
	if (!strcmp(s, "size"))
		return -2;
	if (!strcmp(s, "name") || !strcmp(s, "mapping"))
		return -3;
	if (!strcmp(s, "soft_dirty") || !strcmp(s, "softdirty"))
		return 5;
	if (!strcmp(s, "pfnzero"))
		return 3;
	for (i = 0; i < NCOLS; i++)
		if (!strcmp(s, cols[i].name))
			return i;
	err_msg("unknown --sort column '%s'; valid: address, size, name, "
		"present, swapped, file, zero, huge, soft-dirty, guard", s);
	return -100;
}

static void value(struct obuf *o, const struct space *s, const struct col *k,
		  uint64_t pages, bool in_pages, int width)
{
	char buf[32];

	if (!(s->avail & k->cat))
		ob_printf(o, " %*s", width, "n/a");
	else if (in_pages)
		ob_printf(o, " %*" PRIu64, width, pages);
	else
		ob_printf(o, " %*s", width,
			  human(pages * s->page_size, buf, sizeof(buf)));
}

void json_counts(struct obuf *o, const struct space *s,
		 const struct counts *c, bool first)
{
	int i;

	for (i = 0; i < NCOLS; i++) {
		ob_printf(o, "%s\"%s\":", first && !i ? "" : ",",
			  cols[i].json);
		if (s->avail & cols[i].cat)
			ob_printf(o, "%" PRIu64, col_get(c, &cols[i]));
		else
			ob_puts(o, "null");
	}
}

/* The fields every JSON object starts with. */
void json_head(struct obuf *o, const char *command, const struct space *s)
{
	char comm[64], b[32];
	int i, n = 0;

	ob_printf(o, "{\"schema\":\"%s\",\"command\":\"%s\"", JSON_SCHEMA,
		  command);
	ob_puts(o, ",\"kernel\":");
	ob_json_str(o, kernel_release());
	if (!s)
		return;
	ob_printf(o, ",\"pid\":%d,\"comm\":", (int)s->pid);
	ob_json_str(o, proc_comm(s->pid, comm, sizeof(comm)));
	ob_printf(o, ",\"backend\":\"%s\",\"page_size\":%" PRIu64,
		  pagescan_backend_name(pagescan_backend(s->ps)),
		  s->page_size);
	ob_puts(o, ",\"available\":[");
	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		if (s->avail & (UINT64_C(1) << i))
			ob_printf(o, "%s\"%s\"", n++ ? "," : "",
				  cat_names(UINT64_C(1) << i, b, sizeof(b)));
	ob_puts(o, "]");
}

int cmd_summary(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "pages", no_argument, NULL, 'p' },
		{ "group", no_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *filter = NULL;
	bool json = false, in_pages = false, sorted = false, group = false;
	struct mapping *groups = NULL;
	uint64_t top = 0;
	struct mapping **rows = NULL;
	struct counts tot = { 0 };
	struct obuf o = { 0 };
	struct space s;
	size_t i, nrows = 0, nmaps = 0;
	pid_t pid;
	int c, ret;

	sort_col = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			sort_col = parse_sort(optarg);
			if (sort_col == -100)
				return EX_USAGE;
			sorted = true;
			break;
		case 't':
			if (parse_u64(optarg, &top) || !top) {
				err_msg("--top wants a positive number, not "
					"'%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'f':
			filter = optarg;
			break;
		case 'p':
			in_pages = true;
			break;
		case 'g':
			group = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "summary");
		}
	}
	if (pid_operand(argc, argv, &pid))
		return EX_USAGE;
	if (top && !sorted)
		sort_col = 0;

	ret = space_begin(&s, pid, true);
	if (ret)
		return ret;
	rows = calloc(s.n ? s.n : 1, sizeof(*rows));
	if (!rows) {
		err_msg("out of memory");
		space_end(&s);
		return EX_FAIL;
	}
	for (i = 0; i < s.n; i++) {
		if (filter && !strstr(mapping_label(&s.m[i]), filter))
			continue;
		rows[nrows++] = &s.m[i];
	}
	if (group && nrows) {
		ret = make_groups(rows, &nrows, &groups);
		if (ret) {
			err_msg("out of memory");
			free(rows);
			space_end(&s);
			return EX_FAIL;
		}
	}
	qsort(rows, nrows, sizeof(*rows), cmp_rows);
	if (top && top < nrows)
		nrows = top;
	for (i = 0; i < nrows; i++) {
		counts_add(&tot, &rows[i]->c);
		nmaps += rows[i]->nmaps;
	}

	if (json) {
		uint64_t size = 0;

		json_head(&o, "summary", &s);
		ob_puts(&o, ",\"mappings\":[");
		for (i = 0; i < nrows; i++) {
			const struct mapping *m = rows[i];
			char p[12];

			size += m->size;
			ob_printf(&o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
				  PRIx64 "\",\"perms\":\"%s\",\"name\":",
				  i ? "," : "", m->start, m->end,
				  group ? "" : perms(m->flags, p));
			ob_json_str(&o, mapping_label(m));
			ob_printf(&o, ",\"pages\":%" PRIu64,
				  m->size / s.page_size);
			if (group)
				ob_printf(&o, ",\"mappings\":%u", m->nmaps);
			json_counts(&o, &s, &m->c, false);
			ob_puts(&o, "}");
		}
		ob_printf(&o, "],\"total\":{\"mappings\":%zu,\"pages\":%"
			  PRIu64, nmaps, size / s.page_size);
		json_counts(&o, &s, &tot, false);
		ob_puts(&o, "},\"unattributed\":{");
		json_counts(&o, &s, &s.other, true);
		ob_puts(&o, "}}\n");
	} else {
		char comm[64], b[32];
		uint64_t size = 0;
		int k;

		ob_printf(&o, "pid %d (%s), backend %s, page size %s, kernel "
			  "%s%s\n", (int)pid,
			  proc_comm(pid, comm, sizeof(comm)),
			  pagescan_backend_name(pagescan_backend(s.ps)),
			  human(s.page_size, b, sizeof(b)), kernel_release(),
			  in_pages ? ", counts in pages" : "");
		ob_printf(&o, "%-16s %-4s %6s", "ADDRESS",
			  group ? "MAPS" : "PERM", "SIZE");
		for (k = 0; k < NCOLS; k++) {
			char head[16];
			int j;

			for (j = 0; cols[k].name[j] && j < 15; j++)
				head[j] = (char)toupper((unsigned char)
							 cols[k].name[j]);
			head[j] = '\0';
			ob_printf(&o, " %*s", k == 5 ? 10 : 7, head);
		}
		ob_puts(&o, "  MAPPING\n");
		for (i = 0; i < nrows; i++) {
			const struct mapping *m = rows[i];
			char p[12];

			size += m->size;
			if (group)
				snprintf(p, sizeof(p), "%u", m->nmaps);
			ob_printf(&o, "%016" PRIx64 " %-4s %6s", m->start,
				  group ? p : perms(m->flags, p),
				  human(m->size, b, sizeof(b)));
			for (k = 0; k < NCOLS; k++)
				value(&o, &s, &cols[k],
				      col_get(&m->c, &cols[k]), in_pages,
				      k == 5 ? 10 : 7);
			ob_printf(&o, "  %s\n", mapping_label(m));
		}
		if (s.other.present || s.other.swapped || s.other.guard) {
			/* Pages of mappings made while we scanned. */
			ob_printf(&o, "%-16s %-4s %6s", "?", "", "?");
			for (k = 0; k < NCOLS; k++)
				value(&o, &s, &cols[k],
				      col_get(&s.other, &cols[k]), in_pages,
				      k == 5 ? 10 : 7);
			ob_puts(&o, "  (mapped during the scan)\n");
		}
		ob_printf(&o, "%-16s %-4s %6s", "TOTAL", "",
			  human(size, b, sizeof(b)));
		for (k = 0; k < NCOLS; k++)
			value(&o, &s, &cols[k], col_get(&tot, &cols[k]),
			      in_pages, k == 5 ? 10 : 7);
		ob_printf(&o, "  %zu mapping%s%s\n", nmaps,
			  nmaps == 1 ? "" : "s", nmaps < s.n ? " shown" : "");
	}
	free(rows);
	free(groups);
	space_end(&s);
	ret = ob_flush(&o, stdout);
	ob_free(&o);
	if (ret) {
		err_msg("writing the output: %s", strerror(-ret));
		return EX_FAIL;
	}
	return EX_OK;
}
