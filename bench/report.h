/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * What the harness knows of a row once it ran, and the three ways it is
 * printed (report.c): the table, JSON lines, tab-separated values.
 */
#ifndef PAGESCAN_BENCH_REPORT_H
#define PAGESCAN_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"

enum status { ST_OK, ST_NA, ST_ERROR, ST_TIMEOUT, ST_CRASH };

struct result {
	enum status status;
	char backend[40];
	char note[400];
	char remark[200];		/* bench_note(): the last one */
	int nf, nm;			/* repetitions that finished */
	double floor, measured;		/* the best, in seconds */
	uint64_t check_f, check_m;	/* pages each found, or NOCHECK */
	bool diff;
	long mem_kib;			/* -1: not measured */
	char running;			/* 'F' or 'M' while an op runs */
	double running_since;
	double timeout_after;		/* seconds the cut op had run */
};

struct report {
	FILE *table;		/* the table (stdout, or /dev/null) */
	FILE *json;		/* JSON lines, or NULL */
	FILE *tsv;		/* tab-separated, or NULL */
	const char *commit;
};
extern struct report report;

/* The header: kernel, machine, repetitions, the run's arguments. */
void report_meta(int argc, char **argv);
/* One row, after it ran (table and group headings as they change). */
void report_row(const struct bench_row *row, const struct bench_group *g,
		const struct result *res);

#endif /* PAGESCAN_BENCH_REPORT_H */
