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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prom.h"

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
		ret = ob_write_atomic(&o, eo.output);
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
