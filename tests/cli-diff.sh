#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "pagescan diff A.json B.json" on two saved summaries of a
# process that, between them, wrote 16 more pages of one mapping ("grow"),
# unmapped another (16 pages written, "free") and mapped a third with 8
# pages written ("new"), a fourth ("keep") untouched: the rows say
# changed +16 pages, gone -16, new +8, keep only with --all (unchanged);
# the totals change by B - A of the files; the same from stdin ('-'), by
# --baseline, and per process for two saved process tables.  Text fits 40
# and 80 columns and prints no control byte.  Files that are not JSON, not
# pagescan's, hold counts that are no byte counts (exponents, negative,
# 2^63, strings), nest deeply, are a directory or have hostile names give
# one line on stderr, nothing on stdout and exit status 1.
. "$(dirname "$0")/clilib.bash" || exit 99

LAYOUT_BIN=$MAPS start_layout --steps
run a 0 "$PS" "$TPID" --json
run pa 0 "$PS" "$TPID" "$$" --json
echo step >&"$LAYOUT_FD"
IFS= read -r -t 30 ok <&"${LAYOUT_CO[0]}" || t_error "the target did not take its step"
[ "$ok" = ok ] || t_error "the target said $ok"
run b 0 "$PS" "$TPID" --json
run pb 0 "$PS" "$TPID" "$$" --json
run features 0 "$PS" features --json
run baseline 0 env COLUMNS=80 "$PS" "$TPID" --baseline "$T_TMP/a.out" --json

python3 - "$PS" "$T_TMP" "$TPID" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import json, os, subprocess, sys
ps, tmp, tpid = sys.argv[1], sys.argv[2], int(sys.argv[3])
lay = json.load(open(tmp + "/layout.json"))
psz = lay["page_size"]
d = lay["dir"]
A, B, PA, PB = (tmp + "/%s.out" % n for n in ("a", "b", "pa", "pb"))
bad = 0
def fail(m):
    global bad
    print("FAIL cli-diff:", m); bad += 1

def run(args, stdin=None, cols="80"):
    env = dict(os.environ, COLUMNS=cols)
    return subprocess.run([ps, "diff"] + args, capture_output=True,
                          env=env, stdin=stdin)

def rows_by_name(j):
    return {r.get("name", r.get("comm")): r for r in j["rows"]}

def check_steps(what, j, all_rows=False):
    r = rows_by_name(j)
    want = {"grow": ("changed", 16), "free": ("gone", -16), "new": ("new", 8)}
    for n, (st, pages) in want.items():
        x = r.get(d + "/" + n)
        if not x:
            fail("%s: no row for %s: %s" % (what, n, sorted(r))); continue
        if x["status"] != st:
            fail("%s: %s is %r, expected %r" % (what, n, x["status"], st))
        for k in ("rss", "anon"):
            if x["delta"][k] != pages * psz:
                fail("%s: %s: delta %s %r, expected %d pages" %
                     (what, n, k, x["delta"][k], pages))
    k = r.get(d + "/keep")
    if all_rows:
        if not k or k["status"] not in ("same", "unchanged") or \
                any(v for v in k["delta"].values() if v is not None):
            fail("%s: keep: %r" % (what, k))
    elif k:
        fail("%s: keep did not change but has a row: %r" % (what, k))

def check_total(what, j, a, b):
    ta, tb = json.load(open(a))["total"]["bytes"], json.load(open(b))["total"]["bytes"]
    for k, v in j["total"]["delta"].items():
        if ta.get(k) is None or tb.get(k) is None:
            continue
        if v != tb[k] - ta[k]:
            fail("%s: total delta %s %r, the files say %d" %
                 (what, k, v, tb[k] - ta[k]))

def text_ok(what, out, cols):
    for l in out.decode("utf-8", "replace").splitlines():
        if len(l) > cols:
            fail("%s: a line of %d columns at %d: %r" % (what, len(l), cols, l))
    if any(c < 0x20 and c != 0x0a for c in out):
        fail("%s: a control byte in %r" % (what, out[:300]))

# Per mapping.
o = run([A, B, "--json"])
if o.returncode:
    fail("diff --json: exit %d: %s" % (o.returncode, o.stderr))
j = json.loads(o.stdout)
check_steps("diff", j)
check_total("diff", j, A, B)
j = json.loads(run([A, B, "--json", "--all"]).stdout)
check_steps("diff --all", j, True)
j = json.loads(run(["-", B, "--json"], stdin=open(A)).stdout)
check_steps("diff - B", j)
j = json.loads(open(tmp + "/baseline.out").read())
check_steps("--baseline", j)
for cols in ("40", "80"):
    for extra in ([], ["--all"]):
        o = run([A, B] + extra, cols=cols)
        if o.returncode:
            fail("diff %s: exit %d" % (extra, o.returncode))
        text_ok("diff %s" % " ".join(extra), o.stdout, int(cols))
        t = o.stdout.decode()
        for n, st in (("grow", "changed"), ("free", "gone"), ("new", "new")):
            if not any(l.startswith(st) and n in l for l in t.splitlines()):
                fail("text at %s columns: no '%s ... %s' line:\n%s" % (cols, st, n, t))

# Per process.
o = run([PA, PB, "--json", "--all"])
j = json.loads(o.stdout)
r = {x.get("pid"): x for x in j["rows"]}
if tpid not in r or r[tpid]["delta"]["rss"] != 8 * psz:
    fail("processes: the target's row %r" % r.get(tpid))
if os.getppid() not in r or r[os.getppid()]["status"] not in ("same", "unchanged", "changed"):
    fail("processes: the shell's row %r" % r.get(os.getppid()))
check_total("processes", j, PA, PB)

# Bad files: one line, exit 1, nothing on stdout.
a = open(A).read()
hostile = {
    "empty": "", "garbage": "garbage\n", "truncated": a[:len(a) // 2],
    "array": "[]", "deep": "[" * 100000, "deepobj": '{"a":' * 100000,
    "schema": a.replace('"pagescan/2"', '"pagescan/99"', 1),
    "schema-esc": a.replace('"pagescan/2"', '"pagescan/\\u001b[2J"', 1),
    "features": open(tmp + "/features.out").read(),
    "exponent": a.replace('"rss":', '"rss":1e3,"x":', 1),
    "negative": a.replace('"rss":', '"rss":-4096,"x":', 1),
    "2^63": a.replace('"rss":', '"rss":9223372036854775808,"x":', 1),
    "hex": a.replace('"rss":', '"rss":0x1000,"x":', 1),
    "plus": a.replace('"rss":', '"rss":+4096,"x":', 1),
    "inf": a.replace('"rss":', '"rss":Infinity,"x":', 1),
    "nan": a.replace('"rss":', '"rss":NaN,"x":', 1),
    "string": a.replace('"rss":', '"rss":"4096","x":', 1),
    "leading0": a.replace('"rss":', '"rss":04096,"x":', 1),
    "bytes-array": a.replace('"bytes":{', '"bytes":[{', 1),
    "no-total": json.dumps({k: v for k, v in json.loads(a).items() if k != "total"}),
    "total-empty": json.dumps(dict(json.loads(a), total={})),
    "nul": a[:20] + "\0" + a[20:],
    "bad-utf8-outside": a + "\xff",
}
cases = [(n, [tmp + "/h-" + n, B]) for n in hostile]
for n, t in hostile.items():
    open(tmp + "/h-" + n, "w", encoding="utf-8", errors="surrogateescape").write(
        t.replace("\xff", "\udcff"))
evil = tmp + "/evil\x1b[31m\nname\u202e.json"
open(evil, "w").write("nope")
os.mkdir(tmp + "/dir")
cases += [("evil name", [evil, B]), ("directory", [tmp + "/dir", B]),
          ("missing", [tmp + "/missing.json", B]), ("both stdin", ["-", "-"]),
          ("one file", [A]), ("summary with processes", [A, PB]),
          ("evil name as B", [A, evil])]
for n, args in cases:
    o = run(args, stdin=subprocess.DEVNULL)
    err = o.stderr
    if o.returncode != 1 or o.stdout or err.count(b"\n") != 1 or \
            not err.startswith(b"pagescan: ") or \
            any(c < 0x20 and c != 0x0a for c in err):
        fail("%s: exit %d, stdout %r, stderr %r" % (n, o.returncode,
                                                   o.stdout[:100], err[:300]))

# A saved file with hostile names: the text stays text.
h = json.loads(a)
h["mappings"][0]["name"] = "evil\n\x1b[31mred\x07\u202e\u200b" + "\udcff" * 3 + "x" * 200
open(tmp + "/h-names", "w", encoding="utf-8", errors="surrogatepass").write(
    json.dumps(h))
for cols in ("40", "80"):
    o = run([tmp + "/h-names", B], cols=cols)
    if o.returncode:
        fail("hostile names: exit %d: %s" % (o.returncode, o.stderr))
    text_ok("hostile names", o.stdout, int(cols))
    for seq in (b"\x1b", b"\x07", "\u202e".encode(), "\u200b".encode(), b"\xff"):
        if seq in o.stdout:
            fail("hostile names: %r printed raw" % seq)
sys.exit(1 if bad else 0)
EOF
t_done
