// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the deterministic memory layout that the pagescan command
 * is tested (and demonstrated) on.  Run without arguments it builds the
 * layout in itself and checks it twice, independently of PAGEMAP_SCAN:
 * against what it did, and against /proc/self/pagemap and smaps; then it
 * checks that the library's scan counts the same.
 *
 *   cli-layout.t                  the self-test (exit 0/1/77)
 *   cli-layout.t --hold [--swap] [--demo]
 *                                 build the layout, print one JSON line
 *                                 (pid, regions, expected counts from
 *                                 pagemap/smaps), wait for stdin EOF or a
 *                                 signal; --swap adds a swapped region on
 *                                 a temporary swap file (root), removed at
 *                                 exit; --demo also grows a region slowly
 *                                 (something for "pagescan watch" to see)
 *   cli-layout.t --sparse --hold  64 GiB reserved (NORESERVE), 4 MiB
 *                                 touched in 8 places
 *   cli-layout.t --many N --hold  N one-page regions: every other page of
 *                                 2N pages read (the zero page where the
 *                                 kernel maps it, so 1M regions are cheap)
 *   cli-layout.t --write-watch    for make demo: the write-watch API on a
 *                                 buffer of its own, three rounds
 */
#include "helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

enum { E_PRESENT, E_SWAPPED, E_FILE, E_ZERO, E_HUGE, E_GUARD, E__N };
static const char *const e_names[E__N] = {
	"present", "swapped", "file", "zero", "huge", "guard",
};

struct region {
	const char *name;
	char *p;
	size_t pages;
	uint64_t want[E__N];	/* what the layout did */
	uint64_t seen[E__N];	/* pagemap and smaps say */
	bool exact;		/* want must equal seen */
};

#define NREG 8
static struct region reg[NREG];
static int nreg;
static char *area;
static size_t area_len;
static char file_path[128];
static char *grow;
static size_t grow_pages, grow_done;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void cleanup_file(void)
{
	char dir[128];

	if (!file_path[0])
		return;
	unlink(file_path);
	snprintf(dir, sizeof(dir), "%s", file_path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static struct region *add(const char *name, size_t off_pages, size_t pages)
{
	struct region *r = &reg[nreg++];

	r->name = name;
	r->p = area + off_pages * t_psz;
	r->pages = pages;
	r->exact = true;
	return r;
}

static char *anon_at(struct region *r, const char *vma_name)
{
	char *p = mmap(r->p, r->pages * t_psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		t_error("mmap %s: %s", r->name, strerror(errno));
	/* The name is cosmetic ([anon:...]); kernels without it are fine. */
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p,
	      r->pages * t_psz, (unsigned long)vma_name);
	return p;
}

/* Count from /proc/self/pagemap: present, swapped, file, guard. */
static void pagemap_count(struct region *r)
{
	static uint64_t e[65536];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t i, j, n;

	if (fd < 0)
		t_error("open pagemap: %s", strerror(errno));
	for (i = 0; i < r->pages; i += n) {
		off_t off = (off_t)((uintptr_t)r->p / t_psz + i) * 8;

		n = r->pages - i < 65536 ? r->pages - i : 65536;
		if (pread(fd, e, n * 8, off) != (ssize_t)(n * 8))
			t_error("pread pagemap: %s", strerror(errno));
		for (j = 0; j < n; j++) {
			/* Bit 58: guard region (6.15+); that is no swap. */
			if (e[j] & (UINT64_C(1) << 58)) {
				r->seen[E_GUARD]++;
				continue;
			}
			if (e[j] & (UINT64_C(1) << 63))
				r->seen[E_PRESENT]++;
			if (e[j] & (UINT64_C(1) << 62))
				r->seen[E_SWAPPED]++;
			if ((e[j] & (UINT64_C(1) << 61)) &&
			    (e[j] & (UINT64_C(1) << 63)))
				r->seen[E_FILE]++;
		}
	}
	close(fd);
}

/* AnonHugePages of the mapping at @p, in base pages. */
static uint64_t smaps_thp(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false;
	uint64_t kb = 0;

	if (!f)
		t_error("smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		/* "AnonHugePages:" parses as one hex digit, not two. */
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			in = a == (uintptr_t)p;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %" SCNu64, &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024 / t_psz;
}

static size_t many;

static void build(bool swap, bool sparse)
{
	const size_t huge = 2 << 20;
	bool zero = pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) == 1;
	struct region *r;
	size_t i;
	int fd;

	if (many) {
		area_len = 2 * many * t_psz;
		/* 8 GiB for a million: a 2 GiB VM must not refuse it. */
		area = t_map(area_len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
		madvise(area, area_len, MADV_NOHUGEPAGE);
		r = add("many", 0, 2 * many);
		for (i = 0; i < many; i++)
			(void)*(volatile char *)(area + 2 * i * t_psz);
		r->want[E_PRESENT] = many;
		r->want[E_ZERO] = zero ? many : 0;
		return;
	}
	if (sparse) {
		area_len = (size_t)64 << 30;
		area = mmap(NULL, area_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (area == MAP_FAILED)
			t_error("mmap 64 GiB: %s", strerror(errno));
		madvise(area, area_len, MADV_NOHUGEPAGE);
		r = add("sparse", 0, area_len / t_psz);
		for (i = 0; i < 8; i++)
			t_touch(area + i * (area_len / 8) + 12345 * t_psz,
				512 << 10);
		r->want[E_PRESENT] = 8 * (512 << 10) / t_psz;
		/* A second 64 GiB, never accessible: a reservation. */
		r = add("reserved", 0, area_len / t_psz);
		r->p = mmap(NULL, area_len, PROT_NONE, MAP_PRIVATE |
			    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r->p == MAP_FAILED)
			t_error("mmap 64 GiB PROT_NONE: %s", strerror(errno));
		return;
	}

	/* One reservation, carved up with gaps so that nothing merges. */
	area_len = 32 << 20;
	area = t_map_aligned(area_len, huge, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS);

	r = add("anon", 1, 64);
	anon_at(r, "pagescan-anon");
	madvise(r->p, r->pages * t_psz, MADV_NOHUGEPAGE);
	t_touch(r->p, 40 * t_psz);
	r->want[E_PRESENT] = 40;

	r = add("file", 80, 32);
	{
		char dir[] = "/var/tmp/pagescan-layout.XXXXXX";
		char buf[4096];

		if (!mkdtemp(dir))
			t_error("mkdtemp: %s", strerror(errno));
		snprintf(file_path, sizeof(file_path), "%s/layout.dat", dir);
		atexit(cleanup_file);
		fd = open(file_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644);
		if (fd < 0)
			t_error("%s: %s", file_path, strerror(errno));
		memset(buf, 'p', sizeof(buf));
		for (i = 0; i < r->pages * t_psz / sizeof(buf); i++)
			if (write(fd, buf, sizeof(buf)) != sizeof(buf))
				t_error("write: %s", strerror(errno));
		if (mmap(r->p, r->pages * t_psz, PROT_READ,
			 MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
			t_error("mmap file: %s", strerror(errno));
		close(fd);
		/* All of it: fault-around maps cached neighbours anyway. */
		t_read(r->p, r->pages * t_psz);
		r->want[E_PRESENT] = r->want[E_FILE] = r->pages;
	}

	r = add("shmem", 120, 16);
	fd = memfd_create("pagescan-shmem", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(r->pages * t_psz)))
		t_error("memfd: %s", strerror(errno));
	if (mmap(r->p, r->pages * t_psz, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		t_error("mmap memfd: %s", strerror(errno));
	close(fd);
	/* Write faults on shared mappings do no fault-around. */
	t_touch(r->p, 10 * t_psz);
	r->want[E_PRESENT] = r->want[E_FILE] = 10;

	r = add("zero", 140, 16);
	anon_at(r, "pagescan-zero");
	madvise(r->p, r->pages * t_psz, MADV_NOHUGEPAGE);
	t_read(r->p, r->pages * t_psz);
	r->want[E_PRESENT] = 16;
	r->want[E_ZERO] = zero ? 16 : 0;

	r = add("guard", 160, 16);
	anon_at(r, "pagescan-guard");
	madvise(r->p, r->pages * t_psz, MADV_NOHUGEPAGE);
	t_touch(r->p, r->pages * t_psz);
	if (!madvise(r->p + 4 * t_psz, 4 * t_psz, MADV_GUARD_INSTALL)) {
		r->want[E_GUARD] = 4;
		r->want[E_PRESENT] = 12;
	} else {
		r->want[E_PRESENT] = 16;
	}

	/* 2 MiB-aligned, 4 MiB: room for two PMD-mapped THPs. */
	r = add("thp", 1024, 1024);
	anon_at(r, "pagescan-thp");
	madvise(r->p, r->pages * t_psz, MADV_HUGEPAGE);
	t_touch(r->p, r->pages * t_psz);
	r->want[E_PRESENT] = r->pages;
	/* Whether the kernel found huge pages is its business: ask smaps. */
	r->want[E_HUGE] = smaps_thp(r->p);
	r->exact = false;

	if (swap) {
		int ret = t_swap_on(64);

		if (ret)
			fprintf(stderr, "no swap file: %s\n", strerror(-ret));
		r = add("swapped", 3072, 32);
		anon_at(r, "pagescan-swapped");
		madvise(r->p, r->pages * t_psz, MADV_NOHUGEPAGE);
		t_touch(r->p, r->pages * t_psz);
		r->want[E_PRESENT] = r->pages;
		if (!ret && !madvise(r->p, r->pages * t_psz, MADV_PAGEOUT)) {
			/* Reclaim decides how many go: count them after. */
			r->exact = false;
		}
	}

	if (grow_pages) {
		r = add("grow", 4096, grow_pages);
		grow = anon_at(r, "pagescan-grow");
		madvise(r->p, r->pages * t_psz, MADV_NOHUGEPAGE);
		r->exact = false;
	}
}

static void count_all(void)
{
	int i;

	for (i = 0; i < nreg; i++) {
		struct region *r = &reg[i];

		memset(r->seen, 0, sizeof(r->seen));
		pagemap_count(r);
		/* pagemap cannot tell the zero page. */
		r->seen[E_ZERO] = r->want[E_ZERO];
		/* Before 6.15 pagemap has no guard bit (58). */
		if (pagescan_probe(PAGESCAN_FEAT_PAGEMAP_GUARD_BIT) != 1)
			r->seen[E_GUARD] = r->want[E_GUARD];
		r->seen[E_HUGE] = !strcmp(r->name, "thp") ?
				  smaps_thp(r->p) : 0;
		if (!r->exact) {
			/* Reclaim and THP are the kernel's choice. */
			r->want[E_PRESENT] = r->seen[E_PRESENT];
			r->want[E_SWAPPED] = r->seen[E_SWAPPED];
			r->want[E_HUGE] = r->seen[E_HUGE];
		}
	}
}

static void print_json(void)
{
	int i, k;

	printf("{\"pid\":%d,\"page_size\":%lu,\"file\":\"%s\",\"regions\":[",
	       (int)getpid(), t_psz, file_path);
	for (i = 0; i < nreg; i++) {
		struct region *r = &reg[i];

		printf("%s{\"name\":\"%s\",\"start\":\"%#lx\",\"end\":\"%#lx\","
		       "\"pages\":%zu,\"expect\":{", i ? "," : "", r->name,
		       (unsigned long)(uintptr_t)r->p,
		       (unsigned long)(uintptr_t)(r->p + r->pages * t_psz),
		       r->pages);
		for (k = 0; k < E__N; k++)
			printf("%s\"%s\":%" PRIu64, k ? "," : "", e_names[k],
			       r->want[k]);
		printf("}}");
	}
	printf("]}\n");
	fflush(stdout);
}

/* What the library's scan says: it must agree with pagemap. */
static void check_library(struct region *r)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o);
	struct pagescan_region v[64];
	struct pagescan_iter *it;
	struct pagescan *ps;
	uint64_t got[E__N] = { 0 };
	int n, i;

	for (i = 0; i < PAGESCAN_CAT_COUNT; i++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		if (!pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + i,
					   &fi) &&
		    fi.support != PAGESCAN_UNAVAILABLE)
			o.return_mask |= UINT64_C(1) << i;
	}
	if (pagescan_open(0, NULL, &ps))
		t_error("pagescan_open");
	if (pagescan_iter_new(ps, (uintptr_t)r->p,
			      (uintptr_t)r->p + r->pages * t_psz, &o, &it))
		t_error("pagescan_iter_new");
	while ((n = pagescan_iter_next(it, v, 64)) > 0) {
		for (i = 0; i < n; i++) {
			uint64_t c = v[i].categories;
			uint64_t np = (v[i].end - v[i].start) / t_psz;

			if (c & PAGESCAN_CAT_GUARD) {
				got[E_GUARD] += np;
				continue;
			}
			if (c & PAGESCAN_CAT_PRESENT)
				got[E_PRESENT] += np;
			if (c & PAGESCAN_CAT_SWAPPED)
				got[E_SWAPPED] += np;
			if (c & PAGESCAN_CAT_FILE)
				got[E_FILE] += np;
			if (c & PAGESCAN_CAT_PFNZERO)
				got[E_ZERO] += np;
			if ((c & PAGESCAN_CAT_HUGE) &&
			    (c & PAGESCAN_CAT_PRESENT))
				got[E_HUGE] += np;
		}
	}
	if (n < 0)
		t_error("pagescan_iter_next: %s", strerror(-n));
	pagescan_iter_free(it);
	pagescan_close(ps);
	for (i = 0; i < E__N; i++) {
		static const enum pagescan_feature feat[E__N] = {
			PAGESCAN_FEAT_CAT_PRESENT, PAGESCAN_FEAT_CAT_SWAPPED,
			PAGESCAN_FEAT_CAT_FILE, PAGESCAN_FEAT_CAT_PFNZERO,
			PAGESCAN_FEAT_CAT_HUGE, PAGESCAN_FEAT_CAT_GUARD,
		};
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		/* What this kernel or the emulation cannot report. */
		if (pagescan_feature_info(feat[i], &fi) ||
		    fi.support == PAGESCAN_UNAVAILABLE)
			continue;
		if (i == E_GUARD &&
		    pagescan_probe(PAGESCAN_FEAT_CAT_GUARD) != 1)
			continue;
		t_check(got[i] == r->want[i], "%s: library %s %" PRIu64
			", layout %" PRIu64, r->name, e_names[i], got[i],
			r->want[i]);
	}
}

static void hold(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[256];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop) {
		int ret = poll(&pfd, 1, grow ? 200 : -1);

		if (ret > 0) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n <= 0)
				break;
		}
		if (ret == 0 && grow && grow_done < grow_pages) {
			/* --demo: something for watch to see. */
			size_t n = grow_pages / 16;

			t_touch(grow + grow_done * t_psz, n * t_psz);
			grow_done += n;
		}
	}
	/* exit(): the swap file and the data file are removed at exit. */
}

static void ww_round(struct pagescan_watch *w, char *buf, size_t pages,
		     const char *what)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region v[16];
	int n, i;

	n = pagescan_watch_get_regions(w, buf, pages * t_psz, v, 16, &go);
	if (n < 0)
		t_error("pagescan_watch_get_regions: %s", strerror(-n));
	printf("  %-34s -> %" PRIu64 " written page%s:", what, go.pages,
	       go.pages == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		uint64_t a = (v[i].start - (uintptr_t)buf) / t_psz;
		uint64_t e = (v[i].end - (uintptr_t)buf) / t_psz - 1;

		if (a == e)
			printf(" %" PRIu64, a);
		else
			printf(" %" PRIu64 "-%" PRIu64, a, e);
	}
	printf("%s\n", n ? " (page numbers)" : "");
}

/* make demo: what the write-watch API reports for known writes. */
static int write_watch_demo(void)
{
	const size_t pages = 64;
	struct pagescan_watch *w;
	char *buf;
	int ret;

	buf = t_map(pages * t_psz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(buf, pages * t_psz);
	ret = pagescan_watch_register(buf, pages * t_psz, NULL, &w);
	if (ret) {
		printf("  write watch unavailable: %s\n", strerror(-ret));
		return 0;
	}
	printf("  write watch on %zu pages of its own memory, backend %s "
	       "(%s)\n", pages,
	       pagescan_watch_backend_name(pagescan_watch_backend(w)),
	       pagescan_watch_reason(w));
	buf[0] = buf[t_psz] = buf[2 * t_psz] = buf[10 * t_psz] = 1;
	ww_round(w, buf, pages, "wrote pages 0, 1, 2 and 10");
	memset(buf + 40 * t_psz, 2, 8 * t_psz);
	buf[5 * t_psz + 17] = 3;
	ww_round(w, buf, pages, "wrote page 5 and pages 40-47");
	(void)*(volatile char *)(buf + 3 * t_psz);
	ww_round(w, buf, pages, "only read page 3");
	pagescan_watch_unregister(w);
	return 0;
}

int main(int argc, char **argv)
{
	bool do_hold = false, swap = false, sparse = false;
	int i, k;

	t_init("cli-layout");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			do_hold = true;
		else if (!strcmp(argv[i], "--swap"))
			swap = true;
		else if (!strcmp(argv[i], "--sparse"))
			sparse = true;
		else if (!strcmp(argv[i], "--many") && i + 1 < argc)
			many = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--demo"))
			grow_pages = 1024;
		else if (!strcmp(argv[i], "--write-watch"))
			return write_watch_demo();
		else
			t_error("unknown argument %s", argv[i]);
	}
	build(swap, sparse);
	count_all();
	/* make demo: the summary's header names the demonstration. */
	if (grow_pages)
		prctl(PR_SET_NAME, "pagescan-demo", 0, 0, 0);
	if (do_hold) {
		print_json();
		hold();
		return 0;
	}
	for (i = 0; i < nreg; i++) {
		struct region *r = &reg[i];

		for (k = 0; k < E__N; k++)
			t_check(r->want[k] == r->seen[k],
				"%s: %s: did %" PRIu64 ", pagemap says %"
				PRIu64, r->name, e_names[k], r->want[k],
				r->seen[k]);
		check_library(r);
	}
	t_done();
}
