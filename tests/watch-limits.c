// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: what the protection-based backends do at their limits
 * (pagescan_watch(3), SIGNALS), with mprotect, each case in a child so a
 * death is seen:
 *  - a range holding a thread's stack (the caller's own, or that of a
 *    thread blocked in a system call) is refused with EBUSY: the kernel
 *    could not push a signal frame onto it once write-protected; so is
 *    the caller's alternate signal stack (it was taken, and the first
 *    tracked store killed the process: no frame for our handler);
 *  - with vm.max_map_count reached (reached by this process alone, no
 *    sysctl changed), writes that would split VMAs neither kill nor go
 *    unreported: every write is in the next get (an over-report is
 *    allowed), and after a reset the next write is reported again;
 *  - mremap(2) of a watched range away, stores there, and back: nothing
 *    dies, every page is reported until back and its first get, then
 *    writes are exact again; a store to read-only memory of the program's
 *    own still dies of SIGSEGV.
 */
#include "watch-common.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define NP 64

static struct pagescan_watch_opts wo = {
	.sz = sizeof(wo),
	.backend = PAGESCAN_WATCH_MPROTECT,
};

/* ---- thread stacks ---- */

static int own_stack(void)
{
	volatile char here[64];
	uintptr_t a = (uintptr_t)here & ~(uintptr_t)(t_psz - 1);
	struct pagescan_watch *w;
	int r;

	here[0] = 1;
	r = pagescan_watch_register((void *)a, t_psz, &wo, &w);
	if (r == 0) {
		pagescan_watch_unregister(w);
		return 1;
	}
	return r == -EBUSY ? 0 : 2;
}

/* The caller's sigaltstack in a mapping of its own, half of it watched. */
static int own_altstack(void)
{
	size_t len = 16 * t_psz;
	char *m = t_map(len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	stack_t ss = { .ss_sp = m, .ss_size = len };
	struct pagescan_watch *w;
	int r;

	if (sigaltstack(&ss, NULL))
		return 3;
	r = pagescan_watch_register(m + len / 2, len / 2, &wo, &w);
	if (r == 0) {
		m[len - 1] = 1;		/* died here */
		pagescan_watch_unregister(w);
		return 1;
	}
	if (r != -EBUSY)
		return 2;
	ss.ss_flags = SS_DISABLE;	/* off: the same range is fine */
	if (sigaltstack(&ss, NULL))
		return 3;
	if (pagescan_watch_register(m + len / 2, len / 2, &wo, &w))
		return 4;
	m[len - 1] = 1;
	pagescan_watch_unregister(w);
	return 0;
}

static int pipefd[2];
static _Atomic pid_t reader_tid;

static void *blocked_reader(void *arg)
{
	volatile char buf[256];
	char c;

	buf[0] = 0;
	reader_tid = (pid_t)syscall(SYS_gettid);
	if (read(pipefd[0], &c, 1) != 1)
		return NULL;
	/* Wakes up and uses its stack, as any thread would. */
	memset((char *)buf, c, sizeof(buf));
	return (void *)(uintptr_t)buf[7];
}

/* Is thread @tid inside read(2) now (/proc/self/task/TID/syscall: "0 ...")? */
static bool in_read(pid_t tid)
{
	char path[64], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !strncmp(buf, "0 ", 2);
}

/*
 * The promise is for a thread blocked in a system call (a thread running
 * in user space shows no stack pointer, pagescan_watch(3)): so wait until
 * the reader is in read(2), then one register must say EBUSY.  Registering
 * while it still ran could protect the stack it was about to write, which
 * kills the process (what the man page says; not what is tested here).
 */
static int other_stack(void)
{
	size_t len = 64 * t_psz;
	struct pagescan_watch *w;
	pthread_attr_t at;
	pthread_t th;
	void *stk, *ret;
	int r, i;

	stk = t_map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (pipe(pipefd) || pthread_attr_init(&at) ||
	    pthread_attr_setstack(&at, stk, len) ||
	    pthread_create(&th, &at, blocked_reader, NULL))
		return 3;
	for (i = 0; i < 10000 && !(reader_tid && in_read(reader_tid)); i++)
		usleep(1000);
	if (i == 10000)
		return 5;
	r = pagescan_watch_register(stk, len, &wo, &w);
	if (r == 0)
		pagescan_watch_unregister(w);
	if (write(pipefd[1], "x", 1) != 1 || pthread_join(th, &ret))
		return 4;
	return r == -EBUSY ? 0 : 1;
}

/* ---- vm.max_map_count ---- */

/* The pages of [p, p + np pages) a get reports, as a bit mask. */
static uint64_t get_mask(struct pagescan_watch *w, char *p, int np,
			 unsigned int flags, bool *err)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, go, .flags = flags);
	struct pagescan_region r[NP];
	uint64_t m = 0, a;
	int n, i;

	n = pagescan_watch_get_regions(w, p, np * t_psz, r, NP, &go);
	*err = n < 0;
	for (i = 0; i < n; i++)
		for (a = r[i].start; a < r[i].end; a += t_psz)
			m |= UINT64_C(1) << ((a - (uintptr_t)p) / t_psz);
	return m;
}

static uint64_t take(struct pagescan_watch *w, char *p, bool *err)
{
	return get_mask(w, p, NP, PAGESCAN_WATCH_RESET, err);
}

static int map_count(void)
{
	unsigned long max = 0, k, made = 0, freed;
	struct pagescan_watch *w;
	uint64_t wrote = 0, got;
	char *p, *fill;
	FILE *f;
	bool err;
	int i;

	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (!f || fscanf(f, "%lu", &max) != 1 || max > 1000000)
		return 77;
	fclose(f);
	/* The watch, alone in its VMA between two guard pages. */
	p = t_map((NP + 2) * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	p += t_psz;
	if (mprotect(p, NP * t_psz, PROT_READ | PROT_WRITE))
		return 3;
	t_touch(p, NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		return 4;
	/* Every other page PROT_NONE until the kernel says no more. */
	k = max + 16;
	fill = mmap(NULL, 2 * k * t_psz, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fill == MAP_FAILED)
		return 5;
	while (made < k && !mprotect(fill + (2 * made + 1) * t_psz, t_psz,
				     PROT_NONE))
		made++;
	if (made == k || errno != ENOMEM)
		return 6;
	/* Room for a few splits only. */
	for (freed = 0; freed < 3; freed++)
		mprotect(fill + (2 * --made + 1) * t_psz, t_psz, PROT_READ);
	for (i = 0; i < NP; i += 2) {
		p[i * t_psz] = 1;	/* each splits a VMA, until it cannot */
		wrote |= UINT64_C(1) << i;
	}
	got = take(w, p, &err);
	if (err || (got & wrote) != wrote)
		return 7;
	p[5 * t_psz] = 1;
	got = take(w, p, &err);
	if (err || !(got & (UINT64_C(1) << 5)))
		return 8;
	if (pagescan_watch_unregister(w))
		return 9;
	munmap(fill, 2 * k * t_psz);
	return 0;
}

/* ---- mremap(2) of a watched range ---- */

#define MP 8			/* pages of the moved watch */

/*
 * Away (MREMAP_FIXED into a reserved place), written there, and back:
 * the stores away must not die; every page is reported while away and at
 * the first get after coming back; after a reset, writes are exact again.
 */
static int moved(void)
{
	uint64_t all = (UINT64_C(1) << MP) - 1, got;
	struct pagescan_watch *w;
	char *p, *away, *q;
	bool err;
	int i;

	p = t_map(MP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	away = t_map(MP * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, MP * t_psz);
	if (pagescan_watch_register(p, MP * t_psz, &wo, &w))
		return 3;
	q = mremap(p, MP * t_psz, MP * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   away);
	if (q != away)
		return 4;
	for (i = 0; i < MP; i++)
		q[i * t_psz] = (char)(i + 1);	/* read-only here: must not die */
	got = get_mask(w, p, MP, 0, &err);
	if (err || got != all)
		return 5;
	if (mremap(q, MP * t_psz, MP * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p) != p)
		return 6;
	for (i = 0; i < MP; i++)
		if (p[i * t_psz] != (char)(i + 1))
			return 7;
	got = get_mask(w, p, MP, 0, &err);
	if (err || got != all)
		return 8;
	if (pagescan_watch_reset(w, p, MP * t_psz))
		return 9;
	p[0] = 1;
	p[(MP - 1) * t_psz] = 1;
	got = get_mask(w, p, MP, PAGESCAN_WATCH_RESET, &err);
	if (err || got != (1 | UINT64_C(1) << (MP - 1)))
		return 10;
	p[3 * t_psz] = 1;
	got = get_mask(w, p, MP, PAGESCAN_WATCH_RESET, &err);
	if (err || got != UINT64_C(1) << 3)
		return 11;
	if (pagescan_watch_unregister(w))
		return 12;
	return 0;
}

/*
 * A store to read-only memory of the program's own, while a watch is
 * registered and intact, is no business of the watch: SIGSEGV kills as
 * it would have without the library.
 */
static int ro_write(void)
{
	struct rlimit nocore = { 0, 0 };
	struct pagescan_watch *w;
	char *p, *ro;

	setrlimit(RLIMIT_CORE, &nocore);	/* the death is expected */
	/* The default action before us (ASan's handler otherwise exits 1). */
	signal(SIGSEGV, SIG_DFL);
	p = t_map(MP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	ro = t_map(t_psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, MP * t_psz);
	if (pagescan_watch_register(p, MP * t_psz, &wo, &w))
		return 3;
	p[0] = 1;			/* a tracked write first */
	*(volatile char *)ro = 1;	/* must die here */
	return 4;
}

int main(void)
{
	int st;

	t_init("watch-limits");
	t_child_ok("the caller's own stack: EBUSY", t_child(own_stack, 120));
	t_child_ok("a blocked thread's stack: EBUSY", t_child(other_stack, 120));
	t_child_ok("the caller's alternate signal stack: EBUSY",
		   t_child(own_altstack, 120));
	t_child_ok("mremap away, written, back: every page reported, then "
		   "exact", t_child(moved, 120));
	st = t_child(ro_write, 120);
	t_check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		"a store to unwatched read-only memory: status %#x, not "
		"SIGSEGV", st);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		printf("a store to unwatched read-only memory: SIGSEGV: ok\n");
	st = t_child(map_count, 120);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("vm.max_map_count above 1000000: not reached here\n");
	else
		t_child_ok("vm.max_map_count reached: writes reported", st);
	t_done();
}
