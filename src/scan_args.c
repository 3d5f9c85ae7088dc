// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Request validation, as the kernel does it (contract section 3), for
 * whoever has to answer for the kernel in userspace: the emulation, and
 * the iterator, which checks a request once instead of asking the kernel.
 *
 * The caller's struct pm_scan_arg may sit at any address (the kernel
 * accepts any alignment): it is copied in and walk_end out byte-wise,
 * through process_vm_readv/writev, never through a typed pointer to it.
 */
#include "emu.h"

int ps_scan_args_in(const struct pm_scan_arg *uarg, struct pm_scan_arg *a)
{
	return sys_copy_from_self(a, uarg, sizeof(*a)) ? -EFAULT : 0; /* 1 */
}

/* access_ok(): the range must end at or below the user address limit. */
static bool range_ok(uint64_t addr, uint64_t size, uint64_t limit)
{
	uint64_t sum = addr + size;

	return sum >= addr && sum <= limit;
}

int ps_scan_args_check(struct pm_scan_arg *a, const struct ps_scan_limits *l)
{
	uint64_t psz = ps_pagesz(), size;

	if (a->size != sizeof(*a))				/* 2 */
		return -EINVAL;
	if (a->flags & ~l->flags)				/* 3 */
		return -EINVAL;
	if ((a->category_inverted | a->category_mask |
	     a->category_anyof_mask | a->return_mask) & ~l->cats)	/* 4 */
		return -EINVAL;
	/* 5: no address tags on x86-64 without LAM. */
	if (a->start & (psz - 1))				/* 6 */
		return -EINVAL;
	if (!range_ok(a->start, a->end - a->start, l->user_limit))
		return -EFAULT;					/* 7 */
	if (!a->vec && a->vec_len)				/* 8 */
		return -EINVAL;
	if (a->vec) {						/* 10 */
		size = a->vec_len > UINT64_MAX / sizeof(struct page_region) ?
		       UINT64_MAX : a->vec_len * sizeof(struct page_region);
		if (!range_ok(a->vec, size, l->user_limit))
			return -EFAULT;
	}
	/* 11 */
	a->end = (a->end + psz - 1) & ~(psz - 1);
	a->walk_end = 0;
	if (!a->max_pages)
		a->max_pages = UINT64_MAX;
	return 0;
}

int ps_scan_args_walk_end(struct pm_scan_arg *uarg, uint64_t walk_end)
{
	/* Byte arithmetic: &uarg->walk_end on a misaligned uarg is UB. */
	uintptr_t at = (uintptr_t)uarg + offsetof(struct pm_scan_arg,
						  walk_end);

	return sys_copy_to_self((void *)at, &walk_end, sizeof(walk_end));
}
