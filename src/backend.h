/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The two implementations of PAGEMAP_SCAN behind one table.
 *
 *   pagescan.c, scan.c        library: handles, dispatch, the iterator
 *        |
 *   native.c   emu*.c         backends (never call each other or up)
 *        |
 *   sys.c, maps.c             system calls and /proc parsing
 *
 * pagescan.c builds the table once and hands each backend the facts the
 * probes found (struct ps_facts), so that a backend never calls a probe
 * and the probes never ask a backend.
 */
#ifndef PAGESCAN_BACKEND_H
#define PAGESCAN_BACKEND_H

#include "internal.h"

/*
 * What a scan runs against: a pagemap descriptor and, for the emulation,
 * how to find the target's VMAs.
 */
struct ps_target {
	int pagemap_fd;
	/*
	 * A handle's maps and smaps, opened with pagemap and bound to the
	 * same address space; -1 for a bare descriptor (pagescan_ioctl()),
	 * whose process is then found by its number, as it is now.
	 */
	int maps_fd, smaps_fd;
	pthread_mutex_t *files_lock;	/* the handle's; NULL with no maps_fd */
	int pidfd;		/* -1 if none */
	pid_t pid;		/* the process the descriptor was opened on */
	bool self;		/* the calling process */
	/*
	 * A bare descriptor's directory ("<procfs>/PID", or its task), in
	 * the procfs mount it was opened in, whose numbers may be another
	 * pid namespace's; NULL: /proc/PID.
	 */
	const char *proc_dir;
};

struct ps_backend {
	const char *name;
	/*
	 * ioctl(PAGEMAP_SCAN) on @t: @uarg is the caller's pointer, at any
	 * alignment, possibly bad (then -EFAULT).  The region count or
	 * -errno; walk_end written back where the kernel would write it.
	 */
	int (*scan)(const struct ps_target *t, struct pm_scan_arg *uarg);
	/* Category bits and flags this backend accepts right now. */
	uint64_t (*categories)(void);
	uint64_t (*flags)(void);
	/*
	 * Can this backend compute category @bit / flag @flag?  1 or 0,
	 * with a one-line *@reason.  NULL: the probes' answer stands.
	 */
	int (*category_support)(unsigned int bit, const char **reason);
	int (*flag_support)(uint64_t flag, const char **reason);
};

const struct ps_backend *native_backend(const struct ps_facts *f);
const struct ps_backend *emu_backend(const struct ps_facts *f);

/* The backend for NATIVE or EMULATE (set up on first use). */
const struct ps_backend *ps_backend(enum pagescan_backend b);
/*
 * Run one PAGEMAP_SCAN on @t through @backend (AUTO resolved here, with
 * the environment's choice).  The ioctl's value or -errno.
 */
int ps_dispatch(enum pagescan_backend backend, const struct ps_target *t,
		struct pm_scan_arg *arg);
/*
 * The backend a request of the library's own (@arg is not a caller's
 * pointer) would go to under @backend: NATIVE, EMULATE, or -errno.
 */
int ps_route(enum pagescan_backend backend, const struct pm_scan_arg *arg);
/* The target a handle's scans run against. */
void ps_handle_target(const struct pagescan *ps, struct ps_target *t);

#endif /* PAGESCAN_BACKEND_H */
