#!/bin/bash
# bench_classic.sh — baselines vs scikit-learn on the same data, interleaved so that load
# from other processes hits both alike: ROUNDS × (sklearn fit + RF predict_proba on 1e6
# rows, then scarp's bench_classic). Usage: bench/bench_classic.sh BUILD_DIR [ROUNDS=3] [ROWS=1000000]
set -eu
BUILD=${1:?usage: bench_classic.sh BUILD_DIR [ROUNDS] [ROWS]}
ROUNDS=${2:-3}
ROWS=${3:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(mktemp /tmp/scarp_bench_classic.XXXXXX.bin)
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
/usr/bin/python3 "$HERE/bench_classic_sklearn.py" --write "$DATA" --rows "$ROWS"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r"
  /usr/bin/python3 "$HERE/bench_classic_sklearn.py" --bench "$DATA"
  "$BUILD/bench/bench_classic" "$DATA" 1 2
done
rm -f "$DATA"
