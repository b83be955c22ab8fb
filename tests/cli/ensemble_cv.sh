#!/bin/bash
# ensemble_cv.sh — `[model] ensemble = N` in cross-validation (issue 14, item 5): every
# outer fold is scored as the mean probability of its N seed members, not by member 0.
# Mini synthetic area, mlp with 2 seeds, 3 spatial folds. Independent check: evaluate three
# times — with both members, with member 0 alone (member 1 moved away), with member 1 alone
# (put in member 0's place) — and require, row by row, that the out-of-fold probability of
# the ensemble is the mean of the two single-member ones (predictions.csv prints 6
# decimals: each value is within 5e-7 of the float, so the bound is 1.5 * 1e-6).
# Usage: ensemble_cv.sh SCARP_BINARY
set -u
SCARP=$1
PY=/usr/bin/python3
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
TMP=$(mktemp -d /tmp/scarp_ensemble_cv.XXXXXX)
fail() { echo "FAIL: $*" >&2; echo "(outputs kept in $TMP)" >&2; exit 1; }
"$SCARP" synth --preset mini --size 160x160 --events 60 --out "$TMP/area" --quiet >/dev/null 2>&1 ||
  fail "scarp synth --preset mini --size 160x160"
INI=$TMP/area/study.ini
sed -i -e 's/^epochs = .*/epochs = 5\nmodels = mlp\nensemble = 2\ntune = none/' \
       -e 's/^test = 0.15/test = 0.15\nfolds = 3\nrepeats = 1/' "$INI"
grep -q '^ensemble = 2' "$INI" && grep -q '^folds = 3' "$INI" || fail "could not edit $INI"
M=$TMP/area/run/models
"$SCARP" train "$INI" --quiet > "$TMP/train.txt" 2> "$TMP/train.err" || { cat "$TMP/train.err"; fail "scarp train"; }
for f in 0 1 2; do
  test -s "$M/mlp.r0.f$f.model" -a -s "$M/mlp.r0.f$f.s1.model" || fail "fold $f lacks a seed member"
done

evaluate() { # NAME: evaluate, keep predictions.csv and metrics.json as NAME.*
  "$SCARP" evaluate "$INI" --quiet --no-importance > "$TMP/$1.txt" 2> "$TMP/$1.err" ||
    { cat "$TMP/$1.err"; fail "scarp evaluate ($1)"; }
  cp "$TMP/area/run/predictions.csv" "$TMP/$1.csv" && cp "$TMP/area/run/metrics.json" "$TMP/$1.json"
}
evaluate both
mkdir -p "$TMP/aside"
for f in 0 1 2; do mv "$M/mlp.r0.f$f.s1.model" "$TMP/aside/s1.f$f"; done
evaluate m0
for f in 0 1 2; do
  mv "$M/mlp.r0.f$f.model" "$TMP/aside/s0.f$f"
  cp "$TMP/aside/s1.f$f" "$M/mlp.r0.f$f.model"
done
evaluate m1

"$PY" - "$TMP" <<'PYEOF' || fail "the cross-validated ensemble is not the mean of its members"
import csv, json, sys
t = sys.argv[1]
read = lambda n: {r["id"]: r for r in csv.DictReader(open(f"{t}/{n}.csv"))}
both, m0, m1 = read("both"), read("m0"), read("m1")
n, worst, differ = 0, 0.0, 0
for i, r in both.items():
    if r["mlp_oof"] == "":
        continue
    a, b, c = float(r["mlp_oof"]), float(m0[i]["mlp_oof"]), float(m1[i]["mlp_oof"])
    worst = max(worst, abs(a - (b + c) / 2))
    differ += abs(b - c) > 1e-3
    n += 1
print(f"ok   {n} out-of-fold rows: |ensemble - mean of members| <= {worst:.2e} (bound 1.5e-06); "
      f"members differ by > 1e-3 on {differ} rows")
assert n > 0 and worst <= 1.5e-6, "ensemble is not the mean"
assert differ > n // 4, "the two seeds agree: the test would not tell member 0 from the mean"
auc = lambda n: json.load(open(f"{t}/{n}.json"))["models"]["mlp"]["runs"]["auc"]["values"]
a, b = auc("both"), auc("m0")
print(f"ok   per-fold AUC, ensemble {[round(x, 3) for x in a]}, member 0 {[round(x, 3) for x in b]}")
assert a != b, "metrics.json: the folds' AUCs are member 0's"
PYEOF
rm -rf "$TMP"
echo "ensemble_cv: all checks passed"
