#!/bin/bash
# transfer.sh — the transfer table of issue 17 (docs/benchmarks/17-transfer.md): two
# synthetic provinces from different seeds, each studied on its own (`scarp run`: its
# test split), then each run's models applied to the other province with `scarp apply`
# (scored on ALL of that province's samples). Prints a Markdown table of AUCs.
# Usage: bench/transfer.sh SCARP_BINARY OUT_DIR [SIZE [EVENTS [MODELS]]]
#   SIZE WxH (default: the mini preset's 512x512), EVENTS (default: the preset's),
#   MODELS (default "logreg forest mlp cnn cnn_lstm").
set -eu
BIN=$(realpath "$1")
OUT=$2
SIZE=${3:-}
EVENTS=${4:-}
MODELS=${5:-logreg forest mlp cnn cnn_lstm}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
extra=()
[ -n "$SIZE" ] && extra+=(--size "$SIZE")
[ -n "$EVENTS" ] && extra+=(--events "$EVENTS")
for s in 1 2; do
  P=$OUT/p$s
  if [ ! -e "$P/run/metrics.json" ]; then
    "$BIN" synth --preset mini --seed $s "${extra[@]}" --out "$P" --quiet
    sed -i "s/^\[model\]$/[model]\nmodels = $MODELS/" "$P/study.ini"
    t0=$(date +%s)
    nice "$BIN" run "$P/study.ini" --threads 1 --quiet
    echo "p$s: scarp run $(( $(date +%s) - t0 )) s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  fi
done
for pair in "1 2" "2 1"; do
  set -- $pair
  for m in $MODELS; do
    ini=$OUT/p$2/from$1_$m.ini
    sed "s#^out = run\$#out = from$1_$m#" "$OUT/p$2/study.ini" > "$ini"
    printf '\n[apply]\nunseen = nodata\n' >> "$ini"
    nice "$BIN" apply "$OUT/p$1/run" "$ini" --model "$m" --threads 1 --quiet
  done
done
/usr/bin/python3 - "$OUT" $MODELS <<'EOF'
import json, sys
out, models = sys.argv[1], sys.argv[2:]
run = {s: json.load(open(f"{out}/p{s}/run/metrics.json")) for s in (1, 2)}
def own(s, m):
    t = run[s]["models"][m]["test"]
    return t["auc"], t["n"]
def tr(a, b, m):
    j = json.load(open(f"{out}/p{b}/from{a}_{m}/apply/metrics.json"))
    return j["auc"], j["n"]
dom = {(a, b): json.load(open(f"{out}/p{b}/from{a}_{models[0]}/apply/domain.json")) for a, b in ((1, 2), (2, 1))}
print("| model | A→A (A's test split) | A→B (all of B) | B→B (B's test split) | B→A (all of A) |")
print("|---|---|---|---|---|")
for m in models:
    aa, ab, bb, ba = own(1, m), tr(1, 2, m), own(2, m), tr(2, 1, m)
    print(f"| {m} | {aa[0]:.3f} (n={aa[1]}) | {ab[0]:.3f} (n={ab[1]}) | {bb[0]:.3f} (n={bb[1]}) | {ba[0]:.3f} (n={ba[1]}) |")
# the synthetic truth (truth.tif, the failure probability the inventory was drawn from) at
# the same rows: the ceiling of each column
import csv
import numpy as np
from osgeo import gdal
def truth_auc(s, test_only):
    ds = gdal.Open(f"{out}/p{s}/truth.tif"); gt = ds.GetGeoTransform(); a = ds.ReadAsArray()
    p, y = [], []
    for r in csv.DictReader(open(f"{out}/p{s}/run/predictions.csv")):
        if test_only and r["split"] != "test": continue
        c, w = int((float(r["x"]) - gt[0]) / gt[1]), int((float(r["y"]) - gt[3]) / gt[5])
        p.append(a[w, c]); y.append(int(r["class"]))
    p, y = np.array(p), np.array(y)
    pos, neg = p[y == 1], p[y == 0]
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
print(f"| truth (ceiling) | {truth_auc(1, True):.3f} | {truth_auc(2, False):.3f} | {truth_auc(2, True):.3f} | {truth_auc(1, False):.3f} |")
for (a, b), d in dom.items():
    fs = ", ".join(f"{f['name']} {100*f['share']:.2f} %" for f in d["factors"] if f["outside"])
    print(f"\ndomain p{a}→p{b}: {100*d['outside_share']:.2f} % of {d['valid_cells']} cells outside the training range "
          f"in >= 1 factor, {d['unseen_cells']} unseen-category cells; {fs}")
EOF
