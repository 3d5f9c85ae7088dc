/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/* A small JSON reader (json.c), for pagescan diff. */
#ifndef PAGESCAN_CLI_JSON_H
#define PAGESCAN_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
	enum jv_type type;
	double num;		/* numbers and booleans */
	bool exact;		/* an integer from 0 to INT64_MAX, in u */
	uint64_t u;		/* that integer (0 if not exact) */
	char *str;		/* the bytes a string stands for */
	struct jv *items;	/* array elements, object values */
	char **keys;		/* object member names */
	size_t n, cap;
};

/* 0, or -1 with *err saying why. */
int jv_parse(const char *s, size_t len, struct jv *out, const char **err);
void jv_free(struct jv *v);
/* An object's member, or NULL. */
const struct jv *jv_get(const struct jv *v, const char *key);
const char *jv_str(const struct jv *v, const char *key);

#endif
