// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan diff A.json B.json (and pagescan PID --baseline A.json): what
 * changed between two saved summaries, per mapping (or per process), for
 * before/after comparisons.  A mapping is the same in both when its start
 * and name are; what is left over is compared by name, summed, so that a
 * library loaded at another address still lines up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static void help(FILE *f)
{
	fprintf(f,
"usage: pagescan diff A.json B.json [options]\n"
"\n"
"What changed from A to B, two outputs of pagescan PID --json (one row per\n"
"mapping) or of pagescan --all --json (one row per process); '-' reads\n"
"one of them from stdin.  Mappings match by start address and name;\n"
"those left over are compared per name, summed.  Processes match by pid\n"
"and comm.  Shown: the rows that changed (new, gone, or a count that\n"
"moved), with B - A per column, then the change of the totals.\n"
"pagescan PID --baseline A.json compares A with PID now.\n"
"\n"
"Options:\n"
"  --all           every row, also those that did not change\n"
"  --json          one JSON object (schema \"" JSON_SCHEMA "\"): rows with\n"
"                  status, a, b and delta\n"
"  -h, --help      this text\n"
"\n%s", exit_help);
}

struct drow {
	const char *status;	/* "changed", "same", "new", "gone" */
	const char *name;
	uint64_t start;
	bool by_name;		/* compared per name, summed */
	unsigned int na, nb;
	const struct item *a, *b;
	struct item sa, sb;	/* the sums, by_name */
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static bool differs(const struct item *a, const struct item *b)
{
	unsigned int k;

	if (!a || !b)
		return true;
	for (k = 0; k < NSTAT; k++)
		if (a->have[k] && b->have[k] && a->v[k] != b->v[k])
			return true;
	return false;
}

static void sum_into(struct item *to, const struct item *from)
{
	unsigned int k;

	for (k = 0; k < NSTAT; k++) {
		to->have[k] = from->have[k];
		to->v[k] += from->v[k];
	}
}

/* Match A's rows with B's: exact first, then per name. */
static int match(struct side *a, struct side *b, struct drow **out,
		 size_t *nout)
{
	struct drow *r = calloc(a->n + b->n + 1, sizeof(*r));
	size_t i, j, n = 0;

	if (!r)
		return -ENOMEM;
	qsort(a->it, a->n, sizeof(*a->it), cmp_item);
	qsort(b->it, b->n, sizeof(*b->it), cmp_item);
	for (i = 0, j = 0; i < a->n && j < b->n;) {
		struct item *x = &a->it[i], *y = &b->it[j];

		if (x->start < y->start) {
			i++;
		} else if (x->start > y->start) {
			j++;
		} else {
			if (!strcmp(x->name, y->name)) {
				x->used = y->used = true;
				r[n].name = x->name;
				r[n].start = x->start;
				r[n].a = x;
				r[n].b = y;
				r[n].na = x->nmaps;
				r[n].nb = y->nmaps;
				n++;
			}
			i++;
			j++;
		}
	}
	/* The rest, per name: all of A's "libfoo.so" against all of B's. */
	for (i = 0; i < a->n + b->n; i++) {
		struct item *x = i < a->n ? &a->it[i] : &b->it[i - a->n];
		struct drow *d;

		if (x->used)
			continue;
		d = &r[n++];
		d->name = x->name;
		d->start = x->start;
		d->by_name = true;
		for (j = 0; j < a->n + b->n; j++) {
			struct item *y = j < a->n ? &a->it[j] :
					 &b->it[j - a->n];

			if (y->used || strcmp(y->name, x->name))
				continue;
			y->used = true;
			if (j < a->n) {
				sum_into(&d->sa, y);
				d->na += y->nmaps;
				d->a = &d->sa;
			} else {
				sum_into(&d->sb, y);
				d->nb += y->nmaps;
				d->b = &d->sb;
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct drow *d = &r[i];

		d->status = !d->a ? "new" : !d->b ? "gone" :
			    differs(d->a, d->b) || d->na != d->nb ? "changed" :
			    "same";
	}
	*out = r;
	*nout = n;
	return 0;
}

static int64_t delta(const struct item *a, const struct item *b, int k)
{
	return (b ? b->v[k] : 0) - (a ? a->v[k] : 0);
}

static const char *sdelta(int64_t d, char *buf, size_t len)
{
	char h[24];

	if (!d)
		return "0";
	human((uint64_t)(d < 0 ? -d : d), h, sizeof(h));
	snprintf(buf, len, "%c%s", d < 0 ? '-' : '+', h);
	return buf;
}

static void json_item(struct obuf *o, const char *key, const struct item *it)
{
	unsigned int k;

	ob_printf(o, ",\"%s\":", key);
	if (!it) {
		ob_puts(o, "null");
		return;
	}
	ob_puts(o, "{");
	for (k = 0; k < NSTAT; k++) {
		ob_printf(o, "%s\"%s\":", k ? "," : "", pagescan_stat_name(k));
		if (it->have[k])
			ob_printf(o, "%" PRId64, it->v[k]);
		else
			ob_puts(o, "null");
	}
	ob_puts(o, "}");
}

static void json_delta(struct obuf *o, const struct item *a,
		       const struct item *b)
{
	unsigned int k;

	ob_puts(o, ",\"delta\":{");
	for (k = 0; k < NSTAT; k++) {
		bool have = (!a || a->have[k]) && (!b || b->have[k]);

		ob_printf(o, "%s\"%s\":", k ? "," : "", pagescan_stat_name(k));
		if (have)
			ob_printf(o, "%" PRId64, delta(a, b, (int)k));
		else
			ob_puts(o, "null");
	}
	ob_puts(o, "}");
}

static void json_side(struct obuf *o, const char *key, const struct side *s)
{
	const struct jv *pid = jv_get(&s->doc, "pid");

	ob_printf(o, ",\"%s\":{\"file\":", key);
	ob_json_str(o, s->label);
	ob_printf(o, ",\"command\":\"%s\"", s->command);
	if (pid && pid->type == JV_NUMBER && pid->exact)
		ob_printf(o, ",\"pid\":%" PRIu64, pid->u);
	if (jv_str(&s->doc, "comm")) {
		ob_puts(o, ",\"comm\":");
		ob_json_str(o, jv_str(&s->doc, "comm"));
	}
	ob_puts(o, "}");
}

static void out_json(struct obuf *o, const struct side *a,
		     const struct side *b, const struct drow *r, size_t n,
		     bool all)
{
	bool procs = !strcmp(a->command, "processes");
	size_t i, k = 0;

	json_head(o, "diff");
	json_side(o, "a", a);
	json_side(o, "b", b);
	ob_puts(o, ",\"rows\":[");
	for (i = 0; i < n; i++) {
		const struct drow *d = &r[i];

		if (!all && !strcmp(d->status, "same"))
			continue;
		ob_printf(o, "%s\n{\"status\":\"%s\",", k++ ? "," : "",
			  d->status);
		if (procs)
			ob_printf(o, "\"pid\":%" PRIu64 ",\"comm\":", d->start);
		else if (d->by_name)
			ob_puts(o, "\"start\":null,\"name\":");
		else
			ob_printf(o, "\"start\":\"%#" PRIx64 "\",\"name\":",
				  d->start);
		ob_json_str(o, d->name);
		if (!procs)
			ob_printf(o, ",\"mappings\":[%u,%u]", d->na, d->nb);
		json_item(o, "a", d->a);
		json_item(o, "b", d->b);
		json_delta(o, d->a, d->b);
		ob_puts(o, "}");
	}
	ob_puts(o, "\n],\"total\":{\"status\":\"total\"");
	json_item(o, "a", &a->total);
	json_item(o, "b", &b->total);
	json_delta(o, &a->total, &b->total);
	ob_puts(o, "}}\n");
}

static void out_text(struct obuf *o, const struct side *a,
		     const struct side *b, const struct drow *r, size_t n,
		     bool all)
{
	bool procs = !strcmp(a->command, "processes"), show[NSTAT];
	int wd[NSTAT], width = term_width(), used, keyw = procs ? 7 : 12, k;
	int room, nw;
	char buf[32], line[600], sfx[48];
	size_t i, shown = 0;

	/* Columns: rss always, the others where something moved. */
	for (k = 0; k < (int)NSTAT; k++) {
		show[k] = k == PAGESCAN_STAT_RSS;
		wd[k] = (int)strlen(pagescan_stat_name(k));
		for (i = 0; i <= n; i++) {
			const struct item *x = i < n ? r[i].a : &a->total;
			const struct item *y = i < n ? r[i].b : &b->total;
			int64_t d = delta(x, y, k);
			int w = (int)strlen(sdelta(d, buf, sizeof(buf)));

			if (i < n && !all && !strcmp(r[i].status, "same"))
				continue;
			if ((x && !x->have[k]) || (y && !y->have[k]))
				continue;
			if (d)
				show[k] = true;
			if (w > wd[k])
				wd[k] = w;
		}
	}
	/* PRESENT repeats RSS + zero + hugetlb: only when asked to. */
	show[PAGESCAN_STAT_PRESENT] = false;
	used = 7 + 1 + keyw;
	for (k = 0; k < (int)NSTAT; k++) {
		if (show[k] && used + 1 + wd[k] + 14 > width &&
		    k != PAGESCAN_STAT_RSS)
			show[k] = false;
		if (show[k])
			used += 1 + wd[k];
	}
	snprintf(line, sizeof(line), "A: %s; B: %s (B - A)", a->label,
		 b->label);
	{
		struct obuf t = { 0 };

		ob_text(&t, line);
		ob_wrap(o, t.buf ? t.buf : "", 0);
		ob_free(&t);
	}
	ob_printf(o, "%-7s %-*s", "STATUS", keyw, procs ? "PID" : "ADDRESS");
	for (k = 0; k < (int)NSTAT; k++)
		if (show[k])
			ob_printf(o, " %*s", wd[k], pagescan_stat_name(k));
	ob_printf(o, "  %s\n", procs ? "COMM" : "MAPPING");
	for (i = 0; i <= n; i++) {
		const struct drow *d = i < n ? &r[i] : NULL;
		const struct item *x = d ? d->a : &a->total;
		const struct item *y = d ? d->b : &b->total;

		if (d && !all && !strcmp(d->status, "same"))
			continue;
		if (d) {
			shown++;
			if (procs)
				ob_printf(o, "%-7s %-*" PRIu64, d->status, keyw,
					  d->start);
			else if (d->by_name)
				ob_printf(o, "%-7s %-*s", d->status, keyw,
					  "(by name)");
			else
				ob_printf(o, "%-7s %0*" PRIx64, d->status, keyw,
					  d->start);
		} else {
			ob_printf(o, "%-7s %-*s", "TOTAL", keyw, "");
		}
		for (k = 0; k < (int)NSTAT; k++) {
			if (!show[k])
				continue;
			if ((x && !x->have[k]) || (y && !y->have[k]))
				ob_printf(o, " %*s", wd[k], "n/a");
			else
				ob_printf(o, " %*s", wd[k],
					  sdelta(delta(x, y, k), buf,
						 sizeof(buf)));
		}
		ob_puts(o, "  ");
		room = width - used - 2;
		if (d) {
			/*
			 * The count of mappings, unless the status says it
			 * (one gone, one new), fits too: shorter if need be.
			 */
			sfx[0] = '\0';
			if (d->by_name && d->na != d->nb &&
			    d->na + d->nb != 1) {
				snprintf(sfx, sizeof(sfx),
					 " (%u -> %u mappings)", d->na, d->nb);
				if (room - (int)strlen(sfx) < 16)
					snprintf(sfx, sizeof(sfx), " (%u->%u)",
						 d->na, d->nb);
			}
			nw = room - (int)strlen(sfx);
			ob_text_fit(o, d->name, nw > 4 ? nw : 4, false);
			ob_puts(o, sfx);
		} else {
			snprintf(line, sizeof(line), "%zu row%s changed", shown,
				 shown == 1 ? "" : "s");
			if ((int)strlen(line) > room)
				snprintf(line, sizeof(line), "%zu changed",
					 shown);
			ob_puts(o, line);
		}
		ob_puts(o, "\n");
	}
}

/* Both documents parsed: compare and print. */
static int compare(struct side *a, struct side *b, bool json, bool all)
{
	struct drow *r = NULL;
	struct obuf o = { 0 };
	size_t n = 0;
	int ret;

	if (side_load(a) || side_load(b))
		return EX_USAGE;
	if (strcmp(a->command, b->command)) {
		err_msg("cannot compare a %s (%s) with a %s (%s)", a->command,
			a->msg, b->command, b->msg);
		return EX_USAGE;
	}
	if (match(a, b, &r, &n)) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	if (json)
		out_json(&o, a, b, r, n, all);
	else
		out_text(&o, a, b, r, n, all);
	free(r);
	ret = ob_flush(&o, stdout);
	ob_free(&o);
	return ret ? EX_FAIL : EX_OK;
}

int diff_with(const char *file_a, const char *name_b, const char *json_b,
	      size_t len_b, const struct sum_opts *so)
{
	struct side a = { 0 }, b = { 0 };
	int ret = side_open(&a, file_a);

	if (!ret)
		ret = side_parse(&b, name_b, json_b, len_b) ? EX_FAIL : 0;
	if (!ret)
		ret = compare(&a, &b, so->json, false);
	side_free(&a);
	side_free(&b);
	return ret;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct side a = { 0 }, b = { 0 };
	bool json = false, all = false;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			if (help_alone(argc, argv, "diff"))
				return EX_USAGE;
			help(stdout);
			return EX_OK;
		default:
			return bad_option(argv, "diff");
		}
	}
	if (argc - optind != 2) {
		err_msg("diff compares two files: pagescan diff A.json B.json");
		return EX_USAGE;
	}
	if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-")) {
		err_msg("only one of A and B can be stdin ('-')");
		return EX_USAGE;
	}
	ret = side_open(&a, argv[optind]);
	if (!ret)
		ret = side_open(&b, argv[optind + 1]);
	if (!ret)
		ret = compare(&a, &b, json, all);
	side_free(&a);
	side_free(&b);
	return ret;
}
