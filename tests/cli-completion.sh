#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: the bash completion (contrib/bash-completion/pagescan)
# sourced in bash completes the subcommands, each subcommand's options
# (every one its --help lists, nothing else), category names after
# --require (with ! and comma lists), --any and --show (the library's
# names: pagescan features), column names after --sort and --columns
# (those the command accepts), PIDs and comms.
. "$(dirname "$0")/clilib.bash" || exit 99
C=contrib/bash-completion/pagescan
[ -f "$C" ] || t_fail "no $C"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_pagescan
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$C" "$@"
}
has() {	# DESC WANT OFFERED
	grep -qxF -- "$2" <<<"$3" || t_fail "$1: '$2' not offered: $(echo $3)"
}
hasnt() {
	grep -qxF -- "$2" <<<"$3" && t_fail "$1: '$2' offered"
}

sleep 600 &
sp=$!
trap 'kill $sp 2>/dev/null; rm -rf "$T_TMP"' EXIT

got=$(complete_words "$PS" "")
for s in summary regions map watch diff features help; do
	has "subcommands" "$s" "$got"
done
has "a pid" "$sp" "$got"
got=$(complete_words "$PS" "re")
[ "$got" = regions ] || t_fail "'re': $got"

# Every option of every subcommand's --help, and only those.
for sub in summary regions map watch diff features; do
	want=$("$PS" "$sub" --help | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' |
		sed 's/^[ ,]*//' | sort -u)
	if [ "$sub" = summary ]; then
		got=$(complete_words "$PS" "$sp" "--")
	else
		got=$(complete_words "$PS" "$sub" "$sp" "--")
	fi
	for o in $want; do has "$sub options" "$o" "$got"; done
	for o in $got; do
		grep -qxF -- "$o" <<<"$want" || t_fail "$sub: '$o' is no option"
	done
done
has "regions --r" --require "$(complete_words "$PS" regions "$sp" --r)"
hasnt "regions --r" --json "$(complete_words "$PS" regions "$sp" --r)"

# Category names: the library's (pagescan features), and the command
# accepts each one that is offered.
run features 0 "$PS" features --json
cats=$(python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["features"]:
    if f["name"].startswith("cat:"): print(f["name"][4:])' "$T_TMP/features.out")
got=$(complete_words "$PS" regions "$sp" --require "")
for c in $cats; do has "--require" "$c" "$got"; done
for c in $got; do
	"$PS" regions "$sp" --require "$c" --max-pages 1 >/dev/null 2>"$T_TMP/c.err"
	[ $? = 1 ] && t_fail "--require $c offered but refused: $(cat "$T_TMP/c.err")"
done
got=$(complete_words "$PS" regions "$sp" --require 'present,!fi')
[ "$got" = 'present,!file' ] || t_fail "--require 'present,!fi': $got"
got=$(complete_words "$PS" regions "$sp" --any 'sw')
[ "$got" = swapped ] || t_fail "--any sw: $got"
has "--show" guard "$(complete_words "$PS" regions "$sp" --show "")"

# Columns and sort keys: each offered one is accepted.
for o in --sort --columns; do
	got=$(complete_words "$PS" "$sp" $o "")
	[ -n "$got" ] || t_fail "$o: nothing offered"
	for c in $got; do
		"$PS" "$sp" $o "$c" >/dev/null 2>"$T_TMP/c.err" ||
			t_fail "$o $c offered but refused: $(cat "$T_TMP/c.err")"
	done
done
has "--sort" rss "$(complete_words "$PS" "$sp" --sort "")"

# PIDs after a subcommand, comms after --name, files after diff.
has "map PID" "$sp" "$(complete_words "$PS" map "")"
has "--name" sleep "$(complete_words "$PS" --name "sl")"
touch "$T_TMP/a.json"
has "diff FILE" "$T_TMP/a.json" "$(complete_words "$PS" diff "$T_TMP/a.")"
t_done
