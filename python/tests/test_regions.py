# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Handle.regions() and regions_array() against the kernel's pagemap and
smaps and against the C command's answer."""

import json
import mmap
import os
import tempfile
import threading

import numpy as np
import pytest

import pagescan
from pagescan import Category
from conftest import (PM_FILE, PM_PRESENT, PS, address, anon, pagemap,
                      read_page, smaps_entry, write_page)

WRITTEN = (0, 1, 2, 3, 10, 30, 31)
ZERO = (20,)


@pytest.fixture
def layout():
    """64 pages: 0-3, 10 and 30-31 written, 20 read (the zero page), the
    rest never touched."""
    m = anon(64)
    for i in WRITTEN:
        write_page(m, i)
    for i in ZERO:
        assert read_page(m, i) == 0
    yield m, address(m)
    m.close()


def spans(pages):
    """[(first, end)] runs of consecutive page numbers."""
    out = []
    for p in sorted(pages):
        if out and out[-1][1] == p:
            out[-1][1] = p + 1
        else:
            out.append([p, p + 1])
    return [tuple(s) for s in out]


def test_layout_matches_pagemap(layout):
    m, base = layout
    pm = pagemap(base, 64)
    kernel_present = {i for i, e in enumerate(pm) if e & PM_PRESENT}
    assert kernel_present == set(WRITTEN) | set(ZERO)
    with pagescan.open() as h:
        a = h.regions_array(base, base + 64 * PS, require="present",
                            show="present")
    got = [((int(r["start"]) - base) // PS, (int(r["end"]) - base) // PS)
           for r in a]
    assert got == spans(kernel_present)
    assert set(np.unique(a["categories"])) == {Category.PRESENT.value}


def test_zero_page_and_rss(layout):
    m, base = layout
    with pagescan.open() as h:
        rs = list(h.regions(base, base + 64 * PS, require="present",
                            show=Category.PRESENT | Category.PFNZERO))
    zero = [((r.start - base) // PS, (r.end - base) // PS) for r in rs
            if Category.PFNZERO in r.categories]
    assert zero == spans(ZERO)
    # smaps' Rss counts the pages the process has of its own: not the
    # shared zero page.
    own = sum(r.pages for r in rs if Category.PFNZERO not in r.categories)
    assert own * PS // 1024 == smaps_entry(base)["Rss"]


def test_generator_equals_array(layout):
    m, base = layout
    with pagescan.open() as h:
        for kw in ({}, {"require": "present"}, {"show": 0},
                   {"require": "!present"}, {"any": ["pfnzero", "file"]}):
            a = h.regions_array(base, base + 64 * PS, **kw)
            g = list(h.regions(base, base + 64 * PS, **kw))
            assert [(int(r["start"]), int(r["end"]), int(r["categories"]))
                    for r in a] == [(r.start, r.end, r.categories.value)
                                    for r in g], kw
            assert all(isinstance(r.categories, Category) for r in g)


def test_masks(layout):
    m, base = layout
    end = base + 64 * PS
    with pagescan.open() as h:
        # Without require/any every page of the mapping matches: the
        # whole range, split where the shown categories change.
        every = h.regions_array(base, end)
        assert int(every["start"][0]) == base
        assert int(every["end"][-1]) == end
        assert np.all(every["end"][:-1] == every["start"][1:])
        # show=0: nothing to tell pages apart, so they all merge.
        one = h.regions_array(base, end, show=0)
        assert [(int(r["start"]), int(r["end"])) for r in one] == \
            [(base, end)]
        absent = h.regions_array(base, end, require="!present",
                                 show="present")
        pages = set()
        for r in absent:
            pages.update(range((int(r["start"]) - base) // PS,
                               (int(r["end"]) - base) // PS))
        assert pages == set(range(64)) - set(WRITTEN) - set(ZERO)
        z = h.regions_array(base, end, any=["pfnzero", "swapped"],
                            show="pfnzero")
        assert [((int(r["start"]) - base) // PS,
                 (int(r["end"]) - base) // PS) for r in z] == spans(ZERO)


def test_max_pages(layout):
    m, base = layout
    with pagescan.open() as h:
        a = h.regions_array(base, base + 64 * PS, require="present",
                            show="present", max_pages=3)
        assert [(int(r["start"]) - base, int(r["end"]) - base)
                for r in a] == [(0, 3 * PS)]
        it = h.regions(base, base + 64 * PS, require="present",
                       show="present", max_pages=6)
        got = list(it)
        assert sum(r.pages for r in got) == 6
        assert it.pages == 6
        # pos: where a new iteration resumes, with nothing lost between.
        assert it.pos >= got[-1].end
        rest = list(h.regions(it.pos, base + 64 * PS, require="present",
                              show="present"))
        assert [((r.start - base) // PS, (r.end - base) // PS)
                for r in rest] == [(30, 32)]


def test_file_pages_match_pagemap():
    with tempfile.TemporaryFile() as f:
        f.write(b"x" * (16 * PS))
        f.flush()
        m = mmap.mmap(f.fileno(), 16 * PS, flags=mmap.MAP_SHARED)
        try:
            for i in range(0, 16, 3):
                read_page(m, i)
            base = address(m)
            pm = pagemap(base, 16)
            with pagescan.open() as h:
                a = h.regions_array(base, base + 16 * PS, require="file",
                                    show="file,present")
            got = set()
            for r in a:
                assert int(r["categories"]) & Category.FILE.value
                got.update(range((int(r["start"]) - base) // PS,
                                 (int(r["end"]) - base) // PS))
            # Fault-around may map more than was read: the kernel says.
            assert got == {i for i, e in enumerate(pm)
                           if e & PM_PRESENT and e & PM_FILE}
            assert {0, 3, 6, 9, 12, 15} <= got
        finally:
            m.close()


def test_same_as_the_c_command(layout, cli):
    m, base = layout
    end = base + 64 * PS
    # The command shows written only in memory uffd-wp tracks (issue 10):
    # ask it for what regions_array() shows by default.
    show = str(pagescan.available_categories())
    r = cli("regions", os.getpid(), "--range", "%x-%x" % (base, end),
            "--require", "present", "--show", show, "--json")
    c = [(int(x["start"], 16), int(x["end"], 16),
          Category.parse(x["categories"]).value)
         for x in json.loads(r.stdout)["regions"]]
    with pagescan.open() as h:
        a = h.regions_array(base, end, require="present")
    assert [(int(x["start"]), int(x["end"]), int(x["categories"]))
            for x in a] == c


def test_another_process(stopped_child):
    p, out = stopped_child(
        "m = mmap.mmap(-1, 32 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE"
        " | mmap.MAP_ANONYMOUS)\n"
        "m.madvise(mmap.MADV_NOHUGEPAGE)\n"
        "for i in (1, 2, 7, 8, 9, 31): m[i * mmap.PAGESIZE] = 1\n"
        "import ctypes\n"
        "sys.stdout.write('%d\\n' % ctypes.addressof("
        "ctypes.c_char.from_buffer(m)))\n")
    base = int(out[0])
    with pagescan.open(p.pid) as h:
        assert h.pid == p.pid
        a = h.regions_array(base, base + 32 * PS, require="present",
                            show="present")
    pm = pagemap(base, 32, pid=str(p.pid))
    assert [((int(r["start"]) - base) // PS, (int(r["end"]) - base) // PS)
            for r in a] == spans(i for i, e in enumerate(pm)
                                 if e & PM_PRESENT)
    assert len(a) == 3


def test_default_range_covers_every_mapping():
    with pagescan.open() as h:
        maps = [m for m in h.mappings() if m.start < 1 << 63]
        a = h.regions_array(require="present", show="present")
    assert int(a["start"][0]) >= maps[0].start
    assert int(a["end"][-1]) <= maps[-1].end
    stack = [m for m in maps if m.name == "[stack]"][0]
    # The stack is in use: the default range reaches it.
    assert np.any((a["start"] < stack.end) & (a["end"] > stack.start))


def proc_maps() -> dict:
    out = {}
    with open("/proc/self/maps") as f:
        for ln in f.read().splitlines():
            f = ln.split(None, 5)
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            out[lo] = (hi, f[1], int(f[2], 16), f[3], int(f[4]),
                       f[5] if len(f) > 5 else "")
    return out


def test_mappings_match_proc_maps():
    before = proc_maps()
    with pagescan.open() as h:
        ours = {m.start: (m.end, m.perms, m.offset, m.dev, m.inode, m.name)
                for m in h.mappings()}
    after = proc_maps()
    # What did not change around the call must be there, exactly; the
    # rest is the allocator at work meanwhile (ASan's grows all the time).
    stable = {k: v for k, v in before.items() if after.get(k) == v}
    assert len(stable) > 10
    for k, v in stable.items():
        assert ours.get(k) == v, hex(k)


def test_big_sparse_space_in_bulk():
    """64 GiB reserved, a page touched every 64 MiB: cheap, and exact."""
    size = 64 << 30
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                  getattr(mmap, "MAP_NORESERVE", 0x4000))
    try:
        step = 64 << 20
        for off in range(0, size, step):
            m[off] = 1
        base = address(m)
        with pagescan.open() as h:
            a = h.regions_array(base, base + size, require="present",
                                show="present")
        assert len(a) == size // step
        assert np.array_equal(a["start"] - np.uint64(base),
                              np.arange(0, size, step, dtype=np.uint64))
        assert np.all(a["end"] - a["start"] == PS)
    finally:
        m.close()


def test_many_regions_grow_the_array():
    """More regions than the first buffer holds (4096) and than one
    doubling: every one of them, in order."""
    n = 20000
    m = anon(2 * n)
    try:
        arr = np.frombuffer(m, dtype=np.uint8)
        arr[::2 * PS] = 1
        base = address(m)
        del arr
        with pagescan.open() as h:
            a = h.regions_array(base, base + 2 * n * PS, require="present",
                                show="present")
        assert a.dtype == pagescan.region_dtype()
        assert a.flags.writeable and a.flags.c_contiguous
        assert np.array_equal(a["start"] - np.uint64(base),
                              np.arange(n, dtype=np.uint64) * 2 * PS)
    finally:
        m.close()


def test_emulation_gives_the_same_answer(layout):
    m, base = layout
    end = base + 64 * PS
    show = Category.PRESENT | Category.FILE | Category.SWAPPED
    if os.geteuid() == 0:
        # The emulation tells the zero page by its PFN: root only.
        show |= Category.PFNZERO
    with pagescan.open(backend="emulate") as e:
        assert e.backend == "emulate"
        emu = e.regions_array(base, end, require="present", show=show)
    with pagescan.open(backend="native") as n:
        assert n.backend == "native"
        nat = n.regions_array(base, end, require="present", show=show)
    assert np.array_equal(emu, nat)


def test_lane_backend():
    want = os.environ.get("PAGESCAN_BACKEND")
    with pagescan.open() as h:
        if want == "emulate":
            assert h.backend == "emulate"
        elif pagescan.features()["scan"].present:
            assert h.backend == "native"


def test_close_while_another_thread_iterates(layout):
    m, base = layout
    h = pagescan.open()
    it = h.regions(base, base + 64 * PS)
    first = next(it)
    h.close()           # the iterator keeps the C handle until it ends
    rest = list(it)
    assert first.start == base and rest[-1].end == base + 64 * PS
    with pytest.raises(ValueError):
        h.regions_array(base, base + PS)
    h.close()           # idempotent

    h = pagescan.open()
    errors = []

    def scan():
        try:
            for _ in range(50):
                h.regions_array(base, base + 64 * PS)
        except ValueError:
            pass        # closed under us: refused, never a crash
        except BaseException as e:
            errors.append(e)
    ts = [threading.Thread(target=scan) for _ in range(4)]
    for t in ts:
        t.start()
    h.close()
    for t in ts:
        t.join()
    assert not errors


def test_iterator_is_freed(layout):
    m, base = layout
    with pagescan.open() as h:
        fds = len(os.listdir("/proc/self/fd"))
        for _ in range(200):
            it = h.regions(base, base + 64 * PS)
            next(it)
            del it      # abandoned half-way
        assert len(os.listdir("/proc/self/fd")) == fds
