// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The descriptors the watches read through, one of each kind per process
 * and shared by every watch: /proc/self/pagemap, /proc/self/mem,
 * /proc/vmstat and uffd-async's userfaultfd.
 *
 * Why shared: a whole-process snapshot watches each writable mapping,
 * and a program has hundreds (a JVM or a browser, thousands).  With a
 * descriptor or two per watch, a take ran out of them (EMFILE at the
 * usual limit of 1024) in programs that are not unusual, and each update
 * that found a mapping created used more.  Every use is a pread(2), an
 * ioctl(2) on a range or PAGEMAP_SCAN, none of which has a file position
 * or other state of the descriptor, so one serves every thread and watch.
 * One userfaultfd holds any number of registered ranges: a watch
 * registers its own and unregisters it when it goes.
 *
 * A /proc/self file (and a userfaultfd) stays bound to the process that
 * opened it: a forked child inherits the parent's, which reads or
 * protects the parent.  So each entry records the process that opened it;
 * a child's new watches get descriptors of its own, and a watch inherited
 * from the parent gives back the parent's (watch->pid tells which).  The
 * table is in the library's state section: a whole-process restore does
 * not rewind the counts.
 */
#include "watch.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>

/* The process's own entry, and those inherited over up to 3 forks. */
#define FD_GENS	4

struct fd_ent {
	pid_t pid;
	int fd;			/* -1: closed behind our back (see below) */
	unsigned int refs;	/* 0: free */
};

static struct fd_ent fds[WATCH_FD_KINDS][FD_GENS] PS_STATE;
static pthread_mutex_t fd_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;

static int fd_open(enum watch_fd_kind k)
{
	uint64_t feat = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	int fd;

	switch (k) {
	case WATCH_FD_PAGEMAP:
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		break;
	case WATCH_FD_MEM:
		fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
		break;
	case WATCH_FD_VMSTAT:
		fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
		break;
	case WATCH_FD_UFFD_ASYNC_SHM:
		/* shmem (5.19): pte markers keep the state of unmapped pages. */
		feat |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
		/* fall through */
	case WATCH_FD_UFFD_ASYNC:
		return watch_uffd_open(true, feat);
	default:
		return -EINVAL;
	}
	return fd < 0 ? -errno : fd;
}

int watch_fd_get(enum watch_fd_kind k)
{
	struct fd_ent *e = fds[k], *free_e = NULL;
	pid_t me = getpid();
	int i, fd;

	pthread_mutex_lock(&fd_lock);
	for (i = 0; i < FD_GENS; i++) {
		if (e[i].refs && e[i].pid == me) {
			e[i].refs++;
			fd = e[i].fd;
			pthread_mutex_unlock(&fd_lock);
			return fd;
		}
		if (!e[i].refs && !free_e)
			free_e = &e[i];
	}
	fd = fd_open(k);
	if (fd >= 0) {
		/*
		 * An inherited entry whose number the kernel hands out again
		 * was closed by the program (a daemon closing every
		 * descriptor after fork): never close it in its name.
		 */
		for (i = 0; i < FD_GENS; i++)
			if (e[i].refs && e[i].fd == fd)
				e[i].fd = -1;
		if (free_e)
			*free_e = (struct fd_ent){ .pid = me, .fd = fd,
						   .refs = 1 };
		/* else: more forks deep than FD_GENS, this one not shared */
	}
	pthread_mutex_unlock(&fd_lock);
	return fd;
}

void watch_fd_put(pid_t owner, int fd)
{
	int k, i;

	if (fd < 0)
		return;
	pthread_mutex_lock(&fd_lock);
	for (k = 0; k < WATCH_FD_KINDS; k++)
		for (i = 0; i < FD_GENS; i++) {
			struct fd_ent *e = &fds[k][i];

			if (e->refs && e->pid == owner && e->fd == fd) {
				if (!--e->refs) {
					close(fd);
					*e = (struct fd_ent){ 0 };
				}
				goto out;
			}
		}
	close(fd);		/* one not shared (see watch_fd_get()) */
out:
	pthread_mutex_unlock(&fd_lock);
}

void watch_fd_fork_lock(void)
{
	pthread_mutex_lock(&fd_lock);
}

void watch_fd_fork_unlock(void)
{
	pthread_mutex_unlock(&fd_lock);
}
