#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The Debian packages, as a distribution builds them and a user installs
# them: dpkg-buildpackage -us -uc -b on a copy of the tree as a clone has
# it; lintian on the result (an error fails; every tag is summed up); then
# dpkg -i of libpagescan0, libpagescan-dev, pagescan and python3-pagescan,
# and against the installed packages alone: the README's cc line
# (pkg-config), pagescan itself (linked to libpagescan0), Debian's python3
# importing pagescan (on libpagescan0) and python3 -m pagescan printing
# what pagescan prints, and man for every page they ship
# (pagescan_open first); then dpkg --purge, after which none of their
# files is left.  It refuses to start where one of the packages, or a file
# they would install, is on the machine already, since it could not put
# that back.  Root (dpkg -i).  Last line: "deb: N passed, N failed, N
# skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/common.sh
PKGS="libpagescan0 libpagescan-dev pagescan python3-pagescan"
tmp=$(mktemp -d)
p=0 f=0 installed=0
ok() { echo "ok   $*"; p=$((p + 1)); }
bad() { echo "FAIL $*"; f=$((f + 1)); }
finish() {
	if [ "$installed" = 1 ]; then
		t0=$(date +%s)
		# shellcheck disable=SC2086
		dpkg --purge $PKGS >"$tmp/purge.log" 2>&1 ||
			{ bad "dpkg --purge"; sed 's/^/    /' "$tmp/purge.log"; }
		installed=0
		left=""
		for pk in $PKGS; do
			dpkg-query -W -f='${db:Status-Abbrev}' "$pk" 2>/dev/null |
				grep -q '^[^u]' && left="$left $pk"
		done
		while read -r x; do
			[ -e "$x" ] || [ -L "$x" ] && left="$left $x"
		done < "$tmp/files"
		if [ -z "$left" ]; then
			ok "purged ($(($(date +%s) - t0)) s): no package, no file left"
		else
			bad "left after the purge:$left"
		fi
	fi
	rm -rf "$tmp"
	echo "deb: $p passed, $f failed, 0 skipped"
	[ "$f" = 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { bad "needs root (dpkg -i)"; exit 1; }
for c in dpkg-buildpackage dh lintian pkg-config man; do
	command -v "$c" >/dev/null || { bad "$c is missing (scripts/deps.sh test)"; exit 1; }
done
for pk in $PKGS; do
	if dpkg-query -W -f='${db:Status-Abbrev}' "$pk" 2>/dev/null | grep -q '^[^u]'; then
		bad "$pk is on this machine already; it would not be put back (dpkg --purge $pk)"
		exit 1
	fi
done

version=$(awk -F' := ' '/^VERSION_(MAJOR|MINOR|PATCH)/ { printf "%s%s", sep, $2; sep = "." }' Makefile.common)
src=$tmp/build/libpagescan-$version
copy_tree "$src"
t0=$(date +%s)
# A distribution's build has the system's PATH: a python3 of pyenv or a
# venv earlier in ours would be the one pybuild runs.
if (cd "$src" && PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
	bad "dpkg-buildpackage -us -uc -b:"; tail -n 30 "$tmp/build.log" | sed 's/^/    /'
	exit 1
fi
changes=$(ls "$tmp"/build/libpagescan_*.changes)
debs=""
for pk in $PKGS; do
	d=$(ls "$tmp"/build/"${pk}"_*.deb 2>/dev/null | head -n 1)
	[ -n "$d" ] || { bad "no $pk package was built"; exit 1; }
	debs="$debs $d"
done

t0=$(date +%s)
lintian --pedantic --display-info --show-overrides "$changes" >"$tmp/lintian" 2>&1
lt=$(($(date +%s) - t0))
sum=$(awk -F': ' '/^[EWIPXO]: / { n[$1]++ } END { printf "%d errors, %d warnings, %d info, %d pedantic, %d experimental, %d overridden", n["E"], n["W"], n["I"], n["P"], n["X"], n["O"] }' "$tmp/lintian")
if grep -q '^E: ' "$tmp/lintian"; then
	bad "lintian ($lt s): $sum"
else
	ok "lintian ($lt s): $sum"
fi
grep '^[EWIPXO]: ' "$tmp/lintian" | sed 's/^/    /'

# Nothing of theirs may be here already: the purge would remove it.
for d in $debs; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }'
done > "$tmp/files"
here=""
while read -r x; do
	[ -e "$x" ] || [ -L "$x" ] && here="$here $x"
done < "$tmp/files"
if [ -n "$here" ]; then
	bad "files of the packages are here already (installed by hand?):$here"
	exit 1
fi

t0=$(date +%s)
# shellcheck disable=SC2086
if dpkg -i $debs >"$tmp/install.log" 2>&1; then
	installed=1
	ok "dpkg -i $PKGS ($(($(date +%s) - t0)) s)"
else
	installed=1
	bad "dpkg -i:"; sed 's/^/    /' "$tmp/install.log"; exit 1
fi

v=$(pkg-config --modversion libpagescan 2>&1)
if [ "$v" = "$version" ]; then ok "pkg-config --modversion libpagescan: $v"
else bad "pkg-config --modversion libpagescan: '$v', not $version"; fi
cc=$(readme_line 'cc .*pkg-config --cflags --libs libpagescan.*')
if [ -z "$cc" ]; then
	bad "README.md has no 'cc ... pkg-config' line"
elif (cd "$src" && env -u PKG_CONFIG_PATH -u LD_LIBRARY_PATH sh -c "$cc") >"$tmp/cc.log" 2>&1; then
	ok "the README's '$cc' against the installed packages"
else
	bad "the README's '$cc':"; sed 's/^/    /' "$tmp/cc.log"
fi
# The bash completion, where bash-completion looks for it, completing.
bc=/usr/share/bash-completion/completions/pagescan
if [ -f "$bc" ] && got=$(bash -c '. "$1" && COMP_WORDS=(pagescan reg) &&
	COMP_CWORD=1 && _pagescan && echo "${COMPREPLY[*]}"' _ "$bc") &&
	[ "$got" = regions ]; then
	ok "pagescan's bash completion is installed and completes"
else
	bad "bash completion: $bc: '${got:-}'"
fi
if ! /usr/bin/pagescan features >/dev/null 2>"$tmp/err"; then
	bad "pagescan features: $(cat "$tmp/err")"
elif ! lib=$(ldd /usr/bin/pagescan | sed -n 's/^[[:space:]]*libpagescan\.so\.0 => \(\/[^ ]*\) .*/\1/p') ||
     ! dpkg -S "$(readlink -f "$lib")" 2>/dev/null | grep -q '^libpagescan0:'; then
	bad "/usr/bin/pagescan does not load libpagescan0's library:" \
		"$(ldd /usr/bin/pagescan | tr '\n' ' ')"
elif ! dpkg-query -W -f='${Depends}' pagescan | grep -q libpagescan0; then
	bad "pagescan does not depend on libpagescan0:" \
		"$(dpkg-query -W -f='${Depends}' pagescan)"
else
	ok "pagescan features runs, linked to libpagescan0, which it depends on"
fi
# python3-pagescan: Debian's python3 alone (no PYTHONPATH, no
# PAGESCAN_LIB) imports it from dist-packages and loads libpagescan0's
# library by its soname.
if ! out=$(cd / && env -u PYTHONPATH -u PAGESCAN_LIB -u LD_LIBRARY_PATH \
	/usr/bin/python3 -c '
import os, pagescan
with pagescan.open() as h:
    assert len(h.regions_array(require="present")) > 0
lib = [l.split()[-1] for l in open("/proc/self/maps") if "libpagescan" in l]
print(pagescan.__file__, os.path.realpath(lib[0]))' 2>&1); then
	bad "python3 -c 'import pagescan': $out"
elif ! echo "$out" | grep -q '^/usr/lib/python3/dist-packages/pagescan/' ||
     ! dpkg -S "${out##* }" 2>/dev/null | grep -q '^libpagescan0:'; then
	bad "python3's pagescan is not python3-pagescan's on libpagescan0: $out"
else
	ok "python3 imports pagescan from python3-pagescan, on libpagescan0"
fi
# python3 -m pagescan prints what pagescan prints, for a process that holds
# still (a stopped sleep).
sleep 60 & sp=$!
kill -STOP "$sp"
a=$(cd / && COLUMNS=120 /usr/bin/pagescan "$sp" 2>&1)
b=$(cd / && COLUMNS=120 env -u PYTHONPATH -u PAGESCAN_LIB /usr/bin/python3 \
	-m pagescan "$sp" 2>&1)
kill -KILL "$sp"; wait "$sp" 2>/dev/null
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	ok "python3 -m pagescan PID prints what pagescan PID prints"
else
	bad "python3 -m pagescan PID differs from pagescan PID:"
	printf '%s\n---\n%s\n' "$a" "$b" | sed 's/^/    /'
fi
export MANWIDTH=80
if man -w pagescan_open | grep -q '^/usr/share/man/man3/pagescan_open\.3\.gz$' &&
   man pagescan_open 2>/dev/null | grep -q 'pagescan_open'; then
	ok "man pagescan_open"
else
	bad "man pagescan_open: $(man -w pagescan_open 2>&1)"
fi
n=0 m=""
for x in $(grep '^/usr/share/man/man' "$tmp/files"); do
	name=${x##*/}; name=${name%.gz}; sect=${name##*.}; name=${name%.*}
	n=$((n + 1))
	out=$(man --warnings "$sect" "$name" 2>&1 >/dev/null)
	[ -z "$out" ] && man "$sect" "$name" 2>/dev/null | grep -q . || m="$m $sect/$name"
done
if [ -z "$m" ]; then ok "man finds and renders all $n installed pages without a warning"
else bad "man cannot show, or warns on:$m"; fi
