#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Write out every C code block of the documentation, as its reader sees it.

    scripts/doc-blocks.py OUTDIR [FILE...]

FILEs default to README.md and every page in man/ (links included once, as
their target).  The blocks are:
  - README (any *.md): each ```c fenced block, verbatim;
  - man pages of sections 2, 3 and 7: each .nf/.fi or .EX/.EE block of an
    EXAMPLE or EXAMPLES section, rendered by groff as man(1) shows it (so
    "\\e", "\\-" and "\\(aq" are what the reader copies), dedented.
Section 1 and 8 examples are shell commands, not C.

Each block goes to OUTDIR/NAME-N.c, and OUTDIR/blocks gets one line per
block:  KIND FILE.c SOURCE:LINE [examples/X.c]
KIND says how it is compiled (scripts/check-examples.sh):
  program  it defines main(): compiled, linked and run as it stands;
  file     it starts with #include or defines a function: compiled as a
           translation unit after the usual headers, not linked;
  body     anything else, statements: compiled as the body of a function
           that has pid (pid_t), ps (struct pagescan *), buf (void *) and
           len (size_t) in scope; anything else it uses it declares.
The last field names the example file that the paragraph before a README
block points to ("examples/scan-self.c"): the block must be that file.
"""
import os
import re
import subprocess
import sys

BEGIN = "PAGESCAN-DOC-BLOCK-BEGIN"
END = "PAGESCAN-DOC-BLOCK-END"


def kind_of(text):
    if re.search(r"^\s*int\s+main\s*\(", text, re.M):
        return "program"
    lines = [l for l in text.splitlines() if l.strip()]
    if lines and lines[0].startswith("#include"):
        return "file"
    # A function definition: a line at column 0 with a parameter list and
    # no semicolon, whose body opens on it or on the next line.
    for i, l in enumerate(lines):
        if (re.match(r"^[A-Za-z_].*\)\s*(\{\s*)?$", l) and ";" not in l and
                not re.match(r"^(if|for|while|switch|else|do)\b", l)):
            if l.rstrip().endswith("{") or (i + 1 < len(lines) and
                                            lines[i + 1].startswith("{")):
                return "file"
    return "body"


def dedent(lines):
    ind = min((len(l) - len(l.lstrip()) for l in lines if l.strip()),
              default=0)
    return "\n".join(l[ind:].rstrip() for l in lines).strip("\n") + "\n"


def markdown_blocks(path):
    out, cur, start, para, ref = [], None, 0, [], ""
    prev_blank = True
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, l in enumerate(lines, 1):
        if cur is None:
            if re.match(r"^```\s*c\s*$", l):
                # The paragraph just before the block (para holds it).
                cur, start = [], n
                ref = re.findall(r"examples/[A-Za-z0-9_.-]+\.c",
                                 " ".join(para))
                ref = ref[-1] if ref else ""
            elif l.strip():
                if prev_blank:
                    para = []
                para.append(l)
        elif l.startswith("```"):
            out.append((start, "\n".join(cur) + "\n", ref))
            cur, para = None, []
        else:
            cur.append(l)
        prev_blank = not l.strip()
    if cur is not None:
        sys.exit(f"{path}:{start}: a ``` block that never ends")
    return out


def man_blocks(path):
    sect = path.rsplit(".", 1)[-1]
    if sect not in ("2", "3", "7"):
        return []
    with open(path, encoding="utf-8") as f:
        src = f.read().splitlines()
    marked, starts, in_ex, in_block = [], [], False, False
    for n, l in enumerate(src, 1):
        if re.match(r'^\.SH\s', l):
            title = l[3:].strip().strip('"').upper()
            in_ex = title in ("EXAMPLE", "EXAMPLES")
        if in_ex and not in_block and re.match(r"^\.(nf|EX)\b", l):
            marked += [l, BEGIN]
            starts.append(n)
            in_block = True
            continue
        if in_block and re.match(r"^\.(fi|EE)\b", l):
            marked += [END, l]
            in_block = False
            continue
        marked.append(l)
    if not starts:
        return []
    r = subprocess.run(["groff", "-t", "-man", "-Tascii", "-P-cbou",
                        "-rLL=250n", "-rcR=1"], input="\n".join(marked) + "\n",
                       capture_output=True, text=True, check=True)
    out, cur = [], None
    for l in r.stdout.splitlines():
        if l.strip() == BEGIN:
            cur = []
        elif l.strip() == END:
            out.append((starts[len(out)], dedent(cur), ""))
            cur = None
        elif cur is not None:
            cur.append(l)
    if len(out) != len(starts):
        sys.exit(f"{path}: {len(starts)} example blocks, {len(out)} rendered")
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    files = sys.argv[2:]
    if not files:
        files = ["README.md"] + sorted(
            os.path.join("man", f) for f in os.listdir("man")
            if re.search(r"\.[1-8]$", f) and
            not os.path.islink(os.path.join("man", f)))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "blocks"), "w") as manifest:
        for path in files:
            blocks = (markdown_blocks(path) if path.endswith(".md")
                      else man_blocks(path))
            base = os.path.basename(path).replace(".", "_")
            for i, (line, text, ref) in enumerate(blocks, 1):
                name = f"{base}-{i}.c"
                with open(os.path.join(outdir, name), "w") as f:
                    f.write(text)
                print(kind_of(text), name, f"{path}:{line}", ref,
                      file=manifest)


if __name__ == "__main__":
    main()
