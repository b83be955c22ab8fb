#!/usr/bin/python3
"""cv_truth.py — how close each model comes to the truth, fold by fold (synthetic studies).

    /usr/bin/python3 bench/cv_truth.py RUN_FOLDER TRUTH_TIF

Reads RUN/predictions.csv (every sample, its fold in every repeat) and RUN/metrics.json
(every model's per-fold test AUC, runs.auc.values, repeat-major), samples the generator's
truth raster (the probability each cell fails; `scarp synth` writes truth.tif) at every
sample, and scores the truth on exactly the test rows of each outer fold. Prints per model
the mean AUC over the folds, the truth's mean over the same folds, and the mean of the
per-fold ratio model/truth with its sd. With one repeat it checks its fold reading against
scarp: the out-of-fold probabilities (`MODEL_oof`, averaged over the repeats, so only then
one fold model's) must give scarp's own per-fold AUCs.
"""
import csv
import json
import math
import sys

from osgeo import gdal


def auc(scores, labels):
    """Mann-Whitney AUC with midranks for ties."""
    pairs = sorted(zip(scores, labels))
    n = len(pairs)
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = sum(1 for _, y in pairs if y == 1)
    neg = n - pos
    if pos == 0 or neg == 0:
        return float("nan")
    rsum = sum(r for r, (_, y) in zip(ranks, pairs) if y == 1)
    return (rsum - pos * (pos + 1) / 2.0) / (pos * neg)


def mean_sd(v):
    v = [x for x in v if not math.isnan(x)]
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd


def main():
    run, truth_path = sys.argv[1], sys.argv[2]
    rows = list(csv.DictReader(open(f"{run}/predictions.csv")))
    metrics = json.load(open(f"{run}/metrics.json"))
    ds = gdal.Open(truth_path)
    gt = ds.GetGeoTransform()
    band = ds.GetRasterBand(1)
    grid = band.ReadAsArray()
    truth = []
    for r in rows:
        col = int((float(r["x"]) - gt[0]) / gt[1])
        row = int((float(r["y"]) - gt[3]) / gt[5])
        truth.append(float(grid[row, col]))
    labels = [int(r["class"]) for r in rows]
    repeats = int(metrics["repeats"])
    folds = int(metrics["folds"])
    fold_cols = [f"fold_r{k + 1}" for k in range(repeats)]

    def fold_rows(rep, f):
        return [i for i, r in enumerate(rows) if r[fold_cols[rep]] not in ("", "0") and int(r[fold_cols[rep]]) == f + 1]

    truth_auc = []
    for rep in range(repeats):
        for f in range(folds):
            idx = fold_rows(rep, f)
            truth_auc.append(auc([truth[i] for i in idx], [labels[i] for i in idx]))
    tm, tsd = mean_sd(truth_auc)
    print(f"{run}: {repeats} repeats x {folds} folds; truth over the same folds: {tm:.3f} +- {tsd:.3f}")
    print(f"{'model':10s} {'AUC':>6s} {'sd':>6s} {'truth':>6s} {'ratio':>6s} {'sd':>6s}  check")
    for name, m in metrics["models"].items():
        vals = m.get("runs", {}).get("auc", {}).get("values")
        if not vals or len(vals) != len(truth_auc):
            continue
        ratios = [a / t for a, t in zip(vals, truth_auc) if not math.isnan(t)]
        am, asd = mean_sd(vals)
        rm, rsd = mean_sd(ratios)
        # check the fold reading: the out-of-fold probabilities give scarp's fold AUCs
        check = "-"
        if repeats == 1 and f"{name}_oof" in rows[0]:
            diffs = []
            for f in range(folds):
                idx = fold_rows(0, f)
                mine = auc([float(rows[i][f"{name}_oof"]) for i in idx], [labels[i] for i in idx])
                diffs.append(abs(mine - vals[f]))
            check = f"max |diff| {max(diffs):.1e}"
        print(f"{name:10s} {am:6.3f} {asd:6.3f} {tm:6.3f} {rm:6.3f} {rsd:6.3f}  {check}")


if __name__ == "__main__":
    main()
