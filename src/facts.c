// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The facts handed to the backends (struct ps_facts): the answers of the
 * feature probes they build on, gathered once, and what no feature of
 * the public table says: the highest address the kernel's access_ok()
 * accepts, and whether PAGEMAP_SCAN fails with ESRCH on an address space
 * that is gone.
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The largest address access_ok() accepts as the end of a range:
 * TASK_SIZE_MAX, i.e. (1 << 47) - PAGE_SIZE on x86-64 with 4-level
 * paging and (1 << 56) - PAGE_SIZE with 5-level paging, which a mapping
 * hint above 47 bits reveals.  x86 LAM (which widens the check to
 * 1 << 63) is not modelled.  arm64: 1 << VA_BITS (48, or 52).
 */
static uint64_t probe_user_limit(uint64_t psz)
{
	uint64_t low_bits = 47, high_bits = 56, hint = UINT64_C(1) << 52;
	uint64_t bits = low_bits;
	void *p;

#if defined(__aarch64__)
	low_bits = 48;
	high_bits = 52;
	hint = UINT64_C(1) << 50;
	bits = low_bits;
#endif
	p = mmap((void *)(uintptr_t)hint, psz, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		if ((uintptr_t)p >> low_bits)
			bits = high_bits;
		munmap(p, psz);
	}
#if defined(__aarch64__)
	return UINT64_C(1) << bits;
#else
	return (UINT64_C(1) << bits) - psz;
#endif
}

/*
 * ESRCH on a gone address space: a child that waits on a pipe, its
 * pagemap opened, then let go and reaped.  The child is made with the
 * raw clone system call and no exit signal, so that no fork handler of
 * the host program runs and no SIGCHLD reaches it; it makes nothing but
 * raw system calls before it exits.
 */
static int probe_native_esrch(void)
{
	struct pm_scan_arg a = { .size = sizeof(a) };
	char path[64], c = 0;
	int p[2], fd, ret;
	long pid;

	if (ps_native_scan() != 1)
		return 0;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = syscall(SYS_clone, 0UL, 0UL, 0UL, 0UL, 0UL);
	if (pid == 0) {
		syscall(SYS_close, p[1]);
		syscall(SYS_read, p[0], &c, 1);
		syscall(SYS_exit, 0);
	}
	close(p[0]);
	if (pid < 0) {
		ret = -errno;
		close(p[1]);
		return ret;
	}
	snprintf(path, sizeof(path), "/proc/%ld/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	close(p[1]);
	while (waitpid((pid_t)pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	if (fd < 0)
		return ret;
	a.end = ps_pagesz();
	ret = sys_pagemap_scan(fd, &a);
	close(fd);
	return ret == -ESRCH ? 1 : ret >= 0 ? 0 : ret;
}

int ps_native_esrch(void)
{
	static int v PS_STATE = -1000;
	int r = __atomic_load_n(&v, __ATOMIC_ACQUIRE);

	if (r != -1000)
		return r;
	r = probe_native_esrch();
	__atomic_store_n(&v, r, __ATOMIC_RELEASE);
	return r;
}

static struct ps_facts facts PS_STATE;
static pthread_once_t facts_once PS_STATE = PTHREAD_ONCE_INIT;

static void facts_init(void)
{
	struct ps_facts *f = &facts;

	f->native_scan = ps_native_scan();
	f->native_cats = ps_native_categories();
	f->user_limit = probe_user_limit(ps_pagesz());
	f->pfn = pagescan_probe(PAGESCAN_FEAT_PFN) == 1;
	f->kpageflags = pagescan_probe(PAGESCAN_FEAT_KPAGEFLAGS) == 1;
	f->uffd_wp_async = pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) == 1;
	f->pagemap_wp_bit = pagescan_probe(PAGESCAN_FEAT_PAGEMAP_WP_BIT) == 1;
	f->soft_dirty = pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) == 1;
	f->thp = pagescan_probe(PAGESCAN_FEAT_THP) == 1;
	f->pagemap_guard_bit =
		pagescan_probe(PAGESCAN_FEAT_PAGEMAP_GUARD_BIT) == 1;
}

const struct ps_facts *ps_facts(void)
{
	pthread_once(&facts_once, facts_init);
	return &facts;
}
