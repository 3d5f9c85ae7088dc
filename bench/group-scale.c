// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 11 item 5: how a full-range scan's cost grows, one dimension at a
 * time, native (pagescan_scan() against the raw ioctl loop) and emulated
 * (the emulation forced on a handle against the pread floor):
 *   mapped size   1 MiB to 1 TiB reserved, a row per decade, 16 pages
 *                 written evenly (populated pages and regions constant);
 *   populated     1 to all pages of 1 GiB written, as one block;
 *   regions       1 to 131,072 regions of 1 GiB, always half its pages;
 *   VMAs          1 to 100,000 VMAs of 16 KiB, one page written in each.
 * The emulated rows also give the peak RSS growth of the scans: the
 * emulation's memory must stay bounded, whatever the range.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

enum dim { D_SIZE, D_PAGES, D_REGIONS, D_VMAS };

static int setup(struct bench_run *run)
{
	const struct bench_row *row = run->row;
	enum pagescan_backend b = (enum pagescan_backend)row->arg[2];
	uint64_t v = row->arg[1], len, pages, i, size, stride;

	bench_backend(run, pagescan_backend_name(b));
	if (b == PAGESCAN_BACKEND_NATIVE && !bench_has(PAGESCAN_FEAT_SCAN))
		return bench_na(run, "no PAGEMAP_SCAN on this kernel");
	if (row->arg[0] == D_VMAS) {
		if (bench_layout_vmas(run, v, 1))
			return 1;
		return bench_open(run, b);
	}
	len = row->arg[0] == D_SIZE ? v : bench_scaled(GIB);
	pages = len / bench_cfg.psz;
	if (!bench_map(run, len, false, false))
		return bench_na(run, "mmap %s: %s", bench_size(len),
				strerror(errno));
	switch (row->arg[0]) {
	case D_SIZE:
		bench_touch(run, 0, pages < 16 ? 1 : pages / 16, 16);
		break;
	case D_PAGES:
		bench_touch(run, 0, 1, v);
		break;
	case D_REGIONS:
		stride = pages / v;
		size = pages / 2 / v;
		for (i = 0; i < v; i++)
			bench_touch(run, i * stride, 1, size);
		break;
	}
	return bench_open(run, b);
}

static void add(enum dim d, uint64_t v, const char *name, const char *unit,
		double units)
{
	int k;

	for (k = 0; k < 2; k++) {
		bool emu = k == 1;
		struct bench_row r = {
			.vs = emu ? "pread" : "raw ioctl", .unit = unit,
			.units = units, .reps = 3,
			.flags = emu ? BENCH_MEM : 0, .setup = setup,
			.floor = emu ? op_pread : op_raw_scan,
			.measure = op_lib_scan,
			.arg = { d, v, emu ? PAGESCAN_BACKEND_EMULATE :
				 PAGESCAN_BACKEND_NATIVE },
			.map_count = d == D_VMAS ? v + 1000 : 0,
		};

		snprintf(r.name, sizeof(r.name), "%s", name);
		bench_add(&r);
	}
}

static void rows(void)
{
	static const uint64_t sizes[] = {
		MIB, 10 * MIB, 100 * MIB, GIB, 10 * GIB, 100 * GIB, TIB,
	};
	static const uint64_t counts[] = {
		1, 10, 100, 1000, 10000, 100000,
	};
	uint64_t g1 = bench_scaled(GIB), pages = g1 / bench_cfg.psz;
	size_t i, nsizes = bench_cfg.quick ? 3 : ARRAY_LEN(sizes);
	size_t ncounts = bench_cfg.quick ? 4 : ARRAY_LEN(counts);
	char n[80];

	for (i = 0; i < nsizes; i++) {
		snprintf(n, sizeof(n), "size: %s reserved, 16 pages written",
			 bench_size(sizes[i]));
		add(D_SIZE, sizes[i], n, "MiB", (double)(sizes[i] / MIB));
	}
	for (i = 0; i <= ncounts; i++) {
		uint64_t v = i < ncounts && counts[i] < pages ? counts[i] :
			     pages;

		snprintf(n, sizeof(n), "populated: %llu pages of %s",
			 (unsigned long long)v, bench_size(g1));
		add(D_PAGES, v, n, "page", (double)v);
		if (v == pages)
			break;
	}
	for (i = 0; i <= ncounts; i++) {
		uint64_t v = i < ncounts && counts[i] < pages / 2 ? counts[i] :
			     pages / 2;

		snprintf(n, sizeof(n), "regions: %llu in %s, half written",
			 (unsigned long long)v, bench_size(g1));
		add(D_REGIONS, v, n, "region", (double)v);
		if (v == pages / 2)
			break;
	}
	for (i = 0; i < ncounts; i++) {
		snprintf(n, sizeof(n), "VMAs: %llu of 16 KiB, 1 page each",
			 (unsigned long long)counts[i]);
		add(D_VMAS, counts[i], n, "VMA", (double)counts[i]);
	}
}

const struct bench_group bench_group_scale = {
	.name = "scale",
	.doc = "issue 11 item 5: one dimension at a time; native rows: "
	       "pagescan_scan() vs the raw ioctl loop, emulated rows: the\n"
	       "emulation forced on a handle vs the pread floor (both as in "
	       "'emulate'); best of 3",
	.table = 2,
	.add_rows = rows,
};
