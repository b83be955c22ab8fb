#!/bin/bash
# map_dates.sh — issue 15's figure: 30 daily maps (`scarp map --date D1..D2/1`, the CNN
# features of a tile computed once for every date) against one map of the same province,
# interleaved pair by pair. Prints wall times and the compute phases (summary.json).
# Usage: bash bench/map_dates.sh [BUILD_DIR=build] [WORK_DIR=/tmp/scarp_map_dates]
# Environment: SIZE=1200x1200 (the kerman preset's 4000x4000 is the size) REPEATS=3
set -euo pipefail
B=$(cd "${1:-build}" && pwd)/scarp
W=${2:-/tmp/scarp_map_dates}
SIZE=${SIZE:-1200x1200}
REPEATS=${REPEATS:-3}
mkdir -p "$W" && cd "$W"
[ -f area/study.ini ] || "$B" synth --preset kerman --size "$SIZE" --events 200 --seed 7 --out area --quiet
sed -i 's/^epochs = .*/epochs = 1/' area/study.ini   # the weights' values do not change the time
[ -f area/run/models/cnn_lstm.model ] || { "$B" prepare area/study.ini --quiet; "$B" train area/study.ini --model cnn_lstm --quiet; }
json() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEATS"); do
  /usr/bin/time -f "one date: %e s wall" "$B" map area/study.ini --model cnn_lstm --date 2019-03-30 --threads 2 --quiet
  echo "  compute $(json area/run/map/summary.json seconds_compute) s"
  /usr/bin/time -f "30 dates: %e s wall" "$B" map area/study.ini --model cnn_lstm --date 2019-03-01..2019-03-30/1 --threads 2 --quiet
  echo "  compute $(json area/run/map/dates/summary.json seconds_compute) s, CNN passes $(json area/run/map/dates/summary.json cnn_passes)"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
done
