#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# make install into a DESTDIR honours PREFIX, installs a pkg-config file that
# works, and an example builds and runs against the installed copy alone.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s BUILD="$tmp/build" PREFIX=/opt/ps DESTDIR="$tmp/root" install >/dev/null
root=$tmp/root/opt/ps
for f in include/pagescan.h lib/libpagescan.a lib/libpagescan.so lib/libpagescan.so.0 \
	 lib/pkgconfig/libpagescan.pc bin/pagescan share/man/man3/pagescan_open.3 \
	 share/man/man7/pagescan.7; do
	[ -e "$root/$f" ] || { echo "FAIL install: missing $f"; exit 1; }
done
stray=$(find "$tmp/root" -name '*.d' -o -name '*.o')
[ -z "$stray" ] || { echo "FAIL install: stray files: $stray"; exit 1; }
grep -q '^prefix=/opt/ps$' "$root/lib/pkgconfig/libpagescan.pc" ||
	{ echo "FAIL pkg-config prefix"; exit 1; }
flags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_LIBDIR="$root/lib/pkgconfig" \
	pkg-config --cflags --libs libpagescan 2>/dev/null ||
	echo "-I$root/include -L$root/lib -lpagescan")
# shellcheck disable=SC2086
cc -o "$tmp/scan-self" examples/scan-self.c $flags -Wl,-rpath,"$root/lib"
"$tmp/scan-self" >/dev/null || { echo "FAIL installed example does not run"; exit 1; }
# Static linking against the installed archive.
cc -o "$tmp/scan-self-static" examples/scan-self.c -I"$root/include" \
	"$root/lib/libpagescan.a" -lpthread
"$tmp/scan-self-static" >/dev/null
"$root/bin/pagescan" features >/dev/null
echo "ok   install to DESTDIR with PREFIX=/opt/ps; pkg-config; example links"
