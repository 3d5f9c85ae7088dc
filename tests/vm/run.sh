#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# The VM lane: boot Debian's packaged kernels under qemu (TCG, no KVM needed)
# with a busybox initramfs carrying the statically linked tests, run the
# suite inside and check it against tests/profiles/vm-NAME.
#
#   tests/vm/run.sh [NAME ...]     default: every kernel in tests/vm/kernels
#
# Environment:
#   VM_BUILD     build directory of the static binaries (default build-vm)
#   VM_CACHE     package cache, kept between runs (default tests/vm/cache)
#   VM_TIMEOUT   seconds per VM, boot to power-off (default 1100)
#   VM_BUDGET    seconds for all VMs together (default 2100): a VM gets
#                at most what is left, so the lane ends inside CI's time
#   VM_TESTS     test names to run inside (default: all)
#   VM_TEST_TIMEOUT  seconds per test inside (default 300; TCG is slow)
#   VM_HOST_TOOLS    host programs copied in with their libraries
#   VM_MEM, VM_SMP   guest memory and CPUs (default 2G, 2)
#   VM_REFRESH=1 look for a newer kernel package even if one is cached
#   VM_APT_URI   archive URI (default: the one in this machine's apt sources)
#   VM_NOBUILD=1 do not run make (the binaries are already built)
#   VM_BENCH=1   run the benchmark (bench/README) instead of the tests and
#                bring back its table (build-vm/vm/NAME/bench.txt, .json);
#                VM_BENCH_ARGS adds options (default --reps 3 --slow 10);
#                VM_MEM defaults to 4G and VM_TIMEOUT to 3600 then
# Prints every kernel's runner output, its summary line prefixed by
# "vm-NAME:", and at the end "N passed, N failed, N skipped".  Exits
# non-zero on any failure, a kernel that does not boot or a timeout.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 2
TOP=$PWD
VMDIR=tests/vm
BUILD=${VM_BUILD:-build-vm}
CACHE=${VM_CACHE:-$VMDIR/cache}
case $CACHE in /*) ;; *) CACHE=$TOP/$CACHE ;; esac
WORK=$TOP/$BUILD/vm
BENCH=${VM_BENCH:-0}
if [ "$BENCH" = 1 ]; then
	TIMEOUT=${VM_TIMEOUT:-3600}
	MEM=${VM_MEM:-4G}
	: "${VM_BUDGET:=7200}"
else
	TIMEOUT=${VM_TIMEOUT:-1100}
	MEM=${VM_MEM:-2G}
fi
SMP=${VM_SMP:-2}

say() { echo "vm: $*" >&2; }
# A lane that cannot start still ends with a summary line for CI's tally.
die() { echo "vm: error: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 2; }

# --- host tools -----------------------------------------------------------
# CI starts from a fresh machine: install what is missing.
ensure_tools()
{
	local need=()

	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
	[ -x /bin/bash-static ] || need+=(bash-static)
	command -v cpio >/dev/null || need+=(cpio)
	command -v xz >/dev/null || need+=(xz-utils)
	command -v timeout >/dev/null || need+=(coreutils)
	[ -x /usr/bin/python3 ] || need+=(python3)	# the CLI tests
	[ ${#need[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}; install them (needs root)"
	say "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >&2 ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
		  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >&2; } ||
		die "could not install ${need[*]} (network or apt problem)"
}

# --- kernel packages ------------------------------------------------------
# A private apt configuration under the cache, so that fetching kernels of
# other suites changes nothing on this machine.  The archive URI is the one
# this machine's apt sources already use.
APT=$CACHE/apt
APTOPT=(-o "Dir::Etc::sourcelist=$APT/sources.list"
	-o "Dir::Etc::sourceparts=$APT/sources.list.d"
	-o "Dir::Etc::preferencesparts=$APT/preferences.d"
	-o "Dir::State::Lists=$APT/lists"
	-o "Dir::Cache=$APT/cache"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Retries=3"
	-o "Acquire::http::Timeout=30"
	-o "Debug::NoLocking=1")
RUN_ID=$$

archive_uri()
{
	local f

	if [ -n "${VM_APT_URI:-}" ]; then
		echo "$VM_APT_URI"; return
	fi
	# deb822: the first "deb" stanza with a plain suite (no -security,
	# -updates); then one-line sources.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() {
			if (types ~ /(^| )deb( |$)/ && plain && uri != "") {
				print uri; exit
			}
			types = ""; uri = ""; plain = 0
		}
		/^[ \t]*$/ { flush(); next }
		/^Types:/ { $1 = ""; types = $0 }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
		END { flush() }' "$f"
	done | head -n 1 | grep . && return
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++;
		if ($i ~ /\]$/ && $2 ~ /^\[/) i++;
		if ($(i + 1) !~ /-/) { print $i; exit } }'
}

apt_setup()
{
	local uri key=/usr/share/keyrings/debian-archive-keyring.gpg suite

	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" \
		"$APT/sources.list.d" "$APT/preferences.d" "$CACHE/debs"
	uri=$(archive_uri)
	[ -n "$uri" ] || die "no Debian archive URI in this machine's apt sources (set VM_APT_URI)"
	[ -f "$key" ] || key=
	: >"$APT/sources.list.new"
	for suite in $(awk '!/^#/ && NF >= 3 { print $2 }' "$VMDIR/kernels" | sort -u); do
		echo "deb ${key:+[signed-by=$key] }$uri $suite main" >>"$APT/sources.list.new"
	done
	mv "$APT/sources.list.new" "$APT/sources.list"
}

apt_update()
{
	# fetch_kernel runs in a subshell: remember the update in a file.
	[ -f "$APT/updated.$RUN_ID" ] && return 0
	say "updating the package lists of the kernel suites"
	if timeout 300 apt-get "${APTOPT[@]}" -q update >"$APT/update.log" 2>&1 &&
	   ! grep -qE '^(W|E): Failed to fetch' "$APT/update.log"; then
		rm -f "$APT"/updated.*
		: >"$APT/updated.$RUN_ID"
		return 0
	fi
	sed 's/^/    /' "$APT/update.log" | tail -n 8 >&2
	return 1
}

# fetch_kernel NAME SUITE FLAVOUR: print the path of the cached .deb.
fetch_kernel()
{
	local name=$1 suite=$2 flavour=$3 pkg deb cached

	cached=$(cat "$CACHE/debs/$name.current" 2>/dev/null)
	if [ -n "$cached" ] && [ -f "$CACHE/debs/$cached" ] &&
	   [ "${VM_REFRESH:-0}" != 1 ]; then
		echo "$CACHE/debs/$cached"; return 0
	fi
	if ! apt_update; then
		say "vm-$name: could not update the package lists (network?)"
		if [ -n "$cached" ] && [ -f "$CACHE/debs/$cached" ]; then
			say "vm-$name: using the cached $cached"
			echo "$CACHE/debs/$cached"; return 0
		fi
		say "vm-$name: no cached kernel package either"
		return 1
	fi
	pkg=$(apt-cache "${APTOPT[@]}" show "linux-image-$flavour/$suite" 2>/dev/null |
	      awk '/^Depends:/ { print $2; exit }')
	[ -n "$pkg" ] || { say "vm-$name: no linux-image-$flavour in $suite"; return 1; }
	if apt-cache "${APTOPT[@]}" show "$pkg-unsigned/$suite" >/dev/null 2>&1; then
		pkg=$pkg-unsigned
	fi
	deb=$(cd "$CACHE/debs" && ls -- "$pkg"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		say "vm-$name: downloading $pkg ($suite)"
		if ! (cd "$CACHE/debs" && timeout 900 apt-get "${APTOPT[@]}" -q \
		      download "$pkg/$suite" >"$APT/download-$name.log" 2>&1); then
			sed 's/^/    /' "$APT/download-$name.log" | tail -n 8 >&2
			say "vm-$name: download of $pkg failed (network?)"
			return 1
		fi
		deb=$(cd "$CACHE/debs" && ls -- "$pkg"_*.deb 2>/dev/null | tail -n 1)
		[ -n "$deb" ] || { say "vm-$name: $pkg vanished"; return 1; }
	fi
	# Drop the package this one replaces.
	if [ -n "$cached" ] && [ "$cached" != "$deb" ]; then
		rm -f "$CACHE/debs/$cached"
	fi
	echo "$deb" >"$CACHE/debs/$name.current"
	echo "$CACHE/debs/$deb"
}

# unpack_kernel NAME DEB: unpacked tree in $CACHE/root-NAME (reused).
unpack_kernel()
{
	local name=$1 deb=$2 root=$CACHE/root-$1

	if [ "$(cat "$root.stamp" 2>/dev/null)" != "$(basename "$deb")" ]; then
		rm -rf "$root" "$root.stamp"
		mkdir -p "$root"
		if ! dpkg-deb -x "$deb" "$root"; then
			# A truncated download: fetch it again next time.
			say "vm-$name: $(basename "$deb") is damaged; removed"
			rm -rf "$root" "$deb" "$CACHE/debs/$name.current"
			return 1
		fi
		basename "$deb" >"$root.stamp"
	fi
}

# The modules /init loads (the Debian kernels build these as modules):
# loop and ext4 for a block-backed /var/tmp, so swap files work.
VM_MODULES="loop ext4 crc32c_generic"

# add_module ROOT DEST NAME: copy NAME and its dependencies, dependencies
# first, uncompressed, and append them to DEST/order.
add_module()
{
	local root=$1 dest=$2 m=${3//-/_} f dep deps

	grep -qx "$m.ko" "$dest/order" 2>/dev/null && return 0
	f=$(find "$root" -path '*/modules/*' \( -name "$m.ko*" -o \
		-name "${m//_/-}.ko*" \) | head -n 1)
	[ -n "$f" ] || return 0		# built in
	case $f in
	*.xz)	xz -dc "$f" >"$dest/$m.ko" ;;
	*.zst)	zstd -qdc "$f" >"$dest/$m.ko" ;;
	*.gz)	gzip -dc "$f" >"$dest/$m.ko" ;;
	*)	cp "$f" "$dest/$m.ko" ;;
	esac
	deps=$(tr '\0' '\n' <"$dest/$m.ko" | sed -n 's/^depends=//p' | head -n 1)
	for dep in ${deps//,/ }; do
		add_module "$root" "$dest" "$dep"
	done
	echo "$m.ko" >>"$dest/order"
}

# Host programs copied into the guest with their shared libraries (glibc
# runs on any of these kernels), in /usr/local/bin ahead of busybox: the
# CLI tests need python3, "date +%N", setpriv --reuid and a timeout that
# behaves like the host's.  env too: busybox's applets exec other applets
# by name before PATH, so busybox env would run busybox timeout and
# setpriv.
VM_HOST_TOOLS=${VM_HOST_TOOLS:-python3 date env timeout setpriv}

# copy_elf DIR FILE: FILE at its real path in DIR, with its libraries.
copy_elf()
{
	local dir=$1 f lib

	f=$(readlink -f "$2")
	[ -e "$dir$f" ] && return 0
	mkdir -p "$dir$(dirname "$f")"
	cp -L "$f" "$dir$f"
	for lib in $(ldd "$f" 2>/dev/null |
		     awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			  $1 ~ /^\// { print $1 }'); do
		[ -e "$dir$lib" ] && continue
		mkdir -p "$dir$(dirname "$lib")"
		cp -L "$lib" "$dir$lib"
	done
}

add_host_tools()
{
	local dir=$1 t p f stdlib

	mkdir -p "$dir/usr/local/bin"
	for t in $VM_HOST_TOOLS; do
		# The distribution's program, not a wrapper earlier in PATH.
		if [ -x "/usr/bin/$t" ]; then
			p=/usr/bin/$t
		else
			p=$(command -v "$t") || p=
		fi
		if [ -z "$p" ] || ! ldd "$p" >/dev/null 2>&1; then
			say "no usable $t on this host: not in the VM"
			continue
		fi
		copy_elf "$dir" "$p"
		ln -sf "$(readlink -f "$p")" "$dir/usr/local/bin/$t"
		if [ "$t" = python3 ]; then
			stdlib=$("$p" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
			mkdir -p "$dir$stdlib"
			tar -C "$stdlib" -cf - --exclude=__pycache__ --exclude=./test \
				--exclude=./idlelib --exclude=./tkinter \
				--exclude=./turtledemo --exclude=./lib2to3 \
				--exclude=./ensurepip --exclude=./pydoc_data \
				--exclude='./config-*' --exclude=./site-packages \
				--exclude=./dist-packages . | tar -C "$dir$stdlib" -xf -
			for f in "$stdlib"/lib-dynload/*.so; do
				copy_elf "$dir" "$f"
			done
		fi
	done
}

# The tests of the second and third guests (nobody, emulate).  The C tests
# only: the CLI scripts test the command, which the root guest already runs
# on each kernel's default backend and the host's nobody and emulate lanes
# run unprivileged and emulated; repeating them here cost about 100 s of
# TCG time per guest, which the lane's budget has not got.  VM_TESTS, when
# set, is taken as it is.  second_tests [emulate]: under emulate, not the
# tests built on scan-common.h either, as the host's emulate lane: they
# compare the raw ioctl with the library (under emulate, emu-diff's job).
# Nor watch-signals: the mprotect fault core's signal semantics, which
# neither the user nor the scan backend changes, and the slowest C test
# under TCG (about 40 s a guest; the lane's budget was 93 % used).  Nor
# watch-stress: the root guest runs it on every backend the kernel has,
# and the host's nobody and emulate lanes run it unprivileged and
# emulated; it is 22-36 s a guest (the lane used 2,072 s of 2,100 once).
second_tests()
{
	local c n

	for c in tests/*.c tests/cli-*.sh; do
		n=$(basename "$c"); n=${n%.c}; n=${n%.sh}
		[ "$n" = helpers ] && continue
		if [ -z "${VM_TESTS:-}" ]; then
			case $n in watch-signals|watch-stress) continue ;; esac
		fi
		# A C test the static build did not make is not in the guest.
		if [ "${c%.c}" != "$c" ] && [ ! -f "$BUILD/tests/$n.t" ]; then
			continue
		fi
		if [ "${1:-}" = emulate ] && grep -q '"scan-common.h"' "$c"; then
			continue
		fi
		if [ -n "${VM_TESTS:-}" ]; then
			[[ " $VM_TESTS " == *" $n "* ]] || continue
		elif [ "${c%.sh}" != "$c" ]; then
			continue
		fi
		printf '%s ' "$n"
	done
}

# make_initramfs NAME: $WORK/NAME/initrd.gz
make_initramfs()
{
	local name=$1 root=$CACHE/root-$1 dir=$WORK/$1/initramfs a m t

	rm -rf "$dir"
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,var/tmp,run,root} \
		"$dir/lib/vm-modules" "$dir/work/build/tests" "$dir/work/tests"
	cp /bin/busybox "$dir/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
	done
	cp /bin/bash-static "$dir/bin/bash"
	ln -sf busybox "$dir/bin/sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' \
		>"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	for m in $VM_MODULES; do
		add_module "$root" "$dir/lib/vm-modules" "$m"
	done
	add_host_tools "$dir"
	cp "$VMDIR/init" "$dir/init"
	chmod 755 "$dir/init"
	printf 'VM_NAME=%s\nVM_TESTS="%s"\nVM_TEST_TIMEOUT=%s\nVM_NOBODY_TESTS="%s"\nVM_EMU_TESTS="%s"\n' \
		"$name" "${VM_TESTS:-}" "${VM_TEST_TIMEOUT:-300}" \
		"$(second_tests)" "$(second_tests emulate)" >"$dir/vm.conf"
	printf 'VM_BENCH=%s\nVM_BENCH_ARGS="%s"\n' "$BENCH" \
		"${VM_BENCH_ARGS:---reps 3 --slow 10} --commit $(git describe --always --dirty 2>/dev/null)" \
		>>"$dir/vm.conf"
	cp "$BUILD/pagescan" "$dir/work/build/"
	if [ "$BENCH" = 1 ]; then
		mkdir -p "$dir/work/build/bench"
		cp "$BUILD/bench/pagescan-bench" "$dir/work/build/bench/"
	fi
	# Only tests whose source still exists (no stale binaries).
	for t in tests/*.c; do
		t=$(basename "$t" .c)
		[ -f "$BUILD/tests/$t.t" ] && cp "$BUILD/tests/$t.t" "$dir/work/build/tests/"
	done
	cp tests/runtests.sh "$dir/work/tests/"
	cp tests/cli-*.sh tests/*.bash tests/*.py "$dir/work/tests/" 2>/dev/null
	cp -r man "$dir/work/"		# tests that check the man pages' tables
	mkdir -p "$dir/work/contrib" && cp -r contrib/bash-completion "$dir/work/contrib/"	# cli-completion
	cp -r tests/profiles "$dir/work/tests/"
	cp -r scripts "$dir/work/"		# tests/cli-demo.sh runs demo.sh
	(cd "$dir" && find . | cpio -o -H newc --quiet) | gzip -1 >"$WORK/$name/initrd.gz"
}

# --- expectations -----------------------------------------------------------
# "pagescan features" prints the probe table (header FEATURE, the support
# in column 3) and, after a blank line, the write-watch backends (header
# WRITE-WATCH, "yes"/"no" in column 2).  Profile lines:
#   feature NAME SUPPORT[|SUPPORT...]    the probe table row NAME
#   emulate-feature NAME SUPPORT[|...]   the same under
#                                        PAGESCAN_BACKEND=emulate (checked
#                                        only if the profile has such lines)
#   watch-backend NAME yes|no            the write-watch backend row NAME
# A row saying "unavailable" (or "no") that the profile does not expect so
# fails too: a new feature must be available unless a profile says not.
# check_features NAME KEYWORD TABLE
check_features()
{
	local name=$1 key=$2 table=$3 prof=tests/profiles/vm-$1
	local hdr=FEATURE col=3 bad=unavailable

	if [ "$key" = watch-backend ]; then
		hdr=WRITE-WATCH col=2 bad=no
	fi
	awk -v key="$key" -v hdr="$hdr" -v col="$col" -v badval="$bad" '
	FNR == NR { if ($1 == key) want[$2] = $3; next }
	$1 == hdr { table = 1; next }
	/^[ \t]*$/ { table = 0; next }
	table && NF >= col {
		seen[$1] = 1
		r = $0
		for (i = 0; i < col; i++)
			sub(/^[^ ]+ +/, "", r)
		v = $col
		if ($1 in want) {
			if (("|" want[$1] "|") !~ ("[|]" v "[|]")) {
				print "FAIL " key " " $1 ": " v \
				      ", profile expects " want[$1] " (" r ")"
				nbad++
			}
		} else if (v == badval) {
			print "FAIL " key " " $1 ": unexpectedly " v \
			      " (" r ")"
			nbad++
		}
	}
	END {
		for (f in want) if (!(f in seen)) {
			print "FAIL " key " " f ": not in the table"
			nbad++
		}
		exit nbad > 0
	}' "$prof" "$table"
}

# show_and_check NAME KEYWORD BEGIN-MARKER TITLE: print a probe table from
# the results and check it; count one test.
show_and_check()
{
	local name=$1 key=$2 mark=$3 title=$4 t=$WORK/$1/$2.txt

	sed -n "/^@@$mark-BEGIN@@/,/^@@$mark-END/{/^@@/d;p}" \
		"$WORK/$name/results.log" | tr -d '\r' >"$t"
	echo "$title:"
	sed 's/^/    /' "$t"
	if [ ! -s "$t" ]; then
		echo "FAIL $key: no probe table"
		total_fail=$((total_fail + 1))
	elif check_features "$name" "$key" "$t" >"$t.check"; then
		echo "PASS $key (the table matches tests/profiles/vm-$name)"
		total_pass=$((total_pass + 1))
	else
		cat "$t.check"
		total_fail=$((total_fail + 1))
	fi
}

# runner_result NAME MARKER LANE PROFILE: print one run of the runner in the
# guest, check that every must-pass test of PROFILE ran, add its counts.
runner_result()
{
	local name=$1 mark=$2 lane=$3 prof=$4 res=$WORK/$1/results.log
	local out=$WORK/$1/$3.out t summary np nf ns

	sed -n "/^@@$mark-BEGIN@@/,/^@@$mark-END/{/^@@/d;p}" "$res" |
		tr -d '\r' >"$out"
	cat "$out"
	# A must-pass test that did not run at all (no source, not built,
	# renamed) fails too; the runner only sees the ones it runs.
	for t in $(awk '$1 == "must-pass" { print $2 }' "$prof"); do
		if [ -n "${VM_TESTS:-}" ] && [[ " $VM_TESTS " != *" $t "* ]]; then
			continue
		fi
		if ! grep -qE "^(PASS|FAIL|SKIP) $t( |:|$)" "$out"; then
			echo "FAIL $t: in $prof but did not run"
			total_fail=$((total_fail + 1))
		fi
	done
	summary=$(grep -E "^$lane: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$out" | tail -n 1)
	if [ -z "$summary" ]; then
		echo "$lane: FAIL: no summary from the runner"
		total_fail=$((total_fail + 1)); return
	fi
	read -r np nf ns <<<"$(echo "$summary" | awk '{ print $2, $4, $6 }')"
	total_pass=$((total_pass + np)) total_fail=$((total_fail + nf))
	total_skip=$((total_skip + ns))
}

# bench_result NAME: the benchmark's table and JSON lines from the guest
# (build-vm/vm/NAME/bench.txt and bench.json); one test, passed when it
# ran to its end and gave rows.  Its figures are reported, never judged.
bench_result()
{
	local name=$1 w=$WORK/$1 res=$WORK/$1/results.log rc

	sed -n '/^@@VM-BENCH-BEGIN@@/,/^@@VM-BENCH-END/{/^@@/d;p}' "$res" |
		tr -d '\r' >"$w/bench.txt"
	sed -n '/^@@VM-BENCH-JSON-BEGIN@@/,/^@@VM-BENCH-JSON-END/{/^@@/d;p}' \
		"$res" | tr -d '\r' >"$w/bench.json"
	rc=$(sed -n 's/^@@VM-BENCH-END rc=\([0-9]*\)@@.*/\1/p' "$res" | tr -d '\r')
	cat "$w/bench.txt"
	if [ "$rc" = 0 ] && grep -q '"type":"row"' "$w/bench.json"; then
		echo "PASS vm-$name bench ($w/bench.txt, $w/bench.json)"
		total_pass=$((total_pass + 1))
	else
		echo "FAIL vm-$name bench: exit ${rc:-none}, $(grep -c '"type":"row"' "$w/bench.json") rows"
		total_fail=$((total_fail + 1))
	fi
}

# --- one kernel -----------------------------------------------------------
total_pass=0 total_fail=0 total_skip=0

run_kernel()
{
	local name=$1 suite=$2 flavour=$3 deb root kimg w=$WORK/$1 t0 t1 rc
	local res kver vmto up

	echo "== vm-$name: Debian $suite linux-image-$flavour"
	if [ ! -f "tests/profiles/vm-$name" ]; then
		echo "vm-$name: FAIL: no profile tests/profiles/vm-$name"
		total_fail=$((total_fail + 1)); return
	fi
	# Twice: a damaged cached package is removed and fetched again.
	if ! { deb=$(fetch_kernel "$name" "$suite" "$flavour") &&
	       unpack_kernel "$name" "$deb"; } &&
	   ! { deb=$(fetch_kernel "$name" "$suite" "$flavour") &&
	       unpack_kernel "$name" "$deb"; }; then
		echo "vm-$name: FAIL: could not get the kernel package (see above)"
		total_fail=$((total_fail + 1)); return
	fi
	root=$CACHE/root-$name
	kimg=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$kimg" ] || { echo "vm-$name: FAIL: no vmlinuz in $deb"
		total_fail=$((total_fail + 1)); return; }
	echo "package: $(basename "$deb")"
	grep -E '^CONFIG_(MEM_SOFT_DIRTY|USERFAULTFD|PTE_MARKER_UFFD_WP)=' \
		"$root"/boot/config-* | tr '\n' ' '; echo
	mkdir -p "$w"
	make_initramfs "$name" || { echo "vm-$name: FAIL: initramfs"
		total_fail=$((total_fail + 1)); return; }
	rm -f "$w/console.log" "$w/results.log"
	t0=$(date +%s)
	vmto=$((BUDGET_END - t0))
	[ "$vmto" -gt "$TIMEOUT" ] && vmto=$TIMEOUT
	if [ "$vmto" -lt 30 ]; then
		echo "vm-$name: FAIL: the lane's time budget (VM_BUDGET=${VM_BUDGET:-2100}s) is used up"
		total_fail=$((total_fail + 1)); return
	fi
	# Two serial ports: the console (kernel messages) and the results.
	# A guest that dies without finishing is booted once more: under
	# multi-threaded TCG, x86 guests now and then take a spurious int3
	# Oops while the kernel patches its own text (seen on 6.12 in
	# get_random_u32, before any test ran).  A crash a test causes
	# happens again and fails; the first one is kept in console-1.log.
	for attempt in 1 2; do
		rm -f "$w/console.log" "$w/results.log"
		timeout -k 10 "$vmto" qemu-system-x86_64 -accel tcg,thread=multi \
			-m "$MEM" -smp "$SMP" -nodefaults -display none -no-reboot \
			-kernel "$kimg" -initrd "$w/initrd.gz" \
			-append "console=ttyS0 panic=-1 hugepages=16 loglevel=4" \
			-serial "file:$w/console.log" -serial "file:$w/results.log" \
			</dev/null >"$w/qemu.log" 2>&1
		rc=$?
		touch "$w/results.log"
		if [ $attempt = 2 ] || [ $rc = 124 ] || [ $rc = 137 ] ||
		   grep -q '^@@VM-END@@' "$w/results.log"; then
			break
		fi
		echo "vm-$name: the VM died before finishing; booting it once more:"
		grep -m 2 -E 'Kernel panic|BUG:|Oops' "$w/console.log" | sed 's/^/    /'
		mv "$w/console.log" "$w/console-1.log"
		vmto=$((BUDGET_END - $(date +%s)))
		[ "$vmto" -gt "$TIMEOUT" ] && vmto=$TIMEOUT
		[ "$vmto" -lt 30 ] && break
	done
	t1=$(date +%s)
	res=$w/results.log
	touch "$res"
	if ! grep -q '^@@VM-END@@' "$res"; then
		# Whatever the runner managed to say before it stopped.
		sed -n '/^@@VM-TESTS-BEGIN@@/,/^@@VM-TESTS-END/{/^@@/d;p}' \
			"$res" | tr -d '\r'
	fi
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "vm-$name: FAIL: timed out after ${vmto}s (console: $w/console.log)"
		tail -n 15 "$w/console.log" | sed 's/^/    /'
		total_fail=$((total_fail + 1)); return
	fi
	if ! grep -q '^@@VM-END@@' "$res"; then
		echo "vm-$name: FAIL: the VM did not finish (qemu exit $rc; console: $w/console.log)"
		grep -m 3 -E 'Kernel panic|BUG:|Oops|Out of memory' \
			"$w/console.log" | sed 's/^/    /'
		tail -n 20 "$w/qemu.log" "$w/console.log" | sed 's/^/    /'
		total_fail=$((total_fail + 1)); return
	fi
	if [ "$BENCH" = 1 ]; then
		bench_result "$name"
		return
	fi
	rm -rf "$w/output" "$w/output-nobody" "$w/output-emulate"
	sed -n '/^@@VM-LOGS-BEGIN@@/,/^@@VM-LOGS-END/{/^@@/d;p}' "$res" |
		tr -d '\r' | base64 -d 2>/dev/null | tar -C "$w" -xzf - 2>/dev/null
	kver=$(sed -n 's/^@@VM-BEGIN [^ ]* \([^ ]*\).*/\1/p' "$res")
	show_and_check "$name" feature VM-FEATURES "probe table ($kver)"
	if grep -q '^watch-backend ' "tests/profiles/vm-$name"; then
		if check_features "$name" watch-backend "$w/feature.txt" \
		   >"$w/watch-backend.check"; then
			echo "PASS watch-backend (the write-watch backends match tests/profiles/vm-$name)"
			total_pass=$((total_pass + 1))
		else
			cat "$w/watch-backend.check"
			total_fail=$((total_fail + 1))
		fi
	fi
	if grep -q '^nobody-feature ' "tests/profiles/vm-$name"; then
		show_and_check "$name" nobody-feature VM-NOBODY-FEATURES \
			"probe table as user nobody ($kver)"
	fi
	if grep -q '^emulate-feature ' "tests/profiles/vm-$name"; then
		show_and_check "$name" emulate-feature VM-EMU-FEATURES \
			"probe table with PAGESCAN_BACKEND=emulate ($kver)"
	fi
	runner_result "$name" VM-TESTS "vm-$name" "tests/profiles/vm-$name"
	if [ -f "tests/profiles/vm-$name-nobody" ]; then
		runner_result "$name" VM-NOBODY-TESTS "vm-$name-nobody" \
			"tests/profiles/vm-$name-nobody"
	fi
	if [ -f "tests/profiles/vm-$name-emulate" ]; then
		runner_result "$name" VM-EMU-TESTS "vm-$name-emulate" \
			"tests/profiles/vm-$name-emulate"
	fi
	if grep -q '^@@VM-DMESG-WARN@@' "$res"; then
		echo "note: the guest kernel logged a BUG/WARNING/Oops:"
		sed -n '/^@@VM-DMESG-WARN@@/,/^@@VM-END/{/^@@/d;p}' "$res" | tail -n 30 | sed 's/^/    /'
	fi
	up=$(tr -d '\r' <"$res" |
	     sed -n 's/^@@VM-BEGIN.* uptime=\([0-9.]*\)@@.*/\1/p')
	echo "vm-$name: $(basename "$kimg"): ${up:-?}s to boot (guest clock)," \
	     "$((t1 - t0))s from qemu start to power-off"
}

# --- main -----------------------------------------------------------------
mapfile -t KERNELS < <(awk '!/^#/ && NF >= 3' "$VMDIR/kernels")
if [ $# -gt 0 ]; then
	sel=()
	for n in "$@"; do
		l=$(printf '%s\n' "${KERNELS[@]}" | awk -v n="${n#vm-}" '$1 == n')
		[ -n "$l" ] || die "no kernel '$n' in $VMDIR/kernels"
		sel+=("$l")
	done
	KERNELS=("${sel[@]}")
fi

ensure_tools
apt_setup
if [ "${VM_NOBUILD:-0}" != 1 ]; then
	say "building static binaries in $BUILD"
	mkdir -p "$WORK"
	make BUILD="$BUILD" STATIC=1 -j"$(nproc)" >"$WORK/make.log" 2>&1 ||
		{ tail -n 30 "$WORK/make.log" >&2; die "build failed (log: $WORK/make.log)"; }
fi
[ -x "$BUILD/pagescan" ] || die "no $BUILD/pagescan"
file "$BUILD/pagescan" 2>/dev/null | grep -q 'dynamically linked' &&
	die "$BUILD/pagescan is not static (build with STATIC=1)"

start=$(date +%s)
BUDGET_END=$((start + ${VM_BUDGET:-2100}))
for k in "${KERNELS[@]}"; do
	run_kernel $k
done
echo "vm: $((${#KERNELS[@]})) kernel(s) in $(($(date +%s) - start))s"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ $total_fail -eq 0 ]
