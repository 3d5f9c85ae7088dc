# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
# shellcheck shell=sh
# Sourced by the scripts that replay what a newcomer or a distribution
# does (check-install.sh, check-deb.sh); run from the top of the tree.

# copy_tree DEST: what a fresh clone holds (the tracked files, and the new
# ones not ignored, as they are in the work tree) into DEST.
copy_tree() {
	mkdir -p "$1"
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files -z -co --exclude-standard |
			tar --null --ignore-failed-read -T - -cf - 2>/dev/null |
			tar -C "$1" -xf -
	else
		tar --exclude='./build*' -cf - . | tar -C "$1" -xf -
	fi
}

# readme_line REGEX: the first indented command line of README.md that
# matches (a sed regex), without its indentation and its "# comment".
readme_line() {
	sed -n "s/^    \\($1\\)/\\1/p" README.md | sed 's/[ 	]*#.*//' | head -n 1
}
