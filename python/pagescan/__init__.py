# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""pagescan: page-state scanning and write watches for Linux, in Python.

A binding of libpagescan (the shared library libpagescan.so.0):

>>> import pagescan
>>> with pagescan.open() as h:                      # this process
...     a = h.regions_array(require="present")      # numpy, in bulk
>>> w = pagescan.watch(bytearray(1 << 20))
>>> w.get()                                         # written page offsets
>>> with pagescan.snapshot(mmap.mmap(-1, 1 << 20)) as s:
...     s.restore()                                 # back to the copy

Set PAGESCAN_LIB=/path/to/libpagescan.so.0 to load a library that is not
installed (a build tree).  See python/README.md and pagescan(7).
"""

from ._lib import InvalidArgument, path as _path, lib as _clib
from ._lib import WP_MATCHING, CHECK_WPASYNC
from ._categories import Category, available as available_categories
from ._handle import (Handle, Mapping, Region, RegionIterator, open,
                      region_dtype, PAGE_SIZE)
from ._features import Feature, WatchBackend, features, watch_backends
from ._watch import Watch, WatchVerifyError, watch
from ._snapshot import Snapshot, SnapshotStats, SnapshotVerifyError, snapshot
from ._summary import MappingSummary, Stats, Summary, STATS

__version__ = "0.1.0"

#: The loaded shared library's path (as dlopen was given it).
library_path: str = _path


def library_version() -> tuple:
    """(major, minor) of the loaded libpagescan."""
    return (_clib.pagescan_version_major(), _clib.pagescan_version_minor())


__all__ = [
    "Category", "CHECK_WPASYNC", "Feature", "Handle", "InvalidArgument",
    "Mapping", "MappingSummary", "PAGE_SIZE", "Region", "RegionIterator",
    "STATS", "Snapshot", "SnapshotStats", "SnapshotVerifyError", "Stats",
    "Summary", "WP_MATCHING",
    "Watch", "WatchBackend", "WatchVerifyError", "available_categories",
    "features", "library_path", "library_version", "open", "region_dtype",
    "snapshot", "watch", "watch_backends",
]
