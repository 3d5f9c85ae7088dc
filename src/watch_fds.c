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
 * protects the parent, and the child's inherited watches cannot be used
 * (ECHILD).  So the fork handler (watch_fork.c) closes in the child every
 * descriptor of the watches, shared or not, before the program runs
 * again: a child that then closes every descriptor and opens its own (a
 * daemon) must not lose them when it unregisters the watches it
 * inherited, and its own watches open their own.  A raw fork(2) runs no
 * handler: only an entry opened by this process (ps_proc_id(), which a
 * raw fork changes too) is handed out, each watch
 * gives its descriptor back by slot, and one is closed only while it is
 * still the file that was opened (its device and inode).  The table is in
 * the library's state section: a whole-process restore does not rewind
 * the counts.
 */
#include "watch.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/stat.h>

/* Per kind: this process's entry, and those a raw fork(2) left. */
#define FD_GENS	8

struct fd_ent {
	uint64_t owner;		/* the opener, ps_proc_id() */
	int fd;			/* -1: closed behind our back (see below) */
	unsigned int refs;	/* 0: free */
	dev_t dev;		/* what was opened */
	ino_t ino;
};

static struct fd_ent fds[WATCH_FD_KINDS * FD_GENS] PS_STATE;
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

/* Is @e's descriptor still the file it opened? */
static bool fd_same(const struct fd_ent *e)
{
	struct stat st;

	return e->fd >= 0 && !fstat(e->fd, &st) && st.st_dev == e->dev &&
	       st.st_ino == e->ino;
}

int watch_fd_get(enum watch_fd_kind k, int *slot)
{
	struct fd_ent *e = &fds[k * FD_GENS];
	uint64_t me = ps_proc_id();
	struct stat st;
	int i, fd, free_i = -1;

	*slot = -1;
	pthread_mutex_lock(&fd_lock);
	for (i = 0; i < FD_GENS; i++) {
		if (e[i].refs && e[i].owner == me) {
			e[i].refs++;
			*slot = k * FD_GENS + i;
			fd = e[i].fd;
			goto out;
		}
		if (!e[i].refs && free_i < 0)
			free_i = i;
	}
	if (free_i < 0) {
		fd = ps_errf(EMFILE, "the watches inherited over %d raw "
			     "fork(2) calls hold their descriptors: unregister "
			     "them in the child", FD_GENS - 1);
		goto out;
	}
	fd = fd_open(k);
	if (fd >= 0 && fstat(fd, &st)) {
		close(fd);
		fd = -errno;
	}
	if (fd < 0)
		goto out;
	/*
	 * An entry a raw fork(2) left whose number the kernel hands out
	 * again was closed by the program: never close it in its name.
	 */
	for (i = 0; i < FD_GENS; i++)
		if (e[i].refs && e[i].fd == fd)
			e[i].fd = -1;
	e[free_i] = (struct fd_ent){ .owner = me, .fd = fd, .refs = 1,
				     .dev = st.st_dev, .ino = st.st_ino };
	*slot = k * FD_GENS + free_i;
out:
	pthread_mutex_unlock(&fd_lock);
	return fd;
}

void watch_fd_put(int slot, int fd)
{
	struct fd_ent *e;

	if (slot < 0 || slot >= WATCH_FD_KINDS * FD_GENS || fd < 0)
		return;
	e = &fds[slot];
	pthread_mutex_lock(&fd_lock);
	if (e->refs && (e->fd == fd || e->fd < 0) && !--e->refs) {
		if (fd_same(e))
			close(e->fd);
		*e = (struct fd_ent){ .fd = -1 };
	}
	pthread_mutex_unlock(&fd_lock);
}

void watch_fd_fork_lock(void)
{
	pthread_mutex_lock(&fd_lock);
}

void watch_fd_fork_unlock(bool child)
{
	size_t i;

	for (i = 0; child && i < WATCH_FD_KINDS * FD_GENS; i++) {
		if (fds[i].refs && fd_same(&fds[i]))
			close(fds[i].fd);
		fds[i] = (struct fd_ent){ .fd = -1 };
	}
	pthread_mutex_unlock(&fd_lock);
}

void watch_fd_fork_child(struct pagescan_watch *w)
{
	/* uffd-sync's own: its userfaultfd (no slot) and event descriptor. */
	if (w->uffd >= 0 && w->uffd_slot < 0)
		close(w->uffd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	/* The shared ones: watch_fd_fork_unlock() closes them. */
	w->uffd = w->pagemap_fd = w->audit_fd = w->vmstat_fd = -1;
	w->mem_fd = w->stop_fd = -1;
	w->uffd_slot = w->pagemap_slot = w->audit_slot = -1;
	w->vmstat_slot = w->mem_slot = -1;
}
