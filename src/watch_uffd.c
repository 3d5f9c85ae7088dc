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

static int wp_ioctl(int uffd, uint64_t start, uint64_t end, uint64_t mode)
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

static int wp_split(int uffd, uint64_t start, uint64_t end, uint64_t mode);

static int wp_piece(int uffd, uint64_t start, uint64_t end, uint64_t mode)
{
	int ret = wp_ioctl(uffd, start, end, mode);

	if (ret == -ENOENT && end - start > ps_page_size)
		return wp_split(uffd, start, end, mode);
	return ret;
}

/* Both halves; an error other than ENOENT first, then ENOENT. */
static int wp_split(int uffd, uint64_t start, uint64_t end, uint64_t mode)
{
	uint64_t mid = start + ((end - start) / 2 & ~(uint64_t)(ps_page_size - 1));
	int a, b;

	if (mid == start)
		mid = start + ps_page_size;
	a = wp_piece(uffd, start, mid, mode);
	b = wp_piece(uffd, mid, end, mode);
	if (a && a != -ENOENT)
		return a;
	if (b && b != -ENOENT)
		return b;
	return a ? a : b;
}

/*
 * On older kernels UFFDIO_WRITEPROTECT takes one VMA per call: a range
 * over two fails with ENOENT and protects nothing (5.10 and 6.1 here;
 * 6.12 and 6.18 walk every VMA of the range).  A
 * watch's range is one VMA at register, but the program splits it
 * (mprotect(2), madvise(2) flags, memory mapped again in place), and a
 * written run across such a boundary was taken for unmapped: left
 * writable with its bits cleared, its later writes unseen.  So on ENOENT
 * the range is halved until each piece is one VMA (or one page that is
 * really not ours): O(log n) calls per boundary, no maps read.
 */
int watch_uffd_wp_once(int uffd, uint64_t start, uint64_t end, uint64_t mode)
{
	return wp_piece(uffd, start, end, mode);
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
