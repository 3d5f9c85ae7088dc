// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Feature probes.  Each one asks the running kernel by doing the thing
 * (never by its version number), once per process, and caches a
 * tri-state answer: 1 yes, 0 no, negative errno when the probe itself
 * failed in a way that says nothing about the feature.  EINVAL and ENOTTY
 * from a probe mean "absent" (what a kernel that does not know a request
 * or a bit answers); any other error is reported as such (CRIU's rule).
 *
 * This file holds the table, its cache, and the probes of PAGEMAP_SCAN,
 * pagemap and memory kinds; probe_uffd.c those of userfaultfd; facts.c
 * what is handed to the backends.
 */
#include "probe.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct feature {
	const char *name;
	const char *desc;
	int (*probe)(char *reason, size_t len);
	bool done;
	int result;
	char reason[160];
};

static pthread_mutex_t probe_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;

/* A PAGEMAP_SCAN over nothing: start == end is valid and walks nothing. */
static int scan_nothing(uint64_t flags, uint64_t mask)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags, .category_mask = mask,
	};
	int fd, ret;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = sys_pagemap_scan(fd, &a);
	close(fd);
	return ret;
}

int ps_probe_absent_or_error(int err, char *reason, size_t len,
			     const char *what)
{
	if (err == -EINVAL || err == -ENOTTY) {
		REASON("%s rejected (%s)", what,
		       err == -EINVAL ? "EINVAL" : "ENOTTY");
		return 0;
	}
	REASON("probe failed: %s", strerror(-err));
	return err;
}

static int probe_scan(char *reason, size_t len)
{
	int ret = scan_nothing(0, 0);

	if (ret >= 0) {
		REASON("ioctl(PAGEMAP_SCAN) accepted (Linux 6.7+)");
		return 1;
	}
	if (ret == -EINVAL || ret == -ENOTTY) {
		REASON("kernel has no PAGEMAP_SCAN ioctl (needs Linux 6.7)");
		return 0;
	}
	return ps_probe_absent_or_error(ret, reason, len, "PAGEMAP_SCAN");
}

static int probe_cat(unsigned int bit, char *reason, size_t len)
{
	int ret = ps_native_scan();

	if (ret <= 0) {
		REASON("no PAGEMAP_SCAN ioctl");
		return ret;
	}
	ret = scan_nothing(0, UINT64_C(1) << bit);
	if (ret >= 0) {
		REASON("bit %u accepted by the kernel", bit);
		return 1;
	}
	if (ret == -EINVAL) {
		REASON("kernel rejects bit %u (%s)", bit,
		       bit == 7 ? "added in 6.8" :
		       bit == 8 ? "added in 6.16" : "unknown");
		return 0;
	}
	return ps_probe_absent_or_error(ret, reason, len, "category");
}

#define CAT_PROBE(bit)							\
	static int probe_cat##bit(char *reason, size_t len)		\
	{								\
		return probe_cat(bit, reason, len);			\
	}
CAT_PROBE(0) CAT_PROBE(1) CAT_PROBE(2) CAT_PROBE(3) CAT_PROBE(4)
CAT_PROBE(5) CAT_PROBE(6) CAT_PROBE(7) CAT_PROBE(8)

static int probe_flag(uint64_t flag, char *reason, size_t len)
{
	int ret = ps_native_scan();

	if (ret <= 0) {
		REASON("no PAGEMAP_SCAN ioctl");
		return ret;
	}
	ret = scan_nothing(flag, 0);
	if (ret >= 0) {
		REASON("flag accepted by the kernel");
		return 1;
	}
	return ps_probe_absent_or_error(ret, reason, len, "flag");
}

static int probe_wp_matching(char *reason, size_t len)
{
	return probe_flag(PM_SCAN_WP_MATCHING, reason, len);
}

static int probe_check_wpasync(char *reason, size_t len)
{
	return probe_flag(PM_SCAN_CHECK_WPASYNC, reason, len);
}

/* Read the pagemap entry of one of our pages. */
static int self_entry(const void *p, uint64_t *e)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (sys_pread_full(fd, e, 8, (off_t)((uintptr_t)p / ps_pagesz() * 8))
	    != 8)
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * A new VMA carries VM_SOFTDIRTY until the first clear_refs, so a page
 * written in a fresh mapping reads soft-dirty exactly when the kernel has
 * CONFIG_MEM_SOFT_DIRTY.  This asks without writing clear_refs, which
 * would reset the whole process's soft-dirty state under the caller.
 */
/* The pagemap entry of a page written in a fresh private mapping. */
static int fresh_written_entry(uint64_t *e)
{
	size_t psz = ps_pagesz();
	char *p;
	int ret;

	p = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	p[0] = 1;
	ret = self_entry(p, e);
	munmap(p, psz);
	return ret;
}

static int probe_soft_dirty(char *reason, size_t len)
{
	uint64_t e;
	int ret = fresh_written_entry(&e);

	if (ret)
		return ret;
	ret = !!(e & PM_ENTRY_SOFT_DIRTY);
	REASON(ret ? "pagemap bit 55 set on a fresh written page" :
	       "pagemap bit 55 never set (kernel without CONFIG_MEM_SOFT_DIRTY)");
	return ret;
}

static int probe_pfn(char *reason, size_t len)
{
	uint64_t e;
	int ret = fresh_written_entry(&e);

	if (ret)
		return ret;
	ret = (e & PM_ENTRY_PFN_MASK) != 0;
	REASON(ret ? "pagemap shows PFNs to this caller" :
	       "PFNs hidden (needs CAP_SYS_ADMIN, Linux 4.2+)");
	return ret;
}

static int probe_kpageflags(char *reason, size_t len)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		REASON("/proc/kpageflags: %s", strerror(errno));
		return errno == ENOENT || errno == EACCES || errno == EPERM ?
			0 : -errno;
	}
	close(fd);
	REASON("/proc/kpageflags readable");
	return 1;
}

/*
 * Does a read fault on private anonymous memory map the shared zero page?
 * Asked through PAGE_IS_PFNZERO where the kernel has it, else through the
 * PFN and kpageflags (root only).
 */
static int probe_zero_page(char *reason, size_t len)
{
	size_t psz = ps_pagesz();
	volatile char *p;
	int ret;

	p = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	(void)p[0];
	if (pagescan_probe(PAGESCAN_FEAT_CAT_PFNZERO) == 1) {
		struct page_region r;
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = (uintptr_t)p,
			.end = (uintptr_t)p + psz, .vec = (uintptr_t)&r,
			.vec_len = 1, .category_mask = PAGE_IS_PFNZERO,
			.return_mask = PAGE_IS_PFNZERO,
		};
		int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

		ret = fd < 0 ? -errno : sys_pagemap_scan(fd, &a);
		if (fd >= 0)
			close(fd);
		if (ret >= 0)
			REASON(ret ? "a read fault maps the zero page" :
			       "a read fault maps a fresh page (no zero page)");
		ret = ret > 0 ? 1 : ret;
	} else if (pagescan_probe(PAGESCAN_FEAT_PFN) == 1 &&
		   pagescan_probe(PAGESCAN_FEAT_KPAGEFLAGS) == 1) {
		uint64_t e, kf = 0;
		int fd;

		ret = self_entry((const void *)p, &e);
		if (!ret && !(e & PM_ENTRY_PRESENT))
			ret = -EIO;
		if (!ret) {
			fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
			if (fd < 0 || sys_pread_full(fd, &kf, 8,
			    (off_t)((e & PM_ENTRY_PFN_MASK) * 8)) != 8)
				ret = -EIO;
			if (fd >= 0)
				close(fd);
		}
		if (!ret) {
			ret = !!(kf & (UINT64_C(1) << KPF_ZERO_PAGE_BIT));
			REASON(ret ? "a read fault maps the zero page" :
			       "a read fault maps a fresh page (no zero page)");
		}
	} else {
		ret = -EPERM;
		REASON("cannot tell: no PAGE_IS_PFNZERO and no PFN access");
	}
	munmap((void *)p, psz);
	return ret;
}

static int probe_thp(char *reason, size_t len)
{
	char buf[128];
	int ret;

	ret = sys_read_small("/sys/kernel/mm/transparent_hugepage/enabled",
			    buf, sizeof(buf));
	if (ret == -ENOENT) {
		REASON("kernel without CONFIG_TRANSPARENT_HUGEPAGE");
		return 0;
	}
	if (ret)
		return ret;
	if (strstr(buf, "[never]")) {
		REASON("transparent_hugepage/enabled is never");
		return 0;
	}
	REASON("transparent_hugepage/enabled: %s",
	       strstr(buf, "[always]") ? "always" : "madvise");
	return 1;
}

/*
 * A private anonymous hugetlb mapping of one @size page (@flags: its
 * MAP_HUGE_* size, 0 for the default): 1 it can be made, 0 no page free
 * (or no such size), -errno.  The length is the page size exactly: a
 * shorter one is rounded up by mmap, but munmap of it would have to split
 * the huge page and fails (EINVAL), leaking, say, a 1 GiB page.
 */
static int try_hugetlb(uint64_t size, int flags)
{
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flags,
		       -1, 0);

	if (p == MAP_FAILED) {
		int err = errno;

		return err == ENOMEM || err == EINVAL || err == ENOSYS ?
		       0 : -err;
	}
	munmap(p, (size_t)size);
	return 1;
}

static int probe_hugetlb(char *reason, size_t len)
{
	uint64_t def, sizes[8];
	int ret, n, i;

	ret = sys_hugepage_default(&def);
	if (ret == -ENOENT) {
		REASON("no Hugepagesize in /proc/meminfo "
		       "(kernel without CONFIG_HUGETLBFS)");
		return 0;
	}
	if (ret)
		return ret;
	ret = try_hugetlb(def, 0);
	if (ret == 1) {
		REASON("a MAP_HUGETLB mapping can be made");
		return 1;
	}
	if (ret < 0) {
		REASON("mmap(MAP_HUGETLB): %s", strerror(-ret));
		return ret;
	}
	/*
	 * None free of the default size (booted with default_hugepagesz=1G,
	 * pages reserved of 2 MiB): a pool of another size serves as well,
	 * asked for with MAP_HUGE_SHIFT (3.8+).
	 */
	n = sys_hugepage_sizes(sizes, 8);
	for (i = 0; i < n; i++) {
		int shift = __builtin_ctzll(sizes[i]);

		if (sizes[i] == def || sizes[i] != UINT64_C(1) << shift)
			continue;
		if (try_hugetlb(sizes[i], shift << MAP_HUGE_SHIFT) == 1) {
			REASON("a MAP_HUGETLB mapping of %" PRIu64 " kB pages "
			       "can be made (none free of the default %"
			       PRIu64 " kB)", sizes[i] >> 10, def >> 10);
			return 1;
		}
	}
	REASON("no free huge page of the default %" PRIu64 " kB "
	       "(vm.nr_hugepages) or of another size", def >> 10);
	return 0;
}

static int probe_guard_regions(char *reason, size_t len)
{
	size_t psz = ps_pagesz();
	uint64_t e = 0;
	void *p;
	int ret;

	p = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ret = madvise(p, psz, MADV_GUARD_INSTALL) ? -errno : 1;
	if (ret == 1) {
		REASON("MADV_GUARD_INSTALL works (6.13+)");
		(void)self_entry(p, &e);
	} else {
		ret = ps_probe_absent_or_error(ret, reason, len,
					       "MADV_GUARD_INSTALL");
	}
	munmap(p, psz);
	return ret;
}

static int probe_pagemap_guard_bit(char *reason, size_t len)
{
	size_t psz = ps_pagesz();
	uint64_t e = 0;
	void *p;
	int ret;

	if (pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) != 1) {
		REASON("no guard regions (MADV_GUARD_INSTALL, 6.13)");
		return 0;
	}
	p = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ret = madvise(p, psz, MADV_GUARD_INSTALL) ? -errno : self_entry(p, &e);
	munmap(p, psz);
	if (ret)
		return ret;
	ret = !!(e & PM_ENTRY_GUARD);
	REASON(ret ? "pagemap marks guard pages with bit 58" :
	       "pagemap has no guard bit (needs 6.15)");
	return ret;
}

static struct feature features[PAGESCAN_FEAT__COUNT] PS_STATE = {
	[PAGESCAN_FEAT_SCAN] = { "scan", "PAGEMAP_SCAN ioctl (6.7)",
				 probe_scan },
	[PAGESCAN_FEAT_CAT_WPALLOWED] = { "cat:wpallowed",
		"PAGE_IS_WPALLOWED: VMA armed for async uffd-wp", probe_cat0 },
	[PAGESCAN_FEAT_CAT_WRITTEN] = { "cat:written",
		"PAGE_IS_WRITTEN: no uffd-wp protection on the entry",
		probe_cat1 },
	[PAGESCAN_FEAT_CAT_FILE] = { "cat:file",
		"PAGE_IS_FILE: page cache or shmem page", probe_cat2 },
	[PAGESCAN_FEAT_CAT_PRESENT] = { "cat:present",
		"PAGE_IS_PRESENT: page in memory", probe_cat3 },
	[PAGESCAN_FEAT_CAT_SWAPPED] = { "cat:swapped",
		"PAGE_IS_SWAPPED: swap or other non-present entry",
		probe_cat4 },
	[PAGESCAN_FEAT_CAT_PFNZERO] = { "cat:pfnzero",
		"PAGE_IS_PFNZERO: the shared zero page", probe_cat5 },
	[PAGESCAN_FEAT_CAT_HUGE] = { "cat:huge",
		"PAGE_IS_HUGE: PMD-mapped THP or hugetlb page", probe_cat6 },
	[PAGESCAN_FEAT_CAT_SOFT_DIRTY] = { "cat:soft-dirty",
		"PAGE_IS_SOFT_DIRTY (6.8)", probe_cat7 },
	[PAGESCAN_FEAT_CAT_GUARD] = { "cat:guard",
		"PAGE_IS_GUARD: MADV_GUARD_INSTALL marker (6.16)",
		probe_cat8 },
	[PAGESCAN_FEAT_WP_MATCHING] = { "flag:wp-matching",
		"PM_SCAN_WP_MATCHING: write-protect what is reported",
		probe_wp_matching },
	[PAGESCAN_FEAT_CHECK_WPASYNC] = { "flag:check-wpasync",
		"PM_SCAN_CHECK_WPASYNC: fail on VMAs not armed for async WP",
		probe_check_wpasync },
	[PAGESCAN_FEAT_UFFD] = { "uffd", "userfaultfd(2) for this caller",
				 ps_probe_uffd },
	[PAGESCAN_FEAT_UFFD_WP] = { "uffd-wp",
		"userfaultfd write-protect mode (5.7)", ps_probe_uffd_wp },
	[PAGESCAN_FEAT_UFFD_WP_UNPOPULATED] = { "uffd-wp-unpopulated",
		"UFFD_FEATURE_WP_UNPOPULATED (6.4)",
		ps_probe_uffd_wp_unpopulated },
	[PAGESCAN_FEAT_UFFD_WP_ASYNC] = { "uffd-wp-async",
		"UFFD_FEATURE_WP_ASYNC (6.7)", ps_probe_uffd_wp_async },
	[PAGESCAN_FEAT_SOFT_DIRTY] = { "soft-dirty",
		"soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)", probe_soft_dirty },
	[PAGESCAN_FEAT_PFN] = { "pfn", "PFNs visible in pagemap",
				probe_pfn },
	[PAGESCAN_FEAT_ZERO_PAGE] = { "zero-page",
		"read faults map the shared zero page", probe_zero_page },
	[PAGESCAN_FEAT_THP] = { "thp", "transparent huge pages", probe_thp },
	[PAGESCAN_FEAT_HUGETLB] = { "hugetlb",
		"hugetlbfs pages available", probe_hugetlb },
	[PAGESCAN_FEAT_GUARD_REGIONS] = { "guard-regions",
		"MADV_GUARD_INSTALL (6.13)", probe_guard_regions },
	[PAGESCAN_FEAT_PAGEMAP_GUARD_BIT] = { "pagemap-guard-bit",
		"pagemap bit 58 marks guard pages (6.15)",
		probe_pagemap_guard_bit },
	[PAGESCAN_FEAT_PAGEMAP_WP_BIT] = { "pagemap-wp-bit",
		"pagemap bit 57 shows uffd-wp (5.13)",
		ps_probe_pagemap_wp_bit },
	[PAGESCAN_FEAT_KPAGEFLAGS] = { "kpageflags",
		"/proc/kpageflags readable (root)", probe_kpageflags },
};

/*
 * Probes may call pagescan_probe() for the features they build on, so the
 * lock is recursive in effect: each probe runs unlocked, and only the
 * store of its result is serialised (a race runs a probe twice, harmless).
 */
int pagescan_probe(enum pagescan_feature feat)
{
	struct feature *f;
	char reason[sizeof(f->reason)];
	int ret, saved = errno;

	if ((unsigned int)feat >= PAGESCAN_FEAT__COUNT)
		return ps_err(EINVAL);
	f = &features[feat];
	if (__atomic_load_n(&f->done, __ATOMIC_ACQUIRE))
		return f->result;
	reason[0] = '\0';
	ret = f->probe(reason, sizeof(reason));
	pthread_mutex_lock(&probe_lock);
	if (!f->done) {
		f->result = ret;
		memcpy(f->reason, reason, sizeof(reason));
		__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	}
	ret = f->result;
	pthread_mutex_unlock(&probe_lock);
	errno = saved;
	return ret;
}

int ps_native_scan(void)
{
	return pagescan_probe(PAGESCAN_FEAT_SCAN);
}

uint64_t ps_native_categories(void)
{
	static uint64_t cats PS_STATE = UINT64_MAX;
	uint64_t c = __atomic_load_n(&cats, __ATOMIC_ACQUIRE);
	unsigned int i;

	if (c != UINT64_MAX)
		return c;
	c = 0;
	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		if (pagescan_probe(PAGESCAN_FEAT_CAT_WPALLOWED + i) == 1)
			c |= UINT64_C(1) << i;
	__atomic_store_n(&cats, c, __ATOMIC_RELEASE);
	return c;
}

void ps_probe_describe(enum pagescan_feature feat, const char **name,
		       const char **desc, const char **reason)
{
	struct feature *f = &features[feat];

	(void)pagescan_probe(feat);
	*name = f->name;
	*desc = f->desc;
	*reason = f->reason;
}
