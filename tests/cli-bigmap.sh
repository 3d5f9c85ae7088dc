#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: a target with 20,000 mappings (5,000 where the scan is
# emulated; 10,000 consecutive ones of
# one file, 10,000 anonymous ones): the summary counts every mapping and
# equals smaps_rollup; the map groups the file's mappings into one row
# (and the anonymous ones, beyond 500 rows), --expand gives each its own
# row; the SVG is well-formed XML, under 3 MB, its CSS valid (each class
# once, every class used defined: an invalid rule leaves cells black),
# one <g> per row with the row's mapping count in its tooltip; every text
# line fits 80 columns.  Prints the time each command took (figures).
. "$(dirname "$0")/clilib.bash" || exit 99

# Where the scan is emulated (a VM's old kernel under TCG, where 20,000
# timed out) 5,000 mappings.
start_many_maps 20000 5000
unset COLUMNS

python3 - "$PS" "$TPID" "$T_TMP" "$MAPS_N" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import json, os, re, subprocess, sys, time
import xml.etree.ElementTree as ET
ps, pid, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
half = int(sys.argv[4]) // 2
lay = json.load(open(tmp + "/layout.json"))
bad = 0
def fail(m):
    global bad
    print("FAIL cli-bigmap:", m); bad += 1

def run(*args):
    t = time.monotonic()
    out = subprocess.run([ps] + list(args), capture_output=True)
    dt = time.monotonic() - t
    print("pagescan %-28s %.3f s, %d bytes" % (" ".join(a for a in args if a != pid), dt,
                                               len(out.stdout)))
    if out.returncode != 0:
        fail("%s: exit %d: %s" % (args, out.returncode, out.stderr.decode()))
    if len(out.stderr.splitlines()) > 1:
        fail("%s: stderr %r" % (args, out.stderr[:300]))
    return out.stdout

def fits(name, text):
    for l in text.decode().splitlines():
        if len(l) > 80:
            fail("%s: a line of %d columns: %r" % (name, len(l), l)); break

maps = [l.split() for l in open("/proc/%s/maps" % pid)]
maps = [m for m in maps if not m[-1] == "[vsyscall]"]
kv = {l.split(":")[0]: l.split()[1] for l in open("/proc/%s/smaps_rollup" % pid)
      if ":" in l and not l[0].isdigit()}
fstart, fend = (int(lay["file"][k], 16) for k in ("start", "end"))
nfile = sum(1 for m in maps if fstart <= int(m[0].split("-")[0], 16) < fend)
if nfile != half:
    fail("the target has %d mappings of its file, not %d" % (nfile, half))

# The summary.
fits("summary", run(pid))
d = json.loads(run(pid, "--json"))
if d["total"]["mappings"] != len(maps) or len(d["mappings"]) != len(maps):
    fail("summary: %d mappings (%d rows), /proc/PID/maps has %d" %
         (d["total"]["mappings"], len(d["mappings"]), len(maps)))
for k, m in (("rss", "Rss"), ("anon", "Anonymous")):
    if d["total"]["bytes"][k] != int(kv[m]) * 1024:
        fail("summary: total %s %d, smaps_rollup %s kB" %
             (k, d["total"]["bytes"][k], kv[m]))

# The map, grouped.
txt = run("map", pid, "--no-color")
fits("map", txt)
j = json.loads(run("map", pid, "--json"))
rows = j["rows"]
if sum(r["mappings"] for r in rows) != len(maps):
    fail("map: the rows hold %d mappings, not %d" %
         (sum(r["mappings"] for r in rows), len(maps)))
frow = [r for r in rows if int(r["start"], 16) == fstart]
if not frow or frow[0]["mappings"] != half or int(frow[0]["end"], 16) != fend:
    fail("map: the file's row %r" % ({k: v for k, v in frow[0].items()
                                      if k != "cells"} if frow else None))
if len(rows) > 500:
    fail("map: %d rows for %d mappings" % (len(rows), len(maps)))
if not re.search(rb"\n[0-9a-f]{12} big \(%d\) " % half, txt):
    fail("map: no row 'big (%d)' in the text" % half)

# The SVG.
def svg_check(name, data, nrows, limit):
    if limit and len(data) > limit:
        fail("%s: %d bytes, over %d" % (name, len(data), limit))
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        fail("%s: not well-formed: %s" % (name, e)); return None
    ns = "{http://www.w3.org/2000/svg}"
    style = root.find(ns + "style").text
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", style)
    seen = {}
    for sel, body in rules:
        sel = sel.strip()
        if sel == "rect":
            continue
        if not re.fullmatch(r"\.[A-Za-z_][A-Za-z0-9_-]*", sel):
            fail("%s: CSS selector %r is invalid" % (name, sel))
        if sel in seen:
            fail("%s: CSS class %s defined twice (%s, %s)" %
                 (name, sel, seen[sel], body))
        seen[sel] = body
    used = set()
    for e in root.iter():
        used.update(e.get("class", "").split())
    undef = {c for c in used if "." + c not in seen}
    if undef:
        fail("%s: classes used but not defined: %s" % (name, sorted(undef)))
    g = [e for e in root.iter(ns + "g")]
    if len(g) != nrows:
        fail("%s: %d row groups for %d rows" % (name, len(g), nrows))
    return g

g = svg_check("svg", run("map", pid, "--svg", "-"), len(rows), 3 << 20)
if g is not None and frow:
    tip = g[rows.index(frow[0])].find("{http://www.w3.org/2000/svg}title").text
    if "%d mappings" % half not in tip:
        fail("svg: the file's row says %r" % tip)

# Expanded: one row per mapping.
txt = run("map", pid, "--no-color", "--expand")
fits("map --expand", txt)
j = json.loads(run("map", pid, "--json", "--expand"))
if len(j["rows"]) != len(maps) or any(r["mappings"] != 1 for r in j["rows"]):
    fail("map --expand: %d rows for %d mappings" % (len(j["rows"]), len(maps)))
svg_check("svg --expand", run("map", pid, "--svg", "-", "--expand"),
          len(j["rows"]), 0)
sys.exit(1 if bad else 0)
EOF
t_done
