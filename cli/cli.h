/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Shared pieces of the pagescan command.  The command links only the
 * public API (<pagescan.h>), like any other user of the library; what it
 * counts comes from pagescan_summary(3), so that it shows what the Python
 * binding and the exporter report.
 */
#ifndef PAGESCAN_CLI_H
#define PAGESCAN_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <pagescan.h>

#define JSON_SCHEMA "pagescan/2"

/* Exit codes: documented in --help and pagescan(1); never renumber. */
enum {
	EX_OK = 0,
	EX_USAGE = 1,		/* bad option, range, category or pid */
	EX_NOPROC = 2,		/* no such process, or exited mid-scan */
	EX_PERM = 3,		/* no ptrace read access to the target */
	EX_UNSUPP = 4,		/* this kernel lacks what was asked for */
	EX_FAIL = 5,		/* anything else (I/O, memory) */
};

extern const char *prog;

/* "pagescan: ..." on stderr. */
__attribute__((format(printf, 1, 2))) void err_msg(const char *fmt, ...);
/* An unknown option or a missing argument (getopt with opterr = 0). */
int bad_option(char **argv, const char *sub);
/* Map a positive errno to an exit code. */
int exit_code(int err);
/*
 * The library's detail for the call that just failed with -@err, else
 * strerror(@err): for every library error the command prints.
 */
const char *lib_error(int err);

/*
 * Options given twice: list options combine, the others are refused.
 * once(&seen, "--top") is 0 the first time, else -1 after the message.
 */
int once(bool *seen, const char *opt);
/* --help must come alone: 0, or -1 after saying what else was there. */
int help_alone(int argc, char **argv, const char *sub);

/* ---- output (out.c) ---- */

/*
 * Output buffer: everything a subcommand prints goes here first, so that
 * an error detected late prints nothing on stdout.  ob_flush() writes it
 * out; a streaming user flushes whenever it exceeds a threshold.
 */
struct obuf {
	char *buf;
	size_t len, cap;
	bool oom;
};
__attribute__((format(printf, 2, 3)))
void ob_printf(struct obuf *o, const char *fmt, ...);
void ob_puts(struct obuf *o, const char *s);
void ob_putn(struct obuf *o, const char *s, size_t n);
void ob_pad(struct obuf *o, int n);
/* 0, or -errno (EIO for a short write, ENOMEM if the buffer ran out). */
int ob_flush(struct obuf *o, FILE *f);
void ob_free(struct obuf *o);

/* ---- files (file.c) ---- */

/*
 * @o into @path so that a reader sees the old file or the new one, whole:
 * a temporary file beside it (".NAME.XXXXXX": node_exporter reads only
 * *.prom), fsync, rename, fsync of the directory.  On any error the
 * temporary file is closed and removed and @path is left as it was.
 * 0 or -errno.
 */
int ob_write_atomic(const struct obuf *o, const char *path);
/*
 * @o into @path, created or truncated (a device or a FIFO works too).  On
 * an error the descriptor is closed and a half-written regular file is
 * removed.  0 or -errno.
 */
int ob_write_file(const struct obuf *o, const char *path);

/*
 * Names are data.  Text: printable ASCII and (in a UTF-8 locale) valid
 * UTF-8 as they are, everything else (control bytes, invalid UTF-8, C1
 * controls, bidirectional overrides) as \xNN, a backslash as \\.  JSON:
 * valid UTF-8 kept, controls as \u00NN, each invalid byte NN as \udcNN
 * (Python's surrogateescape).  XML: valid UTF-8 kept, markup as entities,
 * what XML cannot carry as the text \xNN.
 */
void ob_text(struct obuf *o, const char *s);
void ob_json_str(struct obuf *o, const char *s);
void ob_xml(struct obuf *o, const char *s);
/*
 * The one UTF-8 check of every output (text, JSON, SVG, Prometheus): the
 * length (1-4) of the valid UTF-8 sequence at @p and its code point in
 * *@cp, or 0 if the bytes there are none (RFC 3629: overlong forms,
 * surrogates, past U+10FFFF and cut-short sequences are not).  Reads no
 * further than a NUL.
 */
int utf8_seq(const unsigned char *p, uint32_t *cp);
/* The escaped text of @s, in display columns. */
int text_width(const char *s);
/*
 * @s escaped, at most @width columns: shortened from the left with "..."
 * (paths keep their file name), padded to @width if @pad.  Returns the
 * columns printed.
 */
int ob_text_fit(struct obuf *o, const char *s, int width, bool pad);
/* A prose line wrapped at the terminal width, each line indented @ind. */
void ob_wrap(struct obuf *o, const char *s, int ind);
/*
 * The same, continuing a line that already holds @col columns (a table's
 * last column): what does not fit goes on lines indented @ind.
 */
void ob_wrap_from(struct obuf *o, const char *s, int ind, int col);

/* TIOCGWINSZ of stdout, else $COLUMNS, else 80. */
int term_width(void);

/* Human units: "0", "4.0K", "12M", "1.5G" (powers of 1024). */
const char *human(uint64_t bytes, char *buf, size_t len);

/* ---- parsing (util.c): decimal only, no sign, blank or prefix ---- */
int parse_u64(const char *s, uint64_t *v);
/* The value of hexadecimal digit @c, or -1. */
int hex_digit(int c);
int parse_hex(const char *s, uint64_t *v);
int parse_seconds(const char *s, double *v);
int parse_pid(const char *s, pid_t *pid);
/* The one PID operand after getopt: 0, or -1 after saying what is wrong. */
int pid_operand(int argc, char **argv, pid_t *pid);
/*
 * "present,!file" into *mask and *inv (added to what they hold: repeated
 * options combine); -1 after an error message.
 */
int parse_cats(const char *list, uint64_t *mask, uint64_t *inv,
	       bool allow_not, const char *opt);
/* "a, b, c" of all category names, for error messages. */
const char *cat_list(void);
/* Comma-separated category names of @c into @buf ("-" for none). */
const char *cat_names(uint64_t c, char *buf, size_t len);
/* The nearest of @words to @s (edit distance <= 2, or a prefix), or NULL. */
const char *nearest(const char *s, const char *const *words);

/* Categories this kernel (or the emulation) can report, as a mask. */
uint64_t cats_available(void);
/* As cats_available(), but soft-dirty only where the bit is ever set. */
uint64_t cats_meaningful(void);

/* ---- the target (space.c) ---- */

/* One mapping, or a group of them. */
struct row {
	uint64_t start, end;
	uint64_t size;		/* bytes: end - start, or a group's sum */
	uint32_t flags;		/* PAGESCAN_VMA_* */
	unsigned int nmaps;	/* 1, or the mappings of a group */
	char *name;		/* raw bytes from the kernel (owned) */
	uint64_t b[PAGESCAN_STAT_SLOTS];
};

struct space {
	pid_t pid;
	struct pagescan *ps;
	struct row *m;
	size_t n, cap;
	struct pagescan_summary sum;
	uint64_t page_size;
	char comm[64];		/* raw */
};

/*
 * Open @pid with a clear message on failure (quiet: none); returns an
 * exit code, or the negative errno with @quiet.
 */
int target_open(pid_t pid, struct pagescan **out, bool quiet);
/*
 * Open @pid and summarise it (without @count: only list its mappings);
 * on failure a message is printed and an exit code returned.
 */
int space_begin(struct space *s, pid_t pid, bool count);
/* Summarise again (watch): 0 or -errno. */
int space_recount(struct space *s);
void space_end(struct space *s);
/* The message and exit code for a failed summary of @s. */
int scan_error(const struct space *s, int err);

/* The name shown for a mapping: its path, [heap], ... or [anon]. */
const char *row_label(const struct row *m);
void stats_add(uint64_t *to, const uint64_t *from);

/* "rw-p" */
const char *perms(uint32_t flags, char buf[5]);
/* /proc/PID/comm into @buf (raw), or "?" */
const char *proc_comm(pid_t pid, char *buf, size_t len);
/* The kernel release, for headers. */
const char *kernel_release(void);

/* ---- columns of counts (columns.c) ---- */

/* A count column: a statistic, or huge = thp + hugetlb. */
struct col {
	const char *head;	/* text heading */
	const char *name;	/* --sort and --columns name */
	int stat;		/* enum pagescan_stat, or -1: huge */
	int prio;		/* dropped for width lowest first; 99: never */
};
#define NCOLS 12
extern const struct col cols[NCOLS];
uint64_t col_value(const struct col *k, const uint64_t *b);
bool col_available(const struct col *k, uint64_t unavailable);
/* Index in cols[] of a name ("rss", "swap", "soft-dirty"...), or -1. */
int col_find(const char *name);
/* "rss, anon, ..." for messages. */
const char *col_list(void);

/*
 * Which columns a table shows: the available ones whose values carry
 * information in @rows (core columns always), then, lowest priority
 * first, as many dropped as needed to leave @name_min columns for the
 * name within @width.  @fixed is the width of everything but the count
 * columns and the name.  Fills @show[NCOLS] and @wd[NCOLS] (0: hidden).
 */
struct table {
	bool show[NCOLS];
	int wd[NCOLS];
	bool forced;		/* --columns */
	bool info[NCOLS];	/* not 0 in some row */
	bool name_below;	/* too narrow: the name on a line of its own */
	uint64_t unavailable;
	bool in_pages;
	uint64_t page_size;
	char zero_cols[160];	/* "guard, zero": zero in every row */
	char cut_cols[160];	/* dropped for width */
};
int columns_option(const char *list, bool show[NCOLS]);
void table_plan(struct table *t, const uint64_t *const *rows, size_t nrows,
		int fixed, int name_min, int width);
/* Headings of the shown columns, each preceded by a space. */
void table_heads(struct obuf *o, const struct table *t);
/* The values of @b in the shown columns, each preceded by a space. */
void table_values(struct obuf *o, const struct table *t, const uint64_t *b);
/* Footer notes: what is zero, n/a, approximate, not shown. */
void table_notes(struct obuf *o, const struct table *t, uint64_t approximate);

/* JSON: the statistics of @b as members, null where unavailable. */
void json_stats(struct obuf *o, const uint64_t *b, uint64_t unavailable,
		bool first);
/* JSON: the common head ("schema", "command", "kernel"), unclosed. */
void json_head(struct obuf *o, const char *command);
/* JSON: pid, comm, backend, page_size, available, approximate. */
void json_target(struct obuf *o, const struct space *s);
/* JSON: "available" and "approximate" as arrays of statistic names. */
void json_limits(struct obuf *o, uint64_t unavailable, uint64_t approximate);

/* ---- the summary's options, for one process or several ---- */
enum { SORT_ADDRESS = -1, SORT_SIZE = -2, SORT_NAME = -3 };

struct sum_opts {
	int sort;		/* SORT_* or an index in cols[] */
	bool sorted;		/* --sort given */
	uint64_t top;		/* 0: all rows */
	char **filters;		/* --filter, any of them */
	size_t nfilters;
	bool in_pages, group, json;
	struct table t;		/* --columns in t.show, t.forced */
	const char *baseline;	/* --baseline FILE */
	/* The selection of several processes. */
	bool all;
	char **names;		/* --name, any of them */
	size_t nnames;
	pid_t *pids;
	size_t npids;
};

/* ---- the processes of a selection (procs.c) ---- */
struct proc {
	pid_t pid;
	char comm[64];		/* raw */
	const char *backend;
	struct pagescan_summary sum;
	void *priv;		/* the hook's (export_metrics.c) */
};

enum skip { SK_KTHREAD, SK_ZOMBIE, SK_PERM, SK_EXITED, SK_ERROR, SK__N };
extern const char *const skip_names[SK__N];

struct skipped {
	pid_t pid;
	char comm[64];
	enum skip why;
	int err;
};

struct procs {
	struct proc *p;
	size_t n, cap;
	struct skipped *s;
	size_t ns, scap;
	size_t count[SK__N];
	int first_err;		/* exit code for named PIDs that failed */
};

/*
 * What a caller adds to the walk: @mapping sees each mapping of the
 * process being taken (the summary's callback; it returns a positive
 * value to stop everything: out of memory), then @done is called with
 * the process taken (ps->p[ps->n - 1]), or NULL if it was skipped after
 * all; @done returns 0 or -ENOMEM.
 */
struct proc_hook {
	pagescan_mapping_fn mapping;
	int (*done)(struct proc *p, void *ctx);
	void *ctx;
};

/*
 * Every process of @so's selection (its PIDs, --all or --name, and
 * --filter) into *@ps: summarised with pagescan_summary(3), or skipped
 * with the reason.  0, or -errno (ENOMEM; /proc unreadable).
 */
int procs_collect(struct procs *ps, const struct sum_opts *so,
		  const struct proc_hook *hook);
void procs_free(struct procs *ps);

/* pagescan PID... / --all / --name: one row per process (procs.c). */
int cmd_procs(struct sum_opts *so);
/* Compare a saved JSON document with one in memory (diff.c). */
int diff_with(const char *file_a, const char *name_b, const char *json_b,
	      size_t len_b, const struct sum_opts *so);

/* ---- subcommands ---- */
int cmd_summary(int argc, char **argv);
int cmd_regions(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Shared help text: the exit-code table. */
extern const char exit_help[];

#endif
