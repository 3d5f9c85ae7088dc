#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: names are data.  A target maps files and memfds whose
# names hold ESC sequences, control bytes, C1 controls, invalid UTF-8,
# XML markup and bidirectional overrides, and calls itself the same
# (PR_SET_NAME).  Every subcommand's text output is then valid UTF-8 with
# no control character but newline and tab (no DEL, no C1, no bidi
# control), at COLUMNS=40, 80 and 200 no line is wider than that; the SVG
# is well-formed (xmllint); the JSON parses and gives back each name's
# exact bytes (surrogateescape, json-schema.md), valid UTF-8 as UTF-8.
. "$(dirname "$0")/clilib.bash" || exit 99
command -v xmllint >/dev/null || t_skip "xmllint not installed (scripts/deps.sh)"
H=tests/cli-hostile.py
export LC_ALL=C.UTF-8

mkdir "$T_TMP/files"
coproc HOST { exec python3 "$H" target "$T_TMP/files"; }
HPID=$HOST_PID
IFS= read -r -t 60 TPID <&"${HOST[0]}" || t_error "the hostile target did not start"
[ "$TPID" = "$HPID" ] || t_error "target pid $TPID, expected $HPID"
hfd=${HOST[1]}
trap 'eval "exec ${hfd}>&-"; wait $HPID; rm -rf "$T_TMP"' EXIT

run base 0 "$PS" "$TPID" --json
python3 "$H" json "$T_TMP/base.out" "$TPID" || t_fail "summary --json"

n=0
for cols in 40 80 200; do
	for args in "$TPID" "$TPID --group" "$TPID --top 5" "$TPID --filter files" \
		"$TPID --pages" "$TPID $$" "--name python3" "--all" \
		"regions $TPID" "regions $TPID --any present" \
		"map $TPID" "map $TPID --expand" "map $TPID --width 200" \
		"watch $TPID --interval 0.05 --count 2" "features" \
		"diff $T_TMP/base.out $T_TMP/base.out" "--help" "map --help" \
		"regions --help" "watch --help" "diff --help" "features --help"; do
		# Help is prose for 80 columns.
		case "$cols $args" in "40 "*help) continue ;; esac
		n=$((n + 1))
		# shellcheck disable=SC2086
		run "t$n" 0 env COLUMNS=$cols "$PS" $args
		python3 "$H" text "$T_TMP/t$n.out" "$cols" ||
			t_fail "COLUMNS=$cols pagescan $args"
		python3 "$H" text "$T_TMP/t$n.err" 0 ||
			t_fail "stderr of COLUMNS=$cols pagescan $args"
	done
done

# Every JSON output.
for args in "$TPID" "$TPID --group" "$TPID $$" "--name python3" \
	"regions $TPID" "map $TPID" "map $TPID --expand" \
	"watch $TPID --interval 0.05 --count 2"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	run "j$n" 0 "$PS" $args --json
	case $args in
	"$TPID $$"|--name*)
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
			"$T_TMP/j$n.out" || t_fail "pagescan $args --json: not JSON" ;;
	regions*)
		# A region is named by the mapping it starts in.
		python3 "$H" json "$T_TMP/j$n.out" "$TPID" some ||
			t_fail "pagescan $args --json" ;;
	*)	python3 "$H" json "$T_TMP/j$n.out" "$TPID" ||
			t_fail "pagescan $args --json" ;;
	esac
done

# The SVG, to a file and to stdout.
run svg 0 "$PS" map "$TPID" --svg "$T_TMP/map.svg"
xmllint --noout "$T_TMP/map.svg" 2>"$T_TMP/xmllint.err" ||
	t_fail "SVG not well-formed: $(head -n 3 "$T_TMP/xmllint.err")"
python3 "$H" text "$T_TMP/svg.out" 0 || t_fail "map --svg FILE: the text"
run svg-out 0 "$PS" map "$TPID" --svg - --expand
xmllint --noout "$T_TMP/svg-out.out" 2>"$T_TMP/xmllint.err" ||
	t_fail "SVG on stdout not well-formed: $(head -n 3 "$T_TMP/xmllint.err")"
# The names are in it, as text a reader can see.
python3 - "$T_TMP/map.svg" <<'EOF2' || t_fail "SVG lacks the names"
import sys, xml.etree.ElementTree as E
t = "".join(E.parse(sys.argv[1]).getroot().itertext())
for s in ("<svg>&amp;]]>\"'<!--", "utf8-\u00e9\u6f22\u5b57", "esc\\x1b[31mred"):
    if s not in t:
        print("FAIL: %r not in the SVG's text" % s); sys.exit(1)
EOF2
t_done
