/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The groups of rows of pagescan-bench, in the order they run and print.
 * Adding a group: a file bench/group-NAME.c that defines
 *	const struct bench_group bench_group_NAME = { ... };
 * and one line here (see bench/README).  Table 1 holds the ratios against
 * the issues' targets, table 2 how cost grows (scale).
 */
BENCH_GROUP(emulate)
BENCH_GROUP(native)
BENCH_GROUP(cli)
BENCH_GROUP(watch)
BENCH_GROUP(python)
BENCH_GROUP(snapshot)
BENCH_GROUP(scale)
