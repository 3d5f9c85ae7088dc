// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a fault the uffd-sync handler cannot resolve does not hang
 * the writer, does not make the handler spin and is not a miss.  The
 * handler resolves a fault with UFFDIO_ZEROPAGE or UFFDIO_COPY (missing
 * page) or UFFDIO_WRITEPROTECT (un-protect); if those fail for good
 * (ENOMEM when a memory cgroup is full and nothing can be killed, EFAULT
 * on a mapping whose file is too short), waking the writer only made it
 * fault again, for ever: the writer hung and the handler thread ran at
 * 100 % (measured on 6.18 before the fix: this test's children killed by
 * their alarm).  Such failures are injected here by this program's own
 * ioctl(), which the library's calls reach: the chosen requests fail
 * with ENOMEM.  Each case runs in a child with an alarm.  Expected: the
 * write completes, the handler is idle afterwards, the get reports the
 * page (and the rest of the range: over-reported), and once the kernel
 * resolves faults again a get-and-reset tracks the range exactly again.
 */
#include "watch-common.h"

#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define NP 16

enum { FAIL_FILL = 1, FAIL_UNPROTECT = 2 };
static _Atomic int inject;
static _Atomic int injected;

/* The system call itself: the VM lane links statically (no dlsym). */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (((inject & FAIL_FILL) &&
	     (req == UFFDIO_ZEROPAGE || req == UFFDIO_COPY)) ||
	    ((inject & FAIL_UNPROTECT) && req == UFFDIO_WRITEPROTECT &&
	     !(((struct uffdio_writeprotect *)arg)->mode &
	       UFFDIO_WRITEPROTECT_MODE_WP))) {
		injected++;
		errno = ENOMEM;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static bool has(void **pg, int n, const void *p)
{
	int i;

	for (i = 0; i < n; i++)
		if (pg[i] == p)
			return true;
	return false;
}

static int which;	/* the case the child runs */

/*
 * 0: a store to a never-populated page, filling fails;
 * 1: read(2) into a never-populated page, filling fails;
 * 2: a store to a populated, armed page, un-protecting fails.
 */
static int child(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		      .backend = PAGESCAN_WATCH_UFFD_SYNC);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	struct pagescan_watch *w;
	void *pg[NP];
	double c0, c1;
	char *p;
	int n, pfd[2];

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	if (which == 2)
		memset(p, 1, NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("register");
	inject = which == 2 ? FAIL_UNPROTECT : FAIL_FILL;
	if (which == 1) {
		if (pipe(pfd) || write(pfd[1], "xyz", 3) != 3)
			t_error("pipe");
		t_check(read(pfd[0], p + 5 * t_psz + 8, 3) == 3,
			"read(2) into the page: %s", strerror(errno));
	} else {
		p[5 * t_psz + 8] = 7;
	}
	t_check(p[5 * t_psz + 8] == (which == 1 ? 'x' : 7),
		"the write did not land");
	t_check(injected > 0, "no failure was injected");
	/* The handler gave up on it: idle, not spinning. */
	c0 = cpu_seconds();
	usleep(300000);
	c1 = cpu_seconds();
	t_check(c1 - c0 < 0.1, "%.2f s of CPU in 0.3 s: the handler spins",
		c1 - c0);
	/* Stores while the kernel keeps failing still land. */
	p[9 * t_psz] = 3;
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "get: %s", strerror(-n));
	t_check(n >= 0 && has(pg, n, p + 5 * t_psz) &&
		has(pg, n, p + 9 * t_psz),
		"the writes are not reported (%d pages)", n);
	/* The kernel resolves faults again: tracking comes back. */
	inject = 0;
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "get: %s", strerror(-n));
	p[11 * t_psz] = 4;
	p[12 * t_psz] = 4;
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n == 2 && has(pg, n, p + 11 * t_psz) &&
		has(pg, n, p + 12 * t_psz),
		"not tracked again: %d pages reported for 2 written", n);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
	return t_failures ? 1 : 0;
}

int main(void)
{
	static const char *const what[] = {
		"store, filling fails", "read(2), filling fails",
		"store, un-protecting fails",
	};
	const char *why = "";

	t_init("watch-uffd-fail");
	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_SYNC, &why) != 1)
		t_skip("uffd-sync unavailable here: %s", why);
	for (which = 0; which < 3; which++)
		t_child_ok(what[which], t_child(child, 20));
	t_done();
}
