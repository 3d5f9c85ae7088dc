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
	# qemu, busybox-static, cpio: the VM lane; chromium: the SVG render
	# test; e2fsprogs: mkswap/filesystems in tests.
	pkgs="$pkgs bc util-linux python3 qemu-system-x86 busybox-static cpio \
		bash-static chromium e2fsprogs"
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
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
