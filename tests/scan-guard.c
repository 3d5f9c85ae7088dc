// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: guard regions (MADV_GUARD_INSTALL, 6.13): guard markers
 * are SWAPPED|WRITTEN|GUARD (GUARD needs 6.16), never FILE, in written
 * and in untouched mappings; mask=GUARD selects exactly them; removing
 * the guard leaves pte_none (WRITTEN).
 */
#include "scan-common.h"

#include <sys/mman.h>

static struct page_region v[16];

#define PG(n) (P + (uint64_t)(n) * t_psz)

int main(void)
{
	struct pm_scan_arg a;
	struct sc_res r;
	uintptr_t P;
	char *p;
	uint64_t g;

	t_init("scan-guard");
	sc_need_scan();
	if (pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) != 1)
		t_skip("no MADV_GUARD_INSTALL (needs 6.13)");
	g = pagescan_probe(PAGESCAN_FEAT_CAT_GUARD) == 1 ? PAGE_IS_GUARD : 0;
	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	t_touch(p, 4 * t_psz);
	if (madvise(p + t_psz, 2 * t_psz, MADV_GUARD_INSTALL))
		t_error("MADV_GUARD_INSTALL");
	r = sc_all(p, 4 * t_psz, v, 16, "guard written");
	sc_expect(r, 3, PG(4), "guard in written pages");
	sc_region(v, 0, PG(0), PG(1), 0xa, "before guard");
	sc_region(v, 1, PG(1), PG(3), 0x12 | g, "guard markers");
	sc_region(v, 2, PG(3), PG(4), 0xa, "after guard");
	if (g) {
		a = t_arg(p, p + 8 * t_psz, v, 16, 0, 0, 0, PAGE_IS_GUARD, 0,
			  PAGE_IS_GUARD);
		sc_expect(sc_run(&a, true, "mask GUARD"), 1, PG(8),
			  "mask GUARD");
		sc_region(v, 0, PG(1), PG(3), PAGE_IS_GUARD, "mask GUARD");
		/* FILE asked for: guard markers are never FILE. */
		a = t_arg(p, p + 4 * t_psz, v, 16, 0, 0, 0, PAGE_IS_GUARD,
			  PAGE_IS_FILE | PAGE_IS_SWAPPED, SC_ALL);
		sc_expect(sc_run(&a, true, "guard anyof"), 1, PG(4),
			  "guard anyof FILE|SWAPPED");
		sc_region(v, 0, PG(1), PG(3), 0x112, "guard not FILE");
	}
	/* In an untouched mapping (the table is created by the install). */
	r = sc_all(p + 4 * t_psz, 4 * t_psz, v, 16, "pre-install");
	if (madvise(p + 5 * t_psz, t_psz, MADV_GUARD_INSTALL))
		t_error("MADV_GUARD_INSTALL");
	r = sc_all(p + 4 * t_psz, 4 * t_psz, v, 16, "guard untouched");
	sc_expect(r, 3, PG(8), "guard in an untouched mapping");
	sc_region(v, 0, PG(4), PG(5), NONE_W, "none before guard");
	sc_region(v, 1, PG(5), PG(6), 0x12 | g, "guard marker");
	sc_region(v, 2, PG(6), PG(8), NONE_W, "none after guard");
	/* Removed: pte_none again. */
	if (madvise(p + t_psz, 2 * t_psz, MADV_GUARD_REMOVE))
		t_error("MADV_GUARD_REMOVE");
	r = sc_all(p, 4 * t_psz, v, 16, "guard removed");
	sc_expect(r, 3, PG(4), "guard removed");
	sc_region(v, 1, PG(1), PG(3), NONE_W,
		  "removed guard is pte_none");
	t_done();
}
