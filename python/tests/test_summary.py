# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Handle.summary() against /proc/PID/smaps and smaps_rollup of a child
that holds still, and against the C command's JSON; the example's PNG."""

import json
import os
import struct
import subprocess
import sys

import pytest

import pagescan
from conftest import PS, REPO

LAYOUT = r"""
import ctypes, tempfile
PS = mmap.PAGESIZE
def addr(m):
    c = ctypes.c_char.from_buffer(m); a = ctypes.addressof(c); del c
    return a
anon = mmap.mmap(-1, 64 * PS, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
anon.madvise(mmap.MADV_NOHUGEPAGE)
for i in range(0, 40): anon[i * PS] = 1
for i in range(50, 60): anon[i * PS]          # zero pages
f = tempfile.TemporaryFile()
f.write(b"y" * (32 * PS)); f.flush()
fm = mmap.mmap(f.fileno(), 32 * PS, flags=mmap.MAP_PRIVATE)
for i in range(0, 32, 2): fm[i * PS]          # page cache
fm[5 * PS] = 1                                # one private copy: anon
fd = os.memfd_create("summary-test")
os.ftruncate(fd, 16 * PS)
sh = mmap.mmap(fd, 16 * PS, flags=mmap.MAP_SHARED)
for i in range(0, 12): sh[i * PS] = 1         # shmem
print(addr(anon), addr(fm), addr(sh))
"""


@pytest.fixture
def child(stopped_child):
    p, out = stopped_child(LAYOUT)
    return p, [int(x) for x in out[0].split()]


def smaps_all(pid: int) -> dict:
    out, cur = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                cur = out.setdefault(int(head[0].split("-")[0], 16), {})
            elif head[0].endswith(":") and len(head) > 1 and \
                    head[1].isdigit():
                cur[head[0][:-1]] = int(head[1]) * 1024
    return out


def rollup(pid: int) -> dict:
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            head = line.split()
            if head[0].endswith(":") and len(head) > 1 and \
                    head[1].isdigit():
                out[head[0][:-1]] = int(head[1]) * 1024
    return out


def test_summary_against_smaps(child):
    p, (anon, fm, sh) = child
    with pagescan.open(p.pid) as h:
        s = h.summary()
    assert s.pid == p.pid
    kernel = smaps_all(p.pid)
    by_start = {m.start: m for m in s}
    assert set(by_start) == {a for a in kernel if a < 1 << 63}
    for start, m in by_start.items():
        k = kernel[start]
        assert m.rss == k["Rss"], m
        assert m.anon == k["Anonymous"], m
        assert m.swapped == k["Swap"], m
        huge = k["AnonHugePages"] + k.get("ShmemPmdMapped", 0) + \
            k.get("FilePmdMapped", 0)
        if "thp" not in s.unavailable:
            assert m.thp == huge, m
        assert m.rss == m.anon + m.file + m.shmem, m
    # The layout, as the child made it.
    a = by_start[anon]
    assert a.rss == a.anon == 40 * PS and a.label == "[anon]"
    if "zero" not in s.unavailable:
        assert a.zero == 10 * PS and a.present == 50 * PS
    f = by_start[fm]
    assert f.anon == PS and f.file == f.rss - PS and f.shmem == 0
    assert f.rss >= 16 * PS             # fault-around may map more
    m = by_start[sh]
    assert m.shmem == m.rss == 12 * PS and m.file == 0 and m.anon == 0
    assert m.name.startswith("/memfd:summary-test")
    r = rollup(p.pid)
    assert s.total.rss == r["Rss"]
    assert s.total.anon == r["Anonymous"]
    assert s.total.swapped == r["Swap"]
    assert s.size == sum(x.size for x in s)
    for name in s.unavailable:
        assert getattr(s.total, name) is None
    assert s.unattributed.rss == 0


def test_summary_same_as_the_c_command(child, cli):
    p, _ = child
    d = json.loads(cli(p.pid, "--json").stdout)
    with pagescan.open(p.pid) as h:
        s = h.summary()
    assert len(d["mappings"]) == len(s)
    for j, m in zip(d["mappings"], s):
        assert (int(j["start"], 16), int(j["end"], 16), j["perms"]) == \
            (m.start, m.end, m.perms)
        assert j["bytes"] == m.stats._asdict()
    assert d["total"]["bytes"] == s.total._asdict()
    assert set(d["available"]) == set(pagescan.STATS) - s.unavailable


def test_summary_errors(child):
    p, _ = child
    h = pagescan.open(p.pid)
    with pytest.raises(ValueError):
        h.summary(2 * PS, PS)
    p.kill()
    p.wait()
    with pytest.raises(ProcessLookupError):
        h.summary()
    h.close()


def test_summary_range():
    with pagescan.open() as h:
        whole = h.summary()
        some = whole.mappings[len(whole) // 2]
        part = h.summary(some.start, some.end)
    assert [(m.start, m.end) for m in part] == [(some.start, some.end)]


def png_size(path) -> tuple:
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    w, h = struct.unpack(">II", data[16:24])
    assert data.endswith(b"IEND\xaeB`\x82"), "truncated PNG"
    return w, h, len(data)


def test_plot_example(child, tmp_path):
    p, _ = child
    out = tmp_path / "memory.png"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"),
               MPLBACKEND="Agg", MPLCONFIGDIR=str(tmp_path / "mpl"))
    r = subprocess.run([sys.executable,
                        str(REPO / "python/examples/plot_memory.py"),
                        str(p.pid), "-o", str(out)], env=env,
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "pid %d" % p.pid in r.stdout
    w, h, size = png_size(out)
    assert 400 <= w <= 4000 and 200 <= h <= 4000, (w, h)
    assert 10_000 <= size <= 5_000_000, size
