# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The feature table (pagescan_probe(3)) and the write-watch backends."""

from __future__ import annotations

import ctypes
import errno as _errno
import os
from typing import Dict, NamedTuple, Optional

from . import _lib
from ._lib import lib


class Feature(NamedTuple):
    """One probed feature of this kernel and caller."""

    name: str               # "scan", "cat:written", "uffd-wp-async", ...
    description: str
    present: Optional[bool]  # None: the probe could not tell (see error)
    support: str            # "native", "emulated" or "unavailable"
    reason: str             # why, one line
    error: int              # the errno of an inconclusive probe, else 0

    def __bool__(self) -> bool:
        return bool(self.present)


def features() -> Dict[str, Feature]:
    """Every feature the library probes, by name, in the library's order:
    the PAGEMAP_SCAN ioctl, its nine categories and two flags, the
    userfaultfd modes, soft-dirty, PFNs, the zero page, THP, hugetlb,
    guard regions and more.  support says how the scan backend selected
    by PAGESCAN_BACKEND serves the scan, categories and flags.  Probes
    run once per process and are cached."""
    out: Dict[str, Feature] = {}
    feat = 0
    while True:
        fi = _lib.opts(_lib.FeatureInfo)
        ret = lib.pagescan_feature_info(feat, fi)
        if ret == -_errno.EINVAL:
            break               # past PAGESCAN_FEAT__COUNT
        _lib.check(ret, "feature %d" % feat)
        present = None if fi.present < 0 else bool(fi.present)
        sup = (_lib.SUPPORT_NAMES[fi.support]
               if 0 <= fi.support < len(_lib.SUPPORT_NAMES)
               else str(fi.support))
        name = _lib.decode(fi.name)
        out[name] = Feature(name, _lib.decode(fi.desc), present, sup,
                            _lib.decode(fi.reason),
                            -fi.present if fi.present < 0 else 0)
        feat += 1
    return out


class WatchBackend(NamedTuple):
    name: str
    available: Optional[bool]   # None: could not tell (see reason)
    reason: str


def watch_backends() -> Dict[str, WatchBackend]:
    """The four write-watch backends, fastest first, with whether each
    can run here and why (pagescan_watch_available(3))."""
    out: Dict[str, WatchBackend] = {}
    for b in range(1, len(_lib.WATCH_BACKENDS)):
        why = ctypes.c_char_p()
        ret = lib.pagescan_watch_available(b, ctypes.byref(why))
        name = _lib.WATCH_BACKENDS[b]
        reason = _lib.decode(why.value) if why.value else (
            os.strerror(-ret) if ret < 0 else "")
        out[name] = WatchBackend(name, None if ret < 0 else bool(ret),
                                 reason)
    return out
