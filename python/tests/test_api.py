# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The binding against the header (struct layouts, constants, compiled
with the C compiler) and the feature table against the kernel."""

import ctypes
import errno
import fcntl
import os
import shutil
import struct
import subprocess
import sys

import pytest

import pagescan
from pagescan import Category, _lib, _summary
from conftest import REPO

STRUCTS = {
    "pagescan_region": (_lib.Region, ["start", "end", "categories"]),
    "pagescan_open_opts": (_lib.OpenOpts, ["sz", "tid", "backend"]),
    "pagescan_scan_opts": (_lib.ScanOpts, [
        "sz", "flags", "max_pages", "category_inverted", "category_mask",
        "category_anyof_mask", "return_mask", "walk_end"]),
    "pagescan_vma": (_lib.Vma, [
        "start", "end", "offset", "inode", "page_size", "thp_bytes",
        "flags", "dev_major", "dev_minor", "name"]),
    "pagescan_feature_info": (_lib.FeatureInfo, [
        "sz", "name", "desc", "present", "support", "reason"]),
    "pagescan_watch_opts": (_lib.WatchOpts, ["sz", "backend", "flags"]),
    "pagescan_watch_get_opts": (_lib.WatchGetOpts, [
        "sz", "flags", "next", "pages"]),
    "pagescan_mapping": (_summary.MappingRecord, [
        "sz", "start", "end", "offset", "inode", "flags", "dev_major",
        "dev_minor", "reserved", "name", "bytes"]),
    "pagescan_summary_opts": (_summary.SummaryOpts, ["sz", "flags"]),
    "pagescan_summary": (_summary.SummaryTotals, [
        "sz", "unavailable", "approximate", "mappings", "size", "total",
        "unattributed"]),
}
CONSTANTS = ["PAGESCAN_CAT_%s" % c.name for c in Category] + [
    "PAGESCAN_CAT_COUNT", "PAGESCAN_WP_MATCHING", "PAGESCAN_CHECK_WPASYNC",
    "PAGESCAN_VMA_READ", "PAGESCAN_VMA_WRITE", "PAGESCAN_VMA_EXEC",
    "PAGESCAN_VMA_SHARED", "PAGESCAN_VMAS_SMAPS", "PAGESCAN_WATCH_VERIFY",
    "PAGESCAN_WATCH_RESET", "PAGESCAN_FEAT_SOFT_DIRTY",
    "PAGESCAN_FEAT_CAT_WPALLOWED", "PAGESCAN_BACKEND_EMULATE",
    "PAGESCAN_WATCH_MPROTECT", "PAGESCAN_SUPPORT_NAMES_END",
    "PAGESCAN_STAT__COUNT", "PAGESCAN_STAT_SLOTS", "PAGESCAN_VMA_SHMEM",
    "PAGESCAN_VMA_WPALLOWED", "PAGESCAN_VMA_HUGETLB"] + [
    "PAGESCAN_STAT_%s" % n.upper() for n in _summary.STATS]


def header_layout(tmp_path):
    """sizeof/offsetof and constants as the C compiler sees the header."""
    inc = REPO / "include"
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    assert (inc / "pagescan.h").exists() and cc, "needs the header and cc"
    lines = ['#include <stdio.h>', '#include <stddef.h>',
             '#include <pagescan.h>',
             '#define PAGESCAN_SUPPORT_NAMES_END (PAGESCAN_EMULATED + 1)',
             'int main(void) {']
    for s, (_, fields) in STRUCTS.items():
        lines.append('printf("%s sizeof %%zu\\n", sizeof(struct %s));'
                     % (s, s))
        for f in fields:
            lines.append('printf("%s %s %%zu\\n", offsetof(struct %s, %s));'
                         % (s, f, s, f))
    for c in CONSTANTS:
        lines.append('printf("%s %%llu\\n", (unsigned long long)(%s));'
                     % (c, c))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", str(inc), "-o", str(exe), str(src)],
                   check=True)
    out = {}
    for ln in subprocess.run([str(exe)], capture_output=True, text=True,
                             check=True).stdout.splitlines():
        *k, v = ln.split()
        out[" ".join(k)] = int(v)
    return out


def test_structs_and_constants_match_the_header(tmp_path):
    c = header_layout(tmp_path)
    for s, (cls, fields) in STRUCTS.items():
        assert ctypes.sizeof(cls) == c["%s sizeof" % s], s
        for f in fields:
            assert getattr(cls, f).offset == c["%s %s" % (s, f)], (s, f)
    for cat in Category:
        assert cat.value == c["PAGESCAN_CAT_%s" % cat.name]
    assert len(Category) == c["PAGESCAN_CAT_COUNT"] == _lib.CAT_COUNT
    assert pagescan.WP_MATCHING == c["PAGESCAN_WP_MATCHING"]
    assert pagescan.CHECK_WPASYNC == c["PAGESCAN_CHECK_WPASYNC"]
    assert (_lib.VMA_READ, _lib.VMA_WRITE, _lib.VMA_EXEC,
            _lib.VMA_SHARED) == tuple(c["PAGESCAN_VMA_%s" % n] for n in
                                      ("READ", "WRITE", "EXEC", "SHARED"))
    assert _lib.VMAS_SMAPS == c["PAGESCAN_VMAS_SMAPS"]
    assert _lib.WATCH_VERIFY == c["PAGESCAN_WATCH_VERIFY"]
    assert _lib.WATCH_RESET == c["PAGESCAN_WATCH_RESET"]
    assert _lib.FEAT_SOFT_DIRTY == c["PAGESCAN_FEAT_SOFT_DIRTY"]
    assert _lib.FEAT_CAT_FIRST == c["PAGESCAN_FEAT_CAT_WPALLOWED"]
    assert _lib.BACKEND_EMULATE == c["PAGESCAN_BACKEND_EMULATE"]
    assert len(_lib.WATCH_BACKENDS) - 1 == c["PAGESCAN_WATCH_MPROTECT"]
    assert len(_lib.SUPPORT_NAMES) == c["PAGESCAN_SUPPORT_NAMES_END"]
    assert len(_summary.STATS) == c["PAGESCAN_STAT__COUNT"]
    assert _summary.STAT_SLOTS == c["PAGESCAN_STAT_SLOTS"]
    for i, n in enumerate(_summary.STATS):
        assert c["PAGESCAN_STAT_%s" % n.upper()] == i
        assert _lib.decode(_summary._stat_name(i)) == n
    assert _summary.VMA_SHMEM == c["PAGESCAN_VMA_SHMEM"]
    assert _summary.VMA_WPALLOWED == c["PAGESCAN_VMA_WPALLOWED"]
    from pagescan.__main__ import VMA_HUGETLB
    assert VMA_HUGETLB == c["PAGESCAN_VMA_HUGETLB"]


def test_category_names():
    assert str(Category.PRESENT | Category.FILE) == "file,present"
    assert Category.parse("present,file") == Category.PRESENT | Category.FILE
    assert Category.parse("soft-dirty|HUGE") == \
        Category.SOFT_DIRTY | Category.HUGE
    assert Category.parse(["softdirty", Category.GUARD]) == \
        Category.SOFT_DIRTY | Category.GUARD
    assert Category.parse(0x1ff) == Category(0x1ff)
    every = Category(_lib.CAT_ALL)
    assert Category.parse(str(every)) == every
    with pytest.raises(ValueError):
        Category.parse("nonsense")
    with pytest.raises(ValueError):
        Category.parse("!file")


def kernel_has_pagemap_scan() -> bool:
    """Ask the kernel directly: PAGEMAP_SCAN over an empty range."""
    arg = bytearray(struct.pack("<12Q", 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                0))
    with open("/proc/self/pagemap", "rb") as f:
        try:
            fcntl.ioctl(f.fileno(), 0xC0606610, arg)
            return True
        except OSError as e:
            assert e.errno in (errno.EINVAL, errno.ENOTTY)
            return False


def test_features_against_the_kernel():
    f = pagescan.features()
    assert list(f)[0] == "scan"
    assert f["scan"].present == kernel_has_pagemap_scan()
    for name in ("cat:present", "cat:file", "cat:swapped", "cat:huge"):
        assert f[name].support in ("native", "emulated")
    for feat in f.values():
        assert feat.support in ("native", "emulated", "unavailable")
        assert feat.description and feat.reason
        assert (feat.present is None) == (feat.error != 0)
    thp = os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled")
    assert f["thp"].present == thp or f["thp"].present is None


def test_available_categories():
    avail = pagescan.available_categories()
    f = pagescan.features()
    for cat in Category:
        name = "cat:" + str(cat)
        served = f[name].support != "unavailable"
        if cat is Category.SOFT_DIRTY:
            served = served and bool(f["soft-dirty"].present)
        assert (cat in avail) == served, cat


def test_library_identity():
    assert pagescan.library_version()[0] == 0
    assert pagescan.library_path
    with open("/proc/self/maps") as m:
        assert "libpagescan.so" in m.read()


def python_blocks(path):
    text = path.read_text()
    out = []
    while "```python\n" in text:
        text = text.split("```python\n", 1)[1]
        block, text = text.split("```", 1)
        out.append(block)
    return out


@pytest.mark.parametrize("doc", ["README.md", "python/README.md"])
def test_readme_blocks_run(doc, tmp_path):
    """The documented Python is true: each block runs as shown."""
    blocks = python_blocks(REPO / doc)
    assert blocks, "no python block in %s" % doc
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    for b in blocks:
        r = subprocess.run([sys.executable, "-c", b], cwd=str(tmp_path),
                           env=env, capture_output=True, text=True)
        assert r.returncode == 0, "%s: %s" % (doc, r.stderr)
