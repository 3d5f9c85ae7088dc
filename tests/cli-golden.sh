#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: pagescan's summary, regions, map (text, JSON, SVG) and
# watch against the deterministic layout of tests/cli-layout.c: anonymous,
# file, shmem, zero page, guard, THP and (as root, on a temporary swap
# file) swapped pages.  The expected counts come from the layout itself
# (what it did, checked by it against /proc/self/pagemap and smaps), not
# from pagescan.
. "$(dirname "$0")/clilib.bash" || exit 99

swap=
[ "$(id -u)" = 0 ] && swap=--swap
start_layout $swap

run features 0 "$PS" features --json
run summary 0 "$PS" "$TPID" --json
run summary-text 1 "$PS" "$TPID" --bogus-option
run summary-text 0 "$PS" "$TPID"
run map 0 "$PS" map "$TPID" --json
run map-svg 0 "$PS" map "$TPID" --svg "$T_TMP/map.svg" --no-color
run watch 0 "$PS" watch "$TPID" --interval 0.1 --count 2 --json

python3 - "$T_TMP" <<'EOF' || T_FAILS=$((T_FAILS + 1))
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
        v /= 1024; u += 1
    return ("%.1f%s" if v < 10 else "%.0f%s") % (v, "KMGTPE"[u])

layout = json.load(open(tmp + "/layout.json"))
feat = json.load(open(tmp + "/features.out"))
summ = json.load(open(tmp + "/summary.out"))
psz = layout["page_size"]
for doc, cmd in ((feat, "features"), (summ, "summary")):
    if doc.get("schema") != "pagescan/1" or doc.get("command") != cmd:
        fail("%s: schema/command %r %r" % (cmd, doc.get("schema"),
                                           doc.get("command")))

sup = {f["name"]: f for f in feat["features"]}
def unavailable(cat):
    f = sup.get("cat:" + cat)
    return f is None or f["support"] == "unavailable"

# Which JSON counts must be null: the categories the kernel lacks (and
# soft-dirty without CONFIG_MEM_SOFT_DIRTY).
nulls = {k for k, c in (("present", "present"), ("swapped", "swapped"),
                         ("file", "file"), ("zero", "pfnzero"),
                         ("huge", "huge"), ("guard", "guard"),
                         ("soft_dirty", "soft-dirty")) if unavailable(c)}
if not sup["soft-dirty"]["present"]:
    nulls.add("soft_dirty")

maps = {m["start"]: m for m in summ["mappings"]}
for r in layout["regions"]:
    m = maps.get(r["start"])
    if not m:
        fail("no mapping at %s (%s)" % (r["start"], r["name"]))
        continue
    if m["end"] != r["end"] or m["pages"] != r["pages"]:
        fail("%s: mapping %s-%s %d pages, layout %s-%s %d" % (
            r["name"], m["start"], m["end"], m["pages"], r["start"],
            r["end"], r["pages"]))
    for k, want in r["expect"].items():
        if k in nulls:
            if m[k] is not None:
                fail("%s: %s is %r where the kernel cannot report it" %
                     (r["name"], k, m[k]))
            continue
        if m[k] != want:
            fail("%s: %s = %r, layout says %d" % (r["name"], k, m[k], want))
    for k in ("soft_dirty",):
        if k in nulls and m[k] is not None:
            fail("%s: %s not null" % (r["name"], k))

# Totals are the sum of the rows.
for k in ("present", "swapped", "file", "zero", "huge", "guard"):
    if k in nulls:
        continue
    s = sum(m[k] for m in summ["mappings"])
    if summ["total"][k] != s:
        fail("total %s %d != sum of rows %d" % (k, summ["total"][k], s))

# The text: header and the file mapping's row, built from the layout.
text = open(tmp + "/summary-text.out").read().splitlines()
hdr = ("ADDRESS          PERM   SIZE PRESENT SWAPPED    FILE    ZERO"
       "    HUGE SOFT-DIRTY   GUARD  MAPPING")
if hdr not in text:
    fail("text header missing:\n" + "\n".join(text[:3]))
fr = [r for r in layout["regions"] if r["name"] == "file"][0]
e = fr["expect"]
# Soft-dirty is not part of the layout's expectations: on a kernel with
# CONFIG_MEM_SOFT_DIRTY a new mapping is soft-dirty as a whole (VM_SOFTDIRTY)
# and the count is the kernel's business; that column is only checked to be
# "n/a" where the kernel cannot report it.
def col(k, w):
    if k in nulls:
        return "%*s" % (w, "n/a")
    if k not in e:
        return None
    return "%*s" % (w, human(e[k] * psz))
want = ["%016x" % int(fr["start"], 16), "r--p", human(fr["pages"] * psz)] + \
    [col(k, 7) for k in ("present", "swapped", "file", "zero", "huge")] + \
    [col("soft_dirty", 10), col("guard", 7), layout["file"]]
want = [None if w is None else w.strip() for w in want]
rows = [l.split() for l in text if l.endswith(layout["file"])]
if not any(len(r) == len(want) and
           all(w is None or w == g for w, g in zip(want, r)) for r in rows):
    fail("text row of the file mapping missing; expected\n%s\ngot\n%s" % (
        " ".join(w or "*" for w in want),
        "\n".join(l for l in text if "layout.dat" in l)))
if not text[-1].startswith("TOTAL"):
    fail("text: no TOTAL line")

# The map: JSON cells add up to the summary; SVG parses, has tooltips.
mp = json.load(open(tmp + "/map.out"))
rows = {r["start"]: r for r in mp["rows"]}
for r in layout["regions"]:
    row = rows.get(r["start"])
    if not row:
        fail("map: no row for %s" % r["name"]); continue
    for k in ("present", "swapped", "file", "zero", "huge", "guard"):
        if k in nulls:
            continue
        s = sum(c[k] for c in row["cells"])
        if s != r["expect"][k]:
            fail("map %s: cells %s sum %d, layout %d" % (
                r["name"], k, s, r["expect"][k]))
    prev = r["start"]
    for c in row["cells"]:
        if c["start"] != prev:
            fail("map %s: cells not contiguous" % r["name"])
        prev = c["end"]
    if prev != r["end"]:
        fail("map %s: cells end at %s" % (r["name"], prev))
    if r["name"] == "thp" and r["expect"]["huge"] == r["pages"] and \
            "huge" not in nulls:
        if any(c["class"] != "huge" for c in row["cells"]):
            fail("map thp: a fully huge mapping has non-huge cells")
    if r["name"] == "swapped" and r["expect"]["swapped"] == r["pages"]:
        if any(c["class"] != "swapped" for c in row["cells"]):
            fail("map swapped: cells not all swapped")
    if r["name"] == "file":
        if any(c["class"] != "file" for c in row["cells"]):
            fail("map file: cells not all file")

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
    want = "present: %d" % fr["expect"]["present"]
    if not any(layout["file"] in t and want in t for t in titles):
        fail("SVG: no tooltip naming %s with %r" % (layout["file"], want))

# watch: one JSON object per line, baseline then --count intervals.
lines = open(tmp + "/watch.out").read().splitlines()
if len(lines) != 3:
    fail("watch --count 2: %d lines, expected 3" % len(lines))
for i, l in enumerate(lines):
    w = json.loads(l)
    if w["schema"] != "pagescan/1" or w["command"] != "watch" or \
       w["seq"] != i:
        fail("watch line %d: %r %r %r" % (i, w["schema"], w["command"],
                                          w["seq"]))
    if "soft_dirty" in nulls and w["total"]["written"] is not None:
        fail("watch: written must be null without soft-dirty")
    if "soft_dirty" not in nulls and i > 0 and \
            not isinstance(w["total"]["written"], int):
        fail("watch: written must be counted on a soft-dirty kernel")
    a = [m for m in w["mappings"] if m["start"] == fr["start"]]
    if not a or a[0]["present"] != fr["expect"]["present"]:
        fail("watch: file mapping present %r" % a)
sys.exit(1 if fails else 0)
EOF

# regions: the scan itself, by range and by mapping name.
eval "$(python3 - "$T_TMP/layout.json" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
for r in l["regions"]:
    n = r["name"].upper()
    print("R_%s='%s-%s'" % (n, r["start"][2:], r["end"][2:]))
    for k, v in r["expect"].items():
        print("E_%s_%s=%d" % (n, k.upper(), v))
EOF
)"
regions_pages() {	# NAME ARGS...: the total pages of a regions --json run
	local name=$1
	shift
	run "$name" 0 "$PS" regions "$TPID" --json "$@"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
assert d["schema"] == "pagescan/1" and d["command"] == "regions"
n = sum(r["pages"] for r in d["regions"])
assert n == d["total"]["pages"], "total"
print(n)' "$T_TMP/$name.out" || echo "bad-json"
}
check_eq() { [ "$2" = "$3" ] || t_fail "$1: $2, expected $3"; }
# The categories this kernel (or the emulation) reports.
avail=" $(python3 -c 'import json,sys
print(" ".join(x["name"][4:] for x in json.load(open(sys.argv[1]))["features"]
               if x["name"].startswith("cat:") and x["support"] != "unavailable"))' \
	"$T_TMP/features.out") "
has() { [ "${avail#* $1 }" != "$avail" ]; }

check_eq "anon present" "$(regions_pages r1 --range "$R_ANON" \
	--require present)" "$E_ANON_PRESENT"
check_eq "anon !present" "$(regions_pages r2 --range "$R_ANON" \
	--require '!present')" "$((64 - E_ANON_PRESENT))"
check_eq "file by name" "$(regions_pages r3 --range layout.dat \
	--require present,file)" "$E_FILE_PRESENT"
check_eq "shmem present,file" "$(regions_pages r4 --range "$R_SHMEM" \
	--require present,file)" "$E_SHMEM_FILE"
check_eq "anon present,!file" "$(regions_pages r5 --range "$R_ANON" \
	--require 'present,!file')" "$E_ANON_PRESENT"
check_eq "max-pages" "$(regions_pages r6 --range "$R_ANON" \
	--require present --max-pages 7)" 7
has huge && check_eq "thp --any huge" "$(regions_pages r7 --range "$R_THP" \
	--any huge)" "$E_THP_HUGE"
has pfnzero && check_eq "zero" "$(regions_pages r8 --range "$R_ZERO" \
	--require zero)" "$E_ZERO_ZERO"
if [ -n "${E_SWAPPED_SWAPPED:-}" ] && has swapped; then
	check_eq "swapped --any swapped" "$(regions_pages r9 \
		--range "$R_SWAPPED" --any swapped)" "$E_SWAPPED_SWAPPED"
fi
# --show present merges the 40 touched pages into exactly one region.
run r10 0 "$PS" regions "$TPID" --range "$R_ANON" --require present \
	--show present
grep -q "^$(printf '%016x' "0x${R_ANON%-*}") .* $(printf '%9d' \
	"$E_ANON_PRESENT") present .*$" \
	"$T_TMP/r10.out" || { t_fail "regions text: no single present region";
	cat "$T_TMP/r10.out"; }
grep -q "^1 region, $E_ANON_PRESENT pages" "$T_TMP/r10.out" ||
	t_fail "regions text: bad footer: $(tail -n 1 "$T_TMP/r10.out")"

# summary options: --filter, --top, --sort.
run f1 0 "$PS" "$TPID" --filter layout.dat --pages
[ "$(grep -c layout.dat "$T_TMP/f1.out")" = 1 ] ||
	t_fail "--filter layout.dat: $(cat "$T_TMP/f1.out")"
run g1 0 "$PS" "$TPID" --group --json
python3 -c 'import json,sys
from collections import defaultdict
a = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
# Two snapshots: anonymous memory may move in between (ASan runtime).
def pres(m): return 0 if m["name"].startswith("[") else m["present"]
want = defaultdict(lambda: [0, 0, 0])
for m in a["mappings"]:
    w = want[m["name"]]; w[0] += 1; w[1] += m["pages"]; w[2] += pres(m)
got = {m["name"]: [m["mappings"], m["pages"], pres(m)] for m in g["mappings"]}
assert got == dict(want), (got, dict(want))
assert g["total"]["mappings"] == len(a["mappings"])' \
	"$T_TMP/summary.out" "$T_TMP/g1.out" || t_fail "--group does not add up"
run f2 0 "$PS" "$TPID" --top 1 --sort size --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert len(d["mappings"]) == 1' "$T_TMP/f2.out" || t_fail "--top 1"

# map text without colour: letters only, no escape sequences.
run m1 0 "$PS" map "$TPID" --no-color
grep -q $'\033' "$T_TMP/m1.out" && t_fail "map --no-color has escapes"
grep -q "layout.dat .* FFF" "$T_TMP/m1.out" ||
	t_fail "map: no all-file row for layout.dat"

# watch: SIGINT ends it cleanly (exit 0, whole lines only).  stderr
# apart: on soft-dirty kernels it warns there that it resets the bits.
"$PS" watch "$TPID" --interval 0.1 --json >"$T_TMP/w2.out" 2>"$T_TMP/w2.err" &
wpid=$!
sleep 0.5
kill -INT $wpid
wait $wpid
rc=$?
[ $rc = 0 ] || t_fail "watch after SIGINT: exit $rc"
python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T_TMP/w2.out" ||
	t_fail "watch after SIGINT: a line is not JSON"

t_done
