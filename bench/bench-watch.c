// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What a write watch costs, per backend available here:
 *   first-write  the fault a write to an armed page costs, populated and
 *                never-populated pages (64 MiB, one byte per page), next
 *                to the same writes with no watch;
 *   get-reset    pagescan_watch_get_regions(RESET) over 1 GiB with 0, 1,
 *                10 and 100 % of the pages written (random pages), next
 *                to the floor: the raw PAGEMAP_SCAN ioctl loop doing the
 *                same work (WRITTEN masks + WP_MATCHING, 512-entry vec)
 *                on the same uffd-async range and the same pattern.
 * Every row names the kernel and the backend.  Best of RUNS for
 * get-reset (one run for the slow backends).  Not asserted.
 */
#include "internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>

#define GIB (UINT64_C(1) << 30)
#define FW_SIZE (UINT64_C(64) << 20)
#define RUNS 3

static const char *kernel;
static size_t psz;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *map(uint64_t len, bool populate)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS |
		       (populate ? MAP_POPULATE : 0), -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);	/* the same for every backend */
	return p;
}

static double touch_ns(char *p, uint64_t len)
{
	double t = now();
	uint64_t a;

	for (a = 0; a < len; a += psz)
		((volatile char *)p)[a] = 1;
	return (now() - t) * 1e9 / (double)(len / psz);
}

static void first_write(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, o, .backend = b);
	struct pagescan_watch *w;
	double pop, unpop;
	char *p;

	p = map(FW_SIZE, true);
	if (b != PAGESCAN_WATCH_AUTO &&
	    pagescan_watch_register(p, FW_SIZE, &o, &w)) {
		perror("register");
		exit(1);
	}
	pop = touch_ns(p, FW_SIZE);
	if (b != PAGESCAN_WATCH_AUTO)
		pagescan_watch_unregister(w);
	munmap(p, FW_SIZE);

	p = map(FW_SIZE, false);
	if (b != PAGESCAN_WATCH_AUTO &&
	    pagescan_watch_register(p, FW_SIZE, &o, &w)) {
		perror("register");
		exit(1);
	}
	unpop = touch_ns(p, FW_SIZE);
	if (b != PAGESCAN_WATCH_AUTO)
		pagescan_watch_unregister(w);
	munmap(p, FW_SIZE);
	printf("%-14s %-11s first-write  populated %8.0f ns/page   "
	       "never-populated %8.0f ns/page\n", kernel,
	       b == PAGESCAN_WATCH_AUTO ? "none" :
	       pagescan_watch_backend_name(b), pop, unpop);
}

/* Write pct % of the pages of p, chosen by a fixed random sequence. */
static void dirty(char *p, uint64_t len, unsigned int pct)
{
	uint64_t n = len / psz, i, s = 88172645463325252ULL;

	if (pct == 100) {
		for (i = 0; i < n; i++)
			((volatile char *)p)[i * psz]++;
		return;
	}
	for (i = 0; i < n * pct / 100; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		((volatile char *)p)[(s % n) * psz]++;
	}
}

static struct pagescan_region vec[4096];

static double lib_reset(struct pagescan_watch *w, char *p, uint64_t len,
			uint64_t *pages)
{
	uint64_t pos = (uintptr_t)p, end = pos + len;
	double t = now();

	*pages = 0;
	while (pos < end) {
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = PAGESCAN_WATCH_RESET);

		if (pagescan_watch_get_regions(w, (void *)(uintptr_t)pos,
					       end - pos, vec, 4096, &o) < 0) {
			perror("get");
			exit(1);
		}
		*pages += o.pages;
		pos = o.next;
	}
	return now() - t;
}

/* The floor: the loop any caller of the bare ioctl would write. */
static double raw_reset(int fd, char *p, uint64_t len)
{
	uint64_t pos = (uintptr_t)p, end = pos + len;
	struct page_region r[512];
	double t = now();

	while (pos < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING,
			.start = pos, .end = end, .vec = (uintptr_t)r,
			.vec_len = 512, .category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int n = ioctl(fd, PAGEMAP_SCAN, &a);

		if (n < 0) {
			perror("PAGEMAP_SCAN");
			exit(1);
		}
		pos = n == 512 ? a.walk_end : end;
	}
	return now() - t;
}

static void get_reset(enum pagescan_watch_backend b)
{
	static const unsigned int pcts[] = { 0, 1, 10, 100 };
	PAGESCAN_OPTS(pagescan_watch_opts, o, .backend = b);
	bool async = b == PAGESCAN_WATCH_UFFD_ASYNC;
	int runs = async ? RUNS : 1, fd = -1;
	struct pagescan_watch *w;
	unsigned int i;
	char *p;

	p = map(GIB, true);
	if (pagescan_watch_register(p, GIB, &o, &w)) {
		perror("register");
		exit(1);
	}
	if (async)
		fd = open("/proc/self/pagemap", O_RDONLY);
	for (i = 0; i < ARRAY_SIZE(pcts); i++) {
		double best = 1e9, floor = 1e9, t;
		uint64_t pages = 0;
		int r;

		for (r = 0; r < runs; r++) {
			dirty(p, GIB, pcts[i]);
			t = lib_reset(w, p, GIB, &pages);
			best = t < best ? t : best;
			if (!async)
				continue;
			dirty(p, GIB, pcts[i]);
			t = raw_reset(fd, p, GIB);
			floor = t < floor ? t : floor;
		}
		if (async)
			printf("%-14s %-11s get-reset 1GiB %3u%% %7" PRIu64
			       " pages %9.3f ms   floor (raw ioctl) %9.3f ms"
			       "  %+6.1f%%\n", kernel,
			       pagescan_watch_backend_name(b), pcts[i], pages,
			       best * 1e3, floor * 1e3,
			       (best / floor - 1) * 100);
		else
			printf("%-14s %-11s get-reset 1GiB %3u%% %7" PRIu64
			       " pages %9.3f ms\n", kernel,
			       pagescan_watch_backend_name(b), pcts[i], pages,
			       best * 1e3);
	}
	if (fd >= 0)
		close(fd);
	pagescan_watch_unregister(w);
	munmap(p, GIB);
}

int main(int argc, char **argv)
{
	static struct utsname u;
	int b;

	uname(&u);
	kernel = u.release;
	psz = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# bench-watch: first-write fault cost (64 MiB) and "
	       "get-and-reset over 1 GiB\n");
	first_write(PAGESCAN_WATCH_AUTO);
	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
		const char *why;

		if (pagescan_watch_available(b, &why) != 1) {
			printf("%-14s %-11s unavailable: %s\n", kernel,
			       pagescan_watch_backend_name(b), why);
			continue;
		}
		first_write(b);
	}
	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++)
		if (pagescan_watch_available(b, NULL) == 1)
			get_reset(b);
	return 0;
}
