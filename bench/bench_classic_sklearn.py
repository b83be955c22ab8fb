#!/usr/bin/python3
"""Peer side of bench/bench_classic.sh: the tabular data set of the peer benchmark
(../shared/peers/sklearn_baselines.py: 25 features = 22 centre values + rainfall sum, max and
reservoir mean; 1006 train / 216 test rows; label 1.6 c0 + c3 - c7 + 1.3 rain - 0.5 level +
noise, split at the median), written for bench_classic.c, and scikit-learn's fit and
predict_proba timings on it: RandomForest(500, n_jobs=2), SVC(rbf, probability),
DecisionTree, LogisticRegression, and predict_proba throughput on --rows rows.

Usage: /usr/bin/python3 bench_classic_sklearn.py --write DATA.bin [--rows 1000000]
       /usr/bin/python3 bench_classic_sklearn.py --bench DATA.bin   (sklearn timings only)
"""
import argparse
import os
import struct
import time

import numpy as np

N_TRAIN, N_TEST, F = 1006, 216, 25


def make(rows):
    rng = np.random.default_rng(0)
    n = N_TRAIN + N_TEST
    ctr = rng.normal(size=(n, 22))
    rain = rng.gamma(2.0, 1.0, size=(n, 30)) * (rng.uniform(size=(n, 30)) < 0.3)
    level = 165 + np.cumsum(rng.normal(0, 0.5, size=(n, 30)), axis=1)
    X = np.column_stack([ctr, rain.sum(1), rain.max(1), level.mean(1)])
    z = (X - X[:N_TRAIN].mean(0)) / X[:N_TRAIN].std(0)
    s = 1.6 * z[:, 0] + z[:, 3] - z[:, 7] + 1.3 * z[:, 22] - 0.5 * z[:, 24] + rng.normal(0, 0.6, n)
    y = (s > np.median(s)).astype(np.uint8)
    big = X[rng.integers(0, n, rows)] + rng.normal(0, 0.05, (rows, F))
    return X.astype(np.float32), y, big.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write")
    ap.add_argument("--bench")
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    if a.write:
        X, y, big = make(a.rows)
        with open(a.write, "wb") as f:
            f.write(struct.pack("<iiii", N_TRAIN, N_TEST, F, a.rows))
            f.write(X.tobytes())
            f.write(y.tobytes())
            f.write(big.tobytes())
        print(f"wrote {a.write}: {N_TRAIN} train, {N_TEST} test, {a.rows} throughput rows, {F} features")
        return
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier
    with open(a.bench, "rb") as f:
        ntr, nte, nf, rows = struct.unpack("<iiii", f.read(16))
        X = np.frombuffer(f.read(4 * (ntr + nte) * nf), np.float32).reshape(-1, nf).astype(np.float64)
        y = np.frombuffer(f.read(ntr + nte), np.uint8)
        big = np.frombuffer(f.read(4 * rows * nf), np.float32).reshape(rows, nf).astype(np.float64)
    Xtr, ytr, Xte, yte = X[:ntr], y[:ntr], X[ntr:], y[ntr:]
    models = {
        "forest": RandomForestClassifier(n_estimators=500, n_jobs=2, random_state=0),
        "svm": make_pipeline(StandardScaler(), SVC(kernel="rbf", probability=True, random_state=0)),
        "tree": DecisionTreeClassifier(random_state=0),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression()),
    }
    for name, m in models.items():
        t0 = time.perf_counter()
        m.fit(Xtr, ytr)
        tf = time.perf_counter() - t0
        p = m.predict_proba(Xte)[:, 1]
        print(f"sklearn {name:7s} fit {tf:8.3f} s  test AUC {roc_auc_score(yte, p):.4f}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    models["forest"].predict_proba(big)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"sklearn forest predict {rows} rows {dt:8.3f} s -> {rows / dt:,.0f} rows/s; CPU {dc:.3f} s -> "
          f"{rows / dc:,.0f} rows per CPU-second  (loadavg {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
