#!/usr/bin/env bash
# map_province.sh — issue 7's end-to-end figures: the real pipeline on a synthetic province
# of ≥ 50 M cells, `scarp synth` → `scarp prepare` → `scarp train --model cnn_lstm` (1
# epoch in a copy of study.ini: throughput does not depend on the weights' values) →
# `scarp map` with THREADS threads under /usr/bin/time -v: cells/s of the compute phase
# (summary.json) and of the whole command (grid cells / wall), dense GFLOP/s, peak RSS.
# The same at a second size shows peak RSS does not grow with the raster. The PyTorch peer
# (bench/map_torch.py: the same trained model loaded from the model file, patch by patch
# in batches of 4096 and as one dense à-trous pass over a 512 tile) runs in the same
# session, interleaved with the scarp runs (map, peer, map, peer, ...).
#
# Usage: bash bench/map_province.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  default build (the Release build holding ./scarp)
#   WORK_DIR   default /tmp/scarp_map_province (needs ≈ 100 bytes per cell: 6.5 GB at 8000²)
# Environment:
#   SIZES="8000x8000 4000x4000"  provinces (W×H cells); the first is the headline
#   REPEATS=3      map runs per size (median reported; each followed by one peer run)
#   THREADS=2      threads of scarp map and of the peer
#   TILE=512       [map] tile
#   PEER=1         0 skips the PyTorch peer
#   PEER_BATCHES=3 timed batches of 4096 patches per peer run
#   KEEP=0         1 keeps WORK_DIR (a rerun reuses provinces whose study.ini exists)
# The synth of 8000² takes several minutes, prepare + train about a minute, each map a few
# minutes on 2 quiet cores. Results: a Markdown table on stdout (progress on stderr).
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/scarp_map_province}
BIN=$(cd "$BUILD" && pwd)/scarp
HERE=$(cd "$(dirname "$0")" && pwd)
SIZES=${SIZES:-"8000x8000 4000x4000"}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
TILE=${TILE:-512}
PEER=${PEER:-1}
PEER_BATCHES=${PEER_BATCHES:-3}
KEEP=${KEEP:-0}
PY=/usr/bin/python3
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[ -x "$BIN" ] || { echo "no $BIN: build first (cmake --build $BUILD)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt install time)" >&2; exit 1; }
mkdir -p "$WORK"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
elapsed() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$1"; }
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
json() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=()
PEER_ROWS=()
KERMAN=""
fmt_runs() { printf '%s\n' "$@" | awk '{printf "%s%.0f", (NR>1?" / ":""), $1}'; }
for SIZE in $SIZES; do
  D=$WORK/$SIZE
  W=${SIZE%x*}
  H=${SIZE#*x}
  CELLS=$((W * H))
  if [ ! -f "$D/area/study.ini" ]; then
    rm -rf "$D"
    log "$SIZE: scarp synth ($CELLS cells)"
    /usr/bin/time -v "$BIN" synth --size "$SIZE" --out "$D/area" --threads "$THREADS" --quiet 2> "$D.synth.time" ||
      { cat "$D.synth.time" >&2; exit 1; }
    log "$SIZE: synth took $(elapsed "$D.synth.time") s, peak $(rss_mib "$D.synth.time") MiB"
  fi
  # a copy of study.ini with one epoch (same folder: its relative paths still hold)
  INI=$D/area/study_bench.ini
  awk '/^\[/ {sec=$0} sec=="[model]" && /^[ \t]*epochs[ \t]*=/ {next} {print} $0=="[model]" {print "epochs = 1"}' \
    "$D/area/study.ini" > "$INI"
  grep -q '^\[model\]' "$INI" || printf '\n[model]\nepochs = 1\n' >> "$INI"
  MODEL=$D/area/run/models/cnn_lstm.model
  if [ ! -f "$MODEL" ]; then
    log "$SIZE: scarp prepare"
    /usr/bin/time -v "$BIN" prepare "$INI" --threads "$THREADS" --quiet 2> "$D.prepare.time" ||
      { cat "$D.prepare.time" >&2; exit 1; }
    log "$SIZE: prepare took $(elapsed "$D.prepare.time") s; scarp train --model cnn_lstm (1 epoch)"
    "$BIN" train "$INI" --model cnn_lstm --threads "$THREADS" --quiet || exit 1
  fi
  WALL=() CPS=() GFS=() RSS=() COMP=() PEER_PP=() PEER_DN=()
  for r in $(seq "$REPEATS"); do
    log "$SIZE: scarp map, run $r of $REPEATS (load $(cut -d' ' -f1 /proc/loadavg))"
    /usr/bin/time -v "$BIN" map "$INI" --model cnn_lstm --threads "$THREADS" --tile "$TILE" --quiet 2> "$D.map.time" ||
      { cat "$D.map.time" >&2; exit 1; }
    S=$D/area/run/map/summary.json
    WALL+=("$(elapsed "$D.map.time")")
    RSS+=("$(rss_mib "$D.map.time")")
    CPS+=("$(json "$S" cells_per_second)")
    GFS+=("$(json "$S" dense_gflops_per_second)")
    COMP+=("$(json "$S" seconds_compute)")
    log "$SIZE: wall ${WALL[-1]} s, compute ${COMP[-1]} s, ${CPS[-1]} cells/s, ${GFS[-1]} GFLOP/s, peak ${RSS[-1]} MiB"
    if [ "$PEER" = 1 ]; then
      log "$SIZE: PyTorch peer (same model file)"
      out=$("$PY" "$HERE/map_torch.py" --model "$MODEL" --threads "$THREADS" --batches "$PEER_BATCHES" --tile 512)
      echo "$out" | head -1 >&2
      PEER_PP+=("$(echo "$out" | sed -n 's/.*patch_cells_per_s=\([0-9.]*\).*/\1/p')")
      PEER_DN+=("$(echo "$out" | sed -n 's/.*dense_cells_per_s=\([0-9.]*\).*/\1/p')")
    fi
  done
  mw=$(printf '%s\n' "${WALL[@]}" | median)
  mc=$(printf '%s\n' "${CPS[@]}" | median)
  mg=$(printf '%s\n' "${GFS[@]}" | median)
  mr=$(printf '%s\n' "${RSS[@]}" | median)
  whole=$(awk -v c="$CELLS" -v w="$mw" 'BEGIN {printf "%.0f", c / w}')
  ROWS+=("| $SIZE | $CELLS | $REPEATS | $(printf '%.0f' "$mc") ($(fmt_runs "${CPS[@]}")) | $whole | $mw | $(printf '%.1f' "$mg") | $mr ($(fmt_runs "${RSS[@]}")) |")
  if [ "${#PEER_PP[@]}" -gt 0 ]; then
    pp=$(printf '%s\n' "${PEER_PP[@]}" | median)
    dn=$(printf '%s\n' "${PEER_DN[@]}" | median)
    PEER_ROWS+=("| $SIZE | $(printf '%.0f' "$pp") ($(fmt_runs "${PEER_PP[@]}")) | $(awk -v a="$mc" -v b="$pp" 'BEGIN {printf "%.0f×", a / b}') | $(printf '%.0f' "$dn") ($(fmt_runs "${PEER_DN[@]}")) | $(awk -v a="$mc" -v b="$dn" 'BEGIN {printf "%.1f×", a / b}') |")
    [ -n "$KERMAN" ] || KERMAN="PyTorch patch by patch at the $SIZE-run rate: $(awk -v b="$pp" 'BEGIN {printf "%.1f h", 2e8 / b / 3600}')"
  fi
  [ -n "${HEAD_CPS:-}" ] || { HEAD_CPS=$mc; HEAD_SIZE=$SIZE; HEAD_WHOLE=$whole; }
  [ "$KEEP" = 1 ] || rm -rf "$D/area/run/map"
done

echo
echo "scarp map, $THREADS threads, tile $TILE, model cnn_lstm; machine: $(nproc) cores, load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| province | cells | runs | compute cells/s, median (runs) | whole-command cells/s | wall (s) | dense GFLOP/s | peak RSS MiB, median (runs) |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [ "${#PEER_ROWS[@]}" -gt 0 ]; then
  echo
  echo "PyTorch peer (bench/map_torch.py, $THREADS threads, the same cnn_lstm model file), one run after each map run:"
  echo
  echo "| interleaved with | patch by patch (batches of 4096, full model) cells/s, median (runs) | scarp compute / peer | dense à trous (one 512 tile) cells/s, median (runs) | scarp compute / peer |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${PEER_ROWS[@]}"
fi
echo
echo "Kerman Province (2 × 10⁸ cells) extrapolated from $HEAD_SIZE: compute $(awk -v c="$HEAD_CPS" 'BEGIN {printf "%.1f min", 2e8 / c / 60}'), whole command $(awk -v c="$HEAD_WHOLE" 'BEGIN {printf "%.1f min", 2e8 / c / 60}')${KERMAN:+; $KERMAN}"
[ "$KEEP" = 1 ] || rm -rf "$WORK"
