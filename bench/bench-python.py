#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The Python binding's cost next to the C iterator's (issue 13: a million
regions into a numpy array within 2x of the C iterator).

The layout: REGIONS pages read one in two (shared zero pages, so a million
regions cost page tables, not 4 GiB), in an anonymous mapping with THP off.

  bench/bench-python.py [--regions N] [--reps N]
      standalone: prints each call's best time and its ratio against the C
      iterator (pagescan_iter_next() into a reused 4096-entry buffer, the
      loop of bench/common.c's op_lib_iter) timed in this same process.

  bench/bench-python.py --serve N
      the "python" rows of pagescan-bench (bench/group-python.c): builds
      the layout, prints "ready PID START END", then answers each line
      "array" or "tuples" with "SECONDS PAGES" for one call, timed here; the
      harness times the C iterator over the same range itself.

PAGESCAN_LIB names the library (the harness passes its build tree's).
"""

import argparse
import ctypes
import mmap
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import numpy as np  # noqa: E402

import pagescan  # noqa: E402
from pagescan import _lib  # noqa: E402

PS = pagescan.PAGE_SIZE
# The masks of every scan row of the harness (bench.h: BENCH_SCAN_*).
ANY = "present,swapped"
SHOW = "present,swapped,file"


def layout(regions: int):
    m = mmap.mmap(-1, 2 * regions * PS, flags=mmap.MAP_PRIVATE |
                  mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0x4000))
    m.madvise(mmap.MADV_NOHUGEPAGE)
    a = np.frombuffer(m, dtype=np.uint8)
    assert int(a[::2 * PS].sum()) == 0      # read faults: the zero page
    del a
    pin = ctypes.c_char.from_buffer(m)
    start = ctypes.addressof(pin)
    del pin
    return m, start, start + 2 * regions * PS


def run_array(h, start, end):
    t = time.perf_counter()
    a = h.regions_array(start, end, any=ANY, show=SHOW)
    t = time.perf_counter() - t
    return t, int(((a["end"] - a["start"]) // np.uint64(PS)).sum()), len(a)


def run_tuples(h, start, end):
    t = time.perf_counter()
    pages = n = 0
    for r in h.regions(start, end, any=ANY, show=SHOW):
        pages += (r.end - r.start) // PS
        n += 1
    return time.perf_counter() - t, pages, n


def run_c_iterator(h, start, end):
    """pagescan_iter_next() into one reused buffer: the C iterator's own
    time (one ctypes call per 4096 regions)."""
    o = h._scan_opts(None, ANY, SHOW, None, 0)
    vec = (_lib.Region * 4096)()
    it = ctypes.c_void_p()
    ptr = h._res.acquire()
    try:
        t = time.perf_counter()
        _lib.check(_lib.lib.pagescan_iter_new(ptr, start, end, o,
                                              ctypes.byref(it)))
        n = 0
        while True:
            k = _lib.lib.pagescan_iter_next(it, ctypes.addressof(vec), 4096)
            if k <= 0:
                break
            n += k
        t = time.perf_counter() - t
        pages = _lib.lib.pagescan_iter_pages(it)
        _lib.lib.pagescan_iter_free(it)
    finally:
        h._res.release()
    return t, pages, n


def serve(regions: int) -> int:
    m, start, end = layout(regions)
    h = pagescan.open()
    print("ready %d %d %d" % (os.getpid(), start, end), flush=True)
    calls = {"array": run_array, "tuples": run_tuples}
    for line in sys.stdin:
        fn = calls.get(line.strip())
        if fn is None:
            print("error unknown request %r" % line.strip(), flush=True)
            continue
        secs, pages, _ = fn(h, start, end)
        print("%.9f %d" % (secs, pages), flush=True)
    h.close()
    m.close()
    return 0


def standalone(regions: int, reps: int) -> int:
    m, start, end = layout(regions)
    with pagescan.open() as h:
        best = {}
        for _ in range(reps):
            for name, fn in (("C iterator", run_c_iterator),
                             ("regions_array", run_array),
                             ("regions (tuples)", run_tuples)):
                t, pages, n = fn(h, start, end)
                if name not in best or t < best[name][0]:
                    best[name] = (t, pages, n)
        floor = best["C iterator"][0]
        print("kernel %s, backend %s, %d regions, best of %d"
              % (os.uname().release, h.backend, regions, reps))
        for name, (t, pages, n) in best.items():
            ok = "" if pages == best["C iterator"][1] else "  DIFF"
            print("%-18s %9.3f ms %8d regions %8d pages  %5.2fx%s"
                  % (name, t * 1e3, n, pages, t / floor, ok))
    m.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regions", type=int, default=1 << 20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--serve", type=int, metavar="N")
    a = ap.parse_args()
    if a.serve:
        return serve(a.serve)
    return standalone(a.regions, a.reps)


if __name__ == "__main__":
    sys.exit(main())
