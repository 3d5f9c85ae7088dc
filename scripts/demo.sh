#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# make demo: what libpagescan and the pagescan command are for, in one
# run.  A demonstration process (tests/cli-layout.c --hold --demo) builds
# memory of every kind this kernel has: anonymous, file, shmem, the zero
# page, a transparent huge page, guard pages, and as root swapped pages on
# a temporary swap file (removed when the demo ends).  Then pagescan shows
# its summary, its regions, its picture (and an SVG), how it changes, and
# the write-watch API tracks known writes.  Needs only what "make" built:
# no python, no chromium.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PS=$BUILD/pagescan
LAYOUT=$BUILD/tests/cli-layout.t
for f in "$PS" "$LAYOUT"; do
	[ -x "$f" ] || { echo "demo: $f is not built (make BUILD=$BUILD)" >&2; exit 1; }
done

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }

args=(--hold --demo)
if [ "$(id -u)" = 0 ]; then
	args+=(--swap)
	swapnote="swapped pages on a temporary swap file"
else
	swapnote="no swapped pages (that needs root for a swap file)"
fi

coproc DEMO { exec "$LAYOUT" "${args[@]}"; }
demo_pid=$DEMO_PID
demo_fd=${DEMO[1]}
cleanup() {
	# stdin EOF: the demo process exits and removes its swap file.
	eval "exec ${demo_fd}>&-" 2>/dev/null
	wait "$demo_pid" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
IFS= read -r -t 60 desc <&"${DEMO[0]}" || { echo "demo: the demonstration process did not start" >&2; exit 1; }
pid=$(sed -n 's/^{"pid":\([0-9]*\),.*/\1/p' <<<"$desc")
# The demonstration's own mappings: from its first region to its last.
first=$(grep -o '"start":"0x[0-9a-f]*"' <<<"$desc" | head -n 1 | cut -d'"' -f4)
last=$(grep -o '"end":"0x[0-9a-f]*"' <<<"$desc" | tail -n 1 | cut -d'"' -f4)

cat <<EOF2
libpagescan tells what a process's memory is doing, page by page: resident
or swapped, anonymous or file, the zero page, huge pages, guard pages, and
what was written since you last looked, from one ioctl (PAGEMAP_SCAN, Linux
6.7+) or its emulation on older kernels.  The pagescan command shows it for
any process, as numbers that agree with ps, top and /proc/PID/smaps, and as
a picture.  Here it is on a demonstration process started for the purpose.
EOF2

step "A demonstration process, pid $pid (pagescan-demo): anonymous, file, shmem, zero-page, THP and guard memory, $swapnote"
echo "Its memory, as it describes itself (find these addresses below):"
grep -o '"name":"[a-z]*","start":"0x[0-9a-f]*","end":"0x[0-9a-f]*","pages":[0-9]*' \
	<<<"$desc" | sed 's/"name":"\([a-z]*\)","start":"0x\([0-9a-f]*\)","end":"0x\([0-9a-f]*\)","pages":\([0-9]*\)/\1 \2 \3 \4/' |
while read -r name start end pages; do
	case $name in
	anon) what="anonymous, 40 pages written" ;;
	file) what="a file mapping, all 32 pages read" ;;
	shmem) what="shared memory (memfd), 10 pages written" ;;
	zero) what="anonymous, 16 pages only read: the shared zero page" ;;
	guard) what="anonymous, written, then 4 guard pages installed (6.13+)" ;;
	thp) what="4 MiB with MADV_HUGEPAGE, written: transparent huge pages" ;;
	swapped) what="anonymous, written, then paged out to swap" ;;
	grow) what="anonymous, written a little more every 0.2 s" ;;
	*) what= ;;
	esac
	printf '  %-8s %016x-%016x %5d pages  %s\n' "$name" "0x$start" "0x$end" \
		"$pages" "$what"
done

step "1. The summary: one row per mapping (sizes in K/M/G; n/a: this kernel cannot say)"
show "$PS" "$pid"

svg=$BUILD/demo-map.svg
if ! : 2>/dev/null >>"$svg"; then
	svg=${TMPDIR:-/tmp}/pagescan-demo-map.$$.svg	# $BUILD is read-only
fi
step "2. The picture: one row per mapping in address order (A anon, F file, Z zero, H huge, S swapped, G guard)"
show "$PS" map "$pid" --svg "$svg"
echo "(an SVG with a tooltip per cell: $svg)"

step "3. The regions of the demonstration's own mappings that are populated"
show "$PS" regions "$pid" --range "${first#0x}-${last#0x}" --any present,swapped

step "   Only resident anonymous memory (present, not file)"
show "$PS" regions "$pid" --range "${first#0x}-${last#0x}" --require 'present,!file'

step "4. Change over time: the demonstration grows a region while we watch"
show "$PS" watch "$pid" --interval 0.5 --count 4

step "5. The write-watch API (pagescan_watch(3)): a process tracks its own writes"
show "$LAYOUT" --write-watch

step "JSON for scripts: every command takes --json (schema pagescan/2, see man/pagescan.1)"
printf '%s$ %s%s\n' "$B" "$PS $pid --json --top 2" "$N"
"$PS" "$pid" --json --top 2 | cut -c 1-400
echo "..."

step "6. What this kernel can report (the probe table: pagescan features)"
show "$PS" features
echo
echo "More: $PS --help, man -l man/pagescan.1, make check."
