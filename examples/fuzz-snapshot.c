// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * In-process fuzzing with a snapshot: run a toy parser that keeps global
 * state on mutated inputs, and put its state back after each input with
 * pagescan_snapshot_restore(), instead of a fork server (fork, run in the
 * child, wait).  Prints executions per second both ways.
 *   fuzz-snapshot [SECONDS]       (default 1 per mode)
 * Build: cc fuzz-snapshot.c $(pkg-config --cflags --libs libpagescan)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pagescan.h>

/*
 * The target's global state, page-aligned so that it can be a range of
 * its own: symbol table, counters, an output buffer, a "heap" arena.
 */
#define TABLE 4096
static struct target {
	uint64_t records, bytes, depth_max;
	int crashed;
	struct sym {
		char key[24];
		uint32_t value;
		uint32_t used;
	} table[TABLE];
	char out[1 << 16];
	size_t out_len;
	char heap[1 << 20];
	size_t heap_used;
} state __attribute__((aligned(1 << 12)));

#define STATE_LEN ((sizeof(state) + 4095) & ~(size_t)4095)

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* "key=value;key=value;[nested]" ... with a planted bug on "FUZZ". */
static void parse(const char *in, size_t n)
{
	size_t i = 0, depth = 0;

	while (i < n) {
		size_t k = i, v;
		struct sym *s;

		if (in[i] == '[') {
			if (++depth > state.depth_max)
				state.depth_max = depth;
			i++;
			continue;
		}
		if (in[i] == ']') {
			depth -= depth > 0;
			i++;
			continue;
		}
		while (k < n && in[k] != '=' && in[k] != ';')
			k++;
		if (k >= n || in[k] != '=') {
			i = k + 1;
			continue;
		}
		v = k + 1;
		while (v < n && in[v] != ';')
			v++;
		s = &state.table[hash(in + i, k - i) % TABLE];
		memcpy(s->key, in + i, k - i < 23 ? k - i : 23);
		s->value = (uint32_t)strtoul(in + k + 1, NULL, 10);
		s->used++;
		if (state.heap_used + (v - k) < sizeof(state.heap)) {
			memcpy(state.heap + state.heap_used, in + k + 1, v - k - 1);
			state.heap_used += v - k;
		}
		if (state.out_len + 32 < sizeof(state.out))
			state.out_len += (size_t)snprintf(state.out + state.out_len,
							  32, "%u,", s->value);
		if (k - i == 4 && !memcmp(in + i, "FUZZ", 4))
			state.crashed = 1;	/* the bug to find */
		state.records++;
		i = v + 1;
	}
	state.bytes += n;
}

static void mutate(char *buf, size_t *len, uint64_t *x)
{
	static const char tok[] = "=;[]aZ09FU";
	int i;

	for (i = 0; i < 4; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		buf[*x % *len] = tok[(*x >> 32) % (sizeof(tok) - 1)];
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0;
	char seed[] = "name=1;size=22;[color=3;[depth=4]];FUZ=5;x=6;";
	char buf[sizeof(seed)];
	size_t len = sizeof(seed) - 1;
	struct pagescan_range r = { &state, STATE_LEN };
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *snap;
	uint64_t x = 88172645463325252ULL, execs = 0, found = 0, pages = 0;
	uint64_t fexecs = 0;
	double snap_rate, fork_rate;
	int err;

	/* The state the target starts from, every time. */
	parse("init=0;", 7);
	err = pagescan_snapshot_take(&r, 1, NULL, &snap);
	if (err) {
		fprintf(stderr, "fuzz-snapshot: take: %s\n", strerror(-err));
		return 1;
	}
	printf("backend: %s\n", pagescan_snapshot_reason(snap));

	t0 = now();
	do {
		memcpy(buf, seed, sizeof(seed));
		mutate(buf, &len, &x);
		parse(buf, len);
		found += (uint64_t)state.crashed;
		err = pagescan_snapshot_restore(snap, &st);
		if (err || state.records != 1 || state.crashed) {
			fprintf(stderr, "fuzz-snapshot: restore: %s\n",
				err ? strerror(-err) : "state not reset");
			return 1;
		}
		pages += st.pages;
		execs++;
	} while (now() - t0 < secs);
	snap_rate = (double)execs / (now() - t0);

	t0 = now();
	do {
		pid_t pid;
		int status;

		memcpy(buf, seed, sizeof(seed));
		mutate(buf, &len, &x);
		pid = fork();
		if (pid < 0)
			return 1;
		if (!pid) {
			parse(buf, len);
			_exit(state.crashed ? 2 : 0);
		}
		if (waitpid(pid, &status, 0) != pid)
			return 1;
		fexecs++;
	} while (now() - t0 < secs);
	fork_rate = (double)fexecs / (now() - t0);

	printf("snapshot restore: %.0f execs/s (%.1f pages restored per "
	       "exec, %llu inputs hit the bug)\n", snap_rate,
	       (double)pages / (double)execs, (unsigned long long)found);
	printf("fork server:      %.0f execs/s\n", fork_rate);
	printf("restore is %.1fx the fork server\n", snap_rate / fork_rate);
	pagescan_snapshot_free(snap);
	return 0;
}
