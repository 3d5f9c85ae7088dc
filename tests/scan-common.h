/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Shared by the scan-*, iter-* and handle-* tests: run one request through
 * the raw ioctl, pagescan_ioctl() and pagescan_scan() and insist that all
 * three agree (return value, errno, walk_end, every vec slot), plus small
 * set-up helpers (uffd-wp async registration, reading sysfs).
 */
#ifndef PAGESCAN_TEST_SCAN_COMMON_H
#define PAGESCAN_TEST_SCAN_COMMON_H

#include "helpers.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uapi/pagemap_scan.h"

#define SC_POISON_WE	UINT64_C(0x5a5a5a5a5000)	/* walk_end input */
#define SC_MAXV		8192
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/*
 * The category bits this kernel accepts (0x7f on 6.7, 0xff on 6.8-6.15,
 * 0x1ff from 6.16), less SOFT_DIRTY: where CONFIG_MEM_SOFT_DIRTY is set,
 * VM_SOFTDIRTY marks every page of a new VMA, which would change every
 * expected value.  Soft-dirty has its own checks.
 */
static inline uint64_t sc_cats(void)
{
	static uint64_t c;
	unsigned int b;

	if (!c) {
		for (b = 0; b < PAGESCAN_CAT_COUNT; b++)
			if (pagescan_probe(PAGESCAN_FEAT_CAT_WPALLOWED + b) == 1)
				c |= UINT64_C(1) << b;
		c &= ~(uint64_t)PAGE_IS_SOFT_DIRTY;
	}
	return c;
}
#define SC_ALL sc_cats()

/*
 * Which WRITTEN semantics the kernel has (contract 5.2): the July 2026
 * fixes (7.2-rc, stable, in 6.18.44) made the generic path report a
 * pte_none entry as WRITTEN ("written state for unpopulated ptes") and a
 * page-table hole in a uffd-wp VMA as WRITTEN ("written state for PMD
 * holes").  Before them both are 0.  Asked once, by doing it.
 */
static inline uint64_t sc_none_w(void)
{
	static int w = -1;

	if (w < 0) {
		char *p = mmap(NULL, 2 * t_psz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct page_region r;
		struct pm_scan_arg a = {
			.size = sizeof(a), .vec = (uintptr_t)&r, .vec_len = 1,
			.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
		};

		if (p == MAP_FAILED)
			t_error("mmap");
		p[0] = 1;
		a.start = (uintptr_t)p + t_psz;
		a.end = a.start + t_psz;
		if (ioctl(t_pagemap_fd(), PAGEMAP_SCAN, &a) != 1)
			t_error("pte_none probe");
		w = (int)(r.categories & PAGE_IS_WRITTEN);
		munmap(p, 2 * t_psz);
		if (!w)
			printf("note: this kernel reports pte_none as 0 in the "
			       "generic path (before the July 2026 fix)\n");
	}
	return (uint64_t)w;
}
#define NONE_W sc_none_w()

struct sc_res {
	int ret;
	int err;
	uint64_t walk_end;
};

static struct pagescan *sc_self;

static inline struct pagescan *sc_handle(void)
{
	if (!sc_self) {
		int r = pagescan_open(0, NULL, &sc_self);

		if (r)
			t_error("pagescan_open(0): %d", r);
	}
	return sc_self;
}

static inline void sc_poison(struct page_region *v, size_t n)
{
	memset(v, 0xa5, n * sizeof(*v));
}

/*
 * Run @a (a->vec is the caller's buffer of a->vec_len slots when @real,
 * else a bogus pointer passed as is) three ways.  On return a->walk_end
 * and the caller's vec hold the raw ioctl's results.  Mismatches are
 * failures tagged @what.  Not for WP_MATCHING (it changes state).
 */
static inline struct sc_res sc_run(struct pm_scan_arg *a, bool real,
				   const char *what)
{
	static struct page_region b1[SC_MAXV], b2[SC_MAXV], b3[SC_MAXV];
	struct pm_scan_arg a1 = *a, a2 = *a;
	struct sc_res r1, r2, r3;
	size_t n = real ? (size_t)a->vec_len : 0;
	int fd = t_pagemap_fd();

	if (n > SC_MAXV)
		t_error("%s: vec_len %zu too large for sc_run", what, n);
	if (real) {
		sc_poison(b1, n);
		sc_poison(b2, n);
		sc_poison(b3, n);
		a1.vec = (uintptr_t)b1;
		a2.vec = (uintptr_t)b2;
	}
	a1.walk_end = a2.walk_end = SC_POISON_WE;
	r1.ret = t_ioctl(fd, &a1, &r1.err);
	r1.walk_end = a1.walk_end;
	r2.ret = t_pioctl(fd, &a2, &r2.err);
	r2.walk_end = a2.walk_end;
	if (r1.ret != r2.ret || r1.err != r2.err ||
	    r1.walk_end != r2.walk_end)
		t_fail("%s: raw ret %d errno %d walk_end %#" PRIx64
		       " vs pagescan_ioctl ret %d errno %d walk_end %#" PRIx64,
		       what, r1.ret, r1.err, r1.walk_end, r2.ret, r2.err,
		       r2.walk_end);
	if (real && memcmp(b1, b2, n * sizeof(b1[0])))
		t_fail("%s: raw and pagescan_ioctl vec contents differ", what);

	/* The handle API builds its own 96-byte struct: size is always ok. */
	if (a->size == sizeof(*a)) {
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .flags = a->flags, .max_pages = a->max_pages,
			      .category_inverted = a->category_inverted,
			      .category_mask = a->category_mask,
			      .category_anyof_mask = a->category_anyof_mask,
			      .return_mask = a->return_mask,
			      .walk_end = SC_POISON_WE);

		errno = 0;
		r3.ret = pagescan_scan(sc_handle(), a->start, a->end,
				       real ? (struct pagescan_region *)b3 :
				       (struct pagescan_region *)(uintptr_t)
				       a->vec, (size_t)a->vec_len, &o);
		r3.err = r3.ret < 0 ? errno : 0;
		r3.walk_end = o.walk_end;
		if (r3.ret < 0 && r3.ret != -r3.err)
			t_fail("%s: pagescan_scan returned %d but errno %d",
			       what, r3.ret, r3.err);
		if (r3.ret < 0)
			r3.ret = -1;
		if (r1.ret != r3.ret || r1.err != r3.err ||
		    r1.walk_end != r3.walk_end)
			t_fail("%s: raw ret %d errno %d walk_end %#" PRIx64
			       " vs pagescan_scan ret %d errno %d walk_end %#"
			       PRIx64, what, r1.ret, r1.err, r1.walk_end,
			       r3.ret, r3.err, r3.walk_end);
		if (real && memcmp(b1, b3, n * sizeof(b1[0])))
			t_fail("%s: raw and pagescan_scan vec contents differ",
			       what);
	}
	if (real)
		memcpy((void *)(uintptr_t)a->vec, b1, n * sizeof(b1[0]));
	a->walk_end = r1.walk_end;
	return r1;
}

/* Expect success with @nr regions and walk_end @we. */
#define sc_expect(res, nr, we, what)					\
	do {								\
		struct sc_res __r = (res);				\
		if (__r.ret != (int)(nr) || __r.err)			\
			t_fail("%s: ret %d errno %d, expected %d", what,\
			       __r.ret, __r.err, (int)(nr));		\
		if (__r.walk_end != (uint64_t)(we))			\
			t_fail("%s: walk_end %#" PRIx64 ", expected %#"	\
			       PRIx64, what, __r.walk_end,		\
			       (uint64_t)(we));				\
	} while (0)

/* Expect failure with @e and walk_end untouched (poison) or @we. */
#define sc_expect_err(res, e, we, what)					\
	do {								\
		struct sc_res __r = (res);				\
		if (__r.ret != -1 || __r.err != (e))			\
			t_fail("%s: ret %d errno %d, expected -1 errno %d",\
			       what, __r.ret, __r.err, (e));		\
		if (__r.walk_end != (uint64_t)(we))			\
			t_fail("%s: walk_end %#" PRIx64 ", expected %#"	\
			       PRIx64, what, __r.walk_end,		\
			       (uint64_t)(we));				\
	} while (0)

/* Check region @i of @v against [s, e) with categories @c. */
#define sc_region(v, i, s, e, c, what)					\
	do {								\
		const struct page_region *__p = &(v)[i];		\
		if (__p->start != (uint64_t)(uintptr_t)(s) ||		\
		    __p->end != (uint64_t)(uintptr_t)(e) ||		\
		    __p->categories != (uint64_t)(c))			\
			t_fail("%s: region %d = [%#" PRIx64 ", %#"	\
			       PRIx64 ") %s, expected [%#" PRIx64	\
			       ", %#" PRIx64 ") %#" PRIx64, what,	\
			       (int)(i), (uint64_t)__p->start,		\
			       (uint64_t)__p->end,			\
			       t_cats(__p->categories),			\
			       (uint64_t)(uintptr_t)(s),		\
			       (uint64_t)(uintptr_t)(e), (uint64_t)(c));\
	} while (0)

/* All-categories scan of [p, p+len): regions into @v (cap @n). */
static inline struct sc_res sc_all(void *p, size_t len,
				   struct page_region *v, size_t n,
				   const char *what)
{
	struct pm_scan_arg a = t_arg(p, (char *)p + len, v, n, 0, 0, 0, 0, 0,
				     SC_ALL);

	return sc_run(&a, true, what);
}

/*
 * Register [p, p+len) for asynchronous uffd write-protect tracking
 * (UFFD_FEATURE_WP_ASYNC).  Returns the uffd, or -errno.
 */
static inline int sc_uffd_register(void *p, size_t len, bool async)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = async ? UFFD_FEATURE_WP_ASYNC |
			    UFFD_FEATURE_WP_UNPOPULATED |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM :
			    UFFD_FEATURE_WP_UNPOPULATED |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	long fd = syscall(SYS_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl((int)fd, UFFDIO_API, &api) ||
	    ioctl((int)fd, UFFDIO_REGISTER, &reg)) {
		int e = errno;

		close((int)fd);
		return -e;
	}
	return (int)fd;
}

/* WRITTEN of a page-table hole in a uffd-wp VMA (see sc_none_w()). */
static inline uint64_t sc_hole_w(void)
{
	static int w = -1;

	if (w < 0) {
		char *p = mmap(NULL, 4UL << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *q = (char *)(((uintptr_t)p + (2UL << 20) - 1) &
				   ~((2UL << 20) - 1));
		struct page_region r;
		struct pm_scan_arg a = {
			.size = sizeof(a), .vec = (uintptr_t)&r, .vec_len = 1,
			.return_mask = PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED,
		};
		int fd;

		if (p == MAP_FAILED)
			t_error("mmap");
		fd = sc_uffd_register(q, t_psz, true);
		a.start = (uintptr_t)q;
		a.end = a.start + t_psz;
		if (fd < 0 || ioctl(t_pagemap_fd(), PAGEMAP_SCAN, &a) != 1)
			w = 0;
		else
			w = (int)(r.categories & PAGE_IS_WRITTEN);
		if (fd >= 0)
			close(fd);
		munmap(p, 4UL << 20);
		if (!w)
			printf("note: page-table holes in uffd-wp VMAs are not "
			       "WRITTEN here (before the July 2026 fix)\n");
	}
	return (uint64_t)w;
}
#define HOLE_W sc_hole_w()

/* Skip unless async uffd-wp works for this caller. */
static inline void sc_need_wp_async(void)
{
	if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) != 1)
		t_skip("no UFFD_FEATURE_WP_ASYNC for this caller (probe: %d)",
		       pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC));
}

static inline void sc_need_scan(void)
{
	if (pagescan_probe(PAGESCAN_FEAT_SCAN) != 1)
		t_skip("kernel has no PAGEMAP_SCAN to compare against");
	if (getenv("PAGESCAN_BACKEND") &&
	    strcmp(getenv("PAGESCAN_BACKEND"), "native") &&
	    strcmp(getenv("PAGESCAN_BACKEND"), "auto") &&
	    getenv("PAGESCAN_BACKEND")[0])
		t_skip("these tests exercise the native backend");
}

/*
 * Write-protect everything in [p, p+len) registered on @uffd, markers
 * included (UFFDIO_WRITEPROTECT with WP_UNPOPULATED): the same on every
 * kernel, unlike a WP_MATCHING pass, which arms page-table holes only
 * since the July 2026 fix.
 */
static inline int sc_wp_all(int uffd, void *p, size_t len)
{
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

#endif
