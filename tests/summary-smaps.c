// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: pagescan_summary() counts what /proc/PID/smaps counts.  The
 * test builds every kind of memory it can (anonymous, a private file
 * mapping with copied-on-write pages, memfd and shared anonymous shmem, a
 * /dev/shm file, zero-page reads, THP, hugetlb, guard pages, swapped pages,
 * uffd-wp markers on untouched memory), forks a child that holds still,
 * and checks every mapping of the child (Rss, Anonymous, Swap,
 * AnonHugePages + Shmem/FilePmdMapped, *_Hugetlb, and Rss - Anonymous as
 * file plus shmem) and the totals against smaps_rollup; then its own
 * layout (the markers live only in the process that registered them).
 * The expected numbers are the kernel's, never the library's.
 */
#include "helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#define TMPFS_MAGIC 0x01021994

/* One mapping of smaps, in bytes. */
struct sm {
	uint64_t start, end;
	uint64_t rss, anon, swap, thp, hugetlb;
};

struct rec {
	uint64_t start, end;
	uint32_t flags;
	uint64_t b[PAGESCAN_STAT_SLOTS];
};

#define MAXMAPS 4096
static struct sm sm[MAXMAPS];
static struct rec rec[MAXMAPS];
static size_t nsm, nrec;

/* The layout's mappings whose kind the test knows. */
enum kind { K_ANON, K_FILE, K_SHMEM, K_ZERO, K_THP, K_HUGETLB, K_GUARD,
	    K_SWAP, K_MARKER };
struct mine {
	const char *what;
	enum kind kind;
	char *p;
	size_t len;
	uint64_t guard;		/* bytes made guard pages */
};
static struct mine mine[16];
static int nmine;

static void add_mine(const char *what, enum kind k, void *p, size_t len)
{
	mine[nmine++] = (struct mine){ what, k, p, len, 0 };
}

static uint64_t kb(const char *line, const char *key)
{
	size_t l = strlen(key);
	unsigned long long v;

	if (strncmp(line, key, l) || line[l] != ':')
		return UINT64_MAX;
	if (sscanf(line + l + 1, " %llu kB", &v) != 1)
		return UINT64_MAX;
	return (uint64_t)v * 1024;
}

/* A "start-end perms ..." header line of smaps. */
static bool header(const char *line, uint64_t *a, uint64_t *e)
{
	unsigned long long x, y;
	int n = 0;

	if (sscanf(line, "%llx-%llx %*4s %n", &x, &y, &n) < 2 || !n)
		return false;
	*a = x;
	*e = y;
	return true;
}

static void add_key(struct sm *m, const char *line)
{
	uint64_t v;

	if ((v = kb(line, "Rss")) != UINT64_MAX)
		m->rss += v;
	else if ((v = kb(line, "Anonymous")) != UINT64_MAX)
		m->anon += v;
	else if ((v = kb(line, "Swap")) != UINT64_MAX)
		m->swap += v;
	else if ((v = kb(line, "AnonHugePages")) != UINT64_MAX ||
		 (v = kb(line, "ShmemPmdMapped")) != UINT64_MAX ||
		 (v = kb(line, "FilePmdMapped")) != UINT64_MAX)
		m->thp += v;
	else if ((v = kb(line, "Shared_Hugetlb")) != UINT64_MAX ||
		 (v = kb(line, "Private_Hugetlb")) != UINT64_MAX)
		m->hugetlb += v;
}

/* Read the smaps of @pid into sm[] (preallocated: nothing moves). */
static void read_smaps(pid_t pid)
{
	static char line[4096];
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		t_error("%s: %s", path, strerror(errno));
	nsm = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t a, e;

		if (header(line, &a, &e)) {
			if (nsm == MAXMAPS)
				t_error("more than %d mappings", MAXMAPS);
			memset(&sm[nsm], 0, sizeof(sm[nsm]));
			sm[nsm].start = a;
			sm[nsm].end = e;
			nsm++;
		} else if (nsm) {
			add_key(&sm[nsm - 1], line);
		}
	}
	fclose(f);
}

static void read_rollup(pid_t pid, struct sm *r)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		t_error("%s: %s", path, strerror(errno));
	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), f))
		add_key(r, line);
	fclose(f);
}

static int keep(const struct pagescan_mapping *m, void *ctx)
{
	struct rec *r;

	t_check(m->sz >= sizeof(*m), "record sz %zu", m->sz);
	if (nrec == MAXMAPS)
		return -ENOSPC;
	r = &rec[nrec++];
	r->start = m->start;
	r->end = m->end;
	r->flags = m->flags;
	memcpy(r->b, m->bytes, sizeof(r->b));
	return 0;
}

static int summarise(pid_t pid, struct pagescan_summary *s)
{
	struct pagescan *ps;
	int ret;

	ret = pagescan_open(pid, NULL, &ps);
	if (ret)
		t_error("pagescan_open(%d): %s", (int)pid, strerror(-ret));
	nrec = 0;
	memset(s, 0, sizeof(*s));
	s->sz = sizeof(*s);
	ret = pagescan_summary(ps, 0, UINT64_MAX, NULL, keep, NULL, s);
	pagescan_close(ps);
	return ret;
}

static const struct mine *mine_at(uint64_t a)
{
	int i;

	for (i = 0; i < nmine; i++)
		if ((uintptr_t)mine[i].p == a)
			return &mine[i];
	return NULL;
}

#define B(r, s) ((r)->b[PAGESCAN_STAT_##s])

/* The counts smaps has for one mapping, against one record. */
static void compare(const char *who, const struct sm *m, const struct rec *r,
		    const struct pagescan_summary *s)
{
	const struct mine *k = mine_at(m->start);
	bool exact = !(s->approximate & (UINT64_C(1) << PAGESCAN_STAT_RSS));
	char name[96];

	snprintf(name, sizeof(name), "%s %#" PRIx64 "-%#" PRIx64 " (%s)", who,
		 m->start, m->end, k ? k->what : "-");
	if (exact) {
		t_check(B(r, RSS) == m->rss, "%s: rss %" PRIu64 ", smaps Rss %"
			PRIu64, name, B(r, RSS), m->rss);
		t_check(B(r, ANON) == m->anon, "%s: anon %" PRIu64 ", smaps "
			"Anonymous %" PRIu64, name, B(r, ANON), m->anon);
		if (!(s->unavailable & (UINT64_C(1) << PAGESCAN_STAT_THP)))
			t_check(B(r, THP) == m->thp, "%s: thp %" PRIu64
				", smaps %" PRIu64, name, B(r, THP), m->thp);
	} else {
		/* Zero-page mappings look anonymous here (approximate). */
		t_check(B(r, RSS) >= m->rss && B(r, RSS) - B(r, ANON) ==
			m->rss - m->anon, "%s: rss %" PRIu64 " anon %" PRIu64
			", smaps %" PRIu64 " %" PRIu64, name, B(r, RSS),
			B(r, ANON), m->rss, m->anon);
	}
	t_check(B(r, FILE) + B(r, SHMEM) + B(r, ANON) == B(r, RSS),
		"%s: anon + file + shmem != rss", name);
	t_check(B(r, PRESENT) == B(r, RSS) + B(r, HUGETLB) + B(r, ZERO),
		"%s: present != rss + hugetlb + zero", name);
	t_check(B(r, SWAPPED) == m->swap, "%s: swapped %" PRIu64 ", smaps "
		"Swap %" PRIu64, name, B(r, SWAPPED), m->swap);
	t_check(B(r, HUGETLB) == m->hugetlb, "%s: hugetlb %" PRIu64 ", smaps "
		"%" PRIu64, name, B(r, HUGETLB), m->hugetlb);
	if (!k)
		return;
	/* What the test knows of its own mappings. */
	switch (k->kind) {
	case K_SHMEM:
		t_check(r->flags & PAGESCAN_VMA_SHMEM, "%s: not shmem", name);
		t_check(B(r, SHMEM) == m->rss - m->anon && B(r, FILE) == 0 &&
			B(r, SHMEM) > 0, "%s: shmem %" PRIu64 " file %" PRIu64
			", smaps Rss - Anonymous %" PRIu64, name, B(r, SHMEM),
			B(r, FILE), m->rss - m->anon);
		break;
	case K_FILE:
		t_check(!(r->flags & PAGESCAN_VMA_SHMEM), "%s: shmem", name);
		t_check(B(r, FILE) == m->rss - m->anon && B(r, FILE) > 0 &&
			B(r, SHMEM) == 0 && B(r, ANON) == 2 * t_psz,
			"%s: file %" PRIu64 " anon %" PRIu64 ", smaps Rss - "
			"Anonymous %" PRIu64, name, B(r, FILE), B(r, ANON),
			m->rss - m->anon);
		break;
	case K_ZERO:
		if (!(s->unavailable & (UINT64_C(1) << PAGESCAN_STAT_ZERO)) &&
		    pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) == 1)
			t_check(B(r, ZERO) == k->len && B(r, RSS) == 0,
				"%s: zero %" PRIu64 " rss %" PRIu64, name,
				B(r, ZERO), B(r, RSS));
		break;
	case K_HUGETLB:
		t_check(r->flags & PAGESCAN_VMA_HUGETLB, "%s: not hugetlb",
			name);
		t_check(B(r, HUGETLB) == k->len, "%s: hugetlb %" PRIu64, name,
			B(r, HUGETLB));
		break;
	case K_THP:
		if (!(s->unavailable & (UINT64_C(1) << PAGESCAN_STAT_THP)))
			t_check(m->thp == 0 || B(r, THP) == m->thp, "%s: thp",
				name);
		break;
	default:
		break;
	}
}

/* Every mapping of smaps below [vsyscall], and the rollup. */
static void check_process(const char *who, pid_t pid)
{
	struct pagescan_summary s;
	struct sm roll;
	size_t i, j = 0;
	int ret;

	ret = summarise(pid, &s);
	read_smaps(pid);
	read_rollup(pid, &roll);
	t_check(ret == 0, "%s: pagescan_summary: %s", who, strerror(-ret));
	if (ret)
		return;
	for (i = 0; i < nsm; i++) {
		if (sm[i].start >= (UINT64_C(1) << 63))
			continue;
		while (j < nrec && rec[j].start < sm[i].start)
			j++;
		if (j == nrec || rec[j].start != sm[i].start ||
		    rec[j].end != sm[i].end) {
			t_fail("%s: smaps mapping %#" PRIx64 "-%#" PRIx64
			       " not reported", who, sm[i].start, sm[i].end);
			continue;
		}
		compare(who, &sm[i], &rec[j], &s);
	}
	t_check(s.mappings == nrec, "%s: %" PRIu64 " mappings, %zu records",
		who, s.mappings, nrec);
	if (!(s.approximate & (UINT64_C(1) << PAGESCAN_STAT_RSS))) {
		t_check(s.total[PAGESCAN_STAT_RSS] == roll.rss, "%s: total rss %"
			PRIu64 ", smaps_rollup Rss %" PRIu64, who,
			s.total[PAGESCAN_STAT_RSS], roll.rss);
		t_check(s.total[PAGESCAN_STAT_ANON] == roll.anon, "%s: total "
			"anon %" PRIu64 ", smaps_rollup Anonymous %" PRIu64,
			who, s.total[PAGESCAN_STAT_ANON], roll.anon);
		t_check(s.total[PAGESCAN_STAT_THP] == roll.thp ||
			(s.unavailable & (UINT64_C(1) << PAGESCAN_STAT_THP)),
			"%s: total thp", who);
	}
	t_check(s.total[PAGESCAN_STAT_SWAPPED] == roll.swap, "%s: total "
		"swapped %" PRIu64 ", smaps_rollup Swap %" PRIu64, who,
		s.total[PAGESCAN_STAT_SWAPPED], roll.swap);
	t_check(s.total[PAGESCAN_STAT_HUGETLB] == roll.hugetlb, "%s: total "
		"hugetlb", who);
	printf("%s: %zu mappings, rss %" PRIu64 " KiB (smaps_rollup %" PRIu64
	       "), anon %" PRIu64 ", swapped %" PRIu64 ", hugetlb %" PRIu64
	       ", zero %" PRIu64 ", unavailable %#" PRIx64 ", approximate %#"
	       PRIx64 "\n", who, nrec, s.total[PAGESCAN_STAT_RSS] >> 10,
	       roll.rss >> 10, s.total[PAGESCAN_STAT_ANON] >> 10,
	       s.total[PAGESCAN_STAT_SWAPPED] >> 10,
	       s.total[PAGESCAN_STAT_HUGETLB] >> 10,
	       s.total[PAGESCAN_STAT_ZERO] >> 10, s.unavailable,
	       s.approximate);
}

static char *anon(size_t len, int advice)
{
	char *p = t_map_aligned(len, 2 << 20, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);

	madvise(p, len, advice);
	return p;
}

static void build(void)
{
	size_t huge = 2 << 20;
	char path[] = "/var/tmp/pagescan-summary.XXXXXX";
	struct statfs sf;
	char *p;
	int fd, i;

	p = anon(64 * t_psz, MADV_NOHUGEPAGE);
	t_touch(p, 40 * t_psz);
	add_mine("anon", K_ANON, p, 64 * t_psz);

	/* A private file mapping: page cache, and two copied pages. */
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 32 * t_psz))
		t_error("%s: %s", path, strerror(errno));
	unlink(path);
	if (fstatfs(fd, &sf) || sf.f_type == TMPFS_MAGIC)
		t_skip("/var/tmp is tmpfs: no page cache to test");
	p = mmap(NULL, 32 * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap file: %s", strerror(errno));
	close(fd);
	t_read(p, 32 * t_psz);
	p[3 * t_psz] = 1;
	p[9 * t_psz] = 1;
	add_mine("file", K_FILE, p, 32 * t_psz);

	fd = memfd_create("pagescan-summary", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 16 * t_psz))
		t_error("memfd: %s", strerror(errno));
	p = mmap(NULL, 16 * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_error("mmap memfd: %s", strerror(errno));
	close(fd);
	t_touch(p, 10 * t_psz);
	add_mine("memfd", K_SHMEM, p, 16 * t_psz);

	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS);
	t_touch(p, 5 * t_psz);
	add_mine("shared anon", K_SHMEM, p, 8 * t_psz);

	/* A file on a tmpfs mount: found through the mountinfo. */
	if (!statfs("/dev/shm", &sf) && sf.f_type == TMPFS_MAGIC) {
		char shm[] = "/dev/shm/pagescan-summary.XXXXXX";

		fd = mkstemp(shm);
		if (fd >= 0) {
			unlink(shm);
			if (!ftruncate(fd, 4 * t_psz)) {
				p = mmap(NULL, 4 * t_psz, PROT_READ |
					 PROT_WRITE, MAP_SHARED, fd, 0);
				if (p != MAP_FAILED) {
					t_touch(p, 3 * t_psz);
					add_mine("/dev/shm", K_SHMEM, p,
						 4 * t_psz);
				}
			}
			close(fd);
		}
	}

	p = anon(16 * t_psz, MADV_NOHUGEPAGE);
	t_read(p, 16 * t_psz);
	add_mine("zero", K_ZERO, p, 16 * t_psz);

	p = anon(2 * huge, MADV_HUGEPAGE);
	t_touch(p, 2 * huge);
	add_mine("thp", K_THP, p, 2 * huge);

	if (t_hugepages(4) >= 3) {
		p = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			 MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
		if (p != MAP_FAILED) {
			t_touch(p, 2 * huge);
			add_mine("hugetlb", K_HUGETLB, p, 2 * huge);
		}
		fd = memfd_create("pagescan-huge", MFD_CLOEXEC | T_MFD_HUGETLB);
		if (fd >= 0 && !ftruncate(fd, (off_t)huge)) {
			p = mmap(NULL, huge, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				t_touch(p, huge);
				add_mine("hugetlb memfd", K_HUGETLB, p, huge);
			}
		}
		if (fd >= 0)
			close(fd);
	} else {
		printf("note: no huge pages reserved: hugetlb not tested\n");
	}

	p = anon(16 * t_psz, MADV_NOHUGEPAGE);
	t_touch(p, 16 * t_psz);
	add_mine("guard", K_GUARD, p, 16 * t_psz);
	if (!madvise(p + 4 * t_psz, 4 * t_psz, MADV_GUARD_INSTALL))
		mine[nmine - 1].guard = 4 * t_psz;

	if (!t_swap_on(16)) {
		p = anon(32 * t_psz, MADV_NOHUGEPAGE);
		t_touch(p, 32 * t_psz);
		for (i = 0; i < 5; i++)
			madvise(p, 32 * t_psz, MADV_PAGEOUT);
		add_mine("swapped", K_SWAP, p, 32 * t_psz);
	} else {
		printf("note: no swap area: swapped pages not tested\n");
	}
}

/* uffd-wp markers on untouched memory are no swap (the calling process). */
static struct pagescan_watch *markers(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_UFFD_ASYNC);
	struct pagescan_watch *w;
	char *p;

	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, NULL) != 1) {
		printf("note: no uffd-async: markers not tested\n");
		return NULL;
	}
	p = anon(64 * t_psz, MADV_NOHUGEPAGE);
	t_touch(p, 8 * t_psz);
	if (pagescan_watch_register(p, 64 * t_psz, &wo, &w))
		t_error("pagescan_watch_register");
	p[2 * t_psz] = 1;
	add_mine("uffd-wp", K_MARKER, p, 64 * t_psz);
	return w;
}

/* The records of the layout in this process: guard and markers. */
static void check_self_layout(void)
{
	struct pagescan_summary s;
	size_t i;
	int ret;

	ret = summarise(0, &s);
	t_check(ret == 0, "self: pagescan_summary: %s", strerror(-ret));
	read_smaps(getpid());
	for (i = 0; i < nrec; i++) {
		const struct mine *k = mine_at(rec[i].start);
		size_t j;

		if (!k)
			continue;
		for (j = 0; j < nsm; j++)
			if (sm[j].start == rec[i].start)
				compare("self", &sm[j], &rec[i], &s);
		if (k->kind == K_GUARD && k->guard &&
		    !(s.unavailable & (UINT64_C(1) << PAGESCAN_STAT_GUARD)))
			t_check(B(&rec[i], GUARD) == k->guard &&
				B(&rec[i], SWAPPED) == 0, "guard: %" PRIu64
				" guard, %" PRIu64 " swapped", B(&rec[i], GUARD),
				B(&rec[i], SWAPPED));
		if (k->kind == K_MARKER &&
		    !(s.unavailable & (UINT64_C(1) << PAGESCAN_STAT_WRITTEN))) {
			t_check(rec[i].flags & PAGESCAN_VMA_WPALLOWED,
				"uffd-wp mapping not WPALLOWED");
			t_check(B(&rec[i], WRITTEN) == t_psz, "written %"
				PRIu64 ", wrote 1 page", B(&rec[i], WRITTEN));
			printf("uffd-wp: %" PRIu64 " KiB of markers or "
			       "protected entries\n",
			       B(&rec[i], WP_MARKER) >> 10);
		}
		if (k->kind == K_SWAP)
			printf("swapped: %" PRIu64 " of %zu KiB\n",
			       B(&rec[i], SWAPPED) >> 10, k->len >> 10);
	}
}

static int keep_stop(const struct pagescan_mapping *m, void *ctx)
{
	return 42;
}

static void check_api(void)
{
	struct pagescan_summary s = { .sz = sizeof(s) };
	PAGESCAN_OPTS(pagescan_summary_opts, bad, .flags = 1);
	struct pagescan *ps;
	unsigned int i;

	for (i = 0; i < PAGESCAN_STAT__COUNT; i++)
		t_check(pagescan_stat_name(i) != NULL, "stat %u has no name", i);
	t_check(pagescan_stat_name(PAGESCAN_STAT__COUNT) == NULL,
		"a name past the end");
	t_check(pagescan_summary(NULL, 0, 1, NULL, NULL, NULL, &s) == -EINVAL,
		"NULL handle");
	if (pagescan_open(0, NULL, &ps))
		t_error("pagescan_open");
	t_check(pagescan_summary(ps, 2, 1, NULL, NULL, NULL, &s) == -EINVAL,
		"end < start");
	t_check(pagescan_summary(ps, 0, UINT64_MAX, &bad, NULL, NULL, &s) ==
		-EINVAL && errno == EINVAL, "unknown flags");
	t_check(pagescan_last_error() != NULL, "no detail for unknown flags");
	/* A callback's value stops the walk and is returned. */
	t_check(pagescan_summary(ps, 0, UINT64_MAX, NULL,
				 keep_stop, NULL,
				 &s) == 42, "callback value not returned");
	t_check(s.mappings > 1, "totals not filled after a stop");
	/* A range: only what overlaps it, clipped. */
	nrec = 0;
	t_check(!pagescan_summary(ps, (uintptr_t)mine[0].p + t_psz,
				  (uintptr_t)mine[0].p + 3 * t_psz, NULL, keep,
				  NULL, &s), "range");
	t_check(nrec == 1 && rec[0].start == (uintptr_t)mine[0].p + t_psz &&
		rec[0].end == (uintptr_t)mine[0].p + 3 * t_psz &&
		B(&rec[0], RSS) == 2 * t_psz, "range: %zu records", nrec);
	t_check(s.total[PAGESCAN_STAT_RSS] == 2 * t_psz, "range total");
	pagescan_close(ps);
	/* The rule itself, on a made-up region. */
	{
		uint64_t b[PAGESCAN_STAT_SLOTS] = { 0 };
		struct pagescan_region r[] = {
			{ 0, 4096, PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_PFNZERO },
			{ 4096, 12288, PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_FILE },
			{ 12288, 16384, PAGESCAN_CAT_SWAPPED |
			  PAGESCAN_CAT_WRITTEN | PAGESCAN_CAT_GUARD },
			{ 16384, 20480, PAGESCAN_CAT_SWAPPED },
		};

		pagescan_stats_add(b, 0, PAGESCAN_CAT_ALL, &r[0]);
		pagescan_stats_add(b, PAGESCAN_VMA_SHMEM, PAGESCAN_CAT_ALL,
				   &r[1]);
		pagescan_stats_add(b, 0, PAGESCAN_CAT_ALL, &r[2]);
		/* Not WRITTEN, where WRITTEN was asked: a uffd-wp entry. */
		pagescan_stats_add(b, 0, PAGESCAN_CAT_ALL, &r[3]);
		t_check(b[PAGESCAN_STAT_WP_MARKER] == 4096, "wp marker");
		/* Where it was not asked: swap. */
		pagescan_stats_add(b, 0, PAGESCAN_CAT_ALL &
				   ~PAGESCAN_CAT_WRITTEN, &r[3]);
		t_check(b[PAGESCAN_STAT_SWAPPED] == 4096, "swap");
		b[PAGESCAN_STAT_SWAPPED] = 0;
		t_check(b[PAGESCAN_STAT_ZERO] == 4096 &&
			b[PAGESCAN_STAT_SHMEM] == 8192 &&
			b[PAGESCAN_STAT_RSS] == 8192 &&
			b[PAGESCAN_STAT_GUARD] == 4096 &&
			b[PAGESCAN_STAT_SWAPPED] == 0 &&
			b[PAGESCAN_STAT_PRESENT] == 12288, "pagescan_stats_add");
		t_check(pagescan_stats_add(NULL, 0, 0, r) == -EINVAL, "NULL");
	}
}

int main(void)
{
	struct pagescan_watch *w;
	pid_t child;
	int st;

	t_init("summary-smaps");
	build();
	child = fork();
	if (child < 0)
		t_error("fork");
	if (child == 0) {
		int i;

		/*
		 * fork() copies no page table entries of mappings without
		 * anonymous pages (shared, or only read): map them again by
		 * reading, then hold still until killed.
		 */
		for (i = 0; i < nmine; i++)
			if (mine[i].kind == K_ZERO || mine[i].kind == K_SHMEM ||
			    mine[i].kind == K_HUGETLB || mine[i].kind == K_FILE)
				t_read(mine[i].p, mine[i].len);
		/* Stopped, it changes nothing (not even ASan's runtime). */
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(child, &st, WUNTRACED) != child || !WIFSTOPPED(st))
		t_error("the child did not stop");
	check_process("child", child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	w = markers();
	check_self_layout();
	check_api();
	if (w)
		pagescan_watch_unregister(w);
	t_done();
}
