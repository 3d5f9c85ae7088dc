/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/* pagescan diff: saved outputs (diff_load.c) and their comparison (diff.c). */
#ifndef PAGESCAN_CLI_DIFF_H
#define PAGESCAN_CLI_DIFF_H

#include "cli.h"
#include "json.h"

#define NSTAT PAGESCAN_STAT__COUNT

struct item {
	char *name;		/* mapping name or comm (borrowed) */
	uint64_t start;		/* mapping start, or pid */
	unsigned int nmaps;
	bool have[NSTAT];	/* not null */
	int64_t v[NSTAT];
	bool used;
};

struct side {
	const char *label;
	char *msg;		/* label escaped, for messages */
	struct jv doc;
	const char *command;	/* "summary" or "processes" */
	struct item *it;
	size_t n;
	struct item total;
};

/* Read @path ("-": stdin) and parse it: 0, or an exit code after a message. */
int side_open(struct side *s, const char *path);
/* Parse @buf as the side named @label: 0, or -1 after a message. */
int side_parse(struct side *s, const char *label, const char *buf,
	       size_t len);
/* Its rows and total, checked: 0, or -1 after a message. */
int side_load(struct side *s);
void side_free(struct side *s);

#endif
