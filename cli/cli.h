/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Shared pieces of the pagescan command.  The command links only the
 * public API (<pagescan.h>), like any other user of the library.
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

#define JSON_SCHEMA "pagescan/1"

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
void ob_json_str(struct obuf *o, const char *s);
/* 0, or -errno (EIO for a short write, ENOMEM if the buffer ran out). */
int ob_flush(struct obuf *o, FILE *f);
void ob_free(struct obuf *o);

/* Human units: "0", "4.0K", "12M", "1.5G" (powers of 1024). */
const char *human(uint64_t bytes, char *buf, size_t len);

int parse_pid(const char *s, pid_t *pid);
/* The one PID operand after getopt: 0, or -1 after saying what is wrong. */
int pid_operand(int argc, char **argv, pid_t *pid);
int parse_u64(const char *s, uint64_t *v);
int parse_hex(const char *s, uint64_t *v);
/* "present,!file": mask and inverted; -1 after an error message. */
int parse_cats(const char *list, uint64_t *mask, uint64_t *inv,
	       bool allow_not);
/* "a,b,c" of all category names, for error messages. */
const char *cat_list(void);
/* Comma-separated category names of @c into @buf. */
const char *cat_names(uint64_t c, char *buf, size_t len);

/* Categories this kernel (or the emulation) can report, as a mask. */
uint64_t cats_available(void);
/*
 * Categories whose counts mean something: as cats_available(), but
 * soft-dirty only on kernels where the bit is ever set.
 */
uint64_t cats_meaningful(void);

/* Open @pid with a clear message on failure; returns an exit code. */
int target_open(pid_t pid, struct pagescan **out);

/* ---- the mapping list and the counting pass ---- */

/* Page counts of one mapping or one cell. */
struct counts {
	uint64_t present, swapped, file, zero, huge, sdirty, guard;
	/* Exclusive classes, for the picture's dominant colour. */
	uint64_t cls[7];
};

enum page_class {
	CLS_EMPTY = 0, CLS_ANON, CLS_FILE, CLS_ZERO, CLS_HUGE, CLS_SWAP,
	CLS_GUARD, CLS__COUNT
};

struct mapping {
	uint64_t start, end;
	uint32_t flags;		/* PAGESCAN_VMA_* */
	char *name;		/* path, [heap], [anon] ... (owned) */
	struct counts c;
	uint64_t size;		/* bytes: end - start, or a group's sum */
	unsigned int nmaps;	/* 1, or the mappings of a group */
};

struct space {
	pid_t pid;
	struct pagescan *ps;
	struct mapping *m;
	size_t n, cap;
	uint64_t page_size;
	uint64_t avail;		/* cats_meaningful() */
	struct counts other;	/* pages in no listed mapping (races) */
};

/* Read the mapping list of ps (maps, not smaps: it is cheaper). */
int space_load(struct space *s);
void space_free(struct space *s);

/*
 * Open @pid, read its mappings and (if @count) count them; on failure a
 * message is printed and an exit code returned.
 */
int space_begin(struct space *s, pid_t pid, bool count);
/* Re-read the mappings and count again (watch): 0 or -errno. */
int space_recount(struct space *s);
void space_end(struct space *s);

/* A bucket to count into: sorted, non-overlapping. */
struct bucket {
	uint64_t start, end;
	struct counts *c;
};
/*
 * One scan over [lo, hi) that adds every present, swapped or guard page
 * to the bucket covering it (pages in no bucket go to *other).
 * Returns 0 or -errno.
 */
int count_pass(struct space *s, struct bucket *b, size_t nb,
	       struct counts *other);
/* count_pass() with one bucket per mapping. */
int space_count(struct space *s);

/* The count columns, in display order. */
struct col {
	const char *name;	/* --sort name and text heading */
	const char *json;	/* JSON key */
	uint64_t cat;		/* the category it needs */
	size_t off;		/* offsetof(struct counts, ...) */
};
#define NCOLS 7
extern const struct col cols[NCOLS];
static inline uint64_t col_get(const struct counts *c, const struct col *k)
{
	return *(const uint64_t *)((const char *)c + k->off);
}

/* "rw-p" */
const char *perms(uint32_t flags, char buf[5]);
/* /proc/PID/comm, or "?" */
const char *proc_comm(pid_t pid, char *buf, size_t len);
/* The kernel release, for JSON headers. */
const char *kernel_release(void);

/* The name shown for a mapping: its path, [heap], ... or [anon]. */
const char *mapping_label(const struct mapping *m);
void counts_add(struct counts *to, const struct counts *from);

/* JSON: the common head ("schema", "command", "pid", ...), unclosed. */
void json_head(struct obuf *o, const char *command, const struct space *s);
/* JSON: the count members, null where unavailable. */
void json_counts(struct obuf *o, const struct space *s,
		 const struct counts *c, bool first);

/* ---- subcommands ---- */
int cmd_summary(int argc, char **argv);
int cmd_regions(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* Shared help text: the exit-code table. */
extern const char exit_help[];

#endif
