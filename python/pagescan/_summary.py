# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Handle.summary(): what each mapping holds, from pagescan_summary(3),
the function `pagescan PID` prints."""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_char_p, c_int, c_size_t, c_uint32
from ctypes import c_uint64, c_void_p
from typing import TYPE_CHECKING, FrozenSet, Iterator, List, NamedTuple
from typing import Optional

from . import _lib
from ._handle import PAGE_SIZE, perms
from ._lib import lib

if TYPE_CHECKING:  # pragma: no cover
    from ._handle import Handle

# enum pagescan_stat, in index order (tests check it against the header
# and pagescan_stat_name()).
STATS = ("rss", "anon", "file", "shmem", "swapped", "thp", "hugetlb",
         "zero", "guard", "soft_dirty", "written", "present", "wp_marker")
STAT_SLOTS = 24
VMA_SHMEM = 1 << 16
VMA_WPALLOWED = 1 << 17


class MappingRecord(Structure):
    _fields_ = [("sz", c_size_t), ("start", c_uint64), ("end", c_uint64),
                ("offset", c_uint64), ("inode", c_uint64),
                ("flags", c_uint32), ("dev_major", c_uint32),
                ("dev_minor", c_uint32), ("reserved", c_uint32),
                ("name", c_char_p), ("bytes", c_uint64 * STAT_SLOTS)]


class SummaryOpts(Structure):
    _fields_ = [("sz", c_size_t), ("flags", c_uint64)]


class SummaryTotals(Structure):
    _fields_ = [("sz", c_size_t), ("unavailable", c_uint64),
                ("approximate", c_uint64), ("mappings", c_uint64),
                ("size", c_uint64), ("total", c_uint64 * STAT_SLOTS),
                ("unattributed", c_uint64 * STAT_SLOTS)]


MAPPING_FN = ctypes.CFUNCTYPE(c_int, POINTER(MappingRecord), c_void_p)
_summary = _lib.optional("pagescan_summary", c_int, [
    c_void_p, c_uint64, c_uint64, POINTER(SummaryOpts), MAPPING_FN,
    c_void_p, POINTER(SummaryTotals)])
_stat_name = _lib.optional("pagescan_stat_name", c_char_p, [ctypes.c_uint])


class Stats(NamedTuple):
    """Bytes by statistic (pagescan_summary(3)); None: not measurable with
    this kernel, backend or privilege (the CLI's n/a)."""

    rss: Optional[int]
    anon: Optional[int]
    file: Optional[int]
    shmem: Optional[int]
    swapped: Optional[int]
    thp: Optional[int]
    hugetlb: Optional[int]
    zero: Optional[int]
    guard: Optional[int]
    soft_dirty: Optional[int]
    written: Optional[int]
    present: Optional[int]
    wp_marker: Optional[int]


class MappingSummary(NamedTuple):
    """One mapping and what it holds, in bytes (None: unavailable)."""

    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    name: str
    flags: int
    rss: Optional[int]
    anon: Optional[int]
    file: Optional[int]
    shmem: Optional[int]
    swapped: Optional[int]
    thp: Optional[int]
    hugetlb: Optional[int]
    zero: Optional[int]
    guard: Optional[int]
    soft_dirty: Optional[int]
    written: Optional[int]
    present: Optional[int]
    wp_marker: Optional[int]

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def pages(self) -> int:
        return (self.end - self.start) // PAGE_SIZE

    @property
    def label(self) -> str:
        """The path, [heap], ... or [anon] / [anon shared]."""
        if self.name:
            return self.name
        return ("[anon shared]" if self.flags & _lib.VMA_SHARED
                else "[anon]")

    @property
    def stats(self) -> Stats:
        return Stats(*self[8:])


class Summary:
    """The answer of :meth:`Handle.summary`: ``mappings`` (a list of
    :class:`MappingSummary`, in address order), ``total`` (everything the
    scan found, unattributed pages included) and ``unattributed`` (pages
    in no listed mapping: mapped during the scan), as :class:`Stats`;
    ``unavailable`` and ``approximate``: names of the statistics this
    kernel cannot measure, or may over-count (pagescan_summary(3))."""

    def __init__(self, pid: int, backend: str,
                 mappings: List[MappingSummary], tot: SummaryTotals):
        self.pid = pid
        self.backend = backend
        self.mappings = mappings
        self.unavailable: FrozenSet[str] = _names(tot.unavailable)
        self.approximate: FrozenSet[str] = _names(tot.approximate)
        self.size: int = tot.size
        self.total = Stats(*_values(tot.total, tot.unavailable))
        self.unattributed = Stats(*_values(tot.unattributed,
                                           tot.unavailable))

    def __iter__(self) -> Iterator[MappingSummary]:
        return iter(self.mappings)

    def __len__(self) -> int:
        return len(self.mappings)

    def __repr__(self) -> str:
        return "<pagescan.Summary pid=%d, %d mappings, rss %s>" % (
            self.pid, len(self.mappings), self.total.rss)


def _names(mask: int) -> FrozenSet[str]:
    return frozenset(n for i, n in enumerate(STATS) if mask & (1 << i))


def _values(arr, unavailable: int) -> list:
    return [None if unavailable & (1 << i) else arr[i]
            for i in range(len(STATS))]


def available() -> bool:
    return _summary is not None


def summary(h: "Handle", start: int = 0, end: Optional[int] = None
            ) -> Summary:
    if _summary is None:
        raise NotImplementedError("%s has no pagescan_summary(): a newer "
                                  "libpagescan is needed" % _lib.path)
    from ._handle import _u64
    start = _u64(start, "start")
    end = (1 << 64) - 1 if end is None else _u64(end, "end")
    recs: list = []
    failure: List[BaseException] = []

    def one(mp, _ctx):
        try:
            m = mp.contents
            recs.append((m.start, m.end, perms(m.flags), m.offset,
                         "%02x:%02x" % (m.dev_major, m.dev_minor), m.inode,
                         _lib.decode(m.name), m.flags, list(m.bytes)))
            return 0
        except BaseException as e:  # never unwind through C
            failure.append(e)
            return 1

    fn = MAPPING_FN(one)
    o = _lib.opts(SummaryOpts)
    tot = _lib.opts(SummaryTotals)
    ptr = h._res.acquire()
    try:
        ret = _summary(ptr, start, end, o, fn, None, tot)
        if ret < 0:
            raise _lib.error(ret, "summary of pid %d" % h.pid)
    finally:
        h._res.release()
    if failure:
        raise failure[0]
    un = tot.unavailable
    maps = [MappingSummary(*r[:8], *_values(r[8], un)) for r in recs]
    return Summary(h.pid, h.backend, maps, tot)
