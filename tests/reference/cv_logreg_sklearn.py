#!/usr/bin/env python3
"""Independent reference for scarp's cross-validation protocol (tests/test_cv_protocol.c).

Reads the CSV scarp's test exports (label, one fold column per repeat, then the tabular
features of every sample) and, for every outer fold, does what the standard protocol says
(sperrorest, mlr3: Brenning 2012; Schratz et al. 2019): train on ALL other folds, test on
the fold. The model is scikit-learn's LogisticRegression with a large C (C as given on the
command line), on features standardised with the training rows' mean and sd (what scarp's
logistic regression does; min–max scaling per fold is affine and disappears under it).
Writes one line per fold: repeat, fold, AUC.

    /usr/bin/python3 cv_logreg_sklearn.py IN.csv C OUT.csv
"""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def main():
    src, c, dst = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    with open(src) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(src, delimiter=",", skiprows=1, ndmin=2)
    folds = [i for i, h in enumerate(header) if h.startswith("fold_r")]
    y = data[:, 0].astype(int)
    X = data[:, max(folds) + 1:]
    lines = []
    for r, col in enumerate(folds):
        fold = data[:, col].astype(int)
        for f in sorted(set(fold)):
            tr, te = fold != f, fold == f
            mu = X[tr].mean(axis=0)
            sd = X[tr].std(axis=0)
            sd[sd == 0] = 1.0
            model = LogisticRegression(C=c, max_iter=10000, tol=1e-10)
            model.fit((X[tr] - mu) / sd, y[tr])
            p = model.predict_proba((X[te] - mu) / sd)[:, 1]
            lines.append(f"{r},{f},{roc_auc_score(y[te], p):.6f}")
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
