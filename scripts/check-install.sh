#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The README's own steps, in its order, on a copy of this tree as a fresh
# clone has it: `make demo`, then the README's `make install PREFIX=...`
# line (into a DESTDIR), then the README's cc line, with pkg-config
# pointed at the DESTDIR, and the program it builds run.  A build made
# with one PREFIX installs a libpagescan.pc that says the PREFIX given to
# make install.  Then: what is installed, nothing stray, a second install
# with another PREFIX, static linking, the installed command.
set -eu
cd "$(dirname "$0")/.."
. scripts/common.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL $*"; exit 1; }

inst=$(readme_line 'make install PREFIX=[^ ]*')
ccline=$(readme_line 'cc .*pkg-config --cflags --libs libpagescan.*')
[ -n "$inst" ] || fail "README.md has no 'make install PREFIX=...' line"
[ -n "$ccline" ] || fail "README.md has no 'cc ... pkg-config' line"
prefix=${inst#*PREFIX=}

copy_tree "$tmp/src"
cd "$tmp/src"
make demo >"$tmp/demo.log" 2>&1 || { tail -n 20 "$tmp/demo.log"; fail "make demo"; }
# shellcheck disable=SC2086 # the README's words
$inst DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
	{ tail -n 20 "$tmp/install.log"; fail "$inst"; }
root=$tmp/root$prefix
grep -qx "prefix=$prefix" "$root/lib/pkgconfig/libpagescan.pc" ||
	fail "after make demo, '$inst' installed a .pc that says" \
		"$(grep '^prefix=' "$root/lib/pkgconfig/libpagescan.pc")"
if ! PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_LIBDIR="$root/lib/pkgconfig" \
	LD_LIBRARY_PATH="$root/lib" sh -c "$ccline" >"$tmp/run.log" 2>&1; then
	sed 's/^/    /' "$tmp/run.log"
	fail "the README's '$ccline' against the installed tree"
fi
echo "ok   README order: make demo; $inst; $ccline"

for f in include/pagescan.h lib/libpagescan.a lib/libpagescan.so \
	 lib/libpagescan.so.0 lib/pkgconfig/libpagescan.pc bin/pagescan \
	 share/man/man1/pagescan.1 share/man/man3/pagescan_open.3 \
	 share/man/man7/pagescan.7 share/bash-completion/completions/pagescan; do
	[ -e "$root/$f" ] || fail "install: missing $f"
done
stray=$(find "$tmp/root" -name '*.d' -o -name '*.o')
[ -z "$stray" ] || fail "install: stray files: $stray"

# The same build installed again elsewhere says where it went this time.
make -s PREFIX=/opt/ps DESTDIR="$tmp/opt" install >/dev/null
grep -qx 'prefix=/opt/ps' "$tmp/opt/opt/ps/lib/pkgconfig/libpagescan.pc" ||
	fail "a second install with PREFIX=/opt/ps kept the first .pc"
echo "ok   the same build installed with PREFIX=/opt/ps: its .pc says /opt/ps"

# Static linking against the installed archive; the installed command.
cc -o "$tmp/scan-self-static" examples/scan-self.c -I"$root/include" \
	"$root/lib/libpagescan.a" -lpthread
"$tmp/scan-self-static" >/dev/null || fail "statically linked example"
"$root/bin/pagescan" features >/dev/null || fail "installed pagescan features"
echo "ok   static link against the installed archive; installed pagescan runs"
