// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Thin wrappers around the system calls the library makes.  This is the
 * one place where errno becomes a negative return value.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int sys_pagemap_scan(int fd, struct pm_scan_arg *arg)
{
	int ret = ioctl(fd, PAGEMAP_SCAN, arg);

	return ret < 0 ? -errno : ret;
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
 * Read a whole (proc) file into a NUL-terminated malloc'ed buffer.  procfs
 * files have no useful size, so grow until read() returns 0.
 */
int sys_read_file(const char *path, char **bufp, size_t *lenp)
{
	size_t cap = 16384, len = 0;
	char *buf, *nbuf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	if (lenp)
		*lenp = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return err;
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

int sys_pidfd_open(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : (int)fd;
}

/* Has the process behind @pidfd exited (zombie or reaped)? */
bool sys_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * The pid (and tid, or 0) whose pagemap @fd is, from the procfs link
 * "/proc/PID/pagemap" or "/proc/PID/task/TID/pagemap".  procfs resolves
 * "self" to the number, so this works for every way of opening it.
 * Returns the pid, or -errno (-EBADF: not a pagemap file).
 */
pid_t sys_pid_of_procfd(int fd, pid_t *tid)
{
	char link[64], target[PATH_MAX];
	const char *p;
	char *endp;
	long pid, t = 0;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (strncmp(target, "/proc/", 6))
		return -EBADF;
	p = target + 6;
	pid = strtol(p, &endp, 10);
	if (endp == p || pid <= 0)
		return -EBADF;
	p = endp;
	if (!strncmp(p, "/task/", 6)) {
		p += 6;
		t = strtol(p, &endp, 10);
		if (endp == p || t <= 0)
			return -EBADF;
		p = endp;
	}
	if (strcmp(p, "/pagemap"))
		return -EBADF;
	if (tid)
		*tid = (pid_t)t;
	return (pid_t)pid;
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
