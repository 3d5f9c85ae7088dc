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
 * HUGE for the PMD-aligned blocks of a non-hugetlb VMA.  A PMD-mapped
 * THP reads as 512 present entries with the same flags (and, where PFNs
 * are visible, contiguous PFNs from an aligned one whose kpageflags say
 * THP, or the huge zero folio).  PTE-mapped large folios look the same,
 * so the candidates are checked against smaps' count of PMD-mapped bytes
 * for the VMA: all of them, or none, or the answer is undecidable.
 */
int emu_thp_blocks(struct emu *s, const struct ps_vma *v, uint64_t lo,
		      uint64_t hi)
{
	uint64_t pmd = s->psz << 9, b0, b1, b, ncand = 0, nthp;
	size_t words, i;
	uint64_t *cand;
	int ret = 0;

	b0 = (v->start + pmd - 1) & ~(pmd - 1);
	b1 = v->end & ~(pmd - 1);
	s->huge_words = 0;
	if (b0 >= b1)
		return 0;
	/* PFNZERO alone needs only the huge zero pages. */
	nthp = s->want_huge ? v->thp_bytes / pmd : 0;
	if (!nthp && !(s->caps->huge_zero_possible &&
		       (s->caps->pfn || s->caps->huge_zero_file)))
		return 0;
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
	for (b = b0; b < b1; b += pmd) {
		uint64_t *e = s->tmp, first, key, i2 = (b - b0) / pmd;
		bool all = true;
		size_t k;

		/*
		 * Without PMD-mapped THPs in the VMA only huge zero pages
		 * are of interest, and only where the scan looks.
		 */
		if (!nthp && (b + pmd <= lo || b >= hi))
			continue;

		ret = emu_read_pm(s, b, 512, e);
		if (ret)
			goto out;
		first = e[0];
		if (!(first & PM_ENTRY_PRESENT))
			continue;
		key = first & PM_KEY_MASK;
		for (k = 1; k < 512 && all; k++) {
			if ((e[k] & PM_KEY_MASK) != key)
				all = false;
			else if (s->caps->pfn && (first & PM_ENTRY_PFN_MASK) &&
				 (e[k] & PM_ENTRY_PFN_MASK) !=
				 (first & PM_ENTRY_PFN_MASK) + k)
				all = false;
		}
		if (!all)
			continue;
		/* A full block: what it is needs the PFNs we expected. */
		if (s->caps->pfn && !(first & PM_ENTRY_PFN_MASK)) {
			ret = emu_pfns_hidden(s);
			goto out;
		}
		if (s->caps->pfn) {
			uint64_t pfn = first & PM_ENTRY_PFN_MASK, kf;

			if (!pfn || (pfn & 511))
				continue;
			ret = emu_kpf_read(s, pfn, &kf);
			if (ret)
				goto out;
			if (kf & KPF_ZERO) {
				/* The huge zero folio is only PMD-mapped. */
				s->huge[i2 / 64] |= UINT64_C(1) << (i2 % 64);
				s->hzero[i2 / 64] |= UINT64_C(1) << (i2 % 64);
				continue;
			}
			if (!(kf & KPF_THP))
				continue;
		} else if (s->caps->huge_zero_file && (first & PM_ENTRY_FILE) &&
			   s->keep != ~(uint64_t)0) {
			/* Bit 61 in a private anonymous VMA. */
			s->huge[i2 / 64] |= UINT64_C(1) << (i2 % 64);
			s->hzero[i2 / 64] |= UINT64_C(1) << (i2 % 64);
			continue;
		}
		cand[i2 / 64] |= UINT64_C(1) << (i2 % 64);
		ncand++;
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
