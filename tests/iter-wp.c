// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the iterator with PM_SCAN_WP_MATCHING on an async uffd-wp
 * mapping of 2000+ written regions: it reports every written region once
 * and arms exactly what it reports (a second pass finds nothing; with
 * max_pages the pages beyond the budget stay WRITTEN), across several
 * kernel chunks and caller buffer sizes.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define NPG 4100

static char *p;
static uintptr_t P;

#define PG(n) (P + (uint64_t)(n) * t_psz)

static int collect(struct pagescan_scan_opts *o, size_t chunk,
		   struct pagescan_region *out, int cap, uint64_t *pos)
{
	struct pagescan_region buf[600];
	struct pagescan_iter *it;
	int n, total = 0;

	n = pagescan_iter_new(sc_handle(), PG(0), PG(NPG), o, &it);
	if (n)
		t_error("iter_new %d", n);
	while ((n = pagescan_iter_next(it, buf, chunk)) > 0) {
		if (total + n > cap) {
			t_fail("too many regions");
			break;
		}
		memcpy(out + total, buf, (size_t)n * sizeof(buf[0]));
		total += n;
	}
	t_check(n >= 0, "iter_next %d", n);
	*pos = pagescan_iter_pos(it);
	pagescan_iter_free(it);
	return total;
}

/* WRITTEN pages now, by one plain scan per 512-region chunk. */
static uint64_t written_pages(void)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = PAGE_IS_WRITTEN,
		      .return_mask = PAGE_IS_WRITTEN);
	static struct pagescan_region r[NPG];
	uint64_t pos, s = 0;
	int i, n = collect(&o, 512, r, NPG, &pos);

	for (i = 0; i < n; i++)
		s += (r[i].end - r[i].start) / t_psz;
	return s;
}

int main(void)
{
	static struct pagescan_region r[NPG];
	static const size_t chunks[] = { 1, 7, 512, 600 };
	uint64_t pos;
	unsigned int c;
	int i, n, fd;

	t_init("iter-wp");
	sc_need_scan();
	sc_need_wp_async();
	p = t_map(NPG * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	fd = sc_uffd_register(p, NPG * t_psz, true);
	if (fd < 0)
		t_error("register");

	for (c = 0; c < ARRAY_SIZE(chunks); c++) {
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .flags = PAGESCAN_WP_MATCHING,
			      .category_mask = PAGE_IS_WRITTEN,
			      .return_mask = PAGE_IS_WRITTEN);

		if (sc_wp_all(fd, p, NPG * t_psz))
			t_error("wp all");
		t_eq(written_pages(), 0);
		for (i = 0; i < NPG; i += 2)
			p[i * t_psz] = 1;
		n = collect(&o, chunks[c], r, NPG, &pos);
		t_check(n == NPG / 2, "chunk %zu: %d regions", chunks[c], n);
		for (i = 0; i < n && i < NPG / 2; i++)
			if (r[i].start != PG(2 * i) ||
			    r[i].end != PG(2 * i + 1)) {
				t_fail("chunk %zu: region %d wrong", chunks[c],
				       i);
				break;
			}
		t_eq(pos, PG(NPG));
		/* Armed what it reported: a second pass finds nothing. */
		n = collect(&o, chunks[c], r, NPG, &pos);
		t_check(n == 0, "chunk %zu: second pass %d", chunks[c], n);
		t_eq(written_pages(), 0);
	}

	/* A budget: exactly max_pages pages armed, the rest written. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .flags = PAGESCAN_WP_MATCHING,
			      .category_mask = PAGE_IS_WRITTEN,
			      .return_mask = PAGE_IS_WRITTEN,
			      .max_pages = 700);

		for (i = 0; i < NPG; i += 2)
			p[i * t_psz] = 1;
		n = collect(&o, 7, r, NPG, &pos);
		t_eq(n, 700);
		t_eq(r[699].start, PG(1398));
		t_check(pos >= PG(1399) && pos <= PG(1400),
			"pos %#" PRIx64 " after a budget of 700", pos);
		t_eq(written_pages(), NPG / 2 - 700);
		/* A dense block: the budget ends mid-region. */
		t_touch(p, 100 * t_psz);
		o.max_pages = 33;
		n = collect(&o, 7, r, NPG, &pos);
		t_eq(n, 1);
		t_eq(r[0].start, PG(0));
		t_eq(r[0].end, PG(33));
		t_eq(pos, PG(33));
		t_eq(written_pages(), NPG / 2 - 700 + 100 - 33);
	}
	close(fd);
	t_done();
}
