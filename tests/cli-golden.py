# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# The checks of tests/cli-golden.sh on the outputs it saved in $1 (not a
# test by itself): the summary's JSON against what tests/cli-layout.c did,
# the text against the JSON, the map's cells against the summary, the SVG
# and watch's lines.
import json, sys, re
import xml.etree.ElementTree as ET

tmp = sys.argv[1]
fails = 0


def fail(msg):
    global fails
    print("FAIL cli-golden:", msg)
    fails += 1


def human(b):
    # pagescan(1): powers of 1024, one decimal below 10.
    if b < 1024:
        return str(b)
    v, u = float(b), -1
    while v >= 1023.5 and u < 5:
        v /= 1024
        u += 1
    return ("%.1f%s" if v < 9.95 else "%.0f%s") % (v, "KMGTPE"[u])


layout = json.load(open(tmp + "/layout.json"))
feat = json.load(open(tmp + "/features.out"))
summ = json.load(open(tmp + "/summary.out"))
psz = layout["page_size"]
for doc, cmd in ((feat, "features"), (summ, "summary")):
    if doc.get("schema") != "pagescan/2" or doc.get("command") != cmd:
        fail("%s: schema/command %r %r" % (cmd, doc.get("schema"),
                                           doc.get("command")))
avail = set(summ["available"])
stats = ["rss", "anon", "file", "shmem", "swapped", "thp", "hugetlb", "zero",
         "guard", "soft_dirty", "written", "present", "wp_marker"]


def expected(r):
    """What the layout did, in the summary's terms (bytes)."""
    e = r["expect"]
    rss = e["present"] - e["zero"]
    shmem = e["file"] if r["name"] == "shmem" else 0
    return {"rss": rss * psz, "anon": (rss - e["file"]) * psz,
            "file": (e["file"] - shmem) * psz, "shmem": shmem * psz,
            "swapped": e["swapped"] * psz, "thp": e["huge"] * psz,
            "hugetlb": 0, "zero": e["zero"] * psz, "guard": e["guard"] * psz,
            "present": e["present"] * psz}


maps = {m["start"]: m for m in summ["mappings"]}
for r in layout["regions"]:
    m = maps.get(r["start"])
    if not m:
        fail("no mapping at %s (%s)" % (r["start"], r["name"]))
        continue
    if m["end"] != r["end"] or m["size"] != r["pages"] * psz:
        fail("%s: mapping %s-%s %d bytes, layout %s-%s %d pages" % (
            r["name"], m["start"], m["end"], m["size"], r["start"],
            r["end"], r["pages"]))
    for k, want in expected(r).items():
        got = m["bytes"][k]
        if k not in avail:
            if got is not None:
                fail("%s: %s is %r where the kernel cannot report it" %
                     (r["name"], k, got))
            continue
        # Zero pages read as anonymous where they cannot be told apart.
        if k in summ["approximate"]:
            continue
        if got != want:
            fail("%s: %s = %r, layout says %d" % (r["name"], k, got, want))
    if r["name"] == "shmem" and "shmem" not in m["flags"]:
        fail("shmem: not flagged shmem: %r" % m["flags"])
for k in stats:
    if k not in avail:
        if summ["total"]["bytes"][k] is not None:
            fail("total %s not null" % k)
        continue
    s = sum(m["bytes"][k] for m in summ["mappings"]) + \
        summ["unattributed"]["bytes"][k]
    if summ["total"]["bytes"][k] != s:
        fail("total %s %d != rows + unattributed %d" % (
            k, summ["total"]["bytes"][k], s))
    if summ["shown"]["bytes"][k] != sum(m["bytes"][k]
                                       for m in summ["mappings"]):
        fail("shown %s is not the sum of the rows" % k)
if summ["total"]["mappings"] != len(summ["mappings"]):
    fail("total mappings %d, %d rows" % (summ["total"]["mappings"],
                                          len(summ["mappings"])))

# The text is the JSON rendered: each row's shown columns, at 80 columns.
text = open(tmp + "/summary-text.out").read().splitlines()
for line in text:
    if len(line) > 80:
        fail("text line of %d columns: %r" % (len(line), line))
hdr = [line for line in text if line.startswith("ADDRESS")]
key = {"RSS": "rss", "ANON": "anon", "FILE": "file", "SHMEM": "shmem",
       "SWAP": "swapped", "ZERO": "zero", "GUARD": "guard",
       "SDIRTY": "soft_dirty", "WRITTEN": "written", "UFFDWP": "wp_marker",
       "PRESENT": "present", "HUGE": None}
if not hdr:
    fail("text: no header")
else:
    heads = hdr[0].split()
    if heads[:4] != ["ADDRESS", "PERM", "SIZE", "RSS"] or \
            heads[-1] != "MAPPING":
        fail("text header: %r" % heads)
    cols = heads[3:-1]
    for c in ("RSS", "ANON", "FILE", "SWAP"):
        if c not in cols:
            fail("text: core column %s missing" % c)
    if "SDIRTY" in cols and "soft_dirty" not in avail:
        fail("text: SDIRTY shown where it is n/a")
    rows = {}
    for line in text:
        f = line.split()
        if f and re.fullmatch("[0-9a-f]{12,16}", f[0]):
            rows["0x" + f[0].lstrip("0")] = f
    for m in summ["mappings"]:
        f = rows.get(m["start"])
        if not f:
            fail("text: no row for %s" % m["start"])
            continue
        for i, c in enumerate(cols):
            b = m["bytes"]
            if c == "HUGE":
                want = human(b["thp"] + b["hugetlb"])
            else:
                want = "n/a" if b[key[c]] is None else human(b[key[c]])
            # Two snapshots: the ASan runtime's memory moves between them.
            if f[3 + i] != want and not m["name"].startswith("["):
                fail("text %s %s: %s, JSON says %s" % (m["start"], c,
                                                      f[3 + i], want))
if not [line for line in text if line.startswith("TOTAL")]:
    fail("text: no TOTAL line")

# The map: a layout region has a row of its own; cells add up.
mp = json.load(open(tmp + "/map.out"))
for r in layout["regions"]:
    row = [x for x in mp["rows"] if x["start"] == r["start"]]
    if not row:
        fail("map: no row for %s" % r["name"])
        continue
    row = row[0]
    if row["mappings"] != 1 or row["end"] != r["end"]:
        fail("map: %s shares a row: %r" % (r["name"], row["mappings"]))
    for k, want in expected(r).items():
        if k not in avail or k in mp["approximate"]:
            continue
        s = sum(c["bytes"][k] for c in row["cells"])
        if s != want or row["bytes"][k] != want:
            fail("map %s: cells %s sum %d, row %d, layout %d" % (
                r["name"], k, s, row["bytes"][k], want))
    prev = r["start"]
    for c in row["cells"]:
        if c["start"] != prev:
            fail("map %s: cells not contiguous" % r["name"])
        prev = c["end"]
    if prev != r["end"]:
        fail("map %s: cells end at %s" % (r["name"], prev))
    if r["name"] == "thp" and r["expect"]["huge"] == r["pages"] and \
            "thp" in avail:
        if any(c["class"] != "huge" for c in row["cells"]):
            fail("map thp: a fully huge mapping has non-huge cells")
    if r["name"] == "swapped" and r["expect"]["swapped"] == r["pages"]:
        if any(c["class"] != "swapped" for c in row["cells"]):
            fail("map swapped: cells not all swapped")
    if r["name"] == "file":
        if any(c["class"] != "file" for c in row["cells"]):
            fail("map file: cells not all file")
# Every row covers as many mappings as it says (file rows: under ASan the
# runtime maps anonymous memory between the two runs).
for row in mp["rows"]:
    if not row["name"].startswith("/"):
        continue
    ms = [m for m in summ["mappings"]
          if int(row["start"], 16) <= int(m["start"], 16) and
          int(m["end"], 16) <= int(row["end"], 16)]
    if len(ms) != row["mappings"]:
        fail("map row %s: %d mappings, summary has %d" % (
            row["start"], row["mappings"], len(ms)))

try:
    svg = ET.parse(tmp + "/map.svg").getroot()
except ET.ParseError as ex:
    fail("SVG is not well-formed XML: %s" % ex)
else:
    ns = "{http://www.w3.org/2000/svg}"
    titles = [t.text or "" for t in svg.iter(ns + "title")]
    ncells = sum(len(r["cells"]) for r in mp["rows"])
    if len(titles) < ncells:
        fail("SVG: %d tooltips for %d cells" % (len(titles), ncells))
    fr = [r for r in layout["regions"] if r["name"] == "file"][0]
    want = "rss %s" % human(fr["expect"]["present"] * psz)
    if not any(layout["file"].split("/")[-1] in t and want in t
               for t in titles):
        fail("SVG: no tooltip naming %s with %r" % (layout["file"], want))

# watch: one JSON object per line, baseline then --count intervals.
lines = open(tmp + "/watch.out").read().splitlines()
if len(lines) != 3:
    fail("watch --count 2: %d lines, expected 3" % len(lines))
fr = [r for r in layout["regions"] if r["name"] == "file"][0]
for i, line in enumerate(lines):
    w = json.loads(line)
    if w["schema"] != "pagescan/2" or w["command"] != "watch" or \
       w["seq"] != i:
        fail("watch line %d: %r %r %r" % (i, w["schema"], w["command"],
                                          w["seq"]))
    if "soft_dirty" not in avail and w["total"]["written"] is not None:
        fail("watch: written must be null without soft-dirty")
    if "soft_dirty" in avail and i > 0 and \
            not isinstance(w["total"]["written"], int):
        fail("watch: written must be counted on a soft-dirty kernel")
    if i and not 0.05 < w["measured"] < 1:
        fail("watch: measured interval %r for --interval 0.1" %
             w["measured"])
    if not re.search(r'"time":[0-9]+\.[0-9]{6},', line):
        fail("watch: time without microseconds")
    a = [m for m in w["mappings"] if m["start"] == fr["start"]]
    if not a or a[0]["rss"] != fr["expect"]["present"] * psz:
        fail("watch: file mapping rss %r" % a)
sys.exit(1 if fails else 0)
