#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The public header as its users compile it, with gcc and clang:
# - alone, as ISO C99, C11, C17 and C2x and as C++11, 14, 17 and 20, all
#   -pedantic-errors -Wall -Wextra -Werror;
# - a user of every macro it defines (found in the header, so a new one is
#   covered or makes this fail): PAGESCAN_OPTS() as C99 and later and as
#   C++20, both in its GNU C form and in the ISO form other compilers get,
#   and PAGESCAN_OPTS_RESET() down to C++11;
# - every options struct (each "TYPE__last_field") ends at its last field,
#   and PAGESCAN_OPTS() leaves every byte but .sz zero, padding included,
#   on a stack full of garbage (gcc and clang, -O0 and -O2);
# - in front of system headers that already define the PAGEMAP_SCAN UAPI
#   (6.7's partial set and 6.16's full one), before and after <linux/fs.h>
#   and <sys/mount.h>.
# shellcheck disable=SC2086 # $W and the compilers are lists of words
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
CXX=${CXX:-g++}
CLANG=${CLANG:-clang}
CLANGXX=${CLANGXX:-clang++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
H=include/pagescan.h

try() {
	desc=$1; shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "ok   $desc"
	else
		echo "FAIL $desc"; sed 's/^/    /' "$tmp/err" "$tmp/out" | head -n 20
		fail=1
	fi
}

# What the header defines: options structs, object-like macros, and
# function-like macros (the internal ones end in "__").
opts=$(sed -n 's/^#define \([a-z_]*\)__last_field .*/\1/p' "$H")
objs=$(sed -n 's/^#define \([A-Z][A-Z0-9_]*\)[ 	].*/\1/p' "$H" |
	grep -v -e '^PAGESCAN_H$' -e '^PAGESCAN_API$' | sort -u)
funcs=$(sed -n 's/^#define \([A-Za-z][A-Za-z0-9_]*\)(.*/\1/p' "$H" |
	grep -v '__$' | sort -u)
for m in $funcs; do
	case $m in
	PAGESCAN_OPTS|PAGESCAN_OPTS_RESET) ;;
	*) echo "FAIL $H defines $m(), which nothing here uses: add a user"
	   fail=1 ;;
	esac
done
[ -n "$opts" ] || { echo "FAIL no TYPE__last_field in $H"; exit 1; }

# One user of everything: C99 and later, and C++ (PAGESCAN_OPTS() from
# C++20, the designated initialisers it is made of).
{
	echo '#include <pagescan.h>'
	echo '#define SA(c, n) typedef char sa_##n[(c) ? 1 : -1]'
	for t in $opts; do
		echo "SA(sizeof(struct $t) == offsetof(struct $t, ${t}__last_field) +"
		echo "   sizeof(((struct $t *)0)->${t}__last_field), ${t}_no_tail_padding);"
	done
	echo 'unsigned long long every_macro(void);'
	echo 'unsigned long long every_macro(void)'
	echo '{'
	echo '	unsigned long long v = 0;'
	for m in $objs; do
		echo "	v += (unsigned long long)($m);"
	done
	for t in $opts; do
		echo "	{ struct $t o; PAGESCAN_OPTS_RESET(o); v += o.sz; }"
	done
	echo '#if !defined(__cplusplus) || __cplusplus >= 202002L'
	for t in $opts; do
		echo "	{ PAGESCAN_OPTS($t, o); v += o.sz; }"
	done
	echo '	{ PAGESCAN_OPTS(pagescan_scan_opts, o,'
	echo '		.category_mask = PAGESCAN_CAT_PRESENT,'
	echo '		.return_mask = PAGESCAN_CAT_PRESENT); v += o.return_mask; }'
	echo '#endif'
	echo '	return v;'
	echo '}'
	echo 'int main(void) { return every_macro() == 0; }'
} > "$tmp/macros.c"
cp "$tmp/macros.c" "$tmp/macros.cc"

W="-Wall -Wextra -Werror -pedantic-errors -Iinclude -fsyntax-only"
echo '#include <pagescan.h>' > "$tmp/alone.c"
cp "$tmp/alone.c" "$tmp/alone.cc"
for c in "$CC" "$CLANG"; do
	for std in c99 c11 c17 c2x; do
		try "$c -std=$std, header alone" $c -std=$std $W "$tmp/alone.c"
		try "$c -std=$std, every macro" $c -std=$std $W "$tmp/macros.c"
	done
	# What a compiler without GNU C gets (glibc's headers allow this).
	try "$c -std=c99 -U__GNUC__ (ISO PAGESCAN_OPTS), every macro" \
		$c -std=c99 -U__GNUC__ $W "$tmp/macros.c"
done
for c in "$CXX" "$CLANGXX"; do
	for std in c++11 c++14 c++17 c++20; do
		try "$c -std=$std, header alone" $c -std=$std $W "$tmp/alone.cc"
		try "$c -std=$std, every macro" $c -std=$std $W "$tmp/macros.cc"
	done
done

# PAGESCAN_OPTS() zeroes every byte but .sz, on a stack left dirty.
{
	echo '#include <stdio.h>'
	echo '#include <pagescan.h>'
	echo '__attribute__((noinline)) static void dirty(void)'
	echo '{ volatile unsigned char j[4096]; size_t i; for (i = 0; i < sizeof(j); i++) j[i] = 0xa5; }'
	echo '__attribute__((noinline)) static int first_set(const void *p, size_t n)'
	echo '{ const unsigned char *c = p; size_t i; for (i = sizeof(size_t); i < n; i++) if (c[i]) return (int)i; return -1; }'
	for t in $opts; do
		echo "__attribute__((noinline)) static int zero_$t(void)"
		echo "{ PAGESCAN_OPTS($t, o); return o.sz == sizeof(o) ? first_set(&o, sizeof(o)) : 0; }"
	done
	echo 'int main(void)'
	echo '{'
	echo '	int bad = 0, at;'
	for t in $opts; do
		echo "	dirty(); at = zero_$t();"
		printf '\tif (at >= 0) { printf("%s: byte %%d not zero\\n", at); bad = 1; }\n' "$t"
	done
	echo '	return bad;'
	echo '}'
} > "$tmp/zero.c"
for c in "$CC" "$CLANG"; do
	for o in -O0 -O2; do
		try "$c $o: PAGESCAN_OPTS() zeroes every byte but .sz" \
			sh -c "$c -std=c99 $o -Iinclude -o '$tmp/zero' '$tmp/zero.c' && '$tmp/zero'"
	done
done

cat > "$tmp/uapi.c" <<'X'
#include <pagescan.h>
#define SA(c, n) typedef char sa_##n[(c) ? 1 : -1]
SA(sizeof(struct pm_scan_arg) == 96, arg);
SA(sizeof(struct page_region) == 24, region);
SA(PAGE_IS_GUARD == 256 && PAGE_IS_SOFT_DIRTY == 128, bits);
SA(PAGESCAN_CAT_ALL == 0x1ff, all);
int main(void) { return 0; }
X
cp "$tmp/uapi.c" "$tmp/uapi.cc"
cat > "$tmp/before.c" <<'X'
#include <linux/fs.h>
#include <sys/mount.h>
#include <pagescan.h>
int main(void) { struct pm_scan_arg a = { .size = sizeof(a) }; return (int)a.flags; }
X
cat > "$tmp/after.c" <<'X'
#include <pagescan.h>
#include <sys/mount.h>
#include <linux/fs.h>
int main(void) { struct pm_scan_arg a = { .size = sizeof(a) }; return (int)a.flags; }
X
try "C99, UAPI layout" $CC -std=c99 $W "$tmp/uapi.c"
try "C11, after <linux/fs.h> and <sys/mount.h>" $CC -std=c11 $W "$tmp/before.c"
try "C11, before <sys/mount.h> and <linux/fs.h>" $CC -std=c11 $W "$tmp/after.c"
# Linux 6.7's headers: the 6.16 set less the two bits added since.
mkdir -p "$tmp/uapi-6.7/linux"
sed -e '/PAGE_IS_SOFT_DIRTY/d' -e '/PAGE_IS_GUARD/d' \
	-e 's/PAGESCAN_COMPAT_UAPI_616/PAGESCAN_COMPAT_UAPI_67/g' \
	tests/compat/uapi-6.16/linux/fs.h > "$tmp/uapi-6.7/linux/fs.h"
for u in tests/compat/uapi-6.16 "$tmp/uapi-6.7"; do
	v=${u##*uapi-}
	try "C99 with Linux $v UAPI headers" $CC -std=c99 -I"$u" $W "$tmp/uapi.c"
	try "C99 with Linux $v UAPI, every macro" $CC -std=c99 -I"$u" $W "$tmp/macros.c"
	try "C11 with Linux $v UAPI, fs.h first" $CC -std=c11 -I"$u" $W "$tmp/before.c"
	try "C++11 with Linux $v UAPI" $CXX -std=c++11 -I"$u" $W "$tmp/uapi.cc"
done
# The whole library too, built in front of the newest copy.
try "library built with Linux 6.16 UAPI headers" \
	make -s BUILD="$tmp/b616" WERROR=1 CFLAGS="-O1 -Itests/compat/uapi-6.16" \
	"$tmp/b616/libpagescan.a"
exit $fail
