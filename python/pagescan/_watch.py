# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Write watches over Python buffers (pagescan_watch(3))."""

from __future__ import annotations

import ctypes
import errno as _errno
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from . import _lib
from ._handle import PAGE_SIZE, fill_array, numpy_module
from ._lib import InvalidArgument, lib

if TYPE_CHECKING:  # pragma: no cover
    import numpy

_FIRST_CAP = 1 << 16    # page addresses; doubled as the buffer fills


class WatchVerifyError(OSError):
    """Verify mode found a page that changed without being reported (EIO).

    offset: the buffer offset of the first such page (0 for a first page
    that begins before the buffer); count: how many in all.
    """

    def __init__(self, msg: str, offset: int, count: int):
        super().__init__(_errno.EIO, msg)
        self.offset = offset
        self.count = count


def _backend_number(name: Optional[str]) -> int:
    if name is None:
        return 0
    for b in range(len(_lib.WATCH_BACKENDS)):
        if _lib.decode(lib.pagescan_watch_backend_name(b)) == name:
            return b
    raise InvalidArgument("watch backend %r: not one of %s" % (
        name, ", ".join(_lib.WATCH_BACKENDS)))


class Watch:
    """Which pages of a writable buffer were written since the last reset.

    The library tracks whole pages.  The watch covers every page the
    buffer touches: when the buffer does not start or end on a page
    boundary (a bytearray, most numpy arrays), the first and last pages
    are shared with other memory, and writes there outside the buffer are
    reported too (an over-report, never a missed write).  Offsets are
    relative to the buffer's first byte; the first page's is clamped to 0.
    Pass aligned=True to refuse such buffers instead (InvalidArgument).
    Two watches may not share a page (EBUSY).

    While the watch is open it holds a buffer export, so the object cannot
    be resized, closed (mmap) or freed under it.  Under the mprotect
    backend (kernels without userfaultfd write-protect) the watched pages
    are read-only until written: a system call that writes into them
    (readinto, recv_into) fails with EFAULT -- write to the buffer first,
    or use uffd-async/uffd-sync.  See pagescan_watch(3).
    """

    def __init__(self, buffer: Any, *, backend: Optional[str] = None,
                 verify: bool = False, aligned: bool = False):
        self._pin = _lib.Pin(buffer, "pagescan.watch()")
        self._addr = self._pin.addr
        self._nbytes = self._pin.nbytes
        self._base = self._addr - self._addr % PAGE_SIZE
        end = self._addr + self._nbytes
        self._end = -(-end // PAGE_SIZE) * PAGE_SIZE
        self._w: Optional[_lib.Resource] = None
        if aligned and (self._base != self._addr or self._end != end):
            self._unpin()
            raise InvalidArgument(
                "pagescan.watch(aligned=True): the buffer [%#x, %#x) does "
                "not start and end on %d-byte pages" % (
                    self._addr, end, PAGE_SIZE))
        o = _lib.opts(_lib.WatchOpts)
        o.backend = _backend_number(backend)
        o.flags = _lib.WATCH_VERIFY if verify else 0
        out = ctypes.c_void_p()
        ret = lib.pagescan_watch_register(self._base, self._end - self._base,
                                          o, ctypes.byref(out))
        if ret < 0:
            err = _lib.error(ret, "watch of [%#x, %#x)" % (self._base,
                                                          self._end))
            self._unpin()
            raise err
        self._w = _lib.Resource(out.value, self._unregister)
        self._backend = _lib.decode(lib.pagescan_watch_backend_name(
            lib.pagescan_watch_backend(out.value)))
        self._reason = _lib.decode(lib.pagescan_watch_reason(out.value))
        self._close_error: Optional[OSError] = None

    # -- lifetime --------------------------------------------------------
    def _unpin(self) -> None:
        self._pin.release()

    def _unregister(self, ptr: int) -> int:
        ret = lib.pagescan_watch_unregister(ptr)
        if ret < 0:
            self._close_error = _lib.error(ret, "unregister")
        self._unpin()
        return ret

    def close(self) -> None:
        """Stop tracking (idempotent) and release the buffer: the memory is
        left as it was.  A get running in another thread finishes first."""
        w = getattr(self, "_w", None)
        if w is None:
            return
        w.close()
        err, self._close_error = self._close_error, None
        if err is not None:
            raise err

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        w = getattr(self, "_w", None)
        if w is not None:
            w.close()

    @property
    def closed(self) -> bool:
        return self._w is None or self._w.closed

    def __repr__(self) -> str:
        return "<pagescan.Watch %d bytes at %#x backend=%s%s>" % (
            self._nbytes, self._addr, self._backend,
            " closed" if self.closed else "")

    # -- properties ------------------------------------------------------
    @property
    def backend(self) -> str:
        """"uffd-async", "uffd-sync", "soft-dirty" or "mprotect"."""
        return self._backend

    @property
    def reason(self) -> str:
        """Which backend runs and why the faster ones were not chosen."""
        return self._reason

    @property
    def page_size(self) -> int:
        return PAGE_SIZE

    @property
    def nbytes(self) -> int:
        return self._nbytes

    @property
    def address(self) -> int:
        """The buffer's first byte."""
        return self._addr

    # -- calls -----------------------------------------------------------
    def _range(self, offset: int, length: Optional[int]) -> Tuple[int, int]:
        """[offset, offset + length) of the buffer as whole pages."""
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError("offset must be an int")
        if length is None:
            length = self._nbytes - offset
        if isinstance(length, bool) or not isinstance(length, int):
            raise TypeError("length must be an int or None")
        if offset < 0 or length < 0 or offset + length > self._nbytes:
            raise InvalidArgument("[%d, %d) is not inside the %d-byte "
                                  "buffer" % (offset, offset + length,
                                              self._nbytes))
        lo = self._addr + offset
        hi = lo + length
        lo -= lo % PAGE_SIZE
        hi = -(-hi // PAGE_SIZE) * PAGE_SIZE
        return lo, hi

    def _failed(self, ret: int, ptr: int) -> OSError:
        if ret == -_errno.EIO:
            page = ctypes.c_void_p()
            count = ctypes.c_uint64()
            why = lib.pagescan_last_error()
            if lib.pagescan_watch_verify_failure(ptr, ctypes.byref(page),
                                                 ctypes.byref(count)) == 1:
                off = max((page.value or 0) - self._addr, 0)
                return WatchVerifyError(
                    _lib.decode(why) if why else
                    "verify mode: %d page(s) changed without being "
                    "reported, the first at buffer offset %d"
                    % (count.value, off), off, count.value)
        return _lib.error(ret, "watch")

    def _get_pages(self, ptr: int, lo: int, hi: int, addr: int, room: int,
                   o: _lib.WatchGetOpts) -> int:
        ret = lib.pagescan_watch_get_pages(ptr, lo, hi - lo, addr, room, o)
        if ret < 0:
            raise self._failed(ret, ptr)
        return ret

    def get_array(self, reset: bool = True, offset: int = 0,
                  length: Optional[int] = None) -> "numpy.ndarray":
        """The written pages as a numpy uint64 array of buffer offsets (of
        each page's first byte in the buffer), ascending; filled by the
        library in bulk.  reset=True is an atomic get-and-reset: exactly
        the pages returned are reset.  offset/length: a sub-range (rounded
        out to pages)."""
        np = numpy_module()
        lo, hi = self._range(offset, length)
        o = _lib.opts(_lib.WatchGetOpts)
        o.flags = _lib.WATCH_RESET if reset else 0
        npages = (hi - lo) // PAGE_SIZE
        pos = [lo]

        def fill(addr: int, room: int) -> int:
            if pos[0] >= hi:
                return 0
            n = self._get_pages(ptr, pos[0], hi, addr, room, o)
            pos[0] = o.next
            return n

        ptr = self._w.acquire("watch")
        try:
            arr = fill_array(np, np.dtype(np.uint64), _FIRST_CAP, npages,
                             fill)
        finally:
            self._w.release()
        if len(arr) and arr[0] < self._addr:
            arr[0] = self._addr
        arr -= np.uint64(self._addr)
        return arr

    def get_regions(self, reset: bool = True, offset: int = 0,
                    length: Optional[int] = None) -> List[Tuple[int, int]]:
        """The written pages as merged [start, end) byte ranges of the
        buffer (clipped to it), ascending."""
        lo, hi = self._range(offset, length)
        o = _lib.opts(_lib.WatchGetOpts)
        o.flags = _lib.WATCH_RESET if reset else 0
        cap = max(1, min(4096, (hi - lo) // PAGE_SIZE))
        vec = (_lib.Region * cap)()
        words = memoryview(vec).cast("B").cast("Q")
        out: List[Tuple[int, int]] = []
        a0, a1 = self._addr, self._addr + self._nbytes
        ptr = self._w.acquire("watch")
        try:
            pos = lo
            while pos < hi:
                n = lib.pagescan_watch_get_regions(
                    ptr, pos, hi - pos, ctypes.addressof(vec), cap, o)
                if n < 0:
                    raise self._failed(n, ptr)
                w = words[:3 * n].tolist()
                for i in range(0, 3 * n, 3):
                    out.append((max(w[i], a0) - a0, min(w[i + 1], a1) - a0))
                if o.next <= pos:
                    break
                pos = o.next
        finally:
            self._w.release()
        return out

    def get(self, reset: bool = True, offset: int = 0,
            length: Optional[int] = None) -> List[int]:
        """The written pages as a list of buffer offsets (see get_array,
        which returns the same as a numpy array)."""
        out: List[int] = []
        for s, e in self.get_regions(reset, offset, length):
            first = s
            out.append(first)
            # Pages after the first one of a range start on page
            # boundaries of the address space, not of the buffer.
            a = self._addr + s
            nxt = a - a % PAGE_SIZE + PAGE_SIZE
            out.extend(range(nxt - self._addr, e, PAGE_SIZE))
        return out

    def reset(self, offset: int = 0, length: Optional[int] = None) -> None:
        """Forget the writes to the buffer (or a sub-range, rounded out to
        pages)."""
        lo, hi = self._range(offset, length)
        ptr = self._w.acquire("watch")
        try:
            _lib.check(lib.pagescan_watch_reset(ptr, lo, hi - lo), "reset")
        finally:
            self._w.release()

    def verify_failure(self) -> Optional[Tuple[int, int]]:
        """Verify mode: None if no unreported change was ever found, else
        (buffer offset of the first such page, total count)."""
        ptr = self._w.acquire("watch")
        try:
            page = ctypes.c_void_p()
            count = ctypes.c_uint64()
            if lib.pagescan_watch_verify_failure(ptr, ctypes.byref(page),
                                                 ctypes.byref(count)) != 1:
                return None
            return (max((page.value or 0) - self._addr, 0), count.value)
        finally:
            self._w.release()


def watch(buffer: Any, *, backend: Optional[str] = None,
          verify: bool = False, aligned: bool = False) -> Watch:
    """Track writes to a writable buffer (bytearray, mmap, numpy array,
    anything with the buffer protocol).  backend: None (the
    PAGESCAN_WATCH_BACKEND variable, else the fastest available) or
    "uffd-async", "uffd-sync", "soft-dirty", "mprotect" (EOPNOTSUPP where
    it cannot run).  verify: hash the pages and fail a get with
    WatchVerifyError when one changed unreported (for tests; costly).
    See :class:`Watch`."""
    return Watch(buffer, backend=backend, verify=verify, aligned=aligned)
