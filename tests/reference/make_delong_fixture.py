#!/usr/bin/python3
"""Fixture for tests/test_hazard.c: the paired DeLong test computed directly from its
definition (DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44:837-845), independently of
scarp's mid-rank algorithm (Sun & Xu 2014):

  psi(x, y) = 1 if x > y, 1/2 if x == y, 0 otherwise        (x positive, y negative score)
  AUC_r     = mean over all (i, j) of psi(x_ri, y_rj)
  V10_r(i)  = mean_j psi(x_ri, y_rj),   V01_r(j) = mean_i psi(x_ri, y_rj)
  S10, S01  = 2 x 2 sample covariance matrices (ddof = 1) of (V10_a, V10_b), (V01_a, V01_b)
  Var(AUC_a - AUC_b) = (S10_aa + S10_bb - 2 S10_ab)/n1 + (S01_aa + S01_bb - 2 S01_ab)/n0
  z = diff / sqrt(Var),  p = erfc(|z| / sqrt 2)  (two-sided)

Writes tests/reference/delong_paired.txt: per case a line "case n", then n lines
"y score_a score_b" (float32 values printed with %.9g, so C reads the very same floats),
then "expect auc_a auc_b diff var z p" (%.17g).
Cases: correlated scores with many ties (scores rounded to 0.05), a model against a noisier
copy of itself, and a small unbalanced set.

Usage: /usr/bin/python3 tests/reference/make_delong_fixture.py   (seed fixed; < 1 s)
"""
import math
import os

import numpy as np


def paired(y, a, b):
    pos, neg = y == 1, y == 0
    out = []
    V10, V01 = [], []
    for s in (a, b):
        x, z = s[pos].astype(np.float64), s[neg].astype(np.float64)
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        out.append(psi.mean())
        V10.append(psi.mean(axis=1))
        V01.append(psi.mean(axis=0))
    S10 = np.cov(np.vstack(V10), ddof=1)
    S01 = np.cov(np.vstack(V01), ddof=1)
    n1, n0 = pos.sum(), neg.sum()
    var = (S10[0, 0] + S10[1, 1] - 2 * S10[0, 1]) / n1 + (S01[0, 0] + S01[1, 1] - 2 * S01[0, 1]) / n0
    diff = out[0] - out[1]
    zz = diff / math.sqrt(var)
    return out[0], out[1], diff, var, zz, math.erfc(abs(zz) / math.sqrt(2))


def main():
    rng = np.random.default_rng(20261204)
    cases = []
    # 1: two correlated models, ties from rounding
    n = 300
    y = (rng.random(n) < 0.45).astype(int)
    latent = rng.normal(size=n) + 1.2 * y
    a = 1 / (1 + np.exp(-(latent + 0.5 * rng.normal(size=n))))
    b = 1 / (1 + np.exp(-(0.6 * latent + 0.9 * rng.normal(size=n))))
    cases.append((y, np.round(a / 0.05) * 0.05, np.round(b / 0.05) * 0.05))
    # 2: a model against a noisier copy of itself (strong correlation, small difference)
    n = 216
    y = np.repeat([1, 0], n // 2)
    a = rng.normal(size=n) + 1.0 * y
    b = a + 0.7 * rng.normal(size=n)
    cases.append((y, a, b))
    # 3: small and unbalanced
    n = 40
    y = (rng.random(n) < 0.2).astype(int)
    y[0] = 1
    a = rng.random(n) + 0.4 * y
    b = rng.random(n) + 0.2 * y
    cases.append((y, a, b))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delong_paired.txt")
    with open(path, "w") as f:
        for y, a, b in cases:
            a32, b32 = a.astype(np.float32), b.astype(np.float32)
            f.write("case %d\n" % len(y))
            for yi, ai, bi in zip(y, a32, b32):
                f.write("%d %.9g %.9g\n" % (yi, ai, bi))
            f.write("expect %s\n" % " ".join("%.17g" % v for v in paired(y, a32, b32)))
    print("wrote", path)


if __name__ == "__main__":
    main()
