// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan watch PID: how each mapping's resident (RSS, as the summary and
 * ps count it), swapped and (on soft-dirty kernels) written memory change
 * from interval to interval, sampled on a fixed schedule: sample k is
 * taken at start + k * interval on the monotonic clock, so the time a
 * scan takes never accumulates into drift; a sample that falls behind
 * skips the ticks it missed (and says so).
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
"Every interval, for each mapping of process PID: resident memory (RSS,\n"
"as pagescan PID and ps count it) and swapped memory, their change since\n"
"the previous sample, and on kernels with soft-dirty\n"
"(CONFIG_MEM_SOFT_DIRTY) the memory written during the interval.\n"
"Samples are taken on a fixed schedule (start + k * interval), so they do\n"
"not drift; a sample that falls behind skips the ticks it missed.\n"
"Measuring writes clears the target's soft-dirty bits through\n"
"/proc/PID/clear_refs at every interval (a note says so); this disturbs\n"
"other users of soft-dirty on that process (e.g. CRIU).  Runs until\n"
"Ctrl-C, --count N intervals, or the process exits (exit status 2).\n"
"\n"
"Options:\n"
"  --interval S    seconds between samples (default 1; decimals allowed,\n"
"                  0.01 to 86400)\n"
"  --count N       stop after N intervals\n"
"  --all           text: every mapping, not only those that changed\n"
"  --no-written    do not clear soft-dirty bits; written is n/a\n"
"  --json          one JSON object per sample, one per line (schema\n"
"                  \"" JSON_SCHEMA "\"), with the time in microseconds and\n"
"                  the interval measured since the previous sample\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

struct prev {
	uint64_t start, end, present, swapped;	/* rss and swapped bytes */
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
		sn->p[i].present = s->m[i].b[PAGESCAN_STAT_RSS];
		sn->p[i].swapped = s->m[i].b[PAGESCAN_STAT_SWAPPED];
		sn->p[i].name = strdup(row_label(&s->m[i]));
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

static void ts_add(struct timespec *t, double secs)
{
	t->tv_sec += (time_t)secs;
	t->tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	       (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

/*
 * Sleep until tick @seq of the schedule that began at @t0; when the scan
 * took longer than an interval, the ticks already past are skipped (and
 * counted in *@missed).  Returns the tick slept to.
 */
static unsigned long sleep_until(const struct timespec *t0, double interval,
				 unsigned long seq, unsigned long *missed)
{
	struct timespec now, at;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (;;) {
		at = *t0;
		ts_add(&at, interval * (double)seq);
		if (ts_diff(&at, &now) > 0)
			break;
		seq++;
		(*missed)++;
	}
	/* Interrupted by SIGINT/SIGTERM: the loop checks stop. */
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at,
					NULL) == EINTR)
		;
	return seq;
}

static void sdelta(char buf[32], size_t len, int64_t bytes)
{
	char h[24];

	if (!bytes) {
		snprintf(buf, len, "0");
		return;
	}
	human((uint64_t)(bytes < 0 ? -bytes : bytes), h, sizeof(h));
	snprintf(buf, len, "%c%s", bytes < 0 ? '-' : '+', h);
}

#define RSS(m) ((m)->b[PAGESCAN_STAT_RSS])
#define SWP(m) ((m)->b[PAGESCAN_STAT_SWAPPED])
#define SD(m) ((m)->b[PAGESCAN_STAT_SOFT_DIRTY])

/*
 * @now is the time of the sample: when its scan began, the instant its
 * measured interval ends at, so that the difference of two samples' times
 * is the interval measured (not that plus the scan's own jitter).
 */
static void report(struct obuf *o, const struct space *s,
		   struct snap *old, unsigned long seq, double interval,
		   double measured, unsigned long missed, bool written,
		   bool json, bool all, const struct timespec *now)
{
	int64_t dp_tot = 0, ds_tot = 0;
	uint64_t p_tot = 0, s_tot = 0, w_tot = 0;
	size_t i, cur = 0, shown = 0;
	char b1[32], b2[32], b3[32], b4[32], b5[32], line[300];
	int namew = term_width() - (2 + 12 + 6 * 6 + 2);

	for (i = 0; i < s->n; i++) {
		const struct row *m = &s->m[i];
		const struct prev *p = find_prev(old, &cur, m->start,
						 row_label(m));

		p_tot += RSS(m);
		s_tot += SWP(m);
		w_tot += SD(m);
		dp_tot += (int64_t)RSS(m) - (p ? (int64_t)p->present : 0);
		ds_tot += (int64_t)SWP(m) - (p ? (int64_t)p->swapped : 0);
	}
	/* Mappings that went away (both lists are in address order). */
	for (i = 0, cur = 0; i < old->n; i++) {
		struct prev *p = &old->p[i];

		while (cur < s->n && s->m[cur].start < p->start)
			cur++;
		p->gone = !(cur < s->n && s->m[cur].start == p->start &&
			    !strcmp(row_label(&s->m[cur]), p->name));
		if (p->gone) {
			dp_tot -= (int64_t)p->present;
			ds_tot -= (int64_t)p->swapped;
		}
	}
	if (!seq)
		dp_tot = ds_tot = 0;
	if (json) {
		json_head(o, "watch");
		json_target(o, s);
		ob_printf(o, ",\"seq\":%lu,\"time\":%lld.%06ld,\"interval\":%g,"
			  "\"measured\":%.6f,\"missed\":%lu,"
			  "\"total\":{\"rss\":%" PRIu64 ",\"swapped\":%"
			  PRIu64 ",\"d_rss\":%" PRId64 ",\"d_swapped\":%"
			  PRId64, seq, (long long)now->tv_sec,
			  now->tv_nsec / 1000, interval, measured, missed,
			  p_tot, s_tot, dp_tot, ds_tot);
		if (written)
			ob_printf(o, ",\"written\":%" PRIu64 "}", w_tot);
		else
			ob_puts(o, ",\"written\":null}");
		ob_puts(o, ",\"mappings\":[");
	} else {
		struct tm tm;

		localtime_r(&now->tv_sec, &tm);
		if (!seq) {
			snprintf(line, sizeof(line), "%02d:%02d:%02d #0 "
				 "resident %s, swapped %s in %zu mappings (the "
				 "baseline); written %s", tm.tm_hour, tm.tm_min,
				 tm.tm_sec, human(p_tot, b1, sizeof(b1)),
				 human(s_tot, b3, sizeof(b3)), s->n,
				 written ? "from the next interval" :
				 "n/a (no soft-dirty)");
			ob_wrap(o, line, 0);
			return;
		}
		snprintf(line, sizeof(line), "%02d:%02d:%02d #%lu resident %s "
			 "(%s), swapped %s (%s), written %s%s", tm.tm_hour,
			 tm.tm_min, tm.tm_sec, seq, human(p_tot, b1, sizeof(b1)),
			 (sdelta(b2, sizeof(b2), dp_tot), b2),
			 human(s_tot, b3, sizeof(b3)),
			 (sdelta(b4, sizeof(b4), ds_tot), b4),
			 written ? human(w_tot, b5, sizeof(b5)) : "n/a",
			 missed ? " (fell behind: ticks skipped)" : "");
		ob_wrap(o, line, 0);
	}
	cur = 0;
	for (i = 0; i < s->n; i++) {
		const struct row *m = &s->m[i];
		const struct prev *p = find_prev(old, &cur, m->start,
						 row_label(m));
		int64_t dp = (int64_t)RSS(m) - (p ? (int64_t)p->present : 0);
		int64_t ds = (int64_t)SWP(m) - (p ? (int64_t)p->swapped : 0);

		if (!seq)
			dp = ds = 0;	/* the baseline has no change */

		if (json) {
			ob_printf(o, "%s{\"start\":\"%#" PRIx64 "\",\"end\":\"%#"
				  PRIx64 "\",\"name\":", i ? "," : "",
				  m->start, m->end);
			ob_json_str(o, row_label(m));
			ob_printf(o, ",\"new\":%s,\"rss\":%" PRIu64
				  ",\"swapped\":%" PRIu64 ",\"d_rss\":%"
				  PRId64 ",\"d_swapped\":%" PRId64,
				  p || seq == 0 ? "false" : "true",
				  RSS(m), SWP(m), dp, ds);
			if (written)
				ob_printf(o, ",\"written\":%" PRIu64 "}",
					  SD(m));
			else
				ob_puts(o, ",\"written\":null}");
			continue;
		}
		if (!all && !dp && !ds && !(written && SD(m)) && p)
			continue;
		if (!shown++)
			ob_printf(o, "  %-12s %5s %6s %5s %6s %6s  %s\n",
				  "ADDRESS", "RSS", "CHANGE", "SWAP", "CHANGE",
				  "WRITE", "MAPPING");
		sdelta(b2, sizeof(b2), dp);
		sdelta(b4, sizeof(b4), ds);
		ob_printf(o, "  %012" PRIx64 " %5s %6s %5s %6s %6s  ", m->start,
			  human(RSS(m), b1, sizeof(b1)), b2,
			  human(SWP(m), b3, sizeof(b3)), b4,
			  written ? human(SD(m), b5, sizeof(b5)) : "n/a");
		ob_text_fit(o, row_label(m), namew - (p ? 0 : 6), false);
		ob_puts(o, p ? "\n" : " (new)\n");
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
			ob_printf(o, ",\"rss\":%" PRIu64 ",\"swapped\":%"
				  PRIu64 "}", p->present, p->swapped);
			continue;
		}
		if (!shown++)
			ob_printf(o, "  %-12s %5s %6s %5s %6s %6s  %s\n",
				  "ADDRESS", "RSS", "CHANGE", "SWAP", "CHANGE",
				  "WRITE", "MAPPING");
		sdelta(b2, sizeof(b2), -(int64_t)p->present);
		sdelta(b4, sizeof(b4), -(int64_t)p->swapped);
		ob_printf(o, "  %012" PRIx64 " %5s %6s %5s %6s %6s  ", p->start,
			  "0", b2, "0", b4, "-");
		ob_text_fit(o, p->name, namew - 7, false);
		ob_puts(o, " (gone)\n");
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
	double interval = 1, measured;
	uint64_t count = 0;
	bool json = false, all = false, written, no_written = false;
	bool seen_i = false, seen_c = false;
	struct timespec t0, prev, now, wall;
	struct snap old = { 0 };
	struct obuf o = { 0 };
	struct space s;
	unsigned long seq, tick = 0, missed;
	pid_t pid;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		struct obuf e = { 0 };

		switch (c) {
		case 'i':
			if (once(&seen_i, "--interval"))
				return EX_USAGE;
			if (parse_seconds(optarg, &interval) ||
			    !(interval >= 0.01 && interval <= 86400)) {
				ob_text(&e, optarg);
				err_msg("--interval wants decimal seconds from "
					"0.01 to 86400, not '%s'", e.buf);
				ob_free(&e);
				return EX_USAGE;
			}
			break;
		case 'c':
			if (once(&seen_c, "--count"))
				return EX_USAGE;
			if (parse_u64(optarg, &count) || !count) {
				ob_text(&e, optarg);
				err_msg("--count wants a positive decimal "
					"number, not '%s'", e.buf);
				ob_free(&e);
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
			if (help_alone(argc, argv, "watch"))
				return EX_USAGE;
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "watch");
		}
	}
	if (pid_operand(argc, argv, &pid))
		return EX_USAGE;

	/* The schedule starts when the baseline's scan does. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &wall);
	ret = space_begin(&s, pid, true);
	if (ret)
		return ret;
	prev = t0;
	written = !no_written &&
		  !(s.sum.unavailable & (UINT64_C(1) << PAGESCAN_STAT_SOFT_DIRTY));
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
	/* Sample 0: the baseline. */
	report(&o, &s, &(struct snap){ 0 }, 0, interval, 0, 0,
	       written && !json, json, false, &wall);
	if (ob_flush(&o, stdout)) {
		ret = EX_FAIL;
		goto out;
	}
	for (seq = 1; !stop && (!count || seq <= count); seq++) {
		missed = 0;
		tick = sleep_until(&t0, interval, tick + 1, &missed);
		if (stop)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_gettime(CLOCK_REALTIME, &wall);
		measured = ts_diff(&now, &prev);
		prev = now;
		ret = space_recount(&s);
		if (ret == -ESRCH || ret == -ENOENT) {
			err_msg("pid %d exited; watch ends after %lu "
				"interval%s", (int)pid, seq - 1,
				seq == 2 ? "" : "s");
			ret = EX_NOPROC;
			goto out;
		} else if (ret) {
			err_msg("scan of pid %d failed: %s", (int)pid,
				lib_error(-ret));
			ret = exit_code(-ret);
			goto out;
		}
		if (written && clear_soft_dirty(pid)) {
			fprintf(stderr, "%s: cannot clear soft-dirty bits "
				"any more; written is n/a\n", prog);
			written = false;
		}
		report(&o, &s, &old, seq, interval, measured, missed, written,
		       json, all, &wall);
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
