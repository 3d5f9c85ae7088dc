#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: "pagescan --all" on a host with a thousand more processes:
# 1000 sleepers (cat blocked on one shared pipe: they all leave when this
# test does, however it ends) and a zombie are spawned; --all and
# --all --json list every sleeper, each row's RSS, ANON and SWAP equal
# /proc/PID/smaps_rollup for every listed process whose rollup did not
# change across the run (every sleeper), the zombie and the kernel threads
# are skipped with their documented reasons, the reasons add up to the
# skipped count, and listed + skipped are every process of /proc that
# lived through the run.  As another user (PAGESCAN_TEST_USER) the
# listed processes are all its own and those of root are skipped for
# "no permission".  Prints the wall time of --all before and after the
# spawn (figures, not assertions).
. "$(dirname "$0")/clilib.bash" || exit 99

N=${ALLPROCS_N:-1000}
command -v cat >/dev/null || t_skip "no cat in this system"

# One script spawns, checks and kills: the sleepers read one pipe whose
# only writer is the script, so they leave with it even if it is killed.
python3 - "$PS" "$N" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import json, os, signal, subprocess, sys, time
ps, n = sys.argv[1], int(sys.argv[2])
bad = 0
def fail(m):
    global bad
    print("FAIL cli-allprocs:", m); bad += 1

def stat(pid):
    """(state, flags, starttime) or None"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read().rsplit(")", 1)[1].split()
        return s[0], int(s[6]), int(s[19])
    except (OSError, IndexError, ValueError):
        return None

def procs():
    return {int(d): stat(int(d)) for d in os.listdir("/proc") if d.isdigit()}

def rollup(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            kv = dict(l.split(":", 1) for l in f
                      if ":" in l and not l[0].isdigit() and l[0] in
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return tuple(int(kv[k].split()[0]) * 1024 for k in ("Rss", "Anonymous"))
    except (OSError, KeyError, ValueError):
        return None

def owner(pid):
    """uid of the process, or None once it has gone"""
    try:
        return os.stat("/proc/%d" % pid).st_uid
    except OSError:
        return None

def ran(pid):
    """Nanoseconds on a CPU, summed over the threads, or None"""
    try:
        t = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                t += int(f.read().split()[0])
        return t
    except (OSError, IndexError, ValueError):
        return None

def timed(args):
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    t = time.monotonic()
    out = subprocess.run([ps] + args, capture_output=True, text=True, env=env)
    return time.monotonic() - t, out

def wall():
    return min(timed(["--all"])[0] for _ in range(3))

count0 = len(procs())
t0 = wall()

kids = []
def end():
    for p in kids:
        try: p.kill()
        except OSError: pass
    for p in kids:
        p.wait()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
r, w = os.pipe()
try:
    for _ in range(n):
        kids.append(subprocess.Popen(["cat"], stdin=r, stdout=subprocess.DEVNULL))
    os.close(r)
    zombie = os.fork()
    if zombie == 0:
        os._exit(0)
    # Every sleeper has exec(2)ed cat and sleeps in read(2): stable.
    deadline = time.monotonic() + 60
    for p in kids + [None]:
        pid = p.pid if p else zombie
        want = "S" if p else "Z"
        while time.monotonic() < deadline:
            try:
                comm = open("/proc/%d/comm" % pid).read().strip()
            except OSError:
                comm = ""
            st = stat(pid)
            if st and st[0] == want and (comm == "cat" or not p):
                break
            time.sleep(0.01)
        else:
            print("ERROR cli-allprocs: pid %d not %s in 60 s" % (pid, want))
            sys.exit(99)
    sleepers = {p.pid for p in kids}

    # The run, bracketed by two reads of /proc.
    pre = procs()
    roll_pre = {pid: rollup(pid) for pid in pre}
    ran_pre = {pid: ran(pid) for pid in pre}
    _, js = timed(["--all", "--json"])
    _, txt = timed(["--all"])
    post = procs()
    roll_post = {pid: rollup(pid) for pid in pre}
    ran_post = {pid: ran(pid) for pid in pre}
    count1 = len(post)
    t1 = wall()
    print("--all wall time: %.3f s with %d processes, %.3f s with %d "
          "(best of 3, kernel %s)" % (t0, count0, t1, count1, os.uname().release))

    for name, out in (("json", js), ("text", txt)):
        if out.returncode != 0:
            fail("%s: exit %d: %s" % (name, out.returncode, out.stderr.strip()))
    d = json.loads(js.stdout)
    listed = {p["pid"]: p for p in d["processes"]}
    sk = d["skipped"]
    skipped = {p["pid"]: p for p in sk["processes"]}
    me = os.geteuid()

    # Every sleeper listed, in both outputs.
    miss = sleepers - set(listed)
    if miss:
        fail("json: %d sleepers not listed, e.g. %s" % (len(miss), sorted(miss)[:5]))
    rows = {}
    lines = txt.stdout.splitlines()
    for l in lines:
        f = l.split()
        if f and f[0].isdigit() and len(f) > 2:
            rows[int(f[0])] = l
        if len(l) > 80:
            fail("text: a line of %d columns: %r" % (len(l), l))
    miss = sleepers - set(rows)
    if miss:
        fail("text: %d sleepers not listed, e.g. %s" % (len(miss), sorted(miss)[:5]))
    sline = [l for l in lines if l.startswith("skipped ")]
    if not sline:
        fail("text: no 'skipped N:' line")
    elif "zombie" not in " ".join(lines[lines.index(sline[0]):]):
        fail("text: the zombie is not among the reasons skipped: %r" % sline[0])

    # Reasons: documented names, adding up.
    names = {"kernel thread", "zombie", "no permission", "exited", "error"}
    if set(sk["reasons"]) - names:
        fail("undocumented reasons %s" % (set(sk["reasons"]) - names))
    if sum(sk["reasons"].values()) != sk["count"] or sk["count"] != len(skipped):
        fail("skipped count %d, reasons %r, %d listed" %
             (sk["count"], sk["reasons"], len(skipped)))
    for p in skipped.values():
        if p["reason"] not in names:
            fail("pid %d skipped for %r" % (p["pid"], p["reason"]))
    if set(listed) & set(skipped):
        fail("listed and skipped: %s" % sorted(set(listed) & set(skipped))[:5])

    # Listed + skipped = every process that lived through the run, each
    # skipped for the reason /proc gives.
    stable = {pid for pid, s in pre.items() if s and post.get(pid) == s}
    miss = stable - set(listed) - set(skipped)
    if miss:
        fail("%d processes neither listed nor skipped, e.g. %s" %
             (len(miss), sorted(miss)[:5]))
    kthreads = 0
    for pid in stable:
        state, flags, _ = pre[pid]
        why = skipped.get(pid, {}).get("reason")
        if flags & 0x00200000:			# PF_KTHREAD
            kthreads += 1
            if why != "kernel thread":
                fail("kernel thread %d: %s" % (pid, why or "listed"))
        elif state == "Z":
            if why != "zombie":
                fail("zombie %d: %s" % (pid, why or "listed"))
        elif me != 0 and why is None and owner(pid) not in (me, None):
            fail("pid %d of uid %d listed for uid %d" % (pid, owner(pid), me))
    if skipped.get(zombie, {}).get("reason") != "zombie":
        fail("our zombie %d: %r" % (zombie, skipped.get(zombie)))
    if kthreads == 0:
        fail("no kernel thread in /proc: that check checked nothing")
    if me != 0:
        others = [pid for pid in stable if pid in skipped and
                  skipped[pid]["reason"] == "no permission"]
        if not others:
            fail("as uid %d nothing skipped for 'no permission'" % me)
        print("as uid %d: %d listed, %d skipped for no permission" %
              (me, len(listed), len(others)))

    # The numbers: smaps_rollup of every process that held still.  One of
    # another test that ran meanwhile may have changed and changed back
    # (same rollup before and after, another one while listed): it counts
    # only if none of its threads was on a CPU across the run.
    compared = 0
    for pid, p in listed.items():
        a, b = roll_pre.get(pid), roll_post.get(pid)
        if pid not in sleepers and (ran_pre.get(pid) is None or
                                    ran_pre.get(pid) != ran_post.get(pid)):
            continue
        if a is None or a != b or pid not in stable:
            if pid in sleepers:
                fail("sleeper %d changed during the run: %s -> %s" % (pid, a, b))
            continue
        got = (p["bytes"]["rss"], p["bytes"]["anon"])
        if got != a:
            fail("pid %d (%s): rss, anon %s; smaps_rollup %s" % (pid, p["comm"], got, a))
        compared += 1
    if compared < n:
        fail("only %d processes compared with smaps_rollup" % compared)
    tot = sum(p["bytes"]["rss"] for p in listed.values())
    if d["total"]["bytes"]["rss"] != tot:
        fail("total rss %d, the rows add up to %d" % (d["total"]["bytes"]["rss"], tot))
    print("%d listed, %d skipped %r; %d compared with smaps_rollup" %
          (len(listed), len(skipped), sk["reasons"], compared))
finally:
    end()
sys.exit(1 if bad else 0)
EOF
t_done
