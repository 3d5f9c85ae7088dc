// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What kind of memory a VMA is, as the watch backends need to know it.
 *
 * Anonymous memory is not only what has no inode in /proc/PID/maps: a
 * MAP_PRIVATE mapping of /dev/zero is anonymous too (mmap_zero() makes
 * the VMA anonymous, every kernel), but maps still shows the device's
 * inode and name.  Taking it for a file made uffd-sync register it
 * without MISSING mode, and every first write to an empty PTE took the
 * plain anonymous fault: lost.
 *
 * A wrong "anonymous" costs a refusal, not a miss (uffd-sync refuses
 * private /dev/zero), so a name that cannot be checked, but says
 * /dev/zero, counts.
 */
#include "watch.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* /dev/zero is the memory device's minor 5 (devices.txt). */
#define MEM_MAJOR 1
#define ZERO_MINOR 5

static bool is_dev_zero(const struct ps_maps *m, const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);
	struct stat st;

	if (name[0] != '/')
		return false;
	if (!stat(name, &st))
		return S_ISCHR(st.st_mode) && st.st_ino == v->inode &&
		       major(st.st_dev) == v->dev_major &&
		       minor(st.st_dev) == v->dev_minor &&
		       major(st.st_rdev) == MEM_MAJOR &&
		       minor(st.st_rdev) == ZERO_MINOR;
	return !strcmp(name, "/dev/zero");
}

bool watch_vma_anon(const struct ps_maps *m, const struct ps_vma *v)
{
	if (v->flags & (PAGESCAN_VMA_SHARED | PAGESCAN_VMA_HUGETLB))
		return false;
	return !v->inode || is_dev_zero(m, v);
}

/*
 * KSM.  Merging replaces a page's entry with one for the shared KSM page
 * and drops its uffd-wp bit (6.18 and before): the next write is a plain
 * copy-on-write fault that no userfaultfd hears of, lost to uffd-sync
 * (tests/watch-ksm).  So uffd-sync takes MADV_MERGEABLE off the VMAs of
 * its range at register (which also unmerges what was merged), and puts
 * it back at unregister.  Only smaps says which VMAs have it (VmFlags
 * mg), and smaps walks every page table: it is read only if the process
 * has used KSM at all (ksm_stat, 6.1; read anyway if that cannot say).
 */
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#define MADV_UNMERGEABLE 13
#endif

static bool ksm_used(void)
{
	char *buf;
	size_t len;
	bool used;

	if (sys_read_file("/proc/self/ksm_stat", &buf, &len))
		return true;
	used = !strstr(buf, "ksm_mergeable: no") ||
	       !strstr(buf, "ksm_merge_any: no");
	free(buf);
	return used;
}

int watch_vma_ksm_off(struct pagescan_watch *w)
{
	struct ps_maps m = { 0 };
	size_t i, n = 0;
	int ret;

	if (!ksm_used())
		return 0;
	ret = ps_maps_read(getpid(), PAGESCAN_VMAS_SMAPS, &m);
	if (ret)
		return ret;
	for (i = ps_maps_find(&m, w->start); i < m.n; i++)
		if (m.v[i].start < w->end && m.v[i].mergeable)
			n++;
	if (n)
		w->unmerged = ps_own_zalloc(n * sizeof(*w->unmerged));
	if (n && !w->unmerged)
		ret = -ENOMEM;
	for (i = ps_maps_find(&m, w->start); !ret && i < m.n; i++) {
		struct watch_span *u = &w->unmerged[w->nunmerged];
		const struct ps_vma *v = &m.v[i];

		if (v->start >= w->end)
			break;
		if (!v->mergeable)
			continue;
		u->start = v->start > w->start ? v->start : w->start;
		u->end = v->end < w->end ? v->end : w->end;
		if (madvise((void *)(uintptr_t)u->start, u->end - u->start,
			    MADV_UNMERGEABLE))
			ret = -errno;
		else
			w->nunmerged++;
	}
	ps_maps_free(&m);
	if (ret)
		watch_vma_ksm_restore(w);
	return ret;
}

void watch_vma_ksm_restore(struct pagescan_watch *w)
{
	size_t i;

	/* A forked child inherited the flags as they are: leave them. */
	for (i = 0; watch_owned(w) && i < w->nunmerged; i++)
		madvise((void *)(uintptr_t)w->unmerged[i].start,
			w->unmerged[i].end - w->unmerged[i].start,
			MADV_MERGEABLE);
	ps_own_free(w->unmerged);
	w->unmerged = NULL;
	w->nunmerged = 0;
}
