#!/usr/bin/env bash
# fault_kill.sh — kill -9 in the middle of `scarp synth`, `scarp train` and `scarp map`
# leaves no file under a final name that looks complete but is not (every final-named
# file must read to its end: rasters, vectors, JSON, PNG, model/dataset CRCs), and a
# rerun of the same command finishes and gives the same result as an uninterrupted run.
# Small inputs (synth 192 x 192, 3 epochs) keep it quick in the sanitizer build too.
# usage: fault_kill.sh SCARP [SHARED_DATA]
set -u
SCARP=${1:?usage: fault_kill.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-fault-kill.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/fault_lib.bash"
export OMP_NUM_THREADS=2
SIZE=192x192 EVENTS=40

# ---- synth ----------------------------------------------------------------------------
if placeholder synth; then
  skip "synth is still a placeholder"
else
  "$SCARP" synth --out "$T/clean" --size $SIZE --events $EVENTS --quiet || fail "synth (uninterrupted) failed"
  # kill at several points of the run: after the first file, after half the files, late
  total=$(ls "$T/clean" | wc -l)
  killed_any=0
  for k in 1 $((total / 2)) $((total - 2)); do
    rm -rf "$T/area"
    run_and_kill "$T/synth.log" "[ \$(ls '$T/area' 2>/dev/null | wc -l) -ge $k ]" 60 -- \
      "$SCARP" synth --out "$T/area" --size $SIZE --events $EVENTS --threads 1
    [ $KILLED = 1 ] && killed_any=1
    if check_complete "$T/area"; then ok "synth killed after >= $k of $total files: no complete-looking partial output"
    else fail "synth killed after >= $k files left a truncated file under its final name"; fi
  done
  [ $killed_any = 1 ] || skip "synth always finished before the kill (machine too fast): kill part not exercised"
  # the rerun over the killed folder finishes and equals the clean run
  "$SCARP" synth --out "$T/area" --size $SIZE --events $EVENTS --quiet || fail "synth rerun after kill -9 failed"
  for f in $(cd "$T/clean" && ls); do
    case $f in *.gpkg) continue ;; esac  # GeoPackages embed timestamps
    cmp -s "$T/clean/$f" "$T/area/$f" || fail "synth rerun: $f differs from the uninterrupted run"
  done
  left=$(find "$T/area" -name '*.partial' | wc -l)
  [ "$left" = 0 ] || fail "synth rerun left $left .partial files"
  ok "synth rerun after kill -9 equals the uninterrupted run"
fi

# ---- train ----------------------------------------------------------------------------
if placeholder train || placeholder prepare; then
  skip "train or prepare is still a placeholder"
elif [ ! -f "$T/clean/study.ini" ]; then
  skip "train: no synthetic area"
else
  sed -i 's/^epochs *=.*/epochs = 3/' "$T/clean/study.ini"
  "$SCARP" prepare "$T/clean/study.ini" --quiet >/dev/null || fail "prepare failed"
  cp -r "$T/clean/run" "$T/run_base"
  run_and_kill "$T/train.log" "grep -q 'training' '$T/train.log'" 120 -- \
    "$SCARP" train "$T/clean/study.ini" --model cnn_lstm --threads 1
  if [ $KILLED = 1 ]; then
    if check_complete "$T/clean/run"; then ok "train killed mid-epoch: no complete-looking model file"
    else fail "train killed mid-run left a truncated file under its final name"; fi
    if [ -f "$T/clean/run/models/cnn_lstm.model" ]; then fail "train killed mid-run: models/cnn_lstm.model exists"; fi
  else
    skip "train finished before the kill"
  fi
  "$SCARP" train "$T/clean/study.ini" --model cnn_lstm --quiet >/dev/null 2>"$T/train2.err" || fail "train rerun failed: $(cat "$T/train2.err")"
  "$SCARP" info "$T/clean/run/models/cnn_lstm.model" >/dev/null || fail "train rerun: model not readable"
  # an uninterrupted training from the same prepared data gives the same model bytes
  mkdir -p "$T/fresh" && cp -r "$T/run_base" "$T/fresh/run"
  "$SCARP" train "$T/clean/study.ini" --model cnn_lstm --out "$T/fresh/run" --quiet >/dev/null 2>&1 || fail "fresh train failed"
  cmp -s "$T/fresh/run/models/cnn_lstm.model" "$T/clean/run/models/cnn_lstm.model" \
    && ok "train rerun after kill -9 gives the same model as an uninterrupted run" \
    || fail "train rerun after kill -9: model differs from an uninterrupted run"
fi

# ---- map ------------------------------------------------------------------------------
if placeholder map; then
  skip "map is still a placeholder"
elif [ ! -f "$T/clean/run/models/cnn_lstm.model" ]; then
  skip "map: no trained model"
else
  cp -r "$T/clean/run" "$T/run_map2"
  "$SCARP" map "$T/clean/study.ini" --model cnn_lstm --out "$T/run_map2" --tile 32 --quiet >/dev/null 2>&1 || fail "map (uninterrupted) failed"
  J="$T/clean/run/map/tiles"
  run_and_kill "$T/map.log" "[ \$(find '$J' -type f 2>/dev/null | wc -l) -ge 6 ]" 120 -- \
    "$SCARP" map "$T/clean/study.ini" --model cnn_lstm --tile 32 --threads 1
  if [ $KILLED = 1 ]; then
    if check_complete "$T/clean/run"; then ok "map killed mid-run: no complete-looking map file"
    else fail "map killed mid-run left a truncated file under its final name"; fi
    [ -e "$T/clean/run/map/susceptibility.tif" ] && fail "map killed mid-run: susceptibility.tif exists"
  else
    skip "map finished before the kill"
  fi
  "$SCARP" map "$T/clean/study.ini" --model cnn_lstm --tile 32 >"$T/map2.log" 2>&1 || fail "map rerun failed: $(tail -2 "$T/map2.log")"
  for f in susceptibility.tif classes.tif; do
    same_pixels "$T/run_map2/map/$f" "$T/clean/run/map/$f" && ok "map rerun: $f equals the uninterrupted run" \
      || fail "map rerun after kill -9: $f differs from the uninterrupted run"
  done
  check_complete "$T/clean/run" || fail "map rerun: an output is incomplete"
fi
[ $fails = 0 ] && echo "fault_kill: all passed" || echo "fault_kill: $fails failure(s)"
exit $((fails > 0))
