// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 13 item 1: the Python binding within 2x of the C iterator.  A
 * Python process (bench/bench-python.py --serve, on this build's shared
 * library) holds a million regions (pages read one in two: shared zero
 * pages) and times one call per request in itself:
 *   numpy array   Handle.regions_array(): the library fills the array;
 *   named tuples  Handle.regions(): one Python object per region (no
 *                 target: what the bulk call avoids).
 * The floor is the C iterator (op_lib_iter: pagescan_iter_next() into a
 * reused 4096-entry buffer) over the same range of the same process, with
 * the same masks, from the row's process: the scan of another process
 * costs what the scan of oneself costs (the same ioctl on its pagemap).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench.h"

struct py {
	FILE *to, *from;
};

/* @rel beside the harness binary (build/bench/..): the build tree's. */
static int beside_exe(const char *rel, char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	char *slash;

	if (n <= 0)
		return -1;
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (!slash || (size_t)(slash - out) + strlen(rel) + 2 > len)
		return -1;
	snprintf(slash + 1, len - (size_t)(slash + 1 - out), "%s", rel);
	return access(out, R_OK);
}

/* Debian's python3 has numpy (scripts/deps.sh); PATH's may not. */
static const char *python(void)
{
	static const char *const cand[] = { "/usr/bin/python3", "python3" };
	char cmd[128];
	size_t i;

	if (getenv("PYTHON"))
		return getenv("PYTHON");
	for (i = 0; i < ARRAY_LEN(cand); i++) {
		snprintf(cmd, sizeof(cmd), "%s -c 'import numpy' 2>/dev/null",
			 cand[i]);
		if (system(cmd) == 0)
			return cand[i];
	}
	return NULL;
}

static int setup(struct bench_run *run)
{
	char lib[4096], script[4096], env[4200], line[256];
	uint64_t regions = run->row->arg[0];
	int in[2], out[2];
	unsigned long long start, end;
	const char *py = python();
	struct py *p;
	int pid;

	if (!py)
		return bench_na(run, "no python3 with numpy");
	if (beside_exe("../libpagescan.so.0", lib, sizeof(lib)))
		return bench_na(run, "no shared library beside the harness");
	if (beside_exe("../../bench/bench-python.py", script, sizeof(script)) &&
	    access(strcpy(script, "bench/bench-python.py"), R_OK))
		return bench_na(run, "bench/bench-python.py not found");
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return bench_na(run, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		char n[32];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		snprintf(env, sizeof(env), "PAGESCAN_LIB=%s", lib);
		putenv(env);
		snprintf(n, sizeof(n), "%llu", (unsigned long long)regions);
		execlp(py, py, script, "--serve", n, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0)
		return bench_na(run, "fork: %s", strerror(errno));
	p = calloc(1, sizeof(*p));
	if (!p)
		return bench_na(run, "out of memory");
	p->to = fdopen(in[1], "w");
	p->from = fdopen(out[0], "r");
	if (!p->to || !p->from || !fgets(line, sizeof(line), p->from) ||
	    sscanf(line, "ready %d %llu %llu", &pid, &start, &end) != 3)
		return bench_na(run, "the Python helper did not start (%s %s)",
				py, script);
	run->priv = p;
	run->pid = pid;
	run->start = start;
	run->end = end;
	if (pagescan_open(pid, NULL, &run->ps))
		return bench_na(run, "pagescan_open(%d): %s", pid,
				strerror(errno));
	bench_backend(run, pagescan_backend_name(pagescan_backend(run->ps)));
	bench_note(run, "%s", py);
	return 0;
}

static double ask(struct bench_run *run, const char *what, uint64_t *check)
{
	struct py *p = run->priv;
	unsigned long long pages;
	char line[256];
	double secs;

	if (fprintf(p->to, "%s\n", what) < 0 || fflush(p->to) ||
	    !fgets(line, sizeof(line), p->from) ||
	    sscanf(line, "%lf %llu", &secs, &pages) != 2)
		return bench_fail(run, "the Python helper: %s", line);
	*check = pages;
	return secs;
}

static double measure_array(struct bench_run *run, uint64_t *check)
{
	return ask(run, "array", check);
}

static double measure_tuples(struct bench_run *run, uint64_t *check)
{
	return ask(run, "tuples", check);
}

static void rows(void)
{
	uint64_t n = bench_cfg.quick ? (UINT64_C(1) << 20) /
		     bench_cfg.quick_div : UINT64_C(1) << 20;
	struct bench_row r = {
		.vs = "C iterator", .target = "<= 2x", .setup = setup,
		.floor = op_lib_iter, .measure = measure_array,
		.arg = { n }, .reps = 5,
	};

	snprintf(r.name, sizeof(r.name), "%llu regions -> numpy array",
		 (unsigned long long)n);
	bench_add(&r);
	r.target = NULL;
	r.measure = measure_tuples;
	r.reps = 3;
	snprintf(r.name, sizeof(r.name), "%llu regions -> named tuples",
		 (unsigned long long)n);
	bench_add(&r);
}

const struct bench_group bench_group_python = {
	.name = "python", .table = 1, .add_rows = rows,
	.doc = "issue 13 item 1: Handle.regions_array() (and the per-region "
	       "named tuples) in a Python process, against the C iterator "
	       "over the same range",
};
