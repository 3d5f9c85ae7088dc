// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What the emulation can compute for this caller, from the facts the
 * probes found (handed in by the backend table) and a few probes of its
 * own on the caller's memory (the zero page's PFN, how pagemap shows the
 * huge zero page).  The answers feed validation (unavailable bits are
 * EINVAL, as on a kernel that lacks them) and pagescan_feature_info().
 */
#include "emu.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static struct emu_caps caps PS_STATE;

/* The PFN of the shared zero page: a read fault maps it (root only). */
static bool find_zero_pfn(uint64_t *pfn)
{
	size_t psz = ps_pagesz();
	volatile char *p;
	uint64_t e = 0, kf = 0;
	int fd, kfd;
	bool ok = false;

	p = mmap(NULL, psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	(void)p[0];
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && kfd >= 0 &&
	    sys_pread_full(fd, &e, 8, (off_t)((uintptr_t)p / psz * 8)) == 8 &&
	    (e & PM_ENTRY_PRESENT) && (e & PM_ENTRY_PFN_MASK) &&
	    sys_pread_full(kfd, &kf, 8,
			   (off_t)((e & PM_ENTRY_PFN_MASK) * 8)) == 8 &&
	    (kf & KPF_ZERO)) {
		*pfn = e & PM_ENTRY_PFN_MASK;
		ok = true;
	}
	if (fd >= 0)
		close(fd);
	if (kfd >= 0)
		close(kfd);
	munmap((void *)p, psz);
	return ok;
}

/*
 * Does pagemap show the huge zero page with bit 61 (FILE)?  It does where
 * the PMD path looks at the PMD's page instead of vm_normal_page (6.18
 * and older): a private anonymous VMA can hold no file page, so there a
 * fully present, bit-61 block is the huge zero page, PFNs or not.  Asked
 * by read-faulting an aligned MADV_HUGEPAGE block.
 */
static bool probe_huge_zero_file(uint64_t psz)
{
	size_t pmd = psz << 9, len = 2 * pmd, k;
	uint64_t *e = malloc(512 * 8);
	bool ok = false;
	char *p, *a;
	int fd;

	if (!e)
		return false;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(e);
		return false;
	}
	a = (char *)(((uintptr_t)p + pmd - 1) & ~(uintptr_t)(pmd - 1));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !madvise(a, pmd, MADV_HUGEPAGE)) {
		(void)*(volatile char *)a;
		off_t off = (off_t)((uintptr_t)a / psz * 8);

		if (sys_pread_full(fd, e, 512 * 8, off) == 512 * 8) {
			ok = true;
			for (k = 0; k < 512 && ok; k++)
				ok = (e[k] & (PM_ENTRY_PRESENT |
					      PM_ENTRY_FILE)) ==
				     (PM_ENTRY_PRESENT | PM_ENTRY_FILE);
		}
	}
	if (fd >= 0)
		close(fd);
	munmap(p, len);
	free(e);
	return ok;
}

/*
 * Where our /dev/zero node lives: maps names a private mapping of it by
 * that node (device of its filesystem, inode), though the memory is
 * anonymous.  Only the real zero device (char 1:5) counts.
 */
static void find_devzero(struct emu_caps *c)
{
	struct stat st;

	if (stat("/dev/zero", &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(1, 5))
		return;
	c->devzero_major = major(st.st_dev);
	c->devzero_minor = minor(st.st_dev);
	c->devzero_ino = st.st_ino;
	c->devzero_known = true;
}

void emu_caps_init(const struct ps_facts *f)
{
	struct emu_caps *c = &caps;
	char buf[64];
	unsigned int i;

	c->user_limit = f->user_limit;
	c->shm_known = !sys_shm_dev(&c->shm_major, &c->shm_minor);
	find_devzero(c);
	c->pfn = f->pfn && f->kpageflags;
	c->native_wp = f->uffd_wp_async && f->pagemap_wp_bit;
	/* A PMD-mapped huge zero page needs THP and use_zero_page. */
	c->huge_zero_possible = f->thp &&
		(sys_read_small("/sys/kernel/mm/transparent_hugepage/use_zero_page",
			    buf, sizeof(buf)) || buf[0] != '0');
	if (c->pfn)
		c->have_zero_pfn = find_zero_pfn(&c->zero_pfn);
	else if (c->huge_zero_possible)
		c->huge_zero_file = probe_huge_zero_file(ps_pagesz());

	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		c->why[i] = "";
	c->cats = PAGE_IS_FILE | PAGE_IS_PRESENT | PAGE_IS_SWAPPED |
		  PAGE_IS_SOFT_DIRTY;
	c->why[2] = "pagemap bit 61 (not for the zero page)";
	c->why[3] = "pagemap bit 63";
	c->why[4] = "pagemap bit 62 (hugetlb: derived from bit 57)";
	c->why[7] = f->soft_dirty ?
		"pagemap bit 55 (pages and VM_SOFTDIRTY)" :
		"pagemap bit 55; no CONFIG_MEM_SOFT_DIRTY: accepted, never "
		"set, as the kernel does";

	if (c->native_wp) {
		c->cats |= PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED;
		c->flags |= PM_SCAN_CHECK_WPASYNC;
		c->why[0] = "smaps VmFlags uw plus the WP_ASYNC feature of "
			    "the target's userfaultfds (fdinfo)";
		c->why[1] = "pagemap bit 57 clear; unpopulated pages count "
			    "as written (never hides a written page)";
		c->flag_why[1] = c->why[0];
	} else {
		c->why[0] = c->why[1] = c->flag_why[1] =
			"needs UFFD_FEATURE_WP_ASYNC with pagemap bit 57, or "
			"a write-watch provider (none installed)";
	}
	c->flag_why[0] = "write-protecting needs a write-watch provider "
			 "(none installed)";

	if (c->pfn) {
		c->cats |= PAGE_IS_PFNZERO;
		c->why[5] = c->have_zero_pfn ?
			"PFN from pagemap is the zero page (kpageflags "
			"bit 24)" :
			"PFN and kpageflags readable; read faults map no zero "
			"page here, so never set";
	} else {
		c->why[5] = "needs PFNs in pagemap and /proc/kpageflags "
			    "(CAP_SYS_ADMIN)";
	}
	if (c->pfn) {
		c->cats |= PAGE_IS_HUGE;
		c->why[6] = "hugetlb from smaps; THP from aligned PFN-"
			    "contiguous blocks, kpageflags THP/zero and smaps "
			    "PMD-mapped counts";
	} else if (!c->huge_zero_possible || c->huge_zero_file) {
		c->cats |= PAGE_IS_HUGE;
		c->why[6] = c->huge_zero_file ?
			"hugetlb from smaps; THP from fully present aligned "
			"blocks checked against smaps PMD-mapped counts; the "
			"huge zero page by pagemap bit 61 in anonymous VMAs" :
			"hugetlb from smaps; THP from fully present aligned "
			"blocks checked against smaps "
			"AnonHugePages/ShmemPmdMapped/FilePmdMapped";
	} else {
		c->why[6] = "a PMD-mapped huge zero page cannot be told from "
			    "small pages without PFNs (CAP_SYS_ADMIN)";
	}
	if (f->pagemap_guard_bit) {
		c->cats |= PAGE_IS_GUARD;
		c->why[8] = "pagemap bit 58";
	} else {
		c->why[8] = "pagemap has no guard bit 58 (needs 6.15)";
	}
}

const struct emu_caps *emu_caps(void)
{
	return &caps;
}

#define PROVIDER_CATS (PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED)
#define PROVIDER_WHY "from the installed write-watch provider (calling " \
		     "process only)"

uint64_t emu_categories(void)
{
	uint64_t c = emu_caps()->cats;

	if (emu_wp_installed())
		c |= PROVIDER_CATS;
	return c;
}

uint64_t emu_flags(void)
{
	uint64_t f = emu_caps()->flags;

	if (emu_wp_installed())
		f |= PS_SCAN_FLAGS;
	return f;
}

int emu_category_support(unsigned int bit, const char **reason)
{
	const struct emu_caps *c = emu_caps();
	uint64_t m;

	if (bit >= PAGESCAN_CAT_COUNT) {
		if (reason)
			*reason = "unknown category bit";
		return 0;
	}
	m = UINT64_C(1) << bit;
	if ((m & PROVIDER_CATS) && !(c->cats & m) && emu_wp_installed()) {
		if (reason)
			*reason = PROVIDER_WHY;
		return 1;
	}
	if (reason)
		*reason = c->why[bit];
	return !!(c->cats & m);
}

int emu_flag_support(uint64_t flag, const char **reason)
{
	const struct emu_caps *c = emu_caps();
	int i;

	if (flag != PM_SCAN_WP_MATCHING && flag != PM_SCAN_CHECK_WPASYNC) {
		if (reason)
			*reason = "unknown flag";
		return 0;
	}
	i = flag == PM_SCAN_WP_MATCHING ? 0 : 1;
	if (!(c->flags & flag) && emu_wp_installed()) {
		if (reason)
			*reason = PROVIDER_WHY;
		return 1;
	}
	if (reason)
		*reason = c->flag_why[i];
	return !!(c->flags & flag);
}

