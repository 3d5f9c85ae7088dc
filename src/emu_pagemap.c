// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Reading pagemap (through the descriptor the scan was given, which stays
 * bound to the address space it was opened on) and kpageflags.
 */
#include "emu.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int emu_read_pm(struct emu *s, uint64_t addr, size_t n, uint64_t *buf)
{
	ssize_t got = sys_pread_full(s->fd, buf, n * 8,
				     (off_t)((addr >> s->shift) * 8));

	if (got < 0)
		return (int)got;
	if ((size_t)got != n * 8)
		return -ESRCH;	/* pagemap reads stop once mm is gone */
	return 0;
}

int emu_kpf_read(struct emu *s, uint64_t pfn, uint64_t *kf)
{
	if (s->kpf_fd < 0) {
		s->kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
		if (s->kpf_fd < 0 && (errno == EACCES || errno == EPERM))
			return emu_pfns_hidden(s);
		if (s->kpf_fd < 0)
			return -errno;
	}
	if (sys_pread_full(s->kpf_fd, kf, 8, (off_t)(pfn * 8)) != 8)
		return -EIO;
	return 0;
}

/*
 * The library first looked (emu_caps) with CAP_SYS_ADMIN, and this scan
 * finds a present entry without its PFN, or kpageflags closed: the
 * descriptor was opened, or kpageflags is read, by a caller that has
 * since dropped it (pagemap shows PFNs by its opener's credentials).  The
 * kernel's own scan would answer; the emulation cannot decide PFNZERO or
 * HUGE without them, and says so instead of missing pages
 * (EMU_QUIRK_UNDECIDABLE).
 */
int emu_pfns_hidden(struct emu *s)
{
	(void)s;
	return ps_errf(EOPNOTSUPP, "the emulation needs PFNs and "
		       "/proc/kpageflags for this request, and this caller "
		       "no longer sees them (CAP_SYS_ADMIN dropped since "
		       "the library started)");
}

uint64_t *emu_scratch(struct emu *s)
{
	if (!s->tmp)
		s->tmp = malloc(CHUNK_ENTRIES * sizeof(uint64_t));
	return s->tmp;
}

/* Is VMA @v's part of the scan read entry by entry, in one window? */
static bool windowed(const struct emu *s, const struct ps_vma *v)
{
	return !emu_vma_hugetlb(s, v) && !(v->flags & PAGESCAN_VMA_PFNMAP);
}

/*
 * Where the read that starts at @addr in VMA @vi ends: win_want entries
 * on, not past the scan, through the VMAs that follow while the gap
 * before each is small (a gap's entries cost less than a pread).  A
 * doubling read ends at a PMD boundary, as the kernel's pagemap steps
 * do; one fitted to what the vec still takes (win_exact) ends where it
 * was fitted: rounding it up would read up to a PMD block of entries
 * past where the walk stops, on every call of a scan loop.
 */
static uint64_t window_end(const struct emu *s, size_t vi, uint64_t addr)
{
	const struct ps_maps *m = s->maps;
	uint64_t blk = (uint64_t)(s->win_exact ? 1 : WINDOW_MIN) << s->shift;
	uint64_t hi = (addr + ((uint64_t)s->win_want << s->shift) + blk - 1) &
		      ~(blk - 1);
	uint64_t gap = (uint64_t)WINDOW_GAP << s->shift;
	size_t j;

	if (hi > s->a.end)
		hi = s->a.end;
	for (j = vi; m->v[j].end < hi; j++) {
		if (j + 1 >= m->n || m->v[j + 1].start - m->v[j].end > gap ||
		    !windowed(s, &m->v[j + 1]))
			return m->v[j].end;
	}
	return hi;
}

/* Regions the vec has taken so far, flushed or in the bounce buffer. */
static uint64_t regions_out(const struct emu *s)
{
	return (uint64_t)s->nout + s->buf_idx + (s->buf[s->buf_idx].end ? 1 : 0);
}

/*
 * The size of the next read.  With a vec, sized by the density seen so
 * far: the entries the regions still to come, and the one after that
 * stops the walk, should span at the rate of the entries read per region
 * so far, an eighth and a PMD block more, so that a scan that stops when
 * its vec is full reads little beyond where it stops (a vec that is full
 * already needs only the start of the next region, not a doubled read).
 * Without one (or before a region), doubling.  Never more than
 * CHUNK_ENTRIES: memory stays bounded whatever the range.
 */
static size_t next_want(struct emu *s)
{
	uint64_t done, left, want;

	want = (uint64_t)s->win_want * 2;
	s->win_exact = false;
	if (s->have_vec && (done = regions_out(s)) > 0 &&
	    done <= s->a.vec_len) {
		left = s->a.vec_len - done + 1;
		if (left < CHUNK_ENTRIES &&
		    s->pm_read / done < CHUNK_ENTRIES / left) {
			want = left * s->pm_read / done;
			want += want / 8 + WINDOW_MIN;
			s->win_exact = true;
		}
	}
	if (want < WINDOW_MIN)
		want = WINDOW_MIN;
	return want < CHUNK_ENTRIES ? (size_t)want : CHUNK_ENTRIES;
}

int emu_pm_get(struct emu *s, size_t vi, uint64_t addr, uint64_t end,
	       const uint64_t **e, size_t *n)
{
	uint64_t hi;
	size_t want;
	int ret;

	if (addr < s->win_lo || addr >= s->win_hi) {
		if (s->win_reads)
			s->win_want = next_want(s);
		hi = window_end(s, vi, addr);
		want = (size_t)((hi - addr) >> s->shift);
		if (want > s->pm_cap) {
			/* Never: win_want, rounded up to WINDOW_MIN. */
			want = s->pm_cap;
			hi = addr + ((uint64_t)want << s->shift);
		}
		s->win_lo = s->win_hi = 0;
		ret = emu_read_pm(s, addr, want, s->pm);
		if (ret)
			return ret;
		s->win_lo = addr;
		s->win_hi = hi;
		s->win_reads++;
		s->pm_read += want;
	}
	*e = s->pm + ((addr - s->win_lo) >> s->shift);
	if (end > s->win_hi)
		end = s->win_hi;
	*n = (size_t)((end - addr) >> s->shift);
	return 0;
}
