#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: every error case of pagescan gives its documented exit code
# (pagescan(1): 1 usage, 2 no such process or exited mid-scan, 3 no ptrace
# read access, 4 unsupported by this kernel), one line on stderr, and
# nothing on stdout; --help works on every subcommand.
. "$(dirname "$0")/clilib.bash" || exit 99

# err NAME RC PATTERN CMD...: exit code RC, stdout empty, one stderr line
# matching PATTERN.
err() {
	local name=$1 want=$2 pat=$3
	shift 3
	run "$name" "$want" "$@"
	[ -s "$T_TMP/$name.out" ] &&
		t_fail "$name: output on stdout: $(head -c 200 "$T_TMP/$name.out")"
	[ "$(wc -l < "$T_TMP/$name.err")" = 1 ] ||
		t_fail "$name: stderr is not one line: $(cat "$T_TMP/$name.err")"
	grep -qE -- "$pat" "$T_TMP/$name.err" ||
		t_fail "$name: stderr '$(cat "$T_TMP/$name.err")' lacks /$pat/"
}

start_layout

# A pid that existed and is gone.
sh -c 'exit 0' &
gone=$!
wait $gone
err nopid 2 "no process with pid $gone" "$PS" "$gone"
err nopid-regions 2 "no process" "$PS" regions "$gone"
err nopid-map 2 "no process" "$PS" map "$gone"
err nopid-watch 2 "no process" "$PS" watch "$gone" --count 1
err badpid 1 "not a process id" "$PS" 12abc
err badpid0 1 "not a process id" "$PS" regions 0
err nopidarg 1 "PID is needed" "$PS" regions
err manyargs 1 "too many arguments" "$PS" regions "$TPID" "$TPID"
err twice 1 "pid $TPID given twice" "$PS" "$TPID" "$TPID"
err badopt 1 "option '--frobnicate' is unknown" "$PS" "$TPID" --frobnicate
err badsort 1 "unknown --sort column" "$PS" "$TPID" --sort colour
err badtop 1 "--top wants" "$PS" "$TPID" --top -3

# Categories and ranges.
err badcat 1 "unknown category 'presnt'; valid: wpallowed, written, file, present" \
	"$PS" regions "$TPID" --require presnt
err badany 1 "unknown category" "$PS" regions "$TPID" --any swapped,bogus
err notany 1 "negation is allowed only in --require" \
	"$PS" regions "$TPID" --any '!file'
err badrange1 1 "bad range '2000-1000'" "$PS" regions "$TPID" --range 2000-1000
err badrange2 1 "bad range" "$PS" regions "$TPID" --range 1001-2000
err badrange3 1 "bad range '12zz-34'" "$PS" regions "$TPID" --range 12zz-34
err badrange4 1 "no mapping of pid $TPID is named" \
	"$PS" regions "$TPID" --range no-such-mapping
err badmax 1 "--max-pages wants" "$PS" regions "$TPID" --max-pages 0
err badinterval 1 "--interval wants" "$PS" watch "$TPID" --interval 0
err badwidth 1 "--width wants" "$PS" map "$TPID" --width 0
err badsvg 5 "cannot write" "$PS" map "$TPID" --svg /nonexistent/dir/x.svg
# A write that fails half-way (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG past
# 1 KiB): said with the file's name, and the partial picture removed.
fsize() { bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' fsize "$@"; }
err efbig-svg 5 "cannot write $T_TMP/big.svg: File too large" \
	fsize "$PS" map "$TPID" --svg "$T_TMP/big.svg"
[ -e "$T_TMP/big.svg" ] && t_fail "efbig-svg: the half-written SVG is left"

# A category this kernel cannot give: exit 4 with the probe's reason.
missing=$(python3 -c '
import json, subprocess, sys
f = json.loads(subprocess.run([sys.argv[1], "features", "--json"],
               capture_output=True, text=True).stdout)
for x in f["features"]:
    if x["name"] == "soft-dirty" and not x["present"]:
        print("soft-dirty"); break
    if x["name"].startswith("cat:") and x["support"] == "unavailable":
        print(x["name"][4:]); break
' "$PS")
if [ -n "$missing" ]; then
	err unsupported 4 "--require $missing: this kernel cannot report it" \
		"$PS" regions "$TPID" --require "$missing"
else
	echo "note: this kernel has every category; exit 4 not exercised"
fi

# No ptrace read access: pid 1 as nobody (or as ourselves, if not root).
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null; then
		chmod a+rx "$BUILD" "$BUILD"/pagescan 2>/dev/null
		err perm 3 "may not read the memory of pid 1 .*ptrace read access.*root" \
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$PS" 1
	fi
elif [ "$(stat -c %u /proc/1)" != "$(id -u)" ]; then
	err perm 3 "may not read the memory of pid 1 .*ptrace read access.*root" \
		"$PS" 1
fi

# The target exits between the mapping list and the scan: the test hook
# PAGESCAN_CLI_STOP_BEFORE_SCAN makes pagescan stop itself there.
for cmd in summary regions map; do
	start_victim() {
		sleep 600 &
		VICTIM=$!
	}
	start_victim
	PAGESCAN_CLI_STOP_BEFORE_SCAN=1 "$PS" $cmd "$VICTIM" \
		>"$T_TMP/mid.out" 2>"$T_TMP/mid.err" &
	cli=$!
	for i in $(seq 100); do
		[ "$(awk '{print $3}' /proc/$cli/stat 2>/dev/null)" = T ] && break
		sleep 0.05
	done
	kill -KILL "$VICTIM"
	wait "$VICTIM" 2>/dev/null
	kill -CONT "$cli"
	wait "$cli"
	rc=$?
	[ $rc = 2 ] || t_fail "mid-scan exit ($cmd): exit $rc, expected 2: $(cat "$T_TMP/mid.err")"
	[ -s "$T_TMP/mid.out" ] && t_fail "mid-scan exit ($cmd): stdout not empty"
	grep -q "exited during the scan" "$T_TMP/mid.err" ||
		t_fail "mid-scan exit ($cmd): stderr: $(cat "$T_TMP/mid.err")"
done

# Numbers are decimal (020 is twenty, not sixteen; a leading zero is no
# octal), with no blank, sign or prefix, and no overflow.
sleep 600 &
spid=$!
# Scanned once it is sleep: a scan that races the child's exec finds
# the shell's address space gone (exit 2, "no process").
for i in $(seq 600); do
	[ "$(cat "/proc/$spid/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.05
done
for form in "0$spid" "00$spid"; do
	run "dec-$form" 0 "$PS" "$form" --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(d["pid"] != int(sys.argv[2]))' "$T_TMP/dec-$form.out" "$spid" ||
		t_fail "pagescan $form scanned $(head -c 100 "$T_TMP/dec-$form.out")"
done
kill "$spid"
wait "$spid" 2>/dev/null
err dec-empty 1 "'' is not a process id" "$PS" ""
for bad in " $TPID" "+$TPID" "-$TPID" "$TPID " "0x10" "1e3" "2147483648" \
	"99999999999999999999999"; do
	err "dec-pid[$bad]" 1 "is not a process id|no number either" \
		"$PS" "$bad"
	err "dec-pid2[$bad]" 1 "is not a process id|no number either" \
		"$PS" "$TPID" "$bad"
done
for bad in " 1" "+5" "-1" "0x10" "1.5" "18446744073709551616"; do
	err "dec-top[$bad]" 1 "--top wants" "$PS" "$TPID" --top "$bad"
	err "dec-count[$bad]" 1 "--count wants" "$PS" watch "$TPID" --count "$bad"
	err "dec-maxp[$bad]" 1 "--max-pages wants" "$PS" regions "$TPID" \
		--max-pages "$bad"
	err "dec-width[$bad]" 1 "--width wants" "$PS" map "$TPID" --width "$bad"
	case $bad in 1.5) ;; *)
	err "dec-interval[$bad]" 1 "--interval wants" "$PS" watch "$TPID" \
		--interval "$bad" --count 1 ;;
	esac
done
# 010 is ten pages, not eight.
run dec-maxpages 0 "$PS" regions "$TPID" --max-pages 010 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(d["total"]["pages"] != 10)' "$T_TMP/dec-maxpages.out" ||
	t_fail "--max-pages 010: $(grep -o '"total":.*' "$T_TMP/dec-maxpages.out")"
run dec-top 0 "$PS" "$TPID" --top 02 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(len(d["mappings"]) != 2)' "$T_TMP/dec-top.out" || t_fail "--top 02"

# Usage errors say what is wrong.
err near-regions 1 "unknown command 'region'; did you mean 'regions'" \
	"$PS" region "$TPID"
err near-map 1 "unknown command 'mpa'; did you mean 'map'" "$PS" mpa "$TPID"
err near-help 1 "unknown command 'mpa'; did you mean 'map'" "$PS" help mpa
err near-none 1 "unknown command 'frobnicate'" "$PS" frobnicate
err svg-json 1 "--svg - and --json would both go to stdout" \
	"$PS" map "$TPID" --svg - --json
err req-excl 1 "'present' is both required and excluded" \
	"$PS" regions "$TPID" --require present --require '!present'
err req-excl2 1 "'file' is both required and excluded" \
	"$PS" regions "$TPID" --require 'file,!file'
err any-excl 1 "'present' is both in --any and excluded" \
	"$PS" regions "$TPID" --any present --require '!present'
err help-garbage 1 "--help takes nothing else, not 'garbage'" \
	"$PS" --help garbage
err help-garbage2 1 "--help takes nothing else, not 'garbage'" \
	"$PS" map --help garbage
err help-garbage3 1 "--help takes nothing else" "$PS" regions "$TPID" --help
err version-garbage 1 "--version takes no arguments" "$PS" --version x
for o in "--top 3" "--sort rss" ; do
	# shellcheck disable=SC2086
	err "twice$o" 1 "${o%% *} given twice" "$PS" "$TPID" $o $o
done
err twice-width 1 "--width given twice" "$PS" map "$TPID" --width 3 --width 4
err twice-interval 1 "--interval given twice" "$PS" watch "$TPID" \
	--interval 1 --interval 2 --count 1

# A target that is not dumpable is named as the obstacle (as its own
# user: root may read it anyway).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	[ -x /usr/bin/python3 ]; then
	# It says so once prctl() is done: its /proc files belonging to
	# root is no sign, they do before the exec too (the shell's child
	# and setpriv run as root), and the command then ran against a
	# python3 that had not made itself non-dumpable yet (exit 0), or
	# against setpriv.
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 \
		-c 'import ctypes, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)		# PR_SET_DUMPABLE 0
print("ready", flush=True)
time.sleep(600)' >"$T_TMP/nodump.ready" &
	nd=$!
	# (python3 may take seconds to start on a loaded machine: wait 30 s)
	for i in $(seq 600); do
		[ -s "$T_TMP/nodump.ready" ] && break
		sleep 0.05
	done
	# Not dumpable: its /proc files then belong to root.
	[ -s "$T_TMP/nodump.ready" ] &&
		[ "$(stat -c %u "/proc/$nd/mem" 2>/dev/null)" = 0 ] ||
		t_fail "nodump: the target never became non-dumpable"
	chmod a+rx "$BUILD" "$BUILD"/pagescan "$BUILD"/*.so* 2>/dev/null
	err nodump 3 "pid $nd \\(python3\\): it is not dumpable" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$PS" "$nd"
	kill "$nd"
	wait "$nd" 2>/dev/null
fi

# --help everywhere: exit 0, usage and the exit-code table on stdout.
for sub in "" summary regions map watch features; do
	run "help-$sub" 0 "$PS" $sub --help
	grep -q "^usage: pagescan" "$T_TMP/help-$sub.out" &&
		grep -q "^Exit status:" "$T_TMP/help-$sub.out" ||
		t_fail "pagescan $sub --help: no usage or exit table"
done
run noargs 1 "$PS"

t_done
