/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Shared by the tests/snapshot-*.c tests: the reference the test keeps
 * of a range at take (read without the library, from pagemap and the
 * memory), and the comparison after a restore: every byte equal, and
 * every page unpopulated at take unpopulated again.
 */
#ifndef SNAPSHOT_COMMON_H
#define SNAPSHOT_COMMON_H

#include "watch-common.h"

#include <sys/mman.h>
#include <unistd.h>

/* For older libc headers (5.4 and 6.1 values). */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

struct s_ref {
	char *p;
	size_t len;
	unsigned char *data;	/* content at take */
	bool *pop;		/* present or swapped (not the zero page) */
	bool anon;		/* private anonymous: unpopulated reads 0 */
};

static inline uint64_t s_pagemap(const void *p)
{
	uint64_t e = 0;

	if (pread(t_pagemap_fd(), &e, 8, (off_t)((uintptr_t)p / t_psz * 8)) != 8)
		t_error("pagemap");
	return e;
}

static inline bool s_populated(const void *p)
{
	uint64_t e = s_pagemap(p);

	/* present (63) or swapped (62); the zero page has PFN 0 as root. */
	return (e >> 63 & 1) || (e >> 62 & 1);
}

/* The PFN of the shared zero page (0 when PFNs are hidden: not root). */
static inline uint64_t s_zero_pfn(void)
{
	static uint64_t pfn = UINT64_MAX;

	if (pfn == UINT64_MAX) {
		volatile char *z = t_map(t_psz, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS);

		(void)z[0];
		pfn = s_pagemap((const void *)z) & ((1ULL << 55) - 1);
		munmap((void *)z, t_psz);
	}
	return pfn;
}

/* Present with a page of its own (not the zero page)?  Needs root. */
static inline bool s_holds_page(const void *p)
{
	uint64_t e = s_pagemap(p), pfn = e & ((1ULL << 55) - 1);

	return (e >> 63 & 1) && pfn && pfn != s_zero_pfn();
}

/* Record [p, p+len): populated pages copied, the others read as zero. */
static inline void s_ref_take(struct s_ref *r, void *p, size_t len, bool anon)
{
	size_t i, n = len / t_psz;

	r->p = p;
	r->len = len;
	r->anon = anon;
	r->data = malloc(len);
	r->pop = calloc(n, sizeof(bool));
	if (!r->data || !r->pop)
		t_error("malloc");
	for (i = 0; i < n; i++) {
		r->pop[i] = !anon || s_populated(r->p + i * t_psz);
		if (r->pop[i])
			memcpy(r->data + i * t_psz, r->p + i * t_psz, t_psz);
		else
			memset(r->data + i * t_psz, 0, t_psz);
	}
}

static inline void s_ref_free(struct s_ref *r)
{
	free(r->data);
	free(r->pop);
}

/*
 * After a restore: pages unpopulated at take that the test touched
 * (@touched[i], may be NULL: all) are unpopulated again (checked first:
 * the comparison reads them, and a read under uffd-sync fills a page),
 * and every byte is as at take.  Returns the number of differing pages.
 */
static inline size_t s_ref_check(const struct s_ref *r, const char *what,
				 const unsigned int *touched)
{
	size_t i, n = r->len / t_psz, bad = 0;

	if (r->anon)
		for (i = 0; i < n; i++)
			if (!r->pop[i] && (!touched || touched[i]) &&
			    s_holds_page(r->p + i * t_psz)) {
				t_fail("%s: page %zu (of %p), unpopulated at take, "
				       "holds a page after restore", what, i, (void *)r->p);
				bad++;
				break;
			}
	for (i = 0; i < n; i++) {
		/* Neither present nor swapped: reads zero, not read here. */
		if (r->anon && !s_populated(r->p + i * t_psz)) {
			static const char zero[1];

			if (r->pop[i] && memcmp(r->data + i * t_psz, zero, 1)) {
				if (!bad)
					t_fail("%s: page %zu empty after "
					       "restore", what, i);
				bad++;
			}
			continue;
		}
		if (memcmp(r->p + i * t_psz, r->data + i * t_psz, t_psz)) {
			if (!bad)
				t_fail("%s: page %zu differs after restore "
				       "(%02x, expected %02x)", what, i,
				       (unsigned char)r->p[i * t_psz],
				       r->data[i * t_psz]);
			bad++;
		}
	}
	if (bad)
		printf("%s: %zu pages differ\n", what, bad);
	return bad;
}

static inline int s_take1(void *p, size_t len, enum pagescan_watch_backend b,
			  unsigned int flags, struct pagescan_snapshot **out)
{
	struct pagescan_range r = { p, len };
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .backend = b, .flags = flags);

	return pagescan_snapshot_take(&r, 1, &o, out);
}

static inline uint64_t s_restore(struct pagescan_snapshot *s, const char *what)
{
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	int ret = pagescan_snapshot_restore(s, &st);

	t_check(ret == 0, "%s: restore: %s (%s)", what, strerror(-ret),
		pagescan_last_error() ? pagescan_last_error() : "");
	t_check(st.bytes == st.copied + st.discarded, "%s: stats add up", what);
	return ret ? UINT64_MAX : st.pages;
}

/* A cheap deterministic generator. */
static inline uint64_t s_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Under a sanitizer a whole-process snapshot is refused (its heap cannot
 * be rewound): check that it is, cleanly, and end the test there.
 */
static inline void s_process_refused(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s = NULL;
	int ret = pagescan_snapshot_take_process(&o, &s);

	t_check(ret == -EOPNOTSUPP && errno == EOPNOTSUPP && !s,
		"take_process under a sanitizer: %d", ret);
	printf("under a sanitizer: %s\n", pagescan_last_error());
	t_done();
}

#endif
