// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The watch layer's side of the emulation's write-protect seam
 * (src/emu_wp.h): watches whose mechanism is a bitmap (uffd-sync,
 * soft-dirty, mprotect) answer PAGE_IS_WRITTEN, PAGE_IS_WPALLOWED and
 * PM_SCAN_WP_MATCHING for the emulated PAGEMAP_SCAN of this process.
 */
#include "watch.h"
#include "emu_wp.h"

bool watch_emulated_mechanism(const struct pagescan_watch *w)
{
	return w->ops != &watch_uffd_async_ops && w->bits;
}

static int prov_covers(void *ctx, uint64_t start, uint64_t end,
		       uint64_t *seg_end)
{
	struct pagescan_watch *w, *best = NULL;
	int ret = 0;

	watch_reg_lock();
	*seg_end = end;
	for (w = watch_reg_first_locked(); w; w = w->next) {
		if (!watch_emulated_mechanism(w) || w->end <= start)
			continue;
		if (w->start <= start) {
			best = w;
			break;
		}
		if (w->start < *seg_end)
			*seg_end = w->start;
	}
	if (best) {
		*seg_end = best->end < end ? best->end : end;
		ret = 1;
	}
	watch_reg_unlock();
	return ret;
}

/*
 * A watch unregistered by another thread since covers() said "tracked":
 * no page written, nothing to arm (0), and the scan reports what it saw,
 * as a kernel scan racing UFFDIO_UNREGISTER would (emu_wp.h); -ENOENT
 * would fail the whole scan.
 */
static int prov_written(void *ctx, uint64_t start, uint64_t end,
			uint64_t *bitmap)
{
	struct pagescan_watch *w;
	uint64_t a, i = 0;
	int ret = 0;

	watch_reg_lock();
	w = watch_reg_find_locked(start, end);
	if (w && watch_emulated_mechanism(w) && w->start <= start && end <= w->end) {
		for (a = start; a < end; a += ps_pagesz(), i++) {
			uint64_t j = (a - w->start) >> ps_page_shift;

			if (atomic_load(&w->bits[j / 64]) &
			    (UINT64_C(1) << (j % 64)))
				bitmap[i / 64] |= UINT64_C(1) << (i % 64);
		}
	}
	watch_reg_unlock();
	return ret;
}

static int prov_arm(void *ctx, uint64_t start, uint64_t end)
{
	struct pagescan_watch *w;
	int ret = 0;

	watch_reg_lock();
	w = watch_reg_find_locked(start, end);
	if (w && watch_emulated_mechanism(w) && w->start <= start && end <= w->end) {
		pthread_mutex_lock(&w->lock);
		ret = w->ops->reset(w, start, end);
		if (!ret && w->hash)
			watch_rehash(w, start, end);	/* verify mode: new reference */
		pthread_mutex_unlock(&w->lock);
	}
	watch_reg_unlock();
	return ret;
}

/* Watches whose mechanism the emulation may use: read lock-free. */
static _Atomic int prov_users PS_STATE;

void watch_emu_users(int delta)
{
	atomic_fetch_add(&prov_users, delta);
}

static int prov_active(void *ctx)
{
	return atomic_load(&prov_users) > 0;
}

static const struct emu_wp_ops watch_emu_ops = {
	.active = prov_active,
	.covers = prov_covers,
	.written = prov_written,
	.arm = prov_arm,
};

void watch_emu_provide(void)
{
	emu_wp_set(&watch_emu_ops, NULL);
}

