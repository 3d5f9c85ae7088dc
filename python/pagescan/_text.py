# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Text as the pagescan command prints it (cli/out.c): names escaped for a
terminal, display widths, human sizes, wrapping, JSON strings.  A mapping
name or a comm is whatever bytes a process chose: escape sequences,
invalid UTF-8."""

from __future__ import annotations

import ctypes
import ctypes.util
import locale
import os
import sys
from typing import List, Optional, Tuple

_utf8: Optional[bool] = None
_wcwidth = None


def _locale_utf8() -> bool:
    global _utf8, _wcwidth
    if _utf8 is None:
        try:
            locale.setlocale(locale.LC_CTYPE, "")
        except locale.Error:
            pass
        _utf8 = locale.nl_langinfo(locale.CODESET) == "UTF-8"
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _wcwidth = libc.wcwidth
        _wcwidth.restype = ctypes.c_int
        _wcwidth.argtypes = [ctypes.c_wchar]
    return _utf8


def _utf8_seq(b: bytes, i: int) -> Tuple[int, int]:
    """(length, code point) of the valid UTF-8 sequence at b[i], or
    (0, 0): no overlong forms, surrogates or values above U+10FFFF."""
    c = b[i]
    if c < 0x80:
        return 1, c
    if 0xc2 <= c <= 0xdf:
        n, c, lo = 2, c & 0x1f, 0x80
    elif 0xe0 <= c <= 0xef:
        n, c, lo = 3, c & 0x0f, 0x800
    elif 0xf0 <= c <= 0xf4:
        n, c, lo = 4, c & 0x07, 0x10000
    else:
        return 0, 0
    for k in range(1, n):
        if i + k >= len(b) or (b[i + k] & 0xc0) != 0x80:
            return 0, 0
        c = c << 6 | (b[i + k] & 0x3f)
    if c < lo or c > 0x10ffff or 0xd800 <= c <= 0xdfff:
        return 0, 0
    return n, c


def _hostile(c: int) -> bool:
    """Code points that change what a terminal shows beyond themselves."""
    return (0x80 <= c < 0xa0 or c == 0xad or 0x200b <= c <= 0x200f or
            0x2028 <= c <= 0x202e or 0x2060 <= c <= 0x206f or
            c == 0xfeff or 0xfff9 <= c <= 0xfffb or
            (c & 0xfffe) == 0xfffe or 0xfdd0 <= c <= 0xfdef or
            0xe0000 <= c <= 0xe007f)


def _pieces(b: bytes) -> List[Tuple[str, int]]:
    """(text to print, display width) for each piece of @b."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5c:                            # backslash
            out.append(("\\\\", 2))
            i += 1
            continue
        if 0x20 <= c < 0x7f:
            out.append((chr(c), 1))
            i += 1
            continue
        n, cp = _utf8_seq(b, i) if c >= 0x80 and _locale_utf8() else (0, 0)
        if n > 1 and not _hostile(cp):
            w = _wcwidth(chr(cp))
            if w >= 0:
                out.append((b[i:i + n].decode(), w))
                i += n
                continue
        n = max(n, 1)
        out.append(("".join("\\x%02x" % x for x in b[i:i + n]), 4 * n))
        i += n
    return out


def text(b: bytes) -> str:
    return "".join(p for p, _ in _pieces(b))


def width(b: bytes) -> int:
    return sum(w for _, w in _pieces(b))


def fit(b: bytes, room: int) -> str:
    """@b escaped into @room columns: whole, ".../" and the file name of a
    path, or "..." and the tail that fits."""
    w = width(b)
    room = max(room, 0)
    if w <= room:
        return text(b)
    if room < 4:
        return " " * room
    slash = b.rfind(b"/")
    if slash > 0 and slash + 1 < len(b):
        base = b[slash + 1:]
        if width(base) + 4 <= room:
            return ".../" + text(base)
    cut = w - (room - 3)
    ps = _pieces(b)
    k = 0
    while k < len(ps) and cut > 0:
        cut -= ps[k][1]
        k += 1
    return "..." + "".join(p for p, _ in ps[k:])


def _parse_u64(s: str) -> Optional[int]:
    """strtoull(s, 0) as the command's parse_u64(): decimal, 0x hex, 0
    octal; no sign, no blanks."""
    if not s or s[0] in "+- \t":
        return None
    try:
        v = int(s, 0) if not (len(s) > 1 and s[0] == "0" and
                              s[1] not in "xX") else int(s, 8)
    except ValueError:
        return None
    return v if 0 <= v < 1 << 64 else None


_width: Optional[int] = None


def term_width() -> int:
    global _width
    if _width is None:
        w = 80
        try:
            if os.isatty(sys.stdout.fileno()):
                w = os.get_terminal_size(sys.stdout.fileno()).columns or 80
            else:
                raise OSError
        except (OSError, ValueError, AttributeError):
            v = _parse_u64(os.environ.get("COLUMNS", ""))
            if v is not None and 20 <= v <= 10000:
                w = v
        _width = max(w, 40)
    return _width


def wrap(line: str, ind: int = 0) -> str:
    """Words of @line, broken at the terminal width."""
    out, col, width = [], 0, term_width()
    for word in [w for w in line.split(" ") if w]:
        if col and col + 1 + len(word) > width:
            out.append("\n")
            col = 0
        # A word wider than a line (a long path) is cut, as in the C
        # command.
        while len(word) > width - ind and width - ind >= 8:
            k = width - (col + 1 if col > ind else ind)
            if k < 8:
                out.append("\n")
                col = 0
                continue
            out.append(" " * (ind - col) if col < ind else
                       " " if col > ind else "")
            out.append(word[:k] + "\n")
            col = 0
            word = word[k:]
        if not col:
            out.append(" " * ind)
            col = ind
        else:
            out.append(" ")
            col += 1
        out.append(word)
        col += len(word)
    return "".join(out) + "\n"


def human(n: int) -> str:
    """Powers of 1024: "0", "4.0K", "12M", "1.5G"."""
    if n < 1024:
        return str(n)
    v, u = float(n), -1
    while v >= 1023.5 and u < 5:
        v /= 1024
        u += 1
    return ("%.1f%s" if v < 10 else "%.0f%s") % (v, "KMGTPE"[u])


def json_str(b: bytes) -> str:
    """A JSON string of raw bytes: valid UTF-8 kept, an invalid byte as a
    lone low surrogate (\\udcNN), as the command writes it."""
    out = ['"']
    i = 0
    while i < len(b):
        c = b[i]
        if 0x20 <= c < 0x7f and c not in (0x22, 0x5c):
            out.append(chr(c))
            i += 1
        elif c in (0x22, 0x5c):
            out.append("\\" + chr(c))
            i += 1
        elif c < 0x80:
            out.append("\\u%04x" % c)
            i += 1
        else:
            n, cp = _utf8_seq(b, i)
            if not n:
                out.append("\\udc%02x" % c)
                i += 1
            elif cp in (0x2028, 0x2029):
                out.append("\\u%04x" % cp)
                i += n
            else:
                out.append(b[i:i + n].decode())
                i += n
    out.append('"')
    return "".join(out)
