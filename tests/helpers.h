/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Test helpers.  Exit codes follow automake: 0 pass, 1 fail, 77 skip
 * (with a one-line reason on stdout), 99 error in the test itself.
 */
#ifndef PAGESCAN_TEST_HELPERS_H
#define PAGESCAN_TEST_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <pagescan.h>

/*
 * A test's deliberate racing stores to watched or snapshotted memory
 * (what the library must survive) are not instrumented under
 * ThreadSanitizer (the tsan lane): the library's own accesses still are,
 * so a race inside the library is reported, this one is not.
 */
#define T_RACY __attribute__((no_sanitize("thread"), noinline))

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77
#define T_EXIT_ERROR 99

extern unsigned long t_psz;	/* base page size */
extern int t_failures;

/* Call first: page size, unbuffered stdout, test name for messages. */
void t_init(const char *name);

/* Record a failure (and go on); t_done() then exits 1. */
#define t_fail(...)							\
	do {								\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		t_failures++;						\
	} while (0)

#define t_check(cond, ...)						\
	do {								\
		if (!(cond))						\
			t_fail(__VA_ARGS__);				\
	} while (0)

#define t_eq(a, b)							\
	do {								\
		uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);	\
		if (__a != __b)						\
			t_fail("%s == %#" PRIx64 ", expected %s == %#"	\
			       PRIx64, #a, __a, #b, __b);		\
	} while (0)

/* Exit 77 with a reason. */
__attribute__((noreturn, format(printf, 1, 2)))
void t_skip(const char *fmt, ...);
/* Exit 99: the test could not set itself up. */
__attribute__((noreturn, format(printf, 1, 2)))
void t_error(const char *fmt, ...);
/* Exit 0 or 1 according to t_failures. */
__attribute__((noreturn)) void t_done(void);

/*
 * Run @fn in a child process, which exits with what @fn returns and dies
 * of SIGALRM after @secs seconds (a hang seen as such); its wait status.
 */
int t_child(int (*fn)(void), unsigned int secs);
/* A failure naming @what unless @status is exit 0; true when it is. */
bool t_child_ok(const char *what, int status);
/*
 * A forked child that only keeps the parent's pages shared (copy-on-write)
 * until t_holder_release(); the parent's stdout is flushed first.
 */
struct t_holder {
	pid_t pid;
	int fd;
};
/* How many mappings of /proc/self/maps overlap [p, p + len). */
int t_mappings_in(const void *p, size_t len);
void t_holder_start(struct t_holder *h);
void t_holder_release(struct t_holder *h);

/* mmap wrappers that t_error() on failure. */
void *t_map(size_t len, int prot, int flags);
/* An anonymous mapping aligned to @align (munmap the slack). */
void *t_map_aligned(size_t len, size_t align, int prot, int flags);
/* Touch (write) each page of [p, p+len). */
void t_touch(void *p, size_t len);
/* Read each page of [p, p+len). */
void t_read(const void *p, size_t len);

/* /proc/self/pagemap, opened once. */
int t_pagemap_fd(void);

/* Raw ioctl: returns ret, and errno in *err (0 on success). */
int t_ioctl(int fd, struct pm_scan_arg *a, int *err);
/* pagescan_ioctl: same. */
int t_pioctl(int fd, struct pm_scan_arg *a, int *err);

/* A filled-in pm_scan_arg. */
struct pm_scan_arg t_arg(const void *start, const void *end,
			 struct page_region *vec, uint64_t vec_len,
			 uint64_t flags, uint64_t max_pages, uint64_t inv,
			 uint64_t mask, uint64_t anyof, uint64_t ret);

/* The category bits this kernel (or the emulation) serves. */
uint64_t t_avail_cats(void);

/*
 * The categories of one page by a scan with mask 0 and every available
 * category returned, or -errno.
 */
int64_t t_page_cats(const void *p);

/* Format categories as "present|written" into a static buffer. */
const char *t_cats(uint64_t c);

/* Root? (Some tests need swap or nr_hugepages.) */
bool t_root(void);

/*
 * The tests' hugetlb pages are 2 MiB whatever the default size (a host
 * booted with default_hugepagesz=1G): asked for by size, MAP_HUGE_SHIFT
 * and MFD_HUGE_SHIFT (both 26, 3.8+ and 4.14+), as t_hugepages() fills
 * the 2 MiB pool.
 */
#define T_HUGE_2MB	(21 << 26)
#define T_MAP_HUGETLB	(MAP_HUGETLB | T_HUGE_2MB)
#define T_MFD_HUGETLB	(MFD_HUGETLB | T_HUGE_2MB)

/*
 * Make at least @n 2 MiB huge pages free (that pool raised by what others
 * hold, as root); restored at exit.
 * Returns the number of free 2 MiB huge pages, or -errno.
 */
long t_hugepages(long n);
/*
 * A temporary swap file of @mib MiB, swapped on; off and removed at exit.
 * 0 or -errno.
 */
int t_swap_on(unsigned int mib);

/* Write @s to the file @path: 0 or -errno. */
int t_write_file(const char *path, const char *s);

/* A file in a temporary directory, of @len bytes of @byte; returns fd. */
int t_tmpfile(size_t len, int byte);

#endif
