# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""python3 -m pagescan PID prints what `pagescan PID` prints: the same
bytes, for a child that holds still, whatever the options and width."""

import os
import subprocess
import sys

import pytest

from conftest import REPO, cli_path

# Every kind of row: anonymous, zero pages, THP, shmem with a hostile name
# (an escape sequence, invalid UTF-8, a backslash, wide characters), a
# long path, and mappings sharing a name.
LAYOUT = r"""
import ctypes, tempfile
PS = mmap.PAGESIZE
keep = []
a = mmap.mmap(-1, 64 * PS, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
a.madvise(mmap.MADV_NOHUGEPAGE)
for i in range(0, 64, 3): a[i * PS] = 1
for i in range(1, 64, 3): a[i * PS]
keep.append(a)
t = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
t.madvise(mmap.MADV_HUGEPAGE)
t[:] = b"\1" * (8 << 20)
keep.append(t)
name = "\x1b[31mred\\ \udcff wide\u4e2d\u6587"
fd = os.memfd_create(name)
os.ftruncate(fd, 16 * PS)
for k in range(2):
    m = mmap.mmap(fd, 16 * PS, flags=mmap.MAP_SHARED)
    for i in range(0, 16, 2): m[i * PS] = 1
    keep.append(m)
d = tempfile.mkdtemp()
p = os.path.join(d, "a-rather-long-directory-name-" * 4)
os.mkdir(p)
p = os.path.join(p, "file-with-a-long-name.bin")
with open(p, "wb") as f: f.write(b"z" * (4 * PS))
f = open(p, "rb")
keep.append(mmap.mmap(f.fileno(), 4 * PS, flags=mmap.MAP_PRIVATE,
                      prot=mmap.PROT_READ))
keep[-1][0]
"""

OPTIONS = [[], ["--group"], ["--pages"], ["--sort", "rss", "--top", "4"],
           ["--sort", "name"], ["--columns", "all"],
           ["--columns", "rss,zero,huge"], ["--filter", "memfd", "--group"],
           ["--filter", "nothing-matches"], ["--sort", "huge"],
           ["--json"], ["--json", "--group", "--top", "3"]]


def py_main(args, env=None):
    e = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "pagescan"] +
                          [str(a) for a in args], capture_output=True,
                          env=e)


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_same_bytes_as_the_command(stopped_child, cli, columns):
    p, _ = stopped_child(LAYOUT)
    env = {"COLUMNS": columns, "LC_ALL": "C.UTF-8"}
    # Every option at 80 columns; the narrow and the wide table plainly.
    for opts in OPTIONS if columns == "80" else OPTIONS[:3]:
        c = subprocess.run([str(cli_path()), str(p.pid)] + opts,
                           capture_output=True, env=dict(os.environ, **env))
        assert c.returncode == 0, c.stderr
        py = py_main([p.pid] + opts, env)
        assert py.returncode == 0, py.stderr.decode()
        assert py.stdout == c.stdout, (opts, columns, py.stdout.decode(
            errors="replace"), c.stdout.decode(errors="replace"))
        if not opts and columns == "200":
            # The hostile name is escaped, not sent to the terminal.
            assert b"\\x1b[31mred\\\\ \\xff wide" in c.stdout
            assert b"\x1b" not in c.stdout


def test_errors_and_exit_codes(nobody_python):
    r = py_main(["0"])
    assert r.returncode == 1 and b"not a process id" in r.stderr
    r = py_main(["12", "--sort", "bogus"])
    assert r.returncode == 1 and b"unknown --sort column" in r.stderr
    r = py_main(["12", "--bogus"])
    assert r.returncode == 1
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    free = next(p for p in range(pid_max - 1, 300, -1)
                if not os.path.exists("/proc/%d" % p))
    r = py_main([free])
    assert r.returncode == 2 and b"no process with pid" in r.stderr
    target = os.getpid() if os.geteuid() == 0 else 1
    r = nobody_python("import sys, pagescan.__main__ as m\n"
                      "sys.exit(m.main(['%d']))" % target)
    assert r.returncode == 3, r.stderr
    assert "ptrace read access" in r.stderr
