// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Category computation beyond one entry (emu_entry_cats() in emu.h): a
 * hugetlb page, PMD-mapped THP and huge zero pages, and the page table
 * behind a hugetlb slot.
 */
#include "emu.h"

#include <stdlib.h>

/* Raw categories of one hugetlb page from its first pagemap entry. */
uint64_t emu_hugetlb_cats(uint64_t e, bool slot)
{
	uint64_t c = 0;

	if (e & PM_ENTRY_SOFT_DIRTY)
		c |= PAGE_IS_SOFT_DIRTY;
	if (e & PM_ENTRY_PRESENT) {
		c |= PAGE_IS_HUGE | PAGE_IS_PRESENT;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else if (e & (PM_ENTRY_SWAP | PM_ENTRY_UFFD_WP)) {
		/* A pagemap read shows a hugetlb marker as bit 57 only. */
		c |= PAGE_IS_HUGE | PAGE_IS_SWAPPED;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
	} else if (slot) {
		c |= PAGE_IS_HUGE;
	}
	return c;
}

/*
 * What the 512 entries @e of a PMD-aligned block are: BLOCK_HZERO (the
 * huge zero folio), BLOCK_THP (a candidate PMD-mapped THP) or BLOCK_NONE.
 * A PMD-mapped THP reads as 512 present entries with the same flags (and,
 * where PFNs are visible, contiguous PFNs from an aligned one whose
 * kpageflags say THP, or the huge zero folio).
 */
enum { BLOCK_NONE, BLOCK_HZERO, BLOCK_THP };

static int block_kind(struct emu *s, const uint64_t *e, int *kind)
{
	uint64_t first = e[0], key, pfn, kf;
	size_t k;
	int ret;

	*kind = BLOCK_NONE;
	if (!(first & PM_ENTRY_PRESENT))
		return 0;
	key = first & PM_KEY_MASK;
	pfn = first & PM_ENTRY_PFN_MASK;
	for (k = 1; k < 512; k++) {
		if ((e[k] & PM_KEY_MASK) != key)
			return 0;
		if (s->caps->pfn && pfn &&
		    (e[k] & PM_ENTRY_PFN_MASK) != pfn + k)
			return 0;
	}
	if (s->caps->pfn) {
		/* A full block: what it is needs the PFNs we expected. */
		if (!pfn)
			return emu_pfns_hidden(s);
		if (pfn & 511)
			return 0;
		ret = emu_kpf_read(s, pfn, &kf);
		if (ret)
			return ret;
		/* The huge zero folio is only PMD-mapped. */
		if (kf & KPF_ZERO)
			*kind = BLOCK_HZERO;
		else if (kf & KPF_THP)
			*kind = BLOCK_THP;
		return 0;
	}
	/* Without PFNs: bit 61 in a private anonymous VMA. */
	if (s->caps->huge_zero_file && (first & PM_ENTRY_FILE) &&
	    s->keep != ~(uint64_t)0)
		*kind = BLOCK_HZERO;
	else
		*kind = BLOCK_THP;
	return 0;
}

static void set_bit64(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= UINT64_C(1) << (i % 64);
}

/*
 * HUGE for the PMD-aligned blocks of a non-hugetlb VMA that smaps says
 * holds PMD-mapped THPs.  PTE-mapped large folios look the same, so the
 * candidates are checked against smaps' count of PMD-mapped bytes for
 * the VMA: all of them, or none, or the answer is undecidable.  That
 * needs every block of the VMA before any is output, so the VMA's
 * entries are read here first, in CHUNK_ENTRIES reads.  A VMA without
 * THPs can hold only huge zero pages: where @walk_finds_hz the walk finds
 * them in the entries it reads anyway (emu_block_hzero()) and nothing is
 * read here, else the blocks the scan looks at are.
 */
int emu_thp_blocks(struct emu *s, const struct ps_vma *v, uint64_t lo,
		   uint64_t hi, bool walk_finds_hz)
{
	uint64_t pmd = s->psz << 9, b0, b1, b, r0, r1, ncand = 0, nthp;
	size_t words, i, k, n;
	uint64_t *cand;
	bool hz;
	int ret = 0, kind;

	b0 = (v->start + pmd - 1) & ~(pmd - 1);
	b1 = v->end & ~(pmd - 1);
	s->huge_words = 0;
	s->hz_blk = 0;
	nthp = s->want_huge ? v->thp_bytes / pmd : 0;
	hz = s->caps->huge_zero_possible &&
	     (s->caps->pfn || s->caps->huge_zero_file);
	s->hz_inline = hz && !nthp && walk_finds_hz;
	if (b0 >= b1 || (!nthp && (!hz || s->hz_inline)))
		return 0;
	/* Without THPs only huge zero pages, and only where the scan looks. */
	r0 = b0;
	r1 = b1;
	if (!nthp) {
		if ((lo & ~(pmd - 1)) > r0)
			r0 = lo & ~(pmd - 1);
		if (((hi + pmd - 1) & ~(pmd - 1)) < r1)
			r1 = (hi + pmd - 1) & ~(pmd - 1);
		if (r0 >= r1)
			return 0;
	}
	words = (size_t)(((b1 - b0) / pmd + 63) / 64);
	free(s->huge);
	free(s->hzero);
	s->huge = calloc(words, 8);
	s->hzero = calloc(words, 8);
	cand = calloc(words, 8);
	if (!s->huge || !s->hzero || !cand || !emu_scratch(s)) {
		free(cand);
		return -ENOMEM;
	}
	s->huge_base = b0;
	for (b = r0; b < r1; b += n << s->shift) {
		n = (size_t)((r1 - b) >> s->shift);
		if (n > CHUNK_ENTRIES)
			n = CHUNK_ENTRIES;
		ret = emu_read_pm(s, b, n, s->tmp);
		if (ret)
			goto out;
		for (k = 0; k < n; k += 512) {
			uint64_t i2 = (b - b0) / pmd + k / 512;

			ret = block_kind(s, s->tmp + k, &kind);
			if (ret)
				goto out;
			if (kind == BLOCK_HZERO) {
				set_bit64(s->huge, i2);
				set_bit64(s->hzero, i2);
			} else if (kind == BLOCK_THP) {
				set_bit64(cand, i2);
				ncand++;
			}
		}
	}
	if (nthp == ncand) {
		for (i = 0; i < words; i++)
			s->huge[i] |= cand[i];
	} else if (nthp) {
		ret = -EOPNOTSUPP;	/* EMU_QUIRK_UNDECIDABLE */
	}
	s->huge_words = words;
out:
	free(cand);
	return ret;
}

/*
 * Is the PMD-aligned block at @blk of VMA @v the huge zero folio?  @e
 * holds its 512 entries as the walk read them, or is NULL where the walk
 * holds only part of the block (then it is read; the last answer is
 * kept, for the other runs of that block).
 */
int emu_block_hzero(struct emu *s, const struct ps_vma *v, uint64_t blk,
		    const uint64_t *e, bool *hz)
{
	uint64_t pmd = s->psz << 9;
	int ret, kind;

	*hz = false;
	if (blk < v->start || blk + pmd > v->end)
		return 0;
	if (!e && s->hz_blk == blk) {
		*hz = s->hz_val;
		return 0;
	}
	if (!e) {
		if (!emu_scratch(s))
			return -ENOMEM;
		ret = emu_read_pm(s, blk, 512, s->tmp);
		if (ret)
			return ret;
		e = s->tmp;
	}
	ret = block_kind(s, e, &kind);
	if (ret)
		return ret;
	*hz = kind == BLOCK_HZERO;
	s->hz_blk = blk;
	s->hz_val = *hz;
	return 0;
}

bool emu_in_bitmap(const uint64_t *bm, size_t words, uint64_t base,
			     uint64_t addr, uint64_t pmd)
{
	uint64_t i;

	if (!words || addr < base)
		return false;
	i = (addr - base) / pmd;
	if (i / 64 >= words)
		return false;
	return bm[i / 64] >> (i % 64) & 1;
}

/*
 * Does the page table holding the hugetlb slots of the 1 GiB block at
 * @pud exist?  Guessed from any populated pagemap entry of any VMA in
 * that block (EMU_QUIRK_HUGETLB_EMPTY_SLOT): a table that exists with
 * nothing populated under it reads as missing.
 */
int emu_pud_populated(struct emu *s, uint64_t pud, bool *out)
{
	uint64_t end = pud + (UINT64_C(1) << 30);
	const struct ps_maps *m = s->maps;
	size_t i;
	uint64_t *pm = emu_scratch(s);
	int ret;

	if (s->pud_known && s->pud_addr == pud) {
		*out = s->pud_val;
		return 0;
	}
	if (!pm)
		return -ENOMEM;
	*out = false;
	for (i = ps_maps_find(m, pud); i < m->n && !*out; i++) {
		const struct ps_vma *v = &m->v[i];
		uint64_t a = v->start > pud ? v->start : pud;
		uint64_t b = v->end < end ? v->end : end;

		if (v->start >= end)
			break;
		if (v->flags & PAGESCAN_VMA_PFNMAP)
			continue;
		while (a < b && !*out) {
			size_t n = (size_t)((b - a) >> s->shift), k;

			if (n > CHUNK_ENTRIES)
				n = CHUNK_ENTRIES;
			ret = emu_read_pm(s, a, n, pm);
			if (ret)
				return ret;
			for (k = 0; k < n && !*out; k++)
				*out = (pm[k] & ~PM_ENTRY_SOFT_DIRTY) != 0;
			a += n << s->shift;
		}
	}
	s->pud_known = true;
	s->pud_addr = pud;
	s->pud_val = *out;
	return 0;
}
