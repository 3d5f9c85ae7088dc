// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a MAP_PRIVATE mapping of /dev/zero is anonymous memory
 * (the kernel makes it so; /proc/PID/maps still names the file and its
 * inode), and every backend sees its writes: the first write to a page
 * never touched, to one only read, to one written before register, a
 * write by a system call (read(2) into it), and a write after
 * MADV_DONTNEED emptied the page table again.  uffd-sync once took it for
 * a file (it has an inode) and registered it without MISSING mode: every
 * first write to an empty PTE was lost; it cannot serve one there (the
 * kernel refuses to fill a page of it) and now refuses it with EINVAL.
 */
#include "watch-common.h"

#include <fcntl.h>

#define NP 16

static void run(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	static const int wrote[] = { 0, 1, 2, 5, 9 };
	struct pagescan_watch *w;
	void *pg[NP];
	bool seen[NP];
	int fd, pfd[2], i, n, ret;
	char *p;
	volatile char sink;

	fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		t_error("/dev/zero");
	p = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap /dev/zero");
	close(fd);
	sink = p[1 * t_psz];		/* read: the zero page */
	p[2 * t_psz] = 3;		/* written before register */
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret == -EINVAL) {
		/* Allowed, if it says why. */
		printf("%s: refuses private /dev/zero: %s\n", name,
		       pagescan_last_error());
		munmap(p, NP * t_psz);
		return;
	}
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));
	sink = p[7 * t_psz];		/* read after register */
	(void)sink;
	for (i = 0; i < (int)(sizeof(wrote) / sizeof(wrote[0])) - 1; i++)
		p[wrote[i] * t_psz + 11] = 0x5a;
	/*
	 * A system call's copy-out into a page never touched (mprotect:
	 * EFAULT, as pagescan_watch(3) says; a plain store there).
	 */
	if (b == PAGESCAN_WATCH_MPROTECT) {
		p[9 * t_psz] = 'x';
		pfd[0] = pfd[1] = -1;
	} else if (pipe(pfd) || write(pfd[1], "x", 1) != 1 ||
		   read(pfd[0], p + 9 * t_psz, 1) != 1) {
		t_error("%s: pipe read into the range", name);
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}

	memset(seen, 0, sizeof(seen));
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "%s: get: %s", name, strerror(-n));
	for (i = 0; i < n; i++)
		seen[((char *)pg[i] - p) / t_psz] = true;
	for (i = 0; i < (int)(sizeof(wrote) / sizeof(wrote[0])); i++)
		t_check(seen[wrote[i]], "%s: the write to page %d of private "
			"/dev/zero was lost", name, wrote[i]);

	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"%s: verify mode found an unreported change", name);

	/*
	 * Discarded, so empty again: the next write is a first write.  The
	 * discard itself is watch-discard's business (verify mode may
	 * report it: EIO).
	 */
	if (madvise(p, NP * t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0 || n == -EIO, "%s: get: %s", name, strerror(-n));
	p[4 * t_psz] = 1;
	p[9 * t_psz] = 1;
	memset(seen, 0, sizeof(seen));
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "%s: get: %s", name, strerror(-n));
	for (i = 0; i < n; i++)
		seen[((char *)pg[i] - p) / t_psz] = true;
	t_check(seen[4] && seen[9], "%s: a write after MADV_DONTNEED was "
		"lost (page 4 %d, page 9 %d)", name, seen[4], seen[9]);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-devzero");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		run(bs[i]);
	}
	t_done();
}
