// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * PAGEMAP_SCAN emulated in userspace, imitating the newest kernel
 * semantics (6.18.44, which carries the July 2026 WRITTEN fixes), as
 * written down in the contract (pagemap-scan-semantics.md, sections 3-9).
 *
 * Sources: /proc/PID/pagemap read through the caller's descriptor (which
 * stays bound to the mm it was opened on), /proc/PID/maps, or smaps when
 * VmFlags, page sizes or THP counts are needed, and /proc/kpageflags
 * where readable.  The walk reads only mapped ranges, in large batches.
 *
 * The model: every page gets its raw categories C (VMA bits | entry bits);
 * runs of equal C are matched (section 6) and fed to an output stage that
 * copies the kernel's pagemap_scan_output()/push_range()/flush logic,
 * including its 512-entry bounce buffer, so that vec_len exhaustion,
 * max_pages truncation (with the exact-unit-end rule), partial EFAULT
 * and merging across VMAs come out the same.  Feeding runs instead of
 * the kernel's units (page, hole range, THP, hugetlb page) gives the same
 * output, because a unit has one C and the output stage clips at pages.
 *
 * Deliberate differences are listed in emu_quirks.h, nowhere else.
 */
#include "internal.h"
#include "emu_quirks.h"
#include "emu_wp.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#define PM_KEY_MASK	(~(PM_ENTRY_PFN_MASK | PM_ENTRY_EXCLUSIVE))
#define CHUNK_ENTRIES	32768	/* 256 KiB of pagemap per pread */
#define KPF_THP		(UINT64_C(1) << KPF_THP_BIT)
#define KPF_ZERO	(UINT64_C(1) << KPF_ZERO_PAGE_BIT)

/* ------------------------------------------------------------------ */
/* The write-protect provider seam (emu_wp.h).                         */

static pthread_rwlock_t wp_lock = PTHREAD_RWLOCK_INITIALIZER;
static const struct emu_wp_ops *wp_ops;
static void *wp_ctx;

int emu_wp_install(const struct emu_wp_ops *ops, void *ctx)
{
	int ret = 0;

	if (!ops || !ops->covers || !ops->written || !ops->arm)
		return ps_err(EINVAL);
	pthread_rwlock_wrlock(&wp_lock);
	if (wp_ops) {
		ret = ps_err(EBUSY);
	} else {
		wp_ops = ops;
		wp_ctx = ctx;
	}
	pthread_rwlock_unlock(&wp_lock);
	return ret;
}

int emu_wp_remove(const struct emu_wp_ops *ops)
{
	int ret = 0;

	pthread_rwlock_wrlock(&wp_lock);
	if (!ops || wp_ops != ops) {
		ret = ps_err(ENOENT);
	} else {
		wp_ops = NULL;
		wp_ctx = NULL;
	}
	pthread_rwlock_unlock(&wp_lock);
	return ret;
}

int emu_wp_installed(void)
{
	return __atomic_load_n(&wp_ops, __ATOMIC_ACQUIRE) != NULL;
}

/* ------------------------------------------------------------------ */
/* Capabilities: what the emulation can compute for this caller.       */

struct emu_caps {
	uint64_t cats;			/* without a provider */
	uint64_t flags;
	const char *why[PAGESCAN_CAT_COUNT];
	const char *flag_why[2];
	bool native_wp;			/* WP_ASYNC + pagemap bit 57 */
	bool pfn;			/* PFNs and kpageflags readable */
	bool huge_zero_possible;
	bool huge_zero_file;		/* pagemap shows it with bit 61 */
	bool have_zero_pfn;
	uint64_t zero_pfn;
	uint64_t user_limit;		/* highest valid end (access_ok) */
};

static struct emu_caps caps;
static pthread_once_t caps_once = PTHREAD_ONCE_INIT;

/*
 * The largest address access_ok() accepts as the end of a range:
 * TASK_SIZE_MAX, i.e. (1 << 47) - PAGE_SIZE on x86-64 with 4-level
 * paging and (1 << 56) - PAGE_SIZE with 5-level paging, which a mapping
 * hint above 47 bits reveals.  x86 LAM (which widens the check to
 * 1 << 63) is not modelled.  arm64: 1 << VA_BITS (48, or 52).
 */
static uint64_t probe_user_limit(uint64_t psz)
{
	uint64_t low_bits = 47, high_bits = 56, hint = UINT64_C(1) << 52;
	uint64_t bits = low_bits;
	void *p;

#if defined(__aarch64__)
	low_bits = 48;
	high_bits = 52;
	hint = UINT64_C(1) << 50;
	bits = low_bits;
#endif
	p = mmap((void *)(uintptr_t)hint, psz, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		if ((uintptr_t)p >> low_bits)
			bits = high_bits;
		munmap(p, psz);
	}
#if defined(__aarch64__)
	return UINT64_C(1) << bits;
#else
	return (UINT64_C(1) << bits) - psz;
#endif
}

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

static void init_caps(void)
{
	struct emu_caps *c = &caps;
	char buf[64];
	unsigned int i;

	c->user_limit = probe_user_limit(ps_pagesz());
	c->pfn = pagescan_probe(PAGESCAN_FEAT_PFN) == 1 &&
		 pagescan_probe(PAGESCAN_FEAT_KPAGEFLAGS) == 1;
	c->native_wp = pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) == 1 &&
		       pagescan_probe(PAGESCAN_FEAT_PAGEMAP_WP_BIT) == 1;
	/* A PMD-mapped huge zero page needs THP and use_zero_page. */
	c->huge_zero_possible = pagescan_probe(PAGESCAN_FEAT_THP) == 1 &&
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
	c->why[7] = pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) == 1 ?
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
	if (pagescan_probe(PAGESCAN_FEAT_PAGEMAP_GUARD_BIT) == 1) {
		c->cats |= PAGE_IS_GUARD;
		c->why[8] = "pagemap bit 58";
	} else {
		c->why[8] = "pagemap has no guard bit 58 (needs 6.15)";
	}
}

static const struct emu_caps *get_caps(void)
{
	pthread_once(&caps_once, init_caps);
	return &caps;
}

#define PROVIDER_CATS (PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED)
#define PROVIDER_WHY "from the installed write-watch provider (calling " \
		     "process only)"

uint64_t emu_categories(void)
{
	uint64_t c = get_caps()->cats;

	if (emu_wp_installed())
		c |= PROVIDER_CATS;
	return c;
}

uint64_t emu_flags(void)
{
	uint64_t f = get_caps()->flags;

	if (emu_wp_installed())
		f |= PS_SCAN_FLAGS;
	return f;
}

int emu_category_support(unsigned int bit, const char **reason)
{
	const struct emu_caps *c = get_caps();
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
	const struct emu_caps *c = get_caps();
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

/* ------------------------------------------------------------------ */
/* The scan.                                                           */

struct emu {
	struct pm_scan_arg a;
	int fd;
	pid_t pid;
	bool self;
	unsigned int shift;
	uint64_t psz;
	const struct emu_caps *caps;
	uint64_t interest;		/* mask | anyof | return */
	bool want_huge, want_zero, want_wpallowed;

	/* Output: the kernel's bounce buffer and its bookkeeping. */
	bool have_vec;
	struct page_region *buf;	/* PMD_SIZE / PAGE_SIZE entries */
	size_t buf_len, buf_idx;
	uint64_t vec_out, vec_left;
	uint64_t found, max_pages;
	uint64_t walk_end;		/* 0: not set by a limit */
	int nout;

	/* Pending run of equal raw categories, not yet matched. */
	uint64_t run_start, run_end, run_cats;

	/* Per-VMA state. */
	uint64_t vma_cats;
	uint64_t keep;			/* raw categories the VMA has */
	const struct ps_maps *maps;
	int wp_async;			/* 1 all, 0 none, -1 undecidable */

	/* Provider (read-locked for the whole scan when used). */
	const struct emu_wp_ops *wp;
	void *wp_ctx;

	uint64_t *pm;			/* CHUNK_ENTRIES pagemap entries */
	uint64_t *huge;			/* bitmap of HUGE 2 MiB blocks */
	uint64_t *hzero;		/* of those, huge zero pages */
	size_t huge_words;
	uint64_t huge_base;
	uint64_t *wbits;		/* provider WRITTEN bitmap */
	bool pud_known, pud_val;	/* pud_populated() cache */
	uint64_t pud_addr;
	int kpf_fd;
};

/* pagemap_scan_push_range(): false when a new region needs a full slot. */
static bool push_range(struct emu *s, uint64_t cats, uint64_t addr,
		       uint64_t end)
{
	struct page_region *cur = &s->buf[s->buf_idx];

	if (addr == cur->end && cats == cur->categories) {
		cur->end = end;
		return true;
	}
	if (cur->end) {
		if (s->buf_idx >= s->buf_len - 1)
			return false;
		cur = &s->buf[++s->buf_idx];
	}
	cur->start = addr;
	cur->end = end;
	cur->categories = cats;
	return true;
}

static int write_user(uint64_t uaddr, const void *src, size_t len)
{
	return sys_copy_to_self((void *)(uintptr_t)uaddr, src, len);
}

/* pagemap_scan_flush_buffer(): only non-empty entries are copied. */
static int flush(struct emu *s)
{
	size_t n = s->buf_idx;

	if (!s->have_vec)
		return 0;
	if (s->buf[n].end != s->buf[n].start)
		n++;
	if (!n)
		return 0;
	if (write_user(s->vec_out, s->buf, n * sizeof(s->buf[0])))
		return -EFAULT;
	s->vec_left -= n;
	s->vec_out += n * sizeof(s->buf[0]);
	s->nout += (int)n;
	s->buf_idx = 0;
	if (s->buf_len > s->vec_left)
		s->buf_len = (size_t)s->vec_left;
	memset(&s->buf[0], 0, sizeof(s->buf[0]));
	return 0;
}

/*
 * pagemap_scan_output() for the matching unit [addr, end): 0 go on,
 * 1 stop (a limit), -errno.  @out_end gets the end actually output.
 */
static int output(struct emu *s, uint64_t cats, uint64_t addr, uint64_t end,
		  uint64_t *out_end)
{
	uint64_t n_pages, total, e;
	int stop, ret;

	*out_end = end;
	if (!s->have_vec)
		return 0;
	*out_end = addr;
	cats &= s->a.return_mask;
again:
	e = end;
	stop = 0;
	n_pages = (e - addr) >> s->shift;
	if (__builtin_add_overflow(s->found, n_pages, &total) ||
	    total > s->max_pages) {
		uint64_t too_much = total - s->max_pages;

		e -= too_much << s->shift;
		n_pages -= too_much;
		stop = 1;
	}
	if (!push_range(s, cats, addr, e)) {
		/* The bounce buffer is full: the kernel stops its walk. */
		s->walk_end = addr;
		ret = flush(s);
		if (ret)
			return ret;
		if (!s->vec_left || s->found == s->max_pages)
			return 1;
		/*
		 * It restarts at addr with walk_end still set: the stale
		 * walk_end of EMU_QUIRK_STALE_WALK_END.  Reset it instead.
		 */
		s->walk_end = 0;
		goto again;
	}
	s->found += n_pages;
	*out_end = e;
	if (stop)
		s->walk_end = e;
	return stop;
}

/* Section 6: does a unit with raw categories @c match? */
static inline bool matches(const struct pm_scan_arg *a, uint64_t c)
{
	uint64_t x = c ^ a->category_inverted;

	if ((x & a->category_mask) != a->category_mask)
		return false;
	if (a->category_anyof_mask && !(x & a->category_anyof_mask))
		return false;
	return true;
}

static int arm(struct emu *s, uint64_t start, uint64_t end)
{
	if (!s->wp || start >= end)
		return 0;
	return s->wp->arm(s->wp_ctx, start, end);
}

/* Match and output the pending run. */
static int emit_run(struct emu *s)
{
	uint64_t start = s->run_start, end = s->run_end, c = s->run_cats;
	uint64_t out_end;
	int ret;

	s->run_start = s->run_end = 0;
	if (start == end || !matches(&s->a, c))
		return 0;
	ret = output(s, c, start, end, &out_end);
	if (ret >= 0 && (s->a.flags & PM_SCAN_WP_MATCHING) && s->have_vec &&
	    (c & PAGE_IS_WRITTEN)) {
		int err = arm(s, start, out_end);

		if (err)
			return err;
	}
	return ret;
}

static inline int add_run(struct emu *s, uint64_t start, uint64_t end,
			  uint64_t c)
{
	int ret;

	if (s->run_end == start && s->run_cats == c && s->run_end) {
		s->run_end = end;
		return 0;
	}
	ret = emit_run(s);
	if (ret)
		return ret;
	s->run_start = start;
	s->run_end = end;
	s->run_cats = c;
	return 0;
}

/* Raw categories of one pagemap entry of a non-hugetlb VMA. */
static inline uint64_t entry_cats(uint64_t e)
{
	uint64_t c = 0;

	if (e & PM_ENTRY_SOFT_DIRTY)
		c |= PAGE_IS_SOFT_DIRTY;
	if (e & PM_ENTRY_PRESENT) {
		c |= PAGE_IS_PRESENT;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else if (e & (PM_ENTRY_SWAP | PM_ENTRY_UFFD_WP)) {
		/* Swap, migration, device, uffd-wp marker, guard marker. */
		c |= PAGE_IS_SWAPPED;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_GUARD)
			c |= PAGE_IS_GUARD;
		else if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else {
		/*
		 * pte_none (WRITTEN since the July 2026 fix) or no page
		 * table (WRITTEN in uffd-wp VMAs only): indistinguishable,
		 * so WRITTEN, which never hides a written page
		 * (EMU_QUIRK_HOLE_WRITTEN).
		 */
		c |= PAGE_IS_WRITTEN;
	}
	return c;
}

/* Raw categories of one hugetlb page from its first pagemap entry. */
static inline uint64_t hugetlb_cats(uint64_t e, bool slot)
{
	uint64_t c = 0;

	if (e & PM_ENTRY_SOFT_DIRTY)
		c |= PAGE_IS_SOFT_DIRTY;
	if (e & PM_ENTRY_PRESENT) {
		c |= PAGE_IS_HUGE | PAGE_IS_PRESENT;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else if (e & (PM_ENTRY_SWAP | PM_ENTRY_UFFD_WP)) {
		/* A pagemap read shows a hugetlb marker as bit 57 only. */
		c |= PAGE_IS_HUGE | PAGE_IS_SWAPPED;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
	} else if (slot) {
		c |= PAGE_IS_HUGE;
	}
	return c;
}

/* Read @n entries for [addr, ...) into @buf; -ESRCH if the mm is gone. */
static int read_pm(struct emu *s, uint64_t addr, size_t n, uint64_t *buf)
{
	ssize_t got = sys_pread_full(s->fd, buf, n * 8,
				     (off_t)((addr >> s->shift) * 8));

	if (got < 0)
		return (int)got;
	if ((size_t)got != n * 8)
		return -ESRCH;	/* pagemap reads stop once mm is gone */
	return 0;
}

static int kpf_read(struct emu *s, uint64_t pfn, uint64_t *kf)
{
	if (s->kpf_fd < 0) {
		s->kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
		if (s->kpf_fd < 0)
			return -errno;
	}
	if (sys_pread_full(s->kpf_fd, kf, 8, (off_t)(pfn * 8)) != 8)
		return -EIO;
	return 0;
}

/*
 * HUGE for the PMD-aligned blocks of a non-hugetlb VMA.  A PMD-mapped
 * THP reads as 512 present entries with the same flags (and, where PFNs
 * are visible, contiguous PFNs from an aligned one whose kpageflags say
 * THP, or the huge zero folio).  PTE-mapped large folios look the same,
 * so the candidates are checked against smaps' count of PMD-mapped bytes
 * for the VMA: all of them, or none, or the answer is undecidable.
 */
static int thp_blocks(struct emu *s, const struct ps_vma *v, uint64_t lo,
		      uint64_t hi)
{
	uint64_t pmd = s->psz << 9, b0, b1, b, ncand = 0, nthp;
	size_t words, i;
	uint64_t *cand;
	int ret = 0;

	b0 = (v->start + pmd - 1) & ~(pmd - 1);
	b1 = v->end & ~(pmd - 1);
	s->huge_words = 0;
	if (b0 >= b1)
		return 0;
	/* PFNZERO alone needs only the huge zero pages. */
	nthp = s->want_huge ? v->thp_bytes / pmd : 0;
	if (!nthp && !(s->caps->huge_zero_possible &&
		       (s->caps->pfn || s->caps->huge_zero_file)))
		return 0;
	words = (size_t)(((b1 - b0) / pmd + 63) / 64);
	free(s->huge);
	free(s->hzero);
	s->huge = calloc(words, 8);
	s->hzero = calloc(words, 8);
	cand = calloc(words, 8);
	if (!s->huge || !s->hzero || !cand) {
		free(cand);
		return -ENOMEM;
	}
	s->huge_base = b0;
	for (b = b0; b < b1; b += pmd) {
		uint64_t *e = s->pm, first, key, i2 = (b - b0) / pmd;
		bool all = true;
		size_t k;

		/*
		 * Without PMD-mapped THPs in the VMA only huge zero pages
		 * are of interest, and only where the scan looks.
		 */
		if (!nthp && (b + pmd <= lo || b >= hi))
			continue;

		ret = read_pm(s, b, 512, e);
		if (ret)
			goto out;
		first = e[0];
		if (!(first & PM_ENTRY_PRESENT))
			continue;
		key = first & PM_KEY_MASK;
		for (k = 1; k < 512 && all; k++) {
			if ((e[k] & PM_KEY_MASK) != key)
				all = false;
			else if (s->caps->pfn && (e[k] & PM_ENTRY_PFN_MASK) !=
				 (first & PM_ENTRY_PFN_MASK) + k)
				all = false;
		}
		if (!all)
			continue;
		if (s->caps->pfn) {
			uint64_t pfn = first & PM_ENTRY_PFN_MASK, kf;

			if (!pfn || (pfn & 511))
				continue;
			ret = kpf_read(s, pfn, &kf);
			if (ret)
				goto out;
			if (kf & KPF_ZERO) {
				/* The huge zero folio is only PMD-mapped. */
				s->huge[i2 / 64] |= UINT64_C(1) << (i2 % 64);
				s->hzero[i2 / 64] |= UINT64_C(1) << (i2 % 64);
				continue;
			}
			if (!(kf & KPF_THP))
				continue;
		} else if (s->caps->huge_zero_file && (first & PM_ENTRY_FILE) &&
			   s->keep != ~(uint64_t)0) {
			/* Bit 61 in a private anonymous VMA. */
			s->huge[i2 / 64] |= UINT64_C(1) << (i2 % 64);
			s->hzero[i2 / 64] |= UINT64_C(1) << (i2 % 64);
			continue;
		}
		cand[i2 / 64] |= UINT64_C(1) << (i2 % 64);
		ncand++;
	}
	if (nthp == ncand) {
		for (i = 0; i < words; i++)
			s->huge[i] |= cand[i];
	} else if (nthp) {
		ret = -EOPNOTSUPP;	/* EMU_QUIRK_UNDECIDABLE */
	}
	s->huge_words = words;
out:
	free(cand);
	return ret;
}

static inline bool in_bitmap(const uint64_t *bm, size_t words, uint64_t base,
			     uint64_t addr, uint64_t pmd)
{
	uint64_t i;

	if (!words || addr < base)
		return false;
	i = (addr - base) / pmd;
	if (i / 64 >= words)
		return false;
	return bm[i / 64] >> (i % 64) & 1;
}

/* Walk the pages of [a, b) in a non-hugetlb VMA. */
static int walk_normal(struct emu *s, const struct ps_vma *v, uint64_t a,
		       uint64_t b, bool covered)
{
	uint64_t pmd = s->psz << 9;
	bool slow = s->want_huge || s->want_zero || covered;
	int ret;

	/* The huge zero page's PFNs are not the zero page's. */
	if (s->want_huge || (s->want_zero && s->caps->huge_zero_possible)) {
		ret = thp_blocks(s, v, a, b);
		if (ret)
			return ret;
	}
	while (a < b) {
		size_t n = (size_t)((b - a) >> s->shift), i, j;

		if (n > CHUNK_ENTRIES)
			n = CHUNK_ENTRIES;
		ret = read_pm(s, a, n, s->pm);
		if (ret)
			return ret;
		if (covered) {
			memset(s->wbits, 0, CHUNK_ENTRIES / 8);
			ret = s->wp->written(s->wp_ctx, a,
					     a + (n << s->shift), s->wbits);
			if (ret)
				return ret;
		}
		for (i = 0; i < n; i = j) {
			uint64_t e = s->pm[i], c, addr = a + (i << s->shift);

			c = (entry_cats(e) & s->keep) | s->vma_cats;
			if (!slow) {
				uint64_t key = e & PM_KEY_MASK;

				for (j = i + 1; j < n &&
				     (s->pm[j] & PM_KEY_MASK) == key; j++)
					;
			} else {
				if (covered) {
					c &= ~PAGE_IS_WRITTEN;
					if (s->wbits[i / 64] >> (i % 64) & 1)
						c |= PAGE_IS_WRITTEN;
				}
				if (s->want_zero && (e & PM_ENTRY_PRESENT) &&
				    s->caps->have_zero_pfn &&
				    (e & PM_ENTRY_PFN_MASK) ==
				    s->caps->zero_pfn)
					c |= PAGE_IS_PFNZERO;
				if (in_bitmap(s->huge, s->huge_words,
					      s->huge_base, addr, pmd)) {
					c |= PAGE_IS_HUGE;
					if (in_bitmap(s->hzero, s->huge_words,
						      s->huge_base, addr, pmd))
						c |= PAGE_IS_PFNZERO;
				}
				j = i + 1;
			}
			ret = add_run(s, addr, a + (j << s->shift), c);
			if (ret)
				return ret;
		}
		a += n << s->shift;
	}
	return 0;
}

/*
 * Does the page table holding the hugetlb slots of the 1 GiB block at
 * @pud exist?  Guessed from any populated pagemap entry of any VMA in
 * that block (EMU_QUIRK_HUGETLB_EMPTY_SLOT): a table that exists with
 * nothing populated under it reads as missing.
 */
static int pud_populated(struct emu *s, uint64_t pud, bool *out)
{
	uint64_t end = pud + (UINT64_C(1) << 30);
	const struct ps_maps *m = s->maps;
	size_t i;
	int ret;

	if (s->pud_known && s->pud_addr == pud) {
		*out = s->pud_val;
		return 0;
	}
	*out = false;
	for (i = ps_maps_find(m, pud); i < m->n && !*out; i++) {
		const struct ps_vma *v = &m->v[i];
		uint64_t a = v->start > pud ? v->start : pud;
		uint64_t b = v->end < end ? v->end : end;

		if (v->start >= end)
			break;
		if (v->flags & PAGESCAN_VMA_PFNMAP)
			continue;
		while (a < b && !*out) {
			size_t n = (size_t)((b - a) >> s->shift), k;

			if (n > CHUNK_ENTRIES)
				n = CHUNK_ENTRIES;
			ret = read_pm(s, a, n, s->pm);
			if (ret)
				return ret;
			for (k = 0; k < n && !*out; k++)
				*out = (s->pm[k] & ~PM_ENTRY_SOFT_DIRTY) != 0;
			a += n << s->shift;
		}
	}
	s->pud_known = true;
	s->pud_addr = pud;
	s->pud_val = *out;
	return 0;
}

/* Walk [a, b) of a hugetlb VMA, one huge page at a time. */
static int walk_hugetlb(struct emu *s, const struct ps_vma *v, uint64_t a,
			uint64_t b)
{
	uint64_t hsz = v->page_size, pud = UINT64_C(1) << 30;
	uint64_t h0 = a & ~(hsz - 1), h, e;
	int ret;

	for (h = h0; h < b; h += hsz) {
		uint64_t lo = h > a ? h : a, hi = h + hsz < b ? h + hsz : b;
		bool slot = false;

		ret = read_pm(s, h, 1, &e);
		if (ret)
			return ret;
		if (!(e & ~PM_ENTRY_SOFT_DIRTY)) {
			/* A PUD-sized page's slot lives in a PUD table. */
			if (hsz >= pud)
				slot = true;
			else if ((ret = pud_populated(s, h & ~(pud - 1),
						      &slot)))
				return ret;
		}
		ret = add_run(s, lo, hi, hugetlb_cats(e, slot) | s->vma_cats);
		if (ret)
			return ret;
	}
	return 0;
}

/* Is this VMA's uffd-wp registration async (WP_ASYNC)? */
static int vma_wp_allowed(struct emu *s, const struct ps_vma *v)
{
	if (!(v->flags & PAGESCAN_VMA_UFFD_WP))
		return 0;
	if (!s->caps->native_wp)
		return 0;
	if (s->wp_async < 0)
		return -EOPNOTSUPP;	/* EMU_QUIRK_UNDECIDABLE */
	return s->wp_async;
}

/*
 * Do the target's userfaultfds have WP_ASYNC?  /proc/PID/fdinfo of a
 * userfaultfd shows "API:\t<api>:<features>:<ioctls>" (since 4.3).
 * 1: all do, 0: none does, -1: mixed or none found.
 */
static int uffd_async_state(pid_t pid)
{
	char path[300], link[64], buf[512];
	int all = 1, none = 1, found = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char *api;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			 d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[userfaultfd]"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid,
			 d->d_name);
		if (sys_read_small(path, buf, sizeof(buf)))
			continue;
		api = strstr(buf, "API:\t");
		if (!api)
			continue;
		api = strchr(api, ':');
		api = api ? strchr(api + 1, ':') : NULL;
		if (!api)
			continue;
		found = 1;
		if (strtoull(api + 1, NULL, 16) & UFFD_FEATURE_WP_ASYNC)
			none = 0;
		else
			all = 0;
	}
	closedir(dir);
	if (!found)
		return -1;
	return all ? 1 : none ? 0 : -1;
}

/* Does this VMA need smaps (VmFlags, page size) to be handled exactly? */
static bool vma_is_plain(const struct ps_maps *m, const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);

	if (v->inode)
		return false;
	return !*name || !strcmp(name, "[heap]") || !strcmp(name, "[stack]") ||
	       !strcmp(name, "[vdso]") || !strncmp(name, "[anon:", 6) ||
	       !strncmp(name, "[stack:", 7);
}

/* Private anonymous memory: only anon pages, the zero page or none. */
static bool vma_anon_private(const struct ps_maps *m, const struct ps_vma *v)
{
	return vma_is_plain(m, v) && !(v->flags & PAGESCAN_VMA_SHARED) &&
	       strcmp(ps_vma_name(m, v), "[vdso]");
}

static bool vma_is_pfnmap_by_name(const struct ps_maps *m,
				  const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);

	return !strcmp(name, "[vvar]") || !strcmp(name, "[vvar_vclock]");
}

static int read_vmas(struct emu *s, struct ps_maps *m)
{
	bool smaps = s->want_huge || s->want_wpallowed;
	size_t i;
	int ret;

	if (!smaps) {
		ret = ps_maps_read(s->pid, 0, m);
		if (ret)
			return ret;
		for (i = ps_maps_find(m, s->a.start); i < m->n; i++) {
			const struct ps_vma *v = &m->v[i];

			if (v->start >= s->a.end)
				break;
			if (!vma_is_plain(m, v) &&
			    !vma_is_pfnmap_by_name(m, v)) {
				smaps = true;
				break;
			}
		}
		if (!smaps) {
			for (i = 0; i < m->n; i++)
				if (vma_is_pfnmap_by_name(m, &m->v[i]))
					m->v[i].flags |= PAGESCAN_VMA_PFNMAP;
			return 0;
		}
		ps_maps_free(m);
	}
	return ps_maps_read(s->pid, PAGESCAN_VMAS_SMAPS, m);
}

/* test_walk and the walk of one VMA's part [a, b). */
static int walk_vma(struct emu *s, const struct ps_vma *v, uint64_t a,
		    uint64_t b)
{
	bool hugetlb = v->page_size > s->psz ||
		       (v->flags & PAGESCAN_VMA_HUGETLB);
	uint64_t seg_end;
	int allowed, ret;

	while (a < b) {
		bool covered = false;

		seg_end = b;
		allowed = vma_wp_allowed(s, v);
		if (allowed < 0 &&
		    !(s->want_wpallowed || (s->a.flags & PS_SCAN_FLAGS)))
			allowed = 0;	/* unobservable */
		if (allowed < 0)
			return allowed;
		if (s->wp && !hugetlb) {
			ret = s->wp->covers(s->wp_ctx, a, b, &seg_end);
			if (ret < 0)
				return ret;
			if (seg_end <= a || seg_end > b)
				return -EIO;
			if (ret) {
				allowed = 1;
				covered = true;
			}
		}
		/* Section 4.2, in the kernel's order. */
		if (!allowed) {
			if (s->a.flags & PM_SCAN_CHECK_WPASYNC)
				return -EPERM;
			if (s->a.flags & PM_SCAN_WP_MATCHING)
				goto next;
		}
		if (v->flags & PAGESCAN_VMA_PFNMAP)
			goto next;
		s->vma_cats = allowed ? PAGE_IS_WPALLOWED : 0;
		/*
		 * pagemap sets bit 61 for the huge zero page (it looks at
		 * the PMD's page, not vm_normal_page), the scan does not.  A
		 * private anonymous VMA holds no file pages at all.
		 */
		s->keep = vma_anon_private(s->maps, v) ?
			  ~(uint64_t)PAGE_IS_FILE : ~(uint64_t)0;
		if ((s->a.category_mask & PAGE_IS_WPALLOWED) &&
		    !((s->vma_cats ^ s->a.category_inverted) &
		      PAGE_IS_WPALLOWED))
			goto next;
		if (covered && (s->a.flags & PM_SCAN_WP_MATCHING) &&
		    !s->have_vec) {
			/* The exclusive fast path: arm everything. */
			ret = arm(s, a, seg_end);
			if (ret)
				return ret;
		}
		ret = hugetlb ? walk_hugetlb(s, v, a, seg_end) :
				walk_normal(s, v, a, seg_end, covered);
		if (ret)
			return ret;
		/* test_walk of the next VMA comes after this one's output. */
		ret = emit_run(s);
		if (ret)
			return ret;
next:
		a = seg_end;
	}
	return 0;
}

/* access_ok(): the range must end at or below the user address limit. */
static bool range_ok(uint64_t addr, uint64_t size, uint64_t limit)
{
	uint64_t sum = addr + size;

	return sum >= addr && sum <= limit;
}

static int validate(struct emu *s, const struct pm_scan_arg *uarg)
{
	struct pm_scan_arg *a = &s->a;
	uint64_t cats = emu_categories(), size;

	if (sys_copy_from_self(a, uarg, sizeof(*a)))				/* 1 */
		return -EFAULT;
	if (a->size != sizeof(*a))			/* 2 */
		return -EINVAL;
	if (a->flags & ~PS_SCAN_FLAGS)			/* 3 */
		return -EINVAL;
	/*
	 * A flag or category the emulation cannot serve is rejected where
	 * a kernel that does not know it would reject it.  The provider
	 * serves the calling process only.
	 */
	if (!s->self && emu_wp_installed()) {
		cats = s->caps->cats;
		if (a->flags & ~s->caps->flags)
			return -EINVAL;
	} else if (a->flags & ~emu_flags()) {
		return -EINVAL;
	}
	if ((a->category_inverted | a->category_mask |
	     a->category_anyof_mask | a->return_mask) & ~cats)	/* 4 */
		return -EINVAL;
	/* 5: no address tags on x86-64 without LAM. */
	if (a->start & (s->psz - 1))			/* 6 */
		return -EINVAL;
	if (!range_ok(a->start, a->end - a->start, s->caps->user_limit))
		return -EFAULT;				/* 7 */
	if (!a->vec && a->vec_len)			/* 8 */
		return -EINVAL;
	if (a->vec) {					/* 10 */
		size = a->vec_len > UINT64_MAX / sizeof(struct page_region) ?
		       UINT64_MAX : a->vec_len * sizeof(struct page_region);
		if (!range_ok(a->vec, size, s->caps->user_limit))
			return -EFAULT;
	}
	/* 11 */
	a->end = (a->end + s->psz - 1) & ~(s->psz - 1);
	a->walk_end = 0;
	s->max_pages = a->max_pages ? a->max_pages : UINT64_MAX;
	return 0;
}

static int scan(struct emu *s)
{
	struct ps_maps m;
	size_t i;
	int ret;

	s->interest = s->a.category_mask | s->a.category_anyof_mask |
		      s->a.return_mask;
	s->want_huge = s->interest & PAGE_IS_HUGE;
	s->want_zero = s->interest & PAGE_IS_PFNZERO;
	s->want_wpallowed = (s->interest | s->a.category_inverted) &
			    PAGE_IS_WPALLOWED;
	if (s->a.flags & PS_SCAN_FLAGS)
		s->want_wpallowed = true;
	if (!s->caps->native_wp)
		s->want_wpallowed = false;	/* provider only */

	ret = read_vmas(s, &m);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	if (!m.n) {
		/* No mm (a zombie or a kernel thread): the target is gone. */
		ps_maps_free(&m);
		return -ESRCH;
	}
	s->maps = &m;
	s->wp_async = 1;
	if (s->want_wpallowed) {
		for (i = ps_maps_find(&m, s->a.start); i < m.n; i++) {
			if (m.v[i].start >= s->a.end)
				break;
			if (m.v[i].flags & PAGESCAN_VMA_UFFD_WP) {
				s->wp_async = uffd_async_state(s->pid);
				break;
			}
		}
	}
	s->pm = malloc(CHUNK_ENTRIES * sizeof(uint64_t));
	if (!s->pm) {
		ps_maps_free(&m);
		return -ENOMEM;
	}
	ret = 0;
	for (i = ps_maps_find(&m, s->a.start); i < m.n && !ret; i++) {
		const struct ps_vma *v = &m.v[i];
		uint64_t a = v->start > s->a.start ? v->start : s->a.start;
		uint64_t b = v->end < s->a.end ? v->end : s->a.end;

		if (v->start >= s->a.end)
			break;
		ret = walk_vma(s, v, a, b);
	}
	if (!ret)
		ret = emit_run(s);
	ps_maps_free(&m);
	return ret;
}

int emu_scan(int fd, pid_t pid, struct pm_scan_arg *uarg)
{
	struct emu *s;
	bool locked = false;
	size_t bounce;
	int ret, fret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->pid = pid;
	s->self = pid == getpid();
	s->psz = ps_pagesz();
	s->shift = ps_page_shift;
	s->caps = get_caps();
	s->kpf_fd = -1;
	if (s->self && emu_wp_installed()) {
		pthread_rwlock_rdlock(&wp_lock);
		locked = true;
		s->wp = wp_ops;
		s->wp_ctx = wp_ctx;
	}
	ret = validate(s, uarg);
	if (ret)
		goto out;
	if (s->wp) {
		s->wbits = calloc(CHUNK_ENTRIES / 64, 8);
		if (!s->wbits) {
			ret = -ENOMEM;
			goto out;
		}
	}
	s->have_vec = s->a.vec_len > 0;
	s->vec_out = s->a.vec;
	s->vec_left = s->a.vec_len;
	/*
	 * The kernel's bounce buffer: min(vec_len, PMD_SIZE / PAGE_SIZE)
	 * entries, i.e. 512 with 4 KiB pages (a PTE table's entries).
	 */
	bounce = s->psz / 8;
	s->buf_len = s->a.vec_len < bounce ? (size_t)s->a.vec_len : bounce;
	if (s->buf_len) {
		s->buf = calloc(s->buf_len, sizeof(*s->buf));
		if (!s->buf) {
			ret = -ENOMEM;	/* the kernel's row 12 */
			goto out;
		}
	}
	if (s->a.start < s->a.end) {
		ret = scan(s);
		/*
		 * A gone target writes nothing back, like the kernel; so
		 * does our own "cannot decide" (EMU_QUIRK_UNDECIDABLE).
		 */
		if (ret == -ESRCH || ret == -EOPNOTSUPP)
			goto out;
		if (ret == 1)
			ret = 0;	/* stopped by a limit */
		fret = flush(s);
		if (fret)
			ret = fret;
	} else {
		ret = 0;
	}
	if (!s->walk_end)
		s->walk_end = s->a.end;
	if (ret >= 0)
		ret = s->nout;
	if (write_user((uintptr_t)&uarg->walk_end, &s->walk_end,
		       sizeof(s->walk_end)))
		ret = -EFAULT;
out:
	if (locked)
		pthread_rwlock_unlock(&wp_lock);
	if (s->kpf_fd >= 0)
		close(s->kpf_fd);
	free(s->pm);
	free(s->huge);
	free(s->hzero);
	free(s->wbits);
	free(s->buf);
	free(s);
	return ret;
}
