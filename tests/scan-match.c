// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the matching rule (contract section 6): inversion before
 * the mask, anyof seeing the inverted bits, return_mask applied after
 * matching to the raw bits, return_mask 0 merging everything, and mask 0
 * matching every walked page.  Layout: 8 pages, pages 0 and 4 written,
 * the rest pte_none in the same table (0xa, N, 0xa, N with N
 * WRITTEN since the July 2026 fix, 0 before).
 */
#include "scan-common.h"

#include <sys/mman.h>

static struct page_region v[16];
static char *p;
static uintptr_t P;

static struct sc_res go(uint64_t inv, uint64_t mask, uint64_t anyof,
			uint64_t ret, const char *what)
{
	struct pm_scan_arg a = t_arg(p, p + 8 * t_psz, v, 16, 0, 0, inv, mask,
				     anyof, ret);

	return sc_run(&a, true, what);
}

#define PG(n) (P + (n) * t_psz)

int main(void)
{
	struct sc_res r;

	t_init("scan-match");
	sc_need_scan();
	p = t_map_aligned(2UL << 20, 2UL << 20, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, 2UL << 20, MADV_NOHUGEPAGE);
	p[0] = 1;
	p[4 * t_psz] = 1;

	r = go(0, 0, 0, SC_ALL, "all");
	sc_expect(r, 4, PG(8), "mask 0 matches every page");
	sc_region(v, 0, PG(0), PG(1), 0xa, "all");
	sc_region(v, 1, PG(1), PG(4), NONE_W, "all");
	sc_region(v, 2, PG(4), PG(5), 0xa, "all");
	sc_region(v, 3, PG(5), PG(8), NONE_W, "all");

	r = go(0, PAGE_IS_PRESENT, 0, SC_ALL, "mask PRESENT");
	sc_expect(r, 2, PG(8), "mask PRESENT");
	sc_region(v, 0, PG(0), PG(1), 0xa, "mask PRESENT");
	sc_region(v, 1, PG(4), PG(5), 0xa, "mask PRESENT");

	/* Inversion selects the complement... */
	r = go(PAGE_IS_PRESENT, PAGE_IS_PRESENT, 0, SC_ALL,
	       "inverted PRESENT");
	sc_expect(r, 2, PG(8), "select non-present");
	sc_region(v, 0, PG(1), PG(4), NONE_W, "select non-present");
	sc_region(v, 1, PG(5), PG(8), NONE_W, "select non-present");
	/* ...but the reported bits are raw, not inverted. */
	r = go(PAGE_IS_PRESENT, 0, 0, SC_ALL, "inverted only");
	sc_expect(r, 4, PG(8), "inverted without mask filters nothing");
	sc_region(v, 0, PG(0), PG(1), 0xa, "inverted only");
	sc_region(v, 1, PG(1), PG(4), NONE_W, "inverted only");

	/* anyof. */
	r = go(0, 0, PAGE_IS_PRESENT | PAGE_IS_FILE, SC_ALL, "anyof");
	sc_expect(r, 2, PG(8), "anyof PRESENT|FILE");
	sc_region(v, 0, PG(0), PG(1), 0xa, "anyof");
	sc_region(v, 1, PG(4), PG(5), 0xa, "anyof");
	r = go(PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT, SC_ALL,
	       "anyof inverted");
	sc_expect(r, 2, PG(8), "anyof sees the inverted bits");
	sc_region(v, 0, PG(1), PG(4), NONE_W, "anyof inverted");
	sc_region(v, 1, PG(5), PG(8), NONE_W, "anyof inverted");
	r = go(0, PAGE_IS_WRITTEN, PAGE_IS_SWAPPED | PAGE_IS_FILE,
	       SC_ALL, "mask and anyof");
	sc_expect(r, 0, PG(8), "mask ok but anyof fails");
	r = go(0, PAGE_IS_WRITTEN | PAGE_IS_PRESENT, PAGE_IS_PRESENT,
	       SC_ALL, "mask and anyof ok");
	sc_expect(r, 2, PG(8), "mask and anyof both hold");

	/* return_mask narrows after matching, and so merges more. */
	r = go(0, PAGE_IS_PRESENT, 0, PAGE_IS_WRITTEN, "ret WRITTEN");
	sc_expect(r, 2, PG(8), "mask PRESENT ret WRITTEN");
	sc_region(v, 0, PG(0), PG(1), 0x2, "ret WRITTEN");
	r = go(0, 0, 0, PAGE_IS_WRITTEN, "merge WRITTEN");
	if (NONE_W) {
		sc_expect(r, 1, PG(8), "present and none merge (ret WRITTEN)");
		sc_region(v, 0, PG(0), PG(8), NONE_W, "merge WRITTEN");
	} else {
		sc_expect(r, 4, PG(8), "ret WRITTEN, pte_none not WRITTEN");
	}
	r = go(0, 0, 0, 0, "ret 0");
	sc_expect(r, 1, PG(8), "return_mask 0 merges all");
	sc_region(v, 0, PG(0), PG(8), 0, "ret 0");
	r = go(0, PAGE_IS_PRESENT, 0, 0, "mask PRESENT ret 0");
	sc_expect(r, 2, PG(8), "ret 0 keeps gaps between matches");
	sc_region(v, 1, PG(4), PG(5), 0, "mask PRESENT ret 0");

	/* A mask naming a bit nothing has. */
	r = go(0, PAGE_IS_HUGE, 0, SC_ALL, "HUGE");
	sc_expect(r, 0, PG(8), "mask HUGE");
	/* inverted + mask of an absent bit matches everything. */
	r = go(PAGE_IS_HUGE, PAGE_IS_HUGE, 0, SC_ALL, "not HUGE");
	sc_expect(r, 4, PG(8), "inverted HUGE");
	/* WPALLOWED filtered at VMA level: an unregistered VMA. */
	r = go(0, PAGE_IS_WPALLOWED, 0, SC_ALL, "WPALLOWED");
	sc_expect(r, 0, PG(8), "mask WPALLOWED on unregistered VMA");
	r = go(PAGE_IS_WPALLOWED, PAGE_IS_WPALLOWED, 0, SC_ALL,
	       "not WPALLOWED");
	sc_expect(r, 4, PG(8), "inverted WPALLOWED on unregistered VMA");
	t_done();
}
