# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""pagescan.watch() over bytearray, mmap and numpy buffers, on every write
watch backend that runs here, with verify mode checking each answer
against the pages' contents."""

import errno
import gc
import mmap
import os
import threading
import time

import numpy as np
import pytest

import pagescan
from conftest import PS, address

BACKENDS = [n for n, b in pagescan.watch_backends().items() if b.available]


def test_some_backend_runs():
    assert "mprotect" in BACKENDS       # every kernel has it
    if pagescan.features()["uffd-wp-async"].present:
        assert "uffd-async" in BACKENDS


def expected(addr: int, offsets) -> list:
    """The page offsets the watch reports for writes at these offsets."""
    out = set()
    for off in offsets:
        page = (addr + off) - (addr + off) % PS
        out.add(max(page - addr, 0))
    return sorted(out)


def edges(w) -> set:
    """Offsets of the pages the buffer shares with other memory: writes
    there by others (the heap's neighbours) are reported too."""
    out = set()
    if w.address % PS:
        out.add(0)
    end = w.address + w.nbytes
    if end % PS:
        out.add(end - end % PS - w.address)
    return out


def check(got, want, w) -> None:
    """Every write reported; anything more only on a shared edge page."""
    assert set(want) <= set(got), (got, want)
    assert set(got) - set(want) <= edges(w), (got, want)
    assert got == sorted(set(got))


def make(kind: str, size: int):
    if kind == "bytearray":
        return bytearray(size)
    if kind == "mmap":
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE |
                         mmap.MAP_ANONYMOUS)
    if kind == "numpy":
        return np.zeros(size // 8, dtype=np.float64)
    raise AssertionError(kind)


def poke(buf, off: int) -> None:
    if isinstance(buf, np.ndarray):
        buf.view(np.uint8)[off] = 7
    else:
        buf[off] = 7


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["bytearray", "mmap", "numpy"])
def test_writes_reported_verified(kind, backend):
    size = 64 * PS + 808        # unaligned end, and start for the heap
    buf = make(kind, size)
    size = memoryview(buf).nbytes
    with pagescan.watch(buf, backend=backend, verify=True) as w:
        assert w.backend == backend
        assert w.reason
        assert w.nbytes == size
        check(w.get(reset=False), [], w)
        offs = [0, 5 * PS + 3, 5 * PS + 9, 17 * PS, size - 1]
        for off in offs:
            poke(buf, off)
        want = expected(w.address, offs)
        check(w.get(reset=False), want, w)
        check(w.get_array(reset=True).tolist(), want, w)
        check(w.get(), [], w)
        # Regions: clipped to the buffer, merged.
        for off in range(30 * PS, 33 * PS, PS):
            poke(buf, off)
        a = w.address
        lo = (a + 30 * PS) - (a + 30 * PS) % PS - a
        inner = [r for r in w.get_regions() if r[0] not in edges(w) and
                 r[1] - r[0] > PS]
        assert inner == [(lo, lo + 3 * PS)]
        assert w.verify_failure() is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_verify_catches_an_unreported_change(backend):
    """The same memfd page mapped twice: a write through the unwatched
    alias changes the watched page without a fault in it."""
    fd = os.memfd_create("pagescan-test")
    try:
        os.ftruncate(fd, 8 * PS)
        a = mmap.mmap(fd, 8 * PS, flags=mmap.MAP_SHARED)
        b = mmap.mmap(fd, 8 * PS, flags=mmap.MAP_SHARED)
        w = pagescan.watch(a, backend=backend, verify=True)
        a[PS] = 1                          # reported
        b[6 * PS] = 1                      # not seen by the watch
        with pytest.raises(pagescan.WatchVerifyError) as e:
            w.get()
        assert e.value.errno == errno.EIO
        assert e.value.offset == 6 * PS
        assert e.value.count >= 1
        assert w.verify_failure() == (6 * PS, e.value.count)
        w.close()
        a.close()
        b.close()
    finally:
        os.close(fd)


@pytest.mark.parametrize("backend", BACKENDS)
def test_subrange_and_reset(backend):
    m = make("mmap", 32 * PS)
    with pagescan.watch(m, backend=backend) as w:
        for i in (1, 9, 20):
            m[i * PS] = 1
        assert w.get(reset=False, offset=8 * PS, length=4 * PS) == [9 * PS]
        # The sub-range is rounded out to pages.
        assert w.get(reset=True, offset=9 * PS + 5, length=1) == [9 * PS]
        assert w.get(reset=False) == [PS, 20 * PS]
        w.reset(offset=0, length=2 * PS)
        assert w.get(reset=False) == [20 * PS]
        w.reset()
        assert w.get() == []
        with pytest.raises(ValueError):
            w.get(offset=31 * PS, length=2 * PS)
        with pytest.raises(ValueError):
            w.get(offset=-1)


def test_many_written_pages_fill_in_bulk():
    n = 70000                   # more than the first buffer (65536)
    m = make("mmap", n * PS)
    with pagescan.watch(m) as w:
        np.frombuffer(m, dtype=np.uint8)[::PS] = 1
        got = w.get_array()
        assert got.dtype == np.uint64
        assert np.array_equal(got, np.arange(n, dtype=np.uint64) * PS)
        assert len(w.get_array()) == 0


def test_buffer_is_pinned():
    b = bytearray(4 * PS)
    w = pagescan.watch(b)
    with pytest.raises(BufferError):
        b.extend(b"x" * PS)
    m = make("mmap", 4 * PS)
    wm = pagescan.watch(m)
    with pytest.raises(BufferError):
        m.close()
    with pytest.raises(BufferError):
        m.resize(8 * PS)
    a = np.zeros(4096)
    wa = pagescan.watch(a)
    with pytest.raises(ValueError):
        a.resize(10 ** 6)
    for x in (w, wm, wa):
        x.close()
    b.extend(b"x" * PS)         # free again once the watch is closed
    m.resize(8 * PS)
    m.close()
    a.resize(10 ** 6)


def test_bad_buffers():
    with pytest.raises(TypeError):
        pagescan.watch(b"read-only bytes")
    with pytest.raises(TypeError):
        pagescan.watch(42)
    ro = mmap.mmap(-1, PS, access=mmap.ACCESS_READ)
    with pytest.raises(TypeError):
        pagescan.watch(ro)
    with pytest.raises(ValueError):
        pagescan.watch(np.zeros(4096)[::2])        # not contiguous
    with pytest.raises(ValueError):
        pagescan.watch(bytearray())
    with pytest.raises(ValueError):
        heap = bytearray(3 * PS + 2)
        off = 2 if (address(heap) + 1) % PS == 0 else 1
        pagescan.watch(memoryview(heap)[off:off + 3 * PS - PS],
                       aligned=True)                     # unaligned
    with pytest.raises(ValueError):
        pagescan.watch(make("mmap", PS), backend="bogus")
    with pagescan.watch(make("mmap", 2 * PS), aligned=True) as w:
        assert w.address % PS == 0


def test_two_watches_may_not_share_a_page():
    m = make("mmap", 2 * PS)
    mv = memoryview(m)
    w = pagescan.watch(mv[0:100])
    with pytest.raises(OSError) as e:
        pagescan.watch(mv[200:300])
    assert e.value.errno == errno.EBUSY
    w.close()
    w2 = pagescan.watch(mv[200:300])        # free once the first is gone
    w2.close()
    mv.release()


@pytest.mark.parametrize("backend", BACKENDS)
def test_closed_and_collected(backend):
    m = make("mmap", 4 * PS)
    w = pagescan.watch(m, backend=backend)
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.get()
    m[0] = 1                    # writable as before
    w = pagescan.watch(m, backend=backend)
    del w                       # collected: unregistered
    gc.collect()
    pagescan.watch(m, backend=backend).close()
    m.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_leak(backend):
    def count():
        return (len(os.listdir("/proc/self/fd")),
                len(os.listdir("/proc/self/task")))
    m = make("mmap", 16 * PS)
    with pagescan.watch(m, backend=backend):
        pass
    before = count()
    for _ in range(30):
        with pagescan.watch(m, backend=backend) as w:
            m[3 * PS] = 1
            assert w.get() == [3 * PS]
    # A joined thread's /proc entry goes when the kernel reaps it, a
    # moment after pthread_join() returned (the CLONE_CHILD_CLEARTID wake
    # comes first): wait for it, a leak never goes.
    for _ in range(200):
        if count() == before:
            break
        time.sleep(0.01)
    assert count() == before
    m.close()


def test_system_call_writes_are_seen():
    """uffd-async and uffd-sync see a write by read(2) into the buffer
    (mprotect would fail it with EFAULT: pagescan_watch(3))."""
    for backend in ("uffd-async", "uffd-sync"):
        if backend not in BACKENDS:
            continue
        buf = bytearray(8 * PS)
        r, wfd = os.pipe()
        with pagescan.watch(buf, backend=backend, verify=True) as w:
            os.write(wfd, b"hello")
            assert os.readv(r, [memoryview(buf)[4 * PS:4 * PS + 5]]) == 5
            check(w.get(), expected(w.address, [4 * PS]), w)
        os.close(r)
        os.close(wfd)
        assert bytes(buf[4 * PS:4 * PS + 5]) == b"hello"


def test_inherited_watch_in_a_child():
    m = make("mmap", 4 * PS)
    w = pagescan.watch(m)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            w.get()
        except ChildProcessError as e:
            code = 0 if e.errno == errno.ECHILD else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    m[0] = 1
    assert w.get() == [0]       # the parent's watch goes on
    w.close()


def test_gets_from_threads_while_closing():
    m = make("mmap", 64 * PS)
    w = pagescan.watch(m)
    errors = []

    def run():
        try:
            for i in range(200):
                m[(i % 64) * PS] = 1
                w.get()
        except ValueError:
            pass                # closed under us: refused, not a crash
        except BaseException as e:
            errors.append(e)
    ts = [threading.Thread(target=run) for _ in range(3)]
    for t in ts:
        t.start()
    w.close()
    for t in ts:
        t.join()
    assert not errors
    m.close()
