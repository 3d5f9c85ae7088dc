// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The metrics of pagescan export and pagescan serve (doc/metrics.md):
 * the processes from the summary's own walk (procs.c), each one's
 * mappings grouped by name as they are taken, then the top N processes
 * by rss with their own series and the rest summed into pid="other",
 * rendered through prom.c's formats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "prom.h"

/* ---- mapping groups ---- */

struct group {
	char *label;		/* valid UTF-8 (prom_utf8), owned */
	uint64_t size;
	uint64_t b[PAGESCAN_STAT_SLOTS];
};

struct groups {
	size_t n;
	struct group g[];	/* by rss, the last one "other" if any */
};

struct collect {
	struct group *e;	/* the mappings of the process being taken */
	size_t n, cap;
	uint64_t top_maps;
};

static int on_mapping(const struct pagescan_mapping *m, void *ctx)
{
	struct collect *c = ctx;
	struct obuf o = { 0 };
	struct group *g;

	if (!c->top_maps)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		g = realloc(c->e, cap * sizeof(*g));
		if (!g)
			return 1;
		c->e = g;
		c->cap = cap;
	}
	/* Grouped by the label Prometheus will see: never two alike. */
	if (m->name && m->name[0])
		prom_utf8(&o, m->name);
	else
		ob_puts(&o, m->flags & PAGESCAN_VMA_SHARED ? "[anon shared]" :
			"[anon]");
	if (o.oom || !o.buf) {
		ob_free(&o);
		return 1;
	}
	g = &c->e[c->n++];
	g->label = o.buf;
	g->size = m->end - m->start;
	memcpy(g->b, m->bytes, sizeof(g->b));
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->label,
		      ((const struct group *)b)->label);
}

static int cmp_rss(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	uint64_t vx = x->b[PAGESCAN_STAT_RSS], vy = y->b[PAGESCAN_STAT_RSS];

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->label, y->label);
}

static void drop_entries(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->e[i].label);
	c->n = 0;
}

/* The mappings of @p into its top groups and "other". */
static int on_done(struct proc *p, void *ctx)
{
	struct collect *c = ctx;
	struct groups *gs;
	size_t i, n = 0, keep;

	if (!p || !c->top_maps) {
		drop_entries(c);
		return 0;
	}
	qsort(c->e, c->n, sizeof(*c->e), cmp_label);
	for (i = 0; i < c->n; i++) {
		if (n && !strcmp(c->e[n - 1].label, c->e[i].label)) {
			c->e[n - 1].size += c->e[i].size;
			stats_add(c->e[n - 1].b, c->e[i].b);
			free(c->e[i].label);
			continue;
		}
		c->e[n++] = c->e[i];
	}
	c->n = n;
	qsort(c->e, n, sizeof(*c->e), cmp_rss);
	keep = n > c->top_maps ? c->top_maps : n;
	gs = calloc(1, sizeof(*gs) + (keep + 1) * sizeof(gs->g[0]));
	if (!gs) {
		drop_entries(c);
		return -ENOMEM;
	}
	memcpy(gs->g, c->e, keep * sizeof(gs->g[0]));
	gs->n = keep;
	if (keep < n) {
		struct group *o = &gs->g[gs->n++];

		o->label = strdup("other");
		for (i = keep; i < n; i++) {
			o->size += c->e[i].size;
			stats_add(o->b, c->e[i].b);
			free(c->e[i].label);
		}
		if (!o->label) {
			for (i = 0; i < gs->n - 1; i++)
				free(gs->g[i].label);
			free(gs);
			c->n = 0;
			return -ENOMEM;
		}
	}
	c->n = 0;
	p->priv = gs;
	return 0;
}

static void groups_free(struct procs *ps)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		struct groups *gs = ps->p[i].priv;

		if (!gs)
			continue;
		for (j = 0; j < gs->n; j++)
			free(gs->g[j].label);
		free(gs);
		ps->p[i].priv = NULL;
	}
}

static int cmp_proc_rss(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;
	uint64_t vx = x->sum.total[PAGESCAN_STAT_RSS];
	uint64_t vy = y->sum.total[PAGESCAN_STAT_RSS];

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* ---- the metrics ---- */

static const char *const stat_help[PAGESCAN_STAT__COUNT] = {
	[PAGESCAN_STAT_RSS] = "Resident memory: anon + file + shmem, as "
		"smaps Rss counts it.",
	[PAGESCAN_STAT_ANON] = "Resident anonymous memory (smaps Anonymous).",
	[PAGESCAN_STAT_FILE] = "Resident page cache of files, not shmem.",
	[PAGESCAN_STAT_SHMEM] = "Resident shmem/tmpfs memory (memfd, SysV, "
		"/dev/shm).",
	[PAGESCAN_STAT_SWAPPED] = "Memory swapped out (smaps Swap).",
	[PAGESCAN_STAT_THP] = "Memory in PMD-mapped transparent huge pages; "
		"huge = thp + hugetlb.",
	[PAGESCAN_STAT_HUGETLB] = "Memory in hugetlb pages (not in rss).",
	[PAGESCAN_STAT_ZERO] = "Memory mapping the shared zero page (not in "
		"rss).",
	[PAGESCAN_STAT_GUARD] = "Guard regions (MADV_GUARD_INSTALL).",
	[PAGESCAN_STAT_SOFT_DIRTY] = "Memory soft-dirty since the last "
		"clear_refs (present or swapped).",
	[PAGESCAN_STAT_WRITTEN] = "Memory written since it was "
		"write-protected (uffd-wp async mappings only).",
	[PAGESCAN_STAT_PRESENT] = "Every page mapped in memory: rss + zero + "
		"hugetlb.",
	[PAGESCAN_STAT_WP_MARKER] = "Pages with a uffd-wp marker or a "
		"protected swap entry.",
};

struct view {
	struct prom p;
	const struct procs *ps;
	size_t top;		/* ps->p[0..top) have their own series */
	uint64_t other[PAGESCAN_STAT_SLOTS];
	uint64_t other_size, other_maps;
	uint64_t other_unavail;
	uint64_t unavail;	/* unavailable in every process */
	uint64_t approx;	/* approximate in any process */
};

static void proc_labels(const struct proc *p, const char *lv[4],
			char pid[16])
{
	snprintf(pid, 16, "%d", (int)p->pid);
	lv[0] = "pid";
	lv[1] = pid;
	lv[2] = "comm";
	lv[3] = p->comm;
}

static void proc_family(struct view *v, const char *metric, int stat,
			const char *help)
{
	const char *lv[4];
	char pid[16];
	size_t i;

	prom_family(&v->p, metric, "gauge", strstr(metric, "_bytes") ?
		    "bytes" : NULL, help);
	for (i = 0; i < v->top; i++) {
		const struct proc *p = &v->ps->p[i];
		uint64_t val;

		if (stat >= 0 && (p->sum.unavailable >> stat & 1))
			continue;
		val = stat >= 0 ? p->sum.total[stat] : stat == -1 ?
		      p->sum.size : p->sum.mappings;
		proc_labels(p, lv, pid);
		prom_sample_u64(&v->p, metric, false, lv, 2, val);
	}
	if (v->top < v->ps->n &&
	    (stat < 0 || !(v->other_unavail >> stat & 1))) {
		static const char *const olv[] = { "pid", "other" };

		prom_sample_u64(&v->p, metric, false, olv, 1, stat >= 0 ?
				v->other[stat] : stat == -1 ? v->other_size :
				v->other_maps);
	}
}

static void mapping_family(struct view *v, const char *metric, int stat,
			   const char *help)
{
	const char *lv[6];
	char pid[16];
	size_t i, j;

	prom_family(&v->p, metric, "gauge", "bytes", help);
	for (i = 0; i < v->top; i++) {
		const struct proc *p = &v->ps->p[i];
		const struct groups *gs = p->priv;

		if (!gs || (stat >= 0 && (p->sum.unavailable >> stat & 1)))
			continue;
		proc_labels(p, lv, pid);
		lv[4] = "mapping";
		for (j = 0; j < gs->n; j++) {
			lv[5] = gs->g[j].label;
			prom_sample_u64(&v->p, metric, false, lv, 3, stat >= 0 ?
					gs->g[j].b[stat] : gs->g[j].size);
		}
	}
}

static const char *const skip_label[SK__N] = {
	"kernel_thread", "zombie", "permission", "exited", "error",
};

static double now(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage r;

	if (getrusage(RUSAGE_SELF, &r))
		return 0;
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void render(struct view *v, const struct export_opts *eo,
		   double secs, double cpu, double when,
		   const struct serve_stats *st)
{
	struct prom *p = &v->p;
	char metric[96];
	size_t i;
	int s;

	prom_family(p, "pagescan_build_info", "gauge", NULL,
		    "The pagescan that exported these metrics, and the "
		    "kernel it ran on.");
	{
		const char *lv[] = { "version", pagescan_version_string(),
				     "kernel", kernel_release() };

		prom_sample(p, "pagescan_build_info", false, lv, 2, "1");
	}
	for (s = 0; s < PAGESCAN_STAT__COUNT; s++) {
		if (v->unavail >> s & 1)
			continue;
		snprintf(metric, sizeof(metric), "pagescan_process_%s_bytes",
			 pagescan_stat_name((unsigned int)s));
		proc_family(v, metric, s, stat_help[s]);
	}
	proc_family(v, "pagescan_process_virtual_bytes", -1,
		    "Size of the address space: the sum of the mappings' "
		    "sizes.");
	proc_family(v, "pagescan_process_mappings", -2,
		    "Number of mappings (as lines of /proc/PID/maps).");
	if (eo->top_maps) {
		for (s = 0; s < PAGESCAN_STAT__COUNT; s++) {
			if (v->unavail >> s & 1)
				continue;
			snprintf(metric, sizeof(metric),
				 "pagescan_mapping_%s_bytes",
				 pagescan_stat_name((unsigned int)s));
			mapping_family(v, metric, s, stat_help[s]);
		}
		mapping_family(v, "pagescan_mapping_virtual_bytes", -1,
			       "Size of the mappings of this name.");
	}

	prom_family(p, "pagescan_statistic_approximate", "gauge", NULL,
		    "1 if the statistic may over-count for some process of "
		    "the scan (pagescan_summary(3)), else 0.");
	for (s = 0; s < PAGESCAN_STAT__COUNT; s++) {
		const char *lv[] = { "statistic",
				     pagescan_stat_name((unsigned int)s) };

		if (v->unavail >> s & 1)
			continue;
		prom_sample_u64(p, "pagescan_statistic_approximate", false, lv,
				1, v->approx >> s & 1);
	}
	prom_family(p, "pagescan_scan_processes_scanned", "gauge", NULL,
		    "Processes scanned by the last scan.");
	prom_sample_u64(p, "pagescan_scan_processes_scanned", false, NULL, 0,
			v->ps->n);
	prom_family(p, "pagescan_scan_processes_skipped", "gauge", NULL,
		    "Processes the last scan skipped, by reason.");
	for (i = 0; i < SK__N; i++) {
		const char *lv[] = { "reason", skip_label[i] };

		prom_sample_u64(p, "pagescan_scan_processes_skipped", false,
				lv, 1, v->ps->count[i]);
	}
	prom_family(p, "pagescan_scan_duration_seconds", "gauge", "seconds",
		    "Wall-clock time the last scan took.");
	prom_sample_f(p, "pagescan_scan_duration_seconds", false, NULL, 0,
		      secs);
	prom_family(p, "pagescan_scan_cpu_seconds", "gauge", "seconds",
		    "CPU time (user + system) the last scan took.");
	prom_sample_f(p, "pagescan_scan_cpu_seconds", false, NULL, 0, cpu);
	prom_family(p, "pagescan_scan_timestamp_seconds", "gauge", "seconds",
		    "When the last scan ended, in seconds since the epoch.");
	prom_sample_f(p, "pagescan_scan_timestamp_seconds", false, NULL, 0,
		      when);
	if (st) {
		static const char *const code[6] = {
			"200", "400", "404", "405", "408", "other",
		};

		prom_family(p, "pagescan_serve_scans", "counter", NULL,
			    "Scans made by pagescan serve since it started.");
		prom_sample_u64(p, "pagescan_serve_scans", true, NULL, 0,
				st->scrapes);
		prom_family(p, "pagescan_serve_scan_seconds", "counter",
			    "seconds", "Wall-clock time spent scanning since "
			    "pagescan serve started.");
		prom_sample_f(p, "pagescan_serve_scan_seconds", true, NULL, 0,
			      st->scan_seconds);
		prom_family(p, "pagescan_serve_requests", "counter", NULL,
			    "HTTP requests answered, by status code.");
		for (i = 0; i < 6; i++) {
			const char *lv[] = { "code", code[i] };

			prom_sample_u64(p, "pagescan_serve_requests", true, lv,
					1, st->requests[i]);
		}
	}
	prom_end(p);
}

int export_metrics(struct obuf *o, const struct export_opts *eo, bool om,
		   const struct serve_stats *st, bool quiet, int *first_err)
{
	struct collect c = { .top_maps = eo->top_maps };
	struct proc_hook hook = { on_mapping, on_done, &c };
	struct procs ps = { 0 };
	struct view v = { .p = { o, om }, .ps = &ps };
	double t0, c0, secs, cpu;
	size_t i;
	int ret;

	*first_err = 0;
	t0 = now(CLOCK_MONOTONIC);
	c0 = cpu_seconds();
	ret = procs_collect(&ps, &eo->so, &hook);
	drop_entries(&c);
	free(c.e);
	if (ret)
		goto out;
	secs = now(CLOCK_MONOTONIC) - t0;
	cpu = cpu_seconds() - c0;
	if (!eo->so.all && !eo->so.nnames) {
		/* A PID the user named and we could not read: say so. */
		for (i = 0; i < ps.ns; i++) {
			const struct skipped *s = &ps.s[i];

			if (!quiet) {
				struct obuf m = { 0 };

				ob_text(&m, s->comm);
				err_msg("pid %d (%s): %s", (int)s->pid, m.buf,
					s->err ? lib_error(-s->err) :
					skip_names[s->why]);
				ob_free(&m);
			}
			if (!*first_err)
				*first_err = s->err ? exit_code(-s->err) :
					     EX_NOPROC;
		}
	}
	qsort(ps.p, ps.n, sizeof(*ps.p), cmp_proc_rss);
	v.top = eo->top < ps.n ? (size_t)eo->top : ps.n;
	v.unavail = ps.n ? ~UINT64_C(0) : 0;
	for (i = 0; i < ps.n; i++) {
		const struct proc *p = &ps.p[i];

		v.unavail &= p->sum.unavailable;
		v.approx |= p->sum.approximate;
		if (i < v.top)
			continue;
		stats_add(v.other, p->sum.total);
		v.other_size += p->sum.size;
		v.other_maps += p->sum.mappings;
		v.other_unavail |= p->sum.unavailable;
	}
	render(&v, eo, secs, cpu, now(CLOCK_REALTIME), st);
	if (o->oom)
		ret = -ENOMEM;
out:
	groups_free(&ps);
	procs_free(&ps);
	return ret;
}
