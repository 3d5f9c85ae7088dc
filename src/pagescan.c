// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Handle lifecycle, backend selection and the drop-in pagescan_ioctl().
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

unsigned long ps_page_size;
unsigned int ps_page_shift;

void ps_init_page_size(void)
{
	unsigned long sz = (unsigned long)sysconf(_SC_PAGESIZE);

	ps_page_shift = (unsigned int)__builtin_ctzl(sz);
	__atomic_store_n(&ps_page_size, sz, __ATOMIC_RELEASE);
}

bool ps_opts_valid(const void *opts, size_t known, size_t user_sz)
{
	const unsigned char *p = opts;
	size_t i;

	if (user_sz < sizeof(size_t))
		return false;
	for (i = known; i < user_sz; i++)
		if (p[i])
			return false;
	return true;
}

int pagescan_version_major(void)
{
	return PAGESCAN_VERSION_MAJOR;
}

int pagescan_version_minor(void)
{
	return PAGESCAN_VERSION_MINOR;
}

static const char *const cat_names[PAGESCAN_CAT_COUNT] = {
	"wpallowed", "written", "file", "present", "swapped",
	"pfnzero", "huge", "soft-dirty", "guard",
};

const char *pagescan_category_name(unsigned int bit)
{
	return bit < PAGESCAN_CAT_COUNT ? cat_names[bit] : NULL;
}

int64_t pagescan_category_parse(const char *name)
{
	unsigned int i;

	if (!name)
		return ps_err(EINVAL);
	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		if (!strcasecmp(name, cat_names[i]))
			return (int64_t)1 << i;
	if (!strcasecmp(name, "softdirty") || !strcasecmp(name, "soft_dirty"))
		return (int64_t)PAGESCAN_CAT_SOFT_DIRTY;
	return ps_err(EINVAL);
}

static const char *const backend_names[] = {
	[PAGESCAN_BACKEND_AUTO] = "auto",
	[PAGESCAN_BACKEND_NATIVE] = "native",
	[PAGESCAN_BACKEND_EMULATE] = "emulate",
};

const char *pagescan_backend_name(enum pagescan_backend b)
{
	if ((unsigned int)b >= ARRAY_SIZE(backend_names))
		return NULL;
	return backend_names[b];
}

/* -1: PAGESCAN_BACKEND holds something we do not know. */
static int env_backend = -2;

enum pagescan_backend ps_env_backend(void)
{
	int b = __atomic_load_n(&env_backend, __ATOMIC_ACQUIRE);
	const char *s;

	if (b != -2)
		return (enum pagescan_backend)b;
	s = getenv("PAGESCAN_BACKEND");
	if (!s || !*s || !strcmp(s, "auto"))
		b = PAGESCAN_BACKEND_AUTO;
	else if (!strcmp(s, "native"))
		b = PAGESCAN_BACKEND_NATIVE;
	else if (!strcmp(s, "emulate"))
		b = PAGESCAN_BACKEND_EMULATE;
	else
		b = -1;
	__atomic_store_n(&env_backend, b, __ATOMIC_RELEASE);
	return (enum pagescan_backend)b;
}

/* AUTO resolved: the kernel where it has the ioctl, else the emulation. */
static enum pagescan_backend resolve(enum pagescan_backend b)
{
	if (b == PAGESCAN_BACKEND_AUTO)
		b = ps_env_backend();
	if (b == PAGESCAN_BACKEND_AUTO)
		b = ps_native_scan() == 1 ? PAGESCAN_BACKEND_NATIVE :
					    PAGESCAN_BACKEND_EMULATE;
	return b;
}

int ps_dispatch(enum pagescan_backend backend, int fd, pid_t pid,
		struct pm_scan_arg *arg)
{
	bool in_auto = backend == PAGESCAN_BACKEND_AUTO &&
		       ps_env_backend() == PAGESCAN_BACKEND_AUTO;

	if ((int)ps_env_backend() < 0 && backend == PAGESCAN_BACKEND_AUTO)
		return -EINVAL;
	backend = resolve(backend);
	/*
	 * Under auto on a kernel that has the ioctl but lacks a category bit
	 * the emulation can compute (6.7 has no SOFT_DIRTY), send requests
	 * using that bit to the emulation instead of failing them.
	 */
	if (in_auto && backend == PAGESCAN_BACKEND_NATIVE) {
		uint64_t extra = emu_categories() & ~ps_native_categories();
		struct pm_scan_arg a;

		if (extra && !sys_copy_from_self(&a, arg, sizeof(a)) &&
		    ((a.category_inverted | a.category_mask |
		      a.category_anyof_mask | a.return_mask) & extra))
			backend = PAGESCAN_BACKEND_EMULATE;
	}
	if (backend == PAGESCAN_BACKEND_NATIVE)
		return sys_pagemap_scan(fd, arg);
	if (pid <= 0) {
		pid = sys_pid_of_procfd(fd, NULL);
		if (pid == -ENOENT)
			return -EBADF;
		if (pid == -EBADF) {
			/* Not a pagemap file: what the kernel says for it. */
			return fcntl(fd, F_GETFD) < 0 ? -EBADF : -ENOTTY;
		}
		if (pid < 0)
			return pid;
	}
	return emu_scan(fd, pid, arg);
}

int pagescan_ioctl(int pagemap_fd, struct pm_scan_arg *arg)
{
	int ret = ps_dispatch(PAGESCAN_BACKEND_AUTO, pagemap_fd, 0, arg);

	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

int pagescan_open(pid_t pid, const struct pagescan_open_opts *opts,
		  struct pagescan **out)
{
	enum pagescan_backend backend;
	struct pagescan *ps;
	pid_t tid;
	int err, fd;

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
		return ps_err(EINVAL);

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return ps_err(ENOMEM);
	ps->pidfd = -1;
	ps->self = pid == 0 || pid == getpid();
	ps->pid = pid ? pid : getpid();
	ps->tid = tid;
	ps->backend = backend;

	fd = sys_open_proc(pid, tid, "pagemap", O_RDONLY);
	if (fd < 0) {
		/* /proc/PID missing: the process (or thread) does not exist. */
		err = fd == -ENOENT ? -ESRCH : fd;
		goto fail;
	}
	ps->fd = fd;
	if (!ps->self) {
		/*
		 * A pidfd lets a scan tell "target exited" from "nothing
		 * matched" on kernels whose ioctl does not fail with ESRCH
		 * (pidfd_open: 5.3).  Without it we cannot, and say nothing.
		 */
		fd = sys_pidfd_open(ps->pid);
		if (fd == -ESRCH) {
			err = -ESRCH;
			close(ps->fd);
			goto fail;
		}
		ps->pidfd = fd >= 0 ? fd : -1;
	}
	*out = ps;
	return 0;
fail:
	free(ps);
	return ps_err(-err);
}

void pagescan_close(struct pagescan *ps)
{
	int saved = errno;

	if (!ps)
		return;
	close(ps->fd);
	if (ps->pidfd >= 0)
		close(ps->pidfd);
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
	return resolve(ps->backend);
}

int ps_handle_scan(struct pagescan *ps, struct pm_scan_arg *arg)
{
	int ret = ps_dispatch(ps->backend, ps->fd, ps->pid, arg);

	/*
	 * Before the ioctl learnt to fail with ESRCH (seen on 6.18.44), a
	 * reaped target simply has no VMAs left: an empty answer.  Only an
	 * empty answer can hide an exit, so only then look.
	 */
	if (ret == 0 && ps->pidfd >= 0 && sys_pidfd_exited(ps->pidfd))
		return -ESRCH;
	if (ret == -ENOENT || ret == -ESRCH)
		return -ESRCH;
	return ret;
}
