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
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>

/* The UAPI of Linux 6.11 (include/uapi/linux/fs.h); Debian 12 lacks it. */
struct pmq {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
_Static_assert(sizeof(struct pmq) == 104, "procmap_query");
#define PMQ_IOCTL	_IOWR('f', 17, struct pmq)
#define PMQ_READ	0x01
#define PMQ_WRITE	0x02
#define PMQ_EXEC	0x04
#define PMQ_SHARED	0x08
#define PMQ_COVERING_OR_NEXT 0x10

/*
 * Long enough for every name the emulation tells apart without smaps
 * ("[anon:" and a name of at most 80 bytes, "/dev/zero (deleted)"); a
 * longer one is a path, which sends the scan to smaps anyway.
 */
#define PMQ_NAME	128

/* 1 works, 0 not (ENOTTY: before 6.11), -1 not yet known. */
static _Atomic int pmq_state PS_STATE = -1;

static int push(struct ps_maps *m, size_t *cap, const struct pmq *q,
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
	v->flags = (q->vma_flags & PMQ_READ ? PAGESCAN_VMA_READ : 0) |
		   (q->vma_flags & PMQ_WRITE ? PAGESCAN_VMA_WRITE : 0) |
		   (q->vma_flags & PMQ_EXEC ? PAGESCAN_VMA_EXEC : 0) |
		   (q->vma_flags & PMQ_SHARED ? PAGESCAN_VMA_SHARED : 0);
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
	if (atomic_load_explicit(&pmq_state, memory_order_relaxed) == 0)
		return -EOPNOTSUPP;
	while (pos < end) {
		struct pmq q;
		char name[PMQ_NAME];

		if (m->n == max) {
			ret = -EOPNOTSUPP;	/* many VMAs: the text */
			break;
		}
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PMQ_COVERING_OR_NEXT;
		q.query_addr = pos;
		q.vma_name_addr = (uintptr_t)name;
		q.vma_name_size = sizeof(name);
		if (ioctl(fd, PMQ_IOCTL, &q)) {
			ret = -errno;
			if (ret == -ENOTTY) {
				atomic_store_explicit(&pmq_state, 0,
						      memory_order_relaxed);
				ret = -EOPNOTSUPP;
			} else if (ret == -ENOENT) {
				ret = 0;	/* no VMA from pos on */
			} else if (ret == -ENAMETOOLONG) {
				ret = -EOPNOTSUPP;
			}
			break;
		}
		atomic_store_explicit(&pmq_state, 1, memory_order_relaxed);
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
