#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: the summary of a target that maps, writes and unmaps
# memory without pause.  Every run exits 0 and its numbers add up: in the
# text (in pages, so exact) the rows plus the "(mapped during the scan)"
# row are the TOTAL, as in JSON the mappings plus unattributed are the
# total; with --top N and --filter the SHOWN row sums the rows shown and
# the TOTAL stays the whole process (more mappings, at least SHOWN plus
# the unattributed row), and on a stable process equals smaps_rollup.
# With the native scan, pages the mapping list cannot place are seen (and
# shown in the text) within a few hundred runs.
. "$(dirname "$0")/clilib.bash" || exit 99

run features 0 "$PS" features --json
LAYOUT_BIN=$MAPS start_layout --churn

python3 - "$PS" "$TPID" "$T_TMP/features.out" "$$" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import json, os, subprocess, sys
ps, pid, feat, stable = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
f = {x["name"]: x for x in json.load(open(feat))["features"]}
native = f["scan"]["support"] == "native"
bad = 0
def fail(m):
    global bad
    print("FAIL cli-churn:", m); bad += 1

env = dict(os.environ, COLUMNS="200")
def run(*args):
    out = subprocess.run([ps] + list(args), capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(args), out.returncode,
                                  out.stderr.strip()))
        return None
    return out.stdout

def parse(text):
    """rows, '?' row, SHOWN, TOTAL as (rss, anon) pages; total's remark"""
    rows, other, shown, total, remark = [], None, None, None, ""
    for l in text.splitlines():
        w = l.split()
        if not w:
            continue
        if w[0] == "?":
            other = (int(w[2]), int(w[3]))
        elif w[0] == "SHOWN":
            shown = (int(w[2]), int(w[3]))
        elif w[0] == "TOTAL":
            total = (int(w[2]), int(w[3]))
            remark = " ".join(w[4:])
        elif len(w) >= 6 and all(c in "0123456789abcdef" for c in w[0]):
            rows.append((int(w[3]), int(w[4])))
    return rows, other, shown, total, remark

def add(*ts):
    return tuple(sum(x) for x in zip(*ts)) if ts else (0, 0)

cols = ["--pages", "--columns", "rss,anon"]
seen = {"text": 0, "top": 0, "filter": 0, "json": 0}
runs = 0
# Up to 2,000 runs: on a loaded host 600 once showed none in JSON.
for i in range(2000 if native else 200):
    runs += 1
    mode = ("text", "top", "filter", "json")[i % 4]
    extra = {"text": [], "top": ["--top", "3"], "filter": ["--filter", "anon"],
             "json": ["--json"]}[mode]
    out = run(pid, *(cols + extra))
    if out is None:
        break
    if mode == "json":
        d = json.loads(out)
        u = d["unattributed"]["bytes"]
        for k in ("rss", "anon", "present"):
            s = sum(m["bytes"][k] for m in d["mappings"]) + u[k]
            if s != d["total"]["bytes"][k]:
                fail("json: %s: mappings + unattributed %d, total %d" %
                     (k, s, d["total"]["bytes"][k]))
        if u["rss"]:
            seen["json"] += 1
    else:
        rows, other, shown, total, remark = parse(out)
        if total is None:
            fail("%s: no TOTAL row:\n%s" % (mode, out)); break
        if other:
            seen[mode] += 1
            if "during the scan" not in remark:
                fail("%s: TOTAL %r does not say it holds the '?' row" %
                     (mode, remark))
        if mode == "text":
            if add(*rows, other or (0, 0)) != total:
                fail("text: rows %s + '?' %s != TOTAL %s" %
                     (add(*rows), other, total))
                print(out)
        else:
            if shown is None or add(*rows) != shown:
                fail("%s: rows %s, SHOWN %s" % (mode, add(*rows), shown))
            elif any(t < s + o for t, s, o in
                     zip(total, shown, other or (0, 0))):
                fail("%s: TOTAL %s under SHOWN %s + '?' %s" %
                     (mode, total, shown, other))
    if bad > 5 or (runs >= 100 and min(seen.values()) > 0):
        break
print("%d runs; pages outside the mapping list seen in %r" % (runs, seen))
if native and min(seen.values()) == 0:
    fail("native scan: in %d runs of a churning target no output showed "
         "pages outside its mapping list: %r" % (runs, seen))

# On a process that holds still (this test's shell), TOTAL with --top and
# --filter is smaps_rollup.
def rollup():
    kv = {l.split(":")[0]: int(l.split()[1]) for l in
          open("/proc/%s/smaps_rollup" % stable) if ":" in l and
          not l[0].isdigit()}
    return kv["Rss"] * 1024 // os.sysconf("SC_PAGE_SIZE"), \
        kv["Anonymous"] * 1024 // os.sysconf("SC_PAGE_SIZE")
for extra in (["--top", "1"], ["--filter", "[stack]"], ["--filter", "nothing"]):
    for _ in range(5):
        a = rollup()
        out = run(stable, *(cols + extra))
        if out is None or rollup() == a:
            break
    if out is None:
        continue
    rows, other, shown, total, remark = parse(out)
    if total != a:
        fail("%s: TOTAL %s, smaps_rollup %s" % (" ".join(extra), total, a))
    if not remark.split()[0].isdigit() or int(remark.split()[0]) < 5:
        fail("%s: TOTAL says %r" % (" ".join(extra), remark))
sys.exit(1 if bad else 0)
EOF
t_done
