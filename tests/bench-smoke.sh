#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: the benchmark harness keeps building and running.  Runs
# pagescan-bench in its quick mode (small layouts, best of 2) and checks
# the form of what it prints: every row of --list ran once, in the table,
# the TSV and the JSON, each with the kernel, a backend, a floor, a
# measurement, a ratio, a target and a verdict of the known kinds.  A row
# whose process crashed fails; no figure is ever judged.
cd "$(dirname "$0")/.." || exit 99
BUILD=${BUILD:-build}
B=$BUILD/bench/pagescan-bench
N=bench-smoke
fails=0
fail() { echo "FAIL $N: $*"; fails=$((fails + 1)); }

[ -x "$B" ] || { echo "ERROR $N: $B not built"; exit 99; }
tmp=$(mktemp -d /tmp/pagescan-$N.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT

"$B" --list --quick >"$tmp/list" || fail "--list failed"
rows=$(wc -l <"$tmp/list")
[ "$rows" -gt 20 ] || fail "only $rows rows listed"

start=$(date +%s)
"$B" --quick --tsv "$tmp/rows.tsv" --json "$tmp/rows.json" \
	--commit smoke >"$tmp/table" 2>"$tmp/stderr"
rc=$?
echo "pagescan-bench --quick: exit $rc in $(($(date +%s) - start)) s"
cat "$tmp/table"
[ $rc = 0 ] || fail "exit status $rc: $(head -n 3 "$tmp/stderr")"
[ -s "$tmp/stderr" ] && fail "stderr: $(head -n 3 "$tmp/stderr")"

grep -q '^TABLE 1: ' "$tmp/table" || fail "no TABLE 1"
grep -q '^TABLE 2: ' "$tmp/table" || fail "no TABLE 2"
grep -q "^# kernel $(uname -r) " "$tmp/table" || fail "no kernel line"

# The TSV: one line per listed row, in order, every field of its kind.
grep -v '^#' "$tmp/rows.tsv" | cut -f 2,3 | tr '\t' / >"$tmp/ran"
cmp -s "$tmp/list" "$tmp/ran" ||
	fail "the rows that ran are not the rows listed: $(diff "$tmp/list" "$tmp/ran" | head -n 4)"
awk -F '\t' -v kernel="$(uname -r)" '
function num(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }
/^#/ { next }
{
	bad = ""
	if (NF != 17) bad = bad " " NF " fields"
	if ($1 != 1 && $1 != 2) bad = bad " table"
	if ($4 != kernel) bad = bad " kernel"
	if ($5 == "") bad = bad " backend"
	if (!num($7) && $7 !~ /^(-|n\/a|timeout)$/) bad = bad " floor"
	if (!num($8) && $8 !~ /^(n\/a|timeout|error|crash)$/) bad = bad " measured"
	if ($9 !~ /^(-|>?[0-9]+(\.[0-9]+)?x)$/) bad = bad " ratio"
	if ($10 !~ /^(-|<= [0-9.]+x)$/) bad = bad " target"
	if ($11 !~ /^(OK|OVER|DIFF|-)$/) bad = bad " verdict"
	if ($12 !~ /^(ok|n\/a|error|timeout|crash)$/) bad = bad " status"
	if ($12 == "ok" && !num($8)) bad = bad " ok-without-figure"
	if ($12 == "ok" && $10 != "-" && $7 != "-" && $11 !~ /^(OK|OVER|DIFF)$/)
		bad = bad " ok-without-verdict"
	if (bad != "") { print "malformed row (" bad " ):", $0; n++ }
	if ($12 == "crash") { print "crashed:", $2 "/" $3 ": " $17; n++ }
	if ($12 == "error") print "note: error in", $2 "/" $3 ": " $17
	if ($17 ~ /stderr: /) print "note: stderr in", $2 "/" $3 ": " $17
	if ($11 == "DIFF") print "note: answers differ in", $2 "/" $3 ": " $17
}
END { exit n > 0 }' "$tmp/rows.tsv" || fail "bad rows in the TSV (above)"

# The JSON lines: a meta object, then one object per row with its fields.
if command -v python3 >/dev/null; then
	python3 - "$tmp/rows.json" "$rows" <<'EOF' || fail "bad JSON (above)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
assert objs[0]["type"] == "meta" and objs[0]["commit"] == "smoke", objs[0]
rows = [o for o in objs if o["type"] == "row"]
assert len(rows) == int(sys.argv[2]), (len(rows), sys.argv[2])
keys = {"table", "group", "row", "kernel", "backend", "vs", "floor_ms",
        "measured_ms", "ratio", "target", "verdict", "status", "note"}
for r in rows:
    missing = keys - set(r)
    assert not missing, (r["row"], missing)
    if r["status"] == "ok":
        assert isinstance(r["measured_ms"], (int, float)), r
EOF
fi

[ $fails = 0 ] && { echo "PASS $N"; exit 0; }
exit 1
