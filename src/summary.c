// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan_summary(): per mapping, how many bytes are resident, anonymous,
 * file, shmem, swapped, huge, zero-page, guard, soft-dirty and written,
 * counted as /proc/PID/smaps counts them, from one scan over the whole
 * range (not one per mapping) that keeps only present and swapped pages,
 * so that untouched memory costs nothing.
 *
 * It is built on the public API only (pagescan_vmas(), the iterator,
 * pagescan_scan()), as any caller could build it; what it adds is the
 * accounting rule (stats.c), in one place, so that the command, the
 * Python binding and the Prometheus exporter agree to the byte.
 *
 * What the scan's categories cannot say by themselves comes from the
 * mapping: whether its file is on shmem/tmpfs (shmem.c: the device number
 * against the kernel's internal shm mount and the target's tmpfs mounts)
 * and whether it is hugetlb (smaps VmFlags, read only for a file mapping
 * that holds huge pages, where a transparent huge page and a hugetlb page
 * look alike).
 */
#include "internal.h"

#include <inttypes.h>

/*
 * Addresses at or above this are not user space ([vsyscall] on x86-64);
 * PAGEMAP_SCAN rejects them (access_ok), and smaps_rollup leaves them out.
 */
#define USER_TOP (UINT64_C(1) << 63)

#define BIT(s) (UINT64_C(1) << (s))

struct sum_map {
	uint64_t start, end, offset, inode;
	uint32_t flags, dev_major, dev_minor;
	size_t name_off;
	uint64_t huge;		/* present bytes with HUGE, not zero */
	uint64_t bytes[PAGESCAN_STAT_SLOTS];
};

struct sum {
	struct sum_map *m;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	uint64_t lo, hi;
	uint64_t cats;		/* the scan's return_mask */
	bool sorted, oom;
	struct ps_devs tmpfs;
	uint64_t other[PAGESCAN_STAT_SLOTS];
};

static int add_vma(const struct pagescan_vma *v, void *ctx)
{
	struct sum *s = ctx;
	const char *name = v->name ? v->name : "";
	size_t nl = strlen(name);
	struct sum_map *m;

	if (v->start >= USER_TOP)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		m = realloc(s->m, cap * sizeof(*m));
		if (!m)
			goto oom;
		s->m = m;
		s->cap = cap;
	}
	if (s->names_len + nl + 1 > s->names_cap) {
		size_t cap = s->names_cap ? s->names_cap * 2 : 4096;
		char *n;

		while (cap < s->names_len + nl + 1)
			cap *= 2;
		n = realloc(s->names, cap);
		if (!n)
			goto oom;
		s->names = n;
		s->names_cap = cap;
	}
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->start = v->start > s->lo ? v->start : s->lo;
	m->end = v->end < s->hi ? v->end : s->hi;
	m->offset = v->offset;
	m->inode = v->inode;
	m->flags = v->flags & (PAGESCAN_VMA_READ | PAGESCAN_VMA_WRITE |
			       PAGESCAN_VMA_EXEC | PAGESCAN_VMA_SHARED);
	m->dev_major = v->dev_major;
	m->dev_minor = v->dev_minor;
	m->name_off = s->names_len;
	memcpy(s->names + s->names_len, name, nl + 1);
	s->names_len += nl + 1;
	if (m->start >= m->end)
		return 0;
	if (s->n && m->start < s->m[s->n - 1].end)
		s->sorted = false;
	if (ps_shmem_file(&s->tmpfs, m->dev_major, m->dev_minor, m->inode,
			  name))
		m->flags |= PAGESCAN_VMA_SHMEM;
	s->n++;
	return 0;
oom:
	s->oom = true;
	return -ENOMEM;
}

static int cmp_start(const void *a, const void *b)
{
	const struct sum_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * A list read while the target maps and unmaps may come out of order or
 * overlapping: sort it and clip overlaps, so that every page is counted
 * in one mapping at most.
 */
static void make_disjoint(struct sum *s)
{
	size_t i, n = 0;

	qsort(s->m, s->n, sizeof(*s->m), cmp_start);
	for (i = 0; i < s->n; i++) {
		struct sum_map *m = &s->m[i];

		if (n && m->start < s->m[n - 1].end)
			m->start = s->m[n - 1].end;
		if (m->start >= m->end)
			continue;
		s->m[n++] = *m;
	}
	s->n = n;
}

/* The categories this handle serves: a scan of nothing tells. */
static uint64_t served(struct pagescan *ps)
{
	uint64_t all = PAGESCAN_CAT_ALL, got = 0;
	unsigned int b;

	if (pagescan_scan(ps, 0, 0, NULL, 0, &(struct pagescan_scan_opts){
			  .sz = sizeof(struct pagescan_scan_opts),
			  .return_mask = all }) >= 0)
		return all;
	for (b = 0; b < PAGESCAN_CAT_COUNT; b++)
		if (pagescan_scan(ps, 0, 0, NULL, 0,
				  &(struct pagescan_scan_opts){
				  .sz = sizeof(struct pagescan_scan_opts),
				  .return_mask = BIT(b) }) >= 0)
			got |= BIT(b);
	return got;
}

/* What cannot be measured, and what may over-count, with @cats. */
static void limits(uint64_t cats, uint64_t *unavail, uint64_t *approx)
{
	uint64_t u = 0, a = 0;

	if (!(cats & PAGESCAN_CAT_PRESENT))
		u |= BIT(PAGESCAN_STAT_RSS) | BIT(PAGESCAN_STAT_ANON) |
		     BIT(PAGESCAN_STAT_FILE) | BIT(PAGESCAN_STAT_SHMEM) |
		     BIT(PAGESCAN_STAT_THP) | BIT(PAGESCAN_STAT_HUGETLB) |
		     BIT(PAGESCAN_STAT_ZERO) | BIT(PAGESCAN_STAT_PRESENT);
	if (!(cats & PAGESCAN_CAT_FILE))
		u |= BIT(PAGESCAN_STAT_ANON) | BIT(PAGESCAN_STAT_FILE) |
		     BIT(PAGESCAN_STAT_SHMEM);
	if (!(cats & PAGESCAN_CAT_SWAPPED))
		u |= BIT(PAGESCAN_STAT_SWAPPED) | BIT(PAGESCAN_STAT_GUARD) |
		     BIT(PAGESCAN_STAT_WP_MARKER);
	if (!(cats & PAGESCAN_CAT_HUGE))
		u |= BIT(PAGESCAN_STAT_THP);
	/* The kernel accepts the bit without CONFIG_MEM_SOFT_DIRTY. */
	if (!(cats & PAGESCAN_CAT_SOFT_DIRTY) ||
	    pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) != 1)
		u |= BIT(PAGESCAN_STAT_SOFT_DIRTY);
	if (!(cats & PAGESCAN_CAT_WRITTEN) || !(cats & PAGESCAN_CAT_WPALLOWED))
		u |= BIT(PAGESCAN_STAT_WRITTEN);
	if (!(cats & PAGESCAN_CAT_WRITTEN)) {
		u |= BIT(PAGESCAN_STAT_WP_MARKER);
		/* uffd-wp markers then read as swap entries. */
		if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP) != 0)
			a |= BIT(PAGESCAN_STAT_SWAPPED);
	}
	if (!(cats & PAGESCAN_CAT_GUARD)) {
		u |= BIT(PAGESCAN_STAT_GUARD);
		/* 6.13-6.15: guard markers read as swap entries. */
		if (pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) != 0)
			a |= BIT(PAGESCAN_STAT_SWAPPED);
	}
	if (!(cats & PAGESCAN_CAT_PFNZERO)) {
		u |= BIT(PAGESCAN_STAT_ZERO);
		/* Zero-page mappings then count as anonymous memory. */
		if (pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) != 0)
			a |= BIT(PAGESCAN_STAT_RSS) | BIT(PAGESCAN_STAT_ANON) |
			     BIT(PAGESCAN_STAT_THP);
	}
	*unavail = u;
	*approx = a & ~u;
}

/* Regions of one iterator batch, each split over the mappings it spans. */
static void attribute(struct sum *s, size_t *cur,
		      const struct pagescan_region *r)
{
	struct pagescan_region piece = *r;

	while (piece.start < r->end) {
		struct sum_map *m;
		uint64_t a = piece.start, e;

		while (*cur < s->n && s->m[*cur].end <= a)
			(*cur)++;
		if (*cur == s->n || s->m[*cur].start >= r->end) {
			/* A mapping made after the list was read. */
			pagescan_stats_add(s->other, 0, s->cats, &piece);
			return;
		}
		m = &s->m[*cur];
		if (m->start > a) {
			piece.end = m->start;
			pagescan_stats_add(s->other, 0, s->cats, &piece);
			piece.start = a = m->start;
		}
		e = m->end < r->end ? m->end : r->end;
		piece.end = e;
		pagescan_stats_add(m->bytes, m->flags, s->cats, &piece);
		if (r->categories & PAGESCAN_CAT_WPALLOWED)
			m->flags |= PAGESCAN_VMA_WPALLOWED;
		if ((r->categories & PAGESCAN_CAT_HUGE) &&
		    (r->categories & PAGESCAN_CAT_PRESENT) &&
		    !(r->categories & PAGESCAN_CAT_PFNZERO))
			m->huge += e - a;
		piece.start = e;
	}
}

static int scan(struct pagescan *ps, struct sum *s, uint64_t cats)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.return_mask = cats,
		/* Guard markers are SWAPPED too, so this keeps them. */
		.category_anyof_mask = cats & (PAGESCAN_CAT_PRESENT |
					       PAGESCAN_CAT_SWAPPED));
	struct pagescan_region v[256];
	struct pagescan_iter *it;
	size_t cur = 0;
	int n, i, ret;

	if (!s->n)
		return 0;
	ret = pagescan_iter_new(ps, s->m[0].start, s->m[s->n - 1].end, &o,
				&it);
	if (ret)
		return ret;
	while ((n = pagescan_iter_next(it, v, ARRAY_SIZE(v))) > 0)
		for (i = 0; i < n; i++)
			attribute(s, &cur, &v[i]);
	pagescan_iter_free(it);
	return n;
}

/*
 * A file mapping with huge pages not on shmem: a file THP or hugetlb.
 * Only smaps (VmFlags ht) tells, so it is read only then.  Where the scan
 * cannot report HUGE at all (the emulation without PFNs on a kernel whose
 * pagemap hides the huge zero page, 5.10 unprivileged), any resident file
 * mapping not on shmem may be hugetlb.
 */
static bool ambiguous(const struct sum *s, const struct sum_map *m)
{
	bool maybe = m->huge || (!(s->cats & PAGESCAN_CAT_HUGE) &&
				 m->bytes[PAGESCAN_STAT_RSS]);

	return maybe && m->inode && !(m->flags & PAGESCAN_VMA_SHMEM) &&
	       !(m->flags & PAGESCAN_VMA_HUGETLB);
}

struct ht_ctx {
	struct sum *s;
	size_t cur;
};

static int mark_hugetlb(const struct pagescan_vma *v, void *ctx)
{
	struct ht_ctx *c = ctx;
	struct sum *s = c->s;

	if (!(v->flags & PAGESCAN_VMA_HUGETLB))
		return 0;
	while (c->cur < s->n && s->m[c->cur].end <= v->start)
		c->cur++;
	for (; c->cur < s->n && s->m[c->cur].start < v->end; c->cur++) {
		struct sum_map *m = &s->m[c->cur];

		if (!ambiguous(s, m))
			continue;
		/*
		 * Every present page of a hugetlb mapping is a huge page,
		 * and it was counted as resident: move it, as smaps does.
		 */
		m->flags |= PAGESCAN_VMA_HUGETLB;
		m->bytes[PAGESCAN_STAT_HUGETLB] += m->bytes[PAGESCAN_STAT_RSS];
		m->bytes[PAGESCAN_STAT_RSS] = 0;
		m->bytes[PAGESCAN_STAT_ANON] = 0;
		m->bytes[PAGESCAN_STAT_FILE] = 0;
		m->bytes[PAGESCAN_STAT_SHMEM] = 0;
		m->bytes[PAGESCAN_STAT_THP] = 0;
		m->bytes[PAGESCAN_STAT_SWAPPED] = 0;
	}
	return 0;
}

static int find_hugetlb(struct pagescan *ps, struct sum *s)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct ht_ctx c = { .s = s };
	size_t i;
	int ret;

	for (i = 0; i < s->n; i++) {
		if (!ambiguous(s, &s->m[i]))
			continue;
		if (lo == UINT64_MAX)
			lo = s->m[i].start;
		hi = s->m[i].end;
	}
	if (lo == UINT64_MAX)
		return 0;
	ret = pagescan_vmas(ps, lo, hi, PAGESCAN_VMAS_SMAPS, mark_hugetlb, &c);
	return ret < 0 ? ret : 0;
}

/* Fail with @err, keeping the detail the failing call gave. */
static int fail(int err)
{
	const char *msg = pagescan_last_error();

	if (msg) {
		char copy[256];

		snprintf(copy, sizeof(copy), "%s", msg);
		ps_errf(err, "%s", copy);
	}
	return ps_err(err);
}

static void sum_free(struct sum *s)
{
	free(s->m);
	free(s->names);
	free(s->tmpfs.d);
}

int pagescan_summary(struct pagescan *ps, uint64_t start, uint64_t end,
		     const struct pagescan_summary_opts *opts,
		     pagescan_mapping_fn fn, void *ctx,
		     struct pagescan_summary *out)
{
	struct pagescan_summary res = { 0 };
	struct sum s = { 0 };
	uint64_t cats;
	size_t i;
	int ret;

	if (!ps || end < start)
		return ps_err(EINVAL);
	ret = OPTS_CHECK(opts, pagescan_summary_opts);
	if (!ret && out)
		ret = OPTS_CHECK(out, pagescan_summary);
	if (ret)
		return ps_err(-ret);
	if (OPTS_GET(opts, flags, 0))
		return ps_err(-ps_errf(EINVAL, "pagescan_summary: unknown "
				       "flags %#" PRIx64, OPTS_GET(opts, flags, 0)));

	cats = served(ps);
	/*
	 * WPALLOWED costs the emulation the target's smaps VmFlags and
	 * userfaultfd fdinfo on every call, for a count (written) that means
	 * something only in uffd-wp async mappings: natively only.
	 */
	if (pagescan_backend(ps) != PAGESCAN_BACKEND_NATIVE)
		cats &= ~PAGESCAN_CAT_WPALLOWED;
	limits(cats, &res.unavailable, &res.approximate);

	ps_shmem_devs(ps->proc_pid, &s.tmpfs);
	s.lo = start;
	s.hi = end < USER_TOP ? end : USER_TOP;
	s.sorted = true;
	s.cats = cats;
	if (s.lo < s.hi) {
		ret = pagescan_vmas(ps, s.lo, s.hi, 0, add_vma, &s);
		if (ret) {
			ret = s.oom ? ps_err(ENOMEM) : fail(-ret);
			goto out;
		}
	}
	if (!s.sorted)
		make_disjoint(&s);
	ret = scan(ps, &s, cats);
	if (!ret)
		ret = find_hugetlb(ps, &s);
	if (ret < 0) {
		ret = fail(-ret);
		goto out;
	}

	for (i = 0; i < s.n; i++) {
		unsigned int k;

		for (k = 0; k < PAGESCAN_STAT__COUNT; k++)
			res.total[k] += s.m[i].bytes[k];
		res.size += s.m[i].end - s.m[i].start;
	}
	for (i = 0; i < PAGESCAN_STAT__COUNT; i++) {
		res.unattributed[i] = s.other[i];
		res.total[i] += s.other[i];
	}
	res.mappings = s.n;
	for (i = 0; fn && i < s.n; i++) {
		const struct sum_map *m = &s.m[i];
		struct pagescan_mapping pm = {
			.sz = sizeof(pm),
			.start = m->start,
			.end = m->end,
			.offset = m->offset,
			.inode = m->inode,
			.flags = m->flags,
			.dev_major = m->dev_major,
			.dev_minor = m->dev_minor,
			.name = s.names + m->name_off,
		};

		memcpy(pm.bytes, m->bytes, sizeof(pm.bytes));
		ret = fn(&pm, ctx);
		if (ret)
			break;
	}
	if (out) {
		/* As much as the caller's struct holds: sz says how much. */
		size_t sz = out->sz < sizeof(res) ? out->sz : sizeof(res);

		res.sz = out->sz;
		memcpy(out, &res, sz);
	}
	if (ret < 0)
		errno = -ret;
out:
	sum_free(&s);
	return ret;
}
