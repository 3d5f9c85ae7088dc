// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan PID PID..., --all, --name NAME: one row per process, with
 * totals, and the processes skipped with the reason.
 *
 * The enumeration of /proc lives here, not in the library: which
 * processes to take and how to report the others is the command's
 * policy, it needs nothing but what pagescan_open() and
 * pagescan_summary() already say, and a binding enumerates processes in
 * its own language (os.listdir) around the same per-process call, so
 * that a handle's lifetime stays in its caller's hands.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PF_KTHREAD 0x00200000

const char *const skip_names[SK__N] = {
	"kernel thread", "zombie", "no permission", "exited", "error",
};
static const char *const skip_why[SK__N] = {
	"no user memory", "exited, not yet reaped: no memory",
	"no ptrace read access: run as root, or as their user",
	"exited while pagescan ran", "the scan failed",
};

/* comm, state and flags from /proc/PID/stat; -1 if it is gone. */
static int proc_stat(pid_t pid, char comm[64], char *state,
		     unsigned long *flags)
{
	char path[64], buf[1024], *l, *r;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (comm) S ..."; comm may hold ')' and spaces: the last ')'. */
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r < l)
		return -1;
	n = (size_t)(r - l - 1);
	if (n > 63)
		n = 63;
	memcpy(comm, l + 1, n);
	comm[n] = '\0';
	if (sscanf(r + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) != 2)
		return -1;
	return 0;
}

/* The program name: the last part of argv[0]. */
static bool argv0_is(pid_t pid, const char *name)
{
	char path[64], buf[4096], *b;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	b = strrchr(buf, '/');
	return !strcmp(b ? b + 1 : buf, name);
}

static bool named(const struct sum_opts *so, pid_t pid, const char *comm)
{
	size_t i;

	for (i = 0; i < so->nnames; i++)
		if (!strcmp(comm, so->names[i]) || argv0_is(pid, so->names[i]))
			return true;
	return false;
}

static int skip(struct procs *ps, pid_t pid, const char *comm, enum skip why,
		int err)
{
	if (ps->ns == ps->scap) {
		size_t cap = ps->scap ? ps->scap * 2 : 64;
		struct skipped *n = realloc(ps->s, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ps->s = n;
		ps->scap = cap;
	}
	ps->s[ps->ns].pid = pid;
	snprintf(ps->s[ps->ns].comm, sizeof(ps->s[ps->ns].comm), "%s", comm);
	ps->s[ps->ns].why = why;
	ps->s[ps->ns].err = err;
	ps->ns++;
	ps->count[why]++;
	return 0;
}

static enum skip skip_of(int err)
{
	if (err == -EACCES || err == -EPERM)
		return SK_PERM;
	if (err == -ESRCH || err == -ENOENT)
		return SK_EXITED;
	return SK_ERROR;
}

/* One process: a row, or a reason to skip it. */
static int take(struct procs *ps, const struct sum_opts *so, pid_t pid,
		bool asked, const struct proc_hook *hook)
{
	struct pagescan *h;
	struct proc *p;
	unsigned long flags = 0;
	char comm[64] = "?", state = '?';
	int ret;

	if (proc_stat(pid, comm, &state, &flags))
		return asked ? skip(ps, pid, "?", SK_EXITED, -ESRCH) : 0;
	if (!asked && so->nnames && !named(so, pid, comm))
		return 0;
	if (so->nfilters) {
		size_t i;
		bool hit = false;

		for (i = 0; i < so->nfilters; i++)
			hit |= strstr(comm, so->filters[i]) != NULL;
		if (!hit)
			return 0;
	}
	if (flags & PF_KTHREAD)
		return skip(ps, pid, comm, SK_KTHREAD, 0);
	if (state == 'Z' || state == 'X')
		return skip(ps, pid, comm, SK_ZOMBIE, 0);
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 256;
		struct proc *n = realloc(ps->p, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ps->p = n;
		ps->cap = cap;
	}
	p = &ps->p[ps->n];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	memcpy(p->comm, comm, sizeof(p->comm));
	ret = target_open(pid, &h, true);
	if (ret)
		return skip(ps, pid, comm, skip_of(ret), ret);
	p->backend = pagescan_backend_name(pagescan_backend(h));
	p->sum.sz = sizeof(p->sum);
	ret = pagescan_summary(h, 0, UINT64_MAX, NULL,
			       hook ? hook->mapping : NULL,
			       hook ? hook->ctx : NULL, &p->sum);
	pagescan_close(h);
	/* The hook's own failure (positive: see proc_hook) ends the walk. */
	if (ret > 0) {
		if (hook->done)
			hook->done(NULL, hook->ctx);
		return -ENOMEM;
	}
	/* A process that exited between its stat and its scan. */
	if (!ret && !p->sum.mappings)
		ret = 1;
	if (ret) {
		if (hook && hook->done)
			hook->done(NULL, hook->ctx);
		if (ret == 1)
			return skip(ps, pid, comm, SK_ZOMBIE, 0);
		return skip(ps, pid, comm, skip_of(ret), ret);
	}
	ps->n++;
	if (hook && hook->done)
		return hook->done(p, hook->ctx);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* Every numeric entry of /proc, in pid order. */
static int list_pids(pid_t **out, size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t cap = 0;
	pid_t *p = NULL;

	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		uint64_t v;

		if (parse_u64(e->d_name, &v) || !v || v > INT32_MAX)
			continue;
		if (*n == cap) {
			pid_t *np;

			cap = cap ? cap * 2 : 1024;
			np = realloc(p, cap * sizeof(*p));
			if (!np) {
				free(p);
				closedir(d);
				return -ENOMEM;
			}
			p = np;
		}
		p[(*n)++] = (pid_t)v;
	}
	closedir(d);
	qsort(p, *n, sizeof(*p), cmp_pid);
	*out = p;
	return 0;
}

static int sort_col;

static int cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;
	uint64_t vx, vy;

	switch (sort_col) {
	case SORT_ADDRESS:
		return x->pid < y->pid ? -1 : x->pid > y->pid;
	case SORT_NAME:
		return strcmp(x->comm, y->comm);
	case SORT_SIZE:
		vx = x->sum.size;
		vy = y->sum.size;
		break;
	default:
		vx = col_value(&cols[sort_col], x->sum.total);
		vy = col_value(&cols[sort_col], y->sum.total);
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* What every shown process can report, and what any may over-count. */
static void limits(const struct procs *ps, size_t n, uint64_t *u,
		   uint64_t *a)
{
	size_t i;

	*u = 0;
	*a = 0;
	for (i = 0; i < n; i++) {
		*u |= ps->p[i].sum.unavailable;
		*a |= ps->p[i].sum.approximate;
	}
}

static void json_out(struct obuf *o, const struct procs *ps, size_t n,
		     const uint64_t *tot, uint64_t maps, uint64_t size)
{
	uint64_t u, a;
	size_t i;
	int k;

	limits(ps, n, &u, &a);
	json_head(o, "processes");
	json_limits(o, u, a);
	ob_puts(o, ",\"processes\":[");
	for (i = 0; i < n; i++) {
		const struct proc *p = &ps->p[i];

		ob_printf(o, "%s\n{\"pid\":%d,\"comm\":", i ? "," : "",
			  (int)p->pid);
		ob_json_str(o, p->comm);
		ob_printf(o, ",\"backend\":\"%s\",\"mappings\":%" PRIu64
			  ",\"size\":%" PRIu64 ",\"bytes\":{", p->backend,
			  p->sum.mappings, p->sum.size);
		json_stats(o, p->sum.total, p->sum.unavailable, true);
		ob_puts(o, "}}");
	}
	ob_printf(o, "\n],\"total\":{\"processes\":%zu,\"mappings\":%" PRIu64
		  ",\"size\":%" PRIu64 ",\"bytes\":{", ps->n, maps, size);
	json_stats(o, tot, u, true);
	ob_printf(o, "}},\"skipped\":{\"count\":%zu,\"reasons\":{", ps->ns);
	for (k = 0; k < SK__N; k++)
		ob_printf(o, "%s\"%s\":%zu", k ? "," : "", skip_names[k],
			  ps->count[k]);
	ob_puts(o, "},\"processes\":[");
	for (i = 0; i < ps->ns; i++) {
		ob_printf(o, "%s{\"pid\":%d,\"comm\":", i ? "," : "",
			  (int)ps->s[i].pid);
		ob_json_str(o, ps->s[i].comm);
		ob_printf(o, ",\"reason\":\"%s\"}", skip_names[ps->s[i].why]);
	}
	ob_puts(o, "]}}\n");
}

static void text_out(struct obuf *o, struct procs *ps, size_t n,
		     struct sum_opts *so, const uint64_t *tot, uint64_t maps,
		     uint64_t size)
{
	const uint64_t **vals;
	struct table *t = &so->t;
	int width = term_width(), pidw = 3, mapw = 4, sizew = 4, used, k;
	char b[32], line[1024];
	uint64_t a;
	size_t i;

	vals = calloc(n + 1, sizeof(*vals));
	if (!vals) {
		o->oom = true;
		return;
	}
	for (i = 0; i < n; i++) {
		const struct proc *p = &ps->p[i];
		int w = snprintf(b, sizeof(b), "%d", (int)p->pid);

		if (w > pidw)
			pidw = w;
		w = snprintf(b, sizeof(b), "%" PRIu64, p->sum.mappings);
		if (w > mapw)
			mapw = w;
		vals[i] = p->sum.total;
	}
	vals[n] = tot;
	if (snprintf(b, sizeof(b), "%" PRIu64, maps) > mapw)
		mapw = (int)strlen(b);
	if ((int)strlen(human(size, b, sizeof(b))) > sizew)
		sizew = (int)strlen(b);
	if (pidw < 5)
		pidw = 5;	/* "TOTAL" */
	limits(ps, n, &t->unavailable, &a);
	t->in_pages = so->in_pages;
	t->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	table_plan(t, vals, n + 1, pidw + 1 + mapw + 1 + sizew, 8, width);
	free(vals);
	used = pidw + 1 + mapw + 1 + sizew;
	for (k = 0; k < NCOLS; k++)
		if (t->show[k])
			used += 1 + t->wd[k];

	snprintf(line, sizeof(line), "%zu process%s%s, kernel %s%s", ps->n,
		 ps->n == 1 ? "" : "es", n < ps->n ? " (the top ones shown; "
		 "TOTAL is all of them)" : "", kernel_release(),
		 so->in_pages ? ", counts in pages" : "");
	ob_wrap(o, line, 0);
	ob_printf(o, "%*s %*s %*s", pidw, "PID", mapw, "MAPS", sizew, "SIZE");
	table_heads(o, t);
	ob_puts(o, t->name_below ? "\n  COMM\n" : "  COMM\n");
	for (i = 0; i < n; i++) {
		const struct proc *p = &ps->p[i];

		ob_printf(o, "%*d %*" PRIu64 " %*s", pidw, (int)p->pid, mapw,
			  p->sum.mappings, sizew,
			  human(p->sum.size, b, sizeof(b)));
		table_values(o, t, p->sum.total);
		ob_puts(o, t->name_below ? "\n  " : "  ");
		ob_text_fit(o, p->comm, t->name_below ? width - 2 :
			    width - used - 2, false);
		ob_puts(o, "\n");
	}
	ob_printf(o, "%-*s %*" PRIu64 " %*s", pidw, "TOTAL", mapw, maps, sizew,
		  human(size, b, sizeof(b)));
	table_values(o, t, tot);
	ob_puts(o, "\n");
	if (ps->ns) {
		size_t off;

		off = (size_t)snprintf(line, sizeof(line), "skipped %zu:",
				       ps->ns);
		for (k = 0; k < SK__N; k++)
			if (ps->count[k] && off < sizeof(line))
				off += (size_t)snprintf(line + off,
					sizeof(line) - off, " %zu %s%s (%s);",
					ps->count[k], skip_names[k],
					ps->count[k] > 1 && k < SK_PERM ? "s" :
					"", skip_why[k]);
		if (off && off < sizeof(line))
			line[off - 1] = '\0';
		ob_wrap(o, line, 0);
	}
	ob_wrap(o, "TOTAL counts a shared page once per process that maps it, "
		"as ps does.", 0);
	table_notes(o, t, a);
}

int procs_collect(struct procs *ps, const struct sum_opts *so,
		  const struct proc_hook *hook)
{
	pid_t *pids = so->pids, self = getpid();
	size_t npids = so->npids, i;
	bool asked = !so->all && !so->nnames;
	int ret = 0;

	if (!asked) {
		ret = list_pids(&pids, &npids);
		if (ret)
			return ret;
	}
	for (i = 0; i < npids && ret >= 0; i++) {
		/* Our own memory changes while we look: not ours. */
		if (!asked && pids[i] == self)
			continue;
		ret = take(ps, so, pids[i], asked, hook);
	}
	if (!asked)
		free(pids);
	return ret < 0 ? -ENOMEM : 0;
}

void procs_free(struct procs *ps)
{
	free(ps->p);
	free(ps->s);
	ps->p = NULL;
	ps->s = NULL;
	ps->n = ps->ns = ps->cap = ps->scap = 0;
}

int cmd_procs(struct sum_opts *so)
{
	uint64_t tot[PAGESCAN_STAT_SLOTS] = { 0 }, maps = 0, size = 0;
	struct procs ps = { 0 };
	struct obuf o = { 0 };
	size_t i, n;
	bool asked = !so->all && !so->nnames;
	int ret;

	if (so->group) {
		err_msg("--group groups the mappings of one process; with "
			"several, each row is a process already");
		return EX_USAGE;
	}
	if (so->baseline) {
		err_msg("--baseline compares one process; for several, save "
			"both --json outputs and run pagescan diff A B");
		return EX_USAGE;
	}
	ret = procs_collect(&ps, so, NULL);
	if (ret == -ENOMEM) {
		err_msg("out of memory");
		ret = EX_FAIL;
		goto out;
	} else if (ret) {
		err_msg("cannot list /proc: %s", strerror(-ret));
		ret = EX_FAIL;
		goto out;
	}
	if (asked) {
		/* A PID the user named and we could not read: say so. */
		for (i = 0; i < ps.ns; i++) {
			const struct skipped *s = &ps.s[i];
			struct obuf c = { 0 };

			ob_text(&c, s->comm);
			err_msg("pid %d (%s): %s", (int)s->pid, c.buf,
				s->err ? lib_error(-s->err) :
				skip_why[s->why]);
			ob_free(&c);
			if (!ps.first_err)
				ps.first_err = s->err ? exit_code(-s->err) :
					       EX_NOPROC;
		}
	}
	if (so->nnames && !ps.n && !ps.ns) {
		err_msg("no process is named so (comm or program name)");
		ret = EX_NOPROC;
		goto out;
	}
	sort_col = so->sort;
	qsort(ps.p, ps.n, sizeof(*ps.p), cmp_proc);
	n = so->top && so->top < ps.n ? so->top : ps.n;
	/* The totals are of every process taken, shown or not. */
	for (i = 0; i < ps.n; i++) {
		stats_add(tot, ps.p[i].sum.total);
		maps += ps.p[i].sum.mappings;
		size += ps.p[i].sum.size;
	}
	if (so->json)
		json_out(&o, &ps, n, tot, maps, size);
	else
		text_out(&o, &ps, n, so, tot, maps, size);
	ret = ob_flush(&o, stdout) ? EX_FAIL : ps.first_err;
out:
	ob_free(&o);
	procs_free(&ps);
	return ret;
}
