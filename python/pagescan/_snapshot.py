# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Snapshots of Python buffers and address ranges (pagescan_snapshot(3)):
save them, and put them back later touching only what changed."""

from __future__ import annotations

import ctypes
import errno as _errno
from ctypes import POINTER, Structure, c_int, c_size_t, c_uint, c_uint64, \
    c_void_p
from typing import Any, Iterable, List, NamedTuple, Optional, Tuple, Union

from . import _lib
from ._handle import PAGE_SIZE
from ._lib import InvalidArgument, lib
from ._watch import _backend_number

SNAPSHOT_VERIFY = 1


class _Range(Structure):
    _fields_ = [("addr", c_void_p), ("len", c_size_t)]


class _Opts(Structure):
    _fields_ = [("sz", c_size_t), ("backend", c_int), ("flags", c_uint)]


class _Stats(Structure):
    _fields_ = [("sz", c_size_t), ("pages", c_uint64), ("bytes", c_uint64),
                ("copied", c_uint64), ("discarded", c_uint64),
                ("saved", c_uint64)]


_REGION_FN = ctypes.CFUNCTYPE(c_int, POINTER(_lib.Region), c_void_p)

_PROTOTYPES = {
    "pagescan_snapshot_take": (c_int, [POINTER(_Range), c_size_t,
                                       POINTER(_Opts), POINTER(c_void_p)]),
    "pagescan_snapshot_restore": (c_int, [c_void_p, POINTER(_Stats)]),
    "pagescan_snapshot_update": (c_int, [c_void_p, POINTER(_Stats)]),
    "pagescan_snapshot_changed": (c_int, [c_void_p, _REGION_FN, c_void_p]),
    "pagescan_snapshot_free": (None, [c_void_p]),
    "pagescan_snapshot_backend": (c_int, [c_void_p]),
    "pagescan_snapshot_reason": (ctypes.c_char_p, [c_void_p]),
    "pagescan_snapshot_verify_failure": (c_int, [c_void_p,
                                                 POINTER(c_void_p),
                                                 POINTER(c_uint64)]),
}
_f = {n: _lib.optional(n, r, a) for n, (r, a) in _PROTOTYPES.items()}


class SnapshotStats(NamedTuple):
    """What a restore or an update did, in pages and bytes."""
    pages: int          # pages restored (a hugetlb page counts 1)
    bytes: int          # copied + discarded
    copied: int         # bytes copied back (update: saved)
    discarded: int      # bytes discarded again (unpopulated at take)
    saved: int          # bytes the snapshot holds now


class SnapshotVerifyError(OSError):
    """Verify mode: memory differs from the snapshot after a restore, or
    the write watch missed a change (EIO).  address: the first differing
    page (0 if unknown); count: how many differed."""

    def __init__(self, msg: str, address: int, count: int):
        super().__init__(_errno.EIO, msg)
        self.address = address
        self.count = count


RangeLike = Union[Any, Tuple[int, int]]


class Snapshot:
    """A saved copy of page-aligned memory of this process, tracked by a
    write watch: :meth:`restore` puts every byte back as it was at take
    (or at the last :meth:`update`) touching only the pages changed
    since; pages unpopulated at take are discarded again.

    Made by :func:`snapshot`.  A context manager; :meth:`close` frees the
    copy and leaves the memory as it is.  While open it holds an export
    of each buffer, so they cannot be resized, closed or freed under it.
    """

    def __init__(self, what: Union[RangeLike, Iterable[RangeLike]], *,
                 backend: Optional[str] = None, verify: bool = False):
        missing = [n for n, f in _f.items() if f is None]
        if missing:
            raise OSError(_errno.ENOSYS, "pagescan.snapshot(): %s lacks %s"
                          % (_lib.path, ", ".join(missing)))
        self._ptr = 0
        self._pins: List[_lib.Pin] = []
        self._single: Optional[int] = None
        ranges = self._ranges(what)
        try:
            arr = (_Range * len(ranges))()
            for i, (a, n) in enumerate(ranges):
                arr[i].addr = a
                arr[i].len = n
            o = _lib.opts(_Opts)
            o.backend = _backend_number(backend)
            o.flags = SNAPSHOT_VERIFY if verify else 0
            out = c_void_p()
            ret = _f["pagescan_snapshot_take"](arr, len(ranges), o,
                                               ctypes.byref(out))
            if ret < 0:
                raise _lib.error(ret, "snapshot")
        except BaseException:
            self._unpin()
            raise
        self._res = _lib.Resource(out.value, self._free)
        self._backend = _lib.decode(lib.pagescan_watch_backend_name(
            _f["pagescan_snapshot_backend"](out.value)))
        self._reason = _lib.decode(_f["pagescan_snapshot_reason"](out.value))

    # -- arguments -------------------------------------------------------
    def _pin(self, buf: Any) -> Tuple[int, int]:
        pin = _lib.Pin(buf, "pagescan.snapshot()",
                       "buffers (mmap, numpy array, ...) or (address, "
                       "length) tuples")
        self._pins.append(pin)
        addr, nbytes = pin.addr, pin.nbytes
        # A restore writes whole pages: the bytes around an unaligned
        # buffer belong to other objects, which it would rewind too.
        if addr % PAGE_SIZE or nbytes % PAGE_SIZE:
            raise InvalidArgument(
                "pagescan.snapshot(): the buffer [%#x, %#x) does not start "
                "and end on %d-byte pages (a restore would rewind its "
                "neighbours too); use mmap.mmap" % (
                    addr, addr + nbytes, PAGE_SIZE))
        return addr, nbytes

    def _ranges(self, what: Any) -> List[Tuple[int, int]]:
        def one(x: Any) -> Tuple[int, int]:
            if isinstance(x, tuple):
                if len(x) != 2 or not all(isinstance(v, int) and
                                          not isinstance(v, bool)
                                          for v in x):
                    raise TypeError("a range is an (address, length) "
                                    "tuple of ints")
                return x[0], x[1]
            return self._pin(x)

        try:
            memoryview(what).release()
            is_buffer = True
        except TypeError:
            is_buffer = False
        try:
            if is_buffer or isinstance(what, tuple) and len(what) == 2 and \
                    isinstance(what[0], int):
                r = one(what)
                self._single = r[0]
                return [r]
            out = [one(x) for x in what]
        except BaseException:
            self._unpin()
            raise
        if not out:
            raise InvalidArgument("pagescan.snapshot(): no range")
        return out

    # -- lifetime --------------------------------------------------------
    def _unpin(self) -> None:
        for pin in self._pins:
            pin.release()
        self._pins = []

    def _free(self, ptr: int) -> None:
        _f["pagescan_snapshot_free"](ptr)
        self._unpin()

    def close(self) -> None:
        """Free the copy and stop tracking (idempotent); the memory stays
        as it is now."""
        res = getattr(self, "_res", None)
        if res is not None:
            res.close()

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._res.closed

    def __repr__(self) -> str:
        return "<pagescan.Snapshot backend=%s%s>" % (
            self._backend, " closed" if self.closed else "")

    # -- properties ------------------------------------------------------
    @property
    def backend(self) -> str:
        """The write-watch backend that tracks the ranges."""
        return self._backend

    @property
    def reason(self) -> str:
        """Why that backend (and why the faster ones were not chosen)."""
        return self._reason

    # -- calls -----------------------------------------------------------
    def _failed(self, ret: int, ptr: int, what: str) -> OSError:
        if ret == -_errno.EIO:
            why = lib.pagescan_last_error()
            page = c_void_p()
            count = c_uint64()
            _f["pagescan_snapshot_verify_failure"](ptr, ctypes.byref(page),
                                                   ctypes.byref(count))
            return SnapshotVerifyError(
                "%s: %s" % (what, _lib.decode(why) if why else
                            "verify mode found a difference"),
                page.value or 0, count.value)
        return _lib.error(ret, what)

    def _stats_call(self, name: str, what: str) -> SnapshotStats:
        st = _lib.opts(_Stats)
        ptr = self._res.acquire("snapshot")
        try:
            ret = _f[name](ptr, ctypes.byref(st))
            if ret < 0:
                raise self._failed(ret, ptr, what)
        finally:
            self._res.release()
        return SnapshotStats(st.pages, st.bytes, st.copied, st.discarded,
                             st.saved)

    def restore(self) -> SnapshotStats:
        """Put every byte back as at take (or the last update), touching
        only the pages changed since; pages unpopulated then are discarded
        again.  OSError(EFAULT) when a range was unmapped, moved or
        reprotected (nothing is touched then), ChildProcessError in a
        forked child, SnapshotVerifyError in verify mode."""
        return self._stats_call("pagescan_snapshot_restore", "restore")

    def update(self) -> SnapshotStats:
        """Save the pages changed since take, restore or update: the next
        restore returns to now (an incremental checkpoint)."""
        return self._stats_call("pagescan_snapshot_update", "update")

    def changed(self) -> List[Tuple[int, int]]:
        """The [start, end) runs of pages changed since the last take,
        restore or update, without restoring anything: offsets into the
        buffer for a snapshot of one buffer, else addresses."""
        out: List[Tuple[int, int]] = []
        base = self._single or 0

        def fn(r, _ctx):
            out.append((r[0].start - base, r[0].end - base))
            return 0

        cb = _REGION_FN(fn)
        ptr = self._res.acquire("snapshot")
        try:
            ret = _f["pagescan_snapshot_changed"](ptr, cb, None)
            if ret < 0:
                raise self._failed(ret, ptr, "changed")
        finally:
            self._res.release()
        return out


def snapshot(what: Union[RangeLike, Iterable[RangeLike]], *,
             backend: Optional[str] = None,
             verify: bool = False) -> Snapshot:
    """Save page-aligned memory of this process and track it.

    what: a writable buffer (an mmap.mmap, or a numpy array over one) that
    starts and ends on page boundaries, an (address, length) tuple, or a
    list of these.  backend: None (PAGESCAN_WATCH_BACKEND, else the
    fastest available) or "uffd-async", "uffd-sync", "soft-dirty",
    "mprotect".  verify: every restore checks itself and raises
    SnapshotVerifyError on a difference (for tests; costly).

    >>> m = mmap.mmap(-1, 1 << 20)
    >>> with pagescan.snapshot(m) as s:
    ...     m[:5] = b"dirty"
    ...     s.restore().pages
    1

    Errors are OSError with the errno of pagescan_snapshot_take(3) and
    the library's message: InvalidArgument (EINVAL: unaligned, empty,
    overlapping, not writable), EBUSY (a range is watched already, or
    holds the calling thread's stack), EFAULT (not mapped, guard pages),
    EOPNOTSUPP (the backend cannot run here).
    """
    return Snapshot(what, backend=backend, verify=verify)
