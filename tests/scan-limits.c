// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: vec_len, max_pages and walk_end (contract section 7): a
 * full vec stops at the start of the first unit that did not fit,
 * max_pages truncates mid-region, max_pages reached exactly at a unit end
 * walks on to the next matching unit (or end), no vec means no counting,
 * and the kernel quirk for more than 512 regions: a completed scan with
 * vec_len > 512 reports the walk_end where the last internal bounce-buffer
 * flush restarted the walk, not end (6.7 to at least 6.18; the iterator
 * never asks for more than 512 regions to avoid it).
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2 (2UL << 20)

static struct page_region v[4096];
static char *p;
static uintptr_t P;

#define PG(n) (P + (uint64_t)(n) * t_psz)

static struct sc_res go(uint64_t s, uint64_t e, uint64_t vec_len,
			uint64_t max_pages, const char *what)
{
	struct pm_scan_arg a = t_arg((void *)PG(s), (void *)PG(e), v, vec_len,
				     0, max_pages, 0, PAGE_IS_PRESENT, 0,
				     PAGE_IS_PRESENT);

	return sc_run(&a, true, what);
}

/* Regions i of v are pages 2i (every other page written). */
static void sparse_ok(int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].start != PG(2 * i) || v[i].end != PG(2 * i + 1) ||
		    v[i].categories != PAGE_IS_PRESENT) {
			t_fail("%s: region %d wrong", what, i);
			return;
		}
}

/* A completed > 512-region scan: walk_end is the quirk or end. */
static void quirk(struct sc_res r, int n, uint64_t quirk_we, uint64_t end,
		  const char *what)
{
	t_check(r.ret == n && !r.err, "%s: ret %d errno %d", what, r.ret,
		r.err);
	if (r.walk_end == quirk_we)
		printf("%s: walk_end %#" PRIx64 " (the restart point, not "
		       "end: the >512-region kernel quirk)\n", what,
		       r.walk_end);
	else if (r.walk_end == end)
		printf("%s: walk_end == end (this kernel has no quirk)\n",
		       what);
	else
		t_fail("%s: walk_end %#" PRIx64 ", expected %#" PRIx64
		       " (quirk) or end %#" PRIx64, what, r.walk_end,
		       quirk_we, end);
	sparse_ok(n, what);
}

int main(void)
{
	struct pm_scan_arg a;
	struct sc_res r;
	int i;

	t_init("scan-limits");
	sc_need_scan();
	p = t_map_aligned(6 * MB2, MB2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, 6 * MB2, MADV_NOHUGEPAGE);

	/* Dense: 64 written pages. */
	t_touch(p, 64 * t_psz);
	r = go(0, 64, 16, 10, "dense max 10");
	sc_expect(r, 1, PG(10), "dense max_pages 10 (truncated)");
	sc_region(v, 0, PG(0), PG(10), PAGE_IS_PRESENT, "dense max 10");
	r = go(3, 64, 16, 10, "dense from 3 max 10");
	sc_expect(r, 1, PG(13), "dense from page 3, max 10");
	r = go(0, 64, 16, 64, "dense max 64");
	sc_expect(r, 1, PG(64), "dense max_pages 64 (exact)");
	r = go(0, 64, 16, 1000, "dense max 1000");
	sc_expect(r, 1, PG(64), "dense max_pages 1000");
	r = go(0, 64, 0, 10, "dense no vec");
	sc_expect(r, 0, PG(64), "no vec: max_pages ignored");
	a = t_arg(p, p + 64 * t_psz, NULL, 0, 0, 1, 0, PAGE_IS_PRESENT, 0,
		  PAGE_IS_PRESENT);
	sc_expect(sc_run(&a, false, "vec NULL max 1"), 0, PG(64),
		  "vec NULL, max_pages 1");

	/* Sparse: every other page of [64, 128) written. */
	madvise(p, 64 * t_psz, MADV_DONTNEED);
	P += 64 * t_psz;
	for (i = 0; i < 64; i += 2)
		p[(64 + i) * t_psz] = 1;
	r = go(0, 64, 3, 0, "sparse vec 3");
	sc_expect(r, 3, PG(6), "vec full: walk_end = first unit not fitting");
	sparse_ok(3, "sparse vec 3");
	r = go(0, 64, 16, 1, "sparse max 1");
	sc_expect(r, 1, PG(2), "max_pages at a unit end: next match");
	r = go(0, 64, 16, 3, "sparse max 3");
	sc_expect(r, 3, PG(6), "sparse max 3");
	sparse_ok(3, "sparse max 3");
	r = go(0, 64, 64, 32, "sparse max 32");
	sc_expect(r, 32, PG(64), "max_pages == matches: walk_end = end");
	sparse_ok(32, "sparse max 32");
	r = go(0, 2, 16, 1, "sparse max 1 short");
	sc_expect(r, 1, PG(2), "max_pages 1, no further match: end");
	r = go(0, 64, 1, 1, "sparse vec 1 max 1");
	sc_expect(r, 1, PG(2), "vec_len 1 max_pages 1");
	r = go(1, 64, 2, 0, "sparse vec 2 from 1");
	sc_expect(r, 2, PG(6), "vec full from an unmatched start");
	/* The next matching unit is far away: walk_end jumps there. */
	madvise(p + 64 * t_psz, 64 * t_psz, MADV_DONTNEED);
	p[64 * t_psz] = 1;
	p[(64 + 40) * t_psz] = 1;
	r = go(0, 64, 16, 1, "far");
	sc_expect(r, 1, PG(40), "max_pages 1, next match at page 40");
	r = go(0, 64, 1, 0, "far vec 1");
	sc_expect(r, 1, PG(40), "vec_len 1, next match at page 40");
	r = go(0, 64, 2, 2, "far both");
	sc_expect(r, 2, PG(64), "vec_len 2 max 2, both fit: end");

	/* More than 512 regions: 1050 single pages, every other page. */
	P = (uintptr_t)p + MB2;
	for (i = 0; i < 2100; i += 2)
		p[MB2 + i * t_psz] = 1;
	r = go(0, 1400, 2048, 0, "700 regions vec 2048");
	quirk(r, 700, PG(1024), PG(1400), "700 regions, vec_len 2048");
	r = go(0, 1400, 600, 0, "700 vec 600");
	sc_expect(r, 600, PG(1200), "700 regions, vec_len 600");
	sparse_ok(600, "700 vec 600");
	r = go(0, 1400, 512, 0, "700 vec 512");
	sc_expect(r, 512, PG(1024), "700 regions, vec_len 512");
	r = go(0, 1400, 513, 0, "700 vec 513");
	sc_expect(r, 513, PG(1026), "700 regions, vec_len 513");
	r = go(0, 1400, 2048, 600, "700 max 600");
	sc_expect(r, 600, PG(1200), "700 regions, max_pages 600");
	r = go(0, 2100, 2048, 0, "1050 regions");
	quirk(r, 1050, PG(2048), PG(2100), "1050 regions, vec_len 2048");
	r = go(0, 1024, 4096, 0, "512 regions exactly");
	sc_expect(r, 512, PG(1024), "exactly 512 regions, vec_len 4096");
	r = go(0, 1024, 512, 0, "512 regions vec 512");
	sc_expect(r, 512, PG(1024), "exactly 512 regions, vec_len 512");
	t_done();
}
