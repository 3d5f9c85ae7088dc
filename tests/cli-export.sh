#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "pagescan export" is read by the real consumers: promtool
# check metrics accepts it in both formats (text 0.0.4 and OpenMetrics
# 1.0); node_exporter's textfile collector reads the file it writes
# atomically, without a scrape error, and serves our series.  The values
# agree with the kernel's own /proc/PID/smaps_rollup; a process whose
# comm and mapping names are hostile bytes (quotes, backslashes,
# newlines, invalid UTF-8, two names that differ only in invalid bytes)
# yields label values that parse back to what the kernel said, and never
# two series alike; cardinality stays within --top and --top-mappings.
. "$(dirname "$0")/clilib.bash" || exit 99

# A skip where the host profile forbids one is a failure (tests/profiles/
# host): only the VM guests, which carry no Prometheus, may skip.
command -v promtool >/dev/null ||
	t_skip "promtool is not installed (scripts/deps.sh test installs prometheus)"
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter) ||
	t_skip "node_exporter is not installed (scripts/deps.sh test)"
command -v curl >/dev/null || t_skip "curl is not installed (scripts/deps.sh test)"

NE_PID=
HOSTILE_PID=
cleanup_more() {
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait "$NE_PID" 2>/dev/null
	[ -n "$HOSTILE_PID" ] && kill "$HOSTILE_PID" 2>/dev/null && wait "$HOSTILE_PID" 2>/dev/null
	t_cleanup
}
trap cleanup_more EXIT

# A process with hostile names: comm with a quote, a backslash, a newline
# and invalid UTF-8; mappings of files whose names hold the same, two of
# them differing only in an invalid byte (both become U+FFFD).
mkdir -p "$T_TMP/files"
python3 - "$T_TMP/files" > "$T_TMP/hostile.out" <<'EOF' &
import ctypes, mmap, os, sys
d = sys.argv[1].encode()
names = [b'q"u\\o\nte', b'bad\xffname', b'bad\xfename', b'ok\xc3\xa9',
         # control bytes, and each kind of invalid UTF-8: overlong, a
         # surrogate, past U+10FFFF, a sequence cut short; C1 and bidi
         # controls are valid UTF-8
         b'ctl\x01\x1b[1m\r\t\x7fend', b'ovl\xc0\xaf', b'sur\xed\xa0\x80',
         b'big\xf4\x90\x80\x80', b'c1\xc2\x85bidi\xe2\x80\xae', b'cut\xe2\x82']
maps = []
for n in names:
    p = d + b'/' + n
    with open(p, 'wb') as f:
        f.write(b'x' * 65536)
    f = open(p, 'rb')
    m = mmap.mmap(f.fileno(), 65536, prot=mmap.PROT_READ)
    for i in range(0, 65536, 4096):
        m[i]
    maps.append((f, m))
libc = ctypes.CDLL(None)
libc.prctl(15, ctypes.c_char_p(b'h"s\\\n\xff\xfe\x01\x1b\r\tx\xe2\x82'),
           0, 0, 0)  # PR_SET_NAME
print(os.getpid(), flush=True)
import time
time.sleep(3600)
EOF
HOSTILE_PID=$!
for _ in $(seq 100); do [ -s "$T_TMP/hostile.out" ] && break; sleep 0.1; done
[ -s "$T_TMP/hostile.out" ] || t_error "the hostile process did not start"
HPID=$(cat "$T_TMP/hostile.out")

start_layout

# Both formats, as promtool sees them.
run text 0 "$PS" export "$TPID" "$HPID" --top-mappings 100
run om 0 "$PS" export "$TPID" "$HPID" --top-mappings 100 --openmetrics
for f in text om; do
	if ! promtool check metrics < "$T_TMP/$f.out" > "$T_TMP/$f.lint" 2>&1; then
		t_fail "promtool check metrics rejects the $f format:"
		head -n 10 "$T_TMP/$f.lint" | sed 's/^/    /'
	fi
done
[ "$(tail -n 1 "$T_TMP/om.out")" = "# EOF" ] || t_fail "OpenMetrics without # EOF at its end"
grep -q '^# EOF' "$T_TMP/text.out" && t_fail "the text format ends with # EOF"
grep -q '^# UNIT pagescan_process_rss_bytes bytes$' "$T_TMP/om.out" ||
	t_fail "OpenMetrics without # UNIT for pagescan_process_rss_bytes"

# The values and the labels, parsed as Prometheus parses them.
python3 - "$T_TMP/text.out" "$TPID" "$HPID" "$T_TMP/files" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import os, re, sys
text, tpid, hpid, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
bad = 0
def fail(m):
    global bad
    print("FAIL cli-export:", m); bad += 1

def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == '\\':
            c = v[i + 1]
            if c not in '\\"n':
                raise ValueError("bad escape \\" + c)
            out.append({'\\': '\\', '"': '"', 'n': '\n'}[c]); i += 2
        else:
            out.append(v[i]); i += 1
    return ''.join(out)

lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
series, seen = {}, set()
for line in open(text, encoding='utf-8', errors='strict', newline='\n'):
    if line.startswith('#'):
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)\n', line)
    if not m:
        fail("unparsable line %r" % line); continue
    labels, rest = {}, m.group(2) or ''
    while rest:
        lm = lab.match(rest)
        if not lm:
            fail("bad labels in %r" % line); break
        labels[lm.group(1)] = unescape(lm.group(2))
        rest = rest[lm.end():]
        if rest.startswith(','):
            rest = rest[1:]
    key = (m.group(1), tuple(sorted(labels.items())))
    if key in seen:
        fail("duplicate series %r" % (key,))
    seen.add(key)
    series.setdefault(m.group(1), []).append((labels, float(m.group(3))))

def value(name, **want):
    for l, v in series.get(name, []):
        if all(l.get(k) == x for k, x in want.items()):
            return v
    return None

# Against the kernel's own count.
def rollup(pid):
    r = {}
    for l in open('/proc/%s/smaps_rollup' % pid):
        f = l.split()
        if len(f) == 3 and f[2] == 'kB':
            r[f[0].rstrip(':')] = int(f[1]) * 1024
    return r
for pid in (tpid, hpid):
    k = rollup(pid)
    for metric, field in (('rss', 'Rss'), ('anon', 'Anonymous'),
                          ('swapped', 'Swap')):
        v = value('pagescan_process_%s_bytes' % metric, pid=pid)
        if v is None:
            fail("no pagescan_process_%s_bytes for pid %s" % (metric, pid))
        elif abs(v - k[field]) > max(65536, k[field] / 100):
            fail("pid %s: %s %d, smaps_rollup %s %d" % (pid, metric, v,
                                                         field, k[field]))
print("pid %s: rss %d, smaps_rollup Rss %d" % (
    tpid, value('pagescan_process_rss_bytes', pid=tpid), rollup(tpid)['Rss']))

# Each byte that is not part of valid UTF-8 becomes U+FFFD (doc/metrics.md;
# a sequence cut short too, byte by byte, where Python's 'replace' would
# make one U+FFFD of it); the rest, control bytes too, as it is.
def perbyte(b):
    return re.sub('[\udc80-\udcff]', '\ufffd', b.decode('utf-8', 'surrogateescape'))

# The hostile comm: what the kernel says, invalid bytes as U+FFFD.
raw = open('/proc/%s/comm' % hpid, 'rb').read().rstrip(b'\n')
want = perbyte(raw)
got = [l.get('comm') for l, v in series['pagescan_process_rss_bytes']
       if l.get('pid') == hpid]
if got != [want]:
    fail("comm of pid %s: %r, expected %r" % (hpid, got, want))
# The hostile mapping names: one series each, the two bad ones merged.
maps = {l['mapping']: v for l, v in series['pagescan_mapping_rss_bytes']
        if l.get('pid') == hpid}
fb = files.encode()
exp = {
    # As /proc/PID/maps shows it: the kernel writes a newline as \012.
    (fb + b'/q"u\\o\\012te').decode(): 65536,
    (fb + b'/bad').decode() + '\ufffd' + 'name': 2 * 65536,
    (fb + b'/ok\xc3\xa9').decode(): 65536,
}
for n in (b'ctl\x01\x1b[1m\r\t\x7fend', b'ovl\xc0\xaf', b'sur\xed\xa0\x80',
          b'big\xf4\x90\x80\x80', b'c1\xc2\x85bidi\xe2\x80\xae', b'cut\xe2\x82'):
    exp[perbyte(fb + b'/' + n)] = 65536
for name, size in exp.items():
    if maps.get(name) != size:
        fail("mapping %r: rss %r, expected %d (have %r)" % (
            name, maps.get(name), size, sorted(maps)[:8]))
# Cardinality: --top-mappings 100 keeps every group of these two.
for pid in (tpid, hpid):
    n = sum(1 for l, v in series['pagescan_mapping_rss_bytes']
            if l.get('pid') == pid)
    if not n:
        fail("no mapping series for pid %s" % pid)
sc = value('pagescan_scan_processes_scanned')
if sc != 2:
    fail("pagescan_scan_processes_scanned %r, expected 2" % sc)
if value('pagescan_scan_duration_seconds') is None:
    fail("no pagescan_scan_duration_seconds")
sys.exit(1 if bad else 0)
EOF

# Bounded cardinality: --top 1 --top-mappings 2 over both processes.
run small 0 "$PS" export "$TPID" "$HPID" --top 1 --top-mappings 2
python3 - "$T_TMP/small.out" "$T_TMP/text.out" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import re, sys
def load(p):
    s = {}
    for l in open(p, encoding='utf-8', newline='\n'):
        if l.startswith('#'):
            continue
        name, rest = l.split('{', 1) if '{' in l else l.split(' ', 1)
        s.setdefault(name, []).append(l)
    return s
small, full = load(sys.argv[1]), load(sys.argv[2])
bad = 0
rss = small['pagescan_process_rss_bytes']
if len(rss) != 2 or not any('pid="other"' in l for l in rss):
    print("FAIL cli-export: --top 1: %r" % rss); bad += 1
tot = lambda ls: sum(float(l.rsplit(' ', 1)[1]) for l in ls)
if tot(rss) != tot(full['pagescan_process_rss_bytes']):
    print("FAIL cli-export: --top 1 rss sums to %d, not %d" % (
        tot(rss), tot(full['pagescan_process_rss_bytes']))); bad += 1
m = small['pagescan_mapping_rss_bytes']
if len(m) != 3 or sum('mapping="other"' in l for l in m) != 1:
    print("FAIL cli-export: --top-mappings 2 gives %d series: %r" % (len(m), m)); bad += 1
sys.exit(1 if bad else 0)
EOF

# The file: written whole, readable by another user, replaced by rename.
mkdir "$T_TMP/tf"
run file1 0 "$PS" export "$TPID" --output "$T_TMP/tf/pagescan.prom"
ino1=$(stat -c %i "$T_TMP/tf/pagescan.prom" 2>/dev/null)
mode=$(stat -c %a "$T_TMP/tf/pagescan.prom" 2>/dev/null)
[ "$mode" = "$(printf '%o' $((0666 & ~0$(umask))))" ] ||
	t_fail "the file has mode $mode, umask $(umask)"
run file2 0 "$PS" export "$TPID" --output "$T_TMP/tf/pagescan.prom"
ino2=$(stat -c %i "$T_TMP/tf/pagescan.prom" 2>/dev/null)
[ -n "$ino1" ] && [ "$ino1" != "$ino2" ] || t_fail "the file was not replaced by a rename (inode $ino1, $ino2)"
[ "$(ls -A "$T_TMP/tf")" = "pagescan.prom" ] || t_fail "left behind: $(ls -A "$T_TMP/tf")"
[ -s "$T_TMP/file1.out" ] && t_fail "--output also wrote to stdout"
cp "$T_TMP/tf/pagescan.prom" "$T_TMP/before"
run nodir 5 "$PS" export "$TPID" --output "$T_TMP/nodir/x.prom"
grep -q "cannot write" "$T_TMP/nodir.err" || t_fail "no message for a missing directory"
run isdir 1 "$PS" export "$TPID" --output "$T_TMP/tf"
# A write that fails half-way (RLIMIT_FSIZE with SIGXFSZ ignored: EFBIG
# past 1 KiB): the temporary file is closed and removed, the old file stays.
run efbig 5 bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' efbig \
	"$PS" export "$TPID" --output "$T_TMP/tf/pagescan.prom"
grep -q "cannot write .*File too large" "$T_TMP/efbig.err" ||
	t_fail "efbig: $(cat "$T_TMP/efbig.err")"
[ "$(ls -A "$T_TMP/tf")" = "pagescan.prom" ] ||
	t_fail "efbig: left behind: $(ls -A "$T_TMP/tf")"
run badtop 1 "$PS" export --top 0
run badopt 1 "$PS" export --listen 127.0.0.1:1
run badpid 1 "$PS" export 12x
cmp -s "$T_TMP/before" "$T_TMP/tf/pagescan.prom" || t_fail "a failed run changed the file"
# A PID that does not exist: said, the others still exported.
run gone 2 "$PS" export "$TPID" 999999999
grep -q "pagescan_process_rss_bytes{pid=\"$TPID\"" "$T_TMP/gone.out" ||
	t_fail "a missing PID stopped the export of the others"
grep -q 'pagescan_scan_processes_skipped{reason="exited"} 1' "$T_TMP/gone.out" ||
	t_fail "the missing PID is not counted as skipped"

# node_exporter's textfile collector reads what we wrote.
run ne 0 "$PS" export "$TPID" "$HPID" --top-mappings 100 --output "$T_TMP/tf/pagescan.prom"
port=
for _ in 1 2 3 4 5; do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$NODE_EXPORTER" --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$T_TMP/tf" \
		--web.listen-address="127.0.0.1:$port" > "$T_TMP/ne.log" 2>&1 &
	NE_PID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/metrics" > "$T_TMP/ne.out" 2>/dev/null && break
		kill -0 "$NE_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$T_TMP/ne.out" ] && break
	kill "$NE_PID" 2>/dev/null; wait "$NE_PID" 2>/dev/null; NE_PID=
done
if [ ! -s "$T_TMP/ne.out" ]; then
	t_fail "node_exporter did not answer"; sed 's/^/    /' "$T_TMP/ne.log" | tail -n 5
else
	grep -q '^node_textfile_scrape_error 0$' "$T_TMP/ne.out" || {
		t_fail "node_exporter reports a textfile scrape error:"
		grep -i 'textfile\|error' "$T_TMP/ne.log" | tail -n 5 | sed 's/^/    /'
	}
	v=$(grep "^pagescan_process_rss_bytes{.*pid=\"$TPID\"" "$T_TMP/ne.out" | awk '{print $2}')
	w=$(grep "^pagescan_process_rss_bytes{.*pid=\"$TPID\"" "$T_TMP/tf/pagescan.prom" | awk '{print $2}')
	[ -n "$v" ] && [ "$(printf '%.0f' "$v")" = "$w" ] ||
		t_fail "node_exporter serves rss '$v' for pid $TPID, the file says '$w'"
	n1=$(grep -c '^pagescan_' "$T_TMP/ne.out")
	n2=$(grep -c '^pagescan_' "$T_TMP/tf/pagescan.prom")
	[ "$n1" = "$n2" ] || t_fail "node_exporter serves $n1 pagescan series, the file has $n2"
	echo "node_exporter on port $port serves $n1 pagescan series"
fi
t_done
