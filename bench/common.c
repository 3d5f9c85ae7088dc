// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What the rows share: layouts, the floors (a chunked pread of pagemap,
 * the raw PAGEMAP_SCAN loop, the kernel's own smaps summary) and the
 * library calls they are held against.  Every scan asks the same thing
 * (BENCH_SCAN_ANYOF, BENCH_SCAN_RETURN) and counts the pages it found, so
 * that the harness can tell a fast answer from a right one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct pagescan_region bench_vec[BENCH_VEC];

/*
 * The pread floor's chunk: 256 KiB of entries (1 GiB of address space)
 * per call.  Measured on the 6.18 host, 256 KiB beats 64 KiB (more calls)
 * and 2 MiB (the buffer falls out of L2) on a 64 GiB range.
 */
#define PREAD_ENTRIES 32768
static uint64_t pread_buf[PREAD_ENTRIES];

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *bench_map(struct bench_run *run, uint64_t len, bool shared, bool thp)
{
	uint64_t align = 2 * MIB, extra = shared ? 0 : align;
	char *p, *a;

	p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
		 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
		 MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (extra) {
		/* 2 MiB-aligned, so that THP (or its absence) is exact. */
		a = (char *)(((uintptr_t)p + align - 1) &
			     ~(uintptr_t)(align - 1));
		if (a > p)
			munmap(p, (size_t)(a - p));
		if (a + len < p + len + extra)
			munmap(a + len, (size_t)(p + len + extra - (a + len)));
	}
	/* Explicit both ways: Debian's kernels default to THP "always". */
	madvise(a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	run->p = a;
	run->len = len;
	run->start = (uintptr_t)a;
	run->end = (uintptr_t)a + len;
	return a;
}

void bench_touch(struct bench_run *run, uint64_t first, uint64_t step,
		 uint64_t count)
{
	uint64_t i, pg = first, n = run->len / bench_cfg.psz;

	for (i = 0; i < count && pg < n; i++, pg += step)
		((volatile char *)run->p)[pg * bench_cfg.psz] = 1;
}

int bench_open(struct bench_run *run, enum pagescan_backend b)
{
	PAGESCAN_OPTS(pagescan_open_opts, o, .backend = b);
	const char *why;
	int ret;

	ret = pagescan_open(0, &o, &run->ps);
	if (ret < 0) {
		why = pagescan_last_error();
		return bench_na(run, "pagescan_open(%s): %s%s%s",
				pagescan_backend_name(b), strerror(-ret),
				why ? ": " : "", why ? why : "");
	}
	bench_backend(run, pagescan_backend_name(pagescan_backend(run->ps)));
	run->fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (run->fd < 0)
		return bench_na(run, "/proc/self/pagemap: %s", strerror(errno));
	return 0;
}

bool bench_has(enum pagescan_feature f)
{
	return pagescan_probe(f) == 1;
}

/* Pagemap's bits 63, 62, 61 (shifted down to 2, 1, 0) as categories. */
static uint64_t bits_to_cat(uint64_t b)
{
	return (b & 4 ? PAGESCAN_CAT_PRESENT : 0) |
	       (b & 2 ? PAGESCAN_CAT_SWAPPED : 0) |
	       (b & 1 ? PAGESCAN_CAT_FILE : 0);
}

void bench_tally_add(struct bench_tally *t, uint64_t start, uint64_t end,
		     uint64_t cat)
{
	if (t->regions && start == t->last_end && cat == t->last_cat) {
		t->last_end = end;
	} else {
		t->regions++;
		t->last_end = end;
		t->last_cat = cat;
	}
	t->pages += (end - start) >> bench_cfg.page_shift;
}

/*
 * The careful hand-written reader: pread the range's entries in large
 * chunks and build the same regions from bits 63 (present), 62 (swapped)
 * and 61 (file or shared), one run of equal bits at a time, so that a page
 * costs a load and a compare.
 */
int bench_pread_range(int fd, uint64_t start, uint64_t end,
		      struct bench_tally *t)
{
	uint64_t pg = start >> bench_cfg.page_shift, last = end >>
		      bench_cfg.page_shift, run = pg, cur = 0;
	unsigned int sh = bench_cfg.page_shift;

	while (pg < last) {
		uint64_t n = last - pg < PREAD_ENTRIES ? last - pg :
			     PREAD_ENTRIES, i;
		ssize_t got = pread(fd, pread_buf, n * 8, (off_t)(pg * 8));

		if (got < 0)
			return -errno;
		if ((uint64_t)got != n * 8)
			return -EIO;
		for (i = 0; i < n; i++) {
			/* The three bits, or 0 when neither 63 nor 62. */
			uint64_t e = pread_buf[i] >> 61;

			e = e > 1 ? e : 0;
			if (e == cur)
				continue;
			if (cur)
				bench_tally_add(t, run << sh, (pg + i) << sh,
						bits_to_cat(cur));
			cur = e;
			run = pg + i;
		}
		pg += n;
	}
	if (cur)
		bench_tally_add(t, run << sh, last << sh, bits_to_cat(cur));
	return 0;
}

/*
 * Count the @n regions a scan call left in bench_vec.  Returns whether the
 * scan goes on, and from where in *@next: from the end of the last region
 * when the vec came back full, because with more than 512 regions the
 * kernel's walk_end can be stale (the address of its last internal
 * restart), and a loop on walk_end alone would count the tail twice.
 */
static bool tally_vec(struct bench_tally *t, int n, uint64_t walk_end,
		      uint64_t *next)
{
	int i;

	for (i = 0; i < n; i++)
		bench_tally_add(t, bench_vec[i].start, bench_vec[i].end,
				bench_vec[i].categories);
	if (n < BENCH_VEC)
		return false;
	*next = walk_end > bench_vec[n - 1].end ? walk_end :
		bench_vec[n - 1].end;
	return true;
}

/* The loop a caller of the bare ioctl writes (see tally_vec()). */
int bench_raw_scan_range(int fd, uint64_t start, uint64_t end,
			 uint64_t anyof, uint64_t ret, struct bench_tally *t)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .end = end,
		.vec = (uintptr_t)bench_vec, .vec_len = BENCH_VEC,
		.category_anyof_mask = anyof, .return_mask = ret,
	};
	int n;

	do {
		a.start = start;
		n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
	} while (tally_vec(t, n, a.walk_end, &start) && start < end);
	return 0;
}

double op_pread(struct bench_run *run, uint64_t *check)
{
	struct bench_tally t = { 0 };
	double t0 = bench_now();
	int ret = bench_pread_range(run->fd, run->start, run->end, &t);

	if (ret < 0)
		return bench_fail(run, "pread pagemap: %s", strerror(-ret));
	*check = t.pages;
	return bench_now() - t0;
}

double op_raw_scan(struct bench_run *run, uint64_t *check)
{
	struct bench_tally t = { 0 };
	double t0 = bench_now();
	int ret = bench_raw_scan_range(run->fd, run->start, run->end,
				       BENCH_SCAN_ANYOF, BENCH_SCAN_RETURN, &t);

	if (ret < 0)
		return bench_fail(run, "PAGEMAP_SCAN: %s", strerror(-ret));
	*check = t.pages;
	return bench_now() - t0;
}

ssize_t bench_read_file(const char *path, char **text)
{
	static char *buf;
	static size_t cap;
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap * 2 + 65536);

			if (!nb) {
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap * 2 + 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (n < 0)
		return -errno;
	buf[len] = 0;
	*text = buf;
	return (ssize_t)len;
}

bool bench_smaps_next(char **pos, uint64_t *start, uint64_t *end,
		      uint64_t *kib)
{
	unsigned long long a, b, v;
	bool have = false, head;
	char *line, *next;

	*kib = 0;
	for (line = *pos; line && *line; line = next) {
		/* One line at a time: sscanf() measures all it is given. */
		next = strchr(line, '\n');
		if (next)
			*next = 0;
		/* A mapping's first line: "start-end perms ..." in hex. */
		head = sscanf(line, "%llx-%llx ", &a, &b) == 2 &&
		       strchr(line, '-') < strchr(line, ' ');
		if (head && have) {
			if (next)
				*next = '\n';
			*pos = line;
			return true;
		}
		if (next)
			next++;
		if (head) {
			*start = a;
			*end = b;
			have = true;
		} else if (sscanf(line, "Rss: %llu kB", &v) == 1 ||
			   sscanf(line, "Swap: %llu kB", &v) == 1) {
			*kib += v;
		}
	}
	*pos = NULL;
	return have;
}

/*
 * The kernel's own summary of the process: /proc/self/smaps, read once
 * (the kernel walks only the page tables that exist to sum Rss and Swap).
 * Its check is the Rss + Swap of the mappings inside the range, in pages.
 */
double op_smaps(struct bench_run *run, uint64_t *check)
{
	double t0 = bench_now();
	uint64_t s, e, kib, total = 0;
	char *text, *pos;
	ssize_t n = bench_read_file("/proc/self/smaps", &text);

	if (n < 0)
		return bench_fail(run, "/proc/self/smaps: %s", strerror(-n));
	for (pos = text; bench_smaps_next(&pos, &s, &e, &kib);)
		if (s >= run->start && e <= run->end)
			total += kib;
	*check = total * KIB / bench_cfg.psz;
	return bench_now() - t0;
}

/* pagescan_scan() looped as the raw ioctl is (see bench_raw_scan_range). */
double op_lib_scan(struct bench_run *run, uint64_t *check)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN);
	struct bench_tally t = { 0 };
	uint64_t start = run->start;
	double t0 = bench_now();
	int n;

	do {
		n = pagescan_scan(run->ps, start, run->end, bench_vec,
				  BENCH_VEC, &o);
		if (n < 0)
			return bench_fail(run, "pagescan_scan: %s",
					  strerror(-n));
	} while (tally_vec(&t, n, o.walk_end, &start) && start < run->end);
	*check = t.pages;
	return bench_now() - t0;
}

/* pagescan_ioctl() in the same loop: the drop-in replacement. */
double op_lib_ioctl(struct bench_run *run, uint64_t *check)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .end = run->end,
		.vec = (uintptr_t)bench_vec, .vec_len = BENCH_VEC,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN,
	};
	struct bench_tally t = { 0 };
	uint64_t start = run->start;
	double t0 = bench_now();
	int n;

	do {
		a.start = start;
		n = pagescan_ioctl(run->fd, &a);
		if (n < 0)
			return bench_fail(run, "pagescan_ioctl: %s",
					  strerror(errno));
	} while (tally_vec(&t, n, a.walk_end, &start) && start < run->end);
	*check = t.pages;
	return bench_now() - t0;
}

double op_lib_iter(struct bench_run *run, uint64_t *check)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN);
	struct bench_tally t = { 0 };
	struct pagescan_iter *it;
	double t0 = bench_now();
	uint64_t next;
	int n;

	n = pagescan_iter_new(run->ps, run->start, run->end, &o, &it);
	if (n < 0)
		return bench_fail(run, "pagescan_iter_new: %s", strerror(-n));
	while ((n = pagescan_iter_next(it, bench_vec, BENCH_VEC)) > 0)
		tally_vec(&t, n, 0, &next);
	pagescan_iter_free(it);
	if (n < 0)
		return bench_fail(run, "pagescan_iter_next: %s", strerror(-n));
	*check = t.pages;
	return bench_now() - t0;
}
