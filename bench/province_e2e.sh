#!/usr/bin/env bash
# province_e2e.sh — issue 16's whole-province figure: a synthetic province end to end on
# this machine, every stage as a user runs it, under /usr/bin/time -v (wall time, peak RSS):
#   scarp synth --preset kerman --size WxH   (the generator; its own stage, not the user's)
#   scarp prepare area/study.ini             (stack, samples; [project] memory, default 2G)
#   scarp train   area/study.ini             (the study's models and defaults, tune = auto)
#   scarp evaluate area/study.ini
#   scarp map     area/study.ini             (the whole grid)
# study.ini is the one synth writes, unchanged: the defaults a user gets. The stages after
# synth are what the ≤ 30 min target counts; synth is reported beside them.
#
# Usage: bash bench/province_e2e.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  default build (the Release build holding ./scarp)
#   WORK_DIR   default /tmp/scarp_province_e2e (≈ 90 bytes per cell: 18 GB at 2 × 10⁸ cells)
# Environment:
#   SIZES="14400x14400"  provinces, W×H cells (14400² ≈ 2.0 × 10⁸ valid cells of kerman's shape)
#   THREADS=2            --threads of every stage
#   KEEP=0               1 keeps WORK_DIR
# Results: one Markdown row per stage and size on stdout (progress on stderr).
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/scarp_province_e2e}
BIN=$(cd "$BUILD" && pwd)/scarp
SIZES=${SIZES:-"14400x14400"}
THREADS=${THREADS:-2}
KEEP=${KEEP:-0}
PY=/usr/bin/python3
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[ -x "$BIN" ] || { echo "no $BIN: build first (cmake --build $BUILD)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt install time)" >&2; exit 1; }
mkdir -p "$WORK"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
elapsed() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$1"; }
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.0f", s}' "$1"; }

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| size | stage | wall (s) | CPU (s) | peak RSS (MiB) | load before |"
echo "|---|---|---|---|---|---|"
for SIZE in $SIZES; do
  D=$WORK/$SIZE
  rm -rf "$D"
  mkdir -p "$D"
  total=0
  stage() { # name, command...
    local name=$1; shift
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    log "$SIZE: $name"
    if ! /usr/bin/time -v -o "$D/time_$name.txt" "$@" > "$D/log_$name.txt" 2>&1; then
      tail -5 "$D/log_$name.txt" >&2
      echo "$SIZE: $name failed (log: $D/log_$name.txt)" >&2
      exit 1
    fi
    local e; e=$(elapsed "$D/time_$name.txt")
    echo "| $SIZE | $name | $e | $(cpu_s "$D/time_$name.txt") | $(rss_mib "$D/time_$name.txt") | $load |"
    [ "$name" = synth ] || total=$(awk -v a="$total" -v b="$e" 'BEGIN {print a + b}')
  }
  stage synth "$BIN" synth --preset kerman --size "$SIZE" --seed 42 --out "$D/area"
  stage prepare "$BIN" prepare "$D/area/study.ini" --threads "$THREADS"
  stage train "$BIN" train "$D/area/study.ini" --threads "$THREADS"
  stage evaluate "$BIN" evaluate "$D/area/study.ini" --threads "$THREADS"
  stage map "$BIN" map "$D/area/study.ini" --threads "$THREADS"
  cells=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["valid_cells"])' "$D/area/run/map/summary.json")
  echo "| $SIZE | prepare + train + evaluate + map | $total | | | valid cells: $cells |"
done
[ "$KEEP" = 1 ] || rm -rf "$WORK"
