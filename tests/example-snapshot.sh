#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Description: the snapshot examples run briefly and say what they
# measured: examples/fuzz-snapshot (executions per second with snapshot
# restore and with a fork server; each checks the state is reset after
# every input) and examples/arena-reset (which checks the arena).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
fail=0
out=$("$BUILD/examples/fuzz-snapshot" 0.2 2>&1) || { echo "FAIL fuzz-snapshot: $out"; fail=1; }
echo "$out"
echo "$out" | grep -q '^snapshot restore: [0-9]* execs/s' ||
	{ echo "FAIL fuzz-snapshot printed no rate"; fail=1; }
echo "$out" | grep -q '^fork server: *[0-9]* execs/s' ||
	{ echo "FAIL fuzz-snapshot printed no fork rate"; fail=1; }
out=$("$BUILD/examples/arena-reset" 300 2>&1) || { echo "FAIL arena-reset: $out"; fail=1; }
echo "$out"
echo "$out" | grep -q '^300 requests, ' ||
	{ echo "FAIL arena-reset printed no summary"; fail=1; }
exit $fail
