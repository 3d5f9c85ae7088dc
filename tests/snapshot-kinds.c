// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: snapshot restore is exact in the cases hand-rolled resets
 * get wrong, on every write-watch backend this kernel has: transparent
 * huge pages written, split (MADV_DONTNEED of 4 KiB) and collapsed
 * (MADV_COLLAPSE) since take; dirty pages swapped out (MADV_PAGEOUT) and
 * pages swapped out at take; shmem and memfd (MAP_SHARED); a private
 * file mapping with page-cache pages, copied-on-write pages, and COW
 * pages discarded again (which must read the snapshot, not the file),
 * also after the take's or an update's copy swapped them back in;
 * hugetlb pages written, discarded and first-touched (restored whole,
 * counted as one page each), and shared hugetlb pages written then
 * discarded (the data stays in the file, the kernel reports nothing).  After every restore the range equals the
 * test's own reference byte for byte.
 */
#include "snapshot-common.h"

#include <fcntl.h>

#define MIB (1UL << 20)

static uint64_t seed = 0x243f6a8885a308d3ULL;

static void scribble(char *p, size_t len, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[s_rand(&seed) % len] = (char)(s_rand(&seed) | 1);
}

/* Take, run @rounds of @fn, restore and compare after each. */
typedef void (*change_fn)(char *p, size_t len, int round);

static void run(const char *kind, enum pagescan_watch_backend b, char *p,
		size_t len, bool anon, change_fn fn, int rounds)
{
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char what[96];
	int ret, i;

	snprintf(what, sizeof(what), "%s/%s", kind,
		 pagescan_watch_backend_name(b));
	s_ref_take(&ref, p, len, anon);
	ret = s_take1(p, len, b, PAGESCAN_SNAPSHOT_VERIFY, &s);
	if (ret == -EINVAL && b == PAGESCAN_WATCH_UFFD_SYNC && !anon &&
	    strstr(kind, "file")) {
		/* The watch's limit (uffd-sync registers MISSING faults). */
		printf("%s: the backend cannot track a private file mapping "
		       "(EINVAL), as its watch\n", what);
		s_ref_free(&ref);
		return;
	}
	if (ret == -EINVAL && !anon && !strstr(kind, "file") &&
	    (b == PAGESCAN_WATCH_SOFT_DIRTY || b == PAGESCAN_WATCH_UFFD_SYNC)) {
		/*
		 * The watch's limits: soft-dirty refuses shared memory (a
		 * zap loses the bit); uffd-wp on shmem needs 5.19.
		 */
		printf("%s: the backend cannot track shared memory (EINVAL), "
		       "as its watch\n", what);
		s_ref_free(&ref);
		return;
	}
	if (ret) {
		t_fail("%s: take: %s (%s)", what, strerror(-ret),
		       pagescan_last_error() ? pagescan_last_error() : "");
		s_ref_free(&ref);
		return;
	}
	for (i = 0; i < rounds; i++) {
		fn(p, len, i);
		if (s_restore(s, what) == UINT64_MAX ||
		    s_ref_check(&ref, what, NULL))
			break;
	}
	printf("%s: %d rounds\n", what, i);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
}

/* ---- THP ---- */

static void thp_change(char *p, size_t len, int round)
{
	scribble(p, len, 50);
	switch (round % 4) {
	case 0:
		/* Split: one 4 KiB page out of a huge page. */
		madvise(p + 2 * MIB + 5 * t_psz, t_psz, MADV_DONTNEED);
		break;
	case 1:
		madvise(p, 4 * MIB, MADV_COLLAPSE);
		break;
	case 2:
		memset(p + 6 * MIB, 0x3c, 2 * MIB);	/* unpopulated at take */
		madvise(p + 6 * MIB, 2 * MIB, MADV_COLLAPSE);
		break;
	case 3:
		madvise(p + 2 * MIB, 2 * MIB, MADV_DONTNEED);	/* whole */
		break;
	}
}

static void thp(enum pagescan_watch_backend b)
{
	char *p = t_map_aligned(8 * MIB, 2 * MIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);

	madvise(p, 8 * MIB, MADV_HUGEPAGE);
	memset(p, 0x11, 4 * MIB);
	run("thp", b, p, 8 * MIB, true, thp_change, 12);
	munmap(p, 8 * MIB);
}

/* ---- swap ---- */

static void swap_change(char *p, size_t len, int round)
{
	scribble(p, len, 40);
	/* The dirty pages leave memory before the restore looks. */
	madvise(p, len, MADV_PAGEOUT);
}

static void swap(enum pagescan_watch_backend b)
{
	size_t len = 256 * t_psz;
	char *p = t_map(len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);

	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x22, len / 2);
	madvise(p, len / 4, MADV_PAGEOUT);	/* swapped at take */
	run("swap", b, p, len, true, swap_change, 8);
	munmap(p, len);
}

/* ---- shared ---- */

static void shared_change(char *p, size_t len, int round)
{
	scribble(p, len, 30);
	if (round % 2)
		madvise(p + 3 * t_psz, 2 * t_psz, MADV_DONTNEED);
}

static void shared(enum pagescan_watch_backend b)
{
	size_t len = 64 * t_psz;
	char *p = t_map(len, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS);
	int fd;

	memset(p, 0x33, len / 2);
	run("shmem", b, p, len, false, shared_change, 6);
	munmap(p, len);

	fd = memfd_create("snapshot-kinds", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len))
		t_error("memfd");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap memfd");
	memset(p + len / 4, 0x44, len / 4);
	run("memfd", b, p, len, false, shared_change, 6);
	munmap(p, len);
	close(fd);
}

/* ---- private file ---- */

static void file_change(char *p, size_t len, int round)
{
	scribble(p, len, 20);
	/* COW pages (written at take) dropped: they read the file now. */
	madvise(p + 2 * t_psz, 6 * t_psz, MADV_DONTNEED);
	if (round % 2)
		madvise(p + 40 * t_psz, 4 * t_psz, MADV_DONTNEED);
}

static void file_private(enum pagescan_watch_backend b)
{
	size_t len = 64 * t_psz;
	int fd = t_tmpfile(len, 'f');
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		t_error("mmap file");
	t_read(p + 16 * t_psz, 8 * t_psz);		/* page cache, mapped */
	memset(p, 'c', 8 * t_psz);			/* copied on write */
	run("file-private", b, p, len, false, file_change, 6);
	munmap(p, len);
	close(fd);
}

/* The watch refuses [p, p + len) under @b with EINVAL too. */
static bool watch_refuses(void *p, size_t len, enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	struct pagescan_watch *w;
	int ret = pagescan_watch_register(p, len, &wo, &w);

	if (!ret)
		pagescan_watch_unregister(w);
	return ret == -EINVAL;
}

/*
 * A page copied on write, swapped out, then read back in by the library
 * itself (the copy of a take, or of an update), then discarded and read
 * again: it reads the file's data, and must be restored.  The read that
 * swapped it in was the library's own, which no walk reports, so the
 * watch's record of copied pages lost it and the restore returned 0 with
 * the file's data in place (uffd-async and uffd-sync; verify: EIO).
 */
static void swapped_cow(enum pagescan_watch_backend b, bool update)
{
	size_t len = 8 * t_psz;
	/* A memfd's: uffd-sync tracks those (shmem), not a disk file's. */
	int fd = memfd_create("snapshot-kinds", 0);
	char *p, *f = malloc(len);
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char what[96];
	int ret;

	if (fd < 0 || !f)
		t_error("memfd_create");
	memset(f, 'f', len);
	if (pwrite(fd, f, len, 0) != (ssize_t)len)
		t_error("pwrite");
	free(f);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	snprintf(what, sizeof(what), "file-private, a copied page swapped "
		 "out, %s/%s", update ? "update" : "take",
		 pagescan_watch_backend_name(b));
	if (p == MAP_FAILED)
		t_error("mmap memfd");
	memset(p, 'c', len);				/* copied on write */
	if (!update)
		madvise(p, len, MADV_PAGEOUT);		/* the take reads it */
	s_ref_take(&ref, p, len, false);
	ret = s_take1(p, len, b, PAGESCAN_SNAPSHOT_VERIFY, &s);
	if (ret == -EINVAL && watch_refuses(p, len, b)) {
		/* uffd-wp on shmem, which a memfd's private mapping is: 5.19 */
		printf("%s: the backend cannot track it (EINVAL), as its "
		       "watch\n", what);
		goto out;
	}
	if (ret) {
		t_fail("%s: take: %s", what, strerror(-ret));
		goto out;
	}
	if (update) {
		madvise(p, len, MADV_PAGEOUT);		/* the update reads it */
		if (pagescan_snapshot_update(s, NULL))
			t_fail("%s: update: %s", what, pagescan_last_error());
	}
	madvise(p, len, MADV_DONTNEED);		/* the file's data again */
	t_read(p, len);
	if (s_restore(s, what) != UINT64_MAX && !s_ref_check(&ref, what, NULL))
		printf("%s: restored\n", what);
	pagescan_snapshot_free(s);
out:
	s_ref_free(&ref);
	munmap(p, len);
	close(fd);
}

/* ---- hugetlb ---- */

#define HP (2 * MIB)

static void huge_change(char *p, size_t len, int round)
{
	p[s_rand(&seed) % (2 * HP)] = 9;	/* populated at take */
	p[2 * HP + s_rand(&seed) % HP] = 8;	/* first touch */
	if (round % 2)
		madvise(p, HP, MADV_DONTNEED);	/* a populated one dropped */
}

/*
 * Shared hugetlb (a memfd's): a store, then MADV_DONTNEED of its huge
 * page, which keeps the stored data in the file.  The emptied huge PTE was
 * neither WRITTEN to the kernel's scan nor marked: restore returned 0 and
 * left the store in place.
 */
static void huge_shared_change(char *p, size_t len, int round)
{
	size_t at = (size_t)(round % 2) * HP + s_rand(&seed) % HP;

	p[at] = (char)(0x70 + round);
	if (round % 3 != 2)
		madvise(p + at / HP * HP, HP, MADV_DONTNEED);
}

static void hugetlb_shared(enum pagescan_watch_backend b)
{
	int fd = memfd_create("snapshot-kinds", T_MFD_HUGETLB);
	char *p;

	if (fd < 0 || ftruncate(fd, 2 * HP))
		t_error("memfd_create(MFD_HUGETLB)");
	p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap of a hugetlb memfd");
	close(fd);
	memset(p, 0x10, 2 * HP);
	run("hugetlb shared, a store then a discard", b, p, 2 * HP, false,
	    huge_shared_change, 6);
	munmap(p, 2 * HP);
}

static void hugetlb(enum pagescan_watch_backend b)
{
	struct pagescan_snapshot *s;
	long nfree = t_hugepages(4);
	char *p;
	int ret;

	if (nfree < 4) {
		printf("hugetlb: %ld free huge pages, not run\n", nfree);
		if (t_root())
			t_fail("hugetlb: root could not reserve 4 huge pages");
		return;
	}
	p = mmap(NULL, 4 * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		t_error("MAP_HUGETLB");
	memset(p, 0x55, 2 * HP);
	if (b != PAGESCAN_WATCH_UFFD_ASYNC) {
		/* pagescan_watch(3): hugetlb is uffd-async only. */
		ret = s_take1(p, 4 * HP, b, 0, &s);
		t_check(ret == -EOPNOTSUPP, "hugetlb/%s: take: %s",
			pagescan_watch_backend_name(b), strerror(-ret));
		munmap(p, 4 * HP);
		return;
	}
	/* Not aligned to the huge pages: refused. */
	t_eq(s_take1(p, t_psz, b, 0, &s), -EINVAL);
	run("hugetlb", b, p, 4 * HP, true, huge_change, 6);

	/* One huge page written counts one, and is restored whole. */
	t_eq(s_take1(p, 4 * HP, b, 0, &s), 0);
	p[HP + 100] ^= 1;
	{
		PAGESCAN_OPTS(pagescan_snapshot_stats, st);

		t_eq(pagescan_snapshot_restore(s, &st), 0);
		t_eq(st.pages, 1);
		t_eq(st.copied, HP);
	}
	pagescan_snapshot_free(s);
	munmap(p, 4 * HP);
	hugetlb_shared(b);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i, sw;

	t_init("snapshot-kinds");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	sw = t_swap_on(64);
	if (sw)
		printf("swap: no swap area (%s): pages stay in memory\n",
		       strerror(-sw));
	for (i = 0; i < n; i++) {
		thp(bs[i]);
		swap(bs[i]);
		shared(bs[i]);
		file_private(bs[i]);
		if (!sw) {
			swapped_cow(bs[i], false);
			swapped_cow(bs[i], true);
		}
		hugetlb(bs[i]);
	}
	t_done();
}
