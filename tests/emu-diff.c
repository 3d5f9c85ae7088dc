// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: differential test of the PAGEMAP_SCAN emulation against the
 * native ioctl.  A seeded generator (seed printed; PAGESCAN_SEED=N
 * replays it) builds random layouts (anonymous private and shared, file
 * private and shared, memfd, holes, mprotect splits, MADV_DONTNEED, guard
 * regions, THP, PROT_NONE, uffd WP_ASYNC ranges, swapped pages when root)
 * and random requests (masks, inversion, any-of, return masks, vec_len 0
 * to >512, max_pages, misaligned/reversed/huge ranges, bad sizes, flags,
 * category bits and pointers), runs both on the same memory and compares
 * return value, errno, walk_end and every byte of vec.  Only categories
 * the emulation claims are requested.  A difference is tolerated only
 * when a deliberate divergence of src/emu_quirks.h explains it, by name.
 * First, requests for categories or flags the emulation says it cannot
 * compute must fail with EINVAL and leave walk_end alone; that part runs
 * on kernels without the native ioctl too.
 */
#include "helpers.h"
#include "emu.h"
#include "emu_quirks.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PMD_PAGES	512
#define BLOCKS		8		/* 2 MiB blocks per arena */
#define ARENA_PAGES	(BLOCKS * PMD_PAGES)
#define VEC_CAP		4096
#define SENTINEL	UINT64_C(0xdeadbeef000)
#ifdef __SANITIZE_ADDRESS__
#define ROUNDS		4	/* smaps of an ASan process is slow */
#else
#define ROUNDS		12
#endif
#define CASES		300

static uint64_t rng_state, seed;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rn(100) < pct;
}

static char *arena;
static size_t psz;
static int file_fd = -1, memfd = -1;
static int uffd = -1;
static bool can_thp, can_guard, can_swap, can_uffd, can_hugetlb;
static pid_t child;		/* a forked copy of the layout, or 0 */
static int child_pm = -1;
static bool hugetlb_block[BLOCKS];
static uint64_t lib_lo, lib_hi;	/* from the first library to [vdso] */
static uint64_t claimed;
static int pm_fd;
static struct page_region *vec_n, *vec_e;
static char *bad_vec;		/* PROT_NONE: in range, unwritable */
static char *ro_vec;		/* a read-only page */
static char *ro_arg_n, *ro_arg_e;	/* read-only pm_scan_args */
static bool anchored;
static unsigned long n_cases, n_tolerated[EMU_QUIRK__COUNT], n_errcases;

static void *map_fixed(char *at, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	void *p = mmap(at, len, prot, flags | MAP_FIXED, fd, off);

	if (p == MAP_FAILED)
		t_error("mmap fixed %p+%zu", (void *)at, len);
	return p;
}

static void touch_pages(char *p, size_t pages, int prot)
{
	size_t i;

	for (i = 0; i < pages; i++) {
		unsigned int what = (unsigned int)rn(10);

		if (what < 4 && (prot & PROT_WRITE))
			p[i * psz] = 1;
		else if (what < 6 && (prot & PROT_READ))
			(void)*(volatile char *)(p + i * psz);
	}
}

static void register_uffd(char *p, size_t len)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		t_error("UFFDIO_REGISTER");
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		t_error("UFFDIO_WRITEPROTECT");
}

/* One segment of @pages pages at @p of a random kind. */
static void make_segment(char *p, size_t pages)
{
	size_t len = pages * psz;
	int kind = (int)rn(13), prot = PROT_READ | PROT_WRITE;
	off_t off = (off_t)(rn(16) * psz);

	switch (kind) {
	case 0:		/* anon private */
	default:
		map_fixed(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch_pages(p, pages, prot);
		break;
	case 1:		/* anon shared (shmem) */
		map_fixed(p, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		touch_pages(p, pages, prot);
		break;
	case 2:		/* file private */
		map_fixed(p, len, prot, MAP_PRIVATE, file_fd, off);
		touch_pages(p, pages, prot);
		break;
	case 3:		/* file shared */
		map_fixed(p, len, prot, MAP_SHARED, file_fd, off);
		touch_pages(p, pages, prot);
		break;
	case 4:		/* memfd */
		map_fixed(p, len, prot, MAP_SHARED, memfd, off);
		touch_pages(p, pages, prot);
		break;
	case 5:		/* hole */
		munmap(p, len);
		return;
	case 6:		/* guard regions */
		map_fixed(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch_pages(p, pages, prot);
		if (can_guard) {
			size_t a = rn(pages), n = 1 + rn(pages - a);

			madvise(p + a * psz, n * psz, MADV_GUARD_INSTALL);
		}
		break;
	case 7:		/* PROT_NONE */
		map_fixed(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
		return;
	case 8:		/* uffd WP_ASYNC */
		map_fixed(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch_pages(p, pages, prot);
		if (can_uffd) {
			register_uffd(p, len);
			touch_pages(p, pages, prot);
		}
		break;
	case 9:		/* swapped */
		map_fixed(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(p, 1, len);
		if (can_swap) {
			size_t a = rn(pages), n = 1 + rn(pages - a);

			madvise(p + a * psz, n * psz, MADV_PAGEOUT);
		}
		break;
	case 11:	/* uffd WP_ASYNC on shmem: markers are SWAPPED */
		map_fixed(p, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		touch_pages(p, pages, prot);
		if (can_uffd) {
			register_uffd(p, len);
			touch_pages(p, pages, prot);
		}
		break;
	case 12:	/* uffd WP_ASYNC on a private file mapping */
		map_fixed(p, len, prot, MAP_PRIVATE, file_fd, off);
		touch_pages(p, pages, prot);
		if (can_uffd) {
			register_uffd(p, len);
			touch_pages(p, pages, prot);
		}
		break;
	case 10:	/* shmem, then part swapped or dropped */
		map_fixed(p, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		memset(p, 1, len);
		if (can_swap)
			madvise(p, len / 2, MADV_PAGEOUT);
		break;
	}
	/* Splits and zaps on top. */
	if (chance(25)) {
		size_t a = rn(pages), n = 1 + rn(pages - a);

		madvise(p + a * psz, n * psz, MADV_DONTNEED);
	}
	if (chance(20)) {
		size_t a = rn(pages), n = 1 + rn(pages - a);

		mprotect(p + a * psz, n * psz,
			 chance(50) ? PROT_READ : PROT_NONE);
	}
}

static void make_thp_block(char *p)
{
	size_t len = PMD_PAGES * psz;

	map_fixed(p, len, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(p, len, MADV_HUGEPAGE);
	switch (rn(5)) {
	case 0:
		memset(p, 1, len);		/* a THP, if one was free */
		break;
	case 1:
		(void)*(volatile char *)p;	/* the huge zero page */
		break;
	case 2:
		memset(p, 1, len);
		mprotect(p + rn(PMD_PAGES) * psz, psz, PROT_READ);
		break;
	case 3:
		/* Split the PMD, merge the VMA back: PTE-mapped THP. */
		memset(p, 1, len);
		mprotect(p + rn(PMD_PAGES) * psz, psz, PROT_READ);
		mprotect(p, len, PROT_READ | PROT_WRITE);
		break;
	default:
		touch_pages(p, PMD_PAGES, PROT_READ | PROT_WRITE);
		break;
	}
}

static void make_hugetlb_block(char *p)
{
	size_t len = PMD_PAGES * psz;
	void *q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_FIXED |
		       (chance(50) ? MAP_PRIVATE : MAP_SHARED) |
		       MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);

	if (q == MAP_FAILED) {
		make_thp_block(p);
		return;
	}
	hugetlb_block[(p - arena) / len] = true;
	if (chance(70))
		*(volatile char *)p = chance(50) ? 1 : *(volatile char *)p;
	if (can_uffd && chance(40)) {
		/* Markers in hugetlb read as bit 57 alone. */
		register_uffd(p, len);
		if (chance(50))
			*(volatile char *)p = 2;
	}
}

static void build_layout(void)
{
	size_t b;

	/* Replace the whole arena (old uffd registrations go with it). */
	map_fixed(arena, ARENA_PAGES * psz, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	anchored = chance(80);
	memset(hugetlb_block, 0, sizeof(hugetlb_block));
	for (b = 0; b < BLOCKS; b++) {
		char *blk = arena + b * PMD_PAGES * psz;
		size_t i = 0;

		if (can_hugetlb && chance(15)) {
			make_hugetlb_block(blk);
			continue;
		}
		if (can_thp && chance(25)) {
			make_thp_block(blk);
			continue;
		}
		if (!anchored && chance(30)) {
			/* No page table at all: EMU_QUIRK_HOLE_WRITTEN. */
			map_fixed(blk, PMD_PAGES * psz, chance(50) ? PROT_READ :
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			continue;
		}
		if (anchored) {
			/*
			 * A written page in every 2 MiB block keeps a page
			 * table there, so that EMU_QUIRK_HOLE_WRITTEN cannot
			 * arise (see blocks_ambiguous()).
			 */
			map_fixed(blk, psz, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			blk[0] = 1;
			i = 1;
		}
		while (i < PMD_PAGES) {
			size_t n = 1 + rn(chance(70) ? 16 : 128);

			if (n > PMD_PAGES - i)
				n = PMD_PAGES - i;
			make_segment(blk + i * psz, n);
			i += n;
		}
	}
}

/* Is there a 2 MiB block in [start, end) whose pagemap is all zero? */
/*
 * Is there a 2 MiB block in [start, end), (not) of a hugetlb arena block
 * as @hugetlb says, that some VMA of @pid overlaps and whose pagemap is
 * all zero?  Only there can a missing page table hide behind the
 * entries (EMU_QUIRK_HOLE_WRITTEN, EMU_QUIRK_HUGETLB_EMPTY_SLOT).
 */
static bool blocks_ambiguous(pid_t pid, int fd, uint64_t start, uint64_t end,
			     bool hugetlb)
{
	uint64_t pmd = PMD_PAGES * psz, b, e[PMD_PAGES];
	uint64_t base = (uintptr_t)arena, span = ARENA_PAGES * psz;
	struct ps_maps m;
	bool found = false;
	size_t i;

	if (ps_maps_read(pid, 0, &m))
		return false;
	for (b = start & ~(pmd - 1); b < end && !found; b += pmd) {
		bool zero = true, mapped = false;
		uint64_t lo = b > start ? b : start;
		uint64_t hi = b + pmd < end ? b + pmd : end;

		if (b >= base && b < base + span) {
			if (hugetlb_block[(b - base) / pmd] != hugetlb)
				continue;
		} else if (hugetlb) {
			continue;
		}
		i = ps_maps_find(&m, lo);
		mapped = i < m.n && m.v[i].start < hi;
		if (!mapped)
			continue;
		if (pread(fd, e, sizeof(e), (off_t)(b / psz * 8)) !=
		    (ssize_t)sizeof(e))
			continue;
		for (i = 0; i < PMD_PAGES && zero; i++)
			zero = !(e[i] & ~PM_ENTRY_SOFT_DIRTY);
		found = zero;
	}
	ps_maps_free(&m);
	return found;
}

static uint64_t rand_cats(unsigned int pct_each)
{
	uint64_t m = 0;
	unsigned int i;

	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		if ((claimed >> i & 1) && chance(pct_each))
			m |= UINT64_C(1) << i;
	return m;
}

static void print_arg(const char *what, const struct pm_scan_arg *a)
{
	printf("  %s: size %llu flags %#llx start %#llx end %#llx vec %#llx "
	       "vec_len %llu max_pages %llu inv %#llx mask %#llx anyof %#llx "
	       "ret %#llx (arena %p)\n", what,
	       (unsigned long long)a->size, (unsigned long long)a->flags,
	       (unsigned long long)a->start, (unsigned long long)a->end,
	       (unsigned long long)a->vec, (unsigned long long)a->vec_len,
	       (unsigned long long)a->max_pages,
	       (unsigned long long)a->category_inverted,
	       (unsigned long long)a->category_mask,
	       (unsigned long long)a->category_anyof_mask,
	       (unsigned long long)a->return_mask, (void *)arena);
}

static void print_regions(const char *who, const struct page_region *v,
			  int n)
{
	int i;

	printf("  %s: %d regions\n", who, n);
	for (i = 0; i < n && i < 40; i++)
		printf("    [%#llx, %#llx) +%llu pages %s\n",
		       (unsigned long long)v[i].start,
		       (unsigned long long)v[i].end,
		       (unsigned long long)(v[i].end - v[i].start) / psz,
		       t_cats(v[i].categories));
}

static int n_written(const struct page_region *v, uint64_t vec_len)
{
	const unsigned char *p = (const unsigned char *)v;
	uint64_t i, j;

	for (i = 0; i < vec_len && i < VEC_CAP; i++) {
		for (j = 0; j < sizeof(*v); j++)
			if (p[i * sizeof(*v) + j] != 0xa5)
				break;
		if (j == sizeof(*v))
			break;
	}
	return (int)i;
}

static void one_case(unsigned int round, unsigned int idx)
{
	uint64_t base = (uintptr_t)arena, span = ARENA_PAGES * psz;
	struct pm_scan_arg an, ae, *un = &an, *ue = &ae;
	uint64_t vec_len, cmp_len, vcap = VEC_CAP;
	struct page_region *vn = vec_n, *ve = vec_e;
	int rn_, re, en = 0, ee = 0, quirk = -1;
	bool cmp_vec = true, wr;
	const char *why = NULL;
	bool remote = child && chance(30), libs = false;
	int fd = remote ? child_pm : pm_fd;
	pid_t pid = remote ? child : getpid();
	static const uint64_t lens[] = { 0, 1, 2, 3, 5, 511, 512, 513, 700,
					 1100, 2048, VEC_CAP };

	memset(&an, 0, sizeof(an));
	an.size = sizeof(an);
	an.start = base + rn(ARENA_PAGES) * psz;
	an.end = an.start + (1 + rn(chance(50) ? 64 : ARENA_PAGES)) * psz;
	if (an.end > base + span)
		an.end = base + span;
	if (chance(3))
		an.start = base, an.end = base + span;
	vec_len = chance(30) ? lens[rn(ARRAY_SIZE(lens))] : 1 + rn(40);
	an.vec = (uintptr_t)vec_n;
	an.vec_len = vec_len;
	if (!vec_len && chance(50))
		an.vec = 0;
	an.max_pages = chance(50) ? 0 : chance(50) ? 1 + rn(40) :
					  1 + rn(ARENA_PAGES);
	an.category_mask = rand_cats(15);
	an.category_anyof_mask = chance(30) ? rand_cats(30) : 0;
	an.category_inverted = chance(30) ? rand_cats(25) : 0;
	an.return_mask = chance(70) ? claimed : rand_cats(50);
	if ((claimed & PAGE_IS_WPALLOWED) && chance(5))
		an.flags = PM_SCAN_CHECK_WPASYNC;

	/* Bad arguments now and then. */
	switch (rn(40)) {
	case 0: an.size = chance(50) ? 95 : 97; break;
	case 1: an.flags |= UINT64_C(1) << (2 + rn(62)); break;
	case 2: an.category_mask |= UINT64_C(1) << (9 + rn(55)); break;
	case 3: an.start += 1 + rn(psz - 1); break;
	case 4: { uint64_t t = an.start; an.start = an.end; an.end = t; }
		break;
	case 5: an.end = chance(50) ? UINT64_C(1) << 47 : ~UINT64_C(0); break;
	case 6: an.end = an.start; break;
	case 7: an.end -= rn(psz); break;
	case 8: an.vec = 0; an.vec_len = 1 + rn(3); break;
	case 9: an.vec = (uintptr_t)bad_vec; cmp_vec = false; break;
	case 10: an.vec = (uintptr_t)ro_vec; cmp_vec = false; break;
	case 11: an.vec = UINT64_C(0xffff800000000000); break;
	case 12: an.vec_len = UINT64_C(1) << 60; break;
	case 13: an.return_mask = 0; break;
	case 14: an.category_mask = an.category_anyof_mask = 0; break;
	case 15: an.start = base - 4 * psz;	/* before the arena */
		 an.end = base + 8 * psz; break;
	case 20:	/* the vec runs into a PROT_NONE page: partial copy */
		vcap = 1 + rn(1500);
		vn = vec_n + VEC_CAP - vcap;
		ve = vec_e + VEC_CAP - vcap;
		an.vec = (uintptr_t)vn;
		an.vec_len = VEC_CAP;
		break;
	case 18:	/* the argument itself unreadable */
		un = ue = (struct pm_scan_arg *)(uintptr_t)(chance(50) ? 0x10 :
							    (uintptr_t)bad_vec);
		cmp_vec = false;
		break;
	case 19:	/* readable but not writable: walk_end write-back */
		un = (struct pm_scan_arg *)ro_arg_n;
		ue = (struct pm_scan_arg *)ro_arg_e;
		break;
	case 16: case 17:
		/* Libraries, [vvar] (PFNMAP, skipped) and [vdso]. */
		if (lib_lo && !remote) {
			an.start = lib_lo;
			an.end = lib_hi;
			libs = true;
		}
		break;
	default: break;
	}
	if (!an.vec)
		cmp_vec = false;
	an.walk_end = SENTINEL;
	ae = an;
	if (an.vec == (uintptr_t)vn)
		ae.vec = (uintptr_t)ve;
	(void)libs;
	cmp_len = an.vec_len < VEC_CAP ? an.vec_len : VEC_CAP;
	memset(vec_n, 0xa5, VEC_CAP * sizeof(*vec_n));
	memset(vec_e, 0xa5, VEC_CAP * sizeof(*vec_e));
	if (un == (struct pm_scan_arg *)ro_arg_n) {
		mprotect(ro_arg_n, psz, PROT_READ | PROT_WRITE);
		mprotect(ro_arg_e, psz, PROT_READ | PROT_WRITE);
		*un = an;
		*ue = ae;
		mprotect(ro_arg_n, psz, PROT_READ);
		mprotect(ro_arg_e, psz, PROT_READ);
	}

	rn_ = ioctl(fd, PAGEMAP_SCAN, un);
	if (rn_ < 0)
		en = errno;
	re = emu_scan(fd, pid, ue);
	if (re < 0) {
		ee = -re;
		re = -1;
	}
	n_cases++;
	if (rn_ < 0)
		n_errcases++;

	if (rn_ != re || en != ee)
		why = "return value or errno";
	else if (an.walk_end != ae.walk_end)
		why = "walk_end";
	else if (cmp_vec && memcmp(vec_n, vec_e, cmp_len * sizeof(*vec_n)))
		why = "vec contents";
	if (!why)
		return;

	/* Deliberate divergences, by name. */
	wr = (an.category_mask | an.category_anyof_mask | an.return_mask) &
	     PAGE_IS_WRITTEN;
	if (!strcmp(why, "walk_end") &&
	    emu_quirk_stale_walk_end(an.vec_len, vn,
				     (uint64_t)n_written(vn, vcap),
				     an.walk_end))
		quirk = EMU_QUIRK_STALE_WALK_END;
	else if (wr && (en == 0 || en == EFAULT) &&
		 (ee == 0 || ee == EFAULT) &&
		 blocks_ambiguous(pid, fd, an.start, an.end, false))
		quirk = EMU_QUIRK_HOLE_WRITTEN;
	else if (ee == EOPNOTSUPP &&
		 (((an.category_mask | an.category_anyof_mask |
		    an.return_mask) & PAGE_IS_HUGE) ||
		  ((an.category_mask | an.category_anyof_mask |
		    an.return_mask | an.category_inverted) &
		   PAGE_IS_WPALLOWED) || an.flags))
		quirk = EMU_QUIRK_UNDECIDABLE;
	else if (can_hugetlb && (en == 0 || en == EFAULT) && !ee &&
		 blocks_ambiguous(pid, fd, an.start, an.end, true))
		quirk = EMU_QUIRK_HUGETLB_EMPTY_SLOT;
	if (quirk >= 0) {
		n_tolerated[quirk]++;
		return;
	}
	t_fail("seed %llu round %u case %u: %s differs%s",
	       (unsigned long long)seed, round, idx, why,
	       remote ? " (scanning a forked child)" : "");
	print_arg("request", &an);
	printf("  native: ret %d errno %d walk_end %#llx\n", rn_, en,
	       (unsigned long long)an.walk_end);
	printf("  emulate: ret %d errno %d walk_end %#llx\n", re, ee,
	       (unsigned long long)ae.walk_end);
	if (cmp_vec) {
		print_regions("native", vn, n_written(vn, an.vec_len < vcap ?
						      an.vec_len : vcap));
		print_regions("emulate", ve, n_written(ve, an.vec_len < vcap ?
						       an.vec_len : vcap));
	}
}

/*
 * The huge zero page in a MAP_PRIVATE mapping of /dev/zero: anonymous
 * memory (the driver's mmap makes the VMA anonymous) that maps shows
 * with the node's inode.  pagemap sets bit 61 for the huge zero page
 * (6.18 and older), the scan reports no FILE for it; the emulation must
 * not either, and must still see it as HUGE without PFNs.  Requests
 * compared exactly, no quirk tolerated.  Skipped (with the reason) where
 * no huge zero page is mapped.
 */
static void check_devzero_huge_zero(void)
{
	static const uint64_t masks[][3] = {	/* mask, anyof, return */
		{ 0, 0, ~UINT64_C(0) },
		{ PAGE_IS_FILE, 0, ~UINT64_C(0) },
		{ 0, PAGE_IS_FILE | PAGE_IS_HUGE, ~UINT64_C(0) },
		{ 0, 0, PAGE_IS_FILE },
		{ 0, 0, PAGE_IS_HUGE | PAGE_IS_PRESENT },
		{ PAGE_IS_HUGE, 0, PAGE_IS_HUGE | PAGE_IS_FILE },
	};
	size_t len = PMD_PAGES * psz, i;
	struct page_region rn_[4], re_[4];
	struct pm_scan_arg an, ae;
	int z, ret_n, ret_e, en;
	char *p, *blk;

	if (!can_thp) {
		printf("skip /dev/zero huge zero page: no THP\n");
		return;
	}
	z = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (z < 0)
		t_error("/dev/zero: %s", strerror(errno));
	p = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		t_error("mmap");
	blk = (char *)(((uintptr_t)p + len - 1) & ~(uintptr_t)(len - 1));
	map_fixed(blk, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
	close(z);
	if (madvise(blk, len, MADV_HUGEPAGE))
		printf("note: MADV_HUGEPAGE on /dev/zero refused\n");
	(void)*(volatile char *)blk;	/* a read fault: the huge zero page */
	an = t_arg(blk, blk + len, rn_, 4, 0, 0, 0, 0, 0, PAGE_IS_HUGE);
	ret_n = t_ioctl(pm_fd, &an, &en);
	if (ret_n != 1 || rn_[0].start != (uintptr_t)blk ||
	    rn_[0].end != (uintptr_t)blk + len ||
	    !(rn_[0].categories & PAGE_IS_HUGE)) {
		printf("skip /dev/zero huge zero page: none mapped (native "
		       "ret %d; use_zero_page off or THP disabled?)\n", ret_n);
		munmap(p, 2 * len);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(masks); i++) {
		an = t_arg(blk, blk + len, rn_, 4, 0, 0, 0,
			   masks[i][0] & claimed, masks[i][1] & claimed,
			   masks[i][2] & claimed);
		ae = an;
		ae.vec = (uintptr_t)re_;
		memset(rn_, 0, sizeof(rn_));
		memset(re_, 0, sizeof(re_));
		ret_n = t_ioctl(pm_fd, &an, &en);
		ret_e = emu_scan(pm_fd, getpid(), &ae);
		if (ret_n < 0)
			ret_n = -en;
		n_cases++;
		if (ret_n == ret_e && an.walk_end == ae.walk_end &&
		    !memcmp(rn_, re_, sizeof(rn_)))
			continue;
		t_fail("/dev/zero huge zero page, request %zu differs", i);
		print_arg("request", &an);
		printf("  native: ret %d walk_end %#llx\n", ret_n,
		       (unsigned long long)an.walk_end);
		printf("  emulate: ret %d walk_end %#llx\n", ret_e,
		       (unsigned long long)ae.walk_end);
		print_regions("native", rn_, ret_n > 0 ? ret_n : 0);
		print_regions("emulate", re_, ret_e > 0 ? ret_e : 0);
	}
	munmap(p, 2 * len);
}

/*
 * With no output buffer and no flag nothing a category decides is seen:
 * the kernel answers 0 with walk_end = end.  The emulation must too, even
 * where the category is one it cannot decide (a VMA holding a PMD-mapped
 * THP and a PTE-mapped one: EMU_QUIRK_UNDECIDABLE with a vec).  Compared
 * exactly; skipped, saying why, without THPs.
 */
static void check_novec_undecidable(void)
{
	static const uint64_t masks[][3] = {	/* mask, anyof, return */
		{ 0, 0, PAGE_IS_HUGE },
		{ PAGE_IS_HUGE, 0, PAGE_IS_HUGE | PAGE_IS_PRESENT },
		{ 0, PAGE_IS_HUGE, ~UINT64_C(0) },
	};
	size_t len = PMD_PAGES * psz, i, k;
	struct page_region r[4];
	struct pm_scan_arg an, ae;
	int ret_n, ret_e, en;
	char *p, *blk;

	if (!can_thp || !(claimed & PAGE_IS_HUGE)) {
		printf("skip no-vec undecidable: no THP or HUGE\n");
		return;
	}
	p = mmap(NULL, 3 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		t_error("mmap");
	blk = (char *)(((uintptr_t)p + len - 1) & ~(uintptr_t)(len - 1));
	map_fixed(blk, 2 * len, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(blk, 2 * len, MADV_HUGEPAGE);
	memset(blk, 1, 2 * len);
	/* Split the second PMD, merge the VMA back: PTE-mapped THP. */
	mprotect(blk + len + 7 * psz, psz, PROT_READ);
	mprotect(blk + len, len, PROT_READ | PROT_WRITE);
	an = t_arg(blk, blk + 2 * len, r, 4, 0, 0, 0, 0, 0, PAGE_IS_HUGE);
	ret_n = t_ioctl(pm_fd, &an, &en);
	if (ret_n < 1 || r[0].start != (uintptr_t)blk ||
	    r[0].end != (uintptr_t)blk + len ||
	    r[0].categories != PAGE_IS_HUGE) {
		printf("skip no-vec undecidable: no PMD-mapped THP (native "
		       "ret %d)\n", ret_n);
		munmap(p, 3 * len);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(masks); i++) {
		for (k = 0; k < 2; k++) {
			an = t_arg(blk, blk + (k ? 2 * len : psz),
				   k ? r : NULL, 0, 0, k ? 1 : 0, 0,
				   masks[i][0] & claimed,
				   masks[i][1] & claimed,
				   masks[i][2] & claimed);
			ae = an;
			ret_n = t_ioctl(pm_fd, &an, &en);
			ret_e = emu_scan(pm_fd, getpid(), &ae);
			if (ret_n < 0)
				ret_n = -en;
			n_cases++;
			if (ret_n == ret_e && an.walk_end == ae.walk_end)
				continue;
			t_fail("no vec, request %zu/%zu: native ret %d "
			       "walk_end %#llx, emulate ret %d walk_end %#llx",
			       i, k, ret_n, (unsigned long long)an.walk_end,
			       ret_e, (unsigned long long)ae.walk_end);
			print_arg("request", &an);
		}
	}
	munmap(p, 3 * len);
}

/* A vec that ends where a PROT_NONE page starts (case 20). */
static struct page_region *vec_before_hole(void)
{
	size_t len = (VEC_CAP * sizeof(struct page_region) + psz - 1) &
		     ~(psz - 1);
	char *p = t_map(len + psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);

	if (mprotect(p + len, psz, PROT_NONE))
		t_error("mprotect");
	return (struct page_region *)(p + len) - VEC_CAP;
}

/*
 * The range from the lowest file mapping of a shared library up to the
 * end of [vdso]: file-backed VMAs, [vvar] and gaps, none of which change
 * between the two scans of a case (not under ASan, whose allocator maps
 * memory anywhere).
 */
static void find_libs(void)
{
#ifndef __SANITIZE_ADDRESS__
	struct ps_maps m;
	size_t i;

	if (ps_maps_read(getpid(), 0, &m))
		return;
	for (i = 0; i < m.n; i++) {
		const char *name = ps_vma_name(&m, &m.v[i]);

		if (strstr(name, "/lib") && strstr(name, ".so") &&
		    (!lib_lo || m.v[i].start < lib_lo))
			lib_lo = m.v[i].start;
		if (!strcmp(name, "[vdso]"))
			lib_hi = m.v[i].end;
	}
	ps_maps_free(&m);
	if (!lib_hi || lib_lo >= lib_hi || lib_hi - lib_lo > (1ULL << 32))
		lib_lo = lib_hi = 0;
#endif
}

static void start_child(void)
{
	char path[64];

	child = fork();
	if (child < 0)
		t_error("fork");
	if (!child) {
		for (;;)
			pause();
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)child);
	child_pm = open(path, O_RDONLY | O_CLOEXEC);
	if (child_pm < 0)
		t_error("open %s", path);
}

static void stop_child(void)
{
	if (!child)
		return;
	close(child_pm);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = 0;
	child_pm = -1;
}

/* Requests for what the emulation cannot compute fail with EINVAL. */
static void check_unavailable(void)
{
	char *p = t_map(4 * psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct page_region r[4];
	unsigned int bit;
	int ret;

	t_touch(p, psz);
	for (bit = 0; bit < 64; bit++) {
		const char *why = NULL;
		uint64_t m = UINT64_C(1) << bit;
		bool ok = bit < PAGESCAN_CAT_COUNT &&
			  emu_category_support(bit, &why) == 1;
		struct pm_scan_arg a = t_arg(p, p + 4 * psz, r, 4, 0, 0, 0, 0,
					     0, 0);
		unsigned int f;

		t_check(ok == !!(emu_categories() & m),
			"bit %u: support and mask disagree", bit);
		if (bit < PAGESCAN_CAT_COUNT)
			t_check(why && *why, "bit %u: no reason", bit);
		for (f = 0; f < 4; f++) {
			a.walk_end = SENTINEL;
			a.category_inverted = f == 0 ? m : 0;
			a.category_mask = f == 1 ? m : 0;
			a.category_anyof_mask = f == 2 ? m : 0;
			a.return_mask = f == 3 ? m : 0;
			ret = emu_scan(pm_fd, getpid(), &a);
			if (ok) {
				t_check(ret >= 0, "bit %u field %u: %d", bit,
					f, ret);
			} else {
				t_check(ret == -EINVAL,
					"unavailable bit %u field %u: %d (%s)",
					bit, f, ret, why ? why : "");
				t_eq(a.walk_end, SENTINEL);
			}
		}
	}
	for (bit = 0; bit < 2; bit++) {
		uint64_t flag = UINT64_C(1) << bit;
		const char *why = NULL;
		struct pm_scan_arg a = t_arg(p, p + 4 * psz, r, 4, flag, 0, 0,
					     0, 0, 0);
		int ok = emu_flag_support(flag, &why);

		t_check(why && *why, "flag %u: no reason", bit);
		t_check(ok == !!(emu_flags() & flag), "flag %u disagree", bit);
		a.walk_end = SENTINEL;
		ret = emu_scan(pm_fd, getpid(), &a);
		if (!ok) {
			t_check(ret == -EINVAL, "unavailable flag %u: %d",
				bit, ret);
			t_eq(a.walk_end, SENTINEL);
		} else {
			/* No uffd-wp VMA here: CHECK_WPASYNC gives EPERM. */
			t_check(ret == -EPERM || ret >= 0, "flag %u: %d", bit,
				ret);
		}
		printf("flag %u: %s (%s)\n", bit, ok ? "emulated" :
		       "unavailable", why);
	}
	for (bit = 0; bit < PAGESCAN_CAT_COUNT; bit++) {
		const char *why = NULL;
		int ok = emu_category_support(bit, &why);

		printf("category %-10s %s (%s)\n", pagescan_category_name(bit),
		       ok ? "emulated" : "unavailable", why);
	}
	munmap(p, 4 * psz);
}

/*
 * A self scan whose vec lies in the range, unpopulated, with vec_len past
 * one bounce buffer: the kernel copies each full buffer out, then walks
 * on from where it stopped and sees the vec pages it populated.  The
 * emulation batched its copies and walked on with entries read before:
 * other regions, and another count (a first scan into a fresh malloc()).
 */
static void vec_layout(char *p, size_t np, size_t vp)
{
	size_t i;

	if (mmap(p, (np + vp) * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
		t_error("mmap");
	madvise(p, (np + vp) * psz, MADV_NOHUGEPAGE);
	for (i = 0; i < np + vp; i += 2)
		if (i < np / 2 || i >= np / 2 + vp)
			p[i * psz] = 1;
}

static void check_vec_in_range(void)
{
	static const size_t lens[][2] = { { 700, 1100 }, { 3000, 2400 },
					  { 1024, 3000 }, { 513, 1100 } };
	static struct page_region ref[4096];
	size_t k, vp = 64;

	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t vl = lens[k][0], np = lens[k][1];
		char *p = arena;
		struct page_region *vec = (void *)(p + np / 2 * psz);
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = (uintptr_t)p,
			.end = (uintptr_t)(p + (np + vp) * psz),
			.vec = (uintptr_t)vec, .vec_len = vl,
			.return_mask = PAGE_IS_PRESENT,
		}, ae = a;
		int rn_, re;

		vec_layout(p, np, vp);
		rn_ = ioctl(pm_fd, PAGEMAP_SCAN, &a);
		if (rn_ < 0 || (size_t)rn_ > sizeof(ref) / sizeof(ref[0]))
			t_error("PAGEMAP_SCAN: %d", rn_);
		memcpy(ref, vec, (size_t)rn_ * sizeof(*vec));
		vec_layout(p, np, vp);
		re = emu_scan(pm_fd, getpid(), &ae);
		/* The kernel's walk_end after a restart: a named quirk. */
		if (ae.walk_end != a.walk_end && re == rn_ &&
		    emu_quirk_stale_walk_end(vl, ref, (uint64_t)rn_,
					     a.walk_end)) {
			n_tolerated[EMU_QUIRK_STALE_WALK_END]++;
			ae.walk_end = a.walk_end;
		}
		t_check(re == rn_ && ae.walk_end == a.walk_end &&
			!memcmp(ref, vec, (size_t)rn_ * sizeof(*vec)),
			"vec in the range, vec_len %zu: native %d walk_end +%#llx,"
			" emulated %d +%#llx%s", vl, rn_,
			(unsigned long long)(a.walk_end - a.start), re,
			(unsigned long long)(ae.walk_end - a.start),
			re == rn_ ? ", other regions" : "");
	}
	if (mmap(arena, ARENA_PAGES * psz, PROT_NONE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != arena)
		t_error("arena");
	printf("vec in the scanned range: %zu cases\n", k);
}

int main(void)
{
	const char *env = getenv("PAGESCAN_SEED");
	/* Fewer under TCG (tests/vm/init): each round is a fresh layout. */
	const char *renv = getenv("EMU_DIFF_ROUNDS");
	unsigned int rounds = renv && atoi(renv) > 0 ?
			      (unsigned int)atoi(renv) : ROUNDS;
	uint64_t hint;
	unsigned int round, i;
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC,
	};

	t_init("emu-diff");
	(void)ps_backend(PAGESCAN_BACKEND_EMULATE);
	psz = t_psz;
	pm_fd = t_pagemap_fd();
	/* The emulation's own allocations must not land in the arena. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	claimed = emu_categories();

	check_unavailable();
	if (pagescan_probe(PAGESCAN_FEAT_SCAN) != 1) {
		if (t_failures)
			t_done();
		t_skip("no native PAGEMAP_SCAN to compare against");
	}
	/* A category the kernel lacks cannot be compared either. */
	claimed &= ps_native_categories();

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^
	       (uint64_t)getpid() << 16;
	printf("seed %llu (PAGESCAN_SEED=%llu to replay)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	rng_state = seed;

	vec_n = vec_before_hole();
	vec_e = vec_before_hole();
	bad_vec = t_map(psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	ro_vec = t_map(psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	ro_arg_n = t_map(psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	ro_arg_e = t_map(psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	if (!vec_n || !vec_e)
		t_error("calloc");
	file_fd = t_tmpfile(64 * psz + 128 * psz, 'f');
	memfd = (int)syscall(SYS_memfd_create, "emu-diff", 0);
	if (memfd < 0 || ftruncate(memfd, (off_t)(256 * psz)))
		t_error("memfd");
	can_thp = pagescan_probe(PAGESCAN_FEAT_THP) == 1;
	can_guard = pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) == 1;
	if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) == 1) {
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
				    UFFD_USER_MODE_ONLY);
		can_uffd = uffd >= 0 && !ioctl(uffd, UFFDIO_API, &api);
	}
	if (t_root() && t_swap_on(64) == 0)
		can_swap = true;
	if (t_root() && t_hugepages(8) >= 4)
		can_hugetlb = true;
	find_libs();
	check_devzero_huge_zero();
	check_novec_undecidable();
	printf("thp %d guard %d uffd-wp-async %d swap %d hugetlb %d "
	       "claimed %s\n", can_thp, can_guard, can_uffd, can_swap,
	       can_hugetlb, t_cats(claimed));

	/*
	 * The arena sits far below the mmap base, so that no allocation
	 * made between the two scans of a case can land in its holes.
	 */
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer's shadow is up there: its low application range. */
	hint = (UINT64_C(0x1000000000) + (rn(1 << 8) << 30)) &
#else
	hint = (UINT64_C(0x100000000000) + (rn(1 << 12) << 30)) &
#endif
	       ~((uint64_t)PMD_PAGES * psz - 1);
	arena = mmap((void *)(uintptr_t)hint, ARENA_PAGES * psz, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		     MAP_FIXED_NOREPLACE, -1, 0);
	if (arena == MAP_FAILED)
		t_error("arena");
	check_vec_in_range();

	for (round = 0; round < rounds && t_failures < 5; round++) {
		build_layout();
		/* Every other round, a forked child is scanned too. */
		if (round & 1)
			start_child();
		for (i = 0; i < CASES && t_failures < 5; i++)
			one_case(round, i);
		stop_child();
	}
	printf("%lu cases (%lu errors), tolerated:", n_cases, n_errcases);
	for (i = 0; i < EMU_QUIRK__COUNT; i++)
		printf(" %s %lu", emu_quirks[i].name, n_tolerated[i]);
	printf("\n");
	if (uffd >= 0)
		close(uffd);
	t_done();
}
