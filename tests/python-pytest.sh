#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Description: the Python package (python/) under pytest, on the shared
# library of $BUILD, in whatever lane runs it (host, nobody, emulate, asan):
# regions and summaries against /proc/PID/pagemap, smaps and the C command,
# write watches over bytearray, mmap and numpy buffers in verify mode,
# errors, the example's PNG and `python3 -m pagescan`.  One test in the
# lane's tally; pytest's own summary is in its log.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
lib=$PWD/$BUILD/libpagescan.so.0

# Debian's python3 has Debian's pytest and numpy (scripts/deps.sh); a
# python3 earlier in PATH (pyenv, a venv) may not.
py=${PYTHON:-}
if [ -z "$py" ]; then
	for c in /usr/bin/python3 python3; do
		if "$c" -c 'import pytest, numpy' 2>/dev/null; then
			py=$c
			break
		fi
	done
fi
if [ -z "$py" ]; then
	echo "SKIP python-pytest: no python3 with pytest and numpy" \
	     "(scripts/deps.sh installs them)"
	exit 77
fi
if [ ! -e "$lib" ]; then
	# The VM lane ships static binaries only.
	echo "SKIP python-pytest: no $lib"
	exit 77
fi

env=(PAGESCAN_LIB="$lib" PAGESCAN_CLI="$PWD/$BUILD/pagescan"
     PYTHONPATH="$PWD/python" PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg)
# A sanitized library needs its runtime loaded first; Python itself leaks
# by design at exit, so only the library's errors count.
if readelf -d "$lib" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
	asan=$(${CC:-gcc} -print-file-name=libasan.so)
	env+=(LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0)
fi
# Under the nobody lane HOME may not be writable: keep caches in /tmp.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
env+=(MPLCONFIGDIR="$tmp/mpl" HOME="$tmp")

echo "python: $("$py" --version 2>&1) ($py), library: $lib"
env "${env[@]}" "$py" -m pytest -p no:cacheprovider -q -rs \
	--basetemp="$tmp/pytest" python/tests 2>&1 | tee "$tmp/out"
rc=${PIPESTATUS[0]}
# pytest: 0 all passed, 1 failures, 5 no test collected (a failure here).
# Nothing in python/tests may skip in a lane: what it needs is installed
# by scripts/deps.sh, and what a kernel lacks is a test's own branch.
if [ "$rc" = 0 ] && tail -n 1 "$tmp/out" | grep -q skipped; then
	echo "FAIL python-pytest: a test skipped (see the reasons above)"
	exit 1
fi
exit "$rc"
