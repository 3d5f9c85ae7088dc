#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "make demo" (scripts/demo.sh) runs to the end on this
# machine: every section appears, no command fails, and the demonstration
# process (and its swap file, as root) is gone afterwards.
. "$(dirname "$0")/clilib.bash" || exit 99

BUILD=$BUILD scripts/demo.sh >"$T_TMP/demo.out" 2>"$T_TMP/demo.err" </dev/null
rc=$?
[ $rc = 0 ] || t_fail "demo: exit $rc: $(tail -n 3 "$T_TMP/demo.err")"
# In this order: what it is for first, the probe table last.
prev=0
for s in "A demonstration process" "1. The summary" "2. The picture" \
	"3. The regions" "4. Change over time" "5. The write-watch API" \
	"JSON for scripts" "6. What this kernel can report"; do
	at=$(grep -n "^== .*$s" "$T_TMP/demo.out" | head -n 1 | cut -d: -f1)
	if [ -z "$at" ]; then
		t_fail "demo: no section '$s'"
	elif [ "$at" -le "$prev" ]; then
		t_fail "demo: section '$s' is out of order"
	else
		prev=$at
	fi
done
head -n 3 "$T_TMP/demo.out" | grep -q "what a process's memory is doing" ||
	t_fail "demo: does not open with what it is for: $(head -n 3 "$T_TMP/demo.out")"
grep -q "^pid [0-9]* (pagescan-demo)" "$T_TMP/demo.out" ||
	t_fail "demo: the summary does not name the demonstration process"
grep -q "^TOTAL " "$T_TMP/demo.out" || t_fail "demo: no summary TOTAL"
grep -q "regions, [0-9]* pages" "$T_TMP/demo.out" || t_fail "demo: no regions"
grep -q "#4 resident" "$T_TMP/demo.out" || t_fail "demo: watch did not run 4 intervals"
grep -q "written pages" "$T_TMP/demo.out" || t_fail "demo: no write-watch run"
grep -v '^pagescan: note:' "$T_TMP/demo.err" | grep -q 'pagescan:' &&
	t_fail "demo: an error: $(grep 'pagescan:' "$T_TMP/demo.err" | head -n 3)"
dpid=$(sed -n 's/^== A demonstration process, pid \([0-9]*\) .*/\1/p' "$T_TMP/demo.out")
[ -n "$dpid" ] || t_fail "demo: no demonstration pid"
[ -n "$dpid" ] && [ -d "/proc/$dpid" ] && t_fail "demo: pid $dpid still runs"
[ -n "$dpid" ] && grep -q "pagescan-swap\.$dpid " /proc/swaps &&
	t_fail "demo: its swap file is still on"
svg=$(sed -n 's/^(an SVG with a tooltip per cell: \(.*\))$/\1/p' "$T_TMP/demo.out")
[ -n "$svg" ] && [ -s "$svg" ] || t_fail "demo: no SVG written ($svg)"
case $svg in /tmp/pagescan-demo-map.*) rm -f "$svg" ;; esac
t_done
