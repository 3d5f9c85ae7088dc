/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The Prometheus side of the command: the exposition formats (prom.c),
 * the metrics of a selection of processes (export_metrics.c) and the
 * options that select them (export_opts.c), shared by `pagescan export`
 * (export.c) and `pagescan serve` (serve.c).  doc/metrics.md lists every
 * metric.
 */
#ifndef PAGESCAN_PROM_H
#define PAGESCAN_PROM_H

#include "cli.h"

/* ---- the formats (prom.c) ---- */

/*
 * Text exposition format 0.0.4, or OpenMetrics 1.0 (@om): the same
 * families and samples; OpenMetrics adds # UNIT lines, names a counter's
 * family without its _total and ends with # EOF.
 */
struct prom {
	struct obuf *o;
	bool om;
};

#define PROM_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_OM_TYPE \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/*
 * A family's # HELP and # TYPE (and # UNIT) lines.  @name is the family
 * name: for a counter without "_total", which prom_sample() appends.
 * @unit: "bytes", "seconds" or NULL.
 */
void prom_family(struct prom *p, const char *name, const char *type,
		 const char *unit, const char *help);
/*
 * One sample of the family last begun: @nl label pairs in @lv (name,
 * value, name, value...), values as raw bytes (made valid UTF-8 and
 * escaped here).  @counter: the sample is NAME_total.
 */
void prom_sample(struct prom *p, const char *name, bool counter,
		 const char *const *lv, size_t nl, const char *value);
void prom_sample_u64(struct prom *p, const char *name, bool counter,
		     const char *const *lv, size_t nl, uint64_t v);
void prom_sample_f(struct prom *p, const char *name, bool counter,
		   const char *const *lv, size_t nl, double v);
/* The end: "# EOF" in OpenMetrics, nothing in the text format. */
void prom_end(struct prom *p);

/*
 * @s as valid UTF-8: each byte that is not part of a valid UTF-8
 * sequence (overlong forms and surrogates included) becomes U+FFFD, as
 * Prometheus refuses a label value that is not valid UTF-8.
 */
void prom_utf8(struct obuf *o, const char *s);
/* A label value: prom_utf8(), then \\, \" and \n escaped. */
void prom_label_value(struct obuf *o, const char *s);

/* ---- the options (export_opts.c), the metrics (export_metrics.c) ---- */

struct export_opts {
	struct sum_opts so;	/* the selection: PIDs, --all, --name */
	uint64_t top;		/* processes with their own series */
	uint64_t top_maps;	/* mapping groups per process; 0: none */
	bool om;		/* --openmetrics */
	const char *output;	/* --output FILE */
	const char *listen;	/* serve --listen ADDR:PORT */
	double timeout;		/* serve --timeout seconds */
};

/* What `pagescan serve` adds: its own counters since it started. */
struct serve_stats {
	uint64_t scrapes;
	double scan_seconds;	/* sum of the scans' durations */
	uint64_t requests[6];	/* by status: 200 400 404 405 408 other */
};

/*
 * Parse the options of export (@serve false) or serve into *@eo: EX_OK,
 * -1 for --help (printed), or an exit code after the message.
 */
int export_options(int argc, char **argv, bool serve,
		   struct export_opts *eo);
void export_options_free(struct export_opts *eo);
/*
 * Scan the selection and write its metrics into @o: 0, or -errno
 * (ENOMEM, /proc unreadable) with nothing useful in @o.  *@first_err
 * gets the exit code for a named PID that could not be read (0: none),
 * after a message on stderr (unless @quiet).
 */
int export_metrics(struct obuf *o, const struct export_opts *eo, bool om,
		   const struct serve_stats *st, bool quiet, int *first_err);

#endif
