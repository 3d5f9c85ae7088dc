// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan export: the summary of a selection of processes as
 * Prometheus metrics (doc/metrics.md), on stdout or written atomically
 * to a file for node_exporter's textfile collector.  The processes come
 * from the summary's own walk (procs.c), their counts from
 * pagescan_summary(3): the numbers are those `pagescan --all` shows.
 *
 * Cardinality is bounded whatever runs on the host: the top N processes
 * by rss have their own series, the others are summed into one with
 * pid="other"; each of those N has its top M mapping groups (mappings of
 * one name, as --group), the rest summed into mapping="other".
 *
 * This file is the command: the metrics (export_metrics.c) on stdout or
 * into the file; export_opts.c parses its options.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prom.h"

/* ---- the file ---- */

/*
 * @buf into @path so that a reader sees the old file or the new one,
 * whole: a temporary file beside it (node_exporter reads only *.prom,
 * and ours starts with a dot), fsync, rename, fsync of the directory.
 */
static int write_atomic(const char *path, const char *buf, size_t len)
{
	char *dup = strdup(path), *tmp = NULL, *dir;
	mode_t um;
	size_t off = 0;
	int fd = -1, dfd = -1, ret = 0;

	if (!dup)
		return -ENOMEM;
	dir = dirname(dup);
	{
		char *d2 = strdup(path);

		if (!d2 || asprintf(&tmp, "%s/.%s.XXXXXX", dir,
				    basename(d2)) < 0) {
			free(d2);
			free(dup);
			return -ENOMEM;
		}
		free(d2);
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* mkstemp makes it 0600: the collector may run as another user. */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um)) {
		ret = -errno;
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		ret = -errno;
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dup);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts eo;
	struct obuf o = { 0 };
	int ret, first_err;

	ret = export_options(argc, argv, false, &eo);
	if (ret) {
		export_options_free(&eo);
		return ret < 0 ? EX_OK : ret;
	}
	if (eo.output) {
		struct stat st;

		/* Refused before the scan, which may take a while. */
		if (!stat(eo.output, &st) && S_ISDIR(st.st_mode)) {
			struct obuf m = { 0 };

			ob_text(&m, eo.output);
			err_msg("--output %s is a directory; name the file "
				"(e.g. %s/pagescan.prom)", m.buf, m.buf);
			ob_free(&m);
			export_options_free(&eo);
			return EX_USAGE;
		}
	}
	ret = export_metrics(&o, &eo, eo.om, NULL, false, &first_err);
	if (ret) {
		err_msg("%s", ret == -ENOMEM ? "out of memory" :
			"cannot list /proc");
		ret = EX_FAIL;
		goto out;
	}
	if (eo.output) {
		ret = write_atomic(eo.output, o.buf, o.len);
		if (ret) {
			struct obuf m = { 0 };

			ob_text(&m, eo.output);
			err_msg("cannot write %s: %s (it is left as it was)",
				m.buf, strerror(-ret));
			ob_free(&m);
			ret = EX_FAIL;
			goto out;
		}
	} else if ((ret = ob_flush(&o, stdout))) {
		err_msg("writing the output: %s", strerror(-ret));
		ret = EX_FAIL;
		goto out;
	}
	ret = first_err;
out:
	ob_free(&o);
	export_options_free(&eo);
	return ret;
}
