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
