#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The man pages, in the tree and installed; every page in man/ is covered,
# so a new one is checked without being listed:
# - each reads in the tree with man -l: a real page, or a symlink to a real
#   page of the same section in man/ (not a .so stub: .so resolves against
#   an installed man tree only, so in the tree it printed nothing);
# - .TH names the file, its section, and libpagescan-MAJOR.MINOR of
#   Makefile.common;
# - each name of a page's NAME section (lexgrog) has a page of that name,
#   so that `man NAME` finds every one, and each link's name is in its
#   target's NAME section (check-abi: every exported function has a page);
# - rendered at 80 columns with man --warnings: no warning, some text;
# - installed (make install DESTDIR=): each name resolves with man -M and
#   renders without a warning, and mandoc -T lint reports nothing at
#   warning level or above.
#   scripts/check-man.sh [BUILD]     (built already: make BUILD=...)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }
export LC_ALL=C.UTF-8 MANWIDTH=80

major=$(sed -n 's/^VERSION_MAJOR := //p' Makefile.common)
minor=$(sed -n 's/^VERSION_MINOR := //p' Makefile.common)
source="libpagescan-$major.$minor"

# render FILE-or-NAME [man options]: text to $tmp/out, warnings to $tmp/err
render() {
	man --warnings -E UTF-8 "$@" >"$tmp/out" 2>"$tmp/err" || true
	[ -s "$tmp/out" ] && [ ! -s "$tmp/err" ]
}

pages=0
for p in man/*.[1-8]; do
	pages=$((pages + 1))
	name=${p#man/}; sect=${name##*.}; base=${name%.*}
	if [ -L "$p" ]; then
		t=$(readlink "$p")
		case $t in
		*/*) bad "$p links to $t, not to a page beside it"; continue ;;
		esac
		if [ ! -f "man/$t" ] || [ -L "man/$t" ]; then
			bad "$p links to $t, which is not a page in man/"; continue
		fi
		[ "${t##*.}" = "$sect" ] || bad "$p links to a page of another section: $t"
		lexgrog "man/$t" 2>/dev/null | grep -q ": \"$base - " ||
			bad "$p links to $t, whose NAME section does not name $base"
	else
		if head -n 3 "$p" | grep -q '^\.so '; then
			bad "$p is a .so stub (unreadable in the tree): make it a symlink"
			continue
		fi
		th=$(grep -m 1 '^\.TH ' "$p" || true)
		# shellcheck disable=SC2086 # .TH's words, quotes and all
		set -- $th
		if [ "${2:-}" != "$base" ] || [ "${3:-}" != "$sect" ]; then
			bad "$p: .TH says '${2:-} ${3:-}', not '$base $sect'"
		fi
		echo "$th" | grep -q "\"$source\"" ||
			bad "$p: .TH does not give the source \"$source\" (Makefile.common)"
		if ! lexgrog "$p" >"$tmp/names" 2>&1; then
			bad "$p: lexgrog cannot parse its NAME section"; continue
		fi
		sed -n 's/^[^:]*: "\([^ ]*\) - .*/\1/p' "$tmp/names" > "$tmp/list"
		while read -r n; do
			[ -e "man/$n.$sect" ] ||
				bad "$n is in $p's NAME but has no page: ln -s $name man/$n.$sect"
		done < "$tmp/list"
	fi
	if ! render -l "$p"; then
		bad "man -l $p:"; sed 's/^/    /' "$tmp/err" | head -n 5
	fi
done
[ "$fail" = 0 ] && echo "ok   $pages pages read in the tree (man -l), NAME sections and links agree"

# Installed.
root=$tmp/root
make -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$root" install >/dev/null
M=$root/usr/share/man
n=0
for p in man/*.[1-8]; do
	name=${p#man/}; sect=${name##*.}; base=${name%.*}
	n=$((n + 1))
	where=$(man -M "$M" -w "$sect" "$base" 2>/dev/null || true)
	case $where in
	"$M"/*) ;;
	*) bad "installed: man $sect $base is not found in $M (${where:-nothing})"; continue ;;
	esac
	if ! render -M "$M" "$sect" "$base"; then
		bad "installed: man $sect $base:"; sed 's/^/    /' "$tmp/err" | head -n 5
	fi
done
if command -v mandoc >/dev/null; then
	if ! mandoc -T lint -W warning "$M"/man*/* >"$tmp/lint" 2>&1; then
		bad "mandoc -T lint -W warning:"; sed 's/^/    /' "$tmp/lint" | head -n 20
	fi
else
	bad "mandoc is not installed (scripts/deps.sh test)"
fi
[ "$fail" = 0 ] && echo "ok   $n names installed: man finds each, no warning (man, mandoc -T lint)"
exit $fail
