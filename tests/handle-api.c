// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the handle API's argument handling: pagescan_open() with
 * a NULL out, a negative pid, opts too small (-EINVAL), larger with a
 * non-zero tail (-E2BIG) or a zero tail (accepted), a bad backend value;
 * pagescan_close(NULL); no descriptor leaked by open/close; the handle
 * accessors; pagescan_scan() with bad arguments and opts; category names
 * and parsing; the version functions.
 */
#include "scan-common.h"

#include <dirent.h>

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		t_error("opendir");
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

struct big_open_opts {
	struct pagescan_open_opts o;
	uint64_t extra[4];
};

int main(void)
{
	struct pagescan *ps = NULL;
	struct pagescan_region r[4];
	struct big_open_opts big;
	int n, i, fds;
	unsigned int b;
	char *p;

	t_init("handle-api");
	sc_need_scan();
	p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, 4 * t_psz);

	errno = 0;
	n = pagescan_open(0, NULL, NULL);
	t_check(n == -EINVAL && errno == EINVAL, "open NULL out: %d", n);
	n = pagescan_open(-1, NULL, &ps);
	t_check(n == -EINVAL && errno == EINVAL && !ps, "open pid -1: %d", n);
	{
		struct pagescan_open_opts o = { .sz = 4 };

		n = pagescan_open(0, &o, &ps);
		t_check(n == -EINVAL, "opts sz 4: %d", n);
		o.sz = 0;
		n = pagescan_open(0, &o, &ps);
		t_check(n == -EINVAL, "opts sz 0: %d", n);
		o.sz = sizeof(o);
		o.backend = (enum pagescan_backend)7;
		n = pagescan_open(0, &o, &ps);
		t_check(n == -EINVAL, "backend 7: %d", n);
		o.backend = PAGESCAN_BACKEND_AUTO;
		o.tid = -3;
		n = pagescan_open(0, &o, &ps);
		t_check(n == -EINVAL, "tid -3: %d", n);
		/* An older caller: only sz and tid. */
		o.tid = 0;
		o.sz = offsetof(struct pagescan_open_opts, backend);
		n = pagescan_open(0, &o, &ps);
		t_check(n == 0, "short opts (sz and tid only): %d", n);
		pagescan_close(ps);
		ps = NULL;
	}
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	n = pagescan_open(0, &big.o, &ps);
	t_check(n == 0, "larger opts, zero tail: %d", n);
	pagescan_close(ps);
	ps = NULL;
	big.extra[3] = 1;
	errno = 0;
	n = pagescan_open(0, &big.o, &ps);
	t_check(n == -E2BIG && errno == E2BIG && !ps,
		"larger opts, non-zero tail: %d", n);

	/* Close NULL, keep errno. */
	errno = 1234;
	pagescan_close(NULL);
	t_eq(errno, 1234);

	/* No fd leak over many open/close (self and by pid). */
	fds = count_fds();
	for (i = 0; i < 200; i++) {
		n = pagescan_open(i % 2 ? 0 : getpid(), NULL, &ps);
		if (n) {
			t_fail("open %d: %d", i, n);
			break;
		}
		pagescan_close(ps);
	}
	t_eq(count_fds(), fds);
	{
		PAGESCAN_OPTS(pagescan_open_opts, o, .tid = 999999999);

		n = pagescan_open(0, &o, &ps);
		t_check(n == -ESRCH, "bogus tid: %d", n);
		t_eq(count_fds(), fds);
	}

	/* Accessors. */
	n = pagescan_open(0, NULL, &ps);
	if (n)
		t_error("open");
	t_eq(pagescan_pid(ps), getpid());
	t_check(pagescan_fd(ps) >= 0, "pagescan_fd %d", pagescan_fd(ps));
	t_eq(pagescan_backend(ps), PAGESCAN_BACKEND_NATIVE);
	t_check(pagescan_pid(NULL) == -EINVAL, "pid(NULL)");
	t_check(pagescan_fd(NULL) == -EINVAL, "fd(NULL)");
	/* The handle's fd serves pagescan_ioctl(). */
	{
		struct pm_scan_arg a = t_arg(p, p + 4 * t_psz,
					     (struct page_region *)r, 4, 0, 0,
					     0, 0, 0, SC_ALL);

		n = pagescan_ioctl(pagescan_fd(ps), &a);
		t_check(n == 1 && r[0].categories == 0xa,
			"ioctl on pagescan_fd: %d", n);
	}

	/* pagescan_scan() arguments. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o, .return_mask = SC_ALL);
		struct { struct pagescan_scan_opts o; uint64_t x[2]; } bo;

		n = pagescan_scan(NULL, (uintptr_t)p, (uintptr_t)p + t_psz, r,
				  4, &o);
		t_check(n == -EINVAL && errno == EINVAL, "scan NULL: %d", n);
		n = pagescan_scan(ps, (uintptr_t)p, (uintptr_t)p + 4 * t_psz,
				  r, 4, NULL);
		t_check(n == 1 && r[0].categories == 0, "scan NULL opts: %d",
			n);
		o.sz = 3;
		n = pagescan_scan(ps, (uintptr_t)p, (uintptr_t)p + t_psz, r,
				  4, &o);
		t_check(n == -EINVAL, "scan opts sz 3: %d", n);
		memset(&bo, 0, sizeof(bo));
		bo.o.sz = sizeof(bo);
		bo.o.return_mask = SC_ALL;
		n = pagescan_scan(ps, (uintptr_t)p, (uintptr_t)p + t_psz, r,
				  4, &bo.o);
		t_check(n == 1 && bo.o.walk_end == (uintptr_t)p + t_psz,
			"scan larger opts zero tail: %d", n);
		bo.x[1] = 5;
		n = pagescan_scan(ps, (uintptr_t)p, (uintptr_t)p + t_psz, r,
				  4, &bo.o);
		t_check(n == -E2BIG, "scan larger opts non-zero tail: %d", n);
		/* An old caller without walk_end: still scans. */
		o.sz = offsetof(struct pagescan_scan_opts, walk_end);
		n = pagescan_scan(ps, (uintptr_t)p, (uintptr_t)p + t_psz, r,
				  4, &o);
		t_check(n == 1, "scan short opts: %d", n);
	}
	pagescan_close(ps);

	/* Names. */
	{
		static const char *const names[] = {
			"wpallowed", "written", "file", "present", "swapped",
			"pfnzero", "huge", "soft-dirty", "guard",
		};

		for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
			const char *s = pagescan_category_name(b);

			t_check(s && !strcmp(s, names[b]), "name of bit %u: %s",
				b, s ? s : "NULL");
			t_eq(pagescan_category_parse(names[b]),
			     UINT64_C(1) << b);
		}
		t_check(!pagescan_category_name(9), "bit 9 has a name");
		t_check(!pagescan_category_name(~0U), "bit ~0 has a name");
		t_eq(pagescan_category_parse("WRITTEN"), PAGE_IS_WRITTEN);
		t_eq(pagescan_category_parse("softdirty"), PAGE_IS_SOFT_DIRTY);
		t_eq(pagescan_category_parse("soft_dirty"), PAGE_IS_SOFT_DIRTY);
		errno = 0;
		t_eq(pagescan_category_parse("bogus"), -EINVAL);
		t_eq(errno, EINVAL);
		t_eq(pagescan_category_parse(""), -EINVAL);
		t_eq(pagescan_category_parse(NULL), -EINVAL);
		t_eq(pagescan_category_parse("written "), -EINVAL);
		t_check(!strcmp(pagescan_backend_name(PAGESCAN_BACKEND_NATIVE),
				"native"), "backend name");
		t_check(!pagescan_backend_name((enum pagescan_backend)9),
			"backend 9 has a name");
	}
	t_eq(pagescan_version_major(), PAGESCAN_VERSION_MAJOR);
	t_eq(pagescan_version_minor(), PAGESCAN_VERSION_MINOR);
	t_done();
}
