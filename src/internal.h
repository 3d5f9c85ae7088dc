/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Private definitions shared by the library's source files.  Nothing here
 * is installed.
 */
#ifndef PAGESCAN_INTERNAL_H
#define PAGESCAN_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "pagescan.h"
#include "uapi/pagemap_scan.h"

/* The library never prints, exits or aborts (system headers come first). */
#ifdef PAGESCAN_BUILDING_LIB
#pragma GCC poison printf fprintf puts perror exit abort
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg is 96 bytes");
_Static_assert(sizeof(struct page_region) == 24, "page_region is 24 bytes");
_Static_assert(sizeof(struct pagescan_region) == sizeof(struct page_region),
	       "pagescan_region mirrors page_region");
_Static_assert(offsetof(struct pagescan_region, categories) ==
	       offsetof(struct page_region, categories),
	       "pagescan_region mirrors page_region");
_Static_assert(PAGESCAN_CAT_GUARD == PAGE_IS_GUARD, "category values");
_Static_assert(PAGESCAN_CAT_SOFT_DIRTY == PAGE_IS_SOFT_DIRTY, "category values");
_Static_assert(PAGESCAN_WP_MATCHING == PM_SCAN_WP_MATCHING, "flag values");
_Static_assert(PAGESCAN_CHECK_WPASYNC == PM_SCAN_CHECK_WPASYNC, "flag values");

/* Flags the kernel accepts in pm_scan_arg.flags. */
#define PS_SCAN_FLAGS (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)

/*
 * Options structs (libbpf's scheme): a caller's struct may be shorter
 * (older caller: missing fields read as zero) or longer (newer caller:
 * accepted only if every byte past what we know is zero, else -E2BIG).
 */
#define OPTS_SZ(opts) ((opts) ? (opts)->sz : 0)
#define OPTS_HAS(opts, field)						\
	((opts) && (opts)->sz >= offsetofend(__typeof__(*(opts)), field))
#define OPTS_GET(opts, field, fallback)					\
	(OPTS_HAS(opts, field) ? (opts)->field : (fallback))
#define OPTS_SET(opts, field, value)					\
	do {								\
		if (OPTS_HAS(opts, field))				\
			(opts)->field = (value);			\
	} while (0)
#define OPTS_VALID(opts, type)						\
	(!(opts) || ps_opts_valid((opts), offsetofend(struct type,	\
				  type##__last_field), (opts)->sz))
#define offsetofend(TYPE, FIELD)					\
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

bool ps_opts_valid(const void *opts, size_t known, size_t user_sz);

/* Return -err and set errno: the one way library functions fail. */
static inline int ps_err(int err)
{
	errno = err;
	return -err;
}

/* Base page size, cached. */
extern unsigned long ps_page_size;
extern unsigned int ps_page_shift;
void ps_init_page_size(void);
static inline unsigned long ps_pagesz(void)
{
	if (unlikely(!ps_page_size))
		ps_init_page_size();
	return ps_page_size;
}

/* ---- sys.c: thin system-call wrappers returning -errno ---- */
int sys_pagemap_scan(int fd, struct pm_scan_arg *arg);
ssize_t sys_pread_full(int fd, void *buf, size_t len, off_t off);
int sys_read_file(const char *path, char **buf, size_t *len);
int sys_open_proc(pid_t pid, pid_t tid, const char *what, int flags);
int sys_userfaultfd(int flags);
int sys_pidfd_open(pid_t pid);
pid_t sys_pid_of_procfd(int fd, pid_t *tid);
bool sys_pidfd_exited(int pidfd);
int sys_read_small(const char *path, char *buf, size_t len);
int sys_copy_from_self(void *dst, const void *src, size_t len);
int sys_copy_to_self(void *dst, const void *src, size_t len);

/* ---- maps.c ---- */
struct ps_vma {
	uint64_t start, end, offset, inode, page_size, thp_bytes;
	uint32_t flags, dev_major, dev_minor;
	uint32_t name_off;	/* into ps_maps.names */
};

struct ps_maps {
	struct ps_vma *v;
	size_t n;
	char *names;
	size_t names_len, names_cap;
};

int ps_maps_read(pid_t pid, unsigned int flags, struct ps_maps *m);
void ps_maps_free(struct ps_maps *m);
static inline const char *ps_vma_name(const struct ps_maps *m,
				      const struct ps_vma *v)
{
	return m->names + v->name_off;
}
/* Index of the first VMA whose end is > addr (n if none). */
size_t ps_maps_find(const struct ps_maps *m, uint64_t addr);

/* ---- backend dispatch ---- */
struct pagescan {
	int fd;			/* /proc/PID/pagemap, O_RDONLY|O_CLOEXEC */
	int pidfd;		/* -1 for self or where pidfd_open is absent */
	pid_t pid;		/* real pid, never 0 */
	pid_t tid;
	enum pagescan_backend backend;	/* as asked; AUTO resolves per call */
	bool self;
};

/* The backend the environment asks for (PAGESCAN_BACKEND), read once. */
enum pagescan_backend ps_env_backend(void);
/*
 * The kernel's PAGEMAP_SCAN: 1 present, 0 absent, <0 could not tell.
 * Set of category bits the kernel accepts (0 without the ioctl).
 */
int ps_native_scan(void);
uint64_t ps_native_categories(void);

/*
 * Run one PAGEMAP_SCAN through @backend (AUTO resolved here), for the
 * process @pid whose pagemap is @fd.  Returns the ioctl's value or -errno.
 */
int ps_dispatch(enum pagescan_backend backend, int fd, pid_t pid,
		struct pm_scan_arg *arg);
/* One scan on a handle, turning "target exited" into -ESRCH everywhere. */
int ps_handle_scan(struct pagescan *ps, struct pm_scan_arg *arg);
/* OPTS_CHECK(opts, type): 0, -EINVAL (sz too small) or -E2BIG (too new). */
#define OPTS_CHECK(opts, type)						\
	({								\
		int __r = 0;						\
		if ((opts) && (opts)->sz < sizeof(size_t))		\
			__r = -EINVAL;					\
		else if (!OPTS_VALID(opts, type))			\
			__r = -E2BIG;					\
		__r;							\
	})

/* ---- emulate.c: PAGEMAP_SCAN in userspace ---- */
/*
 * The whole ioctl contract (validation order, errno, walk_end) computed
 * from /proc/PID/pagemap (read through @fd, which stays bound to the
 * target's mm) and /proc/PID/smaps.  Returns the region count or -errno;
 * arg->walk_end is written exactly where the kernel would write it.
 */
int emu_scan(int fd, pid_t pid, struct pm_scan_arg *arg);
/*
 * Can the emulation compute category bit @bit (0..8) / scan flag @flag for
 * this caller?  1 yes, 0 no; *reason (if non-NULL) says why in one line.
 */
int emu_category_support(unsigned int bit, const char **reason);
int emu_flag_support(uint64_t flag, const char **reason);
/* Category bits / flags the emulation accepts (unavailable ones: EINVAL). */
uint64_t emu_categories(void);
uint64_t emu_flags(void);

#endif /* PAGESCAN_INTERNAL_H */
