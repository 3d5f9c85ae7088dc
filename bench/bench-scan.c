// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What the iterator costs over the bare ioctl, and what both cost next to
 * reading the same pagemap entries with pread().  A 1 GiB private anonymous
 * mapping with every Nth page written, scanned for PRESENT pages:
 *   raw-ioctl   ioctl(PAGEMAP_SCAN) looped on walk_end, 512-entry vec
 *   iterator    pagescan_foreach()
 *   pread       8 bytes per page of /proc/self/pagemap, 2 MiB at a time
 * Every row names the kernel and the backend; median of 5 runs.
 */
#include "internal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>

#define SIZE (UINT64_C(1) << 30)
#define RUNS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t regions_seen;

static int count(const struct pagescan_region *r, void *ctx)
{
	regions_seen++;
	return 0;
}

static double run_raw(int fd, char *p)
{
	static struct page_region vec[512];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)p + SIZE, .vec = (uintptr_t)vec,
		.vec_len = 512, .category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	double t = now();
	int n;

	regions_seen = 0;
	do {
		n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -1;
		regions_seen += (uint64_t)n;
		a.start = a.walk_end;
	} while (n == 512 && a.walk_end < a.end);
	return now() - t;
}

static double run_iter(struct pagescan *ps, char *p)
{
	struct pagescan_scan_opts o = {
		.sz = sizeof(o), .category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	double t = now();

	regions_seen = 0;
	if (pagescan_foreach(ps, (uintptr_t)p, (uintptr_t)p + SIZE, &o, count,
			     NULL))
		return -1;
	return now() - t;
}

static double run_pread(int fd, char *p)
{
	static uint64_t buf[512];
	uint64_t off = (uintptr_t)p / ps_pagesz() * 8, end = off + SIZE /
		       ps_pagesz() * 8, present = 0;
	double t = now();
	size_t i;

	for (; off < end; off += sizeof(buf)) {
		if (pread(fd, buf, sizeof(buf), (off_t)off) != sizeof(buf))
			return -1;
		for (i = 0; i < 512; i++)
			present += buf[i] >> 63;
	}
	regions_seen = present;
	return now() - t;
}

int main(void)
{
	static const unsigned int every[] = { 0, 512, 64, 2, 1 };
	struct utsname u;
	struct pagescan *ps;
	unsigned int i, r;
	int fd;

	uname(&u);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pagescan_open(0, NULL, &ps))
		return 1;
	printf("# bench-scan: 1 GiB anonymous, scan for PRESENT; median of %d "
	       "runs\n", RUNS);
	printf("%-16s %-8s %-10s %-10s %10s %10s %8s\n", "kernel", "backend",
	       "written", "method", "ms", "regions", "vs-pread");
	for (i = 0; i < ARRAY_SIZE(every); i++) {
		char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		double t[3][RUNS], med[3];
		uint64_t regs[3] = { 0 };
		char label[32];
		uint64_t off;

		if (p == MAP_FAILED)
			return 1;
		madvise(p, SIZE, MADV_NOHUGEPAGE);
		if (every[i])
			for (off = 0; off < SIZE; off += every[i] * ps_pagesz())
				p[off] = 1;
		for (r = 0; r < RUNS; r++) {
			t[0][r] = run_raw(fd, p);
			regs[0] = regions_seen;
			t[1][r] = run_iter(ps, p);
			regs[1] = regions_seen;
			t[2][r] = run_pread(fd, p);
			regs[2] = regions_seen;
		}
		for (r = 0; r < 3; r++) {
			qsort(t[r], RUNS, sizeof(double), cmp);
			med[r] = t[r][RUNS / 2];
		}
		if (every[i])
			snprintf(label, sizeof(label), "1/%u", every[i]);
		else
			snprintf(label, sizeof(label), "none");
		printf("%-16s %-8s %-10s %-10s %10.3f %10llu %7.2fx\n",
		       u.release, "native", label, "raw-ioctl", med[0] * 1e3,
		       (unsigned long long)regs[0], med[0] / med[2]);
		printf("%-16s %-8s %-10s %-10s %10.3f %10llu %7.2fx\n",
		       u.release, pagescan_backend_name(pagescan_backend(ps)),
		       label, "iterator", med[1] * 1e3,
		       (unsigned long long)regs[1], med[1] / med[2]);
		printf("%-16s %-8s %-10s %-10s %10.3f %10llu %7.2fx\n",
		       u.release, "-", label, "pread", med[2] * 1e3,
		       (unsigned long long)regs[2], 1.0);
		munmap(p, SIZE);
	}
	pagescan_close(ps);
	return 0;
}
