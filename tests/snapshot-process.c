// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: pagescan_snapshot_take_process(3).  The program's
 * initialised globals, its bss, the heap (small and large malloc blocks)
 * and an anonymous mapping are changed in every way (written, discarded,
 * populated) and come back byte for byte, pages unpopulated at take
 * unpopulated again, several rounds, with and without verify mode; a
 * mapping created after take and one removed are reported (and restore
 * fails with EFAULT until the removed one is mapped again); the calling
 * thread's stack is never taken, another thread's only with
 * PAGESCAN_SNAPSHOT_STACKS; every backend but uffd-async is refused with
 * EOPNOTSUPP and a reason; the kernel's rseq area of the caller is left
 * alone (taken on one CPU, restored on another, verify mode); the heap
 * churned and the maps changed between take and restore leave malloc()
 * working (allocator()); the heap grown past the break of take, and by the
 * take itself, is given back by restore, calloc() then hands out zeros and
 * malloc() works after the CREATED mappings are unmapped (heap_grown(),
 * heap_take_grows()); an update takes the heap grown and a large block
 * mapped since, and a restore returns to it (heap_update()).  The
 * threads alive at restore must be those of take or of the last update:
 * a thread created since and alive, the restoring one too, makes restore
 * fail with EBUSY, nothing changed, where the C library's count of
 * threads put back made the process exit (status 0) when that thread
 * returned; a thread created and joined in between is fine; an update
 * records the threads of now (threads()).
 *
 * The restore rewinds this program's own variables too (t_failures
 * among them): what must outlive it is kept in a MAP_SHARED page, which
 * no process snapshot takes.
 */
#include "snapshot-common.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#define DATA_LEN (3 * 4096 + 123)
#define BSS_LEN (5 * 4096 + 7)
#define NSMALL 64
#define BIG_LEN (3 << 20)	/* above the mmap threshold */
#define ANON_NP 64
#define GONE_NP 8
#define NEW_NP 4

static unsigned char g_data[DATA_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static unsigned char g_bss[BSS_LEN];
static char *small[NSMALL];
static char *big, *anon, *gone;
static void *volatile late;

/* Outlives restores: MAP_SHARED. */
struct keep {
	int failures;
	char msg[8][400];
	bool created_seen, removed_seen, stack_taken, other_taken;
	bool data_taken, bss_taken, heap_taken, big_taken, anon_taken;
	unsigned char data[DATA_LEN], bss[BSS_LEN];
	unsigned char small[NSMALL][100];
	bool anon_pop[ANON_NP];
	int thr_ret, thr_errno;	/* of the restore in another thread */
	bool thr_named;		/* its message said "created" */
	int reached;		/* how far a threads() case got */
};
static struct keep *keep;
static unsigned char *big_ref, *anon_ref;	/* MAP_SHARED too */
static const unsigned char zero[65536];

#define k_fail(...)							\
	do {								\
		if (keep->failures < 8)					\
			snprintf(keep->msg[keep->failures], 400,	\
				 __VA_ARGS__);				\
		keep->failures++;					\
	} while (0)

static void *shared(size_t len)
{
	return t_map(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
}

/* The mapping of verify mode's first differing page, for the message. */
static const char *where(struct pagescan_snapshot *s)
{
	static char out[400];
	char line[256], prev[256] = "";
	uint64_t n, lo, hi;
	void *page;
	FILE *f;

	out[0] = 0;
	if (pagescan_snapshot_verify_failure(s, &page, &n) != 1)
		return out;
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 &&
		    lo <= (uintptr_t)page && (uintptr_t)page < hi) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, sizeof(out), " in %.120s, after %.120s",
				 line, prev + 26);
			break;
		}
		memcpy(prev, line, sizeof(prev));
		prev[strcspn(prev, "\n")] = 0;
	}
	if (f)
		fclose(f);
	return out;
}

static void k_flush(const char *what)
{
	int i;

	for (i = 0; i < keep->failures && i < 8; i++)
		t_fail("%s: %s", what, keep->msg[i]);
	if (keep->failures > 8)
		t_fail("%s: %d more", what, keep->failures - 8);
	keep->failures = 0;
}

static void fill(unsigned int seed)
{
	size_t i;

	for (i = 0; i < DATA_LEN; i++)
		g_data[i] = (unsigned char)(i * 7 + seed);
	for (i = 0; i < BSS_LEN; i += 3)
		g_bss[i] = (unsigned char)(i + seed);
	for (i = 0; i < NSMALL; i++)
		memset(small[i], (int)(i + seed), 100);
	for (i = 0; i < BIG_LEN; i += 4096 * 5)
		memset(big + i, (int)(i / 4096 + seed), 4096);
	/* Every third page of the anonymous mapping populated. */
	madvise(anon, ANON_NP * t_psz, MADV_DONTNEED);
	for (i = 0; i < ANON_NP; i += 3)
		memset(anon + i * t_psz, (int)(i + seed), t_psz);
	for (i = 0; i < GONE_NP; i++)
		memset(gone + i * t_psz, (int)(0x40 + i + seed), t_psz);
}

static void reference(void)
{
	size_t i;

	memcpy(keep->data, g_data, DATA_LEN);
	memcpy(keep->bss, g_bss, BSS_LEN);
	for (i = 0; i < NSMALL; i++)
		memcpy(keep->small[i], small[i], 100);
	memcpy(big_ref, big, BIG_LEN);
	/* Unpopulated pages are not read: that would map the zero page. */
	for (i = 0; i < ANON_NP; i++) {
		keep->anon_pop[i] = s_populated(anon + i * t_psz);
		if (keep->anon_pop[i])
			memcpy(anon_ref + i * t_psz, anon + i * t_psz, t_psz);
	}
	memcpy(anon_ref + ANON_NP * t_psz, gone, GONE_NP * t_psz);
}

static void scribble(unsigned int round)
{
	size_t i;

	for (i = 0; i < DATA_LEN; i += 1000)
		g_data[i] ^= 0x5a;
	memset(g_bss + round * 100, 0xee, 4096);
	for (i = round % 2; i < NSMALL; i += 2)
		memset(small[i], 0xcc, 100);
	memset(big + BIG_LEN / 2, 0xbb, BIG_LEN / 4);
	for (i = 0; i < ANON_NP; i++) {
		if (i % 3 == 0 && i % 2)
			madvise(anon + i * t_psz, t_psz, MADV_DONTNEED);
		else if (i % 5 == 1)
			anon[i * t_psz + round] = 'w';	/* unpopulated at take */
		else if (i % 3 == 0)
			anon[i * t_psz + 17] ^= 1;
	}
	memset(gone, 0x11, GONE_NP * t_psz);
	/* A block malloc'd after take: forgotten by the restore. */
	small[0][0] = (char)round;
	late = malloc(40);
}

/* After a restore: every byte as at take (checked into keep). */
static void compare(const char *what)
{
	size_t i;

	if (memcmp(g_data, keep->data, DATA_LEN))
		k_fail("%s: initialised globals differ", what);
	if (memcmp(g_bss, keep->bss, BSS_LEN))
		k_fail("%s: bss differs", what);
	for (i = 0; i < NSMALL; i++)
		if (memcmp(small[i], keep->small[i], 100)) {
			k_fail("%s: small block %zu differs", what, i);
			break;
		}
	if (memcmp(big, big_ref, BIG_LEN))
		k_fail("%s: large block differs", what);
	for (i = 0; i < ANON_NP; i++) {
		if (!keep->anon_pop[i]) {
			/* Needs PFNs (root); a marker reads as swapped. */
			if (s_holds_page(anon + i * t_psz))
				k_fail("%s: anon page %zu, unpopulated at "
				       "take, holds a page after restore",
				       what, i);
			else if (memcmp(anon + i * t_psz, zero, t_psz))
				k_fail("%s: anon page %zu, unpopulated at "
				       "take, is not zero after restore",
				       what, i);
			continue;
		}
		if (memcmp(anon + i * t_psz, anon_ref + i * t_psz, t_psz)) {
			k_fail("%s: anon page %zu differs", what, i);
			break;
		}
	}
	if (memcmp(gone, anon_ref + ANON_NP * t_psz, GONE_NP * t_psz))
		k_fail("%s: the remapped mapping differs", what);
}

struct find {
	uint64_t addr;
	bool found;
};

static int find_fn(const struct pagescan_snapshot_mapping *m, void *ctx)
{
	struct find *f = ctx;

	if (m->state != PAGESCAN_SNAPSHOT_MAP_TAKEN || m->sz < sizeof(*m))
		return -100;
	if (m->start <= f->addr && f->addr < m->end)
		f->found = true;
	return 0;
}

static bool taken(struct pagescan_snapshot *s, const void *p)
{
	struct find f = { (uintptr_t)p, false };
	int ret;

	ret = pagescan_snapshot_mappings(s, PAGESCAN_SNAPSHOT_MAP_TAKEN,
					 find_fn, &f);
	if (ret)
		k_fail("mappings(TAKEN): %d", ret);
	return f.found;
}

struct changes {
	char *created;
	bool created_ok, removed_ok, other;
};

static int change_fn(const struct pagescan_snapshot_mapping *m, void *ctx)
{
	struct changes *c = ctx;
	uint64_t n = (uintptr_t)c->created, g = (uintptr_t)gone;

	if (m->state == PAGESCAN_SNAPSHOT_MAP_CREATED && m->start <= n &&
	    n + NEW_NP * t_psz <= m->end)
		c->created_ok = true;
	else if (m->state == PAGESCAN_SNAPSHOT_MAP_REMOVED && m->start <= g &&
		 g + GONE_NP * t_psz <= m->end)
		c->removed_ok = true;
	else if (m->state == PAGESCAN_SNAPSHOT_MAP_REMOVED && m->end > g &&
		 m->start < g + GONE_NP * t_psz)
		c->other = true;	/* only a part of it */
	if (m->state == PAGESCAN_SNAPSHOT_MAP_TAKEN)
		c->other = true;	/* not asked for */
	return 0;
}

/*
 * After a restore the allocators' state is as at take: memory they
 * mapped since (ASan's allocator maps its regions piece by piece) is
 * theirs no more, and would be mapped again on top of what is there.
 * Unmapped, as a fuzzer would do it.
 */
struct created {
	uint64_t start[64], end[64];
	int n;
};

static int created_fn(const struct pagescan_snapshot_mapping *m, void *ctx)
{
	struct created *c = ctx;

	if (c->n < 64) {
		c->start[c->n] = m->start;
		c->end[c->n++] = m->end;
	}
	return 0;
}

static void drop_created(struct pagescan_snapshot *s)
{
	struct created c = { .n = 0 };
	int i, ret;

	ret = pagescan_snapshot_mappings(s, PAGESCAN_SNAPSHOT_MAP_CREATED,
					 created_fn, &c);
	if (ret)
		k_fail("mappings(CREATED): %d", ret);
	for (i = 0; i < c.n; i++)
		munmap((void *)(uintptr_t)c.start[i],
		       (size_t)(c.end[i] - c.start[i]));
}

/*
 * The allocator as restored: blocks freed and allocated again with other
 * sizes, and a new mapping each round (the maps text changes), between
 * take and restore; after it, malloc() and free() of every size class.
 * Under PAGESCAN_BACKEND=emulate (the emulate lane) the restore's own
 * scans allocated while it collected the ranges one by one: the heap
 * kept what their malloc() had written after it had been collected, the
 * C library's data (the arenas) went back, and glibc aborted here
 * ("malloc assertion failure in _int_malloc") or crashed later.  The
 * pointers are globals: restored with the heap they point into.
 */
#define NCHURN 96
static char *churn[NCHURN];

static void allocator(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *s;
	char *maps[8];		/* on our stack: not restored */
	unsigned int r, i;
	int ret;

	for (i = 0; i < NCHURN; i++) {
		churn[i] = malloc(100 + i * 37);
		if (!churn[i])
			t_error("malloc");
		memset(churn[i], (int)i, 100 + i * 37);
	}
	for (i = 0; i < NCHURN; i += 3) {
		free(churn[i]);
		churn[i] = NULL;
	}
	ret = pagescan_snapshot_take_process(&o, &s);
	if (ret) {
		t_fail("allocator: take: %s", strerror(-ret));
		return;
	}
	for (r = 0; r < 8; r++) {
		size_t len = 50 + r * 13;

		maps[r] = t_map((r + 1) * t_psz, PROT_READ |
				(r & 1 ? PROT_WRITE : 0),
				MAP_PRIVATE | MAP_ANONYMOUS);
		for (i = 0; i < NCHURN; i += 5) {
			free(churn[i]);
			churn[i] = malloc(len + i);
			if (churn[i])
				memset(churn[i], (int)r, len + i);
		}
		ret = pagescan_snapshot_restore(s, &st);
		if (ret)
			k_fail("allocator: round %u: restore: %s (%s)", r,
			       strerror(-ret), pagescan_last_error());
		for (i = 0; i < 64; i++)
			free(malloc(16 + i * 97));
	}
	pagescan_snapshot_free(s);
	for (r = 0; r < 8; r++)
		munmap(maps[r], (r + 1) * t_psz);
	for (i = 0; i < NCHURN; i++)
		free(churn[i]);
	k_flush("allocator");
}

/*
 * The heap grown past the break of take, then restored: the break goes
 * back (brk(2) answers the one of take), calloc() hands out zeros (it
 * took the stale bytes above the old break for fresh memory), malloc()
 * works after the manual's recipe unmapped what was created (it
 * segfaulted: the kernel's break stood above the unmapped hole), and an
 * update, which cannot save the grown part, is refused with EFAULT
 * before it saves anything.  In a child: a crash is a failure.
 */
#define NGROW 2048
#define GROW_LEN 2000
static char *grow[NGROW];

static uint64_t brk_now(void)
{
	return (uint64_t)syscall(SYS_brk, 0);
}

static int zeroed_callocs(void)
{
	int i, j;

	for (i = 0; i < NGROW; i++) {
		unsigned char *c = calloc(1, GROW_LEN);

		if (!c)
			return 1;
		for (j = 0; j < GROW_LEN; j++)
			if (c[j]) {
				printf("calloc() block %d byte %d: %#x, "
				       "stale\n", i, j, c[j]);
				return 1;
			}
		memset(c, 0xcd, GROW_LEN);	/* stale for the next round */
	}
	return 0;
}

static int heap_grown(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	uint64_t b0;
	int i, r, ret;

	if (pagescan_snapshot_take_process(&o, &s))
		return 2;
	b0 = brk_now();
	for (r = 0; r < 4; r++) {
		for (i = 0; i < NGROW; i++) {
			grow[i] = malloc(GROW_LEN);
			if (!grow[i])
				return 3;
			memset(grow[i], 0xab, GROW_LEN);
		}
		if (brk_now() <= b0)
			return 4;	/* the heap must have grown */
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret) {
			printf("restore: %d (%s)\n", ret, pagescan_last_error());
			return 6;
		}
		if (brk_now() != b0) {
			printf("break %#" PRIx64 " after restore, %#" PRIx64
			       " at take\n", brk_now(), b0);
			return 7;
		}
		if (r & 1)
			drop_created(s);	/* the manual's recipe */
		if (zeroed_callocs())
			return 8;
		/* The callocs grew the heap again: restore it away. */
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret || brk_now() != b0)
			return 9;
	}
	pagescan_snapshot_free(s);
	return keep->failures ? 11 : 0;
}

/*
 * An update after the heap grew and a large block was mapped: they are
 * taken too, so a restore returns to the update, break included: the
 * blocks hold what they held then, the heap grown after is given back,
 * malloc() and calloc() work.  Twice, each update on top of the last.
 */
#define BIGU (4 << 20)		/* above the mmap threshold */
static unsigned char *bigu[2];

static int heap_update(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *s;
	uint64_t b1;
	int i, r, ret, j;

	if (pagescan_snapshot_take_process(&o, &s))
		return 2;
	for (r = 0; r < 2; r++) {
		for (i = r * (NGROW / 2); i < (r + 1) * (NGROW / 2); i++) {
			grow[i] = malloc(GROW_LEN);
			if (!grow[i])
				return 3;
			memset(grow[i], 0xa0 + r, GROW_LEN);
		}
		bigu[r] = malloc(BIGU);
		if (!bigu[r])
			return 3;
		memset(bigu[r], 0xb0 + r, BIGU);
		ret = pagescan_snapshot_update(s, &st);
		if (ret) {
			printf("update %d: %d (%s)\n", r, ret,
			       pagescan_last_error());
			return 4;
		}
		b1 = brk_now();
		/* Scribble over it all, and grow the heap past it. */
		for (i = 0; i < (r + 1) * (NGROW / 2); i++)
			memset(grow[i], 0xcd, GROW_LEN);
		memset(bigu[r], 0xcd, BIGU);
		for (i = 0; i < NGROW; i++)
			if (!malloc(GROW_LEN))
				return 5;
		if (brk_now() <= b1)
			return 6;
		ret = pagescan_snapshot_restore(s, &st);
		if (ret) {
			printf("restore %d: %d (%s)\n", r, ret,
			       pagescan_last_error());
			return 7;
		}
		if (brk_now() != b1) {
			printf("break %#" PRIx64 " after restore, %#" PRIx64
			       " at update\n", brk_now(), b1);
			return 8;
		}
		for (i = 0; i < (r + 1) * (NGROW / 2); i++)
			for (j = 0; j < GROW_LEN; j++)
				if ((unsigned char)grow[i][j] !=
				    0xa0 + i / (NGROW / 2)) {
					printf("round %d: block %d byte %d: "
					       "%#x\n", r, i, j,
					       (unsigned char)grow[i][j]);
					return 9;
				}
		for (j = 0; j < BIGU; j++)
			if (bigu[r][j] != 0xb0 + r) {
				printf("round %d: large block byte %d: %#x\n",
				       r, j, bigu[r][j]);
				return 10;
			}
		for (i = 0; i < 256; i++)
			free(malloc(16 + i * 61));
		for (i = 0; i < 64; i++) {
			unsigned char *c = calloc(1, GROW_LEN);

			for (j = 0; c && j < GROW_LEN; j++)
				if (c[j])
					return 11;
		}
	}
	printf("heap_update: %llu pages restored by the last restore\n",
	       (unsigned long long)st.pages);
	pagescan_snapshot_free(s);
	return 0;
}

/*
 * The take's own allocations grow the heap: the top of the heap filled
 * first (M_TOP_PAD 0: the heap grows by as little as it needs), so the
 * take's reading of the maps does not fit.  The snapshot must hold the
 * heap as grown (malloc's state at copy time points to its top): a
 * restore after the heap grew again, and malloc() and calloc() after it.
 */
static int heap_take_grows(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	int tries, grew = 0, i;
	uint64_t b;

	mallopt(M_TOP_PAD, 0);
	for (tries = 0; tries < 20 && !grew; tries++) {
		b = brk_now();
		while (brk_now() == b)
			if (!malloc(64))
				return 2;
		b = brk_now();
		if (pagescan_snapshot_take_process(&o, &s))
			return 3;
		grew = brk_now() != b;
		for (i = 0; i < NGROW; i++) {
			grow[i] = malloc(GROW_LEN);
			if (!grow[i])
				return 4;
			memset(grow[i], 0xab, GROW_LEN);
		}
		if (pagescan_snapshot_restore(s, NULL))
			return 5;
		if (zeroed_callocs())
			return 6;
		for (i = 0; i < 256; i++)
			free(malloc(16 + i * 61));
		pagescan_snapshot_free(s);
	}
	printf("heap grown by the take itself in %d of %d tries\n", grew,
	       tries);
	return 0;
}

static int pipefd[2];
static void *volatile thread_local_addr;

static void *blocked(void *arg)
{
	volatile char here = 1;
	char c;

	(void)arg;
	thread_local_addr = (void *)&here;
	if (read(pipefd[0], &c, 1) < 0)
		return NULL;
	return (void *)(uintptr_t)here;
}

static void stacks(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	volatile char mine = 0;
	pthread_t th;
	int ret;

	if (pipe(pipefd) || pthread_create(&th, NULL, blocked, NULL))
		t_error("thread");
	while (!thread_local_addr)
		usleep(1000);
	usleep(20000);	/* in read(2) by now, or the take waits for it */
	ret = pagescan_snapshot_take_process(&o, &s);
	t_check(!ret, "take (no stacks): %s", strerror(-ret));
	if (!ret) {
		t_check(!taken(s, (const void *)&mine), "the calling thread's "
			"stack was taken");
		t_check(!taken(s, thread_local_addr), "another thread's stack "
			"was taken without PAGESCAN_SNAPSHOT_STACKS");
		t_check(taken(s, g_data), "globals not taken");
		pagescan_snapshot_free(s);
	}
	o.flags = PAGESCAN_SNAPSHOT_STACKS;
	ret = pagescan_snapshot_take_process(&o, &s);
	t_check(!ret, "take (stacks): %s", strerror(-ret));
	if (!ret) {
		t_check(!taken(s, (const void *)&mine), "the calling thread's "
			"stack was taken with PAGESCAN_SNAPSHOT_STACKS");
		t_check(taken(s, thread_local_addr), "the other thread's stack "
			"was not taken with PAGESCAN_SNAPSHOT_STACKS");
		pagescan_snapshot_free(s);
	}
	if (write(pipefd[1], "x", 1) != 1 || pthread_join(th, NULL))
		t_error("join");
	close(pipefd[0]);
	close(pipefd[1]);
	k_flush("stacks");
}

/*
 * The threads of take at restore.  Each case runs in a child: the C
 * library's exit(0), when a thread whose count was rewound returns, ends
 * the child with status 0, so each one says how far it got (keep, which
 * the restore does not rewind).
 */
static volatile int thr_val = 1;	/* data: taken */
static char *thr_heap;
static int thr_pipe[2];
static volatile int thr_up;

static void *thr_wait(void *arg)
{
	char c;

	(void)arg;
	thr_up = 1;
	if (read(thr_pipe[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static void *thr_noop(void *arg)
{
	return arg;
}

static void *thr_restore(void *arg)
{
	struct pagescan_snapshot *s = arg;

	keep->thr_ret = pagescan_snapshot_restore(s, NULL);
	keep->thr_errno = errno;
	keep->thr_named = strstr(pagescan_last_error(), "created") != NULL;
	return NULL;
}

/*
 * On a stack mapped since take: one from glibc's cache of stacks (the
 * parent's threads left theirs, of 8 MiB) was taken as a mapping, and a
 * restore refuses to run on it (threads_cached() tests what an update
 * does with one).  glibc takes no cached stack four times the size
 * asked for.
 */
static int thr_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int ret;

	if (pthread_attr_init(&a))
		return -1;
	ret = pthread_attr_setstacksize(&a, 256 << 10);
	if (!ret)
		ret = pthread_create(th, &a, fn, arg);
	pthread_attr_destroy(&a);
	return ret ? -1 : 0;
}

static int thr_start(pthread_t *th)
{
	thr_up = 0;
	if (thr_create(th, thr_wait, NULL))
		return -1;
	while (!thr_up)
		usleep(1000);
	usleep(20000);	/* in read(2) by now */
	return 0;
}

static int thr_stop(pthread_t th)
{
	if (write(thr_pipe[1], "x", 1) != 1 || pthread_join(th, NULL))
		return -1;
	return 0;
}

static bool thr_same(int val, char c)
{
	return thr_val == val && thr_heap[0] == c && thr_heap[4095] == c;
}

/* (a) One created since take, alive: EBUSY, nothing changed; joined: ok. */
static int threads_alive(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	pthread_t th;
	int ret;

	thr_heap = malloc(8192);
	if (!thr_heap || pipe(thr_pipe))
		return 2;
	memset(thr_heap, 'a', 8192);
	thr_val = 1;
	if (pagescan_snapshot_take_process(&o, &s))
		return 3;
	keep->reached = 1;
	if (thr_start(&th))
		return 4;
	thr_val = 2;
	memset(thr_heap, 'b', 8192);
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret != -EBUSY || errno != EBUSY ||
	    !strstr(pagescan_last_error(), "created")) {
		printf("restore with a thread alive: %d (%s)\n", ret,
		       pagescan_last_error());
		return 5;
	}
	if (!thr_same(2, 'b'))
		return 6;	/* the refused restore changed memory */
	keep->reached = 2;
	if (thr_stop(th))
		return 7;
	keep->reached = 3;
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret) {
		printf("restore after the join: %d (%s)\n", ret,
		       pagescan_last_error());
		return 8;
	}
	if (!thr_same(1, 'a'))
		return 9;
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

/* (b) A thread created since take restores: EBUSY, and main goes on. */
static int threads_restorer(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	pthread_t th;

	thr_heap = malloc(8192);
	if (!thr_heap)
		return 2;
	memset(thr_heap, 'a', 8192);
	thr_val = 1;
	if (pagescan_snapshot_take_process(&o, &s))
		return 3;
	keep->reached = 1;
	thr_val = 2;
	memset(thr_heap, 'b', 8192);
	keep->thr_ret = 1;
	if (thr_create(&th, thr_restore, s) ||
	    pthread_join(th, NULL))
		return 4;
	keep->reached = 2;
	if (keep->thr_ret != -EBUSY || keep->thr_errno != EBUSY ||
	    !keep->thr_named) {
		printf("restore in a thread created since take: %d\n",
		       keep->thr_ret);
		return 5;
	}
	if (!thr_same(2, 'b'))
		return 6;
	keep->reached = 3;
	/* Joined: the restore from main works. */
	if (pagescan_snapshot_restore(s, NULL) || !thr_same(1, 'a'))
		return 7;
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

/* (c) A thread created and joined between take and restore: fine. */
static int threads_joined(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	pthread_t th;
	int i, ret;

	thr_heap = malloc(8192);
	if (!thr_heap)
		return 2;
	memset(thr_heap, 'a', 8192);
	thr_val = 1;
	if (pagescan_snapshot_take_process(&o, &s))
		return 3;
	keep->reached = 1;
	for (i = 0; i < 20; i++) {
		thr_val = 2;
		memset(thr_heap, 'b', 8192);
		if (pthread_create(&th, NULL, thr_noop, NULL) ||
		    pthread_join(th, NULL))
			return 4;
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret) {
			printf("restore %d after a join: %d (%s)\n", i, ret,
			       pagescan_last_error());
			return 5;
		}
		if (!thr_same(1, 'a'))
			return 6;
	}
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

/*
 * (d) An update with a thread created since alive records it: a restore
 * with it alive works, and once it is joined fails with EBUSY (it has
 * exited since the update) until the next update.
 */
static int threads_update(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	pthread_t th;
	int ret;

	thr_heap = malloc(8192);
	if (!thr_heap || pipe(thr_pipe))
		return 2;
	memset(thr_heap, 'a', 8192);
	thr_val = 1;
	if (pagescan_snapshot_take_process(&o, &s))
		return 3;
	if (thr_start(&th))
		return 4;
	thr_val = 2;
	ret = pagescan_snapshot_update(s, NULL);
	if (ret) {
		printf("update with a thread alive: %d (%s)\n", ret,
		       pagescan_last_error());
		return 5;
	}
	keep->reached = 1;
	thr_val = 3;
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret || thr_val != 2) {
		printf("restore after the update: %d (%s)\n", ret,
		       pagescan_last_error());
		return 6;
	}
	keep->reached = 2;
	if (thr_stop(th))
		return 7;
	thr_val = 4;
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret != -EBUSY || !strstr(pagescan_last_error(), "exited") ||
	    thr_val != 4) {
		printf("restore with the thread of the update gone: %d "
		       "(%s)\n", ret, pagescan_last_error());
		return 8;
	}
	keep->reached = 3;
	ret = pagescan_snapshot_update(s, NULL);
	if (ret) {
		printf("update with the thread gone: %d (%s)\n", ret,
		       pagescan_last_error());
		return 9;
	}
	thr_val = 5;
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret || thr_val != 4) {
		printf("restore after that update: %d (%s)\n", ret,
		       pagescan_last_error());
		return 10;
	}
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

static int maps_lines(void)
{
	int fd = open("/proc/self/maps", O_RDONLY), n = 0;
	char buf[4096];
	ssize_t got, i;

	while (fd >= 0 && (got = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < got; i++)
			n += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	return n;
}

/*
 * (e) The manual's recipe, with a thread created and joined each round:
 * restore, then unmap what is reported CREATED.  The C library's cache
 * of stacks, restored, forgets the thread's: its writable part and the
 * PROT_NONE guard page below it were both created since take, and only
 * the writable part was reported, so one VMA was left per round (until
 * mmap() failed at vm.max_map_count).
 */
static int threads_recipe(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	int i, n0 = 0, n;
	pthread_t th;

	if (pagescan_snapshot_take_process(&o, &s))
		return 3;
	keep->reached = 1;
	for (i = 0; i < 60; i++) {
		if (thr_create(&th, thr_noop, NULL) || pthread_join(th, NULL))
			return 4;
		if (pagescan_snapshot_restore(s, NULL))
			return 5;
		drop_created(s);
		n = maps_lines();
		if (i == 4)
			n0 = n;
		if (i > 4 && n > n0) {
			printf("recipe: %d mappings after round 5, %d after "
			       "round %d\n", n0, n, i + 1);
			return 6;
		}
	}
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

static void *thr_where(void *arg)
{
	pthread_attr_t a;
	void *stk = NULL;
	size_t len;

	if (!pthread_getattr_np(pthread_self(), &a)) {
		pthread_attr_getstack(&a, &stk, &len);
		pthread_attr_destroy(&a);
	}
	*(void **)arg = stk;
	return NULL;
}

/*
 * (f) glibc gives a thread created since take a stack from its cache,
 * which the take saw as an ordinary mapping and took: the update (with
 * the thread alive, blocked) lets that range go, as the rules of take
 * leave a thread's stack out.  It failed with EFAULT ("removed since
 * take"); a restore of the thread's live stack would have corrupted it.
 */
static int threads_cached(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	void *first = NULL, *second = NULL;
	pthread_t th;
	int ret;

	thr_heap = malloc(8192);
	if (!thr_heap || pipe(thr_pipe))
		return 2;
	memset(thr_heap, 'a', 8192);
	/* Default attributes: an 8 MiB stack, cached when joined. */
	if (pthread_create(&th, NULL, thr_where, &first) ||
	    pthread_join(th, NULL))
		return 3;
	thr_val = 1;
	if (pagescan_snapshot_take_process(&o, &s))
		return 4;
	thr_up = 0;
	if (pthread_create(&th, NULL, thr_wait, NULL))
		return 5;
	while (!thr_up)
		usleep(1000);
	usleep(20000);	/* in read(2) by now */
	{
		pthread_attr_t a;
		size_t len;

		if (!pthread_getattr_np(th, &a)) {
			pthread_attr_getstack(&a, &second, &len);
			pthread_attr_destroy(&a);
		}
	}
	if (first != second)
		printf("glibc did not reuse the cached stack (%p, %p)\n",
		       first, second);
	thr_val = 2;
	ret = pagescan_snapshot_update(s, NULL);
	if (ret) {
		printf("update with a thread on a cached stack: %d (%s)\n",
		       ret, pagescan_last_error());
		return 6;
	}
	keep->reached = 1;
	thr_val = 3;
	ret = pagescan_snapshot_restore(s, NULL);
	if (ret || thr_val != 2) {
		printf("restore after the update: %d (%s)\n", ret,
		       pagescan_last_error());
		return 7;
	}
	keep->reached = 2;
	/* It returns on its stack: intact. */
	if (thr_stop(th))
		return 8;
	keep->reached = 3;
	if (pagescan_snapshot_update(s, NULL))
		return 9;
	thr_val = 5;
	if (pagescan_snapshot_restore(s, NULL) || thr_val != 2)
		return 10;
	keep->reached = 4;
	pagescan_snapshot_free(s);
	return 0;
}

/*
 * The main thread ends with pthread_exit() after take: it stays listed in
 * /proc/self/task (a zombie leader) until the process ends, and has no
 * memory.  Another thread's restore must see it gone (EBUSY): taken as
 * alive, the restore would put back a count of two threads with one left.
 * The same state, for a moment, as a thread just joined.
 */
static struct pagescan_snapshot *leader_snap;

static void *thr_after_leader(void *arg)
{
	struct timespec t = { 0, 20000000 };
	int i;

	(void)arg;
	thr_up = 1;
	while (keep->reached != 1)	/* the take */
		nanosleep(&t, NULL);
	/* Until the leader has let go of its memory (its statm: zeros). */
	for (i = 0; i < 250; i++) {
		char path[64], buf[16] = "";
		int fd;

		snprintf(path, sizeof(path), "/proc/self/task/%d/statm",
			 (int)getpid());
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) < 0)
				buf[0] = 0;
			close(fd);
		}
		if (buf[0] == '0' && buf[1] == ' ')
			break;
		nanosleep(&t, NULL);
	}
	keep->reached = 2;
	keep->thr_ret = pagescan_snapshot_restore(leader_snap, NULL);
	keep->thr_errno = errno;
	keep->thr_named = pagescan_last_error() &&
			  strstr(pagescan_last_error(), "exited") != NULL;
	keep->reached = 4;
	_exit(0);
}

static int threads_leader(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	pthread_t th;

	keep->thr_ret = 1;
	thr_up = 0;
	if (thr_create(&th, thr_after_leader, NULL))
		return 2;
	while (!thr_up)
		usleep(1000);
	usleep(20000);	/* asleep by now: its stack is found */
	if (pagescan_snapshot_take_process(&o, &leader_snap))
		return 3;
	keep->reached = 1;
	pthread_exit(NULL);
}

static void threads_case(const char *what, int (*fn)(void))
{
	keep->reached = 0;
	if (t_child_ok(what, t_child(fn, 120)))
		t_check(keep->reached == 4, "%s: the child exited 0 at "
			"step %d of 4 (the C library's exit when the last "
			"thread it counts returns?)", what, keep->reached);
}

static void threads(void)
{
	threads_case("threads: one created since take, alive",
		     threads_alive);
	threads_case("threads: one created since take restores",
		     threads_restorer);
	threads_case("threads: created and joined before restore",
		     threads_joined);
	threads_case("threads: an update records them", threads_update);
	threads_case("threads: created, joined, restored, CREATED unmapped: "
		     "no mapping left", threads_recipe);
	threads_case("threads: one on a stack from glibc's cache, which take "
		     "took: update lets it go", threads_cached);
	threads_case("threads: the main thread gone (pthread_exit), another "
		     "restores: EBUSY", threads_leader);
	t_check(keep->thr_ret == -EBUSY && keep->thr_errno == EBUSY &&
		keep->thr_named, "restore with the main thread gone: %d "
		"(errno %d), %s", keep->thr_ret, keep->thr_errno,
		keep->thr_named ? "named" : "no \"exited\" message");
}

static void rounds(unsigned int flags)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .flags = flags);
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *s;
	struct changes c = { 0 };
	volatile int on_stack = 1;
	unsigned int r;
	void *again;
	int ret;

	fill(flags * 3 + 1);
	reference();
	ret = pagescan_snapshot_take_process(&o, &s);
	if (ret) {
		t_fail("take_process(flags %#x): %s (%s)", flags,
		       strerror(-ret), pagescan_last_error());
		return;
	}
	t_check(pagescan_snapshot_backend(s) == PAGESCAN_WATCH_UFFD_ASYNC,
		"backend %s", pagescan_watch_backend_name(
			pagescan_snapshot_backend(s)));
	keep->data_taken = taken(s, g_data) && taken(s, g_data + DATA_LEN - 1);
	keep->bss_taken = taken(s, g_bss) && taken(s, g_bss + BSS_LEN - 1);
	keep->heap_taken = taken(s, small[NSMALL - 1]);
	keep->big_taken = taken(s, big) && taken(s, big + BIG_LEN - 1);
	keep->anon_taken = taken(s, anon) && taken(s, gone);
	for (r = 0; r < 4; r++) {
		scribble(r);
		on_stack = 2 + (int)r;
		ret = pagescan_snapshot_restore(s, &st);
		if (ret) {
			k_fail("round %u: restore: %s (%s)%s", r,
			       strerror(-ret), pagescan_last_error(), where(s));
			break;
		}
		if (!st.pages)
			k_fail("round %u: restored no page", r);
		compare("restore");
		drop_created(s);
		if (on_stack != 2 + (int)r)
			k_fail("round %u: the calling thread's stack was "
			       "restored", r);
	}

	/* A mapping created since take, and one removed. */
	c.created = t_map(NEW_NP * t_psz, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	c.created[0] = 1;
	scribble(9);
	munmap(gone, GONE_NP * t_psz);
	ret = pagescan_snapshot_mappings(s, PAGESCAN_SNAPSHOT_MAP_CREATED |
					 PAGESCAN_SNAPSHOT_MAP_REMOVED,
					 change_fn, &c);
	if (ret)
		k_fail("mappings: %s", strerror(-ret));
	if (!c.created_ok)
		k_fail("the mapping created since take is not reported");
	if (!c.removed_ok || c.other)
		k_fail("the mapping removed since take is not reported whole");
	ret = pagescan_snapshot_restore(s, &st);
	if (ret != -EFAULT)
		k_fail("restore with a mapping removed: %d, not -EFAULT", ret);
	again = mmap(gone, GONE_NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (again != gone)
		k_fail("cannot map the removed range again");
	/* Mapped as before, but its tracking is gone: still refused. */
	gone[0] = 0x77;
	ret = pagescan_snapshot_restore(s, &st);
	if (ret != -EFAULT)
		k_fail("restore after mapping it again: %d, not -EFAULT", ret);
	if (gone[0] != 0x77 || small[1][0] != (char)0xcc)
		k_fail("a failed restore touched memory");
	if (c.created[0] != 1)
		k_fail("the mapping created since take was touched");
	munmap(c.created, NEW_NP * t_psz);

	pagescan_snapshot_free(s);

	/* Taken again; an update, then a restore to it. */
	fill(flags * 3 + 2);
	reference();
	ret = pagescan_snapshot_take_process(&o, &s);
	if (ret) {
		t_fail("take_process again: %s", strerror(-ret));
		return;
	}
	scribble(1);
	ret = pagescan_snapshot_restore(s, &st);
	if (ret)
		k_fail("restore after take again: %s (%s)%s", strerror(-ret),
		       pagescan_last_error(), where(s));
	else
		compare("restore after take again");
	drop_created(s);
	scribble(5);
	ret = pagescan_snapshot_update(s, &st);
	if (ret)
		k_fail("update: %s", strerror(-ret));
	reference();
	scribble(6);
	ret = pagescan_snapshot_restore(s, &st);
	if (ret)
		k_fail("restore after update: %s", strerror(-ret));
	else
		compare("restore after update");
	drop_created(s);
	pagescan_snapshot_free(s);

	t_check(keep->data_taken, "initialised globals not taken");
	t_check(keep->bss_taken, "bss not taken");
	t_check(keep->heap_taken, "heap not taken");
	t_check(keep->big_taken, "the large malloc block not taken");
	t_check(keep->anon_taken, "the anonymous mappings not taken");
	k_flush(flags ? "verify" : "plain");
}

static void refused(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .backend = b);
	struct pagescan_snapshot *s = NULL;
	int ret;

	errno = 0;
	ret = pagescan_snapshot_take_process(&o, &s);
	t_check(ret == -EOPNOTSUPP && errno == EOPNOTSUPP && !s,
		"%s: take_process: %d, not -EOPNOTSUPP",
		pagescan_watch_backend_name(b), ret);
	t_check(pagescan_last_error() && *pagescan_last_error(),
		"%s: no reason given", pagescan_watch_backend_name(b));
	printf("%s refused: %s\n", pagescan_watch_backend_name(b),
	       pagescan_last_error());
}

static void bad_input(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .flags = 1U << 20);
	struct pagescan_snapshot *s = NULL;
	struct s_ref none = { 0 };
	char *p = t_map(t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pagescan_range rg = { p, t_psz };
	struct changes c = { 0 };

	(void)none;
	t_eq(pagescan_snapshot_take_process(&o, &s), -EINVAL);
	t_eq(pagescan_snapshot_take_process(NULL, NULL), -EINVAL);
	t_eq(pagescan_snapshot_take(&rg, 1, NULL, &s), 0);
	/* Not a whole-process snapshot. */
	t_eq(pagescan_snapshot_mappings(s, PAGESCAN_SNAPSHOT_MAP_TAKEN,
					change_fn, &c), -EINVAL);
	pagescan_snapshot_free(s);
	t_eq(pagescan_snapshot_mappings(NULL, PAGESCAN_SNAPSHOT_MAP_TAKEN,
					change_fn, &c), -EINVAL);
	munmap(p, t_psz);
}

/*
 * The kernel's rseq area of the calling thread (glibc 2.35+ registers it
 * in the thread control block, which the main thread has in an anonymous
 * mapping that a process snapshot takes): the kernel rewrites its cpu_id
 * when the thread migrates, so a restore must leave it alone.  Taken on
 * one CPU, moved to another, restored: cpu_id must still be the CPU the
 * thread runs on, not the one it ran on at take.
 */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void rseq_area(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o,
		      .flags = PAGESCAN_SNAPSHOT_VERIFY);
	struct pagescan_snapshot *s;
	volatile uint32_t *cpu_id;
	cpu_set_t old;
	unsigned int now = 0;
	int ret, a = -1, b = -1, c;

	if (!&__rseq_size || !__rseq_size) {
		printf("rseq: the C library registers none, not checked\n");
		return;
	}
	cpu_id = (volatile uint32_t *)((char *)__builtin_thread_pointer() +
				       __rseq_offset + 4);
	if (sched_getaffinity(0, sizeof(old), &old))
		t_error("sched_getaffinity");
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &old)) {
			if (a < 0)
				a = c;
			else if (b < 0)
				b = c;
		}
	if (b < 0) {
		printf("rseq: one CPU allowed, not checked\n");
		return;
	}
	if (pin(a))
		t_error("sched_setaffinity");
	ret = pagescan_snapshot_take_process(&o, &s);
	if (ret) {
		t_fail("rseq: take_process: %s", strerror(-ret));
		sched_setaffinity(0, sizeof(old), &old);
		return;
	}
	if (pin(b))
		t_error("sched_setaffinity");
	ret = pagescan_snapshot_restore(s, NULL);
	/* Read first: a syscall that blocks could move us again. */
	c = (int)*cpu_id;
	if (syscall(SYS_getcpu, &now, NULL, NULL))
		t_error("getcpu");
	if (ret)
		k_fail("restore: %s (%s)%s", strerror(-ret),
		       pagescan_last_error(), where(s));
	if (c != (int)now)
		k_fail("cpu_id %d after restore on CPU %u (taken on %d): "
		       "the kernel's rseq area was restored", c, now, a);
	pagescan_snapshot_free(s);
	sched_setaffinity(0, sizeof(old), &old);
	k_flush("rseq");
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	const char *why = "";
	int n, i, b;

	t_init("snapshot-process");
	keep = shared(sizeof(*keep));
	big_ref = shared(BIG_LEN);
	anon_ref = shared((ANON_NP + GONE_NP) * t_psz);
	for (i = 0; i < NSMALL; i++)
		small[i] = malloc(100);
	big = malloc(BIG_LEN);
	anon = t_map(ANON_NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(anon, ANON_NP * t_psz, MADV_NOHUGEPAGE);
	gone = t_map(GONE_NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	if (!small[NSMALL - 1] || !big)
		t_error("malloc");

	bad_input();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	s_process_refused();
#endif
	n = w_backends(bs);
	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++)
		if (b != PAGESCAN_WATCH_UFFD_ASYNC &&
		    pagescan_watch_available(b, &why) == 1)
			refused(b);
	for (i = 0; i < n; i++)
		if (bs[i] == PAGESCAN_WATCH_UFFD_ASYNC)
			break;
	if (i == n) {
		/* Not here, or another backend forced: a clear refusal. */
		PAGESCAN_OPTS(pagescan_snapshot_opts, o);
		struct pagescan_snapshot *s = NULL;
		int ret = pagescan_snapshot_take_process(&o, &s);

		t_check(ret == -EOPNOTSUPP && errno == EOPNOTSUPP,
			"take_process without uffd-async: %d", ret);
		if (!t_failures)
			t_skip("uffd-async unavailable or not the forced "
			       "backend: refused (%s)", pagescan_last_error());
		t_done();
	}
	rounds(0);
	rounds(PAGESCAN_SNAPSHOT_VERIFY);
	stacks();
	rseq_area();
	allocator();
	t_child_ok("heap grown since take: restore, calloc, recipe",
		   t_child(heap_grown, 120));
	t_child_ok("heap grown and a large block mapped, then update",
		   t_child(heap_update, 120));
	t_child_ok("heap grown by the take itself",
		   t_child(heap_take_grows, 120));
	threads();
	t_done();
}
