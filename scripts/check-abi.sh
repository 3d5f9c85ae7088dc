#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The shared library exports exactly the functions that <pagescan.h>
# declares PAGESCAN_API, under the version node of Makefile.common, and
# each has a man page named after it (a page, or a link to one).
set -eu
cd "$(dirname "$0")/.."
so=${1:-build/libpagescan.so.0.1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

minor=$(sed -n 's/^VERSION_MINOR := //p' Makefile.common)
major=$(sed -n 's/^VERSION_MAJOR := //p' Makefile.common)
node="PAGESCAN_$major.$minor"

nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported"
# The declared functions: the identifier before "(" on PAGESCAN_API lines.
tr '\n' ' ' < include/pagescan.h | sed 's/;/;\n/g' | grep 'PAGESCAN_API' |
	sed -n 's/.*[ *]\(pagescan_[a-z0-9_]*\)[ ]*(.*/\1/p' | sort -u > "$tmp/declared"

if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
	echo "FAIL exported symbols differ from the header's PAGESCAN_API list:"
	sed 's/^/    /' "$tmp/diff"
	fail=1
else
	echo "ok   $(wc -l < "$tmp/exported") exported functions match the header"
fi
bad=$(nm -D --defined-only "$so" | awk '$2 != "T" && $2 != "A" { print $3 }' | grep -v '^$' || true)
if [ -n "$bad" ]; then
	echo "FAIL exported non-function symbols: $bad"; fail=1
fi
if objdump -T "$so" | awk '$2 == "g" || $3 == "DF" || $3 == ".text"' | grep pagescan_ | grep -vq "$node"; then
	echo "FAIL a symbol is not in version node $node"; fail=1
else
	echo "ok   every symbol is in $node"
fi
# `man NAME` finds a page for every function: its own, or a link to the
# page that documents it (scripts/check-man.sh checks the links).
missing=""
for f in $(cat "$tmp/exported"); do
	[ -e "man/$f.3" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "FAIL no man page named after:$missing"; fail=1
else
	echo "ok   every exported function has a man page of its name"
fi
# One version, Makefile.common's, everywhere a user or a distribution
# reads it: the library's file name and pagescan_version_string(), the
# .pc, debian/changelog (the header's macros: src/version.c).
version=$(awk -F' := ' '/^VERSION_(MAJOR|MINOR|PATCH)/ { printf "%s%s", sep, $2; sep = "." }' Makefile.common)
dir=$(cd "$(dirname "$so")" && pwd)
printf '#include <stdio.h>\n#include <pagescan.h>\nint main(void) { puts(pagescan_version_string()); return 0; }\n' > "$tmp/v.c"
run=""
if cc -Iinclude -o "$tmp/v" "$tmp/v.c" "$so" -Wl,-rpath,"$dir"; then
	run=$("$tmp/v" || true)
fi
pc=$(sed -n 's/^Version: //p' "$dir/libpagescan.pc" 2>/dev/null || true)
deb=$(sed -n '1s/^[a-z0-9.+-]* (\([^)-]*\)\(-[^)]*\)\?).*/\1/p' debian/changelog 2>/dev/null || true)
if [ "${so##*/}" != "libpagescan.so.$version" ] || [ "$run" != "$version" ] ||
   [ "$pc" != "$version" ] || { [ -e debian/changelog ] && [ "$deb" != "$version" ]; }; then
	echo "FAIL versions differ from Makefile.common's $version: file ${so##*/}," \
		"pagescan_version_string() '$run', libpagescan.pc '$pc'," \
		"debian/changelog '${deb:-none}'"
	fail=1
else
	echo "ok   version $version: file name, pagescan_version_string(), .pc${deb:+, debian/changelog}"
fi
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libpagescan.so.$major" ]; then
	echo "FAIL soname is '$soname'"; fail=1
else
	echo "ok   soname $soname"
fi
exit $fail
