#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "pagescan serve" scraped by the real Prometheus: Debian's
# prometheus on the loopback address with a 1 s scrape of pagescan serve
# (on a free port it picks itself), until its HTTP query API returns
# pagescan_process_rss_bytes of a known target, which must agree with the
# kernel's /proc/PID/smaps_rollup; Prometheus negotiated OpenMetrics (its
# metadata names the counter family without _total).  Then hostile
# clients: oversized, binary, malformed and slow requests, unknown
# methods and versions, more idle connections than the server serves at
# once, clients that vanish; the server answers each with the right
# status, leaks no descriptor, still serves, and exits 0 on SIGTERM and
# on SIGINT.
. "$(dirname "$0")/clilib.bash" || exit 99

# A skip where the host profile forbids one is a failure (tests/profiles/
# host): only the VM guests, which carry no Prometheus, may skip.
PROMETHEUS=$(command -v prometheus) ||
	t_skip "prometheus is not installed (scripts/deps.sh test)"
command -v curl >/dev/null || t_skip "curl is not installed (scripts/deps.sh test)"

SRV_PID= PROM_PID=
cleanup_more() {
	for p in $SRV_PID $PROM_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	t_cleanup
}
trap cleanup_more EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_serve ARGS...: sets SRV_PID and SRV_PORT (serve picks the port).
start_serve() {
	: > "$T_TMP/serve.out"
	"$PS" serve --listen 127.0.0.1:0 "$@" > "$T_TMP/serve.out" 2> "$T_TMP/serve.err" &
	SRV_PID=$!
	for _ in $(seq 100); do
		grep -q '^listening on ' "$T_TMP/serve.out" && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	SRV_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T_TMP/serve.out")
	[ -n "$SRV_PORT" ] || t_error "pagescan serve did not start: $(cat "$T_TMP/serve.err")"
}

# stop_serve SIGNAL: the server must exit 0, at once.
stop_serve() {
	local rc
	kill -"$1" "$SRV_PID"
	for _ in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SRV_PID" 2>/dev/null; then
		t_fail "pagescan serve still runs 10 s after SIG$1"
		kill -9 "$SRV_PID"
	fi
	wait "$SRV_PID"; rc=$?
	[ "$rc" = 0 ] || t_fail "pagescan serve exited $rc on SIG$1, not 0"
	SRV_PID=
}

start_layout
start_serve "$TPID" --top-mappings 5

# Prometheus, on loopback, with its own storage, scraping every second.
cat > "$T_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pagescan
    static_configs:
      - targets: ['127.0.0.1:$SRV_PORT']
EOF
promtool check config "$T_TMP/prometheus.yml" > "$T_TMP/config.log" 2>&1 ||
	t_error "promtool rejects our config: $(cat "$T_TMP/config.log")"
PROM_PORT=
for _ in 1 2 3 4 5; do
	PROM_PORT=$(free_port)
	"$PROMETHEUS" --config.file="$T_TMP/prometheus.yml" \
		--storage.tsdb.path="$T_TMP/tsdb" \
		--web.listen-address="127.0.0.1:$PROM_PORT" \
		> "$T_TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	for _ in $(seq 300); do
		curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$PROM_PID" 2>/dev/null && break
	wait "$PROM_PID" 2>/dev/null; PROM_PID=
done
[ -n "$PROM_PID" ] || t_error "prometheus did not start: $(tail -n 3 "$T_TMP/prometheus.log")"

python3 - "$PROM_PORT" "$TPID" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import json, sys, time, urllib.parse, urllib.request
port, pid = sys.argv[1], sys.argv[2]
def api(path, **q):
    url = "http://127.0.0.1:%s/api/v1/%s?%s" % (port, path, urllib.parse.urlencode(q))
    with urllib.request.urlopen(url, timeout=10) as r:
        d = json.load(r)
    assert d["status"] == "success", d
    return d["data"]
res = []
for _ in range(600):		# the first scrape comes within a second or two
    res = api("query", query='pagescan_process_rss_bytes{pid="%s"}' % pid)["result"]
    if res:
        break
    time.sleep(0.1)
if not res:
    up = api("query", query="up")["result"]
    targets = api("targets")["activeTargets"]
    print("FAIL cli-serve: prometheus has no pagescan_process_rss_bytes of pid %s "
          "(up %r, lastError %r)" % (pid, up, [t.get("lastError") for t in targets]))
    sys.exit(1)
v = float(res[0]["value"][1])
rss = 0
for l in open("/proc/%s/smaps_rollup" % pid):
    if l.startswith("Rss:"):
        rss = int(l.split()[1]) * 1024
bad = 0
if abs(v - rss) > max(65536, rss / 100):
    print("FAIL cli-serve: prometheus says rss %d, smaps_rollup %d" % (v, rss)); bad += 1
print("prometheus: pagescan_process_rss_bytes{pid=%s} %d, smaps_rollup Rss %d; labels %r"
      % (pid, v, rss, res[0]["metric"]))
if res[0]["metric"].get("job") != "pagescan" or "comm" not in res[0]["metric"]:
    print("FAIL cli-serve: labels %r" % res[0]["metric"]); bad += 1
up = api("query", query='up{job="pagescan"}')["result"]
if not up or up[0]["value"][1] != "1":
    print("FAIL cli-serve: up{job=pagescan} is %r" % up); bad += 1
# Prometheus asks for OpenMetrics first; its parser keeps the family name.
md = api("targets/metadata", match_target='{job="pagescan"}')
names = {m["metric"]: m["type"] for m in md}
if names.get("pagescan_serve_scans") != "counter":
    print("FAIL cli-serve: no OpenMetrics counter family pagescan_serve_scans "
          "in the metadata: %r" % sorted(n for n in names if "serve" in n)); bad += 1
if names.get("pagescan_process_rss_bytes") != "gauge":
    print("FAIL cli-serve: pagescan_process_rss_bytes is %r" % names.get("pagescan_process_rss_bytes")); bad += 1
sys.exit(1 if bad else 0)
EOF
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; PROM_PID=
stop_serve TERM

# Hostile clients, against a server with a short timeout.
start_serve "$TPID" --timeout 1
python3 - "$SRV_PORT" "$SRV_PID" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import os, socket, sys, time
port, spid = int(sys.argv[1]), sys.argv[2]
bad = 0
def fail(m):
    global bad
    print("FAIL cli-serve:", m); bad += 1

def ask(data, wait_close=True, timeout=15):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()

def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except Exception:
        return None

def check(name, data, want, ctype=None):
    r = ask(data)
    if status(r) != want:
        fail("%s: status %r, expected %d: %r" % (name, status(r), want, r[:80]))
        return r
    if ctype is not None:
        head = r.split(b"\r\n\r\n", 1)[0].lower()
        if ("content-type: " + ctype).lower().encode() not in head:
            fail("%s: content type not %s: %r" % (name, ctype, head))
    return r

fds = lambda: len(os.listdir("/proc/%s/fd" % spid))
fd0 = fds()
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
r = check("GET /metrics", b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, TEXT)
body = r.split(b"\r\n\r\n", 1)[1]
if b"pagescan_process_rss_bytes{" not in body or body.endswith(b"# EOF\n"):
    fail("the text format body: %r" % body[:200])
r = check("OpenMetrics", b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n", 200, OM)
if not r.endswith(b"# EOF\n"):
    fail("OpenMetrics body does not end with # EOF")
check("Accept q=0", b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; q=0, text/plain\r\n\r\n", 200, TEXT)
check("Accept text first", b"GET /metrics HTTP/1.1\r\nAccept: text/plain;q=0.9, application/openmetrics-text;q=0.5\r\n\r\n", 200, TEXT)
check("Accept split over two headers", b"GET /metrics HTTP/1.1\r\nAccept: text/plain;q=0.1\r\naccept: APPLICATION/OpenMetrics-Text\r\n\r\n", 200, OM)
check("Accept json only", b"GET /metrics HTTP/1.1\r\nAccept: application/json\r\n\r\n", 200, TEXT)
check("query string", b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", 200, TEXT)
r = check("HEAD", b"HEAD /metrics HTTP/1.1\r\n\r\n", 200, TEXT)
if r.split(b"\r\n\r\n", 1)[1]:
    fail("HEAD with a body")
r = check("index", b"GET / HTTP/1.1\r\n\r\n", 200, "text/html")
if b'href="/metrics"' not in r:
    fail("/ has no link to /metrics")
check("404", b"GET /nope HTTP/1.1\r\n\r\n", 404)
check("404 dotdot", b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", 404)
for m in (b"POST", b"PUT", b"DELETE", b"OPTIONS", b"FOO"):
    r = check("405 " + m.decode(), m + b" /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 405)
    if b"allow: get, head" not in r.lower():
        fail("405 without Allow: GET, HEAD")
check("HTTP/2.0", b"GET /metrics HTTP/2.0\r\n\r\n", 505)
check("no version", b"GET /metrics\r\n\r\n", 400)
check("no slash", b"GET metrics HTTP/1.1\r\n\r\n", 400)
check("absolute form", b"GET http://x/metrics HTTP/1.1\r\n\r\n", 400)
check("two spaces", b"GET  /metrics HTTP/1.1\r\n\r\n", 400)
check("header without colon", b"GET /metrics HTTP/1.1\r\nbogus\r\n\r\n", 400)
check("NUL in the line", b"GET /met\0rics HTTP/1.1\r\n\r\n", 400)
check("binary", bytes(range(256)) + b"\r\n\r\n", 400)
check("bare LF", b"GET /metrics HTTP/1.1\nHost: x\n\n", 200, TEXT)
check("empty line", b"\r\n\r\n", 400)
check("8 KiB head", b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000, 431)
check("a huge Accept", b"GET /metrics HTTP/1.1\r\nAccept: " + b"x," * 3000 + b"\r\n\r\n", 200, TEXT)
# Slow: half a request, then silence past --timeout.
r = ask(b"GET /metrics HTTP/1.1\r\n")
if status(r) != 408:
    fail("a client that stops mid-request: %r, expected 408" % r[:60])
# Gone: clients that send and vanish, or connect and reset.
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()
# More idle clients than it serves at once (64): the next one still gets in
# once the idle ones time out.
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]
r = check("after 80 idle clients", b"GET /metrics HTTP/1.1\r\n\r\n", 200, TEXT)
for s in idle:
    s.close()
# Everything closed: as many descriptors as before.
for _ in range(50):
    if fds() == fd0:
        break
    time.sleep(0.1)
if fds() != fd0:
    fail("pagescan serve holds %d descriptors, %d before the clients" % (fds(), fd0))
r = check("still serving", b"GET /metrics HTTP/1.1\r\n\r\n", 200, TEXT)
r = check("its own counters", b"GET /metrics HTTP/1.1\r\n\r\n", 200, TEXT)
for want in (b'pagescan_serve_requests_total{code="405"} 5',
             b'pagescan_serve_requests_total{code="408"} 1',
             b'pagescan_serve_requests_total{code="404"} 2'):
    if want not in r:
        fail("no %r in %r" % (want, [l for l in r.split(b"\n") if b"serve_requests" in l]))
sys.exit(1 if bad else 0)
EOF
kill -0 "$SRV_PID" 2>/dev/null || t_fail "pagescan serve died under the hostile clients"
stop_serve TERM

# SIGINT, with a client connected and idle: exit 0 all the same.
start_serve "$TPID"
exec 7<>/dev/tcp/127.0.0.1/"$SRV_PORT"
stop_serve INT
exec 7>&-

# Bad options: a clear message, exit 1; a port taken: exit 5.
run nolisten 1 "$PS" serve "$TPID"
run badlisten 1 "$PS" serve --listen localhost:80x
run badlisten2 1 "$PS" serve --listen 127.0.0.1
run badto 1 "$PS" serve --listen 127.0.0.1:0 --timeout 0
run badout 1 "$PS" serve --listen 127.0.0.1:0 --output x.prom
start_serve "$TPID"
run taken 5 "$PS" serve --listen "127.0.0.1:$SRV_PORT"
grep -q "cannot listen" "$T_TMP/taken.err" || t_fail "a port in use: $(cat "$T_TMP/taken.err")"
stop_serve TERM
t_done
