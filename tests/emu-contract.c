// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the PAGEMAP_SCAN emulation against the contract, without
 * the native ioctl (so it means something on 6.1 and 5.10): the
 * validation errno table and its order, walk_end in every case, vec_len
 * and max_pages limits including the exact-unit-end rule, merging across
 * VMAs, inversion and any-of, more than 512 regions, an unwritable vec,
 * CHECK_WPASYNC, a reaped target, the categories of present, file,
 * shmem, swapped and guard pages where the emulation claims them, and
 * the write-protect provider seam (src/emu_wp.h).
 */
#include "helpers.h"
#include "emu.h"
#include "emu_wp.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SENT UINT64_C(0xdeadbeef000)

static size_t psz;
static int pm;
static uint64_t cats;
static struct page_region vec[2048];

static int scan(struct pm_scan_arg *a)
{
	return emu_scan(pm, getpid(), a);
}

static struct pm_scan_arg arg(const void *s, const void *e, uint64_t vec_len,
			      uint64_t max, uint64_t inv, uint64_t mask,
			      uint64_t anyof, uint64_t ret)
{
	struct pm_scan_arg a = t_arg(s, e, vec_len ? vec : NULL, vec_len, 0,
				     max, inv, mask, anyof, ret);

	a.walk_end = SENT;
	return a;
}

#define PG(p, n) ((uintptr_t)(p) + (uint64_t)(n) * psz)

static void validation(void)
{
	char *p = t_map(4 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pm_scan_arg a;
	struct {
		const char *what;
		void (*edit)(struct pm_scan_arg *a);
		int err;
	} *c;
	int ret;

	t_touch(p, 4 * psz);
	/* 1: the argument itself is unreadable. */
	t_eq(emu_scan(pm, getpid(), (struct pm_scan_arg *)0x10), -EFAULT);

#define CASE(name, body, e)						\
	do {								\
		a = arg(p, p + 4 * psz, 4, 0, 0, 0, 0, cats);		\
		body;							\
		ret = scan(&a);						\
		t_check(ret == -(e), "%s: %d, expected %d", name, ret,	\
			-(e));						\
		t_eq(a.walk_end, SENT);					\
	} while (0)

	CASE("size 95", a.size = 95, EINVAL);
	CASE("size 97", a.size = 97, EINVAL);
	CASE("size 0", a.size = 0, EINVAL);
	CASE("flag bit 2", a.flags = 4, EINVAL);
	CASE("category bit 9", a.category_mask = 1 << 9, EINVAL);
	CASE("category bit 63", a.return_mask = UINT64_C(1) << 63, EINVAL);
	CASE("inverted bit 9", a.category_inverted = 1 << 9, EINVAL);
	CASE("unaligned start", a.start += 1, EINVAL);
	CASE("start > end", a.end = a.start - psz, EFAULT);
	CASE("end 1<<47", a.end = UINT64_C(1) << 47, EFAULT);
	CASE("end ~0", a.end = ~UINT64_C(0), EFAULT);
	CASE("vec NULL, vec_len 1", (a.vec = 0, a.vec_len = 1), EINVAL);
	CASE("kernel vec", a.vec = UINT64_C(0xffff800000000000), EFAULT);
	CASE("vec ~0, len 1", a.vec = ~UINT64_C(0), EFAULT);
	CASE("vec_len 1<<60", a.vec_len = UINT64_C(1) << 60, EFAULT);
	/* Precedence (contract section 3). */
	CASE("bad flag + start > end", (a.flags = 8, a.end = a.start - psz),
	     EINVAL);
	CASE("unaligned + start > end", (a.start += 1, a.end = a.start - 1 -
	     psz), EINVAL);
	CASE("start > end + vec NULL", (a.end = a.start - psz, a.vec = 0,
	     a.vec_len = 1), EFAULT);
#undef CASE
	(void)c;

	/* end at the 4-level limit is accepted (walks nothing there). */
	a = arg(p, (void *)(uintptr_t)UINT64_C(0x7ffffffff000), 0, 0, 0,
		PAGE_IS_PRESENT, 0, 0);
	a.start = UINT64_C(0x7ffffff00000);
	ret = scan(&a);
	t_check(ret == 0, "end 0x7ffffffff000: %d", ret);
	t_eq(a.walk_end, UINT64_C(0x7ffffffff000));

	/* start == end: 0, walk_end = start. */
	a = arg(p, p, 4, 0, 0, 0, 0, cats);
	t_eq(scan(&a), 0);
	t_eq(a.walk_end, (uintptr_t)p);
	/* An unaligned end is rounded up: one page. */
	a = arg(p, p + 1, 4, 0, 0, 0, 0, PAGE_IS_PRESENT);
	t_eq(scan(&a), 1);
	t_eq(a.walk_end, PG(p, 1));
	t_eq(vec[0].end, PG(p, 1));
	/* A read-only arg: the walk_end write-back fails with EFAULT. */
	{
		struct pm_scan_arg *ro = t_map(psz, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS);

		*ro = arg(p, p + psz, 4, 0, 0, PAGE_IS_PRESENT, 0, 0);
		mprotect(ro, psz, PROT_READ);
		t_eq(scan(ro), -EFAULT);
		munmap(ro, psz);
	}
	munmap(p, 4 * psz);
}

static void limits(void)
{
	char *p = t_map(64 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pm_scan_arg a;
	int i;

	madvise(p, 64 * psz, MADV_NOHUGEPAGE);
	for (i = 0; i < 64; i += 2)
		p[i * psz] = 1;
	/* Sparse: 32 one-page regions. */
	a = arg(p, p + 64 * psz, 64, 0, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 32);
	t_eq(a.walk_end, PG(p, 64));
	t_eq(vec[31].start, PG(p, 62));
	/* vec_len 3: walk_end is the first match that did not fit. */
	a = arg(p, p + 64 * psz, 3, 0, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 3);
	t_eq(a.walk_end, PG(p, 6));
	/* max_pages ending exactly at a unit: walk on to the next match. */
	a = arg(p, p + 64 * psz, 64, 1, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 1);
	t_eq(a.walk_end, PG(p, 2));
	a.max_pages = 3;
	a.walk_end = SENT;
	t_eq(scan(&a), 3);
	t_eq(a.walk_end, PG(p, 6));
	a.max_pages = 32;
	t_eq(scan(&a), 32);
	t_eq(a.walk_end, PG(p, 64));
	/* No vec: max_pages is ignored, nothing is counted. */
	a = arg(p, p + 64 * psz, 0, 1, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 0);
	t_eq(a.walk_end, PG(p, 64));

	/* Dense: max_pages inside a unit truncates it. */
	memset(p, 1, 64 * psz);
	a = arg(p, p + 64 * psz, 8, 10, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 1);
	t_eq(vec[0].end, PG(p, 10));
	t_eq(a.walk_end, PG(p, 10));

	/* Inversion selects the non-present pages; any-of sees it too. */
	madvise(p + 8 * psz, 8 * psz, MADV_DONTNEED);
	a = arg(p, p + 64 * psz, 8, 0, PAGE_IS_PRESENT, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 1);
	t_eq(vec[0].start, PG(p, 8));
	t_eq(vec[0].end, PG(p, 16));
	t_eq(vec[0].categories, 0);
	a = arg(p, p + 64 * psz, 8, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT | PAGE_IS_SWAPPED, PAGE_IS_PRESENT);
	t_eq(scan(&a), 1);
	t_eq(vec[0].start, PG(p, 8));
	/* return_mask 0: present and none merge into one region. */
	a = arg(p, p + 64 * psz, 8, 0, 0, 0, 0, 0);
	t_eq(scan(&a), 1);
	t_eq(vec[0].end, PG(p, 64));

	/* Merging across VMAs, never across a gap. */
	mprotect(p + 32 * psz, 8 * psz, PROT_READ);
	a = arg(p, p + 64 * psz, 8, 0, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 2);
	t_eq(vec[1].start, PG(p, 16));
	t_eq(vec[1].end, PG(p, 64));
	munmap(p + 40 * psz, psz);
	t_eq(scan(&a), 3);
	t_eq(vec[1].end, PG(p, 40));
	t_eq(vec[2].start, PG(p, 41));

	/* An unwritable vec: EFAULT with walk_end = end, 0 if no match. */
	{
		char *bad = t_map(psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);

		a = arg(p, p + 8 * psz, 4, 0, 0, PAGE_IS_PRESENT, 0,
			PAGE_IS_PRESENT);
		a.vec = (uintptr_t)bad;
		t_eq(scan(&a), -EFAULT);
		t_eq(a.walk_end, PG(p, 8));
		a.category_mask = PAGE_IS_SWAPPED;
		t_eq(scan(&a), 0);
		munmap(bad, psz);
	}
	munmap(p, 64 * psz);
}

/* Over 512 regions: all of them, and (unlike the kernel) walk_end = end. */
static void many_regions(void)
{
	size_t n = 1400, i;
	char *p = t_map(n * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pm_scan_arg a;

	/* THP "always" (Debian's 6.1) would fill whole 2 MiB blocks. */
	madvise(p, n * psz, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i += 2)
		p[i * psz] = 1;
	a = arg(p, p + n * psz, 2048, 0, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 700);
	t_eq(a.walk_end, PG(p, n));	/* EMU_QUIRK_STALE_WALK_END */
	t_eq(vec[699].start, PG(p, 1398));
	/* vec_len 600 stops inside the second internal chunk. */
	a = arg(p, p + n * psz, 600, 0, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 600);
	t_eq(a.walk_end, PG(p, 1200));
	/* max_pages across the chunk boundary. */
	a = arg(p, p + n * psz, 2048, 520, 0, PAGE_IS_PRESENT, 0,
		PAGE_IS_PRESENT);
	t_eq(scan(&a), 520);
	t_eq(a.walk_end, PG(p, 1040));
	munmap(p, n * psz);
}

/*
 * The categories of one page, SOFT_DIRTY left out: with
 * CONFIG_MEM_SOFT_DIRTY (6.1 on Debian) every page of a new VMA has it.
 */
static uint64_t cats_of(const void *p)
{
	struct pm_scan_arg a = arg(p, (const char *)p + psz, 1, 0, 0, 0, 0,
				   cats & ~(uint64_t)PAGE_IS_SOFT_DIRTY);
	int ret = scan(&a);

	if (ret != 1)
		return UINT64_MAX;
	return vec[0].categories;
}

#define WR (cats & PAGE_IS_WRITTEN)

static void categories(void)
{
	char *p = t_map(8 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	char *s = t_map(2 * psz, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS);
	int fd = t_tmpfile(4 * psz, 'x');
	char *f = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fd, 0);

	if (f == MAP_FAILED)
		t_error("mmap file");
	p[0] = 1;
	t_eq(cats_of(p), PAGE_IS_PRESENT | WR);
	/* Unpopulated: WRITTEN by the never-hide rule, nothing else. */
	t_eq(cats_of(p + psz), WR);
	s[0] = 1;
	t_eq(cats_of(s), PAGE_IS_PRESENT | PAGE_IS_FILE | WR);
	(void)*(volatile char *)f;
	t_eq(cats_of(f), PAGE_IS_PRESENT | PAGE_IS_FILE | WR);
	f[psz] = 1;		/* COW: anonymous now */
	t_eq(cats_of(f + psz), PAGE_IS_PRESENT | WR);
	mprotect(p, psz, PROT_NONE);	/* protnone is still present */
	t_eq(cats_of(p), PAGE_IS_PRESENT | WR);
	if (cats & PAGE_IS_GUARD) {
		t_eq(madvise(p + 2 * psz, psz, MADV_GUARD_INSTALL), 0);
		t_eq(cats_of(p + 2 * psz),
		     PAGE_IS_SWAPPED | PAGE_IS_GUARD | WR);
	}
	if (t_root() && t_swap_on(16) == 0) {
		memset(p + 4 * psz, 1, 2 * psz);
		if (!madvise(p + 4 * psz, 2 * psz, MADV_PAGEOUT) &&
		    !(cats_of(p + 4 * psz) & PAGE_IS_PRESENT))
			t_eq(cats_of(p + 4 * psz), PAGE_IS_SWAPPED | WR);
	}
	munmap(p, 8 * psz);
	munmap(s, 2 * psz);
	munmap(f, 4 * psz);
	close(fd);
}

/*
 * SOFT_DIRTY: with CONFIG_MEM_SOFT_DIRTY a new VMA is soft-dirty as a
 * whole until clear_refs 4, then only written pages are; without it the
 * bit is accepted and never set (contract 5.1).
 */
static void soft_dirty(void)
{
	char *p = t_map(4 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pm_scan_arg a;

	if (!(cats & PAGE_IS_SOFT_DIRTY))
		t_error("SOFT_DIRTY is always emulated");
	p[0] = 1;
	a = arg(p, p + 4 * psz, 4, 0, 0, PAGE_IS_SOFT_DIRTY, 0,
		PAGE_IS_SOFT_DIRTY);
	if (pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) != 1) {
		t_eq(scan(&a), 0);
		a.category_inverted = PAGE_IS_SOFT_DIRTY;
		t_eq(scan(&a), 1);
		t_eq(vec[0].end, PG(p, 4));
	} else {
		/* VM_SOFTDIRTY: every page, holes included. */
		t_eq(scan(&a), 1);
		t_eq(vec[0].end, PG(p, 4));
		if (t_write_file("/proc/self/clear_refs", "4") == 0) {
			p[psz] = 1;
			t_eq(scan(&a), 1);
			t_eq(vec[0].start, PG(p, 1));
			t_eq(vec[0].end, PG(p, 2));
		}
	}
	munmap(p, 4 * psz);
}

/* VM_PFNMAP VMAs ([vvar]) are skipped; [vdso] is walked. */
static void special_vmas(void)
{
	struct ps_maps m;
	size_t i;

	if (ps_maps_read(getpid(), 0, &m))
		t_error("maps");
	for (i = 0; i < m.n; i++) {
		const char *name = ps_vma_name(&m, &m.v[i]);
		struct pm_scan_arg a;
		int ret;

		if (strcmp(name, "[vvar]") && strcmp(name, "[vdso]"))
			continue;
		a = arg((void *)(uintptr_t)m.v[i].start,
			(void *)(uintptr_t)m.v[i].end, 4, 0, 0, 0, 0, 0);
		ret = scan(&a);
		if (!strcmp(name, "[vvar]"))
			t_check(ret == 0, "[vvar]: %d regions", ret);
		else
			t_check(ret == 1, "[vdso]: %d regions", ret);
	}
	ps_maps_free(&m);
}

static void check_wpasync(void)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC,
	};
	char *p;
	struct pm_scan_arg a;
	int uffd;

	if (!(emu_flags() & PM_SCAN_CHECK_WPASYNC))
		return;
	p = t_map(8 * psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 1, 8 * psz);
	/* Not registered: EPERM, walk_end = end. */
	a = arg(p, p + 8 * psz, 4, 0, 0, 0, 0, cats);
	a.flags = PM_SCAN_CHECK_WPASYNC;
	t_eq(scan(&a), -EPERM);
	t_eq(a.walk_end, PG(p, 8));
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd >= 0 && !ioctl(uffd, UFFDIO_API, &api)) {
		struct uffdio_register reg = {
			.range = { (uintptr_t)p, 4 * psz },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};

		t_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
		/* The registered half is copied out before the EPERM. */
		memset(vec, 0, sizeof(vec[0]));
		a.walk_end = SENT;
		t_eq(scan(&a), -EPERM);
		t_eq(vec[0].start, (uintptr_t)p);
		t_eq(vec[0].end, PG(p, 4));
		t_eq(vec[0].categories & PAGE_IS_WPALLOWED,
		     PAGE_IS_WPALLOWED);
		t_eq(a.walk_end, PG(p, 8));
		/* mask=WPALLOWED selects only the registered VMA. */
		a = arg(p, p + 8 * psz, 4, 0, 0, PAGE_IS_WPALLOWED, 0, cats);
		t_eq(scan(&a), 1);
		t_eq(vec[0].end, PG(p, 4));
		a = arg(p, p + 8 * psz, 4, 0, PAGE_IS_WPALLOWED,
			PAGE_IS_WPALLOWED, 0, cats);
		t_eq(scan(&a), 1);
		t_eq(vec[0].start, PG(p, 4));
	}
	/*
	 * A synchronous uffd-wp registration is not wp-allowed; next to an
	 * async context the emulation cannot tell whose a VMA is and says
	 * so (EMU_QUIRK_UNDECIDABLE) instead of guessing.
	 */
	{
		struct uffdio_api sapi = { .api = UFFD_API };
		struct uffdio_register reg = {
			.range = { PG(p, 4), 4 * psz },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		int sfd = (int)syscall(SYS_userfaultfd,
				       O_CLOEXEC | UFFD_USER_MODE_ONLY);

		if (sfd >= 0 && !ioctl(sfd, UFFDIO_API, &sapi) &&
		    !ioctl(sfd, UFFDIO_REGISTER, &reg)) {
			a = arg(p, p + 8 * psz, 4, 0, 0, PAGE_IS_WPALLOWED, 0,
				cats);
			if (uffd >= 0) {
				t_eq(scan(&a), -EOPNOTSUPP);
				t_eq(a.walk_end, SENT);
				close(uffd);
				uffd = -1;
			}
			/* Only the sync context left: nothing is allowed. */
			t_eq(scan(&a), 0);
			a.flags = PM_SCAN_CHECK_WPASYNC;
			a.category_mask = 0;
			t_eq(scan(&a), -EPERM);
		}
		if (sfd >= 0)
			close(sfd);
	}
	if (uffd >= 0)
		close(uffd);
	munmap(p, 8 * psz);
}

static void reaped(void)
{
	struct pm_scan_arg a;
	char path[64];
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (!pid) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("open %s", path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	a = arg((void *)0x10000, (void *)0x7fff0000, 4, 0, 0, 0, 0, 0);
	t_eq(emu_scan(fd, pid, &a), -ESRCH);
	t_eq(a.walk_end, SENT);
	close(fd);
}

/* A fake provider: tracks [lo, hi), page 0 written, records arming. */
static uint64_t prov_lo, prov_hi, armed_lo, armed_hi;
static int prov_on;

static int prov_active(void *ctx)
{
	return prov_on;
}

static int other_active(void *ctx)
{
	return 1;
}

static int prov_covers(void *ctx, uint64_t start, uint64_t end,
		       uint64_t *seg_end)
{
	if (start < prov_lo) {
		*seg_end = end < prov_lo ? end : prov_lo;
		return 0;
	}
	if (start < prov_hi) {
		*seg_end = end < prov_hi ? end : prov_hi;
		return 1;
	}
	*seg_end = end;
	return 0;
}

static int prov_written(void *ctx, uint64_t start, uint64_t end,
			uint64_t *bm)
{
	if (start == prov_lo)
		bm[0] |= 1;
	return 0;
}

static int prov_arm(void *ctx, uint64_t start, uint64_t end)
{
	armed_lo = start;
	armed_hi = end;
	return 0;
}

static const struct emu_wp_ops prov = {
	.active = prov_active, .covers = prov_covers,
	.written = prov_written, .arm = prov_arm,
};
/* A second provider, set later: it must change nothing. */
static const struct emu_wp_ops other = {
	.active = other_active, .covers = prov_covers,
	.written = prov_written, .arm = prov_arm,
};

static void provider(void)
{
	char *p = t_map(8 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	uint64_t before = emu_categories();
	struct pm_scan_arg a;

	memset(p, 1, 8 * psz);
	prov_lo = PG(p, 2);
	prov_hi = PG(p, 6);
	emu_wp_set(&prov, NULL);
	emu_wp_set(&other, NULL);
	/* Set but inactive: nothing changes. */
	t_eq(emu_wp_installed(), 0);
	t_eq(emu_categories(), before);
	prov_on = 1;
	t_eq(emu_wp_installed(), 1);
	t_eq(emu_categories() & (PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED),
	     PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED);
	t_eq(emu_flags(), PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC);
	/* WPALLOWED exactly on the covered part; WRITTEN from the bitmap. */
	a = arg(p, p + 8 * psz, 8, 0, 0, PAGE_IS_WPALLOWED, 0,
		PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN);
	t_eq(scan(&a), 2);
	t_eq(vec[0].start, PG(p, 2));
	t_eq(vec[0].end, PG(p, 3));
	t_eq(vec[0].categories, PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN);
	t_eq(vec[1].end, PG(p, 6));
	t_eq(vec[1].categories, PAGE_IS_WPALLOWED);
	/* WP_MATCHING arms the written page it reports. */
	a = arg(p + 2 * psz, p + 6 * psz, 8, 0, 0, PAGE_IS_WRITTEN, 0,
		PAGE_IS_WRITTEN);
	a.flags = PM_SCAN_WP_MATCHING;
	t_eq(scan(&a), 1);
	t_eq(armed_lo, PG(p, 2));
	t_eq(armed_hi, PG(p, 3));
	/* CHECK_WPASYNC: EPERM at the first uncovered VMA part. */
	a = arg(p, p + 8 * psz, 8, 0, 0, 0, 0, 0);
	a.flags = PM_SCAN_CHECK_WPASYNC;
	t_eq(scan(&a), -EPERM);
	prov_on = 0;
	t_eq(emu_wp_installed(), 0);
	t_eq(emu_categories(), before);
	munmap(p, 8 * psz);
}

/*
 * Through the public API under PAGESCAN_BACKEND=emulate: pagescan_ioctl()
 * answers like emu_scan(), with the ioctl convention, and the probe
 * table reports each category as the emulation's capability says.
 */
static void public_api(void)
{
	char *p = t_map(4 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pm_scan_arg a;
	unsigned int bit;
	int fd, ret;

	p[psz] = 1;
	a = arg(p, p + 4 * psz, 4, 0, 0, PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT);
	errno = 0;
	t_eq(pagescan_ioctl(pm, &a), 1);
	t_eq(vec[0].start, PG(p, 1));
	a.size = 95;
	t_eq(pagescan_ioctl(pm, &a), -1);
	t_eq(errno, EINVAL);
	/* Not a pagemap file: what the kernel says for it. */
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	a.size = sizeof(a);
	ret = pagescan_ioctl(fd, &a);
	t_check(ret == -1 && errno == ENOTTY, "maps fd: %d errno %d", ret,
		errno);
	close(fd);
	for (bit = 0; bit < PAGESCAN_CAT_COUNT; bit++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };
		const char *why;
		int ok = emu_category_support(bit, &why);

		t_eq(pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + bit,
					   &fi), 0);
		t_check(fi.support == (ok ? PAGESCAN_EMULATED :
				       PAGESCAN_UNAVAILABLE),
			"%s: support %d, emulation says %d", fi.name,
			fi.support, ok);
		t_check(!strcmp(fi.reason, why), "%s: reason '%s' vs '%s'",
			fi.name, fi.reason, why);
	}
	munmap(p, 4 * psz);
}

/*
 * The kernel accepts a pm_scan_arg and a vec at any address: so must the
 * emulation, without a misaligned access (UBSan, in the asan lane).
 */
static void misaligned(void)
{
	char *p = t_map(4 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	static char raw[sizeof(struct pm_scan_arg) + 16];
	static char rvec[4 * sizeof(struct page_region) + 16];
	struct pm_scan_arg a, *u = (struct pm_scan_arg *)(void *)(raw + 3);
	struct page_region r;
	uint64_t we;
	int via;

	p[2 * psz] = 1;
	for (via = 0; via < 2; via++) {
		a = arg(p, p + 4 * psz, 4, 0, 0, PAGE_IS_PRESENT, 0,
			PAGE_IS_PRESENT);
		a.vec = (uintptr_t)(rvec + 5);
		memcpy(raw + 3, &a, sizeof(a));
		if (via == 0)
			t_eq(scan(u), 1);
		else
			t_eq(pagescan_ioctl(pm, u), 1);
		memcpy(&we, raw + 3 + offsetof(struct pm_scan_arg, walk_end),
		       sizeof(we));
		t_eq(we, PG(p, 4));
		memcpy(&r, rvec + 5, sizeof(r));
		t_eq(r.start, PG(p, 2));
		t_eq(r.end, PG(p, 3));
		t_eq(r.categories, PAGE_IS_PRESENT);
	}
	munmap(p, 4 * psz);
}

int main(void)
{
	t_init("emu-contract");
	(void)ps_backend(PAGESCAN_BACKEND_EMULATE);
	setenv("PAGESCAN_BACKEND", "emulate", 1);
	psz = t_psz;
	pm = t_pagemap_fd();
	cats = emu_categories();
	printf("emulated categories: %s\n", t_cats(cats));
	if (!(cats & PAGE_IS_PRESENT))
		t_error("the emulation claims no PRESENT");
	validation();
	limits();
	many_regions();
	categories();
	special_vmas();
	soft_dirty();
	check_wpasync();
	reaped();
	provider();
	public_api();
	misaligned();
	t_done();
}
