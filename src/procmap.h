/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * PROCMAP_QUERY, an ioctl on a /proc/PID/maps descriptor (Linux 6.11):
 * the VMA that covers an address, or the next one.  The UAPI of 6.11
 * (include/uapi/linux/fs.h), which Debian 12's headers lack, and one
 * caller of it for the emulation's VMA view (maps_query.c) and the
 * snapshot's checks (snapshot_check.c).
 */
#ifndef PAGESCAN_PROCMAP_H
#define PAGESCAN_PROCMAP_H

#include "internal.h"

#include <sys/ioctl.h>

struct ps_pmq {
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
_Static_assert(sizeof(struct ps_pmq) == 104, "procmap_query");

#define PS_PMQ_IOCTL	_IOWR('f', 17, struct ps_pmq)
#define PS_PMQ_COVERING_OR_NEXT 0x10	/* the query's flag */
#define PS_PMQ_READ	0x01
#define PS_PMQ_WRITE	0x02
#define PS_PMQ_EXEC	0x04
#define PS_PMQ_SHARED	0x08

/* A VMA's PS_PMQ_* flags as PAGESCAN_VMA_* flags. */
static inline uint32_t ps_pmq_vma_flags(uint64_t f)
{
	return (f & PS_PMQ_READ ? PAGESCAN_VMA_READ : 0) |
	       (f & PS_PMQ_WRITE ? PAGESCAN_VMA_WRITE : 0) |
	       (f & PS_PMQ_EXEC ? PAGESCAN_VMA_EXEC : 0) |
	       (f & PS_PMQ_SHARED ? PAGESCAN_VMA_SHARED : 0);
}

/*
 * The VMA of @fd's process that covers @addr or, if none, the next one,
 * into @q, its name into @name (@name_size bytes, 0: no name asked).
 * 0; -EOPNOTSUPP where the kernel has no PROCMAP_QUERY (before 6.11,
 * remembered); -ENOENT: no VMA from @addr on; else -errno (-ENAMETOOLONG:
 * the name does not fit).
 */
int ps_pmq_query(int fd, uint64_t addr, char *name, uint32_t name_size,
		 struct ps_pmq *q);

#endif
