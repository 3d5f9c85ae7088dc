// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan export: the summary of a selection of processes as
 * Prometheus metrics (doc/metrics.md), on stdout or written atomically
 * to a file for node_exporter's textfile collector.  The processes come
 * from the summary's own walk (procs.c), their counts from
 * pagescan_summary(3): the numbers are those `pagescan --all` shows.
 *
 * Cardinality is bounded whatever runs on the host: the top N processes
 * by rss have their own series, the others are summed into one with
 * pid="other"; each of those N has its top M mapping groups (mappings of
 * one name, as --group), the rest summed into mapping="other".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"

static void help(FILE *f, bool serve)
{
	if (serve)
		fprintf(f,
"usage: pagescan serve --listen ADDR:PORT [PID... | --all | --name NAME]\n"
"                      [options]\n"
"\n"
"Answer GET /metrics over HTTP/1.1 with the metrics of pagescan export,\n"
"scanned anew for each request: the text format 0.0.4, or OpenMetrics 1.0\n"
"when the request's Accept header prefers it (as Prometheus does).  ADDR\n"
"is an IPv4 or [IPv6] address (0.0.0.0 or [::] for every interface);\n"
"PORT 0 takes a free port.  The address bound is printed on stdout:\n"
"\"listening on ADDR:PORT\".  SIGTERM or SIGINT stop it (exit 0).\n"
"\n");
	else
		fprintf(f,
"usage: pagescan export [PID... | --all | --name NAME] [options]\n"
"\n"
"The summary of each process (pagescan PID...) as Prometheus metrics, in\n"
"the text exposition format 0.0.4 (or OpenMetrics 1.0): on stdout, or\n"
"written atomically to FILE (a temporary file in FILE's directory,\n"
"fsync, rename) for node_exporter's textfile collector.\n"
"\n");
	fprintf(f,
"Without a PID, --all or --name: every process this user may read.\n"
"The metrics are listed in doc/metrics.md and pagescan(1).\n"
"\n"
"Options:\n"
"  --all             every process this user may read (the default)\n"
"  --name NAME       the processes called NAME (comm or program name);\n"
"                    repeated: any of them\n"
"  --filter TEXT     only processes whose comm contains TEXT; repeated\n"
"  --top N           the N processes with the most rss get their own\n"
"                    series, the rest one summed pid=\"other\" (default 20)\n"
"  --top-mappings M  per process, the M mapping groups with the most rss,\n"
"                    the rest one mapping=\"other\" (default 10; 0: none)\n");
	if (serve)
		fprintf(f,
"  --listen ADDR:PORT  where to listen (required), e.g. 127.0.0.1:9572\n"
"  --timeout SECONDS a client that has not sent its request, or read the\n"
"                    answer, within SECONDS is dropped (default 10)\n");
	else
		fprintf(f,
"  --output FILE     write FILE atomically instead of stdout (mode 0644\n"
"                    less the umask); name it *.prom for node_exporter\n"
"  --openmetrics     OpenMetrics 1.0 (ends with # EOF)\n");
	fprintf(f,
"  -h, --help        this text\n"
"\n%s", exit_help);
}

static int positive(const char *opt, const char *s, uint64_t *v, bool zero)
{
	if (!parse_u64(s, v) && (zero || *v))
		return 0;
	{
		struct obuf o = { 0 };

		ob_text(&o, s);
		err_msg("%s wants a %s decimal number, not '%s'", opt,
			zero ? "non-negative" : "positive", o.buf);
		ob_free(&o);
	}
	return -1;
}

void export_options_free(struct export_opts *eo)
{
	free(eo->so.filters);
	free(eo->so.names);
	free(eo->so.pids);
	eo->so.filters = NULL;
	eo->so.names = NULL;
	eo->so.pids = NULL;
}

int export_options(int argc, char **argv, bool serve, struct export_opts *eo)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "filter", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 't' },
		{ "top-mappings", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "openmetrics", no_argument, NULL, 'O' },
		{ "listen", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sub = serve ? "serve" : "export";
	bool seen_top = false, seen_maps = false, seen_out = false;
	bool seen_listen = false, seen_to = false;
	int c, i;

	memset(eo, 0, sizeof(*eo));
	eo->top = 20;
	eo->top_maps = 10;
	eo->timeout = 10;
	opterr = 0;
	eo->so.filters = calloc((size_t)argc, sizeof(*eo->so.filters));
	eo->so.names = calloc((size_t)argc, sizeof(*eo->so.names));
	eo->so.pids = calloc((size_t)argc, sizeof(*eo->so.pids));
	if (!eo->so.filters || !eo->so.names || !eo->so.pids) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		/* Each command takes only its own options. */
		if ((serve && (c == 'o' || c == 'O')) ||
		    (!serve && (c == 'l' || c == 'T'))) {
			err_msg("%s is an option of pagescan %s, not of %s",
				argv[optind - 1], serve ? "export" : "serve",
				sub);
			return EX_USAGE;
		}
		switch (c) {
		case 'a':
			eo->so.all = true;
			break;
		case 'n':
			eo->so.names[eo->so.nnames++] = optarg;
			break;
		case 'f':
			eo->so.filters[eo->so.nfilters++] = optarg;
			break;
		case 't':
			if (once(&seen_top, "--top") ||
			    positive("--top", optarg, &eo->top, false))
				return EX_USAGE;
			break;
		case 'm':
			if (once(&seen_maps, "--top-mappings") ||
			    positive("--top-mappings", optarg, &eo->top_maps,
				     true))
				return EX_USAGE;
			break;
		case 'o':
			if (once(&seen_out, "--output"))
				return EX_USAGE;
			if (!optarg[0]) {
				err_msg("--output wants a file name");
				return EX_USAGE;
			}
			eo->output = optarg;
			break;
		case 'O':
			eo->om = true;
			break;
		case 'l':
			if (once(&seen_listen, "--listen"))
				return EX_USAGE;
			eo->listen = optarg;
			break;
		case 'T':
			if (once(&seen_to, "--timeout"))
				return EX_USAGE;
			if (parse_seconds(optarg, &eo->timeout) ||
			    eo->timeout <= 0 || eo->timeout > 3600) {
				struct obuf o = { 0 };

				ob_text(&o, optarg);
				err_msg("--timeout wants seconds, more than 0 "
					"and at most 3600, not '%s'", o.buf);
				ob_free(&o);
				return EX_USAGE;
			}
			break;
		case 'h':
			if (help_alone(argc, argv, sub))
				return EX_USAGE;
			help(stdout, serve);
			return -1;
		default:
			return bad_option(argv, sub);
		}
	}
	for (i = optind; i < argc; i++) {
		struct sum_opts *so = &eo->so;
		size_t j;

		if (parse_pid(argv[i], &so->pids[so->npids]))
			return EX_USAGE;
		for (j = 0; j < so->npids; j++)
			if (so->pids[j] == so->pids[so->npids]) {
				err_msg("pid %d given twice", (int)so->pids[j]);
				return EX_USAGE;
			}
		so->npids++;
	}
	if (eo->so.all && (eo->so.npids || eo->so.nnames)) {
		err_msg("--all takes no PID or --name (it means every process)");
		return EX_USAGE;
	}
	if (!eo->so.npids && !eo->so.nnames)
		eo->so.all = true;
	if (serve && !eo->listen) {
		err_msg("serve needs --listen ADDR:PORT (e.g. 127.0.0.1:9572)");
		return EX_USAGE;
	}
	return EX_OK;
}

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

/* ---- the file ---- */

/*
 * @buf into @path so that a reader sees the old file or the new one,
 * whole: a temporary file beside it (node_exporter reads only *.prom,
 * and ours starts with a dot), fsync, rename, fsync of the directory.
 */
static int write_atomic(const char *path, const char *buf, size_t len)
{
	char *dup = strdup(path), *tmp = NULL, *dir;
	mode_t um;
	size_t off = 0;
	int fd = -1, dfd = -1, ret = 0;

	if (!dup)
		return -ENOMEM;
	dir = dirname(dup);
	{
		char *d2 = strdup(path);

		if (!d2 || asprintf(&tmp, "%s/.%s.XXXXXX", dir,
				    basename(d2)) < 0) {
			free(d2);
			free(dup);
			return -ENOMEM;
		}
		free(d2);
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* mkstemp makes it 0600: the collector may run as another user. */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um)) {
		ret = -errno;
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		ret = -errno;
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dup);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts eo;
	struct obuf o = { 0 };
	int ret, first_err;

	ret = export_options(argc, argv, false, &eo);
	if (ret) {
		export_options_free(&eo);
		return ret < 0 ? EX_OK : ret;
	}
	if (eo.output) {
		struct stat st;

		/* Refused before the scan, which may take a while. */
		if (!stat(eo.output, &st) && S_ISDIR(st.st_mode)) {
			struct obuf m = { 0 };

			ob_text(&m, eo.output);
			err_msg("--output %s is a directory; name the file "
				"(e.g. %s/pagescan.prom)", m.buf, m.buf);
			ob_free(&m);
			export_options_free(&eo);
			return EX_USAGE;
		}
	}
	ret = export_metrics(&o, &eo, eo.om, NULL, false, &first_err);
	if (ret) {
		err_msg("%s", ret == -ENOMEM ? "out of memory" :
			"cannot list /proc");
		ret = EX_FAIL;
		goto out;
	}
	if (eo.output) {
		ret = write_atomic(eo.output, o.buf, o.len);
		if (ret) {
			struct obuf m = { 0 };

			ob_text(&m, eo.output);
			err_msg("cannot write %s: %s (it is left as it was)",
				m.buf, strerror(-ret));
			ob_free(&m);
			ret = EX_FAIL;
			goto out;
		}
	} else if ((ret = ob_flush(&o, stdout))) {
		err_msg("writing the output: %s", strerror(-ret));
		ret = EX_FAIL;
		goto out;
	}
	ret = first_err;
out:
	ob_free(&o);
	export_options_free(&eo);
	return ret;
}
