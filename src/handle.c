// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Handles: one address space held open, and the scan on it.
 *
 * A /proc/PID/{pagemap,maps,smaps} descriptor captures the address space
 * the process has when it is opened and keeps reading that one: after the
 * process execs or exits, reads find nothing (its mm is gone), never the
 * new image.  So a handle opens all three once, at pagescan_open(), and
 * every read it makes afterwards (the native ioctl, the emulation, the
 * iterator, pagescan_vmas()) goes through them by offset, never through
 * /proc/PID by number.  A pidfd, taken before them, pins the process
 * itself: had it exited while they were being opened, its number might
 * already name another process.
 *
 * The number the caller gives is of its own pid namespace; /proc is the
 * procfs of whatever namespace it was mounted for.  After
 * unshare(CLONE_NEWPID), or in a container that kept the host's /proc,
 * /proc/N is another process than the caller's N (seen: a handle opened
 * on a child in a new namespace scanned an unrelated host process).  So
 * the number used under /proc is the pidfd's own, as that procfs shows it.
 */
#include "backend.h"

#include <fcntl.h>
#include <unistd.h>

/* An exec racing the opens: how many times to start again. */
#define OPEN_TRIES 4

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* Linux 6.9 */
#endif

/*
 * By what each descriptor was at open (ps->ids): a child forked with the
 * handle may have closed these numbers and opened its own files there.
 */
static void close_files(struct pagescan *ps)
{
	int *fds[] = { &ps->fd, &ps->maps_fd, &ps->smaps_fd };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		sys_close_same(*fds[i], &ps->ids[i]);
		*fds[i] = -1;
	}
}

static int open_files(struct pagescan *ps)
{
	pid_t pid = ps->self ? 0 : ps->proc_pid, tid = ps->proc_tid;
	static const char *const what[] = { "pagemap", "maps", "smaps" };
	int *fds[] = { &ps->fd, &ps->maps_fd, &ps->smaps_fd };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(what); i++) {
		int fd = sys_open_proc(pid, tid, what[i], O_RDONLY);

		if (fd < 0) {
			close_files(ps);
			/* /proc/PID missing: no such process (or thread). */
			return fd == -ENOENT ? -ESRCH : fd;
		}
		*fds[i] = fd;
		sys_fd_id(fd, &ps->ids[i]);
	}
	return 0;
}

/*
 * ps->proc_pid and ps->proc_tid: the numbers /proc shows the target by.
 * The same as the caller's where /proc is its own namespace's; else those
 * its pidfd (for a thread, a PIDFD_THREAD one, 6.9+) has there.
 */
static int proc_numbers(struct pagescan *ps)
{
	pid_t n;
	int own, fd;

	ps->proc_pid = ps->pid;
	ps->proc_tid = ps->tid;
	own = sys_proc_is_own_pidns();
	/* Before 4.1 (no NSpid) there are no numbers to translate with. */
	if (own != 0)
		return 0;
	if (ps->self) {
		n = sys_proc_self_pid();
		if (n < 0)
			return ps_errf(ESRCH, "/proc does not show the calling "
				       "process (a procfs of another pid "
				       "namespace)");
		ps->proc_pid = n;
	} else {
		if (ps->pidfd < 0)
			return ps_errf(ESRCH, "/proc is the procfs of another "
				       "pid namespace and pidfd_open() is not "
				       "available to find pid %d in it",
				       (int)ps->pid);
		n = sys_pidfd_proc_pid(ps->pidfd);
		if (n < 0)
			return ps_errf(ESRCH, "pid %d is not visible in /proc "
				       "(a procfs of another pid namespace)",
				       (int)ps->pid);
		ps->proc_pid = n;
	}
	if (!ps->tid)
		return 0;
	fd = sys_pidfd_open(ps->tid, PIDFD_THREAD);
	if (fd == -ESRCH)
		return -ESRCH;
	if (fd < 0)
		return ps_errf(ESRCH, "/proc is the procfs of another pid "
			       "namespace, and without PIDFD_THREAD (Linux "
			       "6.9) thread %d cannot be found in it",
			       (int)ps->tid);
	n = sys_pidfd_proc_pid(fd);
	close(fd);
	if (n < 0)
		return ps_errf(ESRCH, "thread %d is not visible in /proc (a "
			       "procfs of another pid namespace)",
			       (int)ps->tid);
	ps->proc_tid = n;
	return 0;
}

int pagescan_open(pid_t pid, const struct pagescan_open_opts *opts,
		  struct pagescan **out)
{
	enum pagescan_backend backend;
	struct pagescan *ps;
	int err, fd, tries;
	pid_t tid;

	if (!out || pid < 0)
		return ps_err(EINVAL);
	err = OPTS_CHECK(opts, pagescan_open_opts);
	if (err)
		return ps_err(-err);
	tid = OPTS_GET(opts, tid, 0);
	backend = OPTS_GET(opts, backend, PAGESCAN_BACKEND_AUTO);
	if (tid < 0 || (unsigned int)backend > PAGESCAN_BACKEND_EMULATE)
		return ps_err(EINVAL);
	if (backend == PAGESCAN_BACKEND_AUTO && (int)ps_env_backend() < 0)
		return ps_err(-ps_env_backend_error());

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return ps_err(ENOMEM);
	ps->fd = ps->maps_fd = ps->smaps_fd = ps->pidfd = -1;
	pthread_mutex_init(&ps->files_lock, NULL);
	ps->self = pid == 0 || pid == getpid();
	ps->pid = pid ? pid : getpid();
	ps->tid = tid;
	ps->backend = backend;

	if (!ps->self) {
		/*
		 * Without pidfd_open (before 5.3, or filtered) the window
		 * between the number and the opens stays open: a process
		 * that exits and whose number is reused in it is not
		 * noticed.
		 */
		fd = sys_pidfd_open(ps->pid, 0);
		if (fd == -ESRCH) {
			err = -ESRCH;
			goto fail;
		}
		ps->pidfd = fd >= 0 ? fd : -1;
		sys_fd_id(ps->pidfd, &ps->ids[3]);
	}
	err = proc_numbers(ps);
	if (err)
		goto fail;
	for (tries = 1;; tries++) {
		err = open_files(ps);
		if (err)
			goto fail;
		/*
		 * Still running: the number named the pidfd's process
		 * throughout, so the files are its.
		 */
		if (ps->pidfd >= 0 && sys_pidfd_exited(ps->pidfd)) {
			err = -ESRCH;
			goto fail;
		}
		/*
		 * An exec between the opens leaves pagemap, opened first,
		 * on the old image, whose address space is then gone: open
		 * all three again.  (A kernel thread has none at all.)
		 */
		if (!ps_mm_gone(ps->fd))
			break;
		close_files(ps);
		if (tries == OPEN_TRIES) {
			err = -ESRCH;
			goto fail;
		}
	}
	*out = ps;
	return 0;
fail:
	close_files(ps);
	if (ps->pidfd >= 0)
		close(ps->pidfd);
	pthread_mutex_destroy(&ps->files_lock);
	free(ps);
	return ps_err(-err);
}

void pagescan_close(struct pagescan *ps)
{
	int saved = errno;

	if (!ps)
		return;
	close_files(ps);
	sys_close_same(ps->pidfd, &ps->ids[3]);
	pthread_mutex_destroy(&ps->files_lock);
	free(ps);
	errno = saved;
}

pid_t pagescan_pid(const struct pagescan *ps)
{
	return ps ? ps->pid : ps_err(EINVAL);
}

int pagescan_fd(const struct pagescan *ps)
{
	return ps ? ps->fd : ps_err(EINVAL);
}

enum pagescan_backend pagescan_backend(const struct pagescan *ps)
{
	if (!ps)
		return PAGESCAN_BACKEND_AUTO;
	return ps_resolve_backend(ps->backend);
}

void ps_handle_target(const struct pagescan *ps, struct ps_target *t)
{
	t->pagemap_fd = ps->fd;
	t->maps_fd = ps->maps_fd;
	t->smaps_fd = ps->smaps_fd;
	/* The lock is the handle's state, not what the caller may not change. */
	t->files_lock = (pthread_mutex_t *)&ps->files_lock;
	t->pidfd = ps->pidfd;
	t->pid = ps->proc_pid;
	t->self = ps->self;
	t->proc_dir = NULL;	/* its own descriptors, or /proc/PID */
}

int ps_handle_scan(struct pagescan *ps, struct pm_scan_arg *arg)
{
	struct ps_target t;
	int ret;

	ps_handle_target(ps, &t);
	ret = ps_dispatch(ps->backend, &t, arg);
	/*
	 * Before the ioctl learnt to fail with ESRCH (seen on 6.18.44), an
	 * address space that is gone (exit, exec) simply has no VMAs left:
	 * an empty answer.  Only an empty answer can hide that, so only
	 * then look, and only where the kernel does not say so itself.
	 */
	if (ret == 0 && !ps->self && ps_native_esrch() != 1 &&
	    ps_mm_gone(ps->fd))
		return -ESRCH;
	if (ret == -ENOENT || ret == -ESRCH)
		return -ESRCH;
	return ret;
}
