#!/bin/bash
# map_dates.sh — issue 15's figure: 30 daily maps (`scarp map --date D1..D2/1`, the CNN
# features of a tile computed once for every date) against one map of the same province,
# interleaved pair by pair. Prints wall and CPU (user + sys) times, the compute phase
# (summary.json) and, for the dates, how much of the head the sign-settled path skipped.
# Usage: bash bench/map_dates.sh [BUILD_DIR=build] [WORK_DIR=/tmp/scarp_map_dates]
# Environment: SIZE=1200x1200 (the kerman preset's 4000x4000 is the size) REPEATS=3
#   OLD=path/to/an/older/scarp: each pair is also run with that binary, interleaved, so that
#   before and after see the same load (the area and model are the same files).
set -euo pipefail
B=$(cd "${1:-build}" && pwd)/scarp
W=${2:-/tmp/scarp_map_dates}
SIZE=${SIZE:-1200x1200}
REPEATS=${REPEATS:-3}
OLD=${OLD:-}
mkdir -p "$W" && cd "$W"
[ -f area/study.ini ] || "$B" synth --preset kerman --size "$SIZE" --events 200 --seed 7 --out area --quiet
sed -i 's/^epochs = .*/epochs = 1/' area/study.ini   # 1 epoch: the settled share depends on the weights (reported)
[ -f area/run/models/cnn_lstm.model ] || { "$B" prepare area/study.ini --quiet; "$B" train area/study.ini --model cnn_lstm --quiet; }
json() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], "-"))' "$1" "$2"; }
run() { # label binary date
  /usr/bin/time -f "$1: %e s wall, %U + %S s CPU" "$2" map area/study.ini --model cnn_lstm --date "$3" --threads 2 --quiet
}
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEATS"); do
  for bin in "$B" ${OLD:+"$OLD"}; do
    tag=$([ "$bin" = "$B" ] && echo new || echo old)
    run "$tag one date" "$bin" 2019-03-30
    echo "  compute $(json area/run/map/summary.json seconds_compute) s"
    run "$tag 30 dates" "$bin" 2019-03-01..2019-03-30/1
    s=area/run/map/dates/summary.json
    echo "  compute $(json $s seconds_compute) s, CNN passes $(json $s cnn_passes), head units settled $(json $s head_units_settled_share), per date $(json $s head_units_per_date_share), layer 2 settled $(json $s head_layer2_settled_share)"
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
