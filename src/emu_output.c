// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The output stage: runs of equal raw categories are matched (contract
 * section 6) and fed to a model of the kernel's pagemap_scan_output(),
 * push_range() and flush logic, including its 512-entry bounce buffer, so
 * that vec_len exhaustion, max_pages truncation (with the exact-unit-end
 * rule), partial EFAULT and merging across VMAs come out the same.
 * Feeding runs instead of the kernel's units (page, hole range, THP,
 * hugetlb page) gives the same output, because a unit has one set of
 * categories and the output stage clips at pages.
 */
#include "emu.h"

/* pagemap_scan_push_range(): false when a new region needs a full slot. */
static bool push_range(struct emu *s, uint64_t cats, uint64_t addr,
		       uint64_t end)
{
	struct page_region *cur = &s->buf[s->buf_idx];

	if (addr == cur->end && cats == cur->categories) {
		cur->end = end;
		return true;
	}
	if (cur->end) {
		if (s->buf_idx >= s->buf_len - 1)
			return false;
		cur = &s->buf[++s->buf_idx];
	}
	cur->start = addr;
	cur->end = end;
	cur->categories = cats;
	return true;
}

static int write_user(uint64_t uaddr, const void *src, size_t len)
{
	return sys_copy_to_self((void *)(uintptr_t)uaddr, src, len);
}

/*
 * A copy of several of the kernel's buffers failed: copy them one by one
 * as the kernel would have, and stop where it would have, with the
 * walk_end its walk had there (the start of the region that did not fit
 * in the failing buffer, which opened the next one).
 */
static int flush_replay(struct emu *s, size_t n)
{
	size_t k, m;

	for (k = 0; k < n; k += m) {
		m = n - k < s->blk_len ? n - k : s->blk_len;
		if (write_user(s->vec_out + k * sizeof(s->buf[0]), s->buf + k,
			       m * sizeof(s->buf[0]))) {
			if (k + m < n)
				s->walk_end = s->buf[k + m].start;
			s->nout += (int)k;
			return -EFAULT;
		}
	}
	return 0;
}

/*
 * pagemap_scan_flush_buffer(): only non-empty entries are copied.  Where
 * nothing is armed (s->direct) the buffer holds OUT_BATCH of the kernel's
 * and goes out in one copy: the regions are the same (a region that
 * opens a kernel buffer never merges with the one before, which did not
 * take it), only a failed copy needs telling apart (flush_replay()).
 */
int emu_flush(struct emu *s)
{
	size_t n = s->buf_idx;

	if (!s->have_vec)
		return 0;
	if (s->buf[n].end != s->buf[n].start)
		n++;
	if (!n)
		return 0;
	if (write_user(s->vec_out, s->buf, n * sizeof(s->buf[0])))
		return n > s->blk_len ? flush_replay(s, n) : -EFAULT;
	s->vec_left -= n;
	s->vec_out += n * sizeof(s->buf[0]);
	s->nout += (int)n;
	s->buf_idx = 0;
	if (s->buf_len > s->vec_left)
		s->buf_len = (size_t)s->vec_left;
	memset(&s->buf[0], 0, sizeof(s->buf[0]));
	return 0;
}

/*
 * pagemap_scan_output() for the matching unit [addr, end): 0 go on,
 * 1 stop (a limit), EMU_RESTART (walk again from s->restart_at), -errno.  @out_end gets the end actually output.
 */
static int output(struct emu *s, uint64_t cats, uint64_t addr, uint64_t end,
		  uint64_t *out_end)
{
	uint64_t n_pages, total, e;
	int stop, ret;

	*out_end = end;
	if (!s->have_vec)
		return 0;
	*out_end = addr;
	cats &= s->a.return_mask;
again:
	e = end;
	stop = 0;
	n_pages = (e - addr) >> s->shift;
	if (__builtin_add_overflow(s->found, n_pages, &total) ||
	    total > s->max_pages) {
		uint64_t too_much = total - s->max_pages;

		e -= too_much << s->shift;
		n_pages -= too_much;
		stop = 1;
	}
	if (!push_range(s, cats, addr, e)) {
		/* The bounce buffer is full: the kernel stops its walk. */
		s->walk_end = addr;
		ret = emu_flush(s);
		if (ret)
			return ret;
		if (!s->vec_left || s->found == s->max_pages)
			return 1;
		/*
		 * It restarts at addr with walk_end still set: the stale
		 * walk_end of EMU_QUIRK_STALE_WALK_END.  Reset it instead.
		 */
		s->walk_end = 0;
		if (s->restart_flush) {
			s->restart_at = addr;
			return EMU_RESTART;
		}
		goto again;
	}
	s->found += n_pages;
	*out_end = e;
	if (stop)
		s->walk_end = e;
	return stop;
}

int emu_output_run(struct emu *s, uint64_t c, uint64_t start, uint64_t end)
{
	uint64_t out_end;

	return output(s, c, start, end, &out_end);
}

int emu_arm(struct emu *s, uint64_t start, uint64_t end)
{
	if (!s->wp || start >= end)
		return 0;
	return s->wp->arm(s->wp_ctx, start, end);
}

/* Match and output the pending run. */
int emu_emit_run(struct emu *s)
{
	uint64_t start = s->run_start, end = s->run_end, c = s->run_cats;
	uint64_t out_end;
	int ret;

	s->run_start = s->run_end = 0;
	if (start == end || !emu_matches(&s->a, c))
		return 0;
	ret = output(s, c, start, end, &out_end);
	if (ret >= 0 && (s->a.flags & PM_SCAN_WP_MATCHING) && s->have_vec &&
	    (c & PAGE_IS_WRITTEN)) {
		int err = emu_arm(s, start, out_end);

		if (err)
			return err;
	}
	return ret;
}

int emu_add_run(struct emu *s, uint64_t start, uint64_t end,
			  uint64_t c)
{
	int ret;

	if (s->run_end == start && s->run_cats == c && s->run_end) {
		s->run_end = end;
		return 0;
	}
	ret = emu_emit_run(s);
	if (ret)
		return ret;
	s->run_start = start;
	s->run_end = end;
	s->run_cats = c;
	return 0;
}
