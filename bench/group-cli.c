// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 11 item 3: the command as fast as its scans.  `pagescan PID` on a
 * process with 64 GiB reserved (0.1 % of its pages written, and a 4 MiB
 * block), timed from fork to exit with its output thrown away, against
 * what a careful program reading the same process costs:
 *   emulated: the process's own summary (/proc/PID/smaps, read once), then
 *             pagemap entries read in 256 KiB chunks for every mapping
 *             whose Rss or Swap is not zero;
 *   native:   one raw PAGEMAP_SCAN loop over the whole address space (first
 *             mapping to last, [vsyscall] aside), with the summary's masks.
 * `pagescan --all` against the sum of those floors over every process this
 * user can read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

struct cli {
	char pid[24];
	char *env[512];
	int err_fd;		/* the command's stderr, for its message */
	const char *backend;	/* PAGESCAN_BACKEND for the command */
};

enum { C_PID, C_ALL };

/* The target: a reservation, the pages written, then it waits. */
static pid_t spawn_target(struct bench_run *run, uint64_t len)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct bench_run t = { .fd = -1 };
		uint64_t pages = len / bench_cfg.psz;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (!bench_map(&t, len, false, false))
			_exit(1);
		bench_touch(&t, 0, 1, 4 * MIB / bench_cfg.psz);
		bench_touch(&t, 0, 1024, pages);
		if (write(p[1], "1", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

static uint64_t summary_mask(void)
{
	static const struct {
		enum pagescan_feature f;
		uint64_t cat;
	} cats[] = {
		{ PAGESCAN_FEAT_CAT_PRESENT, PAGESCAN_CAT_PRESENT },
		{ PAGESCAN_FEAT_CAT_SWAPPED, PAGESCAN_CAT_SWAPPED },
		{ PAGESCAN_FEAT_CAT_FILE, PAGESCAN_CAT_FILE },
		{ PAGESCAN_FEAT_CAT_PFNZERO, PAGESCAN_CAT_PFNZERO },
		{ PAGESCAN_FEAT_CAT_HUGE, PAGESCAN_CAT_HUGE },
		{ PAGESCAN_FEAT_CAT_SOFT_DIRTY, PAGESCAN_CAT_SOFT_DIRTY },
		{ PAGESCAN_FEAT_CAT_GUARD, PAGESCAN_CAT_GUARD },
	};
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cats); i++)
		if (bench_has(cats[i].f))
			m |= cats[i].cat;
	return m;
}

static int open_proc(pid_t pid, const char *what)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static ssize_t read_proc(pid_t pid, const char *what, char **text)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return bench_read_file(path, text);
}

/* The emulation's floor for one process: 0 or -errno, pages counted. */
static int process_pread(pid_t pid, struct bench_tally *t)
{
	uint64_t start, end, kib;
	char *text, *pos;
	ssize_t n = read_proc(pid, "smaps", &text);
	int pfd = -1, ret = 0;

	if (n < 0)
		return (int)n;
	/* Opened only if needed: a kernel thread's pagemap says ESRCH. */
	for (pos = text; !ret && bench_smaps_next(&pos, &start, &end, &kib);) {
		if (!kib)
			continue;
		if (pfd < 0 && (pfd = open_proc(pid, "pagemap")) < 0)
			return -errno;
		ret = bench_pread_range(pfd, start, end, t);
	}
	if (pfd >= 0)
		close(pfd);
	return ret;
}

/* The native floor for one process: one raw scan, first to last mapping. */
static int process_raw(pid_t pid, struct bench_tally *t)
{
	unsigned long long a, b, lo = 0, hi = 0;
	char *text, *line, *next;
	ssize_t n = read_proc(pid, "maps", &text);
	int pfd, ret;

	if (n < 0)
		return (int)n;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strstr(line, "[vsyscall]") ||
		    sscanf(line, "%llx-%llx", &a, &b) != 2)
			continue;
		if (!hi)
			lo = a;
		hi = b;
	}
	if (!hi)
		return 0;
	pfd = open_proc(pid, "pagemap");
	if (pfd < 0)
		return -errno;
	ret = bench_raw_scan_range(pfd, lo, hi, BENCH_SCAN_ANYOF,
				   summary_mask(), t);
	close(pfd);
	return ret;
}

static double floor_one(struct bench_run *run, uint64_t *check,
			int (*fn)(pid_t, struct bench_tally *))
{
	struct bench_tally t = { 0 };
	double t0 = bench_now();
	int ret = fn(run->pid, &t);

	if (ret < 0)
		return bench_fail(run, "reading process %d: %s", (int)run->pid,
				  strerror(-ret));
	return bench_now() - t0;
}

static double f_pid_pread(struct bench_run *run, uint64_t *check)
{
	return floor_one(run, check, process_pread);
}

static double f_pid_raw(struct bench_run *run, uint64_t *check)
{
	return floor_one(run, check, process_raw);
}

/* Every process this user can read; those that go away are left out. */
static double floor_all(struct bench_run *run, uint64_t *check,
			int (*fn)(pid_t, struct bench_tally *))
{
	struct bench_tally t = { 0 };
	double t0 = bench_now();
	unsigned int procs = 0;
	struct dirent *d;
	DIR *dir = opendir("/proc");

	if (!dir)
		return bench_fail(run, "/proc: %s", strerror(errno));
	while ((d = readdir(dir))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (!fn((pid_t)pid, &t))
			procs++;
	}
	closedir(dir);
	t0 = bench_now() - t0;
	bench_note(run, "%u processes read by the floor", procs);
	return t0;
}

static double f_all_pread(struct bench_run *run, uint64_t *check)
{
	return floor_all(run, check, process_pread);
}

static double f_all_raw(struct bench_run *run, uint64_t *check)
{
	return floor_all(run, check, process_raw);
}

/* Run the command; seconds, or -1 with its message (unless @quiet). */
static double run_cli(struct bench_run *run, char *const *argv, bool quiet)
{
	struct cli *c = run->priv;
	double t0 = bench_now();
	int st, devnull;
	pid_t pid;

	if (ftruncate(c->err_fd, 0) || lseek(c->err_fd, 0, SEEK_SET))
		return bench_fail(run, "stderr file: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(devnull, 1) < 0 || dup2(c->err_fd, 2) < 0)
			_exit(126);
		execve(bench_cfg.cli, argv, c->env);
		_exit(127);
	}
	if (pid < 0)
		return bench_fail(run, "fork: %s", strerror(errno));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return bench_fail(run, "waitpid: %s", strerror(errno));
	t0 = bench_now() - t0;
	if ((!WIFEXITED(st) || WEXITSTATUS(st)) && quiet)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char msg[200] = "";
		ssize_t n = pread(c->err_fd, msg, sizeof(msg) - 1, 0);
		char *nl;

		msg[n > 0 ? n : 0] = 0;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			snprintf(msg, sizeof(msg), "cannot run %s",
				 bench_cfg.cli);
		return bench_fail(run, "%s: %s %d%s%s", argv[1],
				  WIFEXITED(st) ? "exit" : "signal",
				  WIFEXITED(st) ? WEXITSTATUS(st) :
				  WTERMSIG(st), *msg ? ": " : "", msg);
	}
	return t0;
}

static double m_pid(struct bench_run *run, uint64_t *check)
{
	struct cli *c = run->priv;
	char *argv[] = { "pagescan", c->pid, NULL };

	return run_cli(run, argv, false);
}

static double m_all(struct bench_run *run, uint64_t *check)
{
	char *argv[] = { "pagescan", "--all", NULL };

	return run_cli(run, argv, false);
}

static int setup(struct bench_run *run)
{
	static struct cli c;
	const char *backend = run->row->arg[1] ? "native" : "emulate";
	size_t n = 0, i;
	char *argv[] = { "pagescan", "--all", "--json", NULL };

	bench_backend(run, backend);
	if (access(bench_cfg.cli, X_OK))
		return bench_na(run, "no %s (%s)", bench_cfg.cli,
				strerror(errno));
	if (run->row->arg[1] && !bench_has(PAGESCAN_FEAT_SCAN))
		return bench_na(run, "no PAGEMAP_SCAN on this kernel");
	for (i = 0; environ[i] && n < ARRAY_LEN(c.env) - 2; i++)
		if (strncmp(environ[i], "PAGESCAN_", 9))
			c.env[n++] = environ[i];
	c.env[n++] = run->row->arg[1] ? "PAGESCAN_BACKEND=native" :
		     "PAGESCAN_BACKEND=emulate";
	c.env[n] = NULL;
	c.err_fd = memfd_create("pagescan-stderr", MFD_CLOEXEC);
	if (c.err_fd < 0)
		return bench_na(run, "memfd_create: %s", strerror(errno));
	run->priv = &c;
	run->pid = spawn_target(run, run->row->arg[0]);
	if (run->pid < 0)
		return bench_na(run, "the %s target did not start",
				bench_size(run->row->arg[0]));
	snprintf(c.pid, sizeof(c.pid), "%d", (int)run->pid);
	/* Until the command has --all (issue 11 item 3), say so. */
	if (run->row->arg[2] == C_ALL && run_cli(run, argv, true) < 0)
		return bench_na(run, "not implemented");
	return 0;
}

static void add(const char *what_name, int native, int what,
		bench_op floor, bench_op measure, int reps)
{
	struct bench_row r = {
		.vs = native ? "raw scan" : "pread", .target = "<= 2x",
		.reps = reps, .setup = setup, .floor = floor,
		.measure = measure,
		.arg = { bench_scaled(64 * GIB), (uint64_t)native,
			 (uint64_t)what },
	};

	if (what == C_PID)
		snprintf(r.name, sizeof(r.name), "pagescan PID (%s sparse), %s",
			 bench_size(r.arg[0]), what_name);
	else
		snprintf(r.name, sizeof(r.name), "pagescan --all, %s",
			 what_name);
	bench_add(&r);
}

static void rows(void)
{
	add("emulated", 0, C_PID, f_pid_pread, m_pid, 0);
	add("native", 1, C_PID, f_pid_raw, m_pid, 0);
	add("emulated", 0, C_ALL, f_all_pread, m_all, 3);
	add("native", 1, C_ALL, f_all_raw, m_all, 3);
}

const struct bench_group bench_group_cli = {
	.name = "cli",
	.doc = "issue 11 item 3: the pagescan command, fork to exit, output "
	       "to /dev/null, on a process with 64 GiB reserved (1 page in\n"
	       "1024 and a 4 MiB block written); floor 'pread': its smaps "
	       "once, then pagemap of every mapping with Rss or Swap, in\n"
	       "256 KiB chunks; 'raw scan': one raw PAGEMAP_SCAN loop over "
	       "its whole address space with the summary's masks;\n"
	       "--all: the sum of those floors over every readable process",
	.table = 1,
	.add_rows = rows,
};
