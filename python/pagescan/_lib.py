# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The ctypes binding of <pagescan.h>: loading, structs, prototypes, errors.

Only the public header is bound, by the shared library's soname, so the
package works with any libpagescan0 of the same ABI.  Set PAGESCAN_LIB to a
path to load another copy (a build tree: PAGESCAN_LIB=build/libpagescan.so.0).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import threading
from ctypes import (POINTER, Structure, c_char_p, c_int, c_int64, c_size_t,
                    c_uint, c_uint32, c_uint64, c_void_p)
from typing import Any, Callable, Optional, Tuple

SONAME = "libpagescan.so.0"
ABI_MAJOR = 0

# The header's constants (they never change meaning).
CAT_COUNT = 9
CAT_ALL = (1 << CAT_COUNT) - 1
CAT_PRESENT = 1 << 3
CAT_SWAPPED = 1 << 4
CAT_SOFT_DIRTY = 1 << 7
WP_MATCHING = 1 << 0
CHECK_WPASYNC = 1 << 1
VMA_READ, VMA_WRITE, VMA_EXEC, VMA_SHARED = 1, 2, 4, 8
VMAS_SMAPS = 1
WATCH_VERIFY = 1
WATCH_RESET = 1
BACKEND_AUTO, BACKEND_NATIVE, BACKEND_EMULATE = 0, 1, 2
WATCH_BACKENDS = ("auto", "uffd-async", "uffd-sync", "soft-dirty",
                  "mprotect")
SUPPORT_NAMES = ("unavailable", "native", "emulated")
FEAT_SOFT_DIRTY = 16            # enum pagescan_feature
FEAT_CAT_FIRST = 1              # PAGESCAN_FEAT_CAT_WPALLOWED
# pagescan_iter_next() and the watch gets return an int: ask for less.
MAX_CHUNK = 1 << 24


class Region(Structure):
    _fields_ = [("start", c_uint64), ("end", c_uint64),
                ("categories", c_uint64)]


class OpenOpts(Structure):
    _fields_ = [("sz", c_size_t), ("tid", c_int), ("backend", c_int)]


class ScanOpts(Structure):
    _fields_ = [("sz", c_size_t), ("flags", c_uint64),
                ("max_pages", c_uint64), ("category_inverted", c_uint64),
                ("category_mask", c_uint64),
                ("category_anyof_mask", c_uint64),
                ("return_mask", c_uint64), ("walk_end", c_uint64)]


class Vma(Structure):
    _fields_ = [("start", c_uint64), ("end", c_uint64),
                ("offset", c_uint64), ("inode", c_uint64),
                ("page_size", c_uint64), ("thp_bytes", c_uint64),
                ("flags", c_uint32), ("dev_major", c_uint32),
                ("dev_minor", c_uint32), ("name", c_char_p)]


class FeatureInfo(Structure):
    _fields_ = [("sz", c_size_t), ("name", c_char_p), ("desc", c_char_p),
                ("present", c_int), ("support", c_int),
                ("reason", c_char_p)]


class WatchOpts(Structure):
    _fields_ = [("sz", c_size_t), ("backend", c_int), ("flags", c_uint)]


class WatchGetOpts(Structure):
    _fields_ = [("sz", c_size_t), ("flags", c_uint), ("next", c_uint64),
                ("pages", c_uint64)]


def opts(cls):
    """A zeroed options struct with its size set (PAGESCAN_OPTS())."""
    o = cls()
    o.sz = ctypes.sizeof(cls)
    return o


VMA_FN = ctypes.CFUNCTYPE(c_int, POINTER(Vma), c_void_p)

_PROTOTYPES = {
    # name: (restype, argtypes)
    "pagescan_category_name": (c_char_p, [c_uint]),
    "pagescan_category_parse": (c_int64, [c_char_p]),
    "pagescan_last_error": (c_char_p, []),
    "pagescan_version_major": (c_int, []),
    "pagescan_version_minor": (c_int, []),
    "pagescan_open": (c_int, [c_int, POINTER(OpenOpts), POINTER(c_void_p)]),
    "pagescan_close": (None, [c_void_p]),
    "pagescan_pid": (c_int, [c_void_p]),
    "pagescan_fd": (c_int, [c_void_p]),
    "pagescan_backend": (c_int, [c_void_p]),
    "pagescan_backend_name": (c_char_p, [c_int]),
    "pagescan_iter_new": (c_int, [c_void_p, c_uint64, c_uint64,
                                  POINTER(ScanOpts), POINTER(c_void_p)]),
    "pagescan_iter_next": (c_int, [c_void_p, c_void_p, c_size_t]),
    "pagescan_iter_pos": (c_uint64, [c_void_p]),
    "pagescan_iter_pages": (c_uint64, [c_void_p]),
    "pagescan_iter_free": (None, [c_void_p]),
    "pagescan_vmas": (c_int, [c_void_p, c_uint64, c_uint64, c_uint, VMA_FN,
                              c_void_p]),
    "pagescan_probe": (c_int, [c_int]),
    "pagescan_feature_info": (c_int, [c_int, POINTER(FeatureInfo)]),
    "pagescan_watch_register": (c_int, [c_void_p, c_size_t,
                                        POINTER(WatchOpts),
                                        POINTER(c_void_p)]),
    "pagescan_watch_unregister": (c_int, [c_void_p]),
    "pagescan_watch_get_regions": (c_int, [c_void_p, c_void_p, c_size_t,
                                           c_void_p, c_size_t,
                                           POINTER(WatchGetOpts)]),
    "pagescan_watch_get_pages": (c_int, [c_void_p, c_void_p, c_size_t,
                                         c_void_p, c_size_t,
                                         POINTER(WatchGetOpts)]),
    "pagescan_watch_reset": (c_int, [c_void_p, c_void_p, c_size_t]),
    "pagescan_watch_backend": (c_int, [c_void_p]),
    "pagescan_watch_reason": (c_char_p, [c_void_p]),
    "pagescan_watch_backend_name": (c_char_p, [c_int]),
    "pagescan_watch_available": (c_int, [c_int, POINTER(c_char_p)]),
    "pagescan_watch_verify_failure": (c_int, [c_void_p, POINTER(c_void_p),
                                              POINTER(c_uint64)]),
}


def _candidates() -> list:
    path = os.environ.get("PAGESCAN_LIB")
    if path:
        return [path]
    # The soname first (ld.so.cache, LD_LIBRARY_PATH); then the default
    # prefix of `make install`, for a machine where ldconfig was not run.
    return [SONAME, os.path.join("/usr/local/lib", SONAME)]


def _load() -> ctypes.CDLL:
    errors = []
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        raise ImportError(
            "pagescan: cannot load %s (%s); install libpagescan0, run "
            "ldconfig after `make install`, or set PAGESCAN_LIB to the "
            "library's path" % (SONAME, "; ".join(errors)))
    missing = [n for n in _PROTOTYPES if not hasattr(lib, n)]
    if missing:
        raise ImportError("pagescan: %s lacks %s: too old a libpagescan"
                          % (lib._name, ", ".join(missing)))
    for n, (res, args) in _PROTOTYPES.items():
        f = getattr(lib, n)
        f.restype = res
        f.argtypes = args
    major = lib.pagescan_version_major()
    if major != ABI_MAJOR:
        raise ImportError("pagescan: %s is version %d.x; this package "
                          "binds %d.x" % (lib._name, major, ABI_MAJOR))
    return lib


lib = _load()
path = lib._name


def optional(name: str, restype, argtypes) -> Optional[Callable]:
    """A function that newer libraries have, or None."""
    f = getattr(lib, name, None)
    if f is not None:
        f.restype = restype
        f.argtypes = argtypes
    return f


def decode(b: Optional[bytes]) -> str:
    """Library strings (paths may hold any byte) as str, reversibly."""
    return os.fsdecode(b) if b is not None else ""


class InvalidArgument(OSError, ValueError):
    """EINVAL: a bad argument, whether Python or the library found it.

    An OSError (with .errno == errno.EINVAL) and a ValueError, as
    io.UnsupportedOperation is both an OSError and a ValueError.
    """

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], str):
            args = (_errno.EINVAL, args[0])
        super().__init__(*args)


def error(ret: int, what: str = "") -> OSError:
    """The exception for a negative errno the library just returned.

    Must be called right after the failing call, in the same thread:
    pagescan_last_error() is per thread and kept until the next failure.
    """
    err = -ret if ret < 0 else ret
    why = lib.pagescan_last_error()
    msg = decode(why) if why else os.strerror(err)
    if what:
        msg = "%s: %s" % (what, msg)
    if err == _errno.EINVAL:
        return InvalidArgument(err, msg)
    return OSError(err, msg)  # ProcessLookupError, PermissionError, ...


def check(ret: int, what: str = "") -> int:
    if ret < 0:
        raise error(ret, what)
    return ret


class Pin:
    """A writable, C-contiguous buffer held exported: while pinned, its
    memory cannot be resized, closed (mmap) or freed under the library.

    ``who`` names the caller in messages; ``wants`` says what it accepts.
    """

    def __init__(self, buf: Any, who: str,
                 wants: str = "an object with the buffer protocol "
                              "(bytearray, mmap, numpy array)"):
        try:
            mv = memoryview(buf)
        except TypeError:
            raise TypeError("%s needs %s, not %s" % (
                who, wants, type(buf).__name__)) from None
        try:
            if mv.readonly:
                raise TypeError("%s: the buffer is read-only" % who)
            if not mv.c_contiguous:
                raise InvalidArgument("%s: the buffer is not contiguous"
                                      % who)
            if mv.nbytes == 0:
                raise InvalidArgument("%s: empty buffer" % who)
            flat = mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv
            # The export that pins the memory; its address is the buffer's.
            pin = (ctypes.c_char * flat.nbytes).from_buffer(flat)
        except BaseException:
            mv.release()
            raise
        self._views: Optional[Tuple[memoryview, memoryview]] = (mv, flat)
        self._pin: Any = pin
        self.addr = ctypes.addressof(pin)
        self.nbytes = flat.nbytes

    def release(self) -> None:
        """Let the buffer go (idempotent)."""
        if self._views is None:
            return
        mv, flat = self._views
        self._pin = None
        self._views = None
        flat.release()
        mv.release()


class Resource:
    """A C object that calls from several threads may use at once.

    close() may come from another thread while a call is in progress
    (ctypes releases the GIL): the object is then freed by the last user,
    never under a running call.
    """

    def __init__(self, ptr: int, free: Callable[[int], object]):
        self._ptr = ptr
        self._free = free
        self._users = 0
        self._closing = False
        self._lock = threading.Lock()

    def acquire(self, what: str = "handle") -> int:
        with self._lock:
            if self._closing or not self._ptr:
                raise ValueError("operation on a closed pagescan " + what)
            self._users += 1
            return self._ptr

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            ptr = self._take()
        if ptr:
            self._free(ptr)

    def _take(self) -> int:
        if self._closing and not self._users and self._ptr:
            ptr, self._ptr = self._ptr, 0
            return ptr
        return 0

    def close(self) -> object:
        """Free now if nothing runs; returns what the free function did."""
        with self._lock:
            self._closing = True
            ptr = self._take()
        return self._free(ptr) if ptr else None

    @property
    def closed(self) -> bool:
        return self._closing
