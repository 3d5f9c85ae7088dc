#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# Description: the SVG of "pagescan map --svg" loads in a real browser
# (headless Chromium, Debian's package): as an <img> it fires onload with
# its size, not onerror, and it screenshots to a PNG.  Skips when
# chromium is not installed (.ci/run installs it).  PAGESCAN_SVG_PNG=FILE
# keeps the screenshot for a person to look at.
. "$(dirname "$0")/clilib.bash" || exit 99

command -v chromium >/dev/null || t_skip "chromium not installed"

swap=
[ "$(id -u)" = 0 ] && swap=--swap
start_layout $swap
run svg 0 "$PS" map "$TPID" --svg "$T_TMP/map.svg" --no-color
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
	"$T_TMP/map.svg" || t_fail "the SVG is not well-formed XML"
read -r W H < <(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); print(r.get("width"), r.get("height"))' \
	"$T_TMP/map.svg")

cat > "$T_TMP/load.html" <<EOF2
<!DOCTYPE html>
<html><body><img id="i" src="map.svg"><script>
var i = document.getElementById("i");
function done(s) {
	var p = document.createElement("p");
	p.id = "result"; p.textContent = s; document.body.appendChild(p);
}
i.onload = function() { done("LOADED " + i.naturalWidth + "x" + i.naturalHeight); };
i.onerror = function() { done("ERROR"); };
</script></body></html>
EOF2

chrome() {
	local dir
	dir=$(mktemp -d "$T_TMP/chrome.XXXXXX")
	HOME=$dir timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$dir" "$@" 2>>"$T_TMP/chrome.err"
}

chrome --virtual-time-budget=5000 --allow-file-access-from-files \
	--dump-dom "file://$T_TMP/load.html" > "$T_TMP/dom.html"
if grep -q "LOADED ${W}x${H}" "$T_TMP/dom.html"; then
	echo "chromium: the SVG loaded as an image, ${W}x${H}"
else
	t_fail "chromium did not load the SVG: $(grep -o '<p id="result">[^<]*' \
		"$T_TMP/dom.html" || echo 'no result'); $(tail -n 3 "$T_TMP/chrome.err")"
fi

chrome --screenshot="$T_TMP/map.png" --window-size="$W,$H" \
	"file://$T_TMP/map.svg" >/dev/null
if [ "$(head -c 4 "$T_TMP/map.png" 2>/dev/null | od -An -c | tr -d ' ')" != \
	'211PNG' ]; then
	t_fail "no PNG screenshot: $(tail -n 3 "$T_TMP/chrome.err")"
else
	echo "screenshot: $(stat -c %s "$T_TMP/map.png") bytes"
	[ -n "${PAGESCAN_SVG_PNG:-}" ] && cp "$T_TMP/map.png" "$PAGESCAN_SVG_PNG"
fi
t_done
