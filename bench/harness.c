// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan-bench: one table of the ratios the issues name, measured side
 * by side in one run.  `pagescan-bench --help` for the options; bench/README
 * for what each row measures and how to add rows.
 *
 * Each row runs in a child process of its own (its layout cannot disturb
 * the next row, a hang or crash costs one row, and the time cap is a
 * SIGKILL).  The child streams one line per event over a pipe:
 *	B backend	the backend the library says it runs
 *	R F|M		an operation starts (floor or measurement)
 *	F secs check	a floor finished; M secs check: a measurement
 *	H kib		peak RSS growth over the repetitions (BENCH_MEM)
 *	N text		the row cannot run here; E text: it failed
 *	W text		a note printed with the row
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define BENCH_GROUP(n) extern const struct bench_group bench_group_##n;
#include "groups.h"
#undef BENCH_GROUP

static const struct bench_group *const groups[] = {
#define BENCH_GROUP(n) &bench_group_##n,
#include "groups.h"
#undef BENCH_GROUP
};

struct bench_config bench_cfg = {
	.reps = 7, .timeout = 60, .slow = 1, .quick_div = 64,
};

#define MAX_ROWS 512
static struct bench_row rows[MAX_ROWS];
static const struct bench_group *row_group[MAX_ROWS];
static size_t nrows;
static const struct bench_group *adding;

void bench_add(const struct bench_row *row)
{
	if (nrows == MAX_ROWS) {
		fprintf(stderr, "pagescan-bench: more than %d rows\n",
			MAX_ROWS);
		exit(2);
	}
	rows[nrows] = *row;
	rows[nrows].group = adding->name;
	row_group[nrows++] = adding;
}

/* --- the row's process ---------------------------------------------------- */
static int child_fd = -1;

static void emit(char kind, const char *fmt, va_list ap)
{
	char buf[600];
	int n, i;

	buf[0] = kind;
	buf[1] = ' ';
	n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	if (n < 0)
		n = 0;
	n = n + 2 > (int)sizeof(buf) - 2 ? (int)sizeof(buf) - 2 : n + 2;
	for (i = 2; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (write(child_fd, buf, (size_t)n) < 0)
		_exit(3);
}

static void emitf(char kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void emitf(char kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(kind, fmt, ap);
	va_end(ap);
}

void bench_backend(struct bench_run *run, const char *name)
{
	emitf('B', "%s", name ? name : "?");
}

int bench_na(struct bench_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit('N', fmt, ap);
	va_end(ap);
	return 1;
}

double bench_fail(struct bench_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit('E', fmt, ap);
	va_end(ap);
	return -1;
}

void bench_note(struct bench_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit('W', fmt, ap);
	va_end(ap);
}

/* VmHWM or VmRSS of this process, in KiB. */
static long status_kib(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	/* "5": reset the peak RSS (Linux 4.0). */
	if (fd < 0)
		return;
	if (write(fd, "5", 1) < 0) {
		/* Before 4.0 the peak stays absolute: growth still shows. */
	}
	close(fd);
}

static void run_row(const struct bench_row *row)
{
	struct bench_run run = { .row = row, .fd = -1 };
	int reps = row->reps ? row->reps : bench_cfg.reps, r, k;
	long rss0 = 0;

	if (bench_cfg.quick && reps > 2)
		reps = 2;
	if (row->setup && row->setup(&run))
		return;
	memset(bench_vec, 0, sizeof(bench_vec));
	for (r = 0; r < reps; r++)
		for (k = 0; k < 2; k++) {
			bool floor = ((r + k) & 1) == 0;
			bench_op op = floor ? row->floor : row->measure;
			uint64_t check = BENCH_NOCHECK;
			double t;

			/*
			 * The peak counts from the first measurement on: the
			 * floor's buffers (the first op) are in place by then.
			 */
			if (row->flags & BENCH_MEM && !r && !floor) {
				reset_hwm();
				rss0 = status_kib("VmRSS");
			}
			if (!op)
				continue;
			emitf('R', "%c", floor ? 'F' : 'M');
			t = op(&run, &check);
			if (t < 0)
				return;
			emitf(floor ? 'F' : 'M', "%.9g %llu", t,
			      (unsigned long long)check);
		}
	if (row->flags & BENCH_MEM) {
		long hwm = status_kib("VmHWM");

		if (hwm >= 0 && rss0 >= 0)
			emitf('H', "%ld", hwm > rss0 ? hwm - rss0 : 0);
	}
}

/* --- the parent --------------------------------------------------------- */
static void add_note(struct result *res, const char *text)
{
	size_t l = strlen(res->note);

	if (!*text)
		return;
	snprintf(res->note + l, sizeof(res->note) - l, "%s%s", l ? "; " : "",
		 text);
}

static void parse_line(struct result *res, char *line)
{
	char kind = line[0], *arg = line[1] ? line + 2 : line + 1;
	unsigned long long check;
	double t;

	switch (kind) {
	case 'B':
		snprintf(res->backend, sizeof(res->backend), "%.39s", arg);
		break;
	case 'R':
		res->running = arg[0];
		res->running_since = bench_now();
		break;
	case 'F':
	case 'M':
		if (sscanf(arg, "%lg %llu", &t, &check) != 2)
			break;
		res->running = 0;
		if (kind == 'F') {
			if (!res->nf++ || t < res->floor)
				res->floor = t;
			res->check_f = check;
		} else {
			if (!res->nm++ || t < res->measured)
				res->measured = t;
			res->check_m = check;
		}
		if (res->nf && res->nm && res->check_f != BENCH_NOCHECK &&
		    res->check_m != BENCH_NOCHECK &&
		    res->check_f != res->check_m)
			res->diff = true;
		break;
	case 'H':
		res->mem_kib = strtol(arg, NULL, 10);
		break;
	case 'N':
		res->status = ST_NA;
		add_note(res, arg);
		break;
	case 'E':
		res->status = ST_ERROR;
		add_note(res, arg);
		break;
	case 'W':
		snprintf(res->remark, sizeof(res->remark), "%.199s", arg);
		break;
	}
}

static pid_t current_child;
static uint64_t saved_map_count;

static void restore_map_count(void)
{
	FILE *f;

	if (!saved_map_count)
		return;
	f = fopen("/proc/sys/vm/max_map_count", "we");
	if (f) {
		fprintf(f, "%llu\n", (unsigned long long)saved_map_count);
		fclose(f);
	}
	saved_map_count = 0;
}

static void on_signal(int sig)
{
	if (current_child > 0)
		kill(-current_child, SIGKILL);
	restore_map_count();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* vm.max_map_count >= @need for the row (root only); 0 or a reason. */
static const char *raise_map_count(uint64_t need)
{
	unsigned long long cur = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (!f || fscanf(f, "%llu", &cur) != 1)
		cur = 0;
	if (f)
		fclose(f);
	if (cur >= need)
		return NULL;
	f = fopen("/proc/sys/vm/max_map_count", "we");
	if (!f)
		return "vm.max_map_count is too low and not writable (root)";
	saved_map_count = cur;
	fprintf(f, "%llu\n", (unsigned long long)need);
	if (fclose(f)) {
		saved_map_count = 0;
		return "vm.max_map_count could not be raised";
	}
	return NULL;
}

static void run_one(const struct bench_row *row, struct result *res)
{
	double timeout = (row->timeout ? row->timeout : bench_cfg.timeout) *
			 bench_cfg.slow, deadline;
	char buf[4096], line[700];
	size_t ll = 0;
	const char *why;
	int p[2], st, errfd;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->mem_kib = -1;
	res->check_f = res->check_m = BENCH_NOCHECK;
	if (row->map_count && (why = raise_map_count(row->map_count))) {
		res->status = ST_NA;
		snprintf(res->note, sizeof(res->note), "%s (needs %llu)", why,
			 (unsigned long long)row->map_count);
		return;
	}
	if (pipe2(p, O_CLOEXEC)) {
		res->status = ST_ERROR;
		snprintf(res->note, sizeof(res->note), "pipe: %s",
			 strerror(errno));
		return;
	}
	/*
	 * The row's stderr (its library, a helper it started) is kept and
	 * its first line noted with the row, so that the table stays whole.
	 */
	errfd = memfd_create("bench-row-stderr", MFD_CLOEXEC);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (errfd >= 0)
			dup2(errfd, 2);
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(p[0]);
		child_fd = p[1];
		run_row(row);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		if (errfd >= 0)
			close(errfd);
		res->status = ST_ERROR;
		snprintf(res->note, sizeof(res->note), "fork: %s",
			 strerror(errno));
		restore_map_count();
		return;
	}
	setpgid(pid, pid);
	current_child = pid;
	deadline = bench_now() + timeout;
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		double left = deadline - bench_now();
		ssize_t n, i;
		int ready = left > 0 ? poll(&pfd, 1, (int)(left * 1000) + 1) :
			    0;

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			if (bench_now() < deadline)
				continue;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			res->status = ST_TIMEOUT;
			if (res->running)
				res->timeout_after = bench_now() -
						     res->running_since;
			break;
		}
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			parse_line(res, line);
		}
	}
	close(p[0]);
	/* The whole group: targets and commands the row started. */
	if (res->status == ST_TIMEOUT)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);
	current_child = 0;
	restore_map_count();
	if (res->status == ST_TIMEOUT) {
		char t[80];

		snprintf(t, sizeof(t), "cut at %.0f s", timeout);
		add_note(res, t);
	} else if (WIFSIGNALED(st)) {
		char t[80];

		res->status = ST_CRASH;
		snprintf(t, sizeof(t), "the row's process died of signal "
			 "%d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
		add_note(res, t);
	} else if (res->status == ST_OK && (!WIFEXITED(st) ||
					    WEXITSTATUS(st))) {
		res->status = ST_ERROR;
		add_note(res, "the row's process failed");
	} else if (res->status == ST_OK && !res->nm) {
		res->status = ST_ERROR;
		add_note(res, "no measurement");
	}
	add_note(res, res->remark);
	if (errfd >= 0) {
		char t[200] = "stderr: ";
		ssize_t n = pread(errfd, t + 8, sizeof(t) - 9, 0);

		if (n > 0) {
			t[8 + n] = 0;
			t[strcspn(t, "\n")] = 0;
			add_note(res, t);
		}
		close(errfd);
	}
	if (res->diff) {
		char t[120];

		snprintf(t, sizeof(t), "answers differ: floor %llu pages, "
			 "measured %llu", (unsigned long long)res->check_f,
			 (unsigned long long)res->check_m);
		add_note(res, t);
	}
}

/* --- sizes and names ---------------------------------------------------- */
const char *bench_size(uint64_t bytes)
{
	static char bufs[8][24];
	static unsigned int next;
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	char *b = bufs[next++ % 8];
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t u = UINT64_C(1) << (40 - 10 * i);

		if (bytes >= u && bytes % u == 0) {
			snprintf(b, 24, "%llu %s",
				 (unsigned long long)(bytes / u), units[i]);
			return b;
		}
	}
	snprintf(b, 24, "%llu B", (unsigned long long)bytes);
	return b;
}

uint64_t bench_scaled(uint64_t bytes)
{
	uint64_t s = bench_cfg.quick ? bytes / bench_cfg.quick_div : bytes;

	return s < 64 * KIB ? 64 * KIB : s;
}

/* --- main --------------------------------------------------------------- */
static void usage(FILE *f)
{
	fprintf(f,
"usage: pagescan-bench [options]\n"
"  --quick          small layouts, best of 2 (or BENCH_QUICK=1): smoke runs\n"
"  --reps N         best of N (default 7; some rows set their own)\n"
"  --timeout S      cut a row after S seconds (default 60; some rows less)\n"
"  --slow F         multiply every time cap by F (a VM under TCG)\n"
"  --only REGEX     only the rows whose \"group/row name\" matches\n"
"  --list           list the rows, run nothing\n"
"  --json FILE      also write the rows as JSON lines (\"-\": stdout only)\n"
"  --tsv FILE       also write them tab-separated (\"-\": stdout only)\n"
"  --cli PATH       the pagescan command (default: ../pagescan beside this)\n"
"  --commit TEXT    the source revision, for the header\n"
"Figures are reported, never judged: the exit status is 0 unless the\n"
"harness itself fails (bad option, no memory).\n");
}

static char *default_cli(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 20);
	char *slash;

	if (n <= 0)
		return "pagescan";
	path[n] = 0;
	slash = strrchr(path, '/');
	if (!slash)
		return "pagescan";
	*slash = 0;
	slash = strrchr(path, '/');
	if (!slash)
		return "pagescan";
	strcpy(slash, "/pagescan");
	return path;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "slow", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", required_argument, NULL, 'j' },
		{ "tsv", required_argument, NULL, 'T' },
		{ "cli", required_argument, NULL, 'c' },
		{ "commit", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *env = getenv("BENCH_QUICK");
	bool list = false, quiet = false;
	int c;
	struct utsname u;
	regex_t re;
	size_t i, g;

	report.commit = "";
	bench_cfg.quick = env && *env && strcmp(env, "0");
	bench_cfg.cli = default_cli();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			bench_cfg.quick = true;
			break;
		case 'r':
			bench_cfg.reps = atoi(optarg);
			if (bench_cfg.reps < 1) {
				fprintf(stderr, "--reps: at least 1\n");
				return 2;
			}
			break;
		case 't':
			bench_cfg.timeout = strtod(optarg, NULL);
			break;
		case 's':
			bench_cfg.slow = strtod(optarg, NULL);
			break;
		case 'o':
			only = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'j':
		case 'T': {
			FILE **out = c == 'j' ? &report.json : &report.tsv;

			if (!strcmp(optarg, "-")) {
				*out = stdout;
				quiet = true;
			} else if (!(*out = fopen(optarg, "we"))) {
				perror(optarg);
				return 2;
			}
			break;
		}
		case 'c':
			bench_cfg.cli = optarg;
			break;
		case 'C':
			report.commit = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || bench_cfg.timeout <= 0 || bench_cfg.slow <= 0) {
		usage(stderr);
		return 2;
	}
	if (only && regcomp(&re, only, REG_EXTENDED | REG_NOSUB)) {
		fprintf(stderr, "--only: bad regular expression\n");
		return 2;
	}
	if (bench_cfg.quick)
		bench_cfg.timeout = bench_cfg.timeout > 20 ? 20 :
				    bench_cfg.timeout;
	uname(&u);
	snprintf(bench_cfg.kernel, sizeof(bench_cfg.kernel), "%s", u.release);
	bench_cfg.psz = (uint64_t)sysconf(_SC_PAGESIZE);
	while ((UINT64_C(1) << bench_cfg.page_shift) < bench_cfg.psz)
		bench_cfg.page_shift++;
	/* The rows choose their backends; the environment must not. */
	unsetenv("PAGESCAN_BACKEND");
	unsetenv("PAGESCAN_WATCH_BACKEND");
	unsetenv("PAGESCAN_WATCH_VERIFY");
	/* Probe once here: every row's process inherits the answers. */
	for (c = 0; c < PAGESCAN_FEAT__COUNT; c++)
		pagescan_probe((enum pagescan_feature)c);
	for (c = 1; c < PAGESCAN_WATCH__COUNT; c++)
		pagescan_watch_available((enum pagescan_watch_backend)c, NULL);

	for (g = 0; g < ARRAY_LEN(groups); g++) {
		adding = groups[g];
		groups[g]->add_rows();
	}
	if (list) {
		for (i = 0; i < nrows; i++) {
			char full[128];

			snprintf(full, sizeof(full), "%s/%s", rows[i].group,
				 rows[i].name);
			if (!only || !regexec(&re, full, 0, NULL, 0))
				printf("%s\n", full);
		}
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	report.table = quiet ? fopen("/dev/null", "we") : stdout;
	if (!report.table)
		return 2;
	report_meta(argc, argv);
	for (i = 0; i < nrows; i++) {
		struct result res;
		char full[128];

		snprintf(full, sizeof(full), "%s/%s", rows[i].group,
			 rows[i].name);
		if (only && regexec(&re, full, 0, NULL, 0))
			continue;
		run_one(&rows[i], &res);
		report_row(&rows[i], row_group[i], &res);
	}
	if (report.json && report.json != stdout)
		fclose(report.json);
	if (report.tsv && report.tsv != stdout)
		fclose(report.tsv);
	return 0;
}
