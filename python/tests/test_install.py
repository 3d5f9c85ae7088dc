# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The README's install command, offline, in a fresh venv."""

import os
import shutil
import subprocess
import sys

from conftest import REPO


def test_pip_install_offline(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "python", src / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                  "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    r = subprocess.run([str(venv / "bin" / "pip"), "install",
                        "--no-build-isolation", "./python"], cwd=src,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import pagescan, sys\n"
                        "print(pagescan.__file__)\n"
                        "with pagescan.open() as h:\n"
                        "    print(len(h.regions_array("
                        "require='present')))\n"],
                       cwd="/", env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    where, n = r.stdout.split()
    assert where.startswith(str(venv))
    assert int(n) > 0
    assert list(venv.glob("lib/python3*/site-packages/pagescan/py.typed"))
