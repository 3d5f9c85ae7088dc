// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What the PAGEMAP_SCAN emulation costs next to merely reading the same
 * pagemap entries, and next to the native ioctl.  Private anonymous
 * mappings of 64 MiB, 256 MiB and 1 GiB, sparse (every 16th page
 * written) and dense (every page), and dense shared anonymous (shmem,
 * which makes the emulation read smaps instead of maps), scanned for
 * PRESENT pages with return_mask PRESENT|WRITTEN (where available),
 * looping on walk_end with a 4096-entry vec (512 for the native ioctl,
 * whose walk_end is stale after its internal flushes):
 *   emulate   emu_scan()
 *   pread     pread() of the range's pagemap entries, 256 KiB at a time
 *   native    ioctl(PAGEMAP_SCAN), where the kernel has it
 * Every row names the kernel and the backend; median of 5 runs; the ratio
 * is against pread.
 */
#include "internal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>

#define RUNS 5
#define VEC 4096

static struct page_region vec[VEC];
static uint64_t *pmbuf;

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

/* Regions found, or -errno. */
static long scan_loop(int fd, char *p, size_t size, bool native)
{
	uint64_t ret_mask = PAGE_IS_PRESENT |
			    (emu_categories() & PAGE_IS_WRITTEN);
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)p + size, .vec = (uintptr_t)vec,
		.vec_len = native ? 512 : VEC, .category_mask = PAGE_IS_PRESENT,
		.return_mask = ret_mask,
	};
	long total = 0;
	int n;

	do {
		if (native) {
			n = ioctl(fd, PAGEMAP_SCAN, &a);
			if (n < 0)
				return -errno;
		} else {
			n = emu_scan(fd, getpid(), &a);
			if (n < 0)
				return n;
		}
		total += n;
		a.start = a.walk_end;
	} while (a.walk_end < a.end);
	return total;
}

static long pread_all(int fd, char *p, size_t size)
{
	size_t psz = ps_pagesz(), n = size / psz, i, chunk = 32768;
	long present = 0;

	for (i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk, j;

		if (sys_pread_full(fd, pmbuf, k * 8,
				   (off_t)(((uintptr_t)p / psz + i) * 8)) !=
		    (ssize_t)(k * 8))
			return -EIO;
		for (j = 0; j < k; j++)
			present += (long)(pmbuf[j] >> 63);
	}
	return present;
}

int main(void)
{
	static const size_t sizes[] = { 64 << 20, 256 << 20, 1 << 30 };
	size_t psz = ps_pagesz(), s, i;
	struct utsname u;
	bool native = ps_native_scan() == 1;
	int fd, step, r;

	uname(&u);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	pmbuf = malloc(32768 * 8);
	if (fd < 0 || !pmbuf)
		return 1;
	printf("%-22s %-8s %8s %-6s %9s %8s %7s\n", "kernel", "backend",
	       "size", "layout", "ms", "regions", "x pread");
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (step = 16; step >= 0; step -= step == 16 ? 15 : 1) {
			size_t size = sizes[s];
			int kind = step ? MAP_PRIVATE : MAP_SHARED;
			char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				       kind | MAP_ANONYMOUS | MAP_NORESERVE,
				       -1, 0);
			double t[3][RUNS], med[3];
			long found[3] = { 0, 0, 0 };
			static const char *const names[3] = {
				"pread", "emulate", "native",
			};

			if (p == MAP_FAILED)
				return 1;
			madvise(p, size, MADV_NOHUGEPAGE);
			for (i = 0; i < size;
			     i += psz * (size_t)(step ? step : 1))
				p[i] = 1;
			for (r = 0; r < RUNS; r++) {
				double t0 = now();

				found[0] = pread_all(fd, p, size);
				t[0][r] = now() - t0;
				t0 = now();
				found[1] = scan_loop(fd, p, size, false);
				t[1][r] = now() - t0;
				if (native) {
					t0 = now();
					found[2] = scan_loop(fd, p, size,
							     true);
					t[2][r] = now() - t0;
				}
			}
			for (i = 0; i < 3; i++) {
				qsort(t[i], RUNS, sizeof(double), cmp);
				med[i] = t[i][RUNS / 2];
			}
			for (i = 0; i < 3; i++) {
				if (i == 2 && !native)
					continue;
				printf("%-22s %-8s %5zu MiB %-6s %9.2f %8ld "
				       "%7.2f\n", u.release, names[i],
				       size >> 20,
				       step > 1 ? "sparse" : step ? "dense" :
				       "shmem",
				       med[i] * 1e3, found[i],
				       med[i] / med[0]);
			}
			munmap(p, size);
		}
	}
	if (!native)
		printf("%-22s native   (no PAGEMAP_SCAN on this kernel)\n",
		       u.release);
	close(fd);
	return 0;
}
