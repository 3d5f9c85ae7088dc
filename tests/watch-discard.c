// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a discard changes watched memory without a store, and
 * every backend reports the page as written at the next get:
 * MADV_DONTNEED of a written private page (also when the page is read
 * again before the get: it reads zeros now), of a private file page
 * copied on write (read again: the file's data), MADV_FREE followed by
 * reclaim (MADV_PAGEOUT).  uffd-async saw them (the emptied entry is
 * WRITTEN); uffd-sync and mprotect did not, and verify mode caught the
 * miss.  fallocate(PUNCH_HOLE) in a memfd is seen by none (the manual's
 * table says so): verify mode must catch it.  A page discarded without
 * a store whose 2 MiB block is then collapsed (MADV_COLLAPSE, 6.1) is
 * present again, reading zeros: every backend reports it too (since
 * 6.18 mprotect's read-only blocks collapse; watch_audit.c).  A page
 * first written while a get-and-reset runs, between its audit and its
 * re-arm, then discarded after it: the next get reports it too (the
 * audit recorded it empty, and mprotect and uffd-sync missed it).
 */
#include "watch-common.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NP 16

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static bool got(struct pagescan_watch *w, char *p, int page, const char *name,
		const char *what)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	void *pg[NP];
	bool seen = false;
	int i, n;

	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "%s: %s: get: %s", name, what, strerror(-n));
	if (n == -EIO)
		n = (int)reset.pages;
	for (i = 0; i < n; i++)
		if (pg[i] == p + page * t_psz)
			seen = true;
	return seen;
}

/* The same, for a get that verify mode may fail. */
static bool got_quiet(struct pagescan_watch *w, char *p, int page)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	void *pg[NP];
	int i, n;

	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	if (n == -EIO)
		n = (int)reset.pages;
	for (i = 0; i < n; i++)
		if (pg[i] == p + page * t_psz)
			return true;
	return false;
}

static void private_discards(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	volatile char sink;
	char *p;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);

	/* Written before register, discarded after: a change. */
	if (madvise(p + 2 * t_psz, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	t_check(got(w, p, 2, name, "DONTNEED"), "%s: MADV_DONTNEED not "
		"reported", name);
	/* Written, reported, discarded, read again (zeros): a change. */
	p[4 * t_psz] = 7;
	got(w, p, 4, name, "write");
	if (madvise(p + 4 * t_psz, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	sink = p[4 * t_psz];
	(void)sink;
	t_check(got(w, p, 4, name, "DONTNEED+read"), "%s: MADV_DONTNEED "
		"then a read not reported", name);
	/* MADV_FREE, then reclaim drops the page: reads zeros. */
	p[6 * t_psz] = 7;
	got(w, p, 6, name, "write");
	if (madvise(p + 6 * t_psz, t_psz, MADV_FREE))
		t_error("MADV_FREE");
	if (!madvise(p + 6 * t_psz, t_psz, MADV_PAGEOUT) && !p[6 * t_psz + 1] &&
	    !p[6 * t_psz])
		t_check(got(w, p, 6, name, "FREE"), "%s: MADV_FREE and "
			"reclaim not reported", name);
	else
		printf("%s: MADV_FREE page not reclaimed here\n", name);
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change", name);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

/* NP pages of a file of 'f' bytes, mapped MAP_PRIVATE. */
static char *map_file_private(void)
{
	int fd = t_tmpfile(NP * t_psz, 'f');
	char *p = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fd, 0);

	if (p == MAP_FAILED)
		t_error("mmap file");
	close(fd);
	return p;
}

/*
 * A private file mapping's copied-on-write page, discarded and read again
 * before the get: it holds the file's data again, not what was written.
 * The page is present again, as the file's page (pagemap bit 61), so an
 * audit that asked only "does it hold data" saw no change; without page
 * frame numbers (not CAP_SYS_ADMIN) mprotect and soft-dirty missed it
 * (found by snapshot-torture as nobody).  Also written before register.
 */
static void file_cow_discard(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	volatile char sink;
	int pg;
	char *p;

	p = map_file_private();
	t_read(p, NP * t_psz);
	p[1 * t_psz] = 'w';		/* copied on write before register */
	pg = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (pg == -EINVAL && b == PAGESCAN_WATCH_UFFD_SYNC) {
		/* userfaultfd write-protects no regular file (man page). */
		printf("%s: a private file mapping: refused, EINVAL\n", name);
		munmap(p, NP * t_psz);
		return;
	}
	if (pg)
		t_error("%s: register", name);
	got(w, p, 0, name, "first");
	p[3 * t_psz] = 'w';		/* and after */
	t_check(got(w, p, 3, name, "write"), "%s: file COW write not "
		"reported", name);
	for (pg = 1; pg <= 3; pg += 2) {
		if (madvise(p + pg * t_psz, t_psz, MADV_DONTNEED))
			t_error("MADV_DONTNEED");
		sink = p[pg * t_psz];
		t_check(sink == 'f', "%s: the file's byte is back", name);
		t_check(got(w, p, pg, name, "file DONTNEED+read"), "%s: "
			"DONTNEED of a private file page written %s register, "
			"then a read, not reported", name,
			pg == 1 ? "before" : "after");
	}
	/* Not read again: the next read gets the file's byte. */
	p[5 * t_psz] = 'w';
	got(w, p, 5, name, "write");
	if (madvise(p + 5 * t_psz, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	t_check(got(w, p, 5, name, "file DONTNEED"), "%s: DONTNEED of a "
		"private file page written, not read again, not reported",
		name);
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change", name);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

/*
 * The same with a page copied on write unmapped first (its record points
 * at no VMA now): every get succeeds (uffd-async's un-protect of the gone
 * page failed with ENOENT, and lost the record of the next page, so its
 * discard was never reported), and the discarded page is reported.
 */
static void file_cow_unmapped(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	volatile char sink;
	int ret;
	char *p;

	p = map_file_private();
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret == -EINVAL && b == PAGESCAN_WATCH_UFFD_SYNC) {
		munmap(p, NP * t_psz);
		return;
	}
	if (ret)
		t_error("%s: register", name);
	p[2 * t_psz] = 'w';
	p[4 * t_psz] = 'w';
	got(w, p, 2, name, "writes");
	if (munmap(p + 2 * t_psz, t_psz) ||
	    madvise(p + 4 * t_psz, t_psz, MADV_DONTNEED))
		t_error("munmap, MADV_DONTNEED");
	sink = p[4 * t_psz];
	(void)sink;
	t_check(got(w, p, 4, name, "unmapped, discarded"), "%s: a private "
		"file page discarded after another was unmapped: not "
		"reported", name);
	t_check(!got(w, p, 4, name, "again"), "%s: reported twice", name);
	pagescan_watch_unregister(w);
	munmap(p, NP * t_psz);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define BLK (2UL << 20)

/* Discarded, then collapsed over: a change, as after the discard alone. */
static void collapse_discard(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	size_t np = BLK / t_psz, i;
	struct pagescan_watch *w;
	bool seen = false;
	void **pg;
	char *p;
	int n;

	p = t_map_aligned(BLK, BLK, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	pg = calloc(np, sizeof(*pg));
	if (!pg)
		t_error("calloc");
	madvise(p, BLK, MADV_HUGEPAGE);
	memset(p, 0x5a, BLK);
	if (pagescan_watch_register(p, BLK, &wo, &w))
		t_error("%s: register", name);
	madvise(p + 9 * t_psz, t_psz, MADV_DONTNEED);
	if (madvise(p, BLK, MADV_COLLAPSE)) {
		printf("%s: MADV_COLLAPSE: %s: not tried\n", name,
		       strerror(errno));
	} else {
		n = pagescan_watch_get_pages(w, p, BLK, pg, np, &reset);
		t_check(n >= 0, "%s: collapse: get: %s", name, strerror(-n));
		for (i = 0; n > 0 && i < (size_t)n; i++)
			seen |= pg[i] == p + 9 * t_psz;
		t_check(seen, "%s: a discard collapsed over not reported",
			name);
		t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
			"%s: collapse: verify mode found an unreported change",
			name);
	}
	t_eq(pagescan_watch_unregister(w), 0);
	free(pg);
	munmap(p, BLK);
}

static void punch_hole(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	int fd, ret;
	char *p;

	fd = (int)syscall(SYS_memfd_create, "discard", 0);
	if (fd < 0 || ftruncate(fd, NP * (off_t)t_psz))
		t_error("memfd");
	p = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap");
	t_touch(p, NP * t_psz);
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		printf("%s: shmem not trackable here: %s\n", name,
		       strerror(-ret));
		goto out;
	}
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      3 * (off_t)t_psz, (off_t)t_psz))
		t_error("PUNCH_HOLE");
	/*
	 * Not seen by any backend (pagescan_watch(3): the entry is kept, or
	 * the read that verify mode makes maps a new page before the get
	 * looks): then verify mode must catch it.
	 */
	if (!got_quiet(w, p, 3))
		t_check(pagescan_watch_verify_failure(w, NULL, NULL) == 1,
			"%s: a hole punched in a memfd neither reported nor "
			"caught by verify mode", name);
	else
		printf("%s: hole punch reported\n", name);
	t_eq(pagescan_watch_unregister(w), 0);
out:
	munmap(p, NP * t_psz);
	close(fd);
}

/*
 * A written private page shared with a forked child (copy-on-write) and
 * discarded while shared.  uffd-sync's audit took such a page for one
 * without data (not exclusively mapped, like the zero page) and did not
 * see it go (measured on 6.18 before the fix: not reported; with verify
 * mode on it was, so verify mode is off here for the uffd backends).
 * Under uffd-sync a read after a discard gets a page of its own from
 * the handler, never the zero page: every present page holds data now.
 * uffd-async sees the emptied entry.  mprotect and soft-dirty record
 * a shared page as holding data (PAGE_IS_PFNZERO, 6.7) or as shared, and
 * report it gone (pagescan_watch(3)); verify mode must catch a miss.
 */
static void shared_discard(enum pagescan_watch_backend b)
{
	bool uffd = b == PAGESCAN_WATCH_UFFD_ASYNC ||
		    b == PAGESCAN_WATCH_UFFD_SYNC;
	/* Verify mode's reads hid the miss: only where it must catch it. */
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = uffd ? 0 : PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	struct t_holder h;
	char *p;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);
	memset(p, 7, NP * t_psz);
	got_quiet(w, p, 0);
	t_holder_start(&h);	/* keeps the pages shared until released */
	got_quiet(w, p, 0);	/* the fork may report the pages once */
	if (madvise(p + 3 * t_psz, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	if (uffd)
		t_check(got(w, p, 3, name, "shared DONTNEED"), "%s: a page "
			"shared with a child and discarded not reported", name);
	else if (!got_quiet(w, p, 3))
		t_check(pagescan_watch_verify_failure(w, NULL, NULL) == 1,
			"%s: a page shared with a child and discarded neither "
			"reported nor caught by verify mode", name);
	else
		printf("%s: shared discard reported\n", name);
	t_holder_release(&h);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

/* ---- a write racing a get-and-reset, then a discard ---- */

#define RACE_NP		64
#define RACE_ITERS	400

static char *race_p;
static atomic_int race_go, race_stop, race_busy;
/* When each page's first store of the round had landed (0: none yet). */
static _Atomic double race_first[RACE_NP];

static double race_now(void);

/*
 * Stores to every page while race_go is set.  race_busy is set before
 * race_go is read and cleared after the stores: once race_go is cleared
 * and then race_busy is seen clear, no store is under way or to come.
 */
static void *race_writer(void *arg)
{
	int i;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		atomic_store(&race_busy, 1);
		if (atomic_load(&race_go))
			for (i = 0; i < RACE_NP; i++) {
				race_p[i * t_psz] = 1;
				if (!atomic_load(&race_first[i]))
					atomic_store(&race_first[i],
						     race_now());
			}
		atomic_store(&race_busy, 0);
	}
	return NULL;
}

static double race_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Each round: every page emptied and reset, the writer races a get, is
 * stopped; every page holding data then is discarded, and the next get
 * must report it, whenever in that get its first store landed.  A miss
 * is counted, not timed: without the fix most rounds miss a page.
 * soft-dirty cannot see a page empty at a get's reset point, written
 * after it and discarded before the next get (the entry goes, and its
 * bit 55 with it; the page reads zeros again, as at the reset, so
 * verify mode finds nothing either).  That point is late in its get
 * (watch_softdirty.c), but where it falls the test cannot see: pages
 * first written in the first half of the get, and the others, are
 * counted apart, not judged.  Judged by that half, a throwaway missed
 * 37 to 163 of some 2,000 to 3,000 pages per 400 to 800 rounds before
 * the record there, in every lane of the 6.12 guest, and 0 after in 5
 * lane runs of 7, but 62 (one stalled round) and 194 in two root lanes
 * of a loaded host: a vCPU stalled after the record moves the half.
 * The old count (most pages of each round) was mostly stores after the
 * get returned.
 */
static void race_discard(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	size_t len = RACE_NP * t_psz;
	int it, i, n, tried = 0, missed = 0, later = 0, lmissed = 0;
	bool sd = b == PAGESCAN_WATCH_SOFT_DIRTY;
	struct pagescan_watch *w;
	void *pg[RACE_NP];
	double until, t0, t1;
	pthread_t t;

	race_p = t_map(len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS);
	if (pagescan_watch_register(race_p, len, &wo, &w))
		t_error("%s: register", name);
	atomic_store(&race_go, 0);
	atomic_store(&race_stop, 0);
	if (pthread_create(&t, NULL, race_writer, NULL))
		t_error("pthread_create");
	until = race_now() + 1.0;
	for (it = 0; it < RACE_ITERS && race_now() < until; it++) {
		bool had[RACE_NP], rep[RACE_NP] = { false };

		if (madvise(race_p, len, MADV_DONTNEED))
			t_error("MADV_DONTNEED");
		pagescan_watch_get_pages(w, race_p, len, pg, RACE_NP, &reset);
		for (i = 0; i < RACE_NP; i++)
			atomic_store(&race_first[i], 0);
		atomic_store(&race_go, 1);
		t0 = race_now();
		n = pagescan_watch_get_pages(w, race_p, len, pg, RACE_NP,
					     &reset);
		t1 = race_now();
		t_check(n >= 0, "%s: racing get: %s", name, strerror(-n));
		atomic_store(&race_go, 0);
		while (atomic_load(&race_busy))
			;
		for (i = 0; i < RACE_NP; i++)
			had[i] = race_p[i * t_psz];
		if (madvise(race_p, len, MADV_DONTNEED))
			t_error("MADV_DONTNEED");
		n = pagescan_watch_get_pages(w, race_p, len, pg, RACE_NP,
					     &reset);
		t_check(n >= 0, "%s: get: %s", name, strerror(-n));
		for (i = 0; i < n; i++)
			rep[((char *)pg[i] - race_p) / t_psz] = true;
		for (i = 0; i < RACE_NP; i++) {
			double f = atomic_load(&race_first[i]);

			if (sd && had[i] && (!f || f >= t0 + (t1 - t0) / 2)) {
				later++;
				lmissed += !rep[i];
				continue;
			}
			tried += had[i];
			missed += had[i] && !rep[i];
		}
	}
	atomic_store(&race_stop, 1);
	pthread_join(t, NULL);
	printf("%s: %d rounds, %d pages written in a get and discarded, "
	       "%d missed\n", name, it, tried, missed);
	if (sd)
		printf("%s: %d more first written in the second half of the "
		       "get or after it, %d of them not seen; counted, not "
		       "judged (pagescan_watch(3), Discards)\n", name, later,
		       lmissed);
	else
		t_check(!missed, "%s: %d of %d pages written during a get "
			"and discarded after it not reported", name, missed,
			tried);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(race_p, len);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-discard");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		private_discards(bs[i]);
		file_cow_discard(bs[i]);
		file_cow_unmapped(bs[i]);
		collapse_discard(bs[i]);
		punch_hole(bs[i]);
		shared_discard(bs[i]);
		race_discard(bs[i]);
	}
	t_done();
}
