// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 11 item 1: the emulation against a careful reader of pagemap, on
 * the layouts the issue names.  The emulation is forced on a handle
 * (pagescan_open_opts.backend = EMULATE) and driven as the ioctl is
 * (pagescan_scan() looped, BENCH_VEC entries); the floor preads the same
 * range's entries and builds the same regions.  Where the layout is a
 * huge reservation that only the kernel's summary can cross in reasonable
 * time, the floor is that summary (one read of /proc/self/smaps).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

enum layout {
	L_DENSE,	/* every page written */
	L_EVERY_OTHER,	/* every other page: len / 2 pages regions */
	L_THP,		/* every page written, MADV_HUGEPAGE */
	L_SPARSE,	/* every 1024th page (0.1 %) */
	L_BLOCK,	/* arg[1] bytes written at the start */
	L_SHMEM,	/* shared anonymous, 1 page in 3 */
	L_VMAS,		/* arg[1] VMAs of 16 KiB, every page written */
	L_RESERVE,	/* arg[1] pages written, evenly spread */
};

/* THP: the layout must really be huge, or the row measures nothing. */
static uint64_t anon_huge_kib(uint64_t start, uint64_t end)
{
	char line[512];
	unsigned long long a, b, v, kib = 0;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= start && b <= end;
		else if (in && sscanf(line, "AnonHugePages: %llu kB", &v) == 1)
			kib += v;
	}
	fclose(f);
	return kib;
}

int bench_layout_vmas(struct bench_run *run, uint64_t n, uint64_t touch)
{
	uint64_t vma = 16 * KIB, i, pages = vma / bench_cfg.psz;

	if (!bench_map(run, n * vma, false, false))
		return bench_na(run, "mmap: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		bench_touch(run, i * pages, 1, touch);
		if (i & 1 && mprotect(run->p + i * vma, vma, PROT_READ))
			return bench_na(run, "mprotect VMA %llu: %s",
					(unsigned long long)i, strerror(errno));
	}
	return 0;
}

static int setup(struct bench_run *run)
{
	const struct bench_row *row = run->row;
	uint64_t len = row->arg[0], pages = len / bench_cfg.psz, kib;
	int ret;

	bench_backend(run, "emulate");
	if (row->arg[2] == L_VMAS)
		ret = bench_layout_vmas(run, row->arg[1],
					16 * KIB / bench_cfg.psz);
	else if (!bench_map(run, len, row->arg[2] == L_SHMEM,
			    row->arg[2] == L_THP))
		return bench_na(run, "mmap %s: %s", bench_size(len),
				strerror(errno));
	else
		ret = 0;
	if (ret)
		return ret;
	switch (row->arg[2]) {
	case L_DENSE:
	case L_THP:
		bench_touch(run, 0, 1, pages);
		break;
	case L_EVERY_OTHER:
		bench_touch(run, 0, 2, pages);
		break;
	case L_SPARSE:
		bench_touch(run, 0, 1024, pages);
		break;
	case L_BLOCK:
		bench_touch(run, 0, 1, row->arg[1] / bench_cfg.psz);
		break;
	case L_SHMEM:
		bench_touch(run, 0, 3, pages);
		break;
	case L_RESERVE:
		if (row->arg[1])
			bench_touch(run, 0, pages / row->arg[1], row->arg[1]);
		break;
	}
	if (row->arg[2] == L_THP) {
		kib = anon_huge_kib(run->start, run->end);
		if (kib * KIB < len / 2)
			return bench_na(run, "no THP here (AnonHugePages %llu "
					"kB of %s)", (unsigned long long)kib,
					bench_size(len));
	}
	return bench_open(run, PAGESCAN_BACKEND_EMULATE);
}

static void add(uint64_t len, uint64_t arg1, enum layout l, const char *name,
		int reps, double timeout)
{
	struct bench_row r = {
		.vs = l == L_RESERVE ? "smaps" : "pread",
		.target = "<= 1.3x", .reps = reps, .timeout = timeout,
		.flags = BENCH_MEM, .setup = setup,
		.floor = l == L_RESERVE ? op_smaps : op_pread,
		.measure = op_lib_scan,
		.arg = { len, arg1, l },
		.map_count = l == L_VMAS ? arg1 + 1000 : 0,
	};

	snprintf(r.name, sizeof(r.name), "%s", name);
	bench_add(&r);
}

static void rows(void)
{
	uint64_t g1 = bench_scaled(GIB), g64 = bench_scaled(64 * GIB);
	uint64_t t16 = bench_scaled(16 * TIB), sh = bench_scaled(256 * MIB);
	uint64_t nv = bench_cfg.quick ? 200 : 20000;
	char n[80];

	snprintf(n, sizeof(n), "%s anon, every page written", bench_size(g1));
	add(g1, 0, L_DENSE, n, 0, 0);
	snprintf(n, sizeof(n), "%s, every other page (%llu regions)",
		 bench_size(g1), (unsigned long long)(g1 / bench_cfg.psz / 2));
	add(g1, 0, L_EVERY_OTHER, n, 0, 0);
	snprintf(n, sizeof(n), "%s THP, every page written",
		 bench_size(bench_cfg.quick ? 32 * MIB : GIB));
	add(bench_cfg.quick ? 32 * MIB : GIB, 0, L_THP, n, 0, 0);
	snprintf(n, sizeof(n), "%s reserved, 0.1 %% of pages written",
		 bench_size(g64));
	add(g64, 0, L_SPARSE, n, 0, 0);
	snprintf(n, sizeof(n), "%s reserved, %s written", bench_size(g64),
		 bench_size(bench_cfg.quick ? 64 * KIB : 4 * MIB));
	add(g64, bench_cfg.quick ? 64 * KIB : 4 * MIB, L_BLOCK, n, 0, 0);
	snprintf(n, sizeof(n), "%s shmem, 1 in 3 pages written",
		 bench_size(sh));
	add(sh, 0, L_SHMEM, n, 0, 0);
	snprintf(n, sizeof(n), "%llu VMAs of 16 KiB, every page written",
		 (unsigned long long)nv);
	add(nv * 16 * KIB, nv, L_VMAS, n, 0, 0);
	/*
	 * An ASan-like shadow: a reservation far larger than anything read
	 * entry by entry in reasonable time (a pread of 16 TiB of pagemap
	 * takes ~10 s on the 6.18 host).  Cut after 20 s, best of 3.
	 */
	snprintf(n, sizeof(n), "%s reserved, nothing written",
		 bench_size(t16));
	add(t16, 0, L_RESERVE, n, 3, 20);
	snprintf(n, sizeof(n), "%s reserved, 16 pages written",
		 bench_size(t16));
	add(t16, 16, L_RESERVE, n, 3, 20);
}

const struct bench_group bench_group_emulate = {
	.name = "emulate",
	.doc = "issue 11 item 1: the emulation forced on a handle "
	       "(backend EMULATE), pagescan_scan() looped on a 4096-entry "
	       "vec,\n"
	       "anyof PRESENT|SWAPPED, return PRESENT|SWAPPED|FILE; floor "
	       "'pread': the range's /proc/self/pagemap entries read in\n"
	       "256 KiB chunks, same regions built; floor 'smaps': one read "
	       "of /proc/self/smaps (the kernel's own Rss/Swap summary;\n"
	       "its rows are cut after 20 s)",
	.table = 1,
	.add_rows = rows,
};
