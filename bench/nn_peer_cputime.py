#!/usr/bin/python3
"""CPU-time cost of the PyTorch peer's training, independent of machine load: trains the
peer's CNNLSTM (../shared/peers/torch_cnn_lstm.py (relative to the repository root), unchanged) for a few epochs on its own
data with 1 thread and prints process CPU seconds per epoch (time.process_time), and the
same for 2048-sample inference batches. Compare with `bench_nn train/infer --threads 1`
CPU-seconds. Usage: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/nn_peer_cputime.py [EPOCHS=3] [PEERS_DIR]"""
import os
import sys
import time

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers")  # ../shared/peers
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else PEERS)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch_cnn_lstm as peer  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
X, S, y = peer.make_data()
Xt, St, yt = (torch.from_numpy(a[:peer.N_TRAIN]) for a in (X, S, y))
model = peer.CNNLSTM()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
c0 = time.process_time()
for ep in range(epochs):
    model.train()
    perm = torch.randperm(peer.N_TRAIN)
    for i in range(0, peer.N_TRAIN, 32):
        idx = perm[i:i + 32]
        lo = model(Xt[idx], St[idx])
        loss = F.binary_cross_entropy_with_logits(lo, yt[idx]) + model.l2()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    peer.evaluate(model, torch.from_numpy(X[peer.N_TRAIN:]), torch.from_numpy(S[peer.N_TRAIN:]),
                  torch.from_numpy(y[peer.N_TRAIN:]))
dc = time.process_time() - c0
print(f"TORCH CPU train: {epochs} epochs, 1 thread: {dc:.2f} CPU-s ({dc / epochs:.3f} CPU-s/epoch)")
model.eval()
Xi = torch.randn(2048, peer.C, peer.P, peer.P)
Si = torch.randn(2048, peer.T, peer.V)
with torch.no_grad():
    model.cnn(Xi[:256])
    c0 = time.process_time()
    model(Xi, Si)
    d_full = time.process_time() - c0
    model.build_native()
    c0 = time.process_time()
    model(Xi, Si)
    d_nat = time.process_time() - c0
    c0 = time.process_time()
    model.cnn(Xi)
    d_cnn = time.process_time() - c0
print(f"TORCH CPU infer: full model (loop LSTM) {2048 / d_full:.0f}, full model (fused nn.LSTM) {2048 / d_nat:.0f}, "
      f"CNN branch {2048 / d_cnn:.0f} samples per CPU-second (1 thread)")
