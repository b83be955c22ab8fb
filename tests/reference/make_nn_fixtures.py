#!/usr/bin/python3
"""make_nn_fixtures.py — PyTorch reference for tests/test_nn_torch.c (issue 4).

Builds the study's hybrid CNN-LSTM (DESIGN.md §4) at small sizes in PyTorch, in float64,
with Keras semantics, runs ONE training step on a fixed batch and writes everything the C
engine must reproduce to nn_fixture.bin:
  inputs (patches, sequences, labels), the initial weights in scarp's layout, the
  training-mode logits, BCE, L2 penalty, the gradient of every parameter, the weights after
  one Adam step (Keras form), the BN moving averages after that step, and eval-mode
  probabilities, CNN features and LSTM features with the updated weights and statistics.

How PyTorch is made to follow Keras (the semantics scarp implements):
  * Conv2d 3x3 'valid' (padding 0), cross-correlation: torch weight (O,I,3,3) = scarp OIHW.
  * MaxPool2d(2) floors odd sizes like Keras 'valid' pooling.
  * BatchNorm2d(eps=1e-3, momentum=0.01): Keras momentum 0.99 means
    moving = 0.99*moving + 0.01*batch, which is torch momentum 0.01; torch (like TF's fused
    kernel) tracks the UNBIASED batch variance; normalisation uses the biased one.
  * LSTM: a hand-written layer with Keras' single bias, gate order i,f,c,o, kernel (In,4U),
    recurrent kernel (U,4U) (nn.LSTM would add a second bias). Recurrent dropout and
    dropout are OFF for parity (their masks are random; the C tests check them separately
    by finite differences); Keras semantics = one mask per sequence on h(t-1), 4 gates.
  * Dense: torch Linear.weight (Out,In) is the transpose of the Keras/scarp kernel (In,Out).
  * Loss: BCE from the logit (BCEWithLogits, mean over the batch) + 0.01 * sum(w^2) over the
    conv and dense kernels only (Keras kernel_regularizer on Conv2D and Dense).
  * Adam in the Keras/TF form: lr_t = lr*sqrt(1-b2^t)/(1-b1^t), w -= lr_t*m/(sqrt(v)+eps),
    eps = 1e-7 (torch.optim.Adam puts eps on the bias-corrected sqrt(v_hat) instead, so the
    step is computed by hand below).

Sizes: C=3, 22x22 patches, N=5 steps x T=2, filters 8/12/16, LSTM 16/8, dense 16/8, batch
16 (fixture ~160 KB). Batch 16 and not 4: with 22x22 patches the last batch norm runs over
B*1*1 values, and over 4 values it amplifies float32 rounding so much (and turns the
mathematically zero gradient of conv biases ahead of ReLU-pool-BN into sign noise that Adam
scales to +-lr) that a float32 engine cannot match a float64 reference to 1e-4 there.

Run: /usr/bin/python3 tests/reference/make_nn_fixtures.py   (writes next to this script)
Record format (little-endian): repeated [u32 name length][name bytes][u32 count][count x f32].
"""
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)

B, C, H, W = 16, 3, 22, 22
N, T = 5, 2
FILT = (8, 12, 16)
UNITS = (16, 8)
DENSE = (16, 8)
L2 = 0.01
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-7

gen = torch.Generator().manual_seed(42)


def uni(*shape, lim=1.0):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * lim


def glorot(shape, fan_in, fan_out):
    return uni(*shape, lim=(6.0 / (fan_in + fan_out)) ** 0.5)


# ---- parameters (scarp layout) -------------------------------------------------------
P = {}
ci = C
for k, co in enumerate(FILT):
    P[f"conv_w{k}"] = glorot((co, ci, 3, 3), ci * 9, co * 9)
    P[f"conv_b{k}"] = uni(co, lim=0.1)
    P[f"bn_gamma{k}"] = 1 + uni(co, lim=0.2)
    P[f"bn_beta{k}"] = uni(co, lim=0.2)
    ci = co
inn = T
for l, u in enumerate(UNITS):
    P[f"lstm_wx{l}"] = glorot((inn, 4 * u), inn, 4 * u)
    q, r = torch.linalg.qr(torch.randn(4 * u, u, generator=gen))
    q = q * torch.sign(torch.diagonal(r))
    P[f"lstm_wh{l}"] = q.T.contiguous()          # Keras Orthogonal for (u, 4u)
    b = uni(4 * u, lim=0.1)
    b[u:2 * u] += 1.0                             # unit_forget_bias
    P[f"lstm_b{l}"] = b
    inn = u
inn = FILT[2] + UNITS[1]
for d, o in enumerate(DENSE + (1,)):
    P[f"dense_w{d}"] = glorot((inn, o), inn, o)
    P[f"dense_b{d}"] = uni(o, lim=0.1)
    inn = o
for k in P:  # the C side reads float32: make the float64 reference start from the same values
    P[k] = P[k].float().double().requires_grad_(True)
bn_mean = [torch.zeros(co) for co in FILT]
bn_var = [torch.ones(co) for co in FILT]

patches = torch.randn(B, C, H, W, generator=gen).float().double()
seq = torch.randn(B, N, T, generator=gen).float().double()
labels = torch.tensor([1.0, 0.0, 0.0, 1.0] * (B // 4))


def lstm(x, wx, wh, b, return_sequences):  # x (B, N, In); Keras LSTM, no dropout
    u = wh.shape[0]
    h = x.new_zeros(x.shape[0], u)
    c = x.new_zeros(x.shape[0], u)
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ wx + h @ wh + b
        i, f, g, o = z.split(u, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1) if return_sequences else h


def forward(train, update=False):
    x = patches
    for k in range(3):
        x = F.conv2d(x, P[f"conv_w{k}"], P[f"conv_b{k}"])
        x = F.max_pool2d(F.relu(x), 2)
        # torch: momentum 0.01 == Keras momentum 0.99; eps 1e-3; running var unbiased
        rm, rv = (bn_mean[k], bn_var[k]) if update or not train else (bn_mean[k].clone(), bn_var[k].clone())
        x = F.batch_norm(x, rm, rv, P[f"bn_gamma{k}"], P[f"bn_beta{k}"], training=train, momentum=0.01, eps=1e-3)
    cnn = x.flatten(1)
    hs = lstm(seq, P["lstm_wx0"], P["lstm_wh0"], P["lstm_b0"], True)
    hl = lstm(hs, P["lstm_wx1"], P["lstm_wh1"], P["lstm_b1"], False)
    f = torch.cat([cnn, hl], 1)
    f = F.relu(f @ P["dense_w0"] + P["dense_b0"])
    f = F.relu(f @ P["dense_w1"] + P["dense_b1"])
    return (f @ P["dense_w2"] + P["dense_b2"]).squeeze(1), cnn, hl


out = []


def rec(name, t):
    out.append((name, np.asarray(t.detach().cpu().numpy(), dtype=np.float32).ravel()))


rec("spec", torch.tensor([B, C, H, W, N, T, *FILT, *UNITS, *DENSE], dtype=torch.float64))
rec("patches", patches)
rec("seq", seq)
rec("labels", labels)
for k, v in P.items():
    rec("init." + k, v)

logits, _, _ = forward(train=True, update=True)
bce = F.binary_cross_entropy_with_logits(logits, labels)
kernels = [P[f"conv_w{k}"] for k in range(3)] + [P[f"dense_w{d}"] for d in range(3)]
pen = L2 * sum((w * w).sum() for w in kernels)
loss = bce + pen
loss.backward()
rec("logits", logits)
rec("bce", bce.reshape(1))
rec("penalty", pen.reshape(1))
for k, v in P.items():
    rec("grad." + k, v.grad)

with torch.no_grad():  # one Adam step, Keras form (t = 1)
    lr_t = LR * (1 - B2) ** 0.5 / (1 - B1)
    for k, v in P.items():
        g = v.grad
        m = (1 - B1) * g
        vv = (1 - B2) * g * g
        v -= lr_t * m / (vv.sqrt() + EPS)
for k, v in P.items():
    rec("step." + k, v)
for k in range(3):
    rec(f"bn_mean{k}", bn_mean[k])
    rec(f"bn_var{k}", bn_var[k])
with torch.no_grad():
    lo, cnn, hl = forward(train=False)
rec("eval.prob", torch.sigmoid(lo))
rec("eval.cnn", cnn)
rec("eval.lstm", hl)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn_fixture.bin")
with open(path, "wb") as fh:
    for name, arr in out:
        nb = name.encode()
        fh.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", arr.size) + arr.astype("<f4").tobytes())
print(f"wrote {path}: {len(out)} records, {os.path.getsize(path)} bytes; loss {loss.item():.6f}")
