// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The VMAs of a range through PROCMAP_QUERY (an ioctl on a maps
 * descriptor, Linux 6.11): one call per VMA of the range, instead of the
 * maps text of every VMA of the process.  On 6.17+ the kernel generates
 * that text under a lock per VMA, and a scan loop reads it on every call,
 * so a scan of a few VMAs of a large process paid for all of them.
 *
 * A query costs about twice what one VMA of maps text does, so it serves
 * ranges of few VMAs only (the caller's @max); a range of more, a kernel
 * without the ioctl (ENOTTY), or a name that does not fit give
 * -EOPNOTSUPP, and the caller reads the text as before.  The records are
 * those the text would have: start, end, r/w/x/s, offset, device, inode
 * and name (the kernel's own name of the mapping: the path, "[heap]",
 * "[anon:NAME]", ...), no smaps fields.
 */
#include "procmap.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>

/*
 * Long enough for every name the emulation tells apart without smaps
 * ("[anon:" and a name of at most 80 bytes, "/dev/zero (deleted)"); a
 * longer one is a path, which sends the scan to smaps anyway.
 */
#define PMQ_NAME	128

/* 1 works, 0 not (ENOTTY: before 6.11), -1 not yet known. */
static _Atomic int pmq_state PS_STATE = -1;

int ps_pmq_query(int fd, uint64_t addr, char *name, uint32_t name_size,
		 struct ps_pmq *q)
{
	if (atomic_load_explicit(&pmq_state, memory_order_relaxed) == 0)
		return -EOPNOTSUPP;
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->query_flags = PS_PMQ_COVERING_OR_NEXT;
	q->query_addr = addr;
	q->vma_name_addr = (uintptr_t)name;
	q->vma_name_size = name_size;
	if (ioctl(fd, PS_PMQ_IOCTL, q)) {
		if (errno != ENOTTY)
			return -errno;
		atomic_store_explicit(&pmq_state, 0, memory_order_relaxed);
		return -EOPNOTSUPP;
	}
	atomic_store_explicit(&pmq_state, 1, memory_order_relaxed);
	if (q->vma_name_size)
		PS_KERNEL_WROTE(name, q->vma_name_size);
	return 0;
}

static int push(struct ps_maps *m, size_t *cap, const struct ps_pmq *q,
		const char *name)
{
	size_t len = strlen(name), ncap;
	struct ps_vma *v;

	if (m->n == *cap) {
		ncap = *cap ? *cap * 2 : 8;
		v = realloc(m->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		*cap = ncap;
	}
	if (m->names_len + len + 1 > m->names_cap) {
		size_t nc = m->names_cap ? m->names_cap * 2 : 1024;
		char *nn;

		while (nc < m->names_len + len + 1)
			nc *= 2;
		nn = realloc(m->names, nc);
		if (!nn)
			return -ENOMEM;
		m->names = nn;
		m->names_cap = nc;
	}
	v = &m->v[m->n++];
	memset(v, 0, sizeof(*v));
	v->start = q->vma_start;
	v->end = q->vma_end;
	v->flags = ps_pmq_vma_flags(q->vma_flags);
	/* maps prints 0 as the offset of a mapping without a file. */
	v->offset = q->inode || q->dev_major || q->dev_minor ?
		    q->vma_offset : 0;
	v->inode = q->inode;
	v->dev_major = q->dev_major;
	v->dev_minor = q->dev_minor;
	memcpy(m->names + m->names_len, name, len + 1);
	v->name_off = (uint32_t)m->names_len;
	m->names_len += len + 1;
	return 0;
}

int ps_maps_query_range(int fd, uint64_t start, uint64_t end, size_t max,
			struct ps_maps *m)
{
	uint64_t pos = start;
	size_t cap = 0;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	while (pos < end) {
		struct ps_pmq q;
		char name[PMQ_NAME];

		if (m->n == max) {
			ret = -EOPNOTSUPP;	/* many VMAs: the text */
			break;
		}
		ret = ps_pmq_query(fd, pos, name, sizeof(name), &q);
		if (ret == -ENOENT) {
			ret = 0;	/* no VMA from pos on */
			break;
		}
		if (ret == -ENAMETOOLONG)
			ret = -EOPNOTSUPP;
		if (ret)
			break;
		if (q.vma_start >= end)
			break;
		/* An empty name: the kernel copies none, or just the NUL. */
		if (!q.vma_name_size)
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
		if (q.vma_end <= pos || q.vma_start >= q.vma_end) {
			ret = -EIO;
			break;
		}
		/*
		 * Sorted and disjoint whatever the target does between two
		 * queries, as the text parse keeps it: a VMA that grew down
		 * over where the last one ended is cut to start there.
		 */
		if (m->n && q.vma_start < pos) {
			if (q.inode)
				q.vma_offset += pos - q.vma_start;
			q.vma_start = pos;
		}
		ret = push(m, &cap, &q, name);
		if (ret)
			break;
		pos = q.vma_end;
	}
	if (ret)
		ps_maps_free(m);
	return ret;
}
