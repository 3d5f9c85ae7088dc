// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The harness's output: one table (TABLE 1 the ratios, TABLE 2 scale),
 * and the same rows as JSON lines (--json) or tab-separated (--tsv) for the
 * VM lane and for doc/performance.md.  The verdict compares the ratio with
 * the row's target and nothing else: a figure never fails anything.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

struct report report;

static const char *const status_name[] = {
	"ok", "n/a", "error", "timeout", "crash",
};

/* A time in ms with 4 significant digits, never in exponent form. */
static const char *fmt_ms(char *buf, size_t len, double sec)
{
	double ms = sec * 1e3;

	if (ms >= 1000)
		snprintf(buf, len, "%.0f", ms);
	else if (ms >= 0.001)
		snprintf(buf, len, "%.4g", ms);
	else
		snprintf(buf, len, "%.6f", ms);
	return buf;
}

/* A cost per unit: "812 ns", "68.7 us", "1.09 ms". */
static const char *fmt_cost(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.3g ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.3g us", ns / 1e3);
	else
		snprintf(buf, len, "%.3g ms", ns / 1e6);
	return buf;
}

static double parse_limit(const char *target)
{
	const char *p = target;

	while (p && *p && (*p < '0' || *p > '9'))
		p++;
	return p && *p ? strtod(p, NULL) : 0;
}

struct cells {
	char floor[24], measured[24], ratio[24];
	const char *verdict;
	double ratio_v;		/* NAN when none */
	double per_unit_ns;	/* NAN when none */
};

static void make_cells(const struct bench_row *row, const struct result *res,
		       struct cells *c)
{
	double limit = parse_limit(row->target);

	c->ratio_v = NAN;
	c->per_unit_ns = NAN;
	snprintf(c->floor, sizeof(c->floor), "%s", !row->floor ? "-" :
		 res->nf ? "" : res->status == ST_TIMEOUT ? "timeout" :
		 res->status == ST_NA ? "n/a" : "-");
	if (res->nf)
		fmt_ms(c->floor, sizeof(c->floor), res->floor);
	snprintf(c->measured, sizeof(c->measured), "%s",
		 res->status == ST_NA ? "n/a" :
		 res->status == ST_TIMEOUT ? "timeout" :
		 res->status == ST_CRASH ? "crash" : "error");
	if (res->nm)
		fmt_ms(c->measured, sizeof(c->measured), res->measured);
	snprintf(c->ratio, sizeof(c->ratio), "-");
	if (res->nf && res->nm && res->floor > 0) {
		c->ratio_v = res->measured / res->floor;
		snprintf(c->ratio, sizeof(c->ratio),
			 c->ratio_v < 100 ? "%.2fx" : "%.0fx", c->ratio_v);
	} else if (res->nf && res->status == ST_TIMEOUT &&
		   res->running == 'M' && res->floor > 0) {
		/* At least this much: the measurement was cut. */
		snprintf(c->ratio, sizeof(c->ratio), ">%.0fx",
			 res->timeout_after / res->floor);
	}
	if (res->nm && row->units > 0)
		c->per_unit_ns = res->measured * 1e9 / row->units;
	c->verdict = "-";
	if (res->diff)
		c->verdict = "DIFF";
	else if (limit > 0 && !isnan(c->ratio_v))
		c->verdict = c->ratio_v <= limit ? "OK" : "OVER";
	else if (limit > 0 && !res->nm &&
		 (res->status == ST_TIMEOUT || res->status == ST_CRASH ||
		  res->status == ST_ERROR))
		c->verdict = "OVER";
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (isnan(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void json_row(const struct bench_row *row,
		     const struct bench_group *g, const struct result *res,
		     const struct cells *c)
{
	FILE *f = report.json;

	fprintf(f, "{\"type\":\"row\",\"table\":%d,\"group\":", g->table);
	json_str(f, g->name);
	fputs(",\"row\":", f);
	json_str(f, row->name);
	fputs(",\"kernel\":", f);
	json_str(f, bench_cfg.kernel);
	fputs(",\"backend\":", f);
	json_str(f, res->backend[0] ? res->backend : "-");
	fputs(",\"vs\":", f);
	json_str(f, row->floor ? row->vs : "-");
	json_num(f, "floor_ms", res->nf ? res->floor * 1e3 : NAN);
	json_num(f, "measured_ms", res->nm ? res->measured * 1e3 : NAN);
	json_num(f, "ratio", c->ratio_v);
	fputs(",\"target\":", f);
	if (row->target)
		json_str(f, row->target);
	else
		fputs("null", f);
	fputs(",\"verdict\":", f);
	json_str(f, c->verdict);
	fputs(",\"status\":", f);
	json_str(f, status_name[res->status]);
	fprintf(f, ",\"floor_reps\":%d,\"measured_reps\":%d", res->nf, res->nm);
	json_num(f, "pages_floor", res->check_f == BENCH_NOCHECK ? NAN :
		 (double)res->check_f);
	json_num(f, "pages_measured", res->check_m == BENCH_NOCHECK ? NAN :
		 (double)res->check_m);
	json_num(f, "mem_kib", res->mem_kib < 0 ? NAN : (double)res->mem_kib);
	fputs(",\"unit\":", f);
	if (row->unit)
		json_str(f, row->unit);
	else
		fputs("null", f);
	json_num(f, "units", row->units > 0 ? row->units : NAN);
	json_num(f, "ns_per_unit", c->per_unit_ns);
	fputs(",\"note\":", f);
	json_str(f, res->note);
	fputs("}\n", f);
	fflush(f);
}

static void tsv_row(const struct bench_row *row, const struct bench_group *g,
		    const struct result *res, const struct cells *c)
{
	char unit[48] = "-", cost[24];

	if (!isnan(c->per_unit_ns))
		snprintf(unit, sizeof(unit), "%s/%s",
			 fmt_cost(cost, sizeof(cost), c->per_unit_ns),
			 row->unit);
	fprintf(report.tsv, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t"
		"%d\t%d\t%ld\t%s\t%s\n", g->table, g->name, row->name,
		bench_cfg.kernel, res->backend[0] ? res->backend : "-",
		row->floor ? row->vs : "-", c->floor, c->measured, c->ratio,
		row->target ? row->target : "-", c->verdict,
		status_name[res->status], res->nf, res->nm, res->mem_kib, unit,
		res->note[0] ? res->note : "-");
	fflush(report.tsv);
}

static int kernel_w;
#define ROW_FMT "%-44s %-*s %-10s %-11s %9s %9s %3s %7s %-8s %-7s %s\n"

static void table_header(int table)
{
	fprintf(report.table, "\n%s\n", table == 1 ?
		"TABLE 1: ratios against the issues' targets (ms, best of n; "
		"ratio = measured / floor)" :
		"TABLE 2: scale: how cost grows (ms, best of n; ratio = "
		"measured / floor; the note gives the cost per unit)");
	fprintf(report.table, ROW_FMT, "row", kernel_w, "kernel", "backend",
		"vs", "floor", "measured", "n", "ratio", "target", "verdict",
		"note");
}

static void print_row(const struct bench_row *row, const struct result *res,
		      const struct cells *c)
{
	char note[480], cost[24], n[12];

	snprintf(note, sizeof(note), "%s", res->note);
	if (!isnan(c->per_unit_ns)) {
		size_t l = strlen(note);

		snprintf(note + l, sizeof(note) - l, "%s%s/%s", l ? "; " : "",
			 fmt_cost(cost, sizeof(cost), c->per_unit_ns),
			 row->unit);
	}
	if (row->flags & BENCH_OVERHEAD && res->nf && res->nm) {
		size_t l = strlen(note);
		double d = (res->measured - res->floor) * 1e9;

		snprintf(note + l, sizeof(note) - l, "%s%s%s per call",
			 l ? "; " : "", d < 0 ? "-" : "+",
			 fmt_cost(cost, sizeof(cost), d < 0 ? -d : d));
	}
	if (res->mem_kib >= 0) {
		size_t l = strlen(note);

		snprintf(note + l, sizeof(note) - l, "%speak +%ld KiB",
			 l ? "; " : "", res->mem_kib);
	}
	snprintf(n, sizeof(n), "%d", res->nm);
	fprintf(report.table, ROW_FMT, row->name, kernel_w, bench_cfg.kernel,
		res->backend[0] ? res->backend : "-",
		row->floor ? row->vs : "-", c->floor, c->measured,
		res->nm ? n : "-", c->ratio,
		row->target ? row->target : "-", c->verdict, note);
	fflush(report.table);
}

static void print_group_doc(const struct bench_group *g)
{
	const char *s = g->doc;

	fprintf(report.table, "-- %s\n", g->name);
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		int len = nl ? (int)(nl - s) : (int)strlen(s);

		fprintf(report.table, "   # %.*s\n", len, s);
		s += len + (nl ? 1 : 0);
	}
}

static const char *thp_mode(void)
{
	static char mode[32] = "?";
	char buf[128], *a, *b;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (f && fgets(buf, sizeof(buf), f) && (a = strchr(buf, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = 0;
		snprintf(mode, sizeof(mode), "%s", a + 1);
	}
	if (f)
		fclose(f);
	return mode;
}

/* The 1-minute load average: other work on the machine skews figures. */
static double loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

void report_meta(int argc, char **argv)
{
	struct utsname u;
	char date[32];
	time_t now = time(NULL);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(report.table, "# pagescan-bench: libpagescan %d.%d%s%s, %s\n",
		pagescan_version_major(), pagescan_version_minor(),
		*report.commit ? " commit " : "", report.commit, date);
	fprintf(report.table, "# kernel %s %s, %ld CPUs, page %llu bytes, "
		"uid %d, THP %s, PAGEMAP_SCAN %s, load %.2f at the start\n",
		u.release, u.machine, cpus, (unsigned long long)bench_cfg.psz,
		(int)getuid(), thp_mode(),
		bench_has(PAGESCAN_FEAT_SCAN) ? "yes" : "no", loadavg());
	fprintf(report.table, "# best of %d%s unless a row says (column n; "
		"floor and measurement interleaved, the order flipped each "
		"repetition); a row is cut after %.0f s%s\n",
		bench_cfg.quick && bench_cfg.reps > 2 ? 2 : bench_cfg.reps,
		bench_cfg.quick ? ", QUICK mode: small layouts" : "",
		bench_cfg.timeout * bench_cfg.slow,
		bench_cfg.slow != 1 ? " (time caps scaled for a slow machine)" :
		"");
	fprintf(report.table, "# verdict: OK/OVER against the target; DIFF: "
		"the two answers differ (the ratio means nothing); '-': no "
		"target\n");
	if (report.json) {
		fprintf(report.json, "{\"type\":\"meta\",\"version\":\"%d.%d\","
			"\"commit\":", pagescan_version_major(),
			pagescan_version_minor());
		json_str(report.json, report.commit);
		fputs(",\"date\":", report.json);
		json_str(report.json, date);
		fputs(",\"kernel\":", report.json);
		json_str(report.json, u.release);
		fputs(",\"machine\":", report.json);
		json_str(report.json, u.machine);
		fprintf(report.json, ",\"cpus\":%ld,\"page_size\":%llu,"
			"\"uid\":%d,\"thp\":", cpus,
			(unsigned long long)bench_cfg.psz, (int)getuid());
		json_str(report.json, thp_mode());
		json_num(report.json, "load", loadavg());
		fprintf(report.json, ",\"pagemap_scan\":%s,\"reps\":%d,"
			"\"quick\":%s,\"row_timeout_s\":%g,\"argv\":[",
			bench_has(PAGESCAN_FEAT_SCAN) ? "true" : "false",
			bench_cfg.reps, bench_cfg.quick ? "true" : "false",
			bench_cfg.timeout * bench_cfg.slow);
		for (i = 0; i < argc; i++) {
			if (i)
				fputc(',', report.json);
			json_str(report.json, argv[i]);
		}
		fputs("]}\n", report.json);
	}
	if (report.tsv)
		fprintf(report.tsv, "# kernel %s\n#table\tgroup\trow\tkernel\t"
			"backend\tvs\tfloor_ms\tmeasured_ms\tratio\ttarget\t"
			"verdict\tstatus\tfloor_reps\tmeasured_reps\tmem_kib\t"
			"per_unit\tnote\n", u.release);
}


void report_row(const struct bench_row *row, const struct bench_group *g,
		const struct result *res)
{
	static const struct bench_group *last_group;
	static int last_table;
	struct cells c;

	if (!kernel_w) {
		kernel_w = (int)strlen(bench_cfg.kernel);
		kernel_w = kernel_w < 6 ? 6 : kernel_w;
	}
	if (g->table != last_table) {
		table_header(g->table);
		last_table = g->table;
	}
	if (g != last_group) {
		print_group_doc(g);
		last_group = g;
	}
	make_cells(row, res, &c);
	print_row(row, res, &c);
	if (report.json)
		json_row(row, g, res, &c);
	if (report.tsv)
		tsv_row(row, g, res, &c);
}
