# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""pagescan.snapshot() over mmap and numpy buffers and address ranges, on
every write-watch backend that runs here: restored byte for byte (pages
unpopulated at take unpopulated again, by pagemap), update, changed(),
the context manager, and the library's errors as exceptions with errno."""

import ctypes
import errno
import mmap

import numpy as np
import pytest

import pagescan
from conftest import PS, PM_PRESENT, address, anon, pagemap

BACKENDS = [n for n, b in pagescan.watch_backends().items() if b.available]
NP = 32


def zero_pfn() -> int:
    z = anon(1)
    z[0]                                # read: the shared zero page
    pfn = pagemap(address(z), 1)[0] & ((1 << 55) - 1)
    z.close()
    return pfn


ZERO_PFN = zero_pfn()


def holds_page(entry: int) -> bool:
    """Present with a page of its own (not the zero page, which verify
    mode's reads map): known only where PFNs are shown (root)."""
    pfn = entry & ((1 << 55) - 1)
    return bool(entry & PM_PRESENT) and pfn != 0 and pfn != ZERO_PFN


def fill(m) -> bytes:
    """Every third page written (the others never populated)."""
    for i in range(0, NP, 3):
        m[i * PS:(i + 1) * PS] = bytes([i + 1]) * PS
    return bytes(m)


def scribble(m) -> None:
    for i in range(NP):
        if i % 3 == 0 and i % 2:
            m.madvise(mmap.MADV_DONTNEED, i * PS, PS)
        elif i % 5 == 1:
            m[i * PS + 7] = 0xee        # unpopulated at take
        elif i % 3 == 0:
            m[i * PS] = 0xcc


@pytest.mark.parametrize("backend", BACKENDS)
def test_restore(backend):
    m = anon(NP)
    fill(m)
    a = address(m)
    # Unpopulated at take and written by scribble(): discarded again.
    empty = [i for i in range(NP) if i % 3 and i % 5 == 1]
    ref = bytes(m)                      # reads the holes: zero pages
    m.madvise(mmap.MADV_DONTNEED, 0, NP * PS)
    fill(m)
    with pagescan.snapshot(m, backend=backend, verify=True) as s:
        assert s.backend == backend
        assert s.reason
        for _ in range(3):
            scribble(m)
            st = s.restore()
            assert st.pages > 0 and st.bytes == st.copied + st.discarded
            assert st.saved == (NP + 2) // 3 * PS
            pm = pagemap(a, NP)
            assert not [i for i in empty if holds_page(pm[i])]
            assert bytes(m) == ref
    assert s.closed
    with pytest.raises(ValueError):
        s.restore()
    m.close()                           # the export was released


@pytest.mark.parametrize("backend", BACKENDS)
def test_update_and_changed(backend):
    m = anon(NP)
    fill(m)
    with pagescan.snapshot(m, backend=backend) as s:
        m[3 * PS] = 1
        m[7 * PS + 5] = 2
        got = s.changed()
        assert (3 * PS, 4 * PS) in got and (7 * PS, 8 * PS) in got
        assert m[3 * PS] == 1           # changed() restores nothing
        st = s.update()
        assert st.pages >= 2
        now = bytes(m)
        assert s.changed() == []
        scribble(m)
        s.restore()
        assert bytes(m) == now


def test_numpy_and_ranges():
    m1, m2 = anon(NP), anon(8)
    a = np.frombuffer(m1, dtype=np.uint64)
    a[:] = np.arange(a.size, dtype=np.uint64)
    m2[:] = b"x" * (8 * PS)
    with pagescan.snapshot(a) as s:
        a[::1000] = 0
        s.restore()
        assert (a == np.arange(a.size, dtype=np.uint64)).all()
    del a
    ranges = [(address(m1), NP * PS), (address(m2), 8 * PS)]
    ref = (bytes(m1), bytes(m2))
    with pagescan.snapshot(ranges) as s:
        m1[0] = 9
        m2[5 * PS] = 9
        got = s.changed()               # addresses, several ranges
        assert (address(m2) + 5 * PS, address(m2) + 6 * PS) in got
        s.restore()
        assert (bytes(m1), bytes(m2)) == ref


def test_errors():
    with pytest.raises(pagescan.InvalidArgument) as e:
        pagescan.snapshot(bytearray(3 * PS))    # not on page boundaries
    assert e.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        pagescan.snapshot(b"read-only")
    with pytest.raises(TypeError):
        pagescan.snapshot(42)
    with pytest.raises(pagescan.InvalidArgument):
        pagescan.snapshot([])
    ro = anon(4)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(address(ro), 4 * PS, mmap.PROT_READ) == 0
    with pytest.raises(pagescan.InvalidArgument) as e:
        pagescan.snapshot((address(ro), 4 * PS))
    assert "writable" in str(e.value)   # the library's message
    with pytest.raises(OSError) as e:   # past the end of the mapping
        pagescan.snapshot((address(ro), 4096 * PS))
    assert e.value.errno in (errno.EFAULT, errno.EINVAL)
    m = anon(4)
    with pagescan.snapshot(m):
        with pytest.raises(OSError) as e:
            pagescan.snapshot(m)
        assert e.value.errno == errno.EBUSY
    for name, b in pagescan.watch_backends().items():
        if not b.available:
            with pytest.raises(OSError) as e:
                pagescan.snapshot(m, backend=name)
            assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(pagescan.InvalidArgument):
        pagescan.snapshot(m, backend="bogus")
