// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Thin wrappers around the system calls the library makes.  This is the
 * one place where errno becomes a negative return value.
 */
#include "internal.h"

#include <signal.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int sys_pagemap_scan(int fd, struct pm_scan_arg *arg)
{
	int ret = ioctl(fd, PAGEMAP_SCAN, arg);

	if (ret < 0)
		return -errno;
	if (ret && arg->vec)
		PS_KERNEL_WROTE((void *)(uintptr_t)arg->vec,
				(size_t)ret * sizeof(struct page_region));
	return ret;
}

/* pread() until @len bytes or EOF; a short count means EOF. */
ssize_t sys_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Read a whole (proc) file into a NUL-terminated malloc'ed buffer, from
 * offset 0 with pread() when @fd is given (the descriptor stays bound to
 * what it was opened on and may be shared by threads), else by opening
 * @path.  procfs files have no useful size, so grow until EOF.
 */
static int read_whole(int fd, bool positional, char **bufp, size_t *lenp)
{
	size_t cap = 16384, len = 0;
	char *buf, *nbuf;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = positional ? pread(fd, buf + len, cap - len - 1,
				       (off_t)len) :
				 read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*bufp = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

void sys_block_async(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

int sys_read_file(const char *path, char **bufp, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = read_whole(fd, false, bufp, lenp);
	close(fd);
	return ret;
}

int sys_pread_file(int fd, char **bufp, size_t *lenp)
{
	return read_whole(fd, true, bufp, lenp);
}

void sys_fd_id(int fd, struct ps_fd_id *id)
{
	struct stat st;

	id->dev = id->ino = 0;
	if (fd >= 0 && !fstat(fd, &st)) {
		id->dev = (uint64_t)st.st_dev;
		id->ino = (uint64_t)st.st_ino;
	}
}

void sys_close_same(int fd, const struct ps_fd_id *id)
{
	struct ps_fd_id now;

	if (fd < 0)
		return;
	sys_fd_id(fd, &now);
	if (now.dev == id->dev && now.ino == id->ino)
		close(fd);
}

/* Open /proc/PID[/task/TID]/WHAT; pid 0 means "self". */
int sys_open_proc(pid_t pid, pid_t tid, const char *what, int flags)
{
	char path[64];
	int fd;

	/* A tid selects the thread's file for "self" too. */
	if (pid == 0 && tid)
		snprintf(path, sizeof(path), "/proc/self/task/%d/%s",
			 (int)tid, what);
	else if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/%s", what);
	else if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid,
			 (int)tid, what);
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sys_userfaultfd(int flags)
{
#ifdef SYS_userfaultfd
	long fd = syscall(SYS_userfaultfd, flags);

	return fd < 0 ? -errno : (int)fd;
#else
	return -ENOSYS;
#endif
}

int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	long fd = syscall(SYS_pidfd_open, pid, flags);

	return fd < 0 ? -errno : (int)fd;
}

bool ps_mm_gone(int fd)
{
	uint64_t e;

	/* Address 0 is always in range; a live mm answers 8 bytes. */
	ssize_t n = sys_pread_full(fd, &e, sizeof(e), 0);

	return n == 0 || n == -ESRCH;
}

/* Has the process behind @pidfd exited (zombie or reaped)? */
bool sys_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* A positive decimal number, all of [p, end)? */
static long proc_number(const char *p, const char *end)
{
	char *e;
	long v;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	v = strtol(p, &e, 10);
	return e == end && v > 0 ? v : -1;
}

/*
 * Where @fd, a pagemap file, lives: "<procfs>/PID/pagemap" or
 * "<procfs>/PID/task/TID/pagemap", in any procfs mount (a monitoring
 * agent's /host/proc as well as /proc; procfs resolves "self" to the
 * number).  @dir gets "<procfs>/PID" (or ".../task/TID"), *@pid the PID
 * as that procfs numbers it, *@self whether that is the caller (the
 * mount's "self" link).  0, or -errno (-EBADF: not a pagemap file).
 */
int sys_procfd_dir(int fd, char *dir, size_t len, pid_t *pid, bool *self)
{
	char link[64], target[PATH_MAX], selfp[PATH_MAX + 8], mine[32];
	char *end, *slash, *task;
	struct statfs sf;
	ssize_t n;
	long v;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (fstatfs(fd, &sf))
		return -errno;
	if (sf.f_type != PROC_SUPER_MAGIC || n < 9 ||
	    strcmp(target + n - 8, "/pagemap"))
		return -EBADF;
	end = target + n - 8;
	*end = '\0';
	if ((size_t)(end - target) >= len)
		return -ENAMETOOLONG;
	memcpy(dir, target, (size_t)(end - target) + 1);
	slash = strrchr(target, '/');
	if (!slash || (v = proc_number(slash + 1, end)) < 0)
		return -EBADF;
	task = slash - 5;
	if (slash - target >= 5 && !strncmp(task, "/task", 5)) {
		*task = '\0';		/* ".../PID/task/TID": the PID */
		slash = strrchr(target, '/');
		if (!slash || (v = proc_number(slash + 1, task)) < 0)
			return -EBADF;
	}
	*slash = '\0';			/* the mount point */
	*pid = (pid_t)v;
	/* The mount's own "self": this process, as that procfs sees it. */
	*self = false;
	snprintf(selfp, sizeof(selfp), "%s/self", target);
	n = readlink(selfp, mine, sizeof(mine) - 1);
	if (n > 0) {
		mine[n] = '\0';
		*self = proc_number(mine, mine + n) == v;
	}
	return 0;
}

/*
 * The number of @pidfd's process (or thread) in the pid namespace of the
 * procfs mounted at /proc: its fdinfo's "Pid:" line, which shows the pid
 * "in the pid namespace of the procfs instance" (-1 once it has exited, 0
 * where it is not visible there).  -ESRCH for those, -ENOENT where the
 * kernel's fdinfo lacks the line.
 */
pid_t sys_pidfd_proc_pid(int pidfd)
{
	char path[64], buf[512], *p;
	long v;
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	ret = sys_read_small(path, buf, sizeof(buf));
	if (ret)
		return ret;
	p = strstr(buf, "\nPid:");
	if (!p)
		return -ENOENT;
	v = strtol(p + 5, NULL, 10);
	return v > 0 ? (pid_t)v : -ESRCH;
}

/* The caller's number in /proc's pid namespace (the "/proc/self" link). */
pid_t sys_proc_self_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	long v;

	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : -ENOENT;
}

/*
 * Is /proc the procfs of the caller's own pid namespace?  /proc/self/status
 * lists in NSpid (since 4.1) the caller's pid in every namespace from the
 * procfs's down to its own: one entry exactly when they are the same.
 * After unshare(CLONE_NEWPID) or in a container that did not mount its own
 * procfs they are not, and /proc/N is then another process than pid N.
 * 1 yes, 0 no, -errno (no NSpid line: cannot tell).
 */
int sys_proc_is_own_pidns(void)
{
	char buf[4096], *p, *eol;
	int ret, n = 0;

	ret = sys_read_small("/proc/self/status", buf, sizeof(buf));
	if (ret)
		return ret;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -ENOENT;
	p += 7;
	eol = strchr(p, '\n');
	if (!eol)
		eol = p + strlen(p);
	while (p < eol) {
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (p == eol)
			break;
		n++;
		while (p < eol && *p != ' ' && *p != '\t')
			p++;
	}
	return n == 1;
}

/* Read a small file (sysfs, procfs) into a NUL-terminated buffer. */
int sys_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

#define SYS_PF_EXITING	0x4	/* include/linux/sched.h, every version */
#define TASK_REAP_MS	1000	/* a thread's exit, even in a slow guest */

/*
 * Thread @tid (a /proc/self/task entry) is past the start of its exit:
 * PF_EXITING in the flags of its stat (field 9).  do_exit() sets it
 * before the TID word is cleared (what wakes pthread_join()) and the
 * memory let go, and the task stays listed until it is reaped, a little
 * later (long enough in a slow guest to be seen).  Such a thread runs no
 * user code any more, and glibc no longer counts it.  false when it
 * cannot be read.
 */
bool sys_task_exiting(const char *tid)
{
	char path[300], buf[512], *p;
	unsigned long flags;

	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	if (sys_read_small(path, buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return false;
	return flags & SYS_PF_EXITING;
}

/*
 * Thread @tid, past the start of its exit, is reaped (its /proc/self/task
 * entry gone) within about @ms milliseconds.  PF_EXITING alone is not
 * enough to take it as gone: it is set before the kernel clears the TID
 * word and makes the robust futexes' OWNER_DIED writes (exit_mm()), so
 * memory read then still shows it alive, and put back later it would
 * make a pthread_join() or a lock wait for ever.  Once reaped, those
 * writes are done.
 */
bool sys_task_reaped(const char *tid, unsigned int ms)
{
	struct timespec ts = { 0, 1000000 };
	char path[300];
	unsigned int i;

	snprintf(path, sizeof(path), "/proc/self/task/%s", tid);
	for (i = 0; i <= ms; i++) {
		if (access(path, F_OK))
			return errno == ENOENT;
		if (!sys_task_exiting(tid))
			return false;
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * The stack pointer of thread @tid (a /proc/self/task entry) of this
 * process, from /proc/self/task/TID/syscall: "NR a1 .. a6 SP PC" while in
 * a system call, "-1 SP PC" when stopped outside one, "running" while it
 * runs in user space, which shows no pointer: then read again up to
 * @tries times, yielding, before -EBUSY.  -ENOENT or -ESRCH once it has
 * exited, also when it was running its exit in the kernel (which shows
 * "running" too: seen in the 6.12 guest, an update just after a join
 * refused with EBUSY) and is reaped soon after.
 */
int sys_thread_sp(const char *tid, unsigned int tries, uint64_t *sp)
{
	unsigned long long f[9];
	char path[300], buf[512];
	unsigned int t;
	int ret, k;

	snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", tid);
	for (t = 0;; t++) {
		ret = sys_read_small(path, buf, sizeof(buf));
		if (ret)
			return ret;
		if (strncmp(buf, "running", 7))
			break;
		if (t >= tries)
			return sys_task_exiting(tid) &&
			       sys_task_reaped(tid, TASK_REAP_MS) ? -ESRCH :
								    -EBUSY;
		sched_yield();
	}
	k = sscanf(buf, "%lld %llx %llx %llx %llx %llx %llx %llx %llx",
		   (long long *)&f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
		   &f[6], &f[7], &f[8]);
	if (k == 9)
		*sp = f[7];
	else if (k == 3 && (long long)f[0] == -1)
		*sp = f[1];
	else
		return -EIO;
	return 0;
}

/*
 * Copy from or to a caller's pointer without trusting it: a bad pointer
 * gives -EFAULT, as the kernel's copy_from_user/copy_to_user would, not a
 * crash.  process_vm_readv/writev on ourselves needs no privilege.
 */
int sys_copy_from_self(void *dst, const void *src, size_t len)
{
	struct iovec local = { dst, len };
	struct iovec remote = { (void *)src, len };

	if (!len)
		return 0;
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return -EFAULT;
	return 0;
}

int sys_copy_to_self(void *dst, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len };
	struct iovec remote = { dst, len };

	if (!len)
		return 0;
	if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return -EFAULT;
	return 0;
}

/*
 * glibc 2.35+ registers a struct rseq per thread inside its thread control
 * block and exports where: the kernel writes its cpu_id, node_id and (6.3+)
 * mm_cid fields whenever the thread returns to user space after being
 * preempted or migrated (kernel/rseq.c), at any time and without a store
 * of ours.  Weak, so that an older C library (or musl) links and reports
 * none: an rseq area registered by the application itself is not found.
 */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/*
 * The program break (brk(2) with 0 answers the current one; the C
 * library's sbrk(0) answers its own copy, which a process snapshot's
 * restore rewinds with the rest of its data).
 */
uint64_t sys_brk_now(void)
{
	return (uint64_t)syscall(SYS_brk, 0);
}

/* Set it; the kernel answers the break it has, which is @to on success. */
int sys_brk_set(uint64_t to)
{
	return (uint64_t)syscall(SYS_brk, to) == to ? 0 : -ENOMEM;
}

/* The calling thread's rseq area, or 0, 0 when the C library has none. */
void sys_rseq_area(uint64_t *lo, uint64_t *hi)
{
	/* The kernel's struct rseq is 32 bytes; __rseq_size may say less. */
	unsigned int len = 32;

	*lo = *hi = 0;
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__)
	if (!&__rseq_size || !__rseq_size)
		return;
	if (__rseq_size > len)
		len = __rseq_size;
	*lo = (uintptr_t)__builtin_thread_pointer() + (intptr_t)__rseq_offset;
	*hi = *lo + len;
#endif
}

/* A hexadecimal number at *@p, moving *@p past it. */
static uint64_t hex_at(const char **p, const char *end)
{
	uint64_t v = 0;

	for (; *p < end; (*p)++) {
		char c = **p;
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			break;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The bounds of the mapping of this process that holds @addr, from
 * /proc/self/maps, with open(2), read(2) and close(2) only: callable from
 * a signal handler (no allocation, no stdio, no lock).  -ENOENT if no
 * mapping holds it, -errno if the file cannot be read.
 */
int sys_vma_of(uint64_t addr, uint64_t *lo, uint64_t *hi)
{
	char buf[4096];
	size_t have = 0;
	bool skip = false;	/* in the rest of a line too long to hold */
	int fd, ret = -ENOENT;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		const char *p = buf, *end, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		have += (size_t)n;
		end = buf + have;
		if (skip) {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
			skip = !nl;
		}
		/* Whole lines only; a partial one waits for the next read. */
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			uint64_t a, b;

			a = hex_at(&p, nl);
			if (p < nl && *p == '-') {
				p++;
				b = hex_at(&p, nl);
				if (a <= addr && addr < b) {
					*lo = a;
					*hi = b;
					close(fd);
					return 0;
				}
				if (a > addr) {
					close(fd);
					return -ENOENT;
				}
			}
			p = nl + 1;
		}
		if (!n)
			break;
		/* A line longer than the buffer: drop it. */
		if (p == buf && have == sizeof(buf)) {
			p = end;
			skip = true;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	close(fd);
	return ret;
}

/*
 * The default hugetlb page size in bytes: Hugepagesize in /proc/meminfo,
 * the size MAP_HUGETLB without a MAP_HUGE_* size and /proc/sys/vm/
 * nr_hugepages mean (2 MiB on x86-64 unless booted with
 * default_hugepagesz=1G).  -ENOENT without CONFIG_HUGETLBFS.
 */
int sys_hugepage_default(uint64_t *size)
{
	char *buf, *p;
	size_t len;
	unsigned long long kb;
	int ret;

	ret = sys_read_file("/proc/meminfo", &buf, &len);
	if (ret)
		return ret;
	p = strstr(buf, "\nHugepagesize:");
	if (!p || sscanf(p + 14, "%llu kB", &kb) != 1 || !kb)
		ret = -ENOENT;
	else
		*size = (uint64_t)kb << 10;
	free(buf);
	return ret;
}

/*
 * The hugetlb page sizes the kernel has pools for (one directory
 * hugepages-NkB each under /sys/kernel/mm/hugepages, 2.6.27+), in bytes,
 * ascending; at most @max of them.  How many, or -errno (-ENOENT without
 * CONFIG_HUGETLBFS).
 */
int sys_hugepage_sizes(uint64_t *sizes, int max)
{
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *e;
	int n = 0, i;

	if (!d)
		return -errno;
	while (n < max && (e = readdir(d))) {
		unsigned long long kb;
		uint64_t sz;

		if (sscanf(e->d_name, "hugepages-%llukB", &kb) != 1 || !kb)
			continue;
		sz = (uint64_t)kb << 10;
		/* Insertion sort: a handful of sizes at most. */
		for (i = n; i > 0 && sizes[i - 1] > sz; i--)
			sizes[i] = sizes[i - 1];
		sizes[i] = sz;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * The device number of the kernel's internal shm mount, where shared
 * anonymous memory, memfd and SysV shm live (hugetlb never does): an
 * anonymous device of its own, learnt from a memfd (3.17+).  0 or -errno.
 */
int sys_shm_dev(uint32_t *maj, uint32_t *min)
{
	struct stat st;
	int fd = memfd_create("pagescan-shm-probe", MFD_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		ret = -errno;
	else {
		*maj = major(st.st_dev);
		*min = minor(st.st_dev);
	}
	close(fd);
	return ret;
}
