#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Every test lane, as CI runs them (the README's test command is
# `make check-all`):
#   host      make WERROR=1 check, as root on this kernel
#   nobody    the same binaries as user nobody: what changes unprivileged
#   emulate   the same binaries with PAGESCAN_BACKEND=emulate
#   asan      rebuilt with AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan      the C tests rebuilt with ThreadSanitizer (races, lock order)
#   static    public header (C99, C++, newer UAPI headers), ABI, install,
#             the code blocks of the README and the man pages, the pages
#   deb       the Debian packages built, linted, installed, used and purged
#             (scripts/check-deb.sh)
#   vm        Debian's 6.1, 6.12 and 5.10 kernels under qemu (check-vm)
# Set LANES="host asan" to run some.  The last line sums them all:
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
LANES=${LANES:-host nobody emulate asan tsan static deb vm}
log=${BUILD:-build}/check-all
mkdir -p "$log"
P=0 F=0 S=0
failed_lanes=""

# Add the counts of a lane's summary line (the last such line of its log).
tally() {
	local lane=$1 file=$2 rc=$3 line p f s
	line=$(grep -E '^([a-z0-9.:-]+ )?[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$file" | tail -n 1)
	if [ -z "$line" ]; then
		echo "== $lane: no summary line (exit $rc)"; F=$((F + 1))
		failed_lanes="$failed_lanes $lane"; return
	fi
	read -r p f s <<<"$(echo "$line" | sed -E 's/^([a-z0-9.:-]+ )?([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\2 \3 \4/')"
	P=$((P + p)); F=$((F + f)); S=$((S + s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		F=$((F + 1))
	fi
	if [ "$rc" != 0 ] || [ "$f" != 0 ]; then
		failed_lanes="$failed_lanes $lane"
	fi
	echo "== $lane: $p passed, $f failed, $s skipped"
}

lane() {
	local name=$1; shift
	echo "== lane $name: $*"
	"$@" 2>&1 | tee "$log/$name.log"
	tally "$name" "$log/$name.log" "${PIPESTATUS[0]}"
}

# Scripted checks count as one test each.
checks() {
	local p=0 f=0 c
	local v
	v=$(awk -F' := ' '/^VERSION_(MAJOR|MINOR|PATCH)/ { printf "%s%s", sep, $2; sep = "." }' Makefile.common)
	for c in "scripts/check-headers.sh" \
		 "scripts/check-abi.sh ${BUILD:-build}/libpagescan.so.$v" \
		 "scripts/check-install.sh" \
		 "scripts/check-examples.sh ${BUILD:-build}" \
		 "scripts/check-man.sh ${BUILD:-build}"; do
		echo "-- $c"
		if $c; then p=$((p + 1)); else f=$((f + 1)); echo "FAIL $c"; fi
	done
	echo "static: $p passed, $f failed, 0 skipped"
	[ $f = 0 ]
}

emulate_tests() {
	local c n
	for c in tests/*.c tests/cli-*.sh tests/python-*.sh; do
		n=$(basename "$c"); n=${n%.c}; n=${n%.sh}
		[ "$n" = helpers ] && continue
		grep -q '"scan-common.h"' "$c" && continue
		echo "$n"
	done
}

# The C tests under ThreadSanitizer: data races and lock-order inversions
# (a report fails the test, exit 66).  Not handle-lifetime: it forks from
# a threaded process into pid namespaces and execs, which TSan's runtime
# does not survive (SEGV in its fork hooks); nothing of it is threaded.
# Not watch-signals: TSan installs its own SIGSEGV handler and defers
# asynchronous signals to its own points, which is the very order of
# delivery that test checks.  Not watch-limits: its threads run on small
# stacks of their own, below what the TSan runtime needs (900 KiB).  Not
# watch-unreg-race: its faults in flight after the last unregister go
# through TSan's SIGSEGV handler, which our pending-signal check cannot see.
tsan_lane() {
	local t n list=""

	make -s -j2 BUILD=build-tsan SANITIZE=thread WERROR=1 || {
		echo "0 passed, 1 failed, 0 skipped"; return 1; }
	for t in build-tsan/tests/*.t; do
		n=$(basename "$t" .t)
		case $n in handle-lifetime|watch-signals|watch-limits|watch-unreg-race) continue ;; esac
		list="$list $n"
	done
	# shellcheck disable=SC2086
	LANE=tsan: BUILD=build-tsan \
		TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 detect_deadlocks=1" \
		tests/runtests.sh $list
}

# The unprivileged lane tests what changes without root, not what root
# alone can set up: root reserves huge pages and a swap area for it
# beforehand, and puts both back afterwards.
nobody_lane() {
	local hp swap=/var/tmp/pagescan-lane-swap rc
	hp=$(cat /proc/sys/vm/nr_hugepages)
	[ "$hp" -lt 16 ] && echo 16 >/proc/sys/vm/nr_hugepages
	rm -f "$swap"
	if dd if=/dev/zero of="$swap" bs=1M count=256 status=none &&
	   chmod 600 "$swap" && mkswap "$swap" >/dev/null 2>&1 &&
	   swapon "$swap"; then :; else rm -f "$swap"; fi
	env LANE=nobody: PAGESCAN_TEST_USER=nobody \
		PAGESCAN_TEST_PROFILE=host-nobody tests/runtests.sh
	rc=$?
	[ -e "$swap" ] && { swapoff "$swap"; rm -f "$swap"; }
	echo "$hp" >/proc/sys/vm/nr_hugepages
	return $rc
}

scripts/deps.sh test || exit 1
make -s -j2 WERROR=1 >/dev/null || { echo "build failed"; make -j2 WERROR=1; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

for l in $LANES; do
	case $l in
	host)	 lane host env LANE=host: PAGESCAN_TEST_PROFILE=host make -s WERROR=1 check ;;
	nobody)	 lane nobody nobody_lane ;;
	emulate) # The contract tests built on scan-common.h compare the raw
		 # ioctl with the library's answer; under emulate that is the
		 # differential test's job (emu-diff, with the divergences it
		 # names), so this lane runs the rest on the emulation.
		 lane emulate env LANE=emulate: PAGESCAN_BACKEND=emulate \
			PAGESCAN_TEST_PROFILE=host tests/runtests.sh \
			$(emulate_tests) ;;
	asan)	 lane asan env LANE=asan: PAGESCAN_TEST_PROFILE=host make -s -j2 \
			BUILD=build-san SANITIZE=1 WERROR=1 check ;;
	tsan)	 lane tsan tsan_lane ;;
	static)	 lane static checks ;;
	deb)	 lane deb scripts/check-deb.sh ;;
	vm)	 lane vm make -s check-vm ;;
	*)	 echo "unknown lane $l"; F=$((F + 1)) ;;
	esac
done
[ -n "$failed_lanes" ] && echo "lanes with failures:$failed_lanes"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
