// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: scans of an address space that changes under them.  Two
 * mutator threads map, unmap, mprotect, mremap, madvise and fork in an
 * arena of slots, in the test process itself and then in a child target,
 * while the main thread scans the arena every way there is: native and
 * emulated handles (pagescan_scan with a large and a small vec, looping
 * on walk_end; the iterator; pagescan_vmas from maps and from smaps) and
 * the bare descriptor under the emulation.  Every answer must be sorted,
 * disjoint, page-aligned, inside the request, and no region or VMA may
 * cover a slot that was mapped at no moment of the scan.  The mutators
 * say what they own in shared memory: a slot is marked before it is
 * mapped (and counted) and unmarked only after it is unmapped.
 */
#include "helpers.h"
#include "emu.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer's shadow is up there: its low application range. */
#define ARENA_ADDR	UINT64_C(0x2000000000)
#else
#define ARENA_ADDR	UINT64_C(0x310000000000)
#endif
#define SLOT_PAGES	16
#define NSLOT		256
#define MUTATORS	2
#define MAXREG		(NSLOT * SLOT_PAGES)

struct shared {
	_Atomic uint32_t mapped[NSLOT];	/* may be mapped now */
	_Atomic uint32_t maps[NSLOT];	/* times it was mapped */
	_Atomic int stop;
	_Atomic unsigned long ops;
};

static struct shared *sh;
static size_t psz, slot_len;
static double seconds = 2.0;

#define SLOT(k) ((char *)(uintptr_t)(ARENA_ADDR + (uint64_t)(k) * slot_len))

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- mutators: thread @id owns the slots k with k % MUTATORS == id ---- */

static void map_slot(unsigned int k, uint64_t *r)
{
	size_t pages = 1 + xs(r) % SLOT_PAGES, i;
	int prot = xs(r) % 4 ? PROT_READ | PROT_WRITE : PROT_READ;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	char *p;

	if (xs(r) % 5 == 0)
		flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
	atomic_store(&sh->mapped[k], 1);
	atomic_fetch_add(&sh->maps[k], 1);
	p = mmap(SLOT(k), pages * psz, prot, flags, -1, 0);
	if (p == MAP_FAILED) {
		atomic_store(&sh->mapped[k], 0);
		return;
	}
	if (prot & PROT_WRITE)
		for (i = 0; i < pages; i++)
			if (xs(r) % 2)
				p[i * psz] = 1;
}

static void unmap_slot(unsigned int k)
{
	munmap(SLOT(k), slot_len);
	atomic_store(&sh->mapped[k], 0);
}

static void *mutator(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint64_t r = 0x9e3779b97f4a7c15ULL * (id + 1) ^ (uint64_t)getpid();
	bool mine[NSLOT] = { false };
	unsigned int k, j;

	while (!atomic_load(&sh->stop)) {
		k = (unsigned int)(xs(&r) % (NSLOT / MUTATORS)) * MUTATORS + id;
		switch (xs(&r) % 16) {
		case 0: case 1: case 2: case 3:
			if (!mine[k]) {
				map_slot(k, &r);
				mine[k] = atomic_load(&sh->mapped[k]);
			}
			break;
		case 4: case 5: case 6:
			if (mine[k]) {
				unmap_slot(k);
				mine[k] = false;
			}
			break;
		case 7: case 8:
			if (mine[k])
				mprotect(SLOT(k), psz * (1 + xs(&r) % 4),
					 xs(&r) % 2 ? PROT_READ :
					 PROT_READ | PROT_WRITE);
			break;
		case 9: case 10:
			if (mine[k])
				madvise(SLOT(k) + psz * (xs(&r) % 4), psz * 2,
					MADV_DONTNEED);
			break;
		case 11: case 12:
			/* Move a slot's mapping to a free slot of ours. */
			j = (unsigned int)(xs(&r) % (NSLOT / MUTATORS)) *
			    MUTATORS + id;
			if (mine[k] && !mine[j] && j != k) {
				atomic_store(&sh->mapped[j], 1);
				atomic_fetch_add(&sh->maps[j], 1);
				if (mremap(SLOT(k), psz, psz,
					   MREMAP_MAYMOVE | MREMAP_FIXED,
					   SLOT(j)) != MAP_FAILED) {
					/* Only the first page moved. */
					mine[j] = true;
				} else {
					atomic_store(&sh->mapped[j], 0);
				}
			}
			break;
		case 13:
			if (mine[k] && xs(&r) % 64 == 0) {
				pid_t c = fork();

				if (c == 0)
					_exit(0);
				if (c > 0)
					waitpid(c, NULL, 0);
			}
			break;
		default:
			/* Write to a page (populate), if writable. */
			if (mine[k]) {
				volatile char *p = SLOT(k);

				(void)p;
			}
			break;
		}
		atomic_fetch_add(&sh->ops, 1);
	}
	for (k = id; k < NSLOT; k += MUTATORS)
		if (mine[k])
			unmap_slot(k);
	return NULL;
}

static void run_mutators(pthread_t *th)
{
	unsigned int i;

	for (i = 0; i < MUTATORS; i++)
		if (pthread_create(&th[i], NULL, mutator,
				   (void *)(uintptr_t)i))
			t_error("pthread_create");
}

/* ---- the checker ---- */

struct window {
	uint32_t m0[NSLOT], c0[NSLOT];
};

static void window_open(struct window *w)
{
	unsigned int k;

	for (k = 0; k < NSLOT; k++) {
		w->c0[k] = atomic_load(&sh->maps[k]);
		w->m0[k] = atomic_load(&sh->mapped[k]);
	}
}

/* Was slot @k mapped at some moment since window_open()? */
static bool existed(const struct window *w, unsigned int k)
{
	return w->m0[k] || atomic_load(&sh->mapped[k]) ||
	       atomic_load(&sh->maps[k]) != w->c0[k];
}

static unsigned long n_checked, n_regions;

struct answer {
	const char *how;
	uint64_t start, end, prev_end;
	const struct window *w;
	bool bad;
};

static void check_range(struct answer *a, uint64_t s, uint64_t e)
{
	uint64_t x;

	if (a->bad)
		return;
	if (s >= e || (s | e) & (psz - 1) || s < a->start || e > a->end) {
		t_fail("%s: [%#" PRIx64 ", %#" PRIx64 ") malformed or outside "
		       "[%#" PRIx64 ", %#" PRIx64 ")", a->how, s, e, a->start,
		       a->end);
		a->bad = true;
		return;
	}
	if (s < a->prev_end) {
		t_fail("%s: [%#" PRIx64 ", %#" PRIx64 ") after one ending at "
		       "%#" PRIx64 ": not sorted and disjoint", a->how, s, e,
		       a->prev_end);
		a->bad = true;
		return;
	}
	a->prev_end = e;
	for (x = s; x < e; x += slot_len - (x - ARENA_ADDR) % slot_len) {
		unsigned int k = (unsigned int)((x - ARENA_ADDR) / slot_len);

		if (!existed(a->w, k)) {
			t_fail("%s: [%#" PRIx64 ", %#" PRIx64 ") covers slot %u,"
			       " mapped at no time during the scan", a->how,
			       s, e, k);
			a->bad = true;
			return;
		}
	}
	n_regions++;
}

static struct pagescan_region vec[MAXREG];

/* pagescan_scan over the arena, looping on walk_end. */
static void by_scan(struct pagescan *h, const char *how, uint64_t mask,
		    size_t vec_len)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = mask,
		      .return_mask = PAGE_IS_PRESENT);
	struct window w;
	struct answer a = {
		.how = how, .start = ARENA_ADDR,
		.end = ARENA_ADDR + NSLOT * slot_len, .w = &w,
	};
	uint64_t pos = a.start;
	int n, i;

	window_open(&w);
	while (pos < a.end) {
		n = pagescan_scan(h, pos, a.end, vec, vec_len, &o);
		if (n < 0) {
			t_fail("%s: %d", how, n);
			return;
		}
		for (i = 0; i < n; i++)
			check_range(&a, vec[i].start, vec[i].end);
		if ((size_t)n < vec_len)
			break;
		/* A full vec: walk_end is where to go on (<= 512 here). */
		if (o.walk_end <= pos)
			break;
		pos = o.walk_end;
	}
	n_checked++;
}

static void by_iter(struct pagescan *h, const char *how, uint64_t mask)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = mask,
		      .return_mask = PAGE_IS_PRESENT);
	struct pagescan_iter *it;
	struct window w;
	struct answer a = {
		.how = how, .start = ARENA_ADDR,
		.end = ARENA_ADDR + NSLOT * slot_len, .w = &w,
	};
	int n, i;

	window_open(&w);
	n = pagescan_iter_new(h, a.start, a.end, &o, &it);
	if (n) {
		t_fail("%s: iter_new %d", how, n);
		return;
	}
	while ((n = pagescan_iter_next(it, vec, 7)) > 0)
		for (i = 0; i < n; i++)
			check_range(&a, vec[i].start, vec[i].end);
	if (n < 0)
		t_fail("%s: iter_next %d", how, n);
	pagescan_iter_free(it);
	n_checked++;
}

static int vma_cb(const struct pagescan_vma *v, void *ctx)
{
	struct answer *a = ctx;
	uint64_t s = v->start > a->start ? v->start : a->start;
	uint64_t e = v->end < a->end ? v->end : a->end;

	/* Sorted and disjoint on the VMA's own bounds. */
	if (v->start < a->prev_end && !a->bad) {
		t_fail("%s: VMA [%#" PRIx64 ", %#" PRIx64 ") after one ending "
		       "at %#" PRIx64, a->how, v->start, v->end, a->prev_end);
		a->bad = true;
	}
	check_range(a, s, e);
	a->prev_end = v->end;
	return 0;
}

static void by_vmas(struct pagescan *h, const char *how, unsigned int flags)
{
	struct window w;
	struct answer a = {
		.how = how, .start = ARENA_ADDR,
		.end = ARENA_ADDR + NSLOT * slot_len, .w = &w,
	};
	int r;

	window_open(&w);
	r = pagescan_vmas(h, a.start, a.end, flags, vma_cb, &a);
	if (r)
		t_fail("%s: %d", how, r);
	n_checked++;
}

static void by_bare(int fd, pid_t pid, const char *how, uint64_t mask)
{
	struct page_region *v = (struct page_region *)vec;
	struct window w;
	struct answer a = {
		.how = how, .start = ARENA_ADDR,
		.end = ARENA_ADDR + NSLOT * slot_len, .w = &w,
	};
	struct pm_scan_arg arg = {
		.size = sizeof(arg), .start = a.start, .end = a.end,
		.vec = (uintptr_t)v, .vec_len = MAXREG,
		.category_mask = mask, .return_mask = PAGE_IS_PRESENT,
	};
	int n, i;

	window_open(&w);
	n = emu_scan(fd, pid, &arg);
	if (n < 0) {
		t_fail("%s: %d", how, n);
		return;
	}
	for (i = 0; i < n; i++)
		check_range(&a, v[i].start, v[i].end);
	n_checked++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scan @pid's arena every way until the time is up. */
static void scan_all(pid_t pid, const char *who)
{
	PAGESCAN_OPTS(pagescan_open_opts, on,
		      .backend = PAGESCAN_BACKEND_NATIVE);
	PAGESCAN_OPTS(pagescan_open_opts, oe,
		      .backend = PAGESCAN_BACKEND_EMULATE);
	struct pagescan *h[2] = { NULL, NULL };
	bool native = pagescan_probe(PAGESCAN_FEAT_SCAN) == 1;
	char path[64], how[96];
	double end = now() + seconds;
	unsigned long before = n_checked;
	int fd, b, round = 0;

	if (native && pagescan_open(pid, &on, &h[0]))
		t_error("open native");
	if (pagescan_open(pid, &oe, &h[1]))
		t_error("open emulated");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("open %s", path);
	while (now() < end && t_failures < 10) {
		for (b = 0; b < 2; b++) {
			const char *bn = b ? "emulated" : "native";

			if (!h[b])
				continue;
			snprintf(how, sizeof(how), "%s %s scan mask 0", who,
				 bn);
			by_scan(h[b], how, 0, MAXREG);
			snprintf(how, sizeof(how), "%s %s scan present vec 5",
				 who, bn);
			by_scan(h[b], how, PAGE_IS_PRESENT, 5);
			snprintf(how, sizeof(how), "%s %s iterator", who, bn);
			by_iter(h[b], how, round & 1 ? PAGE_IS_PRESENT : 0);
		}
		snprintf(how, sizeof(how), "%s pagescan_vmas", who);
		by_vmas(h[1], how, 0);
		if (!(round % 8)) {
			snprintf(how, sizeof(how), "%s pagescan_vmas smaps",
				 who);
			by_vmas(h[1], how, PAGESCAN_VMAS_SMAPS);
		}
		snprintf(how, sizeof(how), "%s bare descriptor emulated", who);
		by_bare(fd, pid, how, round & 1 ? PAGE_IS_PRESENT : 0);
		round++;
	}
	printf("%s: %lu answers checked, %lu regions and VMAs, %lu mutations\n",
	       who, n_checked - before, n_regions,
	       atomic_load(&sh->ops));
	close(fd);
	pagescan_close(h[0]);
	pagescan_close(h[1]);
}

static void reset_shared(void)
{
	memset(sh, 0, sizeof(*sh));
}

int main(void)
{
	pthread_t th[MUTATORS];
	const char *env = getenv("PAGESCAN_RACE_SECONDS");
	unsigned int i;
	pid_t child;

	t_init("handle-race");
	psz = t_psz;
	slot_len = SLOT_PAGES * psz;
	if (env)
		seconds = atof(env);
#ifdef __SANITIZE_ADDRESS__
	seconds /= 2;
#endif
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		t_error("mmap shared");

	/* 1. Ourselves: mutator threads next to the scanning one. */
	reset_shared();
	run_mutators(th);
	scan_all(getpid(), "self");
	atomic_store(&sh->stop, 1);
	for (i = 0; i < MUTATORS; i++)
		pthread_join(th[i], NULL);

	/* 2. A child target whose own threads mutate. */
	reset_shared();
	child = fork();
	if (child < 0)
		t_error("fork");
	if (!child) {
		run_mutators(th);
		for (i = 0; i < MUTATORS; i++)
			pthread_join(th[i], NULL);
		_exit(0);
	}
	scan_all(child, "child");
	atomic_store(&sh->stop, 1);
	waitpid(child, NULL, 0);
	t_done();
}
