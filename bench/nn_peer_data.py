#!/usr/bin/python3
"""Dumps the PyTorch peer's synthetic CNN-LSTM data set (make_data of
../shared/peers/torch_cnn_lstm.py (relative to the repository root), seed 42: 1006 train + 216 val, 22 x 22 x 22 patches,
30 x 2 sequences) to one binary file, so that bench_nn trains on exactly the peer's data.
Format: i32 n, C, H, W, N, T, n_train; then f32 patches (n,C,H,W), seq (n,N,T), labels (n).
Usage: /usr/bin/python3 bench/nn_peer_data.py OUT.bin [PEERS_DIR]"""
import struct
import os
import sys

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers")  # ../shared/peers
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else PEERS)
import torch_cnn_lstm as peer  # noqa: E402

X, S, y = peer.make_data()
n = X.shape[0]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<7i", n, peer.C, peer.P, peer.P, peer.T, peer.V, peer.N_TRAIN))
    for a in (X, S, y):
        f.write(a.astype("<f4").tobytes())
print(f"wrote {sys.argv[1]}: {n} samples, positive rate {y.mean():.3f}")
