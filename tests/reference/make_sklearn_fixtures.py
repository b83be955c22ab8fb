#!/usr/bin/python3
"""Fixtures for tests/test_classic_sklearn.c: the baselines of scarp against scikit-learn.

Writes tests/reference/sklearn_baselines.txt:
  line 1: "n F n_train n_val n_test"
  then n lines "split y x_0 ... x_{F-1}" (split 0 train, 1 val, 2 test; %.9g floats)
  then "auc <model> <test AUC>" lines for
       forest  RandomForestClassifier(500, max_features='sqrt', bootstrap=True)
       svm     SVC(rbf, C=1, gamma=1/F, probability=True) on StandardScaler(train)
       tree    DecisionTreeClassifier(max_depth=5, min_samples_leaf=5)
       logreg  LogisticRegression(C=1, lbfgs, tol=1e-10) on StandardScaler(train)
  then "logreg_coef c_0 ... c_{F-1} intercept" (standardised features)
  then n_test lines "logreg_prob p" (test rows in file order).

The data: F = 8 standard normal features; the label is Bernoulli(sigmoid(2 x0 − 1.5 x1 x2
+ 1.5 sin(2 x3))): one linear, one interaction and one periodic effect, five pure noise
features, so trees and kernels have something a linear model lacks.

Usage: /usr/bin/python3 tests/reference/make_sklearn_fixtures.py   (seed fixed; ~10 s)
"""
import os

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

N_TRAIN, N_VAL, N_TEST, F = 600, 150, 250, 8


def main():
    rng = np.random.default_rng(20240601)
    n = N_TRAIN + N_VAL + N_TEST
    X = rng.normal(size=(n, F)).astype(np.float32)
    logit = 2 * X[:, 0] - 1.5 * X[:, 1] * X[:, 2] + 1.5 * np.sin(2 * X[:, 3])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    split = np.array([0] * N_TRAIN + [1] * N_VAL + [2] * N_TEST)
    tr, te = split == 0, split == 2
    Xtr, ytr, Xte, yte = X[tr].astype(np.float64), y[tr], X[te].astype(np.float64), y[te]

    aucs = {}
    rf = RandomForestClassifier(n_estimators=500, max_features="sqrt", bootstrap=True, random_state=0, n_jobs=2)
    aucs["forest"] = roc_auc_score(yte, rf.fit(Xtr, ytr).predict_proba(Xte)[:, 1])
    sc = StandardScaler().fit(Xtr)
    svm = SVC(kernel="rbf", C=1.0, gamma=1.0 / F, probability=True, random_state=0)
    aucs["svm"] = roc_auc_score(yte, svm.fit(sc.transform(Xtr), ytr).predict_proba(sc.transform(Xte))[:, 1])
    dt = DecisionTreeClassifier(max_depth=5, min_samples_leaf=5, random_state=0)
    aucs["tree"] = roc_auc_score(yte, dt.fit(Xtr, ytr).predict_proba(Xte)[:, 1])
    lr = LogisticRegression(C=1.0, solver="lbfgs", tol=1e-10, max_iter=10000)
    lr.fit(sc.transform(Xtr), ytr)
    plr = lr.predict_proba(sc.transform(Xte))[:, 1]
    aucs["logreg"] = roc_auc_score(yte, plr)

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sklearn_baselines.txt")
    with open(out, "w") as f:
        f.write(f"{n} {F} {N_TRAIN} {N_VAL} {N_TEST}\n")
        for i in range(n):
            f.write(f"{split[i]} {y[i]} " + " ".join(f"{v:.9g}" for v in X[i]) + "\n")
        for k, v in aucs.items():
            f.write(f"auc {k} {v:.6f}\n")
        f.write("logreg_coef " + " ".join(f"{c:.10g}" for c in lr.coef_[0]) + f" {lr.intercept_[0]:.10g}\n")
        for p in plr:
            f.write(f"logreg_prob {p:.10g}\n")
    print(f"sklearn {sklearn.__version__}: wrote {out}; test AUCs " +
          ", ".join(f"{k} {v:.4f}" for k, v in aucs.items()))


if __name__ == "__main__":
    main()
