#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# The public header alone: C99 -pedantic, C++, and in front of system
# headers that already define the PAGEMAP_SCAN UAPI (6.7's partial set and
# 6.16's full one), before and after <linux/fs.h> and <sys/mount.h>.
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
CXX=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

try() {
	desc=$1; shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "ok   $desc"
	else
		echo "FAIL $desc"; sed 's/^/    /' "$tmp/err"; fail=1
	fi
}

cat > "$tmp/alone.c" <<'X'
#include <pagescan.h>
_Static_assert(sizeof(struct pm_scan_arg) == 96, "96");
_Static_assert(sizeof(struct page_region) == 24, "24");
_Static_assert(PAGE_IS_GUARD == 256 && PAGE_IS_SOFT_DIRTY == 128, "bits");
_Static_assert(PAGESCAN_CAT_ALL == 0x1ff, "all");
int main(void) { return 0; }
X
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
cp "$tmp/alone.c" "$tmp/alone.cc"
sed -i 's/_Static_assert/static_assert/' "$tmp/alone.cc"

W="-Wall -Wextra -Werror"
try "C99 -pedantic, header alone" $CC -std=c99 -pedantic $W -Iinclude -fsyntax-only "$tmp/alone.c"
try "C11, after <linux/fs.h> and <sys/mount.h>" $CC -std=c11 $W -Iinclude -fsyntax-only "$tmp/before.c"
try "C11, before <sys/mount.h> and <linux/fs.h>" $CC -std=c11 $W -Iinclude -fsyntax-only "$tmp/after.c"
try "C++11" $CXX -std=c++11 $W -Iinclude -fsyntax-only -x c++ "$tmp/alone.cc"
# Linux 6.7's headers: the 6.16 set less the two bits added since.
mkdir -p "$tmp/uapi-6.7/linux"
sed -e '/PAGE_IS_SOFT_DIRTY/d' -e '/PAGE_IS_GUARD/d' \
	-e 's/PAGESCAN_COMPAT_UAPI_616/PAGESCAN_COMPAT_UAPI_67/g' \
	tests/compat/uapi-6.16/linux/fs.h > "$tmp/uapi-6.7/linux/fs.h"
for u in tests/compat/uapi-6.16 "$tmp/uapi-6.7"; do
	v=${u##*uapi-}
	try "C99 with Linux $v UAPI headers" $CC -std=c99 -pedantic $W -I"$u" -Iinclude -fsyntax-only "$tmp/alone.c"
	try "C11 with Linux $v UAPI, fs.h first" $CC -std=c11 $W -I"$u" -Iinclude -fsyntax-only "$tmp/before.c"
	try "C++11 with Linux $v UAPI" $CXX -std=c++11 $W -I"$u" -Iinclude -fsyntax-only -x c++ "$tmp/alone.cc"
done
# The whole library too, built in front of the newest copy.
try "library built with Linux 6.16 UAPI headers" \
	make -s BUILD="$tmp/b616" WERROR=1 CFLAGS="-O1 -Itests/compat/uapi-6.16" \
	"$tmp/b616/libpagescan.a"
exit $fail
