#!/usr/bin/env bash
# qgis_dialog.sh — the Processing dialog of scarp:run opens in real QGIS under Xvfb with
# the study's layers picked from the project, and its screenshot (qgis/tools/
# dialog_screenshot.py, the script that made docs/img/qgis_dialog.png) is not blank: the
# requested size, many distinct colours (widgets, text, the layer icon), and the title
# region of the help panel ("Whole study (run)" in bold) holds dark text pixels on the
# light panel, not one uniform colour. usage: qgis_dialog.sh SCARP
set -u
SCARP=${1:?usage: qgis_dialog.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-qgis-dialog.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/qgis_lib.bash"
if ! command -v xvfb-run > /dev/null 2>&1; then
  echo "SKIPPED: xvfb-run not found — the QGIS dialog test did NOT run (scripts/setup --qgis installs xvfb)"
  exit 77
fi
unset QT_QPA_PLATFORM   # a real X server (Xvfb) this time

"$SCARP" synth --preset mini --size 128x128 --events 20 --out "$T/area" --quiet || fail "synth"
xvfb-run -a -s "-screen 0 1280x1024x24" "$PY" "$REPO/qgis/tools/dialog_screenshot.py" "$T/dialog.png" scarp:run \
  960x600 "$T/area" > "$T/shot.log" 2>&1
rc=$?
cat "$T/shot.log" | grep -v XDG_RUNTIME
[ $rc = 0 ] && [ -s "$T/dialog.png" ] && ok "the dialog opened and was grabbed" || { fail "screenshot script exit $rc"; finish; }
grep -q "window title 'Whole study (run)'" "$T/shot.log" && ok "the dialog is scarp:run's" || fail "wrong dialog title"
"$PY" - "$T/dialog.png" <<'PYEOF' && ok "the screenshot is not blank" || fail "blank-looking screenshot (above)"
import sys
from qgis.PyQt.QtGui import QImage
img = QImage(sys.argv[1])
w, h = img.width(), img.height()
bad = []
if (w, h) != (960, 600): bad.append("size %dx%d, not 960x600" % (w, h))
colours = {img.pixel(x, y) for y in range(0, h) for x in range(0, w)}
# the help panel's title: the right quarter of the dialog, its top 50 rows
region = [QImage.pixel(img, x, y) for y in range(5, 50) for x in range(int(w * 0.73), w - 5)]
def lum(p): return (((p >> 16) & 255) * 299 + ((p >> 8) & 255) * 587 + (p & 255) * 114) / 1000
dark = sum(lum(p) < 128 for p in region) / len(region)
print("  %d distinct colours; title region: %d colours, %.1f %% dark (text) pixels" % (len(colours), len(set(region)), 100 * dark))
if len(colours) < 50: bad.append("only %d distinct colours" % len(colours))
if len(set(region)) < 3 or not (0.01 < dark < 0.5): bad.append("the title region is uniform (no title text)")
for b in bad: print("  " + b)
sys.exit(1 if bad else 0)
PYEOF
finish
