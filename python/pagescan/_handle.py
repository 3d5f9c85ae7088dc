# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Handles on an address space: regions (iterated or as a numpy array) and
mappings."""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from typing import TYPE_CHECKING, Any, Iterator, List, NamedTuple, Optional

from . import _categories, _lib
from ._categories import CategoriesLike, Category
from ._lib import InvalidArgument, lib

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    from ._summary import Summary

# Addresses at or above this are not user space ([vsyscall] on x86-64):
# PAGEMAP_SCAN rejects them, so the default range stops below.
USER_TOP = 1 << 63
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_REGION_SIZE = ctypes.sizeof(_lib.Region)
_CHUNK = 512        # regions per call for the per-region iterator
_FIRST_CAP = 4096   # first numpy buffer, in regions; doubled as it fills


class Region(NamedTuple):
    """One region [start, end) whose pages all have these categories."""

    start: int
    end: int
    categories: Category

    @property
    def size(self) -> int:
        """Bytes."""
        return self.end - self.start

    @property
    def pages(self) -> int:
        return (self.end - self.start) // PAGE_SIZE


class Mapping(NamedTuple):
    """One line of /proc/PID/maps (with smaps=True, also page_size and the
    VmFlags-derived flags)."""

    start: int
    end: int
    perms: str          # "rw-p"
    offset: int
    dev: str            # "fd:01"
    inode: int
    name: str           # path, "[heap]", ... or "" for anonymous memory
    flags: int          # the header's PAGESCAN_VMA_* bits
    page_size: int      # KernelPageSize; 0 without smaps
    thp_bytes: int

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def label(self) -> str:
        """The name the CLI shows: the path, or [anon] / [anon shared]."""
        if self.name:
            return self.name
        return "[anon shared]" if self.flags & _lib.VMA_SHARED else "[anon]"


def perms(flags: int) -> str:
    return "".join((
        "r" if flags & _lib.VMA_READ else "-",
        "w" if flags & _lib.VMA_WRITE else "-",
        "x" if flags & _lib.VMA_EXEC else "-",
        "s" if flags & _lib.VMA_SHARED else "p"))


def _u64(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s must be an int, not %s"
                        % (what, type(v).__name__))
    if v < 0 or v >= 1 << 64:
        raise InvalidArgument("%s %d is out of range" % (what, v))
    return v


def numpy_module():
    try:
        import numpy
    except ImportError:
        raise ImportError("pagescan: this call returns a numpy array; "
                          "install numpy (Debian: python3-numpy)") from None
    return numpy


_dtype = None


def region_dtype() -> "numpy.dtype":
    """The numpy dtype of struct pagescan_region: start, end, categories,
    each uint64 (24 bytes, the kernel's struct page_region)."""
    global _dtype
    if _dtype is None:
        np = numpy_module()
        _dtype = np.dtype([("start", np.uint64), ("end", np.uint64),
                           ("categories", np.uint64)])
        assert _dtype.itemsize == _REGION_SIZE
    return _dtype


def _address(buf: mmap.mmap) -> int:
    pin = ctypes.c_char.from_buffer(buf)
    addr = ctypes.addressof(pin)
    del pin                 # the export ends here: buf may be resized
    return addr


def fill_array(np, dtype, first: int, limit: Optional[int], fill):
    """A numpy array filled in bulk by @fill(address, room) -> count,
    called until it returns 0 (or @limit entries are filled).

    Small answers stay in the first numpy buffer (@first entries).  A
    larger one moves to an anonymous mapping that doubles with mremap(2)
    (mmap.resize): no copy and no zero-filling of what the library is
    about to write, so a million regions cost what the C iterator costs
    plus the page faults of their 24 MiB.
    """
    size = dtype.itemsize
    cap = first if limit is None else max(1, min(first, limit))
    arr = np.empty(cap, dtype=dtype)
    addr = arr.ctypes.data
    buf = None
    n = 0
    while True:
        got = fill(addr + n * size, min(cap - n, _lib.MAX_CHUNK))
        if got <= 0:
            break
        n += got
        if limit is not None and n >= limit:
            break
        if n < cap:
            continue
        cap *= 2
        if limit is not None:
            cap = min(cap, limit)
        if buf is None:
            buf = mmap.mmap(-1, cap * size,
                            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            addr = _address(buf)
            ctypes.memmove(addr, arr.ctypes.data, n * size)
            arr = None
        else:
            buf.resize(cap * size)
            addr = _address(buf)
    if buf is None:
        arr.resize(n, refcheck=False)
        return arr
    keep = -(-n * size // PAGE_SIZE) * PAGE_SIZE
    if keep < len(buf):
        buf.resize(keep)
    return np.frombuffer(buf, dtype=dtype, count=n)


class Handle:
    """An open address space: the one process *pid* had when opened.

    Use as a context manager, or call :meth:`close`.  A handle may be
    used from several threads; each regions() call has its own iterator.
    After ``fork()``, a child's copy of a handle on itself (pid 0) still
    reads the parent, as an inherited /proc/self/pagemap descriptor does.
    """

    def __init__(self, pid: int = 0, *, tid: int = 0,
                 backend: str = "auto"):
        pid = _u64(pid, "pid")
        tid = _u64(tid, "tid")
        if pid > 0x7fffffff or tid > 0x7fffffff:
            raise InvalidArgument("pid %d or tid %d out of range"
                                  % (pid, tid))
        try:
            b = ("auto", "native", "emulate").index(backend)
        except ValueError:
            raise InvalidArgument("backend %r: not one of auto, native, "
                                  "emulate" % (backend,)) from None
        o = _lib.opts(_lib.OpenOpts)
        o.tid = tid
        o.backend = b
        out = ctypes.c_void_p()
        ret = lib.pagescan_open(pid, o, ctypes.byref(out))
        if ret < 0:
            raise _lib.error(ret, "pid %d" % pid if pid else "self")
        self._res = _lib.Resource(out.value, lib.pagescan_close)
        self._pid = lib.pagescan_pid(out.value)
        self._backend = _lib.decode(lib.pagescan_backend_name(
            lib.pagescan_backend(out.value)))

    # -- lifetime --------------------------------------------------------
    def close(self) -> None:
        """Release the handle (idempotent); running calls finish first."""
        res = getattr(self, "_res", None)
        if res is not None:
            res.close()

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._res.closed

    def __repr__(self) -> str:
        return "<pagescan.Handle pid=%d backend=%s%s>" % (
            self._pid, self._backend, " closed" if self.closed else "")

    # -- properties ------------------------------------------------------
    @property
    def pid(self) -> int:
        """The pid opened (the caller's own for 0)."""
        return self._pid

    @property
    def backend(self) -> str:
        """The scan implementation: "native" (PAGEMAP_SCAN) or "emulate"."""
        return self._backend

    def fileno(self) -> int:
        """The handle's /proc/PID/pagemap descriptor (owned by the handle)."""
        ptr = self._res.acquire()
        try:
            return lib.pagescan_fd(ptr)
        finally:
            self._res.release()

    # -- mappings --------------------------------------------------------
    def mappings(self, start: int = 0, end: Optional[int] = None, *,
                 smaps: bool = False) -> List[Mapping]:
        """The mappings overlapping [start, end), in address order, from
        /proc/PID/maps (or /proc/PID/smaps with smaps=True: slower, adds
        page_size and the VmFlags-derived flags)."""
        start = _u64(start, "start")
        end = (1 << 64) - 1 if end is None else _u64(end, "end")
        out: List[Mapping] = []
        failure: List[BaseException] = []

        def one(vp, _ctx):
            try:
                v = vp.contents
                out.append(Mapping(
                    v.start, v.end, perms(v.flags), v.offset,
                    "%02x:%02x" % (v.dev_major, v.dev_minor), v.inode,
                    _lib.decode(v.name), v.flags, v.page_size,
                    v.thp_bytes))
                return 0
            except BaseException as e:  # never unwind through C
                failure.append(e)
                return 1

        fn = _lib.VMA_FN(one)
        ptr = self._res.acquire()
        try:
            ret = lib.pagescan_vmas(ptr, start, end,
                                    _lib.VMAS_SMAPS if smaps else 0, fn,
                                    None)
            if ret < 0:
                raise _lib.error(ret, "mappings of pid %d" % self._pid)
        finally:
            self._res.release()
        if failure:
            raise failure[0]
        return out

    def _default_end(self) -> int:
        end = 0
        for m in self.mappings():
            if m.start < USER_TOP:
                end = max(end, m.end)
        return end

    # -- summary ---------------------------------------------------------
    def summary(self, start: int = 0, end: Optional[int] = None
                ) -> "Summary":
        """What each mapping of [start, end) holds, in bytes, counted as
        /proc/PID/smaps counts it, from one scan: pagescan_summary(3),
        the numbers `pagescan PID` prints.  Returns a
        :class:`pagescan.Summary` (its mappings, total, unattributed,
        unavailable and approximate)."""
        from ._summary import summary
        return summary(self, start, end)

    # -- regions ---------------------------------------------------------
    def _scan_opts(self, require, any, show, max_pages, flags):
        o = _lib.opts(_lib.ScanOpts)
        o.category_mask, o.category_inverted = _categories.require(require)
        o.category_anyof_mask = _categories.mask(any)
        if show is None:
            o.return_mask = _categories.available().value
        else:
            o.return_mask = _categories.mask(show)
        if max_pages is not None:
            o.max_pages = _u64(max_pages, "max_pages")
        o.flags = _u64(flags, "flags")
        return o

    def _iter_new(self, start, end, require, any, show, max_pages, flags):
        start = _u64(start, "start")
        o = self._scan_opts(require, any, show, max_pages, flags)
        if end is None:
            end = self._default_end()
            if end < start:
                end = start
        end = _u64(end, "end")
        if end < start:
            # The kernel's answer would be EFAULT (a wrapped length).
            raise InvalidArgument("end %#x is below start %#x"
                                  % (end, start))
        return RegionIterator(self, start, end, o)

    def regions(self, start: int = 0, end: Optional[int] = None, *,
                require: CategoriesLike = None, any: CategoriesLike = None,
                show: CategoriesLike = None, max_pages: Optional[int] = None,
                flags: int = 0) -> "RegionIterator":
        """Every matching region of [start, end), once, in address order,
        as :class:`Region` named tuples (one Python object per region:
        prefer :meth:`regions_array` for large spaces).

        start
            page-aligned (EINVAL otherwise); 0 by default.
        end
            default: the end of the last user mapping.
        require
            categories every page must have; "!name" entries must be
            absent ("present,!file").  PAGEMAP_SCAN's category_mask and
            category_inverted.
        any
            at least one of these (category_anyof_mask).
        show
            the categories reported, and merged on (return_mask); default
            :func:`pagescan.available_categories`.
        max_pages
            stop after this many pages in total (None: no limit).
        flags
            PAGEMAP_SCAN flags (pagescan.WP_MATCHING, CHECK_WPASYNC).

        The scan starts when this returns (argument errors raise here);
        errors found later (the target exited: ProcessLookupError) raise
        from the iteration.  The iterator frees its C state when exhausted,
        closed, or collected.
        """
        return self._iter_new(start, end, require, any, show, max_pages,
                              flags)

    def regions_array(self, start: int = 0, end: Optional[int] = None, *,
                      require: CategoriesLike = None,
                      any: CategoriesLike = None,
                      show: CategoriesLike = None,
                      max_pages: Optional[int] = None,
                      flags: int = 0) -> "numpy.ndarray":
        """As :meth:`regions`, as one numpy structured array with fields
        start, end and categories (uint64), filled by the library in
        bulk: no Python object per region."""
        np = numpy_module()
        dtype = region_dtype()
        with self._iter_new(start, end, require, any, show, max_pages,
                            flags) as it:
            return fill_array(np, dtype, _FIRST_CAP, None, it._next_into)


class RegionIterator:
    """The iteration of one :meth:`Handle.regions` call."""

    def __init__(self, handle: Handle, start: int, end: int,
                 o: _lib.ScanOpts):
        self._handle = handle        # keeps the handle (and target) open
        self._res = handle._res
        self._it = 0
        # A C iterator may not be used from two threads at once.
        self._lock = threading.RLock()
        ptr = self._res.acquire()
        try:
            out = ctypes.c_void_p()
            ret = lib.pagescan_iter_new(ptr, start, end, o,
                                        ctypes.byref(out))
            if ret < 0:
                raise _lib.error(ret, "regions of pid %d" % handle.pid)
            self._it = out.value
        except BaseException:
            self._res.release()
            raise
        self._buf = (_lib.Region * _CHUNK)()
        self._words = memoryview(self._buf).cast("B").cast("Q")
        self._pending: List[Region] = []
        self._cats: dict = {}
        self._done = False
        self._pos = start
        self._pages = 0

    def _next_into(self, addr: int, room: int) -> int:
        with self._lock:
            if not self._it:
                return 0
            ret = lib.pagescan_iter_next(self._it, addr, room)
            if ret < 0:
                err = _lib.error(ret, "regions of pid %d"
                                 % self._handle.pid)
                self.close()
                raise err
            if ret == 0:
                self.close()
            return ret

    def __iter__(self) -> Iterator[Region]:
        return self

    def __next__(self) -> Region:
        if not self._pending:
            n = self._next_into(ctypes.addressof(self._buf), _CHUNK)
            if n == 0:
                raise StopIteration
            w = self._words[:3 * n].tolist()
            cats = self._cats
            out = []
            for i in range(0, 3 * n, 3):
                c = w[i + 2]
                cat = cats.get(c)
                if cat is None:
                    cat = cats[c] = Category(c)
                out.append(Region(w[i], w[i + 1], cat))
            out.reverse()
            self._pending = out
        return self._pending.pop()

    @property
    def pos(self) -> int:
        """The address below which everything has been delivered (where a
        new iteration would resume)."""
        with self._lock:
            return lib.pagescan_iter_pos(self._it) if self._it else self._pos

    @property
    def pages(self) -> int:
        """Pages delivered so far (by the library: a partly consumed chunk
        counts whole)."""
        with self._lock:
            return (lib.pagescan_iter_pages(self._it) if self._it
                    else self._pages)

    def close(self) -> None:
        """Free the C iterator (idempotent)."""
        lock = getattr(self, "_lock", None)
        if lock is None:        # __init__ failed early
            return
        with lock:
            it, self._it = self._it, 0
            if it:
                self._pos = lib.pagescan_iter_pos(it)
                self._pages = lib.pagescan_iter_pages(it)
                lib.pagescan_iter_free(it)
                self._res.release()

    def __enter__(self) -> "RegionIterator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def open(pid: int = 0, *, tid: int = 0, backend: str = "auto") -> Handle:
    """Open process *pid*'s address space (0: this process).

    tid: read /proc/PID/task/TID/pagemap instead.  backend: "auto" (the
    PAGESCAN_BACKEND variable, else native where the kernel has
    PAGEMAP_SCAN), "native" or "emulate".

    Raises ProcessLookupError (no such process), PermissionError (no
    ptrace read access), pagescan.InvalidArgument (a ValueError).
    """
    return Handle(pid, tid=tid, backend=backend)
