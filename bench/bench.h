/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The side-by-side harness behind `make bench` (see bench/README).
 *
 * A row is a layout (set up once) and two timed operations on it: the
 * floor (what a careful caller does without us: the raw ioctl, a chunked
 * pread of pagemap, the kernel's own summary) and the measured library
 * call.  The harness runs each row in a child process of its own, with a
 * time cap, repeats floor and measurement interleaved (ABAB..., the order
 * flipped every repetition), keeps the best of each and prints the ratio
 * next to the target.  It reports; it never fails on a figure.
 *
 * Only the public API (pagescan.h) and raw system calls are used here, so
 * that the harness measures whatever the library's internals become.
 */
#ifndef PAGESCAN_BENCH_H
#define PAGESCAN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pagescan.h>

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A check value that is not compared (the operation counts nothing). */
#define BENCH_NOCHECK UINT64_MAX

struct bench_run;

/*
 * An operation: returns the seconds it took (the harness keeps the best),
 * or a negative value after bench_fail() said why.  *check, when set to
 * something other than BENCH_NOCHECK, is compared between floor and
 * measurement: the pages each found.  A difference is flagged DIFF,
 * because a fast wrong answer is no result.
 */
typedef double (*bench_op)(struct bench_run *run, uint64_t *check);

/* struct bench_row.flags */
#define BENCH_MEM	(1U << 0)	/* report the peak RSS growth */
#define BENCH_OVERHEAD	(1U << 1)	/* report measured - floor */

struct bench_row {
	const char *group;	/* set by bench_add() */
	char name[80];
	const char *vs;		/* the floor, in short: "pread" */
	const char *target;	/* the target, "<= 1.3x", or NULL */
	const char *unit;	/* scale rows: cost per this unit */
	double units;		/* how many of them the row has */
	int reps;		/* repetitions; 0: the run's default */
	double timeout;		/* seconds for the row; 0: default */
	unsigned int flags;	/* BENCH_* */
	uint64_t map_count;	/* vm.max_map_count the layout needs */
	/*
	 * In the row's own process: build the layout (return 0), or say why
	 * the row cannot run here with bench_na() (return its value).  The
	 * process exits after the row, so nothing needs tearing down.
	 */
	int (*setup)(struct bench_run *run);
	bench_op floor;		/* NULL: the row has no floor */
	bench_op measure;
	uint64_t arg[4];	/* the row's parameters, for setup */
};

/* The row's state, in its process. */
struct bench_run {
	const struct bench_row *row;
	char *p;		/* the layout's mapping */
	uint64_t len;
	uint64_t start, end;	/* the range scanned */
	struct pagescan *ps;	/* a handle, when the row uses one */
	int fd;			/* /proc/self/pagemap (or a target's) */
	pid_t pid;		/* a target process, when there is one */
	void *priv;		/* the group's own state */
};

struct bench_config {
	bool quick;		/* BENCH_QUICK: small layouts, few reps */
	int reps;		/* default repetitions (best of N) */
	double timeout;		/* default seconds per row */
	double slow;		/* timeouts are multiplied by this (TCG) */
	const char *cli;	/* the pagescan command */
	char kernel[65];	/* uname -r */
	uint64_t psz;		/* page size */
	unsigned int page_shift;
	uint64_t quick_div;	/* layouts are divided by this in quick */
};
extern struct bench_config bench_cfg;

/* A group of rows (one file each, listed in bench/groups.h). */
struct bench_group {
	const char *name;
	const char *doc;	/* what the rows measure and their floor */
	int table;		/* 1: the ratios, 2: scale */
	void (*add_rows)(void);
};

/* Add a row (copied) to the current group; from add_rows(). */
void bench_add(const struct bench_row *row);

/* From setup or an operation: the row's backend, as the library says. */
void bench_backend(struct bench_run *run, const char *name);
/* From setup: the row cannot run here (returns the value setup returns). */
int bench_na(struct bench_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* From an operation: why it failed (returns -1, what the op returns). */
double bench_fail(struct bench_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A remark printed with the row (the last one wins). */
void bench_note(struct bench_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "1 GiB", "64 GiB", "16 MiB", "4 KiB": for row names. */
const char *bench_size(uint64_t bytes);
/* A layout size, divided by bench_cfg.quick_div in quick mode. */
uint64_t bench_scaled(uint64_t bytes);

/* --- common pieces (common.c) ------------------------------------------ */
double bench_now(void);

/*
 * What every scan row asks: the populated pages, with what pagemap's own
 * bits 63, 62 and 61 say (so that the pread floor reads the same entries
 * and builds the same answer).
 */
#define BENCH_SCAN_ANYOF (PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED)
#define BENCH_SCAN_RETURN (PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED | \
			   PAGESCAN_CAT_FILE)
/* Entries of the caller's vec in the scan loops (and the iterator). */
#define BENCH_VEC 4096
extern struct pagescan_region bench_vec[BENCH_VEC];

/* An anonymous private mapping, THP off unless @thp; aligned to 2 MiB. */
char *bench_map(struct bench_run *run, uint64_t len, bool shared, bool thp);
/* Write one byte to page i of run->p for i = first, first + step, ... */
void bench_touch(struct bench_run *run, uint64_t first, uint64_t step,
		 uint64_t count);
/*
 * @n VMAs of 16 KiB side by side (every other one read-only, so that none
 * merge), the first @touch pages of each written.
 */
int bench_layout_vmas(struct bench_run *run, uint64_t n, uint64_t touch);
/* Open a handle on the calling process with backend @b (setup). */
int bench_open(struct bench_run *run, enum pagescan_backend b);
/* pagescan_probe(@f) == 1, for the rows that need a feature. */
bool bench_has(enum pagescan_feature f);

/* Pages of the regions, regions merged across calls as the kernel does. */
struct bench_tally {
	uint64_t pages, regions, last_end, last_cat;
};
void bench_tally_add(struct bench_tally *t, uint64_t start, uint64_t end,
		     uint64_t cat);

/*
 * The floors and the library calls over [run->start, run->end), each
 * returning seconds (or -1) with the pages found in *check.
 */
double op_pread(struct bench_run *run, uint64_t *check);   /* floor */
double op_raw_scan(struct bench_run *run, uint64_t *check); /* floor */
double op_smaps(struct bench_run *run, uint64_t *check);   /* floor */
double op_lib_scan(struct bench_run *run, uint64_t *check);
double op_lib_ioctl(struct bench_run *run, uint64_t *check);
double op_lib_iter(struct bench_run *run, uint64_t *check);

/*
 * The whole of a (/proc) file in a buffer that is reused by the next call;
 * its length, or -errno.  The text ends with a NUL.
 */
ssize_t bench_read_file(const char *path, char **text);
/*
 * The next mapping of smaps text from *@pos on (which it then moves past
 * it): its range and Rss + Swap in KiB; false at the end.  It writes NULs
 * into the text.
 */
bool bench_smaps_next(char **pos, uint64_t *start, uint64_t *end,
		      uint64_t *kib);

/*
 * The same, as functions of a pagemap fd and range, for groups that scan
 * other processes (the CLI's floors).  0 or -errno, pages in *pages.
 */
int bench_pread_range(int fd, uint64_t start, uint64_t end,
		      struct bench_tally *t);
int bench_raw_scan_range(int fd, uint64_t start, uint64_t end,
			 uint64_t anyof, uint64_t ret, struct bench_tally *t);

#endif /* PAGESCAN_BENCH_H */
