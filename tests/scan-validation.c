// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: argument validation of PAGEMAP_SCAN (contract section 3):
 * the errno of every check, their order when several fail, walk_end left
 * alone on every validation failure, and the odd cases that pass
 * validation (start == end, unaligned end, an unmapped vec).  The raw
 * ioctl, pagescan_ioctl() and pagescan_scan() must agree on each.
 */
#include "scan-common.h"

#include <sys/syscall.h>

/* x86-64 with 4-level paging: one past the last user page. */
#define BIG	(UINT64_C(1) << 47)

static char *p;
static struct page_region v[16];

static struct pm_scan_arg base(void)
{
	return t_arg(p, p + 8 * t_psz, v, 16, 0, 0, 0, 0, 0,
		     SC_ALL);
}

/* A raw + pagescan_ioctl comparison on another fd (no handle form). */
static void two_way(int fd, struct pm_scan_arg *a, int want_ret,
		    int want_err, const char *what)
{
	struct pm_scan_arg a1 = *a, a2 = *a;
	int e1, e2, r1, r2;

	a1.walk_end = a2.walk_end = SC_POISON_WE;
	r1 = t_ioctl(fd, &a1, &e1);
	r2 = t_pioctl(fd, &a2, &e2);
	if (r1 != want_ret || e1 != want_err)
		t_fail("%s: raw ret %d errno %d, expected %d errno %d", what,
		       r1, e1, want_ret, want_err);
	if (r2 != r1 || e2 != e1 || a2.walk_end != a1.walk_end)
		t_fail("%s: pagescan_ioctl ret %d errno %d walk_end %#" PRIx64
		       " vs raw %d %d %#" PRIx64, what, r2, e2,
		       (uint64_t)a2.walk_end, r1, e1, (uint64_t)a1.walk_end);
	*a = a1;
}

static void masks(uint64_t bit, const char *name)
{
	static const char *const field[] = { "inverted", "mask", "anyof",
					     "return_mask" };
	char what[96];
	int i;

	for (i = 0; i < 4; i++) {
		struct pm_scan_arg a = base();
		__u64 *f = &a.category_inverted;

		f[i] |= bit;
		snprintf(what, sizeof(what), "%s in %s", name, field[i]);
		sc_expect_err(sc_run(&a, true, what), EINVAL, SC_POISON_WE,
			      what);
	}
}

int main(void)
{
	uintptr_t P;
	struct pm_scan_arg a;
	struct sc_res r;
	int fd, e1, e2, r1, r2;
	char path[64];

	t_init("scan-validation");
	sc_need_scan();
	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	t_touch(p, 8 * t_psz);

	/* Row 1: the struct itself cannot be read. */
	errno = 0;
	r1 = ioctl(t_pagemap_fd(), PAGEMAP_SCAN, (void *)0x10);
	e1 = errno;
	errno = 0;
	r2 = pagescan_ioctl(t_pagemap_fd(), (struct pm_scan_arg *)0x10);
	e2 = errno;
	t_check(r1 == -1 && e1 == EFAULT, "raw arg 0x10: %d %d", r1, e1);
	t_check(r2 == -1 && e2 == EFAULT, "pagescan_ioctl arg 0x10: %d %d",
		r2, e2);
	errno = 0;
	r2 = pagescan_ioctl(t_pagemap_fd(), NULL);
	t_check(r2 == -1 && errno == EFAULT, "pagescan_ioctl NULL arg: %d %d",
		r2, errno);

	/* Row 2: size must be exactly 96. */
	a = base(); a.size = 95;
	sc_expect_err(sc_run(&a, true, "size 95"), EINVAL, SC_POISON_WE,
		      "size 95");
	a = base(); a.size = 97;
	sc_expect_err(sc_run(&a, true, "size 97"), EINVAL, SC_POISON_WE,
		      "size 97");
	a = base(); a.size = 0;
	sc_expect_err(sc_run(&a, true, "size 0"), EINVAL, SC_POISON_WE,
		      "size 0");

	/* Row 3: unknown flags. */
	a = base(); a.flags = 4;
	sc_expect_err(sc_run(&a, true, "flags 4"), EINVAL, SC_POISON_WE,
		      "flags 4");
	a = base(); a.flags = UINT64_C(1) << 63;
	sc_expect_err(sc_run(&a, true, "flags 1<<63"), EINVAL, SC_POISON_WE,
		      "flags 1<<63");

	/* Row 4: category bits outside 0x1ff (6.16+), in each mask. */
	masks(UINT64_C(1) << 9, "bit 9");
	masks(UINT64_C(1) << 63, "bit 63");
	if (pagescan_probe(PAGESCAN_FEAT_CAT_GUARD) == 1) {
		a = base(); a.return_mask = PAGE_IS_GUARD;
		sc_expect(sc_run(&a, true, "GUARD accepted"), 1, P + 8 * t_psz,
			  "GUARD accepted");
	}

	/* Row 6: unaligned start. */
	a = base(); a.start += 1;
	sc_expect_err(sc_run(&a, true, "unaligned start"), EINVAL,
		      SC_POISON_WE, "unaligned start");

	/* Row 7: start > end wraps and fails the range check. */
	a = base(); a.start = P + 8 * t_psz; a.end = P;
	sc_expect_err(sc_run(&a, true, "start > end"), EFAULT, SC_POISON_WE,
		      "start > end");
	/* The address limit (x86-64, 4-level paging). */
#if defined(__x86_64__)
	if (sysconf(_SC_PAGESIZE) == 4096 && (uintptr_t)p < BIG) {
		a = t_arg(NULL, NULL, v, 16, 0, 0, 0, PAGE_IS_PRESENT, 0,
			  SC_ALL);
		a.start = BIG - 64 * t_psz;
		a.end = BIG - t_psz;
		r = sc_run(&a, true, "end 0x7ffffffff000");
		t_check(r.ret >= 0 && r.walk_end == BIG - t_psz,
			"end 0x7ffffffff000: ret %d errno %d walk_end %#"
			PRIx64,
			r.ret, r.err, r.walk_end);
		a.end = BIG;
		sc_expect_err(sc_run(&a, true, "end 1<<47"), EFAULT,
			      SC_POISON_WE, "end 1<<47");
		a.end = BIG + t_psz;
		sc_expect_err(sc_run(&a, true, "end 1<<47 + page"), EFAULT,
			      SC_POISON_WE, "end 1<<47 + page");
		a.start = BIG + t_psz;
		a.end = BIG + 2 * t_psz;
		sc_expect_err(sc_run(&a, true, "start, end beyond"), EFAULT,
			      SC_POISON_WE, "start, end beyond");
		a.start = UINT64_MAX & ~(uint64_t)(t_psz - 1);
		a.end = UINT64_MAX;
		sc_expect_err(sc_run(&a, true, "start, end at 2^64"), EFAULT,
			      SC_POISON_WE, "start, end at 2^64");
	}
#endif

	/* Row 8: vec NULL with a length. */
	a = base(); a.vec = 0; a.vec_len = 1;
	sc_expect_err(sc_run(&a, false, "vec NULL len 1"), EINVAL,
		      SC_POISON_WE, "vec NULL len 1");
	/* Row 10: vec range check. */
	a = base(); a.vec_len = UINT64_C(1) << 60;
	sc_expect_err(sc_run(&a, false, "vec_len 1<<60"), EFAULT,
		      SC_POISON_WE, "vec_len 1<<60");
	a = base(); a.vec = UINT64_C(0xffff888000000000); a.vec_len = 1;
	sc_expect_err(sc_run(&a, false, "kernel vec"), EFAULT, SC_POISON_WE,
		      "kernel vec");
	a = base(); a.vec = ~UINT64_C(0); a.vec_len = 1;
	sc_expect_err(sc_run(&a, false, "vec ~0"), EFAULT, SC_POISON_WE,
		      "vec ~0 (the selftest's support probe)");

	/* Precedence: the first failing row wins. */
	a = base(); a.size = 95; a.flags = 4; a.start = P + 8 * t_psz + 1;
	a.end = P;
	sc_expect_err(sc_run(&a, true, "all bad"), EINVAL, SC_POISON_WE,
		      "size+flags+unaligned+reversed");
	a = base(); a.flags = 4; a.start = P + 8 * t_psz; a.end = P;
	sc_expect_err(sc_run(&a, true, "flags+reversed"), EINVAL,
		      SC_POISON_WE, "flags + start>end");
	a = base(); a.category_mask = 1 << 9; a.start += 1;
	sc_expect_err(sc_run(&a, true, "mask+unaligned"), EINVAL,
		      SC_POISON_WE, "mask + unaligned");
	a = base(); a.start = P + 8 * t_psz + 1; a.end = P;
	sc_expect_err(sc_run(&a, true, "unaligned+reversed"), EINVAL,
		      SC_POISON_WE, "unaligned + start>end");
	a = base(); a.start = P + 8 * t_psz; a.end = P; a.vec = 0;
	a.vec_len = 1;
	sc_expect_err(sc_run(&a, false, "reversed+vecnull"), EFAULT,
		      SC_POISON_WE, "start>end + vec NULL/len 1");
	a = base(); a.vec = 0; a.vec_len = UINT64_C(1) << 60;
	sc_expect_err(sc_run(&a, false, "vecnull+huge"), EINVAL,
		      SC_POISON_WE, "vec NULL + huge vec_len");
	a = base(); a.return_mask = 1 << 9;
	a.vec = UINT64_C(0xffff888000000000);
	sc_expect_err(sc_run(&a, false, "bit9+kvec"), EINVAL, SC_POISON_WE,
		      "bad category + kernel vec");

	/* Valid odd cases. */
	a = base(); a.end = a.start;
	sc_expect(sc_run(&a, true, "start == end"), 0, P, "start == end");
	a = base(); a.end = P + 1;
	r = sc_run(&a, true, "end = start+1");
	sc_expect(r, 1, P + t_psz, "end = start+1 (rounded up)");
	sc_region(v, 0, P, P + t_psz, 0xa, "end = start+1");
	a = base(); a.end = P + 3 * t_psz - 100;
	sc_expect(sc_run(&a, true, "unaligned end"), 1, P + 3 * t_psz,
		  "unaligned end");
	sc_region(v, 0, P, P + 3 * t_psz, 0xa, "unaligned end");
	a = base(); a.vec_len = 0;
	sc_expect(sc_run(&a, true, "vec, len 0"), 0, P + 8 * t_psz,
		  "vec != NULL, vec_len 0");
	a = base(); a.vec = 0; a.vec_len = 0;
	sc_expect(sc_run(&a, false, "vec NULL, len 0"), 0, P + 8 * t_psz,
		  "vec NULL, vec_len 0");
	a = base(); a.max_pages = ~UINT64_C(0);
	sc_expect(sc_run(&a, true, "max_pages ~0"), 1, P + 8 * t_psz,
		  "max_pages ~0");
	sc_region(v, 0, P, P + 8 * t_psz, 0xa, "max_pages ~0");

	/* An in-range but unmapped vec: EFAULT only when a region is due. */
	a = base(); a.vec = 0x1000; a.vec_len = 1;
	sc_expect_err(sc_run(&a, false, "unmapped vec"), EFAULT,
		      P + 8 * t_psz, "unmapped vec, regions found");
	a = base(); a.vec = 0x1000; a.vec_len = 1;
	a.category_mask = PAGE_IS_SWAPPED;
	sc_expect(sc_run(&a, false, "unmapped vec, no match"), 0,
		  P + 8 * t_psz, "unmapped vec, nothing matches");

	/* An entirely unmapped range. */
	munmap(p + 4 * t_psz, 4 * t_psz);
	a = base(); a.start = P + 4 * t_psz;
	sc_expect(sc_run(&a, true, "unmapped range"), 0, P + 8 * t_psz,
		  "unmapped range");
	a.flags = PM_SCAN_CHECK_WPASYNC;
	sc_expect(sc_run(&a, true, "unmapped range, CHECK_WPASYNC"), 0,
		  P + 8 * t_psz, "unmapped range, CHECK_WPASYNC");

	/* Other requests on a pagemap fd: EINVAL, not ENOTTY. */
	errno = 0;
	r1 = ioctl(t_pagemap_fd(), _IOWR('f', 17, struct pm_scan_arg), &a);
	t_check(r1 == -1 && errno == EINVAL, "unknown cmd: %d %d", r1, errno);
	errno = 0;
	r1 = ioctl(t_pagemap_fd(), _IOC(_IOC_READ | _IOC_WRITE, 'f', 16, 88),
		   &a);
	t_check(r1 == -1 && errno == EINVAL, "PAGEMAP_SCAN size 88: %d %d",
		r1, errno);

	/* PAGEMAP_SCAN on other files. */
	a = base(); a.end = P + 4 * t_psz;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("open maps");
	two_way(fd, &a, -1, ENOTTY, "maps");
	close(fd);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("open /dev/null");
	two_way(fd, &a, -1, ENOTTY, "/dev/null");
	close(fd);
	two_way(-1, &a, -1, EBADF, "fd -1");

	/* The per-thread pagemap serves the same mm. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/pagemap",
		 (int)syscall(SYS_gettid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("open %s", path);
	a = base(); a.end = P + 4 * t_psz;
	two_way(fd, &a, 1, 0, "task pagemap");
	t_eq(a.walk_end, P + 4 * t_psz);
	t_eq(v[0].start, P);
	t_eq(v[0].end, P + 4 * t_psz);
	close(fd);
	{
		PAGESCAN_OPTS(pagescan_open_opts, oo,
			      .tid = (pid_t)syscall(SYS_gettid));
		PAGESCAN_OPTS(pagescan_scan_opts, so, .category_mask = 0);
		struct pagescan *ps;
		struct pagescan_region pr[4];
		int n;

		n = pagescan_open(getpid(), &oo, &ps);
		t_check(n == 0, "pagescan_open(pid, tid): %d", n);
		if (!n) {
			n = pagescan_scan(ps, P, P + 4 * t_psz, pr, 4, &so);
			t_check(n == 1 && pr[0].start == P &&
				so.walk_end == P + 4 * t_psz,
				"scan via tid handle: %d", n);
			pagescan_close(ps);
		}
		n = pagescan_open(0, &oo, &ps);
		t_check(n == 0, "pagescan_open(0, tid): %d", n);
		if (!n)
			pagescan_close(ps);
		oo.tid = 999999999;
		n = pagescan_open(0, &oo, &ps);
		t_check(n == -ESRCH && errno == ESRCH,
			"pagescan_open(0, bogus tid): %d (expected -ESRCH)", n);
		if (!n)
			pagescan_close(ps);
	}
	t_done();
}
