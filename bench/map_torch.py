# map_torch.py — the PyTorch CPU peer of the map engine (issue 7): the study's CNN–LSTM
# (three conv 3×3 → ReLU → max-pool 2×2 → batch-norm blocks of 32/64/128 filters, LSTM
# 128 → 64, dense 128 → 64 → 1, eval mode) evaluated
#   1. patch by patch in batches of 4096, the full model per cell (22×22 patch and the
#      cell's own 30×2 sequence through a fused nn.LSTM), as a PyTorch user would map;
#   2. as one dense à-trous pass over a TILE×TILE tile (stride-1 pooling, dilations
#      1, 2, 4; Giusti et al. 2013), the LSTM state computed once and broadcast, as
#      scarp does (the CNN branch is what costs).
# With --model FILE the weights (and C) come from a scarp cnn_lstm model file, so the
# peer runs the very model `scarp map` maps; otherwise random weights for --channels C
# (throughput does not depend on the values). --check also verifies that the dense pass
# equals the patch-by-patch model at a few cells (both ways compute the same function).
# Run: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/map_torch.py \
#          [--model run/models/cnn_lstm.model] [--channels 22] [--threads 2] [--batches 3] [--tile 512] [--check]
# Output: a human line, then `patch_cells_per_s=… dense_cells_per_s=…` for scripts.
import argparse, struct, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--model", help="scarp cnn_lstm model file (weights and sizes)")
ap.add_argument("--channels", type=int, default=22, help="C without --model")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batches", type=int, default=3, help="timed batches of 4096 patches")
ap.add_argument("--tile", type=int, default=512)
ap.add_argument("--check", action="store_true")
a = ap.parse_args()
torch.manual_seed(0)
torch.set_num_threads(a.threads)

# ---- the model: sizes and weights (scarp layout: include/scarp/nn.h, src/nn/modelfile.c) ----
C, P, N, T = a.channels, 22, 30, 2
filters, units, dense = [32, 64, 128], [128, 64], [128, 64]
params = None
if a.model:
    buf = open(a.model, "rb").read()
    assert buf[:8] == b"SCARPNN\0", f"{a.model}: not a scarp network model file"
    version, kind = struct.unpack_from("<II", buf, 8)
    sizes = struct.unpack_from("<13i", buf, 16)
    n_params, n_stats, norm_bytes = struct.unpack_from("<3Q", buf, 16 + 52 + 12)
    assert kind == 0, f"{a.model}: kind {kind}, expected cnn_lstm (0)"
    C, P, _, N, T, _ = sizes[:6]
    filters, units, dense = list(sizes[6:9]), list(sizes[9:11]), list(sizes[11:13])
    off = 16 + 52 + 12 + 24 + norm_bytes
    params = np.frombuffer(buf, "<f4", n_params, off).copy()
    stats = np.frombuffer(buf, "<f4", n_stats, off + 4 * n_params).copy()
    assert P == 22, "the à-trous peer assumes 22×22 patches"

convs = [nn.Conv2d(ci, co, 3) for ci, co in zip([C] + filters[:2], filters)]
bns = [nn.BatchNorm2d(co, eps=1e-3).eval() for co in filters]
lstm1, lstm2 = nn.LSTM(T, units[0], batch_first=True), nn.LSTM(units[0], units[1], batch_first=True)
d1, d2, d3 = nn.Linear(filters[2] + units[1], dense[0]), nn.Linear(dense[0], dense[1]), nn.Linear(dense[1], 1)
if params is not None:
    off = [0]
    def take(n, shape):
        t = torch.from_numpy(params[off[0]:off[0] + n].reshape(shape)); off[0] += n; return t
    with torch.no_grad():
        ci = C
        for k, co in enumerate(filters):
            convs[k].weight.copy_(take(co * ci * 9, (co, ci, 3, 3))); convs[k].bias.copy_(take(co, (co,)))
            bns[k].weight.copy_(take(co, (co,))); bns[k].bias.copy_(take(co, (co,))); ci = co
        so = 0
        for k, co in enumerate(filters):
            bns[k].running_mean.copy_(torch.from_numpy(stats[so:so + co])); so += co
            bns[k].running_var.copy_(torch.from_numpy(stats[so:so + co])); so += co
        ins = T
        for l, lstm in enumerate((lstm1, lstm2)):
            u = units[l]
            lstm.weight_ih_l0.copy_(take(ins * 4 * u, (ins, 4 * u)).t())   # Keras (In, 4U) → (4U, In)
            lstm.weight_hh_l0.copy_(take(u * 4 * u, (u, 4 * u)).t())
            lstm.bias_ih_l0.copy_(take(4 * u, (4 * u,))); lstm.bias_hh_l0.zero_(); ins = u
        ins = filters[2] + units[1]
        for lin, outs in zip((d1, d2, d3), dense + [1]):
            lin.weight.copy_(take(ins * outs, (ins, outs)).t()); lin.bias.copy_(take(outs, (outs,))); ins = outs
        assert off[0] == len(params), "parameter count mismatch"
# (PyTorch's LSTM gate order i, f, g, o is Keras's i, f, c, o: the blocks map one to one.)

def lstm_branch(seq):
    return lstm2(lstm1(seq)[0])[0][:, -1]
def head(f, h):
    z = torch.cat([f, h], 1)
    return torch.sigmoid(d3(F.relu(d2(F.relu(d1(z)))))).squeeze(1)
def patch_model(x, seq):   # (B, C, 22, 22), (B, N, T) → (B)
    for c, b in zip(convs, bns): x = b(F.max_pool2d(F.relu(c(x)), 2))
    return head(x.flatten(1), lstm_branch(seq))
def dense_model(img, seq1):  # (1, C, S, S), (1, N, T) → (S−21, S−21)
    x, d = img, 1
    for c, b in zip(convs, bns):
        x = b(F.max_pool2d(F.relu(F.conv2d(x, c.weight, c.bias, dilation=d)), 2, stride=1, dilation=d)); d *= 2
    n = x.shape[2]; f = x[0].flatten(1).t()
    return head(f, lstm_branch(seq1).expand(f.shape[0], -1)).reshape(n, n)

with torch.no_grad():
    B = 4096
    Pt, S = torch.rand(B, C, 22, 22), torch.rand(B, N, T)
    patch_model(Pt, S)                       # warm-up
    t = time.time()
    for _ in range(a.batches): patch_model(Pt, S)
    pp = a.batches * B / (time.time() - t)
    Tt = a.tile
    img, s1 = torch.rand(1, C, Tt + 21, Tt + 21), torch.rand(1, N, T)
    dense_model(img, s1)                     # warm-up
    t = time.time(); out = dense_model(img, s1); dn = Tt * Tt / (time.time() - t)
    if a.check:
        cells = [(0, 0), (Tt - 1, Tt - 1), (7, Tt // 2), (Tt // 3, 5)]
        patches = torch.stack([img[0, :, r:r + 22, c:c + 22] for r, c in cells])
        ref = patch_model(patches, s1.expand(len(cells), -1, -1))
        err = max(abs(float(out[r, c]) - float(ref[i])) for i, (r, c) in enumerate(cells))
        print(f"check: dense vs patch-by-patch max |diff| = {err:.2e}")
        assert err < 1e-4
print(f"torch {torch.__version__} ({a.threads} threads, C = {C}{', weights of ' + a.model if a.model else ', random weights'}): "
      f"patch by patch (batch 4096, full model) {pp:,.0f} cells/s; dense à trous ({Tt} tile) {dn:,.0f} cells/s")
print(f"patch_cells_per_s={pp:.0f} dense_cells_per_s={dn:.0f}")
