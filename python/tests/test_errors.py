# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Errors: Python exceptions with the errno and the library's message."""

import errno
import os
import subprocess
import sys

import pytest

import pagescan
from conftest import PS, REPO, anon, address


def free_pid() -> int:
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for pid in range(pid_max - 1, 300, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise AssertionError("no free pid")


def test_missing_pid():
    pid = free_pid()
    with pytest.raises(ProcessLookupError) as e:
        pagescan.open(pid)
    assert e.value.errno == errno.ESRCH
    assert str(pid) in str(e.value)


def test_exited_target():
    p = subprocess.Popen([sys.executable, "-c",
                          "import sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
    h = pagescan.open(p.pid)
    p.stdin.close()
    p.wait()
    with pytest.raises(ProcessLookupError) as e:
        h.regions_array(0, 0x7ffffffff000)
    assert e.value.errno == errno.ESRCH
    h.close()


def test_unreadable_pid(nobody_python):
    """No ptrace read access: as nobody against this (root) process, or as
    an unprivileged test user against pid 1 (root's)."""
    if os.geteuid() == 0:
        target = os.getpid()
    else:
        target = 1
        assert os.stat("/proc/1").st_uid != os.geteuid()
    r = nobody_python(
        "import errno, pagescan\n"
        "try:\n"
        "    pagescan.open(%d)\n"
        "except PermissionError as e:\n"
        "    assert e.errno in (errno.EACCES, errno.EPERM), e\n"
        "    print('denied', e)\n" % target)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("denied")


def test_bad_arguments():
    m = anon(4)
    base = address(m)
    with pagescan.open() as h:
        with pytest.raises(pagescan.InvalidArgument) as e:
            h.regions_array(base + 1, base + PS)
        assert e.value.errno == errno.EINVAL
        assert isinstance(e.value, ValueError)
        assert isinstance(e.value, OSError)
        with pytest.raises(ValueError):
            list(h.regions(base + PS, base))          # start > end
        with pytest.raises(ValueError) as e:
            h.regions_array(base, base + PS, require="presnt")
        assert "present" in str(e.value)              # names the valid
        with pytest.raises(ValueError):
            h.regions_array(base, base + PS, any="!file")
        # A bit the kernel does not have: the library refuses it.
        with pytest.raises(pagescan.InvalidArgument):
            h.regions_array(base, base + PS, show=1 << 20)
        with pytest.raises(ValueError):
            h.regions_array(-PS, base)
        with pytest.raises(TypeError):
            h.regions_array("0", base)
        with pytest.raises(TypeError):
            h.regions_array(base, base + PS, show=1.5)
    with pytest.raises(ValueError):
        pagescan.open(-1)
    with pytest.raises(TypeError):
        pagescan.open("1")
    with pytest.raises(ValueError):
        pagescan.open(0, backend="bogus")
    m.close()


def test_library_message_reaches_python():
    """PAGESCAN_BACKEND=bogus: the library's one-line reason, which names
    the variable and its valid values, is the exception's text."""
    env = dict(os.environ, PAGESCAN_BACKEND="bogus",
               PYTHONPATH=str(REPO / "python"))
    r = subprocess.run([sys.executable, "-c",
                        "import pagescan\n"
                        "try:\n"
                        "    pagescan.open()\n"
                        "except pagescan.InvalidArgument as e:\n"
                        "    print(e.errno, e.strerror)\n"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    code, msg = r.stdout.split(" ", 1)
    assert int(code) == errno.EINVAL
    assert "PAGESCAN_BACKEND=bogus" in msg and "native" in msg


def test_no_library(tmp_path):
    env = dict(os.environ, PAGESCAN_LIB=str(tmp_path / "nothing.so"),
               PYTHONPATH=str(REPO / "python"))
    r = subprocess.run([sys.executable, "-c", "import pagescan"],
                       capture_output=True, text=True, env=env)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "PAGESCAN_LIB" in r.stderr
