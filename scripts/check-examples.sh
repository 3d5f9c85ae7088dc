#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Every C block of README.md and of the man pages' EXAMPLE sections, cut
# out of the text as its reader sees it (scripts/doc-blocks.py, which also
# says what a block is), compiled against the build tree and against an
# installed tree (make install DESTDIR=, pkg-config), -Wall -Wextra
# -Werror.  Complete programs (they define main()) are linked and run:
# with the default backend, on the emulation, and from the installed tree.
# A fragment is compiled, not run:
#   - one that starts with #include or defines a function, as a file after
#     the usual headers (-Wno-unused: a fragment may define what it does
#     not call);
#   - any other, as statements in the body of a function that has pid,
#     ps, buf and len in scope (pid_t, struct pagescan *, void *, size_t).
# A README block whose paragraph names an examples/ file must be that file.
#   scripts/check-examples.sh [BUILD]     (built already: make BUILD=...)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
CC=${CC:-cc}
[ -e "$BUILD/libpagescan.so" ] || { echo "FAIL $BUILD is not built"; exit 1; }
build=$(cd "$BUILD" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

scripts/doc-blocks.py "$tmp/blocks"
make -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$tmp/root" install >/dev/null
pcflags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
	PKG_CONFIG_LIBDIR="$tmp/root/usr/lib/pkgconfig" \
	pkg-config --cflags --libs libpagescan)

prelude() {
	cat <<-'X'
	#include <errno.h>
	#include <inttypes.h>
	#include <stdint.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <unistd.h>
	#include <sys/mman.h>
	#include <pagescan.h>
	X
}

W="-Wall -Wextra -Werror"
n=0
while read -r kind file where ref; do
	n=$((n + 1))
	src=$tmp/blocks/$file
	w=$tmp/w-$file
	line="#line $((${where##*:} + 1)) \"${where%:*}\""
	libs=""
	case $kind in
	program)
		{ echo "$line"; cat "$src"; } > "$w"
		flags=$W libs="$build/libpagescan.so -Wl,-rpath,$build" ;;
	file)
		{ prelude; echo "$line"; cat "$src"; } > "$w"
		flags="$W -Wno-unused -c" ;;
	body)
		{
			prelude
			echo 'int doc_example(pid_t pid, struct pagescan *ps, void *buf, size_t len);'
			echo 'int doc_example(pid_t pid, struct pagescan *ps, void *buf, size_t len)'
			echo '{'
			echo '	(void)pid; (void)ps; (void)buf; (void)len;'
			echo '	{'
			echo "$line"
			cat "$src"
			echo '	}'
			echo '	return 0;'
			echo '}'
		} > "$w"
		flags="$W -Wno-unused -c" ;;
	*)
		echo "FAIL $where: unknown kind $kind"; fail=1; continue ;;
	esac
	if [ -n "$ref" ] && ! cmp -s "$src" "$ref"; then
		echo "FAIL $where: the block is not $ref as it stands:"
		diff -u "$ref" "$src" | sed 's/^/    /' | head -n 20
		fail=1
	fi
	# shellcheck disable=SC2086 # flags are words
	if ! $CC $flags -Iinclude -o "$tmp/b.out" "$w" $libs 2>"$tmp/err"; then
		echo "FAIL $where ($kind) does not compile against the build tree:"
		sed 's/^/    /' "$tmp/err" | head -n 20; fail=1; continue
	fi
	# shellcheck disable=SC2086
	if ! $CC $flags -o "$tmp/i.out" "$w" $pcflags 2>"$tmp/err"; then
		echo "FAIL $where ($kind) does not compile against the installed tree:"
		sed 's/^/    /' "$tmp/err" | head -n 20; fail=1; continue
	fi
	ran=""
	if [ "$kind" = program ]; then
		for b in auto emulate; do
			if ! PAGESCAN_BACKEND=$b timeout 60 "$tmp/b.out" \
				>"$tmp/out" 2>&1 </dev/null; then
				echo "FAIL $where: the program fails (PAGESCAN_BACKEND=$b):"
				sed 's/^/    /' "$tmp/out" | head -n 10; fail=1
			fi
		done
		if ! LD_LIBRARY_PATH="$tmp/root/usr/lib" timeout 60 "$tmp/i.out" \
			>"$tmp/out" 2>&1 </dev/null; then
			echo "FAIL $where: the program fails when installed:"
			sed 's/^/    /' "$tmp/out" | head -n 10; fail=1
		fi
		ran=", runs (auto, emulate, installed)"
	fi
	echo "ok   $where ($kind${ref:+, is $ref}): compiles against build and install$ran"
done < "$tmp/blocks/blocks"
[ "$n" -gt 0 ] || { echo "FAIL no code block found"; fail=1; }
exit $fail
