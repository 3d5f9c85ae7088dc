# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Shared by tests/cli-*.sh (sourced, not a test itself: the runner only
# runs tests/cli-*.sh).  Exit codes as the C tests: 0 pass, 1 fail,
# 77 skip with one "SKIP name: reason" line, 99 set-up error.

cd "$(dirname "$0")/.." || exit 99
BUILD=${BUILD:-build}
PS=$BUILD/pagescan
LAYOUT=$BUILD/tests/cli-layout.t
MAPS=$BUILD/tests/cli-maps.t
T_NAME=$(basename "$0" .sh)
T_FAILS=0
T_TMP=$(mktemp -d /tmp/pagescan-$T_NAME.XXXXXX) || exit 99
LAYOUT_PID=

t_skip() { echo "SKIP $T_NAME: $*"; exit 77; }
t_error() { echo "ERROR $T_NAME: $*"; exit 99; }
t_fail() { echo "FAIL $T_NAME: $*"; T_FAILS=$((T_FAILS + 1)); }
t_done() { [ "$T_FAILS" -eq 0 ] && { echo "PASS $T_NAME"; exit 0; }; exit 1; }

t_cleanup() {
	if [ -n "$LAYOUT_PID" ]; then
		# stdin EOF: the layout exits normally (its atexit handlers
		# remove the swap file and the data file).
		eval "exec ${LAYOUT_FD}>&-"
		wait "$LAYOUT_PID" 2>/dev/null
	fi
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

[ -x "$PS" ] || t_error "$PS not built (make BUILD=$BUILD)"
[ -x "$LAYOUT" ] || t_error "$LAYOUT not built"
command -v python3 >/dev/null || t_skip "python3 not installed"

# Start the layout child with @args; sets LAYOUT_JSON (its description,
# also in $T_TMP/layout.json) and TPID (its pid).  LAYOUT_BIN=$MAPS
# start_layout ... starts tests/cli-maps.c's targets instead.
start_layout() {
	local bin=${LAYOUT_BIN:-$LAYOUT}

	[ -x "$bin" ] || t_error "$bin not built"
	coproc LAYOUT_CO { exec "$bin" --hold "$@"; }
	LAYOUT_PID=$LAYOUT_CO_PID
	LAYOUT_FD=${LAYOUT_CO[1]}
	IFS= read -r -t 60 LAYOUT_JSON <&"${LAYOUT_CO[0]}" ||
		t_error "the layout child printed nothing"
	echo "$LAYOUT_JSON" > "$T_TMP/layout.json"
	TPID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' \
		<<<"$LAYOUT_JSON") || t_error "bad layout JSON: $LAYOUT_JSON"
}

# Start a layout target of many mappings: $1 of them where the scan is
# native, $2 where it is emulated (an old kernel under TCG, where the
# large count takes too long).  Skips where vm.max_map_count is too low
# for the larger count.  Sets MAPS_N to the count used.
start_many_maps() {
	local max
	max=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 65530)
	[ "$max" -gt $(($1 + 100)) ] || t_skip "vm.max_map_count is $max, under $(($1 + 100))"
	run features 0 "$PS" features --json
	MAPS_N=$(python3 -c 'import json,sys
f = {x["name"]: x for x in json.load(open(sys.argv[1]))["features"]}
print(sys.argv[2] if f["scan"]["support"] == "native" else sys.argv[3])' \
		"$T_TMP/features.out" "$1" "$2")
	LAYOUT_BIN=$MAPS start_layout --maps "$MAPS_N"
}

# run NAME EXPECTED_RC CMD...: run, keep stdout/stderr in $T_TMP/NAME.*
run() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		t_fail "$name: exit $rc, expected $want: $*"
		sed 's/^/    stderr: /' "$T_TMP/$name.err" | head -5
	fi
	return 0
}
