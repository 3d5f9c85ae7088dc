# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Shared fixtures: memory layouts made with mmap, and the kernel's own
view of them (/proc/self/pagemap, /proc/self/smaps), so that tests check
the package against the kernel and the C library, not against itself.

Run from the repository (tests/python-pytest.sh does this in every lane):
    PAGESCAN_LIB=build/libpagescan.so.0 PYTHONPATH=python \\
        python3 -m pytest python/tests
PAGESCAN_CLI names the C command to compare with (default build/pagescan).
"""

import ctypes
import mmap
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PS = os.sysconf("SC_PAGE_SIZE")
MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)

# /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst)
PM_PRESENT = 1 << 63
PM_SWAP = 1 << 62
PM_FILE = 1 << 61


def address(buf) -> int:
    c = ctypes.c_char.from_buffer(buf)
    a = ctypes.addressof(c)
    del c
    return a


def anon(pages: int, huge: bool = False) -> mmap.mmap:
    """Private anonymous memory; THP off unless asked, so that the page
    pattern a test writes is the one the kernel reports."""
    m = mmap.mmap(-1, pages * PS, flags=mmap.MAP_PRIVATE |
                  mmap.MAP_ANONYMOUS | MAP_NORESERVE)
    m.madvise(mmap.MADV_HUGEPAGE if huge else mmap.MADV_NOHUGEPAGE)
    return m


def write_page(m, i: int, value: int = 1) -> None:
    m[i * PS] = value


def read_page(m, i: int) -> int:
    return m[i * PS]


def pagemap(start: int, pages: int, pid: str = "self") -> list:
    """The kernel's pagemap entries of [start, start + pages pages)."""
    with open("/proc/%s/pagemap" % pid, "rb") as f:
        f.seek(start // PS * 8)
        data = f.read(pages * 8)
    return list(struct.unpack("<%dQ" % pages, data))


def smaps_entry(start: int, pid: str = "self") -> dict:
    """The /proc/PID/smaps fields (in kB, or the raw text) of the mapping
    that starts at @start."""
    out = None
    with open("/proc/%s/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and ":" not in head[0]:
                lo = int(head[0].split("-")[0], 16)
                if out is not None:
                    break
                if lo == start:
                    out = {"range": head[0], "name": " ".join(head[5:])}
            elif out is not None and head[0].endswith(":"):
                key = head[0][:-1]
                out[key] = (int(head[1]) if len(head) > 1 and
                            head[1].isdigit() else " ".join(head[1:]))
    assert out is not None, "no mapping at %#x in smaps" % start
    return out


def cli_path() -> Path:
    p = os.environ.get("PAGESCAN_CLI")
    return Path(p) if p else REPO / os.environ.get("BUILD", "build") / \
        "pagescan"


@pytest.fixture
def cli():
    p = cli_path()
    if not os.access(p, os.X_OK):
        pytest.skip("no C command at %s (set PAGESCAN_CLI)" % p)

    def run(*args, check=True):
        r = subprocess.run([str(p)] + [str(a) for a in args],
                           capture_output=True, text=True)
        if check and r.returncode:
            raise AssertionError("pagescan %s: exit %d: %s"
                                 % (" ".join(map(str, args)), r.returncode,
                                    r.stderr))
        return r
    return run


@pytest.fixture
def nobody_python():
    """Run a Python snippet as another user than the test's: as nobody
    when the test is root, else the test's own user (its target is then a
    root process)."""
    def run(code: str):
        cmd = [sys.executable, "-c", code]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                   "--clear-groups"] + cmd
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO / "python")
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              cwd="/")
    return run


@pytest.fixture
def stopped_child():
    """A child process with a fixed layout, stopped so that its memory
    holds still while two readers compare it: start(code) runs code, then
    stops; returns the Popen and the lines the code printed."""
    procs = []

    def start(code: str = ""):
        src = ("import mmap, os, signal, sys\n" + code +
               "\nsys.stdout.write('ready\\n'); sys.stdout.flush()\n"
               "os.kill(os.getpid(), signal.SIGSTOP)\n"
               "signal.pause()\n")
        p = subprocess.Popen([sys.executable, "-c", src],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        out = []
        for line in p.stdout:
            if line == "ready\n":
                break
            out.append(line)
        else:
            raise AssertionError("the child died: %r" % out)
        # Wait until it is really stopped ("T" in /proc/PID/stat).
        for _ in range(1000):
            with open("/proc/%d/stat" % p.pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    break
            os.sched_yield()
        return p, out
    yield start
    for p in procs:
        p.kill()
        p.wait()
