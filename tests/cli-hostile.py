# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Shared by tests/cli-hostile.sh: a target with hostile names, and the
# checks of pagescan's outputs.  Not a test itself.
#
#   cli-hostile.py target DIR     map files (and memfds) with hostile names
#                                 from DIR, set comm, print the pid, wait
#                                 for stdin EOF
#   cli-hostile.py text FILE W    FILE is safe text for a terminal at W
#                                 columns (W=0: any width)
#   cli-hostile.py json FILE PID [some]
#                                 FILE is JSON whose mapping names are the
#                                 exact bytes of /proc/PID/maps (with
#                                 "some", not necessarily all of them)
import ctypes, json, mmap, os, re, sys, unicodedata

# What a process may name its files and memfds: ESC sequences (a colour,
# a title change, a clear screen), BEL, CR, tab, DEL, C1 controls as
# UTF-8 (U+009B is CSI to some terminals) and as raw bytes, invalid
# UTF-8, markup for XML, a right-to-left override, backslashes that look
# like our own escapes, a newline (the kernel shows it as \012).
NAMES = [b"esc\x1b[31mred\x1b[0m", b"title\x1b]0;pwn\x07", b"clr\x1b[2J\x1b[H",
         b"bell\x07cr\rtab\tnl\nend", b"del\x7fc1\xc2\x9bcsi",
         b"raw\x9b\xff\xfe\xc0\xafinv", b"<svg>&amp;]]>\"'<!--",
         "utf8-\u00e9\u6f22\u5b57".encode(), b"bidi\xe2\x80\xaeevil",
         b"bs\\x41\\\\\x08\x08", b"lone\xed\xa0\x80surrogate"]
COMM = b"\x1b]0;x\x07<&\xff\x9b"

def target(d):
    keep = []
    for n in NAMES:
        p = os.fsencode(d) + b"/" + n
        with open(p, "wb") as f:
            f.write(b"x" * 8192)
        fd = os.open(p, os.O_RDONLY)
        m = mmap.mmap(fd, 8192, prot=mmap.PROT_READ)
        m[0]
        keep.append(m)
        fd2 = os.memfd_create(n.decode("utf-8", "surrogateescape"))
        os.write(fd2, b"y" * 4096)
        m2 = mmap.mmap(fd2, 4096)
        m2[0] = 1
        keep.append(m2)
    libc = ctypes.CDLL(None)
    if libc.prctl(15, ctypes.c_char_p(COMM), 0, 0, 0):
        sys.exit("prctl(PR_SET_NAME) failed")
    print(os.getpid(), flush=True)
    sys.stdin.read()

def width(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in "WF" else 1
    return w

def text(path, cols):
    raw = open(path, "rb").read()
    bad = []
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print("FAIL: %s: invalid UTF-8 at byte %d: %r" % (path, e.start,
              raw[max(0, e.start - 20):e.start + 20]))
        return 1
    for i, line in enumerate(s.split("\n")):
        for c in line:
            o = ord(c)
            if (o < 0x20 and c != "\t") or 0x7f <= o < 0xa0 or \
                    0x200b <= o <= 0x200f or 0x202a <= o <= 0x202e or \
                    0x2066 <= o <= 0x2069:
                bad.append("line %d: U+%04X in %r" % (i + 1, o, line))
                break
        if cols and width(line) > cols:
            bad.append("line %d is %d columns wide (%d allowed): %r" %
                       (i + 1, width(line), cols, line))
    for b in bad[:5]:
        print("FAIL: %s: %s" % (path, b))
    return 1 if bad else 0

def maps_names(pid):
    names = set()
    for line in open("/proc/%s/maps" % pid, "rb"):
        f = line.rstrip(b"\n").split(None, 5)
        if len(f) == 6:
            names.add(f[5])
    return names

def walk(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("name", "mapping", "comm") and isinstance(x, str):
                out.add(x.encode("utf-8", "surrogateescape"))
            walk(x, out)
    elif isinstance(v, list):
        for x in v:
            walk(x, out)

def jsoncheck(path, pid, every=True):
    raw = open(path, "rb").read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print("FAIL: %s: JSON not UTF-8 at %d" % (path, e.start))
        return 1
    try:
        try:
            docs = [json.loads(raw)]
        except ValueError:
            # watch: one object a line
            docs = [json.loads(l) for l in raw.splitlines() if l.strip()]
    except ValueError as e:
        print("FAIL: %s: not JSON: %s" % (path, e))
        return 1
    got = set()
    for d in docs:
        walk(d, got)
    want = {n for n in maps_names(pid) if any(h in n for h in
            (x.replace(b"\n", b"\\012") for x in NAMES))}
    rc = 0
    if len(want) < len(NAMES):
        print("FAIL: the target's maps hold %d hostile names" % len(want))
        rc = 1
    maps = maps_names(pid)
    for n in sorted(got):
        if n and not n.startswith(b"[") and n not in maps and \
                not n.startswith(COMM[:15]):
            print("FAIL: %s: %r is no mapping's name" % (path, n))
            rc = 1
    if not every:
        return rc
    for n in sorted(want):
        if n not in got:
            print("FAIL: %s: %r not in the JSON as its bytes" % (path, n))
            rc = 1
    if COMM[:15] not in got:
        print("FAIL: %s: comm %r not in the JSON (got %r)" % (path, COMM,
              [g for g in got if b"\x1b" in g and b"/" not in g]))
        rc = 1
    # Valid UTF-8 is kept as UTF-8, not \u-escaped.
    if "utf8-\u00e9\u6f22\u5b57".encode() not in raw:
        print("FAIL: %s: valid UTF-8 was escaped" % path)
        rc = 1
    return rc

if __name__ == "__main__":
    if sys.argv[1] == "target":
        target(sys.argv[2])
    elif sys.argv[1] == "text":
        sys.exit(text(sys.argv[2], int(sys.argv[3])))
    elif sys.argv[1] == "json":
        sys.exit(jsoncheck(sys.argv[2], sys.argv[3], len(sys.argv) < 5))
