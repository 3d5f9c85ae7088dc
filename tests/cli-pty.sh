#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: text fits a real terminal.  Every subcommand runs with its
# stdout on a pseudo-terminal whose size (TIOCGWINSZ) is 40, 80 and 200
# columns, with COLUMNS set to another width (the terminal's size wins),
# and on a terminal that reports 0 columns (then COLUMNS, then 80): no
# line, ANSI colour sequences aside, is wider than the width in force, and
# the only escape sequences are colours (SGR).
. "$(dirname "$0")/clilib.bash" || exit 99
python3 -c 'import pty, termios, fcntl' 2>/dev/null ||
	t_skip "python3 has no pty/termios module here"
[ -c /dev/ptmx ] || t_skip "no /dev/ptmx (pseudo-terminals) in this system"

start_layout
run base 0 "$PS" "$TPID" --json

python3 - "$PS" "$TPID" "$T_TMP/base.out" <<'EOF' || T_FAILS=$((T_FAILS + 1))
import fcntl, os, re, select, struct, subprocess, sys, termios, time, unicodedata
ps, pid, base = sys.argv[1], sys.argv[2], sys.argv[3]
bad = 0
def fail(m):
    global bad
    print("FAIL cli-pty:", m); bad += 1

def width(s):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

def on_pty(args, cols, env_cols):
    """stdout of pagescan ARGS on a pty of COLS columns (bytes), rc"""
    try:
        m, s = os.openpty()
    except OSError as e:
        print("SKIP cli-pty: no pseudo-terminal: %s" % e)
        sys.exit(77)
    fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    attr = termios.tcgetattr(s)
    attr[1] &= ~termios.ONLCR			# no \r before each \n
    termios.tcsetattr(s, termios.TCSANOW, attr)
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    if env_cols is None:
        env.pop("COLUMNS", None)
    else:
        env["COLUMNS"] = str(env_cols)
    p = subprocess.Popen([ps] + args, stdin=subprocess.DEVNULL, stdout=s,
                         stderr=subprocess.PIPE, env=env)
    os.close(s)
    out = b""
    while True:
        try:
            b = os.read(m, 65536)
        except OSError:				# EIO: the other side closed
            break
        if not b:
            break
        out += b
    os.close(m)
    err = p.stderr.read()
    return out, err, p.wait()

sgr = re.compile(rb"\x1b\[[0-9;]*m")
cmds = [[pid], [pid, "--group"], [pid, "--top", "3"], [pid, "--pages"],
        [pid, str(os.getppid())], ["--all"], ["regions", pid],
        ["regions", pid, "--any", "present"],
        # categories wider than their column (as soft-dirty makes them)
        ["regions", pid, "--show", "wpallowed,written,file,present", "--any",
         "present"], ["map", pid],
        ["map", pid, "--expand"], ["map", pid, "--width", "200"],
        ["watch", pid, "--interval", "0.05", "--count", "2", "--no-written"],
        ["features"], ["diff", base, base, "--all"]]
# (the terminal's width, COLUMNS, the width in force)
cases = [(40, 300, 40), (80, 20, 80), (200, 40, 200), (80, None, 80),
         (0, 50, 50), (0, None, 80)]
n = 0
for cols, env_cols, want in cases:
    widest = 0
    for args in cmds:
        out, err, rc = on_pty(args, cols, env_cols)
        n += 1
        what = "%s on a %d-column pty, COLUMNS=%s" % (" ".join(args), cols, env_cols)
        if rc == 4 and "--show" in args:
            continue			# a category this kernel lacks
        if rc != 0:
            fail("%s: exit %d: %s" % (what, rc, err.decode(errors="replace")))
            continue
        if not out.strip():
            fail("%s: nothing on the terminal" % what)
        if args[0] == "map" and not sgr.search(out):
            fail("%s: no colours: stdout not seen as a terminal?" % what)
        plain = sgr.sub(b"", out)
        if b"\x1b" in plain or b"\r" in plain:
            fail("%s: an escape other than a colour: %r" % (what, plain[:200]))
        for l in plain.decode("utf-8", "replace").splitlines():
            widest = max(widest, width(l))
            if width(l) > want:
                fail("%s: a line of %d columns, %d in force: %r" %
                     (what, width(l), want, l))
                break
    # The width in force is used, not only obeyed.
    if env_cols and env_cols < want and widest <= env_cols:
        fail("%d-column pty, COLUMNS=%d: no line wider than %d" %
             (cols, env_cols, env_cols))
print("%d runs on a pseudo-terminal" % n)
sys.exit(1 if bad else 0)
EOF
t_done
