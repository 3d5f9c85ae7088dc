// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The emulation's walk over one chunk of pagemap entries of one VMA:
 * runs of entries with one key (all but the PFN) become categories and
 * regions for the output stage (emu_output.c), split where THP blocks or
 * the zero page's PFN make pages of one key differ.  emulate.c walks the
 * VMAs and hands each its chunks.
 */
#include "emu.h"

/*
 * The categories of the entries with key @k (all but the PFN) in this
 * VMA, through a cache of the last two keys: layouts alternate between
 * two kinds of entry (written and not, present and swapped) far more
 * often than among more.
 */
struct key_cache {
	uint64_t key[2], c[2], rc[2];
	bool match[2];
	unsigned int victim;		/* the slot a new key takes */
};

static inline unsigned int key_slot(struct emu *s, struct key_cache *kc,
				    uint64_t k, uint64_t e)
{
	unsigned int i;

	if (k == kc->key[0])
		return 0;
	if (k == kc->key[1])
		return 1;
	i = kc->victim;
	kc->victim ^= 1;
	kc->key[i] = k;
	kc->c[i] = (emu_entry_cats(e) & s->keep) | s->vma_cats;
	kc->rc[i] = kc->c[i] & s->a.return_mask;
	kc->match[i] = emu_matches(&s->a, kc->c[i]);
	return i;
}

/* Output a piece of a run: straight to the bounce buffer, or pending. */
static inline int piece(struct emu *s, uint64_t c, uint64_t start,
			uint64_t end)
{
	if (!s->direct)
		return emu_add_run(s, start, end, c);
	if (!emu_matches(&s->a, c))
		return 0;
	return emu_push(s, c, c & s->a.return_mask, start, end);
}

/*
 * Is the PMD block of entry @p (at @addr) of the @n entries from @a the
 * huge zero folio?  From the entries at hand where the run [p, @be)
 * covers the whole block, not at all where the entries at hand hold the
 * whole block but the run does not (its entries differ), else read.
 */
static int run_hzero(struct emu *s, const struct ps_vma *v,
		     const uint64_t *pm, size_t n, size_t p, size_t be,
		     uint64_t addr, bool *hz)
{
	uint64_t pmd = s->psz << 9, blk = addr & ~(pmd - 1);
	size_t back = (size_t)((addr - blk) >> s->shift);

	*hz = false;
	if (!back && be - p == 512)
		return emu_block_hzero(s, v, blk, pm + p, hz);
	if (back <= p && p - back + 512 <= n)
		return 0;
	return emu_block_hzero(s, v, blk, NULL, hz);
}

/*
 * A run [i, j) of one key whose pages may still differ in HUGE (PMD
 * blocks) or PFNZERO (the zero page's PFN, entry by entry): split it
 * into the pieces that have one set of categories, a compare per entry.
 */
static int walk_split(struct emu *s, const struct ps_vma *v,
		      const uint64_t *pm, size_t n, size_t i, size_t j,
		      uint64_t a, uint64_t c)
{
	uint64_t pmd = s->psz << 9, zpfn = s->caps->zero_pfn, f;
	unsigned int sh = s->shift;
	bool present = pm[i] & PM_ENTRY_PRESENT, z, hz;
	bool zcheck = present && s->want_zero && s->caps->have_zero_pfn;
	bool blocks = s->huge_words || (s->hz_inline && present);
	size_t p, q, r, be;
	int ret;

	for (p = i; p < j; p = be) {
		uint64_t addr = a + ((uint64_t)p << sh), cp = c;

		be = j;
		if (blocks) {
			be = p + (size_t)((pmd - (addr & (pmd - 1))) >> sh);
			if (be > j)
				be = j;
		}
		if (emu_in_bitmap(s->huge, s->huge_words, s->huge_base, addr,
				  pmd)) {
			cp |= PAGE_IS_HUGE;
			if (emu_in_bitmap(s->hzero, s->huge_words,
					  s->huge_base, addr, pmd))
				cp |= PAGE_IS_PFNZERO;
		} else if (s->hz_inline && present) {
			ret = run_hzero(s, v, pm, n, p, be, addr, &hz);
			if (ret)
				return ret;
			if (hz)
				cp |= PAGE_IS_HUGE | PAGE_IS_PFNZERO;
		}
		if (!zcheck) {
			ret = piece(s, cp, addr, a + ((uint64_t)be << sh));
			if (ret)
				return ret;
			continue;
		}
		for (q = p; q < be; q = r) {
			f = pm[q] & PM_ENTRY_PFN_MASK;
			if (!f)
				return emu_pfns_hidden(s);
			z = f == zpfn;
			for (r = q + 1; r < be; r++) {
				f = pm[r] & PM_ENTRY_PFN_MASK;
				if (!f || (f == zpfn) != z)
					break;
			}
			ret = piece(s, z ? cp | PAGE_IS_PFNZERO : cp,
				    a + ((uint64_t)q << sh),
				    a + ((uint64_t)r << sh));
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * emu_walk_entries() where matching runs go straight out (s->direct) with no
 * split: emu_push() with the bounce buffer's state in locals, written
 * back around the calls that take the output stage (a limit, a full
 * buffer) and at the end.  Through s every store of a region may alias
 * the scan state and forces it to be loaded again; under the VM lane's
 * TCG those loads cost more than the compares (the walk was ~3x the
 * floor's loop over the same entries there).
 */
static int walk_direct(struct emu *s, const uint64_t *pm, size_t n,
		       uint64_t a)
{
	struct key_cache kc = { .key = { ~(uint64_t)0, ~(uint64_t)0 } };
	struct page_region *buf = s->buf, *cur = buf + s->buf_idx;
	struct page_region *last = buf + s->buf_len - 1;
	uint64_t room = s->max_pages - s->found, taken = 0;
	unsigned int sh = s->shift, slot;
	size_t i, j;
	int ret;

	for (i = 0; i < n; i = j) {
		uint64_t k = pm[i] & PM_KEY_MASK, start, end, np, rc;

		for (j = i + 1; j < n && (pm[j] & PM_KEY_MASK) == k; j++)
			;
		slot = key_slot(s, &kc, k, pm[i]);
		if (!kc.match[slot])
			continue;
		np = j - i;
		rc = kc.rc[slot];
		start = a + ((uint64_t)i << sh);
		end = a + ((uint64_t)j << sh);
		if (np <= room) {
			if (start == cur->end && rc == cur->categories) {
				cur->end = end;
				room -= np;
				taken += np;
				continue;
			}
			if (!cur->end || cur < last) {
				if (cur->end)
					cur++;
				cur->start = start;
				cur->end = end;
				cur->categories = rc;
				room -= np;
				taken += np;
				continue;
			}
		}
		s->buf_idx = (size_t)(cur - buf);
		s->found += taken;
		taken = 0;
		ret = emu_output_run(s, kc.c[slot], start, end);
		if (ret)
			return ret;
		buf = s->buf;
		cur = buf + s->buf_idx;
		last = buf + s->buf_len - 1;
		room = s->max_pages - s->found;
	}
	s->buf_idx = (size_t)(cur - buf);
	s->found += taken;
	return 0;
}

/*
 * The common case: categories from the entries alone.  Runs of entries
 * with one key have one set of categories, so a run costs a compare and,
 * if it matches, one region for the output stage: straight into the
 * bounce buffer where nothing is armed (s->direct), else through the
 * pending run.
 */
int emu_walk_entries(struct emu *s, const struct ps_vma *v,
		     const uint64_t *pm, size_t n, uint64_t a)
{
	struct key_cache kc = { .key = { ~(uint64_t)0, ~(uint64_t)0 } };
	unsigned int sh = s->shift, slot;
	uint64_t start, end, c;
	size_t i, j;
	int ret;

	if (s->direct && s->run_end) {
		ret = emu_emit_run(s);
		if (ret)
			return ret;
	}
	if (s->direct && !s->split)
		return walk_direct(s, pm, n, a);
	for (i = 0; i < n; i = j) {
		uint64_t k = pm[i] & PM_KEY_MASK;

		for (j = i + 1; j < n && (pm[j] & PM_KEY_MASK) == k; j++)
			;
		slot = key_slot(s, &kc, k, pm[i]);
		if (s->split) {
			ret = walk_split(s, v, pm, n, i, j, a, kc.c[slot]);
			if (ret)
				return ret;
			continue;
		}
		start = a + ((uint64_t)i << sh);
		end = a + ((uint64_t)j << sh);
		if (s->direct) {
			if (!kc.match[slot])
				continue;
			ret = emu_push(s, kc.c[slot], kc.rc[slot], start, end);
			if (ret)
				return ret;
			continue;
		}
		c = kc.c[slot];
		if (s->run_end == start && s->run_cats == c && s->run_end) {
			s->run_end = end;
			continue;
		}
		ret = emu_emit_run(s);
		if (ret)
			return ret;
		/* A run that does not match only ends the one before. */
		if (kc.match[slot]) {
			s->run_start = start;
			s->run_end = end;
			s->run_cats = c;
		}
	}
	return 0;
}

/* Page by page, where PFNs, THP blocks or a provider's bits count. */
int emu_walk_pages(struct emu *s, const uint64_t *pm, size_t n, uint64_t a,
		   bool covered)
{
	uint64_t pmd = s->psz << 9;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		uint64_t e = pm[i], c, addr = a + (i << s->shift);

		c = (emu_entry_cats(e) & s->keep) | s->vma_cats;
		if (covered) {
			c &= ~PAGE_IS_WRITTEN;
			if (s->wbits[i / 64] >> (i % 64) & 1)
				c |= PAGE_IS_WRITTEN;
		}
		if (s->want_zero && (e & PM_ENTRY_PRESENT) &&
		    s->caps->have_zero_pfn) {
			if (!(e & PM_ENTRY_PFN_MASK))
				return emu_pfns_hidden(s);
			if ((e & PM_ENTRY_PFN_MASK) == s->caps->zero_pfn)
				c |= PAGE_IS_PFNZERO;
		}
		if (emu_in_bitmap(s->huge, s->huge_words, s->huge_base, addr,
				  pmd)) {
			c |= PAGE_IS_HUGE;
			if (emu_in_bitmap(s->hzero, s->huge_words,
					  s->huge_base, addr, pmd))
				c |= PAGE_IS_PFNZERO;
		}
		ret = emu_add_run(s, addr, addr + s->psz, c);
		if (ret)
			return ret;
	}
	return 0;
}
