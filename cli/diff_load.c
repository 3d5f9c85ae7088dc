// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan diff's reading of saved outputs: a file (or stdin) read whole,
 * parsed as JSON, and taken only if it is what pagescan --json wrote (a
 * summary or a process table of this schema, every count a byte count):
 * a file that is not is refused whole, never read in part.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static int read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 65536, n = 0;
	char *b;
	int err;

	if (!f)
		return -errno;
	b = malloc(cap);
	while (b) {
		size_t r;

		if (cap - n < 4096) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
		r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (!r)
			break;
	}
	/* A directory opens, and fails to read with EISDIR. */
	err = ferror(f) ? (errno ? errno : EIO) : 0;
	if (f != stdin)
		fclose(f);
	if (!b)
		return -ENOMEM;
	if (err) {
		free(b);
		return -err;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* @s escaped for a message (names, schemas are whatever bytes a file has). */
static char *esc(const char *s)
{
	struct obuf o = { 0 };

	ob_text(&o, s);
	if (o.oom || !o.buf) {
		ob_free(&o);
		return strdup("?");
	}
	return o.buf;
}

/*
 * A bytes object: each count a byte count (an integer from 0 to
 * INT64_MAX, so that B - A cannot overflow), null (n/a) or absent (a
 * statistic this version did not have).  Anything else is no pagescan
 * output, and reading it as 0 or n/a would be a silent wrong answer:
 * -1 after a message.
 */
static int get_stats(const struct side *s, struct item *it,
		     const struct jv *bytes, const char *where)
{
	unsigned int k;

	if (!bytes || bytes->type != JV_OBJECT) {
		err_msg("%s: %s has no bytes object", s->msg, where);
		return -1;
	}
	for (k = 0; k < NSTAT; k++) {
		const struct jv *m = jv_get(bytes, pagescan_stat_name(k));

		if (m && m->type != JV_NULL && !(m->type == JV_NUMBER &&
						 m->exact)) {
			err_msg("%s: %s: %s is not a byte count", s->msg,
				where, pagescan_stat_name(k));
			return -1;
		}
		it->have[k] = m && m->type == JV_NUMBER;
		it->v[k] = it->have[k] ? (int64_t)m->u : 0;
	}
	return 0;
}

/* The rows and total of a parsed document; -1 after a message. */
int side_load(struct side *s)
{
	const char *schema = jv_str(&s->doc, "schema");
	const struct jv *rows, *tot;
	bool procs;
	size_t i;

	s->command = jv_str(&s->doc, "command");
	if (!schema || strncmp(schema, "pagescan/", 9) || !s->command) {
		err_msg("%s: not pagescan --json output", s->msg);
		return -1;
	}
	if (strcmp(schema, JSON_SCHEMA)) {
		char *e = esc(schema);

		err_msg("%s: schema %s; this pagescan reads %s (save it again)",
			s->msg, e ? e : "?", JSON_SCHEMA);
		free(e);
		return -1;
	}
	procs = !strcmp(s->command, "processes");
	if (!procs && strcmp(s->command, "summary")) {
		char *e = esc(s->command);

		err_msg("%s: a '%s' object; diff compares summaries (pagescan "
			"PID --json) or process tables (--all --json)",
			s->msg, e ? e : "?");
		free(e);
		return -1;
	}
	rows = jv_get(&s->doc, procs ? "processes" : "mappings");
	tot = jv_get(&s->doc, "total");
	if (!rows || rows->type != JV_ARRAY || !tot) {
		err_msg("%s: no %s or total", s->msg,
			procs ? "processes" : "mappings");
		return -1;
	}
	s->it = calloc(rows->n ? rows->n : 1, sizeof(*s->it));
	if (!s->it) {
		err_msg("out of memory");
		return -1;
	}
	for (i = 0; i < rows->n; i++) {
		const struct jv *r = &rows->items[i], *m;
		struct item *it = &s->it[s->n];
		const char *name = jv_str(r, procs ? "comm" : "name");
		char where[64];

		snprintf(where, sizeof(where), "%s[%zu]",
			 procs ? "processes" : "mappings", i);
		if (procs) {
			m = jv_get(r, "pid");
			if (!m || m->type != JV_NUMBER || !m->exact ||
			    !m->u || m->u > INT32_MAX)
				goto bad;
			it->start = m->u;
		} else {
			const char *st = jv_str(r, "start");

			if (!st || parse_hex(st, &it->start))
				goto bad;
		}
		if (!name)
			goto bad;
		it->name = (char *)name;
		m = jv_get(r, "mappings");
		it->nmaps = m && m->type == JV_NUMBER && m->exact &&
			    m->u <= UINT32_MAX ? (unsigned int)m->u : 1;
		if (get_stats(s, it, jv_get(r, "bytes"), where))
			return -1;
		s->n++;
		continue;
bad:
		err_msg("%s: %s has no %s", s->msg, where,
			procs ? "pid and comm" : "start address and name");
		return -1;
	}
	return get_stats(s, &s->total, jv_get(tot, "bytes"), "total");
}

void side_free(struct side *s)
{
	free(s->it);
	free(s->msg);
	jv_free(&s->doc);
}

int side_parse(struct side *s, const char *label, const char *buf,
		      size_t len)
{
	const char *why = NULL;

	s->label = label;
	s->msg = esc(label);
	if (jv_parse(buf, len, &s->doc, &why)) {
		err_msg("%s: not valid JSON (%s)", s->msg ? s->msg : "?",
			why ? why : "?");
		return -1;
	}
	return 0;
}

int side_open(struct side *s, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = read_all(path, &buf, &len);

	if (ret) {
		struct obuf o = { 0 };

		ob_text(&o, path);
		err_msg("cannot read %s: %s", o.buf, strerror(-ret));
		ob_free(&o);
		return ret == -ENOENT || ret == -EACCES || ret == -EISDIR ?
		       EX_USAGE : EX_FAIL;
	}
	ret = side_parse(s, path, buf, len) ? EX_USAGE : 0;
	free(buf);
	return ret;
}
