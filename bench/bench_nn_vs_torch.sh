#!/usr/bin/env bash
# bench_nn_vs_torch.sh — issue 4 figures: scarp's cnn_lstm against the PyTorch peer
# (../shared/peers/torch_cnn_lstm.py, relative to the repository root) on the SAME data (the peer's make_data, dumped by
# bench/nn_peer_data.py), scarp and peer runs interleaved so that both see the same load.
#   MODE=cpu  (default) 1 thread, a few epochs, PROCESS CPU-SECONDS per epoch and samples per
#             CPU-second: robust when other jobs share the cores (wall time is not: OpenMP
#             threads spin-wait for descheduled partners on an oversubscribed machine).
#   MODE=full the issue's wall-clock protocol: 50 epochs, 2 threads, batch-4096 inference
#             (needs a quiet machine; ~2 min per scarp+peer pair).
# Usage: bash bench/bench_nn_vs_torch.sh BUILD_DIR [RUNS=3] [PEERS_DIR=../shared/peers from the repository root]
set -eu
BUILD=${1:?usage: bench_nn_vs_torch.sh BUILD_DIR [RUNS] [PEERS_DIR]}
RUNS=${2:-3}
PEERS=${3:-$(cd "$(dirname "$0")/.." && pwd)/../shared/peers}
MODE=${MODE:-cpu}
EPOCHS=${EPOCHS:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=/tmp/scarp_bench_nn
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[ -f "$OUT/peer_data.bin" ] || /usr/bin/python3 "$HERE/nn_peer_data.py" "$OUT/peer_data.bin" "$PEERS"
for r in $(seq 1 "$RUNS"); do
  echo "== run $r  (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "$MODE" = full ]; then
    "$BUILD/bench/bench_nn" train "$OUT/peer_data.bin" --threads 2 --select val_loss | grep -E "^TRAIN|^BEST"
    "$BUILD/bench/bench_nn" infer --threads 2 | grep -E "^INFER"
    /usr/bin/python3 "$PEERS/torch_cnn_lstm.py" --epochs 50 --threads 2 --infer-batches 6 2>&1 | grep -E "^TRAIN|^BEST|^INFER"
  else
    "$BUILD/bench/bench_nn" train "$OUT/peer_data.bin" --threads 1 --epochs "$EPOCHS" | grep -E "^TRAIN"
    "$BUILD/bench/bench_nn" infer --threads 1 --batch 2048 --batches 1 | grep -E "^INFER"
    /usr/bin/python3 "$HERE/nn_peer_cputime.py" "$EPOCHS" "$PEERS" | grep -E "^TORCH"
  fi
done
"$BUILD/bench/bench_nn" kernels --threads 1
