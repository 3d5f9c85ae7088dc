#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: pagescan's summary, regions, map (text, JSON, SVG) and
# watch against the deterministic layout of tests/cli-layout.c: anonymous,
# file, shmem, zero page, guard, THP and (as root, on a temporary swap
# file) swapped pages.  The expected counts come from the layout itself
# (what it did, checked by it against /proc/self/pagemap and smaps), not
# from pagescan; the text is checked to be the JSON rendered, at 80
# columns.
. "$(dirname "$0")/clilib.bash" || exit 99

swap=
[ "$(id -u)" = 0 ] && swap=--swap
start_layout $swap

run features 0 "$PS" features --json
run summary 0 "$PS" "$TPID" --json
run summary-bad 1 "$PS" "$TPID" --bogus-option
run summary-text 0 env -u COLUMNS "$PS" "$TPID"
run map 0 "$PS" map "$TPID" --json
run map-svg 0 "$PS" map "$TPID" --svg "$T_TMP/map.svg" --no-color
run watch 0 "$PS" watch "$TPID" --interval 0.1 --count 2 --json

python3 "$(dirname "$0")/cli-golden.py" "$T_TMP" || T_FAILS=$((T_FAILS + 1))

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
assert d["schema"] == "pagescan/2" and d["command"] == "regions"
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
# One rule with the summary: guard pages are not swapped unless asked.
if has guard && [ "$E_GUARD_GUARD" -gt 0 ]; then
	check_eq "guard is not swapped" "$(regions_pages r11 \
		--range "$R_GUARD" --require swapped)" 0
	check_eq "guard, when named" "$(regions_pages r12 \
		--range "$R_GUARD" --require swapped,guard)" "$E_GUARD_GUARD"
	check_eq "guard --raw" "$(regions_pages r13 --raw \
		--range "$R_GUARD" --require swapped)" "$E_GUARD_GUARD"
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for r in d["regions"]:
    assert r["categories"] == ["guard"], r' "$T_TMP/r12.out" ||
		t_fail "a guard region is shown as more than guard"
fi
# written says nothing in memory no userfaultfd tracks: not shown.
run r14 0 "$PS" regions "$TPID" --range "$R_ANON"
grep -q written "$T_TMP/r14.out" &&
	t_fail "regions shows written on untracked memory: $(head -3 "$T_TMP/r14.out")"
# Where nothing can report written (6.1: no WP_ASYNC, no provider), asking
# to show it is exit 4, "this kernel cannot give what was asked for".
r15=0
has written || r15=4
run r15 $r15 "$PS" regions "$TPID" --range "$R_ANON" --show present,written
has written && { grep -q "^written: not write-protected by userfaultfd" \
	"$T_TMP/r15.out" || t_fail "written shown without its explanation"; }
# --show present merges the 40 touched pages into exactly one region.
run r10 0 "$PS" regions "$TPID" --range "$R_ANON" --require present \
	--show present
grep -q "^$(printf '%012x' "0x${R_ANON%-*}") .* $(printf '%8d' \
	"$E_ANON_PRESENT") present .*$" \
	"$T_TMP/r10.out" || { t_fail "regions text: no single present region";
	cat "$T_TMP/r10.out"; }
grep -q "^1 region, $E_ANON_PRESENT pages" "$T_TMP/r10.out" ||
	t_fail "regions text: bad footer: $(tail -n 1 "$T_TMP/r10.out")"

# summary options: --filter, --top, --sort, --group.
run f1 0 "$PS" "$TPID" --filter layout.dat --pages
[ "$(grep -c layout.dat "$T_TMP/f1.out")" = 1 ] ||
	t_fail "--filter layout.dat: $(cat "$T_TMP/f1.out")"
grep -q "^SHOWN .* 1 of [0-9]* mappings" "$T_TMP/f1.out" &&
	grep -q "^TOTAL " "$T_TMP/f1.out" ||
	t_fail "--filter: no SHOWN and TOTAL lines: $(cat "$T_TMP/f1.out")"
run g1 0 "$PS" "$TPID" --group --json
python3 -c 'import json,sys
from collections import defaultdict
a = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
# Two snapshots: anonymous memory may move in between (ASan runtime).
def rss(m): return 0 if m["name"].startswith("[") else m["bytes"]["rss"]
want = defaultdict(lambda: [0, 0, 0])
for m in a["mappings"]:
    w = want[m["name"]]; w[0] += 1; w[1] += m["size"]; w[2] += rss(m)
got = {m["name"]: [m["mappings"], m["size"], rss(m)] for m in g["mappings"]}
assert got == dict(want), (got, dict(want))
assert g["total"]["mappings"] == len(a["mappings"])' \
	"$T_TMP/summary.out" "$T_TMP/g1.out" || t_fail "--group does not add up"
run f2 0 "$PS" "$TPID" --top 1 --sort size --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert len(d["mappings"]) == 1
# --top keeps the whole process in total.
assert d["total"]["mappings"] > 1 and d["total"]["size"] > d["shown"]["size"]' \
	"$T_TMP/f2.out" || t_fail "--top 1"

# map text without colour: letters only, no escape sequences.
run m1 0 env -u COLUMNS "$PS" map "$TPID" --no-color
grep -q $'\033' "$T_TMP/m1.out" && t_fail "map --no-color has escapes"
grep -q "layout.dat .* FFF" "$T_TMP/m1.out" ||
	t_fail "map: no all-file row for layout.dat"
awk 'length($0) > 80 { exit 1 }' "$T_TMP/m1.out" ||
	t_fail "map: a line wider than 80 columns"

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
