#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "pagescan regions" streams: a target with a million
# one-page regions (every other page read, mapping the zero page; 50000
# where the kernel has no zero page, as those reads cost real memory) is
# listed completely, in order, each region once (and as JSON),
# with pagescan's peak memory far below the size of its output.
# MANY_N sets the million (tests/vm/init: fewer under TCG).
. "$(dirname "$0")/clilib.bash" || exit 99

run features 0 "$PS" features --json
read -r n m < <(python3 -c 'import json,sys
f = {x["name"]: x for x in json.load(open(sys.argv[1]))["features"]}
# The emulation rereads smaps for every 512 regions when it must find
# huge pages (the JSON run shows every category): keep that part small.
print(int(sys.argv[2]) if f["zero-page"]["present"] else 50000,
      20000 if f["scan"]["support"] == "emulated" else 100000)' \
	"$T_TMP/features.out" "${MANY_N:-1000000}")
start_layout --many "$n"
range=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["regions"][0]
print(r["start"][2:] + "-" + r["end"][2:])' "$T_TMP/layout.json")

python3 - "$PS" "$TPID" "$range" "$n" "$m" <<'EOF2' || T_FAILS=$((T_FAILS + 1))
import json, resource, subprocess, sys
ps, pid, rng, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start, end = (int(x, 16) for x in rng.split("-"))
psz = 4096
bad = 0
def fail(m):
    global bad
    print("FAIL cli-many:", m); bad += 1

# pagescan's own peak RSS for one region: what streaming adds goes on it.
subprocess.run([ps, "regions", pid, "--range", "%x-%x" % (start, start + psz),
                "--require", "present", "--show", "present"],
               stdout=subprocess.DEVNULL, check=True)
base_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

# Text, streamed: count and check order as it comes.
p = subprocess.Popen([ps, "regions", pid, "--range", rng, "--require",
                      "present", "--show", "present"],
                     stdout=subprocess.PIPE, text=True)
count, prev_end, last = 0, 0, ""
next(p.stdout)					# the header
for line in p.stdout:
    if line[0] not in "0123456789abcdef" or " region" in line:
        last = line; continue
    f = line.split()
    a, e = int(f[0], 16), int(f[1], 16)
    if a < prev_end or e - a != psz:
        fail("region %d: %s" % (count, line.strip())); break
    prev_end = e
    count += 1
rc = p.wait()
if rc != 0:
    fail("text: exit %d" % rc)
if count != n or not last.startswith("%d regions, %d pages" % (n, n)):
    fail("text: %d regions, footer %r; expected %d" % (count, last, n))
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("text: %d regions; pagescan's peak RSS %d KiB (%d KiB for one)" %
      (count, rss_kib, base_kib))

# JSON: one object, every region once (the first 100000: parsing a
# million in python would dominate the test's time).
m = min(n, int(sys.argv[5]))
out = subprocess.run([ps, "regions", pid, "--range", rng, "--require",
                      "present", "--json", "--max-pages", str(m)],
                     capture_output=True, text=True)
d = json.loads(out.stdout)
r = d["regions"]
if len(r) != m or d["total"]["regions"] != m or d["total"]["pages"] != m:
    fail("json: %d regions, total %r" % (len(r), d["total"]))
elif int(r[0]["start"], 16) != start or \
        int(r[-1]["start"], 16) != start + 2 * (m - 1) * psz:
    fail("json: first %s last %s" % (r[0]["start"], r[-1]["start"]))
# The text output alone is ~90 bytes a region: holding it all would show,
# over what one region costs (the bound scales with MANY_N).
if (rss_kib - base_kib) * 1024 > 32 * n + (8 << 20):
    fail("peak RSS %d KiB for %d regions, %d KiB for one: not streaming?" %
         (rss_kib, n, base_kib))
sys.exit(1 if bad else 0)
EOF2
t_done
