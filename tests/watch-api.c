// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: write watch API and lifecycle on every backend available
 * here: written pages as regions and as addresses, get-and-reset, reset,
 * sub-ranges and resume, first writes to never-touched pages, writes by
 * read(2), several watches, overlap refused, GetWriteWatch semantics,
 * munmap of a watched range, verify mode catching an unreported change,
 * and unregister restoring fds, threads, the SIGSEGV handler and the
 * mappings (protection, uffd flags) exactly.
 */
#include "watch-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/utsname.h>

/* Is the running kernel older than @maj.@min? */
static bool kernel_before(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a < maj || (a == maj && b < min);
}

#define NP 64

static int regions(struct pagescan_watch *w, char *p, size_t len,
		   unsigned int flags, struct pagescan_region *r, size_t n)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, o, .flags = flags);

	return pagescan_watch_get_regions(w, p, len, r, n, &o);
}

static int written_in(struct pagescan_watch *w, char *p, size_t len,
		      struct pagescan_region *r, size_t n)
{
	return regions(w, p, len, PAGESCAN_WATCH_RESET, r, n);
}

/* The written pages of the whole watch as a string "3-4,10". */
static const char *written(struct pagescan_watch *w, char *p, unsigned int fl)
{
	static char buf[512];
	struct pagescan_region r[NP];
	size_t o = 0;
	int n, i;

	n = regions(w, p, NP * t_psz, fl, r, NP);
	if (n < 0)
		return strerror(-n);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		unsigned long a = (r[i].start - (uintptr_t)p) / t_psz;
		unsigned long b = (r[i].end - (uintptr_t)p) / t_psz - 1;

		if (r[i].categories != PAGESCAN_CAT_WRITTEN)
			return "bad categories";
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%lu", i ?
				      "," : "", a);
		if (b != a)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "-%lu",
					      b);
	}
	return buf;
}

#define EXPECT(w, p, fl, s)						\
	do {								\
		const char *__g = written(w, p, fl);			\
		t_check(!strcmp(__g, s), "%s: written \"%s\", expected \"%s\"", \
			name, __g, s);					\
	} while (0)

/* After unregister no page may keep a uffd-wp bit (pagemap bit 57). */
static void no_wp_bits(const char *p, size_t len, const char *name)
{
	uint64_t e[NP];
	size_t i, n = len / t_psz;

	if (n > NP || pread(t_pagemap_fd(), e, n * 8,
			    (off_t)((uintptr_t)p / t_psz * 8)) != (ssize_t)(n * 8))
		t_error("pagemap");
	for (i = 0; i < n; i++)
		t_check(!(e[i] & (1ULL << 57)), "%s: page %zu keeps uffd-wp",
			name, i);
}

/*
 * 4 KiB accuracy on a transparent huge page: one byte written in a
 * populated THP is one page reported (the contract, 5.1: an armed THP
 * splits on write).
 */
static void thp(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	size_t len = 4 << 20;
	struct pagescan_region r[4];
	struct pagescan_watch *w;
	int64_t cats;
	char *p;
	int n;

	p = t_map_aligned(len, 2 << 20, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 1, len);
	cats = t_page_cats(p + (2 << 20));
	if (pagescan_watch_register(p, len, &wo, &w)) {
		t_fail("%s: register THP range", name);
		return;
	}
	p[(2 << 20) + 700 * 4096 % (2 << 20)] = 2;
	n = written_in(w, p, len, r, 4);
	t_eq(n, 1);
	if (n == 1) {
		uintptr_t at = (uintptr_t)p + (2 << 20) + 700 * 4096 % (2 << 20);

		at &= ~(uintptr_t)(t_psz - 1);
		if (b == PAGESCAN_WATCH_SOFT_DIRTY) {
			/* Soft-dirty is per PMD on a THP: documented. */
			t_check(r[0].start <= at && at < r[0].end,
				"%s: THP write not reported", name);
		} else {
			t_eq(r[0].start, at);
			t_eq(r[0].end, at + t_psz);
		}
	}
	printf("%s: THP (%s before): 1 byte written, %d region(s)\n", name,
	       cats >= 0 && (cats & PAGESCAN_CAT_HUGE) ? "huge" : "not huge",
	       n);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, len);
}

static void one_backend(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	struct pagescan_watch *w, *w2;
	struct pagescan_region r[4];
	struct w_state before;
	void *pages[NP];
	char *p, *q;
	int n, fd, ret;
	uint32_t gran;
	uintptr_t cnt;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	q = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS);
	memset(p, 1, 8 * t_psz);	/* pages 0-7 populated, the rest not */
	memset(q, 1, t_psz);
	w_state_get(&before, p, NP * t_psz);

	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret) {
		t_fail("%s: register: %s", name, strerror(-ret));
		return;
	}
	printf("%s: %s\n", name, pagescan_watch_reason(w));
	t_eq(pagescan_watch_backend(w), b);
	t_check(strstr(pagescan_watch_reason(w), name) != NULL,
		"%s: reason does not name the backend", name);

	EXPECT(w, p, 0, "");
	p[3 * t_psz] = 2;			/* populated */
	p[4 * t_psz + 100] = 2;
	p[40 * t_psz] = 2;			/* never touched before */
	(void)*(volatile char *)(p + 50 * t_psz);	/* a read is no write */
	EXPECT(w, p, 0, "3-4,40");
	EXPECT(w, p, 0, "3-4,40");		/* get does not reset */

	/* Addresses, and a buffer too small: resume. */
	{
		PAGESCAN_OPTS(pagescan_watch_get_opts, o);

		n = pagescan_watch_get_pages(w, p, NP * t_psz, pages, 2, &o);
		t_eq(n, 2);
		t_check(n == 2 && pages[0] == p + 3 * t_psz &&
			pages[1] == p + 4 * t_psz, "%s: pages", name);
		/* Anywhere from after page 4 to page 40 is right. */
		t_check(o.next >= (uintptr_t)p + 5 * t_psz &&
			o.next <= (uintptr_t)p + 40 * t_psz,
			"%s: next %#" PRIx64, name, o.next);
		t_eq(o.pages, 2);
		n = pagescan_watch_get_regions(w, p, NP * t_psz, r, 1, &o);
		t_eq(n, 1);
		t_eq(o.next, (uintptr_t)p + 40 * t_psz);
	}
	/* Sub-range get-and-reset resets only what it reported. */
	{
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = PAGESCAN_WATCH_RESET);

		n = pagescan_watch_get_regions(w, p + 4 * t_psz,
					       36 * t_psz, r, 4, &o);
		t_eq(n, 1);
		t_eq(o.next, (uintptr_t)p + 40 * t_psz);
	}
	EXPECT(w, p, 0, "3,40");
	EXPECT(w, p, PAGESCAN_WATCH_RESET, "3,40");
	EXPECT(w, p, 0, "");
	p[40 * t_psz + 1] = 3;			/* written again after reset */
	EXPECT(w, p, PAGESCAN_WATCH_RESET, "40");

	/* read(2) into tracked memory. */
	fd = t_tmpfile(t_psz, 0x5a);
	errno = 0;
	ret = (int)pread(fd, p + 20 * t_psz, 16, 0);
	if (b == PAGESCAN_WATCH_MPROTECT || b == PAGESCAN_WATCH_SOFT_DIRTY) {
		/* Documented: a kernel-mode write fails, nothing changes. */
		if (b == PAGESCAN_WATCH_MPROTECT) {
			t_check(ret == -1 && errno == EFAULT,
				"%s: read(2) gave %d errno %d, expected EFAULT",
				name, ret, errno);
			t_check(p[20 * t_psz] == 0, "%s: read wrote", name);
			EXPECT(w, p, PAGESCAN_WATCH_RESET, "");
		} else {
			EXPECT(w, p, PAGESCAN_WATCH_RESET, ret == 16 ? "20" : "");
		}
	} else {
		t_check(ret == 16, "%s: read(2) into tracked memory: %d (%s)",
			name, ret, strerror(errno));
		t_check(p[20 * t_psz] == 0x5a, "%s: read data", name);
		EXPECT(w, p, PAGESCAN_WATCH_RESET, "20");
	}
	close(fd);

	/* reset() */
	p[1] = 1;
	p[63 * t_psz] = 1;
	t_eq(pagescan_watch_reset(w, p, 32 * t_psz), 0);
	EXPECT(w, p, 0, "63");
	t_eq(pagescan_watch_reset(w, p, NP * t_psz), 0);

	/* Bad input changes nothing. */
	t_eq(pagescan_watch_reset(w, p + 1, t_psz), -EINVAL);
	t_eq(pagescan_watch_reset(w, p, (NP + 1) * t_psz), -EINVAL);
	t_eq(regions(w, p - t_psz, t_psz, 0, r, 4), -EINVAL);
	t_eq(regions(w, p, t_psz, 4, r, 4), -EINVAL);
	t_eq(pagescan_watch_register(p + 8 * t_psz, t_psz, &wo, &w2), -EBUSY);
	t_eq(errno, EBUSY);
	t_eq(pagescan_watch_register(p - t_psz, 2 * t_psz, &wo, &w2), -EBUSY);
	t_eq(pagescan_watch_register(p + 1, t_psz, &wo, &w2), -EINVAL);

	/* A second watch, on shared memory. */
	ret = pagescan_watch_register(q, 8 * t_psz, &wo, &w2);
	if ((ret == -EINVAL || ret == -EOPNOTSUPP) &&
	    b == PAGESCAN_WATCH_UFFD_SYNC && kernel_before(5, 19)) {
		/* Write-protect on shmem came with 5.19 (WP_HUGETLBFS_SHMEM). */
		printf("%s: shmem not trackable by this kernel's uffd-wp\n",
		       name);
	} else if (b == PAGESCAN_WATCH_SOFT_DIRTY) {
		/* Refused, as pagescan_watch(3) says: a zap loses bit 55. */
		t_eq(ret, -EINVAL);
		if (!ret)
			pagescan_watch_unregister(w2);
	} else if (ret) {
		t_fail("%s: second watch on shmem: %s", name, strerror(-ret));
	} else {
		q[0] = 5;
		q[5 * t_psz] = 5;		/* never touched */
		p[2 * t_psz] = 5;
		n = regions(w2, q, 8 * t_psz, PAGESCAN_WATCH_RESET, r, 4);
		t_eq(n, 2);
		t_check(n == 2 && r[0].start == (uintptr_t)q &&
			r[1].start == (uintptr_t)q + 5 * t_psz,
			"%s: shmem pages", name);
		EXPECT(w, p, PAGESCAN_WATCH_RESET, "2");
		t_eq(pagescan_watch_unregister(w2), 0);
	}

	/* GetWriteWatch / ResetWriteWatch. */
	p[7 * t_psz] = 1;
	p[9 * t_psz] = 1;
	p[11 * t_psz] = 1;
	cnt = 2;
	gran = 0;
	t_eq(pagescan_get_write_watch(1, p, NP * t_psz, pages, &cnt, &gran),
	     0);
	t_eq(cnt, 2);
	t_eq(gran, t_psz);
	t_check(pages[0] == p + 7 * t_psz && pages[1] == p + 9 * t_psz,
		"%s: GetWriteWatch addresses", name);
	cnt = NP;
	t_eq(pagescan_get_write_watch(0, p + 11 * t_psz + 5, 10, pages, &cnt,
				      &gran), 0);	/* rounded to pages */
	t_eq(cnt, 1);
	t_eq(pagescan_reset_write_watch(p, NP * t_psz), 0);
	cnt = NP;
	t_eq(pagescan_get_write_watch(0, p, NP * t_psz, pages, &cnt, &gran),
	     0);
	t_eq(cnt, 0);
	cnt = NP;
	t_eq(pagescan_get_write_watch(2, p, t_psz, pages, &cnt, &gran),
	     -EINVAL);
	t_eq(pagescan_get_write_watch(0, p, (NP + 1) * t_psz, pages, &cnt,
				      &gran), -EINVAL);
	t_eq(pagescan_reset_write_watch(q, t_psz), -EINVAL);

	t_eq(pagescan_watch_unregister(w), 0);
	w_state_check(&before, p, NP * t_psz, name);
	no_wp_bits(p, NP * t_psz, name);
	/* The memory is ordinary again: writable, contents intact. */
	p[30 * t_psz] = 9;
	t_check(p[7 * t_psz] == 1 && p[40 * t_psz + 1] == 3,
		"%s: contents changed", name);
	free(before.maps);

	/* munmap of a watched range, then unregister. */
	w_state_get(&before, q, t_psz);
	t_eq(pagescan_watch_register(p, NP * t_psz, &wo, &w), 0);
	p[5 * t_psz] = 1;
	munmap(p, NP * t_psz);
	n = regions(w, p, NP * t_psz, PAGESCAN_WATCH_RESET, r, 4);
	t_check(n >= 0, "%s: get after munmap: %s", name, strerror(-n));
	t_eq(pagescan_watch_unregister(w), 0);
	w_state_check(&before, q, t_psz, "after munmap");
	free(before.maps);
	munmap(q, 8 * t_psz);
}

/* Verify mode: a write the mechanism cannot see must fail loudly. */
static void verify_mode(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_MPROTECT,
		.flags = PAGESCAN_WATCH_VERIFY);
	struct pagescan_region r[4];
	struct pagescan_watch *w;
	void *page = NULL;
	uint64_t cnt = 0;
	char *p;
	int fd, n;

	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	/*
	 * Written before register: the forced write below then lands in
	 * the page as it is.  Into an empty page it would put a new page
	 * there, unwritten, which the audit reports (watch_audit.c).
	 */
	t_touch(p, 8 * t_psz);
	t_eq(pagescan_watch_register(p, 8 * t_psz, &wo, &w), 0);
	p[t_psz] = 1;
	n = regions(w, p, 8 * t_psz, PAGESCAN_WATCH_RESET, r, 4);
	t_eq(n, 1);
	t_eq(pagescan_watch_verify_failure(w, NULL, NULL), 0);
	/*
	 * /proc/self/mem writes through a read-only private mapping with
	 * FOLL_FORCE: no SIGSEGV, so the mprotect backend cannot see it.
	 */
	fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0 || pwrite(fd, "x", 1, (off_t)(uintptr_t)(p + 3 * t_psz)) != 1)
		t_error("write /proc/self/mem");
	close(fd);
	n = regions(w, p, 8 * t_psz, PAGESCAN_WATCH_RESET, r, 4);
	if (n == 1 && r[0].start == (uint64_t)(uintptr_t)(p + 3 * t_psz)) {
		/*
		 * Seen after all: 5.10 makes a forced write by copying the
		 * page, and as root the audit sees its new frame.
		 */
		printf("verify: the forced write was reported (its page "
		       "was copied): nothing for verify mode to catch\n");
	} else {
		t_eq(n, -EIO);
		t_eq(pagescan_watch_verify_failure(w, &page, &cnt), 1);
		t_check(page == p + 3 * t_psz,
			"verify: first page %p, expected %p", page,
			(void *)(p + 3 * t_psz));
		t_eq(cnt, 1);
	}
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, 8 * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	const char *why;
	int n, i;

	t_init("watch-api");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend available");
	/* The best backend this kernel offers must be the one picked. */
	if (!getenv("PAGESCAN_WATCH_BACKEND")) {
		struct pagescan_watch *w;
		char *p = t_map(t_psz, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);

		t_eq(pagescan_watch_register(p, t_psz, NULL, &w), 0);
		t_eq(pagescan_watch_backend(w), bs[0]);
		printf("auto: %s\n", pagescan_watch_reason(w));
		pagescan_watch_unregister(w);

		/* A bad environment value is named, with the valid ones. */
		setenv("PAGESCAN_WATCH_BACKEND", "bogus", 1);
		errno = 0;
		t_eq(pagescan_watch_register(p, t_psz, NULL, &w), -EINVAL);
		t_eq(errno, EINVAL);
		t_check(pagescan_last_error() &&
			strstr(pagescan_last_error(),
			       "PAGESCAN_WATCH_BACKEND=bogus") &&
			strstr(pagescan_last_error(), "mprotect"),
			"bad PAGESCAN_WATCH_BACKEND: %s",
			pagescan_last_error() ? pagescan_last_error() : "(none)");
		unsetenv("PAGESCAN_WATCH_BACKEND");
		/* A forced backend that cannot run says why. */
		for (i = 1; i < PAGESCAN_WATCH__COUNT; i++) {
			PAGESCAN_OPTS(pagescan_watch_opts, fo, .backend = i);

			if (pagescan_watch_available(i, &why) != 0)
				continue;
			t_eq(pagescan_watch_register(p, t_psz, &fo, &w),
			     -EOPNOTSUPP);
			t_check(pagescan_last_error() &&
				strstr(pagescan_last_error(), why),
				"forced %s: %s", pagescan_watch_backend_name(i),
				pagescan_last_error() ?
				pagescan_last_error() : "(none)");
		}
		munmap(p, t_psz);
	}
	t_eq(pagescan_watch_available(PAGESCAN_WATCH_AUTO, &why), -EINVAL);
	for (i = 0; i < n; i++) {
		one_backend(bs[i]);
		thp(bs[i]);
	}
	verify_mode();
	t_done();
}
