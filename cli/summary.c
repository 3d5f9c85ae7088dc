// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan PID: one row per mapping with what it holds, as
 * pagescan_summary(3) counts it; with several PIDs, --all or --name, one
 * row per process (procs.c).
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
"       pagescan PID PID... | --all | --name NAME  [options]\n"
"\n"
"One row per mapping of process PID, then the process's total; with\n"
"several PIDs, --all or --name, one row per process.  Sizes are bytes in\n"
"powers of 1024 (K, M, G).  The columns:\n"
"  RSS      resident, as the kernel counts it (ps, top, smaps Rss):\n"
"           ANON + FILE + SHMEM\n"
"  ANON     anonymous memory (smaps Anonymous)\n"
"  FILE     page cache of files;  SHMEM  shmem/tmpfs (memfd, /dev/shm)\n"
"  SWAP     swapped out (smaps Swap; not guard pages, not uffd-wp markers)\n"
"  HUGE     in transparent huge pages or hugetlb pages\n"
"  ZERO     mapping the shared zero page (not in RSS)\n"
"  GUARD    guard regions;  SDIRTY  soft-dirty;  WRITTEN  written since\n"
"           write-protected (uffd-wp async memory only)\n"
"  UFFDWP   uffd-wp markers or protected swap entries (not in SWAP)\n"
"  PRESENT  every page mapped in memory: RSS + ZERO + hugetlb pages\n"
"Columns that are 0 in every row are left out, and so are those this\n"
"kernel cannot report (a note says which); the table fits the terminal.\n"
"\n"
"Options:\n"
"  --sort COLUMN    address (default; pid for processes), size, name, or a\n"
"                   column (largest first)\n"
"  --top N          only the first N rows (sorted by rss unless --sort)\n"
"  --filter TEXT    only mappings (or processes) whose name contains\n"
"                   TEXT; repeated: any of them\n"
"  --group          one row per name (all of libc, all [anon], ...): the\n"
"                   PERM column then holds the number of mappings\n"
"  --columns LIST   exactly these columns (all: every one available);\n"
"                   repeated: combined\n"
"  --pages          counts in pages instead of bytes\n"
"  --all            every process this user may read\n"
"  --name NAME      the processes called NAME (comm or program name);\n"
"                   repeated: any of them\n"
"  --baseline FILE  what changed since FILE (saved --json output), as\n"
"                   pagescan diff FILE NOW\n"
"  --json           one JSON object (schema \"" JSON_SCHEMA "\")\n"
"  -h, --help       this text\n"
"\n%s", exit_help);
}

static int parse_sort(const char *s)
{
	int c;

	if (!strcmp(s, "address") || !strcmp(s, "addr") || !strcmp(s, "pid"))
		return SORT_ADDRESS;
	if (!strcmp(s, "size"))
		return SORT_SIZE;
	if (!strcmp(s, "name") || !strcmp(s, "mapping") || !strcmp(s, "comm"))
		return SORT_NAME;
	c = col_find(s);
	if (c >= 0)
		return c;
	{
		struct obuf o = { 0 };

		ob_text(&o, s);
		err_msg("unknown --sort column '%s'; valid: address, size, "
			"name, %s", o.buf, col_list());
		ob_free(&o);
	}
	return -100;
}

static int sort_col;

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a;
	const struct row *y = *(const struct row *const *)b;
	uint64_t vx, vy;

	switch (sort_col) {
	case SORT_ADDRESS:
		return x->start < y->start ? -1 : x->start > y->start;
	case SORT_SIZE:
		vx = x->size;
		vy = y->size;
		break;
	case SORT_NAME:
		return strcmp(row_label(x), row_label(y));
	default:
		vx = col_value(&cols[sort_col], x->b);
		vy = col_value(&cols[sort_col], y->b);
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_label(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a;
	const struct row *y = *(const struct row *const *)b;
	int c = strcmp(row_label(x), row_label(y));

	if (c)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * --group: one row per name.  The rows point into *@out afterwards; the
 * names still belong to the mappings.
 */
static int make_groups(struct row **rows, size_t *nrows, struct row **out)
{
	struct row *g;
	size_t i, n = 0;

	qsort(rows, *nrows, sizeof(*rows), cmp_label);
	g = calloc(*nrows ? *nrows : 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (i = 0; i < *nrows; i++) {
		const struct row *m = rows[i];

		if (n && !strcmp(row_label(&g[n - 1]), row_label(m))) {
			struct row *last = &g[n - 1];

			if (m->start < last->start)
				last->start = m->start;
			if (m->end > last->end)
				last->end = m->end;
			last->size += m->size;
			last->nmaps++;
			stats_add(last->b, m->b);
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

static bool matches(const struct sum_opts *so, const char *name)
{
	size_t i;

	if (!so->nfilters)
		return true;
	for (i = 0; i < so->nfilters; i++)
		if (strstr(name, so->filters[i]))
			return true;
	return false;
}

static bool any_stat(const uint64_t *b)
{
	int i;

	for (i = 0; i < PAGESCAN_STAT__COUNT; i++)
		if (b[i])
			return true;
	return false;
}

/* What the summary found out about a mapping. */
static void json_flags(struct obuf *o, uint32_t flags)
{
	int n = 0;

	ob_puts(o, ",\"flags\":[");
	if (flags & PAGESCAN_VMA_SHMEM)
		ob_printf(o, "%s\"shmem\"", n++ ? "," : "");
	if (flags & PAGESCAN_VMA_HUGETLB)
		ob_printf(o, "%s\"hugetlb\"", n++ ? "," : "");
	if (flags & PAGESCAN_VMA_WPALLOWED)
		ob_printf(o, "%s\"uffd-wp\"", n++ ? "," : "");
	ob_puts(o, "]");
}

static void json_out(struct obuf *o, const struct space *s,
		     const struct sum_opts *so, struct row **rows,
		     size_t nrows, const uint64_t *shown, uint64_t shown_size,
		     size_t shown_maps)
{
	uint64_t u = s->sum.unavailable;
	size_t i;

	json_head(o, "summary");
	json_target(o, s);
	ob_puts(o, ",\"mappings\":[");
	for (i = 0; i < nrows; i++) {
		const struct row *m = rows[i];
		char p[12];

		ob_printf(o, "%s\n{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
			  PRIx64 "\",\"perms\":\"%s\",\"name\":", i ? "," : "",
			  m->start, m->end, so->group ? "" : perms(m->flags, p));
		ob_json_str(o, row_label(m));
		json_flags(o, m->flags);
		ob_printf(o, ",\"size\":%" PRIu64, m->size);
		if (so->group)
			ob_printf(o, ",\"mappings\":%u", m->nmaps);
		ob_puts(o, ",\"bytes\":{");
		json_stats(o, m->b, u, true);
		ob_puts(o, "}}");
	}
	ob_printf(o, "\n],\"shown\":{\"mappings\":%zu,\"size\":%" PRIu64
		  ",\"bytes\":{", shown_maps, shown_size);
	json_stats(o, shown, u, true);
	ob_printf(o, "}},\"total\":{\"mappings\":%" PRIu64 ",\"size\":%"
		  PRIu64 ",\"bytes\":{", s->sum.mappings, s->sum.size);
	json_stats(o, s->sum.total, u, true);
	ob_puts(o, "}},\"unattributed\":{\"bytes\":{");
	json_stats(o, s->sum.unattributed, u, true);
	ob_puts(o, "}}}\n");
}

static void text_out(struct obuf *o, const struct space *s,
		     struct sum_opts *so, struct row **rows, size_t nrows,
		     const uint64_t *shown, uint64_t shown_size,
		     size_t shown_maps)
{
	const uint64_t **vals;
	struct table *t = &so->t;
	int width = term_width(), addrw = 7, sizew = 4, permw = 4, used, k;
	bool other = any_stat(s->sum.unattributed);
	bool subset = shown_maps < s->sum.mappings;
	char line[512], b[32], comm[300];
	size_t i, nv = 0;
	struct obuf c = { 0 };

	ob_text(&c, s->comm);
	snprintf(comm, sizeof(comm), "%s", c.buf ? c.buf : "");
	ob_free(&c);
	snprintf(line, sizeof(line), "pid %d (%s), backend %s, kernel %s, "
		 "page size %s%s", (int)s->pid, comm,
		 pagescan_backend_name(pagescan_backend(s->ps)),
		 kernel_release(), human(s->page_size, b, sizeof(b)),
		 so->in_pages ? ", counts in pages" : "");
	ob_wrap(o, line, 0);

	vals = calloc(nrows + 3, sizeof(*vals));
	if (!vals) {
		o->oom = true;
		return;
	}
	for (i = 0; i < nrows; i++) {
		const struct row *m = rows[i];
		int w = snprintf(b, sizeof(b), "%" PRIx64, m->start);

		if (w > addrw)
			addrw = w;
		w = (int)strlen(human(m->size, b, sizeof(b)));
		if (w > sizew)
			sizew = w;
		if (so->group) {
			w = snprintf(b, sizeof(b), "%u", m->nmaps);
			if (w > permw)
				permw = w;
		}
		vals[nv++] = m->b;
	}
	if (other)
		vals[nv++] = s->sum.unattributed;
	vals[nv++] = s->sum.total;
	if (subset)
		vals[nv++] = shown;
	if ((int)strlen(human(s->sum.size, b, sizeof(b))) > sizew)
		sizew = (int)strlen(b);
	t->unavailable = s->sum.unavailable;
	t->in_pages = so->in_pages;
	t->page_size = s->page_size;
	table_plan(t, vals, nv, addrw + 1 + permw + 1 + sizew, 16, width);
	free(vals);
	used = addrw + 1 + permw + 1 + sizew;
	for (k = 0; k < NCOLS; k++)
		if (t->show[k])
			used += 1 + t->wd[k];

	ob_printf(o, "%-*s %-*s %*s", addrw, "ADDRESS", permw,
		  so->group ? "MAPS" : "PERM", sizew, "SIZE");
	table_heads(o, t);
	ob_puts(o, t->name_below ? "\n  MAPPING\n" : "  MAPPING\n");
	for (i = 0; i < nrows; i++) {
		const struct row *m = rows[i];
		char p[12];

		if (so->group)
			snprintf(p, sizeof(p), "%u", m->nmaps);
		ob_printf(o, "%0*" PRIx64 " %-*s %*s", addrw, m->start, permw,
			  so->group ? p : perms(m->flags, p), sizew,
			  human(m->size, b, sizeof(b)));
		table_values(o, t, m->b);
		ob_puts(o, t->name_below ? "\n  " : "  ");
		ob_text_fit(o, row_label(m), t->name_below ? width - 2 :
			    width - used - 2, false);
		ob_puts(o, "\n");
	}
	if (other) {
		/* Pages of mappings made while the scan ran. */
		ob_printf(o, "%-*s %-*s %*s", addrw, "?", permw, "", sizew,
			  "?");
		table_values(o, t, s->sum.unattributed);
		ob_puts(o, t->name_below ? "\n  (mapped during the scan)\n" :
			"  (mapped during the scan)\n");
	}
	if (subset) {
		ob_printf(o, "%-*s %-*s %*s", addrw, "SHOWN", permw, "", sizew,
			  human(shown_size, b, sizeof(b)));
		table_values(o, t, shown);
		snprintf(line, sizeof(line), "%zu of %" PRIu64 " mappings",
			 shown_maps, s->sum.mappings);
		if ((int)strlen(line) > width - used - 2 && !t->name_below)
			snprintf(line, sizeof(line), "%zu of %" PRIu64, shown_maps,
				 s->sum.mappings);
		ob_printf(o, t->name_below ? "\n  %s\n" : "  %s\n", line);
	}
	ob_printf(o, "%-*s %-*s %*s", addrw, "TOTAL", permw, "", sizew,
		  human(s->sum.size, b, sizeof(b)));
	table_values(o, t, s->sum.total);
	snprintf(line, sizeof(line), "%" PRIu64 " mapping%s%s", s->sum.mappings,
		 s->sum.mappings == 1 ? "" : "s",
		 other ? " and what appeared during the scan" : "");
	if ((int)strlen(line) > width - used - 2 && !t->name_below)
		snprintf(line, sizeof(line), "%" PRIu64 " mapping%s%s",
			 s->sum.mappings, s->sum.mappings == 1 ? "" : "s",
			 other ? " and ?" : "");
	ob_printf(o, t->name_below ? "\n  %s\n" : "  %s\n", line);
	table_notes(o, t, s->sum.approximate);
}

/* One process, per mapping. */
static int one(struct sum_opts *so, pid_t pid)
{
	struct row **rows = NULL, *groups = NULL;
	uint64_t shown[PAGESCAN_STAT_SLOTS] = { 0 }, shown_size = 0;
	struct obuf o = { 0 };
	struct space s;
	size_t i, nrows = 0, nmaps = 0;
	int ret;

	ret = space_begin(&s, pid, true);
	if (ret)
		return ret;
	rows = calloc(s.n ? s.n : 1, sizeof(*rows));
	if (!rows)
		goto oom;
	for (i = 0; i < s.n; i++)
		if (matches(so, row_label(&s.m[i])))
			rows[nrows++] = &s.m[i];
	if (so->group && nrows && make_groups(rows, &nrows, &groups))
		goto oom;
	sort_col = so->sort;
	qsort(rows, nrows, sizeof(*rows), cmp_rows);
	if (so->top && so->top < nrows)
		nrows = so->top;
	for (i = 0; i < nrows; i++) {
		stats_add(shown, rows[i]->b);
		shown_size += rows[i]->size;
		nmaps += rows[i]->nmaps;
	}
	if (so->json || so->baseline)
		json_out(&o, &s, so, rows, nrows, shown, shown_size, nmaps);
	else
		text_out(&o, &s, so, rows, nrows, shown, shown_size, nmaps);
	free(rows);
	free(groups);
	space_end(&s);
	if (o.oom)
		goto oom_out;
	if (so->baseline) {
		char name[32];

		snprintf(name, sizeof(name), "pid %d now", (int)pid);
		ret = diff_with(so->baseline, name, o.buf, o.len, so);
		ob_free(&o);
		return ret;
	}
	ret = ob_flush(&o, stdout);
	ob_free(&o);
	if (ret) {
		err_msg("writing the output: %s", strerror(-ret));
		return EX_FAIL;
	}
	return EX_OK;
oom:
	free(rows);
	free(groups);
	space_end(&s);
oom_out:
	ob_free(&o);
	err_msg("out of memory");
	return EX_FAIL;
}

int cmd_summary(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "pages", no_argument, NULL, 'p' },
		{ "group", no_argument, NULL, 'g' },
		{ "columns", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "baseline", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool seen_sort = false, seen_top = false, seen_base = false;
	struct sum_opts so = { .sort = SORT_ADDRESS };
	int c, ret, i;

	opterr = 0;
	so.filters = calloc((size_t)argc, sizeof(*so.filters));
	so.names = calloc((size_t)argc, sizeof(*so.names));
	so.pids = calloc((size_t)argc, sizeof(*so.pids));
	if (!so.filters || !so.names || !so.pids) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	ret = -1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (once(&seen_sort, "--sort"))
				goto out;
			so.sort = parse_sort(optarg);
			if (so.sort == -100)
				goto out;
			so.sorted = true;
			break;
		case 't':
			if (once(&seen_top, "--top"))
				goto out;
			if (parse_u64(optarg, &so.top) || !so.top) {
				struct obuf o = { 0 };

				ob_text(&o, optarg);
				err_msg("--top wants a positive decimal number, "
					"not '%s'", o.buf);
				ob_free(&o);
				goto out;
			}
			break;
		case 'f':
			so.filters[so.nfilters++] = optarg;
			break;
		case 'p':
			so.in_pages = true;
			break;
		case 'g':
			so.group = true;
			break;
		case 'c':
			if (columns_option(optarg, so.t.show))
				goto out;
			so.t.forced = true;
			break;
		case 'a':
			so.all = true;
			break;
		case 'n':
			so.names[so.nnames++] = optarg;
			break;
		case 'B':
			if (once(&seen_base, "--baseline"))
				goto out;
			so.baseline = optarg;
			break;
		case 'j':
			so.json = true;
			break;
		case 'h':
			if (help_alone(argc, argv, "summary"))
				goto out;
			help(stdout);
			ret = EX_OK;
			goto done;
		default:
			ret = bad_option(argv, "summary");
			goto done;
		}
	}
	for (i = optind; i < argc; i++) {
		size_t j;

		if (parse_pid(argv[i], &so.pids[so.npids]))
			goto out;
		for (j = 0; j < so.npids; j++)
			if (so.pids[j] == so.pids[so.npids]) {
				err_msg("pid %d given twice", (int)so.pids[j]);
				goto out;
			}
		so.npids++;
	}
	if (so.all && (so.npids || so.nnames)) {
		err_msg("--all takes no PID or --name (it means every process)");
		goto out;
	}
	if (!so.all && !so.nnames && !so.npids) {
		err_msg("which process? (a PID, --all or --name NAME)");
		goto out;
	}
	if (so.top && !so.sorted)
		so.sort = 0;	/* rss */
	if (so.all || so.nnames || so.npids > 1)
		ret = cmd_procs(&so);
	else
		ret = one(&so, so.pids[0]);
	goto done;
out:
	ret = EX_USAGE;
done:
	free(so.filters);
	free(so.names);
	free(so.pids);
	return ret;
}
