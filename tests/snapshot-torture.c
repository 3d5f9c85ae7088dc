// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the snapshot promise under a long random attack, as an
 * independent checker would make it: take one snapshot of several kinds
 * of memory (private anonymous, partly never populated; THP; a private
 * file mapping; shmem), then, iteration after iteration, scribble in the
 * ways pagescan_watch(3) ("What a watch sees") says the backend sees,
 * restore, and compare every byte with the test's own copy, taken with
 * memcpy and pagemap, never through the library.  Now and then an update
 * makes the present the new reference; a restore right after a restore
 * must find nothing to do (uffd-async: nothing over-reports there).
 *
 * Scribbles: CPU stores of 1 to 16 bytes and memset runs; read(2) from a
 * pipe and process_vm_writev(2) (not under mprotect: EFAULT); stores
 * after fork(2); MADV_DONTNEED; MADV_FREE, sometimes reclaimed at once
 * with MADV_PAGEOUT; MADV_PAGEOUT of written pages (swap, when a swap
 * area is on); THP split (a 4 KiB discard inside a huge page) and
 * MADV_COLLAPSE; mremap(2) of the anonymous range away and back, then a
 * store.  Every backend this kernel has, forced, in turn; with verify
 * mode on every other one.
 *
 * PAGESCAN_TORTURE_ITERS (default 300; the VM lane sets fewer) iterations
 * per backend;
 * PAGESCAN_TORTURE_SEED another seed (a failure prints the state of the
 * generator at the failing iteration; replay with the seed printed at
 * the start).
 */
#include "snapshot-common.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define MIB (1UL << 20)
#define NR 4

enum kind { K_ANON, K_THP, K_FILE, K_SHMEM };
static const char *const kind_name[NR] = { "anon", "thp", "file", "shmem" };

struct area {
	enum kind kind;
	char *p;
	size_t len;
	bool in;		/* part of this backend's snapshot */
	unsigned char *ref;	/* the snapshot as the test knows it */
	unsigned char *pre;	/* the memory before a restore (mremap) */
	uint64_t *pm;		/* pagemap entries, for the comparison */
};

static struct area areas[NR];
static uint64_t seed;
static int swap_ok;
static bool moved;		/* this iteration moved a range */
static char log_buf[512];
static size_t log_len;

static unsigned long counts[13];	/* scribbles made, by kind */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	if (log_len >= sizeof(log_buf) - 1)
		return;
	va_start(ap, fmt);
	log_len += (size_t)vsnprintf(log_buf + log_len,
				     sizeof(log_buf) - log_len, fmt, ap);
	va_end(ap);
	if (log_len > sizeof(log_buf) - 1)
		log_len = sizeof(log_buf) - 1;
}

static uint64_t rnd(uint64_t n)
{
	return n ? s_rand(&seed) % n : 0;
}

/* Anonymous memory, private: a page neither present nor swapped reads 0. */
static bool area_anon(const struct area *a)
{
	return a->kind == K_ANON || a->kind == K_THP;
}

static void map_areas(void)
{
	int fd;

	areas[K_ANON] = (struct area){ .kind = K_ANON, .len = 1 * MIB };
	areas[K_THP] = (struct area){ .kind = K_THP, .len = 4 * MIB };
	areas[K_FILE] = (struct area){ .kind = K_FILE, .len = 32 * t_psz };
	areas[K_SHMEM] = (struct area){ .kind = K_SHMEM, .len = 32 * t_psz };

	areas[K_ANON].p = t_map(areas[K_ANON].len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(areas[K_ANON].p, areas[K_ANON].len, MADV_NOHUGEPAGE);
	areas[K_THP].p = t_map_aligned(areas[K_THP].len, 2 * MIB,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(areas[K_THP].p, areas[K_THP].len, MADV_HUGEPAGE);
	fd = t_tmpfile(areas[K_FILE].len, 'f');
	areas[K_FILE].p = mmap(NULL, areas[K_FILE].len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, fd, 0);
	if (areas[K_FILE].p == MAP_FAILED)
		t_error("mmap file");
	close(fd);
	areas[K_SHMEM].p = t_map(areas[K_SHMEM].len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS);
	for (int i = 0; i < NR; i++) {
		areas[i].ref = malloc(areas[i].len);
		areas[i].pre = malloc(areas[i].len);
		areas[i].pm = malloc(areas[i].len / t_psz * 8);
		if (!areas[i].ref || !areas[i].pre || !areas[i].pm)
			t_error("malloc");
	}
}

/* A fresh start for a backend: some pages populated, some never. */
static void fill_areas(void)
{
	struct area *a;

	a = &areas[K_ANON];
	madvise(a->p, a->len, MADV_DONTNEED);
	for (size_t i = 0; i < a->len / t_psz; i++)
		if (i % 3)
			memset(a->p + i * t_psz, (int)(i & 0xff) | 1, t_psz);
	a = &areas[K_THP];
	madvise(a->p, a->len, MADV_DONTNEED);
	memset(a->p, 0x5a, 2 * MIB);		/* one huge page of two */
	a = &areas[K_FILE];
	madvise(a->p, a->len, MADV_DONTNEED);	/* the file again */
	t_read(a->p, a->len / 2);
	memset(a->p, 'c', 4 * t_psz);		/* copied on write */
	a = &areas[K_SHMEM];
	memset(a->p, 0x33, a->len / 2);
}

static void read_pagemap(struct area *a)
{
	size_t n = a->len / t_psz * 8;

	if (pread(t_pagemap_fd(), a->pm, n,
		  (off_t)((uintptr_t)a->p / t_psz * 8)) != (ssize_t)n)
		t_error("pagemap");
}

static bool entry_populated(uint64_t e)
{
	return (e >> 63 & 1) || (e >> 62 & 1);
}

/* @to: what the memory holds now (the reference at take and update). */
static void copy_memory(struct area *a, unsigned char *to)
{
	read_pagemap(a);
	for (size_t i = 0; i < a->len / t_psz; i++) {
		unsigned char *r = to + i * t_psz;

		if (area_anon(a) && !entry_populated(a->pm[i]))
			memset(r, 0, t_psz);	/* reads zero: not read */
		else
			memcpy(r, a->p + i * t_psz, t_psz);
	}
}

static void ref_from_memory(struct area *a)
{
	copy_memory(a, a->ref);
}

/* Every byte as @want; 0, or the number of pages that differ. */
static size_t compare_with(struct area *a, const unsigned char *want,
			   uint64_t iter, const char *be, const char *after)
{
	size_t i, bad = 0, first = 0;

	read_pagemap(a);
	for (i = 0; i < a->len / t_psz; i++) {
		const unsigned char *r = want + i * t_psz;
		bool differs;

		if (area_anon(a) && !entry_populated(a->pm[i])) {
			/* Reads zero without being read (uffd-sync fills). */
			differs = r[0] || memcmp(r, r + 1, t_psz - 1);
		} else {
			differs = memcmp(a->p + i * t_psz, r, t_psz);
		}
		if (differs && !bad++)
			first = i;
	}
	if (bad)
		t_fail("%s: iteration %llu: %s: %zu pages differ after %s, "
		       "first page %zu (%p); seed %#llx; scribbles:%s", be,
		       (unsigned long long)iter, kind_name[a->kind], bad, after,
		       first,
		       (void *)(a->p + first * t_psz),
		       (unsigned long long)seed, log_buf);
	return bad;
}

static size_t compare(struct area *a, uint64_t iter, const char *be)
{
	return compare_with(a, a->ref, iter, be, "restore");
}

/* ---- the scribbles ---- */

static struct area *pick(void)
{
	struct area *a;

	do
		a = &areas[rnd(NR)];
	while (!a->in);
	return a;
}

static void s_store(struct area *a)
{
	static const size_t widths[] = { 1, 2, 4, 8, 16 };
	size_t w = widths[rnd(5)], off = rnd(a->len - w + 1);
	unsigned char v[16];

	for (size_t i = 0; i < w; i++)
		v[i] = (unsigned char)(rnd(255) + 1);
	memcpy(a->p + off, v, w);
	note(" store(%s+%#zx,%zu)", kind_name[a->kind], off, w);
}

static void s_memset(struct area *a)
{
	size_t len = 1 + rnd(3 * t_psz), off = rnd(a->len - len + 1);

	memset(a->p + off, (int)rnd(256), len);
	note(" memset(%s+%#zx,%#zx)", kind_name[a->kind], off, len);
}

static void s_read(struct area *a)
{
	size_t len = 1 + rnd(2 * t_psz), off = rnd(a->len - len + 1);
	char buf[2 * 4096 + 1];
	int pfd[2];

	if (len > sizeof(buf))
		len = sizeof(buf);
	if (pipe(pfd))
		t_error("pipe");
	memset(buf, (int)rnd(256), len);
	if (write(pfd[1], buf, len) != (ssize_t)len ||
	    read(pfd[0], a->p + off, len) != (ssize_t)len)
		t_error("read(2) into %s", kind_name[a->kind]);
	close(pfd[0]);
	close(pfd[1]);
	note(" read(%s+%#zx,%zu)", kind_name[a->kind], off, len);
}

static void s_vm_writev(struct area *a)
{
	size_t len = 1 + rnd(t_psz), off = rnd(a->len - len + 1);
	char buf[4096];
	struct iovec l = { buf, len }, r = { a->p + off, len };

	if (len > sizeof(buf))
		len = l.iov_len = r.iov_len = sizeof(buf);
	memset(buf, (int)rnd(256), len);
	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
		t_error("process_vm_writev");
	note(" vm_writev(%s+%#zx,%zu)", kind_name[a->kind], off, len);
}

static void s_fork(struct area *a)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		t_error("fork");
	if (!pid) {
		/*
		 * The child's own memory; not shared memory, which is the
		 * parent's too (written through another process's mapping:
		 * not seen, pagescan_snapshot_take(3)).
		 */
		if (a->kind != K_SHMEM)
			a->p[0] ^= 0x7f;
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		t_error("waitpid");
	s_store(a);			/* the parent's store after fork */
	note(" (after fork)");
}

static void s_discard(struct area *a, int advice, const char *name)
{
	size_t n = 1 + rnd(8), off = rnd(a->len / t_psz - n + 1) * t_psz;

	if (madvise(a->p + off, n * t_psz, advice) && errno != EINVAL)
		t_error("%s", name);
	note(" %s(%s+%#zx,%zu)", name, kind_name[a->kind], off, n);
}

static void s_free(struct area *a)
{
	size_t n = 1 + rnd(8), off = rnd(a->len / t_psz - n + 1) * t_psz;
	bool reclaim = rnd(2);

	if (!area_anon(a))
		return s_discard(a, MADV_DONTNEED, "dontneed");
	madvise(a->p + off, n * t_psz, MADV_FREE);
	if (reclaim)
		madvise(a->p + off, n * t_psz, MADV_PAGEOUT);
	note(" free%s(%s+%#zx,%zu)", reclaim ? "+pageout" : "",
	     kind_name[a->kind], off, n);
}

static void s_swap(struct area *a)
{
	size_t n = 1 + rnd(16), off = rnd(a->len / t_psz - n + 1) * t_psz;

	memset(a->p + off, (int)rnd(256), t_psz);	/* dirty, then out */
	madvise(a->p + off, n * t_psz, MADV_PAGEOUT);
	note(" pageout(%s+%#zx,%zu)", kind_name[a->kind], off, n);
}

static void s_thp(void)
{
	struct area *a = &areas[K_THP];
	size_t blk = rnd(2) * 2 * MIB;

	if (!a->in)
		return;
	if (rnd(2)) {
		size_t pg = rnd(512) * t_psz;

		madvise(a->p + blk + pg, t_psz, MADV_DONTNEED);
		note(" split(thp+%#zx)", blk + pg);
	} else {
		a->p[blk + rnd(2 * MIB)] = (char)(rnd(255) + 1);
		madvise(a->p + blk, 2 * MIB, MADV_COLLAPSE);
		note(" collapse(thp+%#zx)", blk);
	}
}

/* Away and back (the table's "mremap, back"), then a store. */
static void s_mremap(void)
{
	struct area *a = &areas[K_ANON];
	void *tmp, *back;

	if (!a->in)
		return;
	tmp = mmap(NULL, a->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (tmp == MAP_FAILED)
		t_error("mmap");
	if (mremap(a->p, a->len, a->len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   tmp) != tmp)
		t_error("mremap away");
	back = mremap(tmp, a->len, a->len, MREMAP_MAYMOVE | MREMAP_FIXED,
		      a->p);
	if (back != a->p)
		t_error("mremap back");
	note(" mremap(anon)");
	moved = true;
	s_store(a);
}

static void scribble(enum pagescan_watch_backend b)
{
	bool mp = b == PAGESCAN_WATCH_MPROTECT;
	int n = (int)rnd(6), i;

	for (i = 0; i < n; i++) {
		struct area *a = pick();
		unsigned int k = (unsigned int)rnd(13);

		counts[k]++;
		switch (k) {
		case 0: case 1: case 2:
			s_store(a);
			break;
		case 3:
			s_memset(a);
			break;
		case 4:
			if (!mp)
				s_read(a);
			break;
		case 5:
			if (!mp)
				s_vm_writev(a);
			break;
		case 6:
			if (!rnd(8))
				s_fork(a);
			break;
		case 7:
			s_discard(a, MADV_DONTNEED, "dontneed");
			break;
		case 8:
			s_free(a);
			break;
		case 9:
			if (!rnd(4))
				s_swap(a);
			break;
		case 10: case 11:
			s_thp();
			break;
		case 12:
			/*
			 * Under mprotect as nobody (no PFNs) this found the
			 * restore after it missing private file pages copied
			 * on write, discarded and read again (the test reads
			 * every range before such a restore): watch_audit.c.
			 */
			if (!rnd(16))
				s_mremap();
			break;
		}
	}
}

/* ---- one backend ---- */

static int take(enum pagescan_watch_backend b, unsigned int flags,
		struct pagescan_snapshot **s)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .backend = b, .flags = flags);
	struct pagescan_range r[NR];
	size_t n = 0;

	for (int i = 0; i < NR; i++)
		if (areas[i].in)
			r[n++] = (struct pagescan_range){ areas[i].p,
							  areas[i].len };
	return pagescan_snapshot_take(r, n, &o, s);
}

/*
 * Take a snapshot of the areas the backend can track: the watch's limits
 * (pagescan_watch(3)) refuse some kinds with EINVAL (uffd-sync: private
 * file mappings; soft-dirty, and uffd-sync before 5.19: shared memory),
 * found here one kind at a time.  The reference is the memory now.
 */
static bool retake(enum pagescan_watch_backend b, bool verify,
		   struct pagescan_snapshot **s, bool first)
{
	unsigned int flags = verify ? PAGESCAN_SNAPSHOT_VERIFY : 0;
	const char *be = pagescan_watch_backend_name(b);
	bool ok[NR] = { false };
	int ret, i, j;

	for (i = 0; first && i < NR; i++) {
		for (j = 0; j < NR; j++)
			areas[j].in = j == i;
		ret = take(b, flags, s);
		if (!ret)
			pagescan_snapshot_free(*s);
		else if (ret == -EINVAL && (i == K_FILE || i == K_SHMEM))
			printf("%s: %s: %s (the watch's limit), left out\n",
			       be, kind_name[i], strerror(-ret));
		else
			t_fail("%s: take of %s alone: %s (%s)", be,
			       kind_name[i], strerror(-ret),
			       pagescan_last_error());
		ok[i] = !ret;
	}
	for (i = 0; first && i < NR; i++)
		areas[i].in = ok[i];
	for (i = 0; first && i < NR; i++)
		if (areas[i].in)
			break;
	if (first && i == NR)
		return false;
	ret = take(b, flags, s);
	if (ret) {
		t_fail("%s: take: %s (%s)", be, strerror(-ret),
		       pagescan_last_error());
		return false;
	}
	for (i = 0; i < NR; i++)
		if (areas[i].in)
			ref_from_memory(&areas[i]);
	return true;
}

static void run(enum pagescan_watch_backend b, uint64_t iters, bool verify)
{
	const char *be = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *s;
	uint64_t it, restored = 0, updates = 0, efaults = 0;
	int ret, i;

	fill_areas();
	if (!retake(b, verify, &s, true))
		return;
	for (it = 0; it < iters; it++) {
		size_t bad = 0;

		log_len = 0;
		log_buf[0] = '\0';
		moved = false;
		scribble(b);
		if (!rnd(20)) {
			ret = pagescan_snapshot_update(s, &st);
			if (ret == -EFAULT && moved) {
				/* As for a restore (below): take anew. */
				pagescan_snapshot_free(s);
				if (!retake(b, verify, &s, false))
					return;
				efaults++;
				continue;
			}
			if (ret) {
				t_fail("%s: iteration %llu: update: %s (%s); "
				       "seed %#llx", be,
				       (unsigned long long)it, strerror(-ret),
				       pagescan_last_error(),
				       (unsigned long long)seed);
				break;
			}
			for (i = 0; i < NR; i++)
				if (areas[i].in)
					ref_from_memory(&areas[i]);
			updates++;
			continue;
		}
		for (i = 0; moved && i < NR; i++)
			if (areas[i].in)
				copy_memory(&areas[i], areas[i].pre);
		ret = pagescan_snapshot_restore(s, &st);
		if (ret == -EFAULT && moved) {
			/*
			 * pagescan_snapshot_take(3), Mappings: a range moved
			 * (even away and back) fails the next restore with
			 * EFAULT before it touches anything.
			 */
			for (i = 0; i < NR; i++)
				if (areas[i].in &&
				    compare_with(&areas[i], areas[i].pre, it, be,
						 "a refused restore"))
					break;
			pagescan_snapshot_free(s);
			if (i < NR || !retake(b, verify, &s, false))
				return;
			efaults++;
			continue;
		}
		if (ret) {
			t_fail("%s: iteration %llu: restore: %s (%s); seed %#llx;"
			       " scribbles:%s", be, (unsigned long long)it,
			       strerror(-ret), pagescan_last_error(),
			       (unsigned long long)seed, log_buf);
			break;
		}
		restored += st.pages;
		for (i = 0; i < NR; i++)
			if (areas[i].in)
				bad += compare(&areas[i], it, be);
		if (bad)
			break;
		/* Nothing changed since: nothing to do (uffd-async is exact). */
		if (b == PAGESCAN_WATCH_UFFD_ASYNC && !rnd(8)) {
			ret = pagescan_snapshot_restore(s, &st);
			t_check(ret == 0 && st.pages == 0,
				"%s: iteration %llu: a restore right after a "
				"restore: %d, %llu pages; seed %#llx; scribbles:%s",
				be, (unsigned long long)it, ret,
				(unsigned long long)st.pages,
				(unsigned long long)seed, log_buf);
		}
	}
	printf("%s%s: %llu iterations, %llu updates, %llu pages restored, "
	       "%llu EFAULTs after mremap\n", be, verify ? " (verify)" : "",
	       (unsigned long long)it, (unsigned long long)updates,
	       (unsigned long long)restored, (unsigned long long)efaults);
	pagescan_snapshot_free(s);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	const char *e = getenv("PAGESCAN_TORTURE_ITERS");
	uint64_t iters = e && *e ? strtoull(e, NULL, 0) : 300;
	int n, i;

	t_init("snapshot-torture");
	e = getenv("PAGESCAN_TORTURE_SEED");
	/* Fixed by default, so that a CI failure replays as it is. */
	seed = e && *e ? strtoull(e, NULL, 0) : UINT64_C(0x9e3779b97f4a7c15);
	if (!seed)
		seed = 1;
	printf("seed %#llx, %llu iterations per backend\n",
	       (unsigned long long)seed, (unsigned long long)iters);
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	swap_ok = t_swap_on(64) == 0;
	if (!swap_ok)
		printf("swap: no swap area: MADV_PAGEOUT keeps dirty pages\n");
	map_areas();
	for (i = 0; i < n; i++)
		run(bs[i], iters, i % 2);
	printf("scribbles by kind (store x3, memset, read, vm_writev, fork/8, "
	       "dontneed, free, pageout/4, thp x2, mremap/16):");
	for (i = 0; i < 13; i++)
		printf(" %lu", counts[i]);
	printf("\n");
	t_done();
}
