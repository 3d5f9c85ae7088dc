// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * userfaultfd helpers shared by the uffd-async and uffd-sync backends.
 */
#include "watch.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

int watch_uffd_open(bool user_only, uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd;

	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK |
			     (user_only ? UFFD_USER_MODE_ONLY : 0));
	if (fd == -EINVAL && user_only)	/* before 5.11 */
		fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int watch_uffd_wp_once(int uffd, uint64_t start, uint64_t end, uint64_t mode)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = end - start },
		.mode = mode,
	};

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int watch_uffd_wp(int uffd, uint64_t start, uint64_t end, uint64_t mode)
{
	int ret;

	/* EAGAIN: the mm changed under us (5.19+); just retry. */
	do
		ret = watch_uffd_wp_once(uffd, start, end, mode);
	while (ret == -EAGAIN);
	return ret;
}
