#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# %% [markdown]
# # What a process's memory holds, per mapping
#
# Resident memory (anonymous, file, shmem), huge pages and swap of each
# mapping of a process, from one `pagescan.open(pid).summary()` (the
# numbers `pagescan PID` prints), as a bar chart saved to a PNG.  Runs as
# a script or cell by cell in a notebook (the `# %%` markers):
#
#     python3 python/examples/plot_memory.py [PID] [-o memory.png] [--top N]

# %%
import argparse
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")           # no display needed: we write a file
import matplotlib.pyplot as plt  # noqa: E402

import pagescan  # noqa: E402

ap = argparse.ArgumentParser(description="Plot a process's memory per "
                             "mapping (PNG).")
ap.add_argument("pid", nargs="?", type=int, default=os.getpid())
ap.add_argument("-o", "--output", default="memory.png")
ap.add_argument("--top", type=int, default=20,
                help="the N mappings with the most memory (default 20)")
ap.add_argument("--each", action="store_true",
                help="one bar per mapping, not per name")
args = ap.parse_args(sys.argv[1:] if "ipykernel" not in sys.modules
                     else [])

# %% [markdown]
# One scan of the whole address space; statistics this kernel cannot
# measure are None.

# %%
with pagescan.open(args.pid) as h:
    s = h.summary()
comm = open("/proc/%d/comm" % args.pid).read().strip()
print("%s (pid %d): %d mappings, rss %.1f MiB, backend %s"
      % (comm, args.pid, len(s), (s.total.rss or 0) / 2**20, s.backend))

# %% [markdown]
# Group the mappings by name (all of libc together), as `pagescan PID
# --group` does, and keep the biggest.

# %%
KINDS = ("anon", "file", "shmem", "huge", "swapped")
rows = defaultdict(lambda: dict.fromkeys(KINDS, 0))
for m in s:
    key = m.label if not args.each else "%s %x" % (m.label, m.start)
    r = rows[key]
    for k in ("anon", "file", "shmem", "swapped"):
        r[k] += getattr(m, k) or 0
    r["huge"] += (m.thp or 0) + (m.hugetlb or 0)
def weight(r: dict) -> int:
    return r["anon"] + r["file"] + r["shmem"] + r["huge"] + r["swapped"]


top = sorted((kv for kv in rows.items() if weight(kv[1])),
             key=lambda kv: -weight(kv[1]))[:args.top]
top.reverse()                   # the biggest at the top of the chart


def short(name: str, width: int = 48) -> str:
    name = name.encode("unicode_escape", "backslashreplace").decode()
    return name if len(name) <= width else "..." + name[-(width - 3):]


# %% [markdown]
# Resident memory stacked (anonymous, file, shmem), then huge pages (THP,
# part of resident; hugetlb, not) and swap as their own bars.

# %%
labels = [short(k) for k, _ in top]
mib = {k: [v[k] / 2**20 for _, v in top] for k in KINDS}
y = range(len(top))
fig, ax = plt.subplots(figsize=(10, 0.38 * len(top) + 1.8))
left = [0.0] * len(top)
for k, colour in (("anon", "#d62728"), ("file", "#1f77b4"),
                  ("shmem", "#9467bd")):
    ax.barh([i + 0.2 for i in y], mib[k], 0.4, left=left, color=colour,
            label="resident: " + k)
    left = [a + b for a, b in zip(left, mib[k])]
ax.barh([i - 0.2 for i in y], mib["huge"], 0.2, color="#2ca02c",
        label="huge pages (thp + hugetlb)")
ax.barh([i - 0.4 for i in y], mib["swapped"], 0.2, color="#7f7f7f",
        label="swapped")
ax.set_yticks(list(y))
ax.set_yticklabels(labels, fontsize=8)
ax.set_xlabel("MiB")
na = ", ".join(sorted(s.unavailable)) or "none"
ax.set_title("%s (pid %d): rss %.1f MiB in %d mappings; n/a here: %s"
             % (comm, args.pid, (s.total.rss or 0) / 2**20, len(s), na),
             fontsize=10)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
fig.savefig(args.output, dpi=100)
print("wrote", args.output)
