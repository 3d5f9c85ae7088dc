// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * GetWriteWatch / ResetWriteWatch: the Windows-shaped calls, which name
 * memory by address instead of by watch (Wine's kernel32 semantics:
 * ranges rounded outwards to pages, *count == 0 invalid, large pages
 * reported one address per huge page).  They find the one watch that
 * holds the range and call the core's get and reset.
 */
#include "watch.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

/* Round outwards to pages, as Wine does, and find the one watch. */
static int win_range(void *base, size_t size, uint64_t *start, uint64_t *end)
{
	uint64_t psz = ps_pagesz(), s = (uintptr_t)base;

	if (!size || s + size < s)
		return -EINVAL;
	*start = s & ~(psz - 1);
	*end = (s + size + psz - 1) & ~(psz - 1);
	return 0;
}

/*
 * A watch made of one hugetlb stretch reports at the huge page's
 * granularity, as Windows does for large pages: one address per huge
 * page, *count counting huge pages.  Its huge page size, or 0.
 */
static uint64_t win_huge(const struct pagescan_watch *w)
{
	if (w->nhuge == 1 && w->huge[0].start == w->start &&
	    w->huge[0].end == w->end)
		return w->huge[0].hps;
	return 0;
}

/*
 * One address per huge page of @hps: ask for whole huge pages' worth of
 * 4 KiB pages (so a reset arms exactly what is returned) and fold them.
 * Every call stores at least one huge page when one is written, so a
 * Windows loop with a small *count makes progress.
 */
static int win_get_huge(struct pagescan_watch *w, uint64_t start,
			uint64_t end, uint64_t hps, void **addresses,
			uintptr_t *count, struct pagescan_watch_get_opts *o)
{
	uint64_t hpages = hps >> ps_page_shift, pos = start;
	uintptr_t stored = 0;
	void **tmp;
	int ret = 0, n, i;

	tmp = malloc(64 * hpages * sizeof(*tmp));
	if (!tmp) {
		*count = 0;
		return -ENOMEM;
	}
	while (pos < end && stored < *count) {
		uintptr_t k = *count - stored;

		if (k > 64)
			k = 64;
		n = pagescan_watch_get_pages(w, (void *)(uintptr_t)pos,
					     end - pos, tmp, k * hpages, o);
		if (n < 0) {
			ret = n;
			break;
		}
		for (i = 0; i < n && stored < *count; i++) {
			void *h = (void *)((uintptr_t)tmp[i] &
					   ~(uintptr_t)(hps - 1));

			if (!stored || addresses[stored - 1] != h)
				addresses[stored++] = h;
		}
		if (o->next <= pos)
			break;
		pos = o->next;
	}
	free(tmp);
	*count = stored;
	return ret;
}

int pagescan_get_write_watch(uint32_t flags, void *base, size_t size,
			     void **addresses, uintptr_t *count,
			     uint32_t *granularity)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, o,
		.flags = flags & PAGESCAN_WRITE_WATCH_FLAG_RESET ?
			 PAGESCAN_WATCH_RESET : 0);
	struct watch_sink sk = { 0 };
	struct pagescan_watch *w;
	uint64_t start, end, hps;
	int ret;

	/* Windows and Wine: *count == 0 is an invalid parameter. */
	if (flags & ~(uint32_t)PAGESCAN_WRITE_WATCH_FLAG_RESET || !count ||
	    !granularity || !addresses || !*count)
		return ps_err(EINVAL);
	ret = win_range(base, size, &start, &end);
	if (ret)
		return ps_err(-ret);
	watch_reg_lock();
	w = watch_reg_find_locked(start, end);
	if (!w || start < w->start || end > w->end) {
		watch_reg_unlock();
		return ps_err(EINVAL);
	}
	if (!watch_owned(w)) {
		watch_reg_unlock();
		return ps_err(ECHILD);
	}
	hps = win_huge(w);
	if (hps) {
		/* Whole huge pages, inside the watch (it covers whole ones). */
		start &= ~(hps - 1);
		end = (end + hps - 1) & ~(hps - 1);
		ret = win_get_huge(w, start, end, hps, addresses, count, &o);
		*granularity = (uint32_t)hps;
	} else {
		sk.addrs = addresses;
		sk.naddrs = *count > INT_MAX ? INT_MAX : *count;
		ret = watch_get(w, start, end, &sk, &o);
		/* Also on EIO (verify mode): what was stored is valid. */
		*count = sk.n;
		*granularity = (uint32_t)ps_pagesz();
	}
	watch_reg_unlock();
	return ret < 0 ? ret : 0;
}

int pagescan_reset_write_watch(void *base, size_t size)
{
	struct pagescan_watch *w;
	uint64_t start, end;
	int ret;

	ret = win_range(base, size, &start, &end);
	if (ret)
		return ps_err(-ret);
	watch_reg_lock();
	w = watch_reg_find_locked(start, end);
	if (!w || start < w->start || end > w->end)
		ret = ps_err(EINVAL);
	else
		ret = pagescan_watch_reset(w, (void *)(uintptr_t)start,
					   end - start);
	watch_reg_unlock();
	return ret;
}

