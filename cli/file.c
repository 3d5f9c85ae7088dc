// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The files the command writes: export --output (atomically, for
 * node_exporter's textfile collector) and map --svg.  Every error path
 * closes what it opened and removes what it half wrote, so that a failed
 * run leaves neither an open descriptor nor a stray file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* All of @buf to @fd: 0 or -errno (-EIO for a write that wrote nothing). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * close(2) on every path, its error kept unless an earlier one is: on
 * NFS a failed write-back is reported by close.
 */
static int close_keep(int fd, int ret)
{
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/* See cli.h. */
int ob_write_atomic(const struct obuf *o, const char *path)
{
	char *dup = strdup(path), *base = strdup(path), *tmp = NULL, *dir;
	mode_t um;
	int fd, dfd, ret = 0;

	if (o->oom || !dup || !base) {
		ret = -ENOMEM;
		goto out;
	}
	dir = dirname(dup);
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, basename(base)) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* mkstemp makes it 0600: the collector may run as another user. */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um))
		ret = -errno;
	if (!ret)
		ret = write_all(fd, o->buf, o->len);
	if (!ret && fsync(fd))
		ret = -errno;
	ret = close_keep(fd, ret);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	free(base);
	free(dup);
	return ret;
}

/* See cli.h. */
int ob_write_file(const struct obuf *o, const char *path)
{
	struct stat st, now;
	bool reg;
	int fd, ret;

	/* Before the open: a picture out of memory truncates nothing. */
	if (o->oom)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	reg = !fstat(fd, &st) && S_ISREG(st.st_mode);
	ret = close_keep(fd, write_all(fd, o->buf, o->len));
	/*
	 * A half-written regular file goes (its old content went with
	 * O_TRUNC), but only the one we wrote: not through a symlink, not a
	 * file renamed in meanwhile, never a device or a FIFO.
	 */
	if (ret && reg && !lstat(path, &now) && S_ISREG(now.st_mode) &&
	    now.st_dev == st.st_dev && now.st_ino == st.st_ino)
		unlink(path);
	return ret;
}
