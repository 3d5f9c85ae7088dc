// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan watch PID: how each mapping's resident, swapped and (on
 * soft-dirty kernels) written pages change from interval to interval.
 *
 * "Written" comes from the soft-dirty bit: the target's bits are cleared
 * through /proc/PID/clear_refs ("4") at the start of every interval, and
 * the pages soft-dirty at its end were written during it.  That changes
 * state in the target (and disturbs anyone else using soft-dirty on it,
 * such as CRIU), so it is announced on stderr first.  Without
 * CONFIG_MEM_SOFT_DIRTY the column is n/a.  (userfaultfd write-protect
 * cannot be used on another process, so it is no alternative here.)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan watch PID [options]\n"
"\n"
"Every interval, for each mapping of process PID: resident (present) and\n"
"swapped pages and their change since the previous interval, and on\n"
"kernels with soft-dirty (CONFIG_MEM_SOFT_DIRTY) the pages written during\n"
"the interval.  Measuring writes clears the target's soft-dirty bits\n"
"through /proc/PID/clear_refs at every interval (a warning says so); this\n"
"disturbs other users of soft-dirty on that process (e.g. CRIU).  Runs\n"
"until Ctrl-C, --count N intervals, or the process exits (exit status 2).\n"
"\n"
"Options:\n"
"  --interval S    seconds between samples (default 1; fractions allowed)\n"
"  --count N       stop after N intervals\n"
"  --all           text: every mapping, not only those that changed\n"
"  --no-written    do not clear soft-dirty bits; written is n/a\n"
"  --json          one JSON object per interval, one per line (schema\n"
"                  \"" JSON_SCHEMA "\")\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

struct prev {
	uint64_t start, end, present, swapped;
	char *name;
	bool gone;		/* not in the next sample */
};

struct snap {
	struct prev *p;
	size_t n;
};

static void snap_free(struct snap *sn)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		free(sn->p[i].name);
	free(sn->p);
	sn->p = NULL;
	sn->n = 0;
}

static int snap_take(struct snap *sn, const struct space *s)
{
	size_t i;

	sn->p = calloc(s->n ? s->n : 1, sizeof(*sn->p));
	if (!sn->p)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		sn->p[i].start = s->m[i].start;
		sn->p[i].end = s->m[i].end;
		sn->p[i].present = s->m[i].c.present;
		sn->p[i].swapped = s->m[i].c.swapped;
		sn->p[i].name = strdup(mapping_label(&s->m[i]));
		if (!sn->p[i].name)
			return -ENOMEM;
		sn->n = i + 1;
	}
	return 0;
}

/* The previous sample of the mapping that starts at @start with @name. */
static const struct prev *find_prev(const struct snap *sn, size_t *cur,
				    uint64_t start, const char *name)
{
	while (*cur < sn->n && sn->p[*cur].start < start)
		(*cur)++;
	if (*cur < sn->n && sn->p[*cur].start == start &&
	    !strcmp(sn->p[*cur].name, name))
		return &sn->p[*cur];
	return NULL;
}

static int clear_soft_dirty(pid_t pid)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* "4": clear the soft-dirty bits of all the process's pages. */
	if (write(fd, "4", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static void sleep_for(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - floor(secs)) * 1e9),
	};

	/* Interrupted by SIGINT/SIGTERM: the loop checks stop. */
	while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void sdelta(char buf[32], size_t len, int64_t pages, uint64_t psz)
{
	char h[24];

	if (!pages) {
		snprintf(buf, len, "0");
		return;
	}
	human((uint64_t)(pages < 0 ? -pages : pages) * psz, h, sizeof(h));
	snprintf(buf, len, "%c%s", pages < 0 ? '-' : '+', h);
}

static void report(struct obuf *o, const struct space *s,
		   struct snap *old, unsigned long seq, double interval,
		   bool written, bool json, bool all)
{
	int64_t dp_tot = 0, ds_tot = 0;
	uint64_t p_tot = 0, s_tot = 0, w_tot = 0;
	size_t i, cur = 0, shown = 0;
	struct timespec now;
	char b1[32], b2[32], b3[32], b4[32], b5[32];

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < s->n; i++) {
		const struct mapping *m = &s->m[i];
		const struct prev *p = find_prev(old, &cur, m->start,
						 mapping_label(m));

		p_tot += m->c.present;
		s_tot += m->c.swapped;
		w_tot += m->c.sdirty;
		dp_tot += (int64_t)m->c.present - (p ? (int64_t)p->present : 0);
		ds_tot += (int64_t)m->c.swapped - (p ? (int64_t)p->swapped : 0);
	}
	/* Mappings that went away (both lists are in address order). */
	for (i = 0, cur = 0; i < old->n; i++) {
		struct prev *p = &old->p[i];

		while (cur < s->n && s->m[cur].start < p->start)
			cur++;
		p->gone = !(cur < s->n && s->m[cur].start == p->start &&
			    !strcmp(mapping_label(&s->m[cur]), p->name));
		if (p->gone) {
			dp_tot -= (int64_t)p->present;
			ds_tot -= (int64_t)p->swapped;
		}
	}
	if (!seq)
		dp_tot = ds_tot = 0;
	if (json) {
		json_head(o, "watch", s);
		ob_printf(o, ",\"seq\":%lu,\"time\":%lld.%03ld,\"interval\":%g,"
			  "\"total\":{\"present\":%" PRIu64 ",\"swapped\":%"
			  PRIu64 ",\"d_present\":%" PRId64 ",\"d_swapped\":%"
			  PRId64, seq, (long long)now.tv_sec,
			  now.tv_nsec / 1000000, interval, p_tot, s_tot,
			  dp_tot, ds_tot);
		if (written)
			ob_printf(o, ",\"written\":%" PRIu64 "}", w_tot);
		else
			ob_puts(o, ",\"written\":null}");
		ob_puts(o, ",\"mappings\":[");
	} else {
		struct tm tm;

		localtime_r(&now.tv_sec, &tm);
		if (!seq) {
			ob_printf(o, "%02d:%02d:%02d #0 resident %s, swapped %s "
				  "in %zu mappings (the baseline); written %s"
				  "\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
				  human(p_tot * s->page_size, b1, sizeof(b1)),
				  human(s_tot * s->page_size, b3, sizeof(b3)),
				  s->n, written ? "from the next interval" :
				  "n/a (no soft-dirty)");
			return;
		}
		ob_printf(o, "%02d:%02d:%02d #%lu resident %s (%s), swapped %s "
			  "(%s), written %s\n", tm.tm_hour, tm.tm_min,
			  tm.tm_sec, seq,
			  human(p_tot * s->page_size, b1, sizeof(b1)),
			  (sdelta(b2, sizeof(b2), dp_tot, s->page_size), b2),
			  human(s_tot * s->page_size, b3, sizeof(b3)),
			  (sdelta(b4, sizeof(b4), ds_tot, s->page_size), b4),
			  written ? human(w_tot * s->page_size, b5,
					  sizeof(b5)) : "n/a");
	}
	cur = 0;
	for (i = 0; i < s->n; i++) {
		const struct mapping *m = &s->m[i];
		const struct prev *p = find_prev(old, &cur, m->start,
						 mapping_label(m));
		int64_t dp = (int64_t)m->c.present -
			     (p ? (int64_t)p->present : 0);
		int64_t ds = (int64_t)m->c.swapped -
			     (p ? (int64_t)p->swapped : 0);

		if (!seq)
			dp = ds = 0;	/* the baseline has no change */

		if (json) {
			ob_printf(o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
				  PRIx64 "\",\"name\":", i ? "," : "",
				  m->start, m->end);
			ob_json_str(o, mapping_label(m));
			ob_printf(o, ",\"new\":%s,\"present\":%" PRIu64
				  ",\"swapped\":%" PRIu64 ",\"d_present\":%"
				  PRId64 ",\"d_swapped\":%" PRId64,
				  p || seq == 0 ? "false" : "true",
				  m->c.present, m->c.swapped, dp, ds);
			if (written)
				ob_printf(o, ",\"written\":%" PRIu64 "}",
					  m->c.sdirty);
			else
				ob_puts(o, ",\"written\":null}");
			continue;
		}
		if (!all && !dp && !ds && !(written && m->c.sdirty) && p)
			continue;
		if (!shown++)
			ob_printf(o, "  %-16s %8s %8s %8s %8s %8s  %s\n",
				  "ADDRESS", "RESIDENT", "CHANGE", "SWAPPED",
				  "CHANGE", "WRITTEN", "MAPPING");
		sdelta(b2, sizeof(b2), dp, s->page_size);
		sdelta(b4, sizeof(b4), ds, s->page_size);
		ob_printf(o, "  %016" PRIx64 " %8s %8s %8s %8s %8s  %s%s\n",
			  m->start,
			  human(m->c.present * s->page_size, b1, sizeof(b1)),
			  b2, human(m->c.swapped * s->page_size, b3,
				    sizeof(b3)), b4,
			  written ? human(m->c.sdirty * s->page_size, b5,
					  sizeof(b5)) : "n/a",
			  mapping_label(m), p ? "" : " (new)");
	}
	if (json)
		ob_puts(o, "],\"gone\":[");
	for (i = 0, cur = 0; i < old->n; i++) {
		const struct prev *p = &old->p[i];

		if (!p->gone)
			continue;
		if (json) {
			ob_printf(o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":"
				  "\"%#" PRIx64 "\",\"name\":", cur++ ? "," : "",
				  p->start, p->end);
			ob_json_str(o, p->name);
			ob_printf(o, ",\"present\":%" PRIu64 ",\"swapped\":%"
				  PRIu64 "}", p->present, p->swapped);
			continue;
		}
		if (!shown++)
			ob_printf(o, "  %-16s %8s %8s %8s %8s %8s  %s\n",
				  "ADDRESS", "RESIDENT", "CHANGE", "SWAPPED",
				  "CHANGE", "WRITTEN", "MAPPING");
		sdelta(b2, sizeof(b2), -(int64_t)p->present, s->page_size);
		sdelta(b4, sizeof(b4), -(int64_t)p->swapped, s->page_size);
		ob_printf(o, "  %016" PRIx64 " %8s %8s %8s %8s %8s  %s (gone)\n",
			  p->start, "0", b2, "0", b4, "-", p->name);
	}
	if (json)
		ob_puts(o, "]}\n");
}

int cmd_watch(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "no-written", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	double interval = 1;
	uint64_t count = 0;
	bool json = false, all = false, written, no_written = false;
	struct snap old = { 0 };
	struct obuf o = { 0 };
	struct space s;
	unsigned long seq;
	pid_t pid;
	int c, ret;
	char *end;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !(interval >= 0.01 && interval <= 86400)) {
				err_msg("--interval wants seconds from 0.01 to "
					"86400, not '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'c':
			if (parse_u64(optarg, &count) || !count) {
				err_msg("--count wants a positive number, not "
					"'%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'a':
			all = true;
			break;
		case 'W':
			no_written = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "watch");
		}
	}
	if (pid_operand(argc, argv, &pid))
		return EX_USAGE;

	ret = space_begin(&s, pid, true);
	if (ret)
		return ret;
	written = !no_written && (s.avail & PAGESCAN_CAT_SOFT_DIRTY);
	if (written) {
		fprintf(stderr, "%s: note: measuring writes resets the "
			"soft-dirty bits of pid %d (/proc/%d/clear_refs) at "
			"every interval; --no-written avoids it\n", prog,
			(int)pid, (int)pid);
		ret = clear_soft_dirty(pid);
		if (ret) {
			fprintf(stderr, "%s: cannot clear soft-dirty bits "
				"(%s); written is n/a\n", prog,
				strerror(-ret));
			written = false;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (snap_take(&old, &s)) {
		err_msg("out of memory");
		ret = EX_FAIL;
		goto out;
	}
	/* Interval 0: the baseline. */
	report(&o, &s, &(struct snap){ 0 }, 0, interval, written && !json, json,
	       false);
	if (ob_flush(&o, stdout)) {
		ret = EX_FAIL;
		goto out;
	}
	for (seq = 1; !stop && (!count || seq <= count); seq++) {
		sleep_for(interval);
		if (stop)
			break;
		ret = space_recount(&s);
		if (ret == -ESRCH || ret == -ENOENT) {
			err_msg("pid %d exited; watch ends after %lu "
				"interval%s", (int)pid, seq - 1,
				seq == 2 ? "" : "s");
			ret = EX_NOPROC;
			goto out;
		} else if (ret) {
			err_msg("scan of pid %d failed: %s", (int)pid,
				strerror(-ret));
			ret = exit_code(-ret);
			goto out;
		}
		if (written && clear_soft_dirty(pid)) {
			fprintf(stderr, "%s: cannot clear soft-dirty bits "
				"any more; written is n/a\n", prog);
			written = false;
		}
		report(&o, &s, &old, seq, interval, written, json, all);
		snap_free(&old);
		if (snap_take(&old, &s)) {
			err_msg("out of memory");
			ret = EX_FAIL;
			goto out;
		}
		if (ob_flush(&o, stdout)) {
			ret = EX_FAIL;
			goto out;
		}
	}
	ret = EX_OK;
out:
	snap_free(&old);
	ob_free(&o);
	space_end(&s);
	return ret;
}
