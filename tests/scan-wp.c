// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: PM_SCAN_WP_MATCHING and PM_SCAN_CHECK_WPASYNC on async
 * uffd-wp VMAs (contract sections 4.2, 4.3, 8): markers and WRITTEN,
 * arming exactly what was matched and output (max_pages, vec_len), the
 * exclusive fast path without a vec ignoring the filters, unregistered
 * VMAs skipped, EPERM with the earlier regions already in vec and
 * walk_end = end, gaps harmless, sync uffd-wp not wp-allowed.  Each WP
 * request changes state, so it is run on three identically prepared
 * mappings: raw ioctl, pagescan_ioctl() and pagescan_scan(), which must
 * agree on the result and on the state left behind.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define NP 16

struct out {
	int ret, err;
	uint64_t walk_end;		/* relative to the mapping */
	struct page_region v[NP];	/* relative */
	int nafter;
	struct page_region after[NP];	/* all-bits scan afterwards */
};

typedef char *(*setup_fn)(void);

static int uffds[64], nuffd;

static char *reg_map(size_t npages, size_t nreg, bool async)
{
	char *p = t_map(npages * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	int fd;

	if (!nreg)
		return p;
	fd = sc_uffd_register(p, nreg * t_psz, async);
	if (fd < 0) {
		errno = -fd;
		t_error("uffd register");
	}
	if (nuffd < 64)
		uffds[nuffd++] = fd;
	return p;
}

static void relative(struct page_region *v, int n, uintptr_t base)
{
	int i;

	for (i = 0; i < n; i++) {
		v[i].start -= base;
		v[i].end -= base;
	}
}

/*
 * Prepare three mappings with @setup, run @tmpl (start/end/vec_len
 * relative, vec a placeholder: non-zero means "give a vec") on each
 * way, compare, and return the raw way's result.
 */
static struct out wp_case(setup_fn setup, struct pm_scan_arg tmpl,
			  size_t len, const char *what)
{
	struct out o[3];
	int k;

	memset(o, 0, sizeof(o));
	for (k = 0; k < 3; k++) {
		char *p = setup();
		uintptr_t P = (uintptr_t)p;
		struct pm_scan_arg a = tmpl;
		struct page_region av[NP];

		a.start += P;
		a.end += P;
		a.vec = tmpl.vec ? (uintptr_t)o[k].v : 0;
		a.walk_end = SC_POISON_WE;
		sc_poison(o[k].v, NP);
		errno = 0;
		if (k == 0) {
			o[k].ret = t_ioctl(t_pagemap_fd(), &a, &o[k].err);
		} else if (k == 1) {
			o[k].ret = t_pioctl(t_pagemap_fd(), &a, &o[k].err);
		} else {
			PAGESCAN_OPTS(pagescan_scan_opts, so,
				.flags = a.flags, .max_pages = a.max_pages,
				.category_inverted = a.category_inverted,
				.category_mask = a.category_mask,
				.category_anyof_mask = a.category_anyof_mask,
				.return_mask = a.return_mask,
				.walk_end = SC_POISON_WE);

			o[k].ret = pagescan_scan(sc_handle(), a.start, a.end,
				(struct pagescan_region *)(uintptr_t)a.vec,
				(size_t)a.vec_len, &so);
			o[k].err = o[k].ret < 0 ? errno : 0;
			if (o[k].ret < 0)
				o[k].ret = -1;
			a.walk_end = so.walk_end;
		}
		o[k].walk_end = a.walk_end - P;
		if (o[k].ret > 0)
			relative(o[k].v, o[k].ret, P);
		else if (o[k].ret < 0)
			relative(o[k].v, 1, P); /* EPERM: partial */
		{
			struct pm_scan_arg b = t_arg(p, p + len, av, NP, 0, 0,
						     0, 0, 0,
						     SC_ALL);

			o[k].nafter = t_ioctl(t_pagemap_fd(), &b, NULL);
			if (o[k].nafter > 0) {
				relative(av, o[k].nafter, P);
				memcpy(o[k].after, av, sizeof(av));
			}
		}
		munmap(p, len);
	}
	for (k = 1; k < 3; k++) {
		int n = o[0].ret > 0 ? o[0].ret : o[0].ret < 0 ? 1 : 0;

		if (o[k].ret != o[0].ret || o[k].err != o[0].err ||
		    o[k].walk_end != o[0].walk_end ||
		    memcmp(o[k].v, o[0].v, (size_t)n * sizeof(o[0].v[0])))
			t_fail("%s: way %d (ret %d errno %d walk_end +%#"
			       PRIx64 ") differs from the raw ioctl (ret %d "
			       "errno %d walk_end +%#" PRIx64 ")", what, k,
			       o[k].ret, o[k].err, o[k].walk_end, o[0].ret,
			       o[0].err, o[0].walk_end);
		if (o[k].nafter != o[0].nafter ||
		    (o[0].nafter > 0 &&
		     memcmp(o[k].after, o[0].after,
			    (size_t)o[0].nafter * sizeof(o[0].after[0]))))
			t_fail("%s: way %d left a different state", what, k);
	}
	return o[0];
}

#define PGS(n) ((uint64_t)(n) * t_psz)

static struct pm_scan_arg tmpl(size_t s, size_t e, bool vec, uint64_t vl,
			       uint64_t flags, uint64_t maxp, uint64_t inv,
			       uint64_t mask, uint64_t anyof, uint64_t ret)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags, .start = PGS(s),
		.end = PGS(e), .vec = vec, .vec_len = vl, .max_pages = maxp,
		.category_inverted = inv, .category_mask = mask,
		.category_anyof_mask = anyof, .return_mask = ret,
	};
	return a;
}

static void expect_region(const struct page_region *v, int i, size_t s,
			  size_t e, uint64_t c, const char *what)
{
	if (v[i].start != PGS(s) || v[i].end != PGS(e) || v[i].categories != c)
		t_fail("%s: region %d = +[%#" PRIx64 ", %#" PRIx64 ") %s, "
		       "expected +[%#" PRIx64 ", %#" PRIx64 ") %s", what, i,
		       (uint64_t)v[i].start, (uint64_t)v[i].end,
		       t_cats(v[i].categories), PGS(s), PGS(e), t_cats(c));
}

/* Registered, 16 pages, page 0 written, nothing armed yet. */
static char *s_fresh(void)
{
	char *p = reg_map(NP, NP, true);

	p[0] = 1;
	return p;
}

/* Registered, all armed, then pages 0..15 written. */
static char *s_all_written(void)
{
	char *p = reg_map(NP, NP, true);

	if (sc_wp_all(uffds[nuffd - 1], p, NP * t_psz))
		t_error("wp all");
	t_touch(p, NP * t_psz);
	return p;
}

/* Registered, armed, every other page written. */
static char *s_sparse(void)
{
	char *p = reg_map(NP, NP, true);
	int i;

	if (sc_wp_all(uffds[nuffd - 1], p, NP * t_psz))
		t_error("wp all");
	for (i = 0; i < NP; i += 2)
		p[i * t_psz] = 1;
	return p;
}

/* Pages 0-3 registered and armed, 0 written; 4-7 unregistered. */
static char *s_mixed(void)
{
	char *p = reg_map(8, 4, true);

	if (sc_wp_all(uffds[nuffd - 1], p, 4 * t_psz))
		t_error("wp all");
	t_touch(p, 8 * t_psz);
	t_read(p, 4 * t_psz);
	return p;
}

/* 8 pages: 0-3 unregistered, 4-7 registered (unreg first). */
static char *s_unreg_first(void)
{
	char *p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	int fd = sc_uffd_register(p + 4 * t_psz, 4 * t_psz, true);

	if (fd < 0)
		t_error("register");
	if (nuffd < 64)
		uffds[nuffd++] = fd;
	t_touch(p, 8 * t_psz);
	return p;
}

/* Registered 8 pages with pages 3-4 unmapped (a gap). */
static char *s_gap(void)
{
	char *p = reg_map(8, 8, true);

	t_touch(p, 8 * t_psz);
	munmap(p + 3 * t_psz, 2 * t_psz);
	return p;
}

/* Sync uffd-wp (no WP_ASYNC): not wp-allowed. */
static char *s_sync(void)
{
	char *p = reg_map(4, 4, false);

	t_touch(p, 4 * t_psz);
	return p;
}

int main(void)
{
	struct out o;
	const uint64_t W = PAGE_IS_WRITTEN, ALL = SC_ALL;
	const uint64_t WPM = PM_SCAN_WP_MATCHING, CHK = PM_SCAN_CHECK_WPASYNC;

	t_init("scan-wp");
	sc_need_scan();
	sc_need_wp_async();

	/* A: before any arming: present 0xb, pte_none 0x3 (0x1 pre-fix). */
	o = wp_case(s_fresh, tmpl(0, NP, 1, NP, 0, 0, 0, 0, 0, ALL),
		    PGS(NP), "A fresh");
	t_eq(o.ret, 2);
	expect_region(o.v, 0, 0, 1, 0xb, "A");
	expect_region(o.v, 1, 1, NP, 0x1 | NONE_W, "A pte_none, registered");

	/* B: arm everything (vec NULL): markers SWAPPED, present 0x9. */
	o = wp_case(s_fresh, tmpl(0, NP, 0, 0, WPM | CHK, 0, 0, W, 0, W),
		    PGS(NP), "B arm all");
	t_eq(o.ret, 0);
	t_eq(o.walk_end, PGS(NP));
	t_eq(o.nafter, 2);
	expect_region(o.after, 0, 0, 1, 0x9, "B armed present");
	expect_region(o.after, 1, 1, NP, 0x11, "B markers");

	/* C: max_pages 4 with a vec arms exactly 4 pages. */
	o = wp_case(s_all_written, tmpl(0, NP, 1, NP, WPM, 4, 0, W, 0, W),
		    PGS(NP), "C max_pages 4");
	t_eq(o.ret, 1);
	t_eq(o.walk_end, PGS(4));
	expect_region(o.v, 0, 0, 4, W, "C reported");
	t_eq(o.nafter, 2);
	expect_region(o.after, 0, 0, 4, 0x9, "C armed");
	expect_region(o.after, 1, 4, NP, 0xb, "C still written");
	/* C2: the generic path (anyof) with max_pages 3. */
	o = wp_case(s_all_written, tmpl(2, NP, 1, NP, WPM, 3, 0, 0, W, ALL),
		    PGS(NP), "C2 anyof max_pages 3");
	t_eq(o.ret, 1);
	t_eq(o.walk_end, PGS(5));
	expect_region(o.v, 0, 2, 5, 0xb, "C2 reported");
	t_eq(o.nafter, 3);
	expect_region(o.after, 1, 2, 5, 0x9, "C2 armed");
	/* C3: vec_len 2 on sparse writes arms the two reported only. */
	o = wp_case(s_sparse, tmpl(0, NP, 1, 2, WPM, 0, 0, W, 0, W),
		    PGS(NP), "C3 vec_len 2");
	t_eq(o.ret, 2);
	t_eq(o.walk_end, PGS(4));
	expect_region(o.v, 1, 2, 3, W, "C3 reported");
	expect_region(o.after, 0, 0, 1, 0x9, "C3 page 0 armed");
	expect_region(o.after, 1, 1, 2, 0x11, "C3 page 1 marker");
	expect_region(o.after, 2, 2, 3, 0x9, "C3 page 2 armed");
	expect_region(o.after, 4, 4, 5, 0xb, "C3 page 4 still written");

	/* D: the exclusive fast path (no vec) ignores the filters. */
	o = wp_case(s_all_written, tmpl(0, NP, 0, 0, WPM, 0, 0,
					PAGE_IS_FILE, 0, W),
		    PGS(NP), "D vec NULL mask FILE");
	t_eq(o.ret, 0);
	t_eq(o.nafter, 1);
	expect_region(o.after, 0, 0, NP, 0x9, "D fast path armed all");
	o = wp_case(s_all_written, tmpl(0, NP, 1, NP, WPM, 0, 0,
					PAGE_IS_FILE, 0, W),
		    PGS(NP), "D with vec mask FILE");
	t_eq(o.ret, 0);
	expect_region(o.after, 0, 0, NP, 0xb, "D with vec: nothing armed");
	o = wp_case(s_all_written, tmpl(0, NP, 1, 0, WPM, 0, 0,
					PAGE_IS_FILE, 0, W),
		    PGS(NP), "D vec_len 0");
	t_eq(o.ret, 0);
	expect_region(o.after, 0, 0, NP, 0x9, "D vec_len 0 = no vec");
	o = wp_case(s_all_written, tmpl(0, NP, 0, 0, WPM, 2, 0, W, 0, W),
		    PGS(NP), "D vec NULL max_pages 2");
	expect_region(o.after, 0, 0, NP, 0x9, "D max_pages ignored");

	/* E: unregistered neighbours. */
	o = wp_case(s_mixed, tmpl(0, 8, 1, NP, CHK, 0, 0, 0, 0, ALL),
		    PGS(8), "E CHECK_WPASYNC reg+unreg");
	t_eq(o.ret, -1);
	t_eq(o.err, EPERM);
	t_eq(o.walk_end, PGS(8));
	expect_region(o.v, 0, 0, 4, 0xb, "E earlier region already in vec");
	o = wp_case(s_mixed, tmpl(4, 8, 1, NP, CHK, 0, 0, 0, 0, ALL),
		    PGS(8), "E CHECK_WPASYNC unreg");
	t_eq(o.err, EPERM);
	t_eq(o.walk_end, PGS(8));
	o = wp_case(s_unreg_first, tmpl(0, 8, 1, NP, CHK, 0, 0, 0, 0, ALL),
		    PGS(8), "E CHECK_WPASYNC unreg first");
	t_eq(o.err, EPERM);
	t_eq(o.walk_end, PGS(8));
	o = wp_case(s_mixed, tmpl(0, 8, 1, NP, WPM, 0, 0, 0, 0, ALL),
		    PGS(8), "E WP_MATCHING skips unregistered");
	t_eq(o.ret, 1);
	expect_region(o.v, 0, 0, 4, 0xb, "E only the registered VMA");
	t_eq(o.walk_end, PGS(8));
	expect_region(o.after, 0, 0, 4, 0x9, "E registered armed");
	expect_region(o.after, 1, 4, 8, 0xa, "E unregistered untouched");
	o = wp_case(s_mixed, tmpl(0, 8, 1, NP, 0, 0, 0, PAGE_IS_WPALLOWED, 0,
				  ALL), PGS(8), "E mask WPALLOWED");
	t_eq(o.ret, 1);
	expect_region(o.v, 0, 0, 4, 0xb, "E mask WPALLOWED");
	o = wp_case(s_mixed, tmpl(0, 8, 1, NP, 0, 0, PAGE_IS_WPALLOWED,
				  PAGE_IS_WPALLOWED, 0, ALL),
		    PGS(8), "E inverted WPALLOWED");
	t_eq(o.ret, 1);
	expect_region(o.v, 0, 4, 8, 0xa, "E inverted WPALLOWED");
	/* A gap is not a VMA: no EPERM. */
	o = wp_case(s_gap, tmpl(0, 8, 1, NP, CHK, 0, 0, 0, 0, ALL),
		    PGS(8), "gap CHECK_WPASYNC");
	t_eq(o.ret, 2);
	t_eq(o.walk_end, PGS(8));
	/* F2: sync uffd-wp is not wp-allowed. */
	o = wp_case(s_sync, tmpl(0, 4, 1, NP, 0, 0, 0, 0, 0, ALL),
		    PGS(4), "F2 sync");
	t_eq(o.ret, 1);
	expect_region(o.v, 0, 0, 4, 0xa, "F2 sync: no WPALLOWED");
	o = wp_case(s_sync, tmpl(0, 4, 1, NP, CHK, 0, 0, 0, 0, ALL),
		    PGS(4), "F2 sync CHECK_WPASYNC");
	t_eq(o.err, EPERM);
	t_done();
}
