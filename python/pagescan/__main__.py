# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""python3 -m pagescan PID: the summary `pagescan PID` prints (the same
columns, rows, totals and notes, from the same pagescan_summary()), for a
machine with the Python package and libpagescan0 but not the command.

Options as the command's summary: --sort, --top, --filter, --group,
--columns, --pages, --json.  Several PIDs, --all, --name and --baseline
are the command's (pagescan(1)).  Exit status as the command's: 0, 1 usage,
2 no such process, 3 permission denied, 4 unsupported, 5 other failure.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import Dict, List, Optional, Sequence

import pagescan

from . import _text
from ._summary import STATS, VMA_SHMEM, VMA_WPALLOWED

EX_OK, EX_USAGE, EX_NOPROC, EX_PERM, EX_UNSUPP, EX_FAIL = range(6)
SCHEMA = "pagescan/2"
VMA_HUGETLB = 1 << 8

# (heading, --sort/--columns name, statistic or None for thp + hugetlb,
# priority): cli/columns.c.  RSS, ANON, FILE and SWAP always show.
CORE = 99
COLS = [
    ("RSS", "rss", "rss", CORE), ("ANON", "anon", "anon", CORE),
    ("FILE", "file", "file", CORE), ("SHMEM", "shmem", "shmem", 8),
    ("SWAP", "swapped", "swapped", CORE), ("HUGE", "huge", None, 7),
    ("ZERO", "zero", "zero", 6), ("GUARD", "guard", "guard", 5),
    ("SDIRTY", "soft-dirty", "soft_dirty", 4),
    ("WRITTEN", "written", "written", 3),
    ("UFFDWP", "wp-marker", "wp_marker", 2),
    ("PRESENT", "present", "present", 1),
]
ALIASES = {"swap": 4, "thp": 5, "hugetlb": 5, "pfnzero": 6,
           "soft_dirty": 8, "softdirty": 8, "sdirty": 8, "wp_marker": 10,
           "uffdwp": 10}
SORT_ADDRESS, SORT_SIZE, SORT_NAME = -1, -2, -3


def err(msg: str) -> None:
    sys.stderr.write("pagescan: %s\n" % msg)


class Row:
    """A mapping, or a group of them (--group), with bytes by statistic."""

    def __init__(self, start, end, flags, name: bytes, b: Dict[str, int]):
        self.start, self.end, self.flags = start, end, flags
        self.name, self.b = name, b
        self.size = end - start
        self.nmaps = 1

    @property
    def label(self) -> bytes:
        if self.name:
            return self.name
        return (b"[anon shared]" if self.flags & pagescan._lib.VMA_SHARED
                else b"[anon]")


def col_find(name: str) -> int:
    for k, (head, cname, _, _) in enumerate(COLS):
        if name.lower() in (cname.lower(), head.lower()):
            return k
    return ALIASES.get(name.lower(), -1)


def col_value(k: int, b: Dict[str, int]) -> int:
    stat = COLS[k][2]
    if stat is None:
        return b["thp"] + b["hugetlb"]
    return b[stat]


def col_available(k: int, unavailable) -> bool:
    stat = COLS[k][2]
    if stat is None:
        return "thp" not in unavailable or "hugetlb" not in unavailable
    return stat not in unavailable


class Table:
    def __init__(self, unavailable, in_pages: bool, page_size: int,
                 forced: Optional[List[bool]]):
        self.unavailable = unavailable
        self.in_pages = in_pages
        self.page_size = page_size
        self.forced = forced is not None
        self.show = list(forced) if forced else [False] * len(COLS)
        self.wd = [0] * len(COLS)
        self.zero_cols: List[str] = []
        self.cut_cols: List[str] = []
        self.info = [False] * len(COLS)
        self.name_below = False

    def fmt(self, v: int) -> str:
        return str(v // self.page_size) if self.in_pages else _text.human(v)

    def plan(self, rows: Sequence[Dict[str, int]], fixed: int,
             name_min: int, width: int) -> None:
        for k, (head, name, _, prio) in enumerate(COLS):
            self.wd[k] = 0
            if not col_available(k, self.unavailable):
                self.show[k] = False
                continue
            self.wd[k] = len(head)
            info = False
            self.info[k] = False
            for b in rows:
                v = col_value(k, b)
                # PRESENT says something only where it is not RSS.
                if (v != b["rss"]) if k == len(COLS) - 1 else v != 0:
                    info = True
                self.wd[k] = max(self.wd[k], len(self.fmt(v)))
            self.info[k] = info
            if self.forced:
                continue
            self.show[k] = prio == CORE or info
            if not self.show[k] and k != len(COLS) - 1:
                self.zero_cols.append(name)
        if not self._drop(fixed, name_min, width, False):
            # Not even the core columns leave the name room: the name
            # goes on a line of its own, and a core column that is 0 in
            # every row may go too (as the C command does).
            self.name_below = True
            self.cut_cols = []
            for k, c in enumerate(COLS):
                if not self.forced and self.wd[k]:
                    self.show[k] = c[3] == CORE or self.info[k]
            if not self._drop(fixed, -2, width, False):
                self._drop(fixed, -2, width, True)

    def _drop(self, fixed: int, name_min: int, width: int,
              core: bool) -> bool:
        used = fixed + self.used()
        while used + 2 + name_min > width:
            cand = [k for k in range(len(COLS)) if self.show[k] and
                    (COLS[k][3] != CORE or
                     (core and k != 0 and not self.info[k]))]
            if not cand:
                return False
            drop = min(cand, key=lambda k: (COLS[k][3], -k))
            self.show[drop] = False
            used -= 1 + self.wd[drop]
            self.cut_cols.append(COLS[drop][1])
        return True

    def used(self) -> int:
        return sum(1 + self.wd[k] for k in range(len(COLS)) if self.show[k])

    def heads(self) -> str:
        return "".join(" %*s" % (self.wd[k], COLS[k][0])
                       for k in range(len(COLS)) if self.show[k])

    def values(self, b: Dict[str, int]) -> str:
        out = []
        for k in range(len(COLS)):
            if not self.show[k]:
                continue
            if not col_available(k, self.unavailable):
                out.append(" %*s" % (self.wd[k], "n/a"))
            else:
                out.append(" %*s" % (self.wd[k], self.fmt(col_value(k, b))))
        return "".join(out)

    def notes(self, approximate) -> str:
        out = []
        na = [COLS[k][1] for k in range(len(COLS))
              if not col_available(k, self.unavailable) and
              COLS[k][2] is not None]
        ap = [s for s in STATS if s in approximate]
        if self.zero_cols:
            out.append(_text.wrap("0 everywhere: %s."
                                  % ", ".join(self.zero_cols)))
        if na:
            out.append(_text.wrap("n/a on this kernel (or without "
                                  "privilege): %s." % ", ".join(na)))
        if ap:
            out.append(_text.wrap("may over-count here: %s (see "
                                  "pagescan(1))." % ", ".join(ap)))
        if self.cut_cols:
            out.append(_text.wrap("not shown for lack of width: %s "
                                  "(COLUMNS, --columns, or --json)."
                                  % ", ".join(self.cut_cols)))
        return "".join(out)


def perms(flags: int) -> str:
    return pagescan._handle.perms(flags)


def raw(b: Dict[str, Optional[int]]) -> Dict[str, int]:
    return {k: (v or 0) for k, v in b.items()}


def add(to: Dict[str, int], b: Dict[str, int]) -> None:
    for k in to:
        to[k] += b[k]


def comm_of(pid: int) -> bytes:
    try:
        with open("/proc/%d/comm" % pid, "rb") as f:
            c = f.read(63)
    except OSError:
        return b"?"
    if not c:
        return b"?"
    return c[:-1] if c.endswith(b"\n") else c


def json_stats(b: Dict[str, int], unavailable) -> str:
    return ",".join('"%s":%s' % (s, "null" if s in unavailable else b[s])
                    for s in STATS)


def json_flags(flags: int) -> str:
    f = [n for bit, n in ((VMA_SHMEM, "shmem"), (VMA_HUGETLB, "hugetlb"),
                          (VMA_WPALLOWED, "uffd-wp")) if flags & bit]
    return ",\"flags\":[%s]" % ",".join('"%s"' % x for x in f)


def json_out(pid, comm, s, rows, group, shown, shown_size,
             shown_maps) -> str:
    un = s.unavailable
    o = ['{"schema":"%s","command":"summary","kernel":%s'
         % (SCHEMA, _text.json_str(os.uname().release.encode()))]
    o.append(',"pid":%d,"comm":%s,"backend":"%s","page_size":%d'
             % (pid, _text.json_str(comm), s.backend, pagescan.PAGE_SIZE))
    o.append(',"available":[%s],"approximate":[%s]' % (
        ",".join('"%s"' % x for x in STATS if x not in un),
        ",".join('"%s"' % x for x in STATS if x in s.approximate)))
    o.append(',"mappings":[')
    for i, m in enumerate(rows):
        o.append('%s\n{"start":"%#x","end":"%#x","perms":"%s","name":%s'
                 % ("," if i else "", m.start, m.end,
                    "" if group else perms(m.flags), _text.json_str(m.label)))
        o.append(json_flags(m.flags))
        o.append(',"size":%d' % m.size)
        if group:
            o.append(',"mappings":%d' % m.nmaps)
        o.append(',"bytes":{%s}}' % json_stats(m.b, un))
    o.append('\n],"shown":{"mappings":%d,"size":%d,"bytes":{%s}}'
             % (shown_maps, shown_size, json_stats(shown, un)))
    o.append(',"total":{"mappings":%d,"size":%d,"bytes":{%s}}'
             % (len(s.mappings), s.size, json_stats(raw(s.total._asdict()),
                                                    un)))
    o.append(',"unattributed":{"bytes":{%s}}}\n'
             % json_stats(raw(s.unattributed._asdict()), un))
    return "".join(o)


def text_out(pid, comm, s, rows, group, in_pages, forced, shown,
             shown_size, shown_maps) -> str:
    width = _text.term_width()
    total = raw(s.total._asdict())
    other = raw(s.unattributed._asdict())
    has_other = any(other.values())
    subset = shown_maps < len(s.mappings)
    o = [_text.wrap("pid %d (%s), backend %s, kernel %s, page size %s%s" % (
        pid, _text.text(comm), s.backend, os.uname().release,
        _text.human(pagescan.PAGE_SIZE),
        ", counts in pages" if in_pages else ""))]
    addrw = max([7] + [len("%x" % m.start) for m in rows])
    sizew = max([4, len(_text.human(s.size))] +
                [len(_text.human(m.size)) for m in rows])
    permw = max([4] + [len(str(m.nmaps)) for m in rows]) if group else 4
    vals = [m.b for m in rows] + ([other] if has_other else []) + [total] \
        + ([shown] if subset else [])
    t = Table(s.unavailable, in_pages, pagescan.PAGE_SIZE, forced)
    fixed = addrw + 1 + permw + 1 + sizew
    t.plan(vals, fixed, 16, width)
    used = fixed + t.used()
    o.append("%-*s %-*s %*s" % (addrw, "ADDRESS", permw,
                                "MAPS" if group else "PERM", sizew, "SIZE"))
    sep = "\n  " if t.name_below else "  "
    namew = width - 2 if t.name_below else width - used - 2
    o.append(t.heads() + sep + "MAPPING\n")
    for m in rows:
        o.append("%0*x %-*s %*s" % (addrw, m.start, permw,
                                    str(m.nmaps) if group else
                                    perms(m.flags), sizew,
                                    _text.human(m.size)))
        o.append(t.values(m.b) + sep + _text.fit(m.label, namew) + "\n")
    if has_other:
        o.append("%-*s %-*s %*s" % (addrw, "?", permw, "", sizew, "?"))
        o.append(t.values(other) + sep + "(mapped during the scan)\n")
    if subset:
        o.append("%-*s %-*s %*s" % (addrw, "SHOWN", permw, "", sizew,
                                    _text.human(shown_size)))
        label = "%d of %d mappings" % (shown_maps, len(s.mappings))
        if len(label) > width - used - 2 and not t.name_below:
            label = "%d of %d" % (shown_maps, len(s.mappings))
        o.append(t.values(shown) + sep + label + "\n")
    o.append("%-*s %-*s %*s" % (addrw, "TOTAL", permw, "", sizew,
                                _text.human(s.size)))
    n = len(s.mappings)
    label = "%d mapping%s%s" % (n, "" if n == 1 else "s",
                                " and what appeared during the scan"
                                if has_other else "")
    if len(label) > width - used - 2 and not t.name_below:
        label = "%d mapping%s%s" % (n, "" if n == 1 else "s",
                                    " and ?" if has_other else "")
    o.append(t.values(total) + sep + label + "\n")
    o.append(t.notes(s.approximate))
    return "".join(o)


def make_groups(rows: List[Row]) -> List[Row]:
    out: List[Row] = []
    for m in sorted(rows, key=lambda r: (r.label, r.start)):
        if out and out[-1].label == m.label:
            g = out[-1]
            g.start = min(g.start, m.start)
            g.end = max(g.end, m.end)
            g.size += m.size
            g.nmaps += 1
            add(g.b, m.b)
            continue
        g = Row(m.start, m.end, m.flags, m.name, dict(m.b))
        g.size = m.size
        out.append(g)
    return out


class Parser(argparse.ArgumentParser):
    def error(self, message):           # usage errors exit 1, as the CLI
        err(message)
        sys.exit(EX_USAGE)


def parse(argv):
    ap = Parser(prog="python3 -m pagescan", description=__doc__.split(
        "\n\n")[0], epilog="Exit status: 0 success, 1 usage error, 2 no "
        "such process, 3 permission denied, 4 unsupported, 5 other.")
    ap.add_argument("pid", help="process id")
    ap.add_argument("--sort", help="address (default), size, name, or a "
                    "column (largest first)")
    ap.add_argument("--top", help="only the first N rows (sorted by rss "
                    "unless --sort)")
    ap.add_argument("--filter", action="append", default=[],
                    help="only mappings whose name contains TEXT "
                    "(repeated: any)")
    ap.add_argument("--group", action="store_true",
                    help="one row per name")
    ap.add_argument("--columns", action="append", default=[],
                    help="exactly these columns (all: every one)")
    ap.add_argument("--pages", action="store_true",
                    help="counts in pages instead of bytes")
    ap.add_argument("--json", action="store_true",
                    help='one JSON object (schema "%s")' % SCHEMA)
    return ap.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    pid = _text._parse_u64(a.pid)
    if pid is None or pid == 0 or pid > 0x7fffffff:
        err("'%s' is not a process id (a positive decimal number)"
            % _text.text(os.fsencode(a.pid)))
        return EX_USAGE
    sort, sorted_ = SORT_ADDRESS, False
    if a.sort is not None:
        sorted_ = True
        if a.sort in ("address", "addr", "pid"):
            sort = SORT_ADDRESS
        elif a.sort == "size":
            sort = SORT_SIZE
        elif a.sort in ("name", "mapping", "comm"):
            sort = SORT_NAME
        else:
            sort = col_find(a.sort)
            if sort < 0:
                err("unknown --sort column '%s'; valid: address, size, "
                    "name, %s" % (a.sort, ", ".join(c[1] for c in COLS)))
                return EX_USAGE
    top = 0
    if a.top is not None:
        top = _text._parse_u64(a.top) or 0
        if not top:
            err("--top wants a positive decimal number, not '%s'" % a.top)
            return EX_USAGE
        if not sorted_:
            sort = 0                    # rss
    forced = None
    for lst in a.columns:
        forced = forced or [False] * len(COLS)
        for tok in [x for x in lst.split(",") if x]:
            if tok == "all":
                forced = [True] * len(COLS)
                continue
            k = col_find(tok)
            if k < 0:
                err("unknown column '%s'; valid: all, %s"
                    % (tok, ", ".join(c[1] for c in COLS)))
                return EX_USAGE
            forced[k] = True
    comm = comm_of(pid)
    try:
        with pagescan.open(pid) as h:
            s = h.summary()
    except ProcessLookupError:
        if os.path.exists("/proc/%d" % pid):
            err("pid %d (%s) has no user memory (a kernel thread, or a "
                "process that has exited)" % (pid, _text.text(comm)))
        else:
            err("no process with pid %d" % pid)
        return EX_NOPROC
    except PermissionError as e:
        err("may not read pid %d (%s): that needs ptrace read access; run "
            "as its user or as root" % (pid, e.strerror))
        return EX_PERM
    except OSError as e:
        err("scan of pid %d failed: %s" % (pid, e.strerror))
        return (EX_UNSUPP if e.errno in (errno.EOPNOTSUPP, errno.ENOTTY,
                                         errno.ENOSYS) else EX_FAIL)
    rows = [Row(m.start, m.end, m.flags, os.fsencode(m.name),
                raw(m.stats._asdict())) for m in s]
    if a.filter:
        rows = [r for r in rows
                if any(os.fsencode(f) in r.label for f in a.filter)]
    if a.group:
        rows = make_groups(rows)
    if sort == SORT_ADDRESS:
        rows.sort(key=lambda r: r.start)
    elif sort == SORT_NAME:
        rows.sort(key=lambda r: (r.label, r.start))
    elif sort == SORT_SIZE:
        rows.sort(key=lambda r: (-r.size, r.start))
    else:
        rows.sort(key=lambda r: (-col_value(sort, r.b), r.start))
    if top:
        rows = rows[:top]
    shown = dict.fromkeys(STATS, 0)
    for r in rows:
        add(shown, r.b)
    shown_size = sum(r.size for r in rows)
    shown_maps = sum(r.nmaps for r in rows)
    if a.json:
        out = json_out(pid, comm, s, rows, a.group, shown, shown_size,
                       shown_maps)
    else:
        out = text_out(pid, comm, s, rows, a.group, a.pages, forced,
                       shown, shown_size, shown_maps)
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except OSError as e:
        err("writing the output: %s" % e.strerror)
        return EX_FAIL
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())
