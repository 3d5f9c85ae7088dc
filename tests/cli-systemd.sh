#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: least privilege, stated and checked.  contrib/systemd/
# pagescan-serve.service passes systemd-analyze verify, its exposure
# (systemd-analyze security) is at most 2.5, and it grants exactly
# CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.  As root: user nobody holding
# both (ambient, bounding set and nothing else, no new privileges) reads
# a root process, with the same numbers as root, also under a /proc
# mounted subset=pid as ProcSubset=pid makes it; with either alone or
# none, it is refused (exit 3) -- pagescan-export(1) says so.  As nobody:
# a root process is refused, and --all counts it as a permission skip.
# Every system call pagescan serve and pagescan export make is in the
# unit's SystemCallFilter (strace against systemd-analyze syscall-filter).
. "$(dirname "$0")/clilib.bash" || exit 99

UNIT=contrib/systemd/pagescan-serve.service
# A skip where the host profile forbids one is a failure: only the VM
# guests, which have no systemd, may skip.
command -v systemd-analyze >/dev/null ||
	t_skip "systemd-analyze is not installed (scripts/deps.sh test)"
command -v strace >/dev/null || t_skip "strace is not installed (scripts/deps.sh test)"
command -v curl >/dev/null || t_skip "curl is not installed (scripts/deps.sh test)"

SRV_PID=
cleanup_more() {
	if [ -n "$SRV_PID" ]; then
		for c in $(pgrep -P "$SRV_PID"); do kill "$c" 2>/dev/null; done
		kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	fi
	t_cleanup
}
trap cleanup_more EXIT

# The unit as installed: our binary, and our man page for Documentation=.
abs=$(cd "$(dirname "$PS")" && pwd)/$(basename "$PS")
sed "s|/usr/bin/pagescan|$abs|" "$UNIT" > "$T_TMP/pagescan-serve.service"
mkdir -p "$T_TMP/man/man1"
cp man/pagescan-export.1 "$T_TMP/man/man1/"
ln -s pagescan-export.1 "$T_TMP/man/man1/pagescan-serve.1"
if ! MANPATH=$T_TMP/man systemd-analyze verify "$T_TMP/pagescan-serve.service" \
		> "$T_TMP/verify.log" 2>&1; then
	t_fail "systemd-analyze verify:"; sed 's/^/    /' "$T_TMP/verify.log" | head
elif grep -q 'pagescan-serve.service' "$T_TMP/verify.log"; then
	t_fail "systemd-analyze verify warns:"; sed 's/^/    /' "$T_TMP/verify.log" | head
fi
systemd-analyze security --offline=yes "$T_TMP/pagescan-serve.service" \
	> "$T_TMP/security.log" 2>&1
score=$(sed -n 's/.*Overall exposure level for pagescan-serve.service: \([0-9.]*\).*/\1/p' \
	"$T_TMP/security.log")
if [ -z "$score" ]; then
	t_fail "systemd-analyze security gave no score:"; tail -n 5 "$T_TMP/security.log"
elif [ "$(echo "$score <= 2.5" | bc)" != 1 ]; then
	t_fail "exposure $score, more than 2.5:"; grep '✗' "$T_TMP/security.log" | head -20
else
	echo "systemd-analyze security: exposure $score"
fi
for k in AmbientCapabilities CapabilityBoundingSet; do
	v=$(sed -n "s/^$k=//p" "$UNIT" | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$v" = "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE " ] ||
		t_fail "$k=$v, not CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"
done
grep -q '^NoNewPrivileges=yes' "$UNIT" || t_fail "no NoNewPrivileges=yes"
grep -q '^PrivateUsers=yes' "$UNIT" && t_fail "PrivateUsers=yes: the capabilities would not reach the host's processes"

start_layout

rss_of() {	# FILE PID: the rss sample of PID, or nothing
	sed -n "s/^pagescan_process_rss_bytes{pid=\"$2\",.*} \([0-9]*\)$/\1/p" "$1"
}

if [ "$(id -u)" = 0 ]; then
	run root 0 "$PS" export "$TPID" --top-mappings 0
	want=$(rss_of "$T_TMP/root.out" "$TPID")
	# as_nobody CAPS CMD...: nobody with exactly CAPS (comma list or "").
	as_nobody() {
		local caps=$1 inh=-all amb=-all bnd=-all c
		shift
		for c in ${caps//,/ }; do inh+=",+$c"; amb+=",+$c"; bnd+=",+$c"; done
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			--inh-caps="$inh" --ambient-caps="$amb" --bounding-set="$bnd" \
			--no-new-privs "$@"
	}
	for caps in "" sys_ptrace dac_read_search; do
		run "nobody-$caps" 3 as_nobody "$caps" "$PS" export "$TPID" --top-mappings 0
		grep -q 'pagescan_scan_processes_skipped{reason="permission"} 1' \
			"$T_TMP/nobody-$caps.out" ||
			t_fail "nobody with {$caps}: not a permission skip"
	done
	run nobody-both 0 as_nobody sys_ptrace,dac_read_search "$PS" export "$TPID" --top-mappings 0
	got=$(rss_of "$T_TMP/nobody-both.out" "$TPID")
	# Equal, unless rss is marked approximate there: the emulation
	# without PFNs (no CAP_SYS_ADMIN) cannot tell the zero page, whose
	# pages then count in rss -- an over-report, never less.
	same_rss() {	# FILE: does its rss agree with root's?
		local g
		g=$(rss_of "$1" "$TPID")
		[ -n "$g" ] || return 1
		if grep -q '^pagescan_statistic_approximate{statistic="rss"} 1$' "$1"; then
			[ "$g" -ge "$want" ] && [ "$g" -le $((want + want / 20 + 262144)) ]
		else
			[ "$g" = "$want" ]
		fi
	}
	same_rss "$T_TMP/nobody-both.out" ||
		t_fail "nobody with both capabilities: rss '$got', root saw '$want'"
	# ProcSubset=pid: a /proc of its own, with the PID files only.
	if unshare --mount --propagation private sh -c \
		'mount -t proc -o subset=pid proc /proc && [ ! -e /proc/kpageflags ]' \
		2>/dev/null; then
		run subset 0 unshare --mount --propagation private sh -c \
			'mount -t proc -o subset=pid proc /proc && exec "$@"' sh \
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
			--inh-caps=-all,+sys_ptrace,+dac_read_search \
			--ambient-caps=-all,+sys_ptrace,+dac_read_search \
			--bounding-set=-all,+sys_ptrace,+dac_read_search --no-new-privs \
			"$PS" export "$TPID" --top-mappings 0
		got=$(rss_of "$T_TMP/subset.out" "$TPID")
		same_rss "$T_TMP/subset.out" ||
			t_fail "under /proc subset=pid: rss '$got', root saw '$want'"
	else
		t_fail "cannot mount /proc with subset=pid (5.8) as root"
	fi
	echo "capabilities: nobody reads root's pid $TPID with CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH only (rss $got)"
else
	# Unprivileged: another user's process is refused, and counted.
	other=$(ps -eo pid=,user= | awk -v me="$(id -un)" '$2 != me {print $1; exit}')
	[ -n "$other" ] || t_error "no process of another user to try"
	run other 3 "$PS" export "$other" --top-mappings 0
	grep -q 'pagescan_scan_processes_skipped{reason="permission"} 1' "$T_TMP/other.out" ||
		t_fail "pid $other of another user: not a permission skip"
	run all 0 "$PS" export --all --top-mappings 0
	n=$(sed -n 's/^pagescan_scan_processes_skipped{reason="permission"} //p' "$T_TMP/all.out")
	[ "${n:-0}" -gt 0 ] || t_fail "--all as $(id -un): no permission skip counted"
	echo "as $(id -un): pid $other refused, $n processes skipped for permission"
fi

# The system calls: all of them in the unit's filter.  LeakSanitizer
# cannot run under a tracer (it ptrace-attaches itself and exits 1): off
# for these two runs of an ASan build, nothing else changes.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
strace -f -qq -o "$T_TMP/export.strace" "$PS" export --all > /dev/null 2>&1
strace -f -qq -o "$T_TMP/serve.strace" "$PS" serve --listen 127.0.0.1:0 \
	> "$T_TMP/serve.out" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do grep -q '^listening on' "$T_TMP/serve.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T_TMP/serve.out")
[ -n "$port" ] || t_error "pagescan serve under strace did not start"
curl -sf "http://127.0.0.1:$port/metrics" > /dev/null || t_fail "no answer under strace"
curl -s -X POST "http://127.0.0.1:$port/metrics" > /dev/null
# The signal to pagescan itself: strace would only detach.
child=$(pgrep -P "$SRV_PID" -x pagescan)
[ -n "$child" ] && kill -TERM "$child"
wait "$SRV_PID"; rc=$?; SRV_PID=
[ "$rc" = 0 ] || t_fail "pagescan serve under strace exited $rc on SIGTERM"
systemd-analyze syscall-filter > "$T_TMP/filter" 2>/dev/null
python3 - "$UNIT" "$T_TMP/filter" "$T_TMP/export.strace" "$T_TMP/serve.strace" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import re, sys
unit, flt, traces = sys.argv[1], sys.argv[2], sys.argv[3:]
groups, cur = {}, None
for line in open(flt):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if line.startswith("@"):
        cur = groups.setdefault(s, [])
    elif cur is not None:
        cur.append(s)
def expand(x, seen=()):
    if not x.startswith("@"):
        return {x}
    out = set()
    for m in groups.get(x, []):
        if m not in seen:
            out |= expand(m, seen + (x,))
    return out
allow, deny = set(), set()
for line in open(unit):
    if line.startswith("SystemCallFilter="):
        v = line.split("=", 1)[1].split()
        if v[0].startswith("~"):
            v[0] = v[0][1:]
            for x in v:
                deny |= expand(x)
        else:
            for x in v:
                allow |= expand(x)
allow |= expand("@default")
allowed = allow - deny
used = set()
for t in traces:
    for line in open(t):
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if m:
            used.add(m.group(1))
# execve starts the program before the filter's process exists as such.
bad = sorted(used - allowed)
print("system calls used: %d, all in SystemCallFilter: %s" % (len(used), not bad))
if bad:
    print("FAIL cli-systemd: not allowed by the unit's SystemCallFilter: %s" % ", ".join(bad))
    sys.exit(1)
EOF
t_done
