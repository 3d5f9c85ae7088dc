// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a watched range moved away with mremap(2) and back loses
 * no write.  Without UFFD_FEATURE_EVENT_REMAP the kernel drops a
 * userfaultfd registration from a moved VMA (every kernel), so uffd-sync
 * saw no write after the round trip; a write made while the memory was
 * elsewhere changed the watched pages too.  Every backend must report
 * both (over-reporting the moved pages is allowed), or refuse the
 * mremap/register, never stay silent.  uffd-async lost every write after
 * the round trip as well (a WP_MATCHING walk skips an unregistered VMA).
 * mprotect: the moved pages stay read-only; the fault core lets a write
 * to them through while the watched range is not wholly mapped, and every
 * page is reported until they are back (tests/watch-limits: "moved").
 * And one page written, moved away alone over a get, and back: mprotect
 * had left it writable with its bit cleared (run_written_away()), and
 * moved onto another page of the watch, that page (run_onto_other()).
 * And a page written, then moved away and back by another thread while a
 * get-and-reset runs, or a reset (run_during_get()).  And a store past a
 * hole in the range while a get-and-reset runs (run_past_hole()).
 */
#include "watch-common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NP 16

static void seen_n(struct pagescan_watch *w, char *p, size_t np,
		   bool *seen, const char *name);

static void seen_pages(struct pagescan_watch *w, char *p, bool *seen,
		       const char *name)
{
	seen_n(w, p, NP, seen, name);
}

/* Which of the @np pages at @p a get-and-reset reports. */
static void seen_n(struct pagescan_watch *w, char *p, size_t np,
		   bool *seen, const char *name)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	void *pg[NP];
	int i, n;

	memset(seen, 0, np * sizeof(*seen));
	n = pagescan_watch_get_pages(w, p, np * t_psz, pg, NP, &reset);
	/* EIO: verify mode saw a miss; the answer is filled in still. */
	t_check(n >= 0, "%s: get: %s", name, strerror(-n));
	if (n == -EIO)
		n = (int)reset.pages;
	for (i = 0; i < n; i++)
		seen[((char *)pg[i] - p) / t_psz] = true;
}

static void run(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	bool seen[NP];
	char *p, *tmp, *q;
	int ret;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	tmp = t_map(NP * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, NP * t_psz);
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));

	/* Away, a write there, and back. */
	q = mremap(p, NP * t_psz, NP * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   tmp);
	if (q == MAP_FAILED)
		t_error("%s: mremap away: %s", name, strerror(errno));
	q[2 * t_psz] = 0x11;
	/*
	 * Still one mapping: mremap(2) of a range over several fails with
	 * EFAULT before 6.17 (mprotect: one page made writable split it).
	 */
	t_check(t_mappings_in(q, NP * t_psz) == 1, "%s: the moved range is %d "
		"mappings after a write there", name,
		t_mappings_in(q, NP * t_psz));
	if (mremap(q, NP * t_psz, NP * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p) == MAP_FAILED)
		t_error("%s: mremap back: %s", name, strerror(errno));
	seen_pages(w, p, seen, name);
	t_check(seen[2], "%s: the write made while moved away was lost", name);
	/* Written after the round trip and a reset. */
	p[5 * t_psz] = 0x22;
	seen_pages(w, p, seen, name);
	t_check(seen[5], "%s: a write after mremap away and back was lost",
		name);
	p[6 * t_psz] = 0x33;
	seen_pages(w, p, seen, name);
	t_check(seen[6], "%s: the second write after the round trip was "
		"lost", name);

	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change", name);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

/* A memfd's MAP_SHARED mapping of @len bytes, its descriptor in *@fd. */
static char *shared_map(size_t len, int *fd)
{
	char *p;

	*fd = memfd_create("watch-mremap", 0);
	if (*fd < 0 || ftruncate(*fd, (off_t)len))
		t_error("memfd");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap memfd");
	return p;
}

/*
 * One page written (under mprotect: writable from then on), moved away
 * alone, a get-and-reset while it is away, a write there, and back: the
 * write made while away and one made after are reported.  mprotect's
 * re-arm found a hole, cleared the bit and left the page writable: back,
 * no store to it faulted any more, silently.
 */
static void run_written_away(enum pagescan_watch_backend b, bool shared)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	struct pagescan_watch *w;
	bool seen[NP];
	char name[64], *p, *tmp, *q;
	int ret, round, fd = -1;

	snprintf(name, sizeof(name), "%s, %s", pagescan_watch_backend_name(b),
		 shared ? "shared memfd" : "private anonymous");
	if (shared) {
		/* the discard audit saw the anonymous page come back */
		p = shared_map(NP * t_psz, &fd);
	} else {
		p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	}
	tmp = t_map(t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, NP * t_psz);
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret == -EINVAL && shared && b != PAGESCAN_WATCH_MPROTECT) {
		/* soft-dirty: never shared memory; uffd-sync: shmem, 5.19 */
		printf("%s: refused (EINVAL), a limit in its manual\n", name);
		munmap(p, NP * t_psz);
		munmap(tmp, t_psz);
		close(fd);
		return;
	}
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	p[3 * t_psz] = 0x44;
	q = mremap(p + 3 * t_psz, t_psz, t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   tmp);
	if (q == MAP_FAILED)
		t_error("%s: mremap a page away: %s", name, strerror(errno));
	seen_pages(w, p, seen, name);		/* the page is a hole now */
	q[8] = 0x55;				/* written while away */
	if (mremap(q, t_psz, t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p + 3 * t_psz) == MAP_FAILED)
		t_error("%s: mremap the page back: %s", name, strerror(errno));
	seen_pages(w, p, seen, name);
	t_check(seen[3], "%s: a page written, moved away over a get, written "
		"there and back: the write while away was lost", name);
	for (round = 0; round < 3; round++) {
		p[3 * t_psz + round] = (char)(0x66 + round);
		seen_pages(w, p, seen, name);
		t_check(seen[3], "%s: a page written, moved away over a get "
			"and back: write %d after it was lost", name, round);
	}
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change (written away)",
		name);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
	if (fd >= 0)
		close(fd);
}

/*
 * Many written pages (more than the 64 the mprotect backend tries one by
 * one) away over a get, and back: each is reported, and a store after.
 */
#define MANY 200
static void run_many_away(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	size_t len = 2 * MANY * t_psz, away = MANY * t_psz;
	int fd, n, i, got;
	static void *pg[2 * MANY];
	struct pagescan_watch *w;
	char *p, *tmp, *q;

	p = shared_map(len, &fd);
	tmp = t_map(away, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, len);
	if (pagescan_watch_register(p, len, &wo, &w)) {
		printf("%s: shared memory refused, a limit in its manual\n",
		       name);
		goto out;
	}
	t_touch(p + MANY * t_psz, away);		/* all writable now */
	q = mremap(p + MANY * t_psz, away, away,
		   MREMAP_MAYMOVE | MREMAP_FIXED, tmp);
	if (q == MAP_FAILED)
		t_error("%s: mremap away: %s", name, strerror(errno));
	pagescan_watch_get_pages(w, p, len, pg, 2 * MANY, &reset);
	for (i = 0; i < MANY; i++)
		q[i * t_psz] = 0x77;			/* written away */
	if (mremap(q, away, away, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p + MANY * t_psz) == MAP_FAILED)
		t_error("%s: mremap back: %s", name, strerror(errno));
	n = pagescan_watch_get_pages(w, p, len, pg, 2 * MANY, &reset);
	for (i = got = 0; i < n; i++)
		got += (char *)pg[i] >= p + MANY * t_psz;
	t_check(got == MANY, "%s: %d pages written away over a get, back: %d "
		"reported", name, MANY, got);
	p[MANY * t_psz + 7 * t_psz] = 0x78;
	n = pagescan_watch_get_pages(w, p, len, pg, 2 * MANY, &reset);
	t_check(n >= 1, "%s: a store after %d pages came back: %d reported",
		name, MANY, n);
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change (many away)",
		name);
	t_eq(pagescan_watch_unregister(w), 0);
out:
	munmap(p, len);
	munmap(tmp, away);
	close(fd);
}

/*
 * A written page (under mprotect: writable) moved by mremap(2) onto
 * another page of the same watch, then written there: that page was
 * writable with its bit clear, and neither that store nor any later one
 * was seen (mprotect, private and shared memory).
 */
static void run_onto_other(enum pagescan_watch_backend b, bool shared)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	struct pagescan_watch *w;
	bool seen[NP];
	char name[64], *p;
	int ret, round, fd = -1;

	snprintf(name, sizeof(name), "%s, %s, onto another page",
		 pagescan_watch_backend_name(b),
		 shared ? "shared memfd" : "private anonymous");
	if (shared)
		p = shared_map(NP * t_psz, &fd);
	else
		p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, NP * t_psz);
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret == -EINVAL && shared && b != PAGESCAN_WATCH_MPROTECT) {
		printf("%s: refused (EINVAL), a limit in its manual\n", name);
		goto out;
	}
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	p[3 * t_psz] = 0x31;
	seen_pages(w, p, seen, name);
	p[3 * t_psz + 1] = 0x32;		/* writable again (mprotect) */
	if (mremap(p + 3 * t_psz, t_psz, t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p + 9 * t_psz) == MAP_FAILED)
		t_error("%s: mremap: %s", name, strerror(errno));
	p[9 * t_psz + 2] = 0x33;
	seen_pages(w, p, seen, name);
	t_check(seen[9], "%s: a store to the page moved there was lost", name);
	for (round = 0; round < 3; round++) {
		p[9 * t_psz + 3 + round] = (char)(0x34 + round);
		seen_pages(w, p, seen, name);
		t_check(seen[9], "%s: store %d after the move was lost", name,
			round);
	}
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change", name);
	t_eq(pagescan_watch_unregister(w), 0);
out:
	munmap(p, NP * t_psz);
	if (fd >= 0)
		close(fd);
}

static char *hole_p;

static int store_above_hole(void)
{
	hole_p[8 * t_psz] = 1;
	hole_p[15 * t_psz] = 2;
	return 0;
}

/*
 * Part of a watched range unmapped (allowed: pagescan_watch(3), munmap),
 * then unregister, then a store above the hole.  mprotect's detach gave
 * the protection back with one mprotect(2), which stopped at the hole:
 * the pages above stayed read-only, and the store killed the process.
 */
static void unregister_over_hole(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	char what[96];
	int ret;

	hole_p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(hole_p, NP * t_psz);
	ret = pagescan_watch_register(hole_p, NP * t_psz, &wo, &w);
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	hole_p[10 * t_psz] = 3;
	munmap(hole_p + 3 * t_psz, t_psz);
	t_eq(pagescan_watch_unregister(w), 0);
	snprintf(what, sizeof(what), "%s: a store above a hole after "
		 "unregister", name);
	t_child_ok(what, t_child(store_above_hole, 30));
	munmap(hole_p, NP * t_psz);
}

/*
 * A page written before a get-and-reset, moved away and back by another
 * thread while the get runs: uffd-async's get registered moved memory
 * again first, then walked with WP_MATCHING, which skips without a word a
 * VMA that lost its registration in between, so the page was missing
 * from that get's answer (6 to 63 rounds in 100; the next get had it).
 * soft-dirty's fold read a hole where the page was away, and the
 * clear_refs after it, the page back, cleared its bit: lost for good
 * (once in 20 in the 6.12 guest).
 * A reset racing the same moves failed with ENOENT or EINVAL, which no
 * manual lists.  Bounded: at most 150 rounds or 3 s per backend.
 */
#define DG_NP 16384

static char *dg_p, *dg_tmp;
static atomic_int dg_go, dg_done;
static _Atomic uint64_t dg_back;

static uint64_t dg_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static void *dg_mover(void *arg)
{
	char *last = dg_p + (DG_NP - 1) * t_psz;

	(void)arg;
	for (;;) {
		while (atomic_load(&dg_go) != 1)
			if (atomic_load(&dg_done))
				return NULL;
		if (mremap(last, t_psz, t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
			   dg_tmp) == MAP_FAILED ||
		    mremap(dg_tmp, t_psz, t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
			   last) == MAP_FAILED)
			t_error("mremap: %s", strerror(errno));
		atomic_store(&dg_back, dg_now());
		atomic_store(&dg_go, 2);
	}
}

static void run_during_get(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	char *last;
	void **pg;
	uint64_t t0, t1, stop;
	int ret, round, i, n, misses = 0, fails = 0, races = 0, late = 0;
	pthread_t th;
	size_t k;

	dg_p = t_map(DG_NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	dg_tmp = t_map(t_psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(dg_p, DG_NP * t_psz, MADV_NOHUGEPAGE);
	t_touch(dg_p, DG_NP * t_psz);
	last = dg_p + (DG_NP - 1) * t_psz;
	pg = malloc(DG_NP * sizeof(*pg));
	if (!pg)
		t_error("malloc");
	ret = pagescan_watch_register(dg_p, DG_NP * t_psz, &wo, &w);
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	atomic_store(&dg_done, 0);
	atomic_store(&dg_go, 0);
	if (pthread_create(&th, NULL, dg_mover, NULL))
		t_error("pthread_create");
	stop = dg_now() + 3000000000u;
	for (round = 0; round < 150 && dg_now() < stop; round++) {
		/* Many regions: the get makes several walks. */
		for (k = 0; k < DG_NP; k += 2)
			dg_p[k * t_psz]++;
		if (round % 3 == 2) {
			atomic_store(&dg_go, 1);
			ret = pagescan_watch_reset(w, dg_p, DG_NP * t_psz);
			while (atomic_load(&dg_go) != 2)
				;
			atomic_store(&dg_go, 0);
			if (ret && !fails++)
				printf("%s: reset racing mremap: %s (%s)\n",
				       name, strerror(-ret),
				       pagescan_last_error());
			continue;
		}
		last[100]++;	/* completed before the get */
		atomic_store(&dg_go, 1);
		t0 = dg_now();
		n = pagescan_watch_get_pages(w, dg_p, DG_NP * t_psz, pg,
					     DG_NP, &reset);
		t1 = dg_now();
		while (atomic_load(&dg_go) != 2)
			;
		atomic_store(&dg_go, 0);
		t_check(n >= 0, "%s: get racing mremap: %s", name,
			strerror(-n));
		for (i = 0; i < n && pg[i] != last; i++)
			;
		/*
		 * Back home in the first half of the get: it must see it.
		 * soft-dirty looks for pages moved in once its clear ran; one
		 * back after that look carries the bit the move set into the
		 * next get, and a stalled vCPU can put that look in the
		 * first half (1 of 8 in a loaded 6.12 guest): the next get
		 * must have it then.
		 */
		if (atomic_load(&dg_back) < t0 + (t1 - t0) / 2) {
			races++;
			if (i == n && n >= 0 && b == PAGESCAN_WATCH_SOFT_DIRTY) {
				n = pagescan_watch_get_pages(w, dg_p, DG_NP *
							     t_psz, pg, DG_NP,
							     &reset);
				for (i = 0; i < n && pg[i] != last; i++)
					;
				if (i < n) {
					late++;
					continue;
				}
			}
			if (i == n && n >= 0)
				misses++;
		}
	}
	atomic_store(&dg_done, 1);
	pthread_join(th, NULL);
	printf("%s: %d rounds, %d moved back during a get, %d missed, "
	       "%d resets failed, %d in the next get\n", name, round, races,
	       misses, fails, late);
	t_check(!misses, "%s: a page written before a get, moved away and "
		"back during it, missing from its answer (%d of %d)", name,
		misses, races);
	t_check(!fails, "%s: %d resets racing mremap failed", name, fails);
	t_eq(pagescan_watch_unregister(w), 0);
	free(pg);
	munmap(dg_p, DG_NP * t_psz);
	munmap(dg_tmp, t_psz);
}

/*
 * A watch with a hole, another thread storing past it while a
 * get-and-reset runs: soft-dirty's freeze was one mprotect(2) of the
 * range, which stops at the hole, so the pages past it stayed writable
 * between the fold and clear_refs, and a store there was cleared unseen
 * (35 and 42 of 400 rounds in the 6.12 guest).  The store must be in
 * that get or the next.  Bounded: at most 150 rounds or 3 s.
 */
#define PH_NP 4096

static char *ph_p;
static atomic_int ph_go, ph_done;
static _Atomic uint64_t ph_delay;

static void *ph_writer(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)arg;
	for (;;) {
		uint64_t t;

		while (atomic_load(&ph_go) != 1)
			if (atomic_load(&ph_done))
				return NULL;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		t = dg_now() + (x >> 33) % (atomic_load(&ph_delay) + 1);
		while (dg_now() < t)
			;
		ph_p[2 * t_psz]++;
		atomic_store(&ph_go, 2);
	}
}

static void run_past_hole(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	char *target;
	struct pagescan_watch *w;
	uint64_t t0, stop;
	int ret, round, i, n, misses = 0;
	pthread_t th;
	void **pg;

	ph_p = t_map(PH_NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(ph_p, PH_NP * t_psz, MADV_NOHUGEPAGE);
	t_touch(ph_p, PH_NP * t_psz);
	target = ph_p + 2 * t_psz;
	pg = malloc(PH_NP * sizeof(*pg));
	if (!pg)
		t_error("malloc");
	ret = pagescan_watch_register(ph_p, PH_NP * t_psz, &wo, &w);
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	munmap(ph_p + t_psz, t_psz);
	atomic_store(&ph_done, 0);
	atomic_store(&ph_go, 0);
	atomic_store(&ph_delay, 1000000);
	if (pthread_create(&th, NULL, ph_writer, NULL))
		t_error("pthread_create");
	stop = dg_now() + 3000000000u;
	for (round = 0; round < 150 && dg_now() < stop; round++) {
		atomic_store(&ph_go, 1);
		t0 = dg_now();
		n = pagescan_watch_get_pages(w, ph_p, PH_NP * t_psz, pg, PH_NP,
					     &reset);
		atomic_store(&ph_delay, dg_now() - t0);
		while (atomic_load(&ph_go) != 2)
			;
		atomic_store(&ph_go, 0);
		t_check(n >= 0, "%s: get past a hole: %s", name, strerror(-n));
		for (i = 0; i < n && pg[i] != target; i++)
			;
		if (n < 0 || i < n)
			continue;
		n = pagescan_watch_get_pages(w, ph_p, PH_NP * t_psz, pg, PH_NP,
					     &reset);
		for (i = 0; i < n && pg[i] != target; i++)
			;
		misses += n >= 0 && i == n;
	}
	atomic_store(&ph_done, 1);
	pthread_join(th, NULL);
	printf("%s: %d rounds of a store past a hole during a get, %d "
	       "missed\n", name, round, misses);
	t_check(!misses, "%s: a store past a hole during a get-and-reset in "
		"neither that get nor the next (%d of %d)", name, misses,
		round);
	t_eq(pagescan_watch_unregister(w), 0);
	free(pg);
	munmap(ph_p, PH_NP * t_psz);
}

/*
 * The library's own state must not land in a hole of a watched range:
 * part of one watch unmapped (allowed), then a second watch registered,
 * whose struct the kernel placed in that hole; the first watch's get
 * write-protected it, and the second's fault handling faulted on its
 * own state (mprotect: SIGSEGV; uffd-sync: its thread waited on itself).
 * And a range with a hole is refused (ENOMEM), not filled first by our
 * own allocations and taken.
 */
static enum pagescan_watch_backend own_b;

static int own_state_in_hole(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = own_b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	struct pagescan_watch *w1, *w2, *w3;
	char *h, *m;
	void *pg[NP];
	int k;

	h = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	m = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(h, 8 * t_psz);
	t_touch(m, 4 * t_psz);
	if (pagescan_watch_register(h, 8 * t_psz, &wo, &w1))
		return 2;
	h[5 * t_psz]++;
	munmap(h + 5 * t_psz, t_psz);
	/* Several, so that one would have taken the hole. */
	for (k = 0; k < 4; k++) {
		if (pagescan_watch_register(m, 4 * t_psz, &wo, &w2))
			return 3;
		pagescan_watch_get_pages(w1, h, 8 * t_psz, pg, NP, &reset);
		m[k * t_psz]++;
		if (pagescan_watch_get_pages(w2, m, 4 * t_psz, pg, NP,
					     &reset) != 1)
			return 4;
		if (pagescan_watch_unregister(w2))
			return 5;
	}
	if (pagescan_watch_unregister(w1))
		return 6;
	return pagescan_watch_register(h, 8 * t_psz, &wo, &w3) != -ENOMEM ?
	       7 : 0;
}

/*
 * The program's own mremap(2) of a range that crosses the watch's end
 * (pages 2-5 of a mapping whose pages 0-3 are watched).  Since 6.17 such
 * a move over several VMAs is allowed, but not over userfaultfd-registered
 * ones: the manual's "What a watch does to the program's own mremap(2)".
 * Whatever the kernel does, the watch stays whole for what is left: a
 * store to a page still in place is reported, and moved pages do not
 * crash the program's stores to them.
 */
static void run_across_edge(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	bool seen[NP], home[4];
	char *p, *tmp;
	void *r;
	int i;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	tmp = t_map(4 * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 0x5a, NP * t_psz);
	if (pagescan_watch_register(p, 4 * t_psz, &wo, &w))
		t_error("%s: register", name);
	seen_n(w, p, 4, seen, name);
	r = mremap(p + 2 * t_psz, 4 * t_psz, 4 * t_psz,
		   MREMAP_MAYMOVE | MREMAP_FIXED, tmp);
	if (r == MAP_FAILED) {
		t_check(errno == EFAULT || errno == ENOMEM, "%s: mremap "
			"across the watch's end: %s, not EFAULT or ENOMEM",
			name, strerror(errno));
		printf("%s: mremap across the watch's end: %s\n", name,
		       strerror(errno));
	} else {
		printf("%s: mremap across the watch's end: moved\n", name);
		/* Moved pages are the program's: its stores must go in. */
		for (i = 0; i < 4; i++)
			tmp[i * t_psz] = 1;
	}
	for (i = 0; i < 4; i++) {
		unsigned char v;

		home[i] = !(mincore(p + i * t_psz, t_psz, &v) &&
			    errno == ENOMEM);
		if (home[i])
			p[i * t_psz + 9] = 2;
	}
	t_check(home[0] && home[1], "%s: pages 0-1 moved", name);
	seen_n(w, p, 4, seen, name);
	for (i = 0; i < 4; i++)
		if (home[i])
			t_check(seen[i], "%s: store to page %d after an mremap "
				"across the watch's end not reported", name,
				i);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
	munmap(tmp, 4 * t_psz);
}

/*
 * uffd backends: memory unmapped and mapped again in place (munmap then
 * mmap, or MAP_FIXED over it) is a new VMA without the registration.
 * uffd-sync on 5.10 (no pagemap bit 57) saw none of its writes; both
 * register it again at the next get (UFFD_EVENT_UNMAP, or uffd-async's
 * scan for unregistered memory).  In place at once; mapped only after a
 * get saw the hole; and more holes than uffd-sync keeps one by one.
 */
#define MA_NP 48
static void run_mapped_again(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	void *pg[MA_NP];
	bool seen[MA_NP];
	char *p;
	int i, n, round;

	if (b != PAGESCAN_WATCH_UFFD_ASYNC && b != PAGESCAN_WATCH_UFFD_SYNC)
		return;		/* the manual: unregister first */
	p = t_map(MA_NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 1, MA_NP * t_psz);
	if (pagescan_watch_register(p, MA_NP * t_psz, &wo, &w))
		t_error("%s: register", name);
#define MA_GET() do { \
		memset(seen, 0, sizeof(seen)); \
		n = pagescan_watch_get_pages(w, p, MA_NP * t_psz, pg, MA_NP, \
					     &reset); \
		t_check(n >= 0, "%s: get: %s", name, strerror(-n)); \
		for (i = 0; i < n; i++) \
			seen[((char *)pg[i] - p) / t_psz] = true; \
	} while (0)
#define MA_AGAIN(k) do { \
		if (mmap(p + (k) * t_psz, t_psz, PROT_READ | PROT_WRITE, \
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == \
		    MAP_FAILED) \
			t_error("mmap"); \
	} while (0)
	MA_GET();
	/* In place at once: munmap and mmap, and MAP_FIXED over. */
	if (munmap(p + 2 * t_psz, t_psz))
		t_error("munmap");
	MA_AGAIN(2);
	MA_AGAIN(3);
	p[2 * t_psz] = p[3 * t_psz] = 7;
	MA_GET();
	t_check(seen[2] && seen[3], "%s: a store to memory mapped again in "
		"place not reported (%d %d)", name, seen[2], seen[3]);
	/* Only after a get saw the hole. */
	if (munmap(p + 6 * t_psz, t_psz))
		t_error("munmap");
	MA_GET();
	MA_AGAIN(6);
	p[6 * t_psz] = 7;
	MA_GET();
	t_check(seen[6], "%s: a store to memory mapped again after a get "
		"saw the hole not reported", name);
	/* Twenty holes, each mapped again. */
	for (i = 8; i < 48; i += 2)
		if (munmap(p + i * t_psz, t_psz))
			t_error("munmap");
	for (i = 8; i < 48; i += 2)
		MA_AGAIN(i);
	for (i = 8; i < 48; i += 2)
		p[i * t_psz] = 7;
	MA_GET();
	for (i = 8; i < 48; i += 2)
		t_check(seen[i], "%s: of twenty holes mapped again, page %d "
			"not reported", name, i);
	/* And tracked from then on, every one of them. */
	for (round = 0; round < 2; round++) {
		for (i = 2; i < 48; i++)
			if (i == 2 || i == 3 || i == 6 || (i >= 8 && !(i & 1)))
				p[i * t_psz] = (char)(8 + round);
		MA_GET();
		for (i = 2; i < 48; i++)
			if (i == 2 || i == 3 || i == 6 || (i >= 8 && !(i & 1)))
				t_check(seen[i], "%s: round %d: a store to page "
					"%d, mapped again, not reported", name,
					round, i);
	}
#undef MA_GET
#undef MA_AGAIN
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, MA_NP * t_psz);
	printf("%s: mapped again in place: reported, then tracked\n", name);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	char what[96];
	int i, nb;

	t_init("watch-mremap");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		run(bs[i]);
		run_written_away(bs[i], false);
		run_written_away(bs[i], true);
		run_onto_other(bs[i], false);
		run_onto_other(bs[i], true);
		unregister_over_hole(bs[i]);
		run_many_away(bs[i]);
		run_during_get(bs[i]);
		run_across_edge(bs[i]);
		run_mapped_again(bs[i]);
		run_past_hole(bs[i]);
		own_b = bs[i];
		snprintf(what, sizeof(what), "%s: our state in a watched "
			 "range's hole", pagescan_watch_backend_name(bs[i]));
		t_child_ok(what, t_child(own_state_in_hole, 30));
	}
	t_done();
}
