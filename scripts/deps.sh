#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# Install what the build and the test lanes need on a fresh Debian 12, if it
# is missing.  Needs root (apt-get); without root it only says what lacks.
#   scripts/deps.sh [build|test]   (default: test, which includes build)
set -eu
what=${1:-test}
pkgs="gcc make"
if [ "$what" = test ]; then
	# bc, setpriv (util-linux): the runner; python3: JSON and SVG checks;
	# libxml2-utils: xmllint, the SVG of hostile names (cli-hostile.sh);
	# qemu, busybox-static, cpio: the VM lane; chromium: the SVG render
	# test; e2fsprogs: mkswap/filesystems in tests; python3-*: the
	# Python package's tests (pytest, numpy, matplotlib for the example;
	# venv, setuptools and wheel for its offline pip install).
	pkgs="$pkgs bc util-linux python3 qemu-system-x86 busybox-static cpio \
		bash-static chromium e2fsprogs libxml2-utils"
	# The static lane: the header with both compilers, the README's
	# pkg-config line, the man pages (man --warnings, lexgrog, mandoc).
	pkgs="$pkgs g++ clang pkg-config man-db groff-base mandoc"
	# The deb lane: dpkg-buildpackage, debian/control's Build-Depends,
	# lintian.
	pkgs="$pkgs dpkg-dev build-essential debhelper pkgconf lintian"
	pkgs="$pkgs python3-pytest python3-numpy python3-matplotlib \
		python3-venv python3-setuptools python3-wheel"
	# python3-pagescan's build (debian/rules: pybuild).
	pkgs="$pkgs dh-python pybuild-plugin-pyproject python3-all"
	# pagescan export/serve against the real consumers (tests/cli-export.sh,
	# tests/cli-serve.sh): promtool and prometheus, node_exporter's
	# textfile collector, curl; systemd-analyze for the unit in contrib/
	# and strace for its system call filter (tests/cli-systemd.sh).
	pkgs="$pkgs prometheus prometheus-node-exporter curl systemd strace"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
