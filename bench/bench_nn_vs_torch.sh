#!/usr/bin/env bash
# bench_nn_vs_torch.sh — issue 4 figures: scarp's cnn_lstm against the PyTorch peer
# (/work/shared/peers/torch_cnn_lstm.py) on the SAME data (the peer's make_data, dumped by
# bench/nn_peer_data.py), runs interleaved so that both see the same machine load.
# Usage: bash bench/bench_nn_vs_torch.sh BUILD_DIR [RUNS=3] [PEERS_DIR=/work/shared/peers]
# Output: /tmp/scarp_bench_nn/{scarp_train,scarp_infer,torch}_N.log and a summary on stdout.
set -eu
BUILD=${1:?usage: bench_nn_vs_torch.sh BUILD_DIR [RUNS] [PEERS_DIR]}
RUNS=${2:-3}
PEERS=${3:-/work/shared/peers}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=/tmp/scarp_bench_nn
mkdir -p "$OUT"
[ -f "$OUT/peer_data.bin" ] || /usr/bin/python3 "$HERE/nn_peer_data.py" "$OUT/peer_data.bin" "$PEERS"
for r in $(seq 1 "$RUNS"); do
  echo "== run $r  (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BUILD/bench/bench_nn" train "$OUT/peer_data.bin" --threads 2 --select val_loss > "$OUT/scarp_train_$r.log"
  grep -E "^TRAIN|^BEST" "$OUT/scarp_train_$r.log"
  "$BUILD/bench/bench_nn" infer --threads 2 > "$OUT/scarp_infer_$r.log"
  grep -E "^INFER" "$OUT/scarp_infer_$r.log"
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 "$PEERS/torch_cnn_lstm.py" \
    --epochs 50 --threads 2 --infer-batches 6 > "$OUT/torch_$r.log" 2>&1
  grep -E "^TRAIN|^BEST|^INFER" "$OUT/torch_$r.log"
done
"$BUILD/bench/bench_nn" kernels --threads 2
