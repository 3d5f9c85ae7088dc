# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Page categories (the PAGE_IS_* bits of PAGEMAP_SCAN) as an enum.Flag."""

from __future__ import annotations

import enum
from typing import Iterable, List, Tuple, Union

from . import _lib
from ._lib import InvalidArgument, lib


class Category(enum.Flag):
    """The nine page categories, bit for bit the kernel's PAGE_IS_* values.

    Combine with ``|``; test with ``in``: ``Category.PRESENT in r.categories``.
    ``str()`` gives the library's names ("present,file"), which
    :meth:`parse` reads back.
    """

    WPALLOWED = 1 << 0
    WRITTEN = 1 << 1
    FILE = 1 << 2
    PRESENT = 1 << 3
    SWAPPED = 1 << 4
    PFNZERO = 1 << 5
    HUGE = 1 << 6
    SOFT_DIRTY = 1 << 7     # Linux 6.8
    GUARD = 1 << 8          # Linux 6.16

    @property
    def names(self) -> List[str]:
        """The library's names of the bits set, in bit order."""
        return [_NAMES[b] for b in range(_lib.CAT_COUNT)
                if self.value & (1 << b)]

    def __str__(self) -> str:
        return ",".join(self.names)

    @classmethod
    def parse(cls, spec: "CategoriesLike") -> "Category":
        """Categories from names ("present,file", "soft-dirty|huge"), a list
        of names or Categories, an int mask or a Category."""
        mask, inv = _parse(spec, allow_not=False)
        return cls(mask)


# The library's spelling: "wpallowed", ..., "soft-dirty", "guard".
_NAMES = [_lib.decode(lib.pagescan_category_name(b))
          for b in range(_lib.CAT_COUNT)]

CategoriesLike = Union[Category, int, str, Iterable[Union[str, Category]],
                       None]


def _one(name: str) -> int:
    v = lib.pagescan_category_parse(name.strip().encode())
    if v < 0:
        raise InvalidArgument("unknown category %r; valid: %s"
                              % (name, ", ".join(_NAMES)))
    return v


def _parse(spec: CategoriesLike, allow_not: bool) -> Tuple[int, int]:
    """(mask, inverted) of a categories argument; "!name" sets inverted
    (and mask) bits where @allow_not."""
    if spec is None:
        return 0, 0
    if isinstance(spec, Category):
        return spec.value, 0
    if isinstance(spec, bool):
        raise TypeError("categories: a Category, int, str or list of "
                        "names, not bool")
    if isinstance(spec, int):
        if spec < 0 or spec >= 1 << 64:
            raise InvalidArgument("category mask %#x out of range" % spec)
        return spec, 0
    if isinstance(spec, str):
        items: Iterable = [s for s in spec.replace("|", ",").split(",")
                           if s.strip()]
        if not items and spec.strip():
            raise InvalidArgument("bad category list %r" % spec)
    else:
        try:
            items = list(spec)
        except TypeError:
            raise TypeError("categories: a Category, int, str or list of "
                            "names, not %s" % type(spec).__name__) from None
    mask = inv = 0
    for it in items:
        if isinstance(it, Category):
            mask |= it.value
            continue
        if not isinstance(it, str):
            raise TypeError("categories: names or Category values, not %s"
                            % type(it).__name__)
        s = it.strip()
        if s.startswith("!"):
            if not allow_not:
                raise InvalidArgument("%r: '!' (category must be absent) "
                                      "is for require= only" % it)
            bit = _one(s[1:])
            inv |= bit
            mask |= bit
        else:
            mask |= _one(s)
    return mask, inv


def mask(spec: CategoriesLike) -> int:
    return _parse(spec, allow_not=False)[0]


def require(spec: CategoriesLike) -> Tuple[int, int]:
    return _parse(spec, allow_not=True)


_available = None


def available() -> Category:
    """Categories whose answers mean something here: those the selected
    scan backend serves (natively or emulated), less soft-dirty where the
    kernel accepts the bit but never sets it (no CONFIG_MEM_SOFT_DIRTY).
    The default show= of regions(), as the CLI's."""
    global _available
    if _available is None:
        m = 0
        for b in range(_lib.CAT_COUNT):
            fi = _lib.opts(_lib.FeatureInfo)
            if (lib.pagescan_feature_info(_lib.FEAT_CAT_FIRST + b, fi) == 0
                    and fi.support != 0):
                m |= 1 << b
        if lib.pagescan_probe(_lib.FEAT_SOFT_DIRTY) != 1:
            m &= ~_lib.CAT_SOFT_DIRTY
        _available = Category(m)
    return _available
