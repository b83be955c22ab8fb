#!/usr/bin/env bash
# qgis_cancel.sh — Cancel in the Processing dialog stops scarp cleanly: the scarp:run
# algorithm (PyQGIS, the Processing framework, the feedback's cancel) is cancelled once
# during training and once in the middle of the map; each time the algorithm ends with
# the cancel error within seconds, scarp has exited (its run-folder lock is free), no file
# under a final name is incomplete (tests/cli/fault_lib.bash: check_complete) and the
# stage's final outputs do not exist; then qgis_process runs the same study to the end,
# reusing what was finished. usage: qgis_cancel.sh SCARP
set -u
SCARP=${1:?usage: qgis_cancel.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-qgis-cancel.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../cli/fault_lib.bash"   # check_complete
. "$(dirname "$0")/qgis_lib.bash"
export OMP_NUM_THREADS=2
HERE=$(cd "$(dirname "$0")" && pwd)

M=$T/mini
"$SCARP" synth --preset mini --out "$M" --quiet || { fail "synth"; finish; }
# one network, few epochs, small map tiles (fine-grained map progress): quick, and
# long enough in each stage to cancel inside it
sed -i -e 's/^epochs = .*/epochs = 6\nmodels = cnn_lstm\ntune = none/' -e 's/^\[map\]/[map]\ntile = 64/' "$M/study.ini"
R=$T/run

lock_free() { "$PY" -c 'import fcntl, sys; f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)' "$R/.scarp.lock" 2>/dev/null; }

# stage train: the bar is past the prepare span (15 %) once training reports progress
for point in "train 16" "map 72"; do
  set -- $point
  "$PY" "$HERE/qgis_cancel.py" "$M/study.ini" "$R" "$1" "$2" > "$T/cancel_$1.log" 2>&1
  rc=$?
  grep -E "cancelling at|returned|message" "$T/cancel_$1.log"
  [ $rc = 0 ] && ok "cancel in $1: the algorithm ends with the cancel error" ||
    { fail "cancel in $1 (exit $rc)"; tail -15 "$T/cancel_$1.log"; }
  secs=$(sed -n 's/.*returned \([0-9.]*\) s after cancel/\1/p' "$T/cancel_$1.log")
  "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 10 else 1)" "${secs:-99}" &&
    ok "cancel in $1: returned ${secs} s after cancel (SIGTERM, wait)" || fail "cancel in $1: took ${secs:-?} s"
  lock_free && ok "cancel in $1: scarp has exited (run-folder lock free)" || fail "cancel in $1: scarp still holds the lock"
  check_complete "$R" && ok "cancel in $1: no incomplete file under a final name" || fail "cancel in $1: incomplete final file"
  if [ "$1" = train ]; then
    [ ! -e "$R/models/cnn_lstm.model" ] && ok "cancel in train: no model file under its final name" ||
      fail "cancel in train: models/cnn_lstm.model exists"
  fi
  echo "  left under temporary names: $(find "$R" -name '*.partial' | wc -l) .partial file(s)"
done
[ ! -e "$R/map/classes.tif" ] && [ ! -e "$R/map/susceptibility.tif" ] && [ ! -e "$R/report.html" ] &&
  ok "no map and no report under their final names after the cancels" || fail "final map or report after a cancel"
[ -e "$R/models/cnn_lstm.model" ] && ok "the model trained between the cancels is kept" || fail "no model after the second run"

# the same study through qgis_process, to the end: finished stages are reused
"$QGIS_PROCESS" run scarp:run -- STUDY="$M/study.ini" OUT="$R" > "$T/rerun.log" 2>&1
rc=$?
[ $rc = 0 ] && [ -s "$R/map/classes.tif" ] && [ -s "$R/report.html" ] && ok "rerun after the cancels finishes (map, report)" ||
  { fail "rerun after cancel: exit $rc"; tail -15 "$T/rerun.log"; }
grep -q "== prepare: unchanged" "$T/rerun.log" && grep -q "== train cnn_lstm: unchanged" "$T/rerun.log" &&
  ok "the rerun reused prepare and the trained model" || fail "the rerun redid finished stages"
check_complete "$R" && ok "every final file of the finished run is whole" || fail "incomplete final file after the rerun"
finish
