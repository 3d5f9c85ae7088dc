#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Run the tests, one binary (or script) each, with a timeout apiece.
#   tests/runtests.sh [NAME ...]     default: every $BUILD/tests/*.t,
#                                    tests/cli-*.sh, tests/bench-*.sh, tests/example-*.sh and
#                                    tests/python-*.sh
# Environment:
#   BUILD                 build directory (default: build)
#   TEST_TIMEOUT          seconds per test (default 300)
#   PAGESCAN_TEST_USER    run each test as this user (the unprivileged lane)
#   PAGESCAN_TEST_PROFILE tests/profiles/NAME: tests that must not skip here
#   LANE                  a word printed before the summary ("host:", ...)
# Exit codes of a test: 0 pass, 77 skip (its last line says why), anything
# else fail.  The last line printed is "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-300}
OUT=$BUILD/tests/output
mkdir -p "$OUT"

if [ $# -gt 0 ]; then
	tests=()
	for n in "$@"; do
		if [ -x "$BUILD/tests/$n.t" ]; then tests+=("$BUILD/tests/$n.t")
		elif [ -x "$BUILD/tests/$n" ]; then tests+=("$BUILD/tests/$n")
		elif [ -f "tests/$n" ]; then tests+=("tests/$n")
		elif [ -f "tests/$n.sh" ]; then tests+=("tests/$n.sh")
		else echo "runtests: no test '$n'" >&2; exit 2
		fi
	done
else
	tests=("$BUILD"/tests/*.t tests/cli-*.sh tests/bench-*.sh tests/example-*.sh \
	       tests/python-*.sh)
fi

# A profile says what this kernel must give: "must-pass NAME" lines (a skip
# of NAME fails), and, if it has any "may-skip NAME" lines, every skip of a
# test not listed there fails too.
must_pass=" " may_skip="" 
if [ -n "${PAGESCAN_TEST_PROFILE:-}" ]; then
	prof=tests/profiles/$PAGESCAN_TEST_PROFILE
	[ -f "$prof" ] || { echo "runtests: no profile $prof" >&2; exit 2; }
	must_pass=" $(grep -v '^#' "$prof" | awk '$1=="must-pass"{print $2}' | tr '\n' ' ') "
	may_skip=" $(grep -v '^#' "$prof" | awk '$1=="may-skip"{print $2}' | tr '\n' ' ') "
	[ "$may_skip" = "  " ] && may_skip=""
fi

run_as=()
if [ -n "${PAGESCAN_TEST_USER:-}" ]; then
	chmod -R a+rX "$BUILD" 2>/dev/null
	run_as=(setpriv --reuid="$PAGESCAN_TEST_USER" --regid=nogroup --clear-groups)
fi

# What tests leave in the shared temporary directories.  A test killed by
# a signal skips its own cleanup; in a VM, whose /tmp is a tmpfs of half
# its memory, one that filled /tmp broke every test after it (2026-12-08).
# So each test's new pagescan-* entries are named, and removed where
# PAGESCAN_TEST_CLEAN=1 (tests/vm/init; not on a shared host, where
# another run's files look new too).  Swap files are left to the end.
leftovers() {
	local d f
	for d in /tmp /var/tmp /dev/shm; do
		for f in "$d"/pagescan-*; do
			[ -e "$f" ] || continue
			case $f in */pagescan-swap.*) continue ;; esac
			echo "$f"
		done
	done
}

pass=0 fail=0 skip=0
failed=()
echo "kernel: $(uname -r) $(uname -m), user: ${PAGESCAN_TEST_USER:-$(id -un)}"
for t in "${tests[@]}"; do
	[ -e "$t" ] || continue
	name=$(basename "$t"); name=${name%.t}; name=${name%.sh}
	log=$OUT/$name.log
	start=$(date +%s.%N)
	if [ "${t%.sh}" != "$t" ]; then
		cmd=(bash "$t")
	else
		cmd=("$t")
	fi
	before=" $(leftovers | tr '\n' ' ') "
	env BUILD="$BUILD" timeout -k 5 "$TIMEOUT" "${run_as[@]}" \
		env BUILD="$BUILD" PATH="$PATH" "${cmd[@]}" >"$log" 2>&1 </dev/null
	rc=$?
	for f in $(leftovers); do
		[ "${before#* "$f" }" = "$before" ] || continue
		if [ "${PAGESCAN_TEST_CLEAN:-0}" = 1 ]; then
			echo "note: $name left $f (removed)"
			rm -rf "$f"
		else
			echo "note: $name left $f"
		fi
	done
	secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
	secs=$(printf '%.1f' "$secs" 2>/dev/null || echo "$secs")
	case $rc in
	0)	pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
	77)	reason=$(grep -h '^SKIP' "$log" | tail -n 1)
		reason=${reason:-$(tail -n 1 "$log")}
		if [ "${must_pass#* $name }" != "$must_pass" ]; then
			fail=$((fail + 1)); failed+=("$name")
			echo "FAIL $name: skipped but profile $PAGESCAN_TEST_PROFILE requires it: $reason"
		elif [ -n "$may_skip" ] && [ "${may_skip#* $name }" = "$may_skip" ]; then
			fail=$((fail + 1)); failed+=("$name")
			echo "FAIL $name: unexpected skip (not in profile $PAGESCAN_TEST_PROFILE): $reason"
		else
			skip=$((skip + 1)); echo "SKIP $name: ${reason#SKIP $name: }"
		fi ;;
	124|137) fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name: timed out after ${TIMEOUT}s"; tail -n 5 "$log" | sed 's/^/    /' ;;
	*)	fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name (exit $rc)"; tail -n 15 "$log" | sed 's/^/    /' ;;
	esac
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
# A test killed by its timeout leaves its temporary swap file on.
if [ "$(id -u)" = 0 ]; then
	for f in /var/tmp/pagescan-swap.*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*.}" 2>/dev/null && continue
		swapoff "$f" 2>/dev/null; rm -f "$f"
	done
fi
if [ "$(id -u)" = 0 ] && command -v dmesg >/dev/null; then
	if dmesg 2>/dev/null | tail -n 200 | grep -qE 'BUG:|WARNING:|Oops'; then
		echo "note: the kernel log has a BUG/WARNING/Oops line (dmesg)"
	fi
fi
echo "${LANE:+$LANE }$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
