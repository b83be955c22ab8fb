#!/bin/bash
# report_cli.sh — `scarp train` and `scarp evaluate` end to end on the mini synthetic
# province with the fast models (mlp for 3 epochs and the baselines), 3 folds:
# model files and histories, metrics.json / metrics.csv / plots / report.html, the
# printed study table, the spread over folds, a spatial split, damaged-model and usage errors.
# Usage: report_cli.sh SCARP_BINARY [SHARED_DATA]
set -u
SCARP=$1
# under ASan: leaks inside system libraries (fontconfig behind cairo's text) are not ours
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
TMP=$(mktemp -d /tmp/scarp_report_cli.XXXXXX)
fail() { echo "FAIL: $*" >&2; echo "(outputs kept in $TMP)" >&2; exit 1; }
"$SCARP" synth --preset mini --out "$TMP/area" --quiet >/dev/null 2>&1 || fail "scarp synth --preset mini"
INI=$TMP/area/study.ini
# fast models only, 3 epochs, 3 folds
sed -i -e 's/^epochs = .*/epochs = 3\nmodels = mlp svm tree forest logreg boost/' \
       -e 's/^test = 0.15/test = 0.15\nfolds = 3/' "$INI"
grep -q '^folds = 3' "$INI" || fail "could not edit $INI"

"$SCARP" train "$INI" --quiet > "$TMP/train.txt" 2> "$TMP/train.err" || { cat "$TMP/train.err"; fail "scarp train"; }
for m in mlp svm tree forest logreg boost; do
  grep -q "^$m .*trained in" "$TMP/train.txt" || fail "no summary line for $m"
  test -s "$TMP/area/run/models/$m.model" || fail "no models/$m.model"
  test -s "$TMP/area/run/models/$m.history.json" || fail "no models/$m.history.json"
  for f in 0 1 2; do test -s "$TMP/area/run/models/$m.r0.f$f.model" || fail "no $m.r0.f$f.model"; done
done
grep -q '"train_loss"' "$TMP/area/run/models/mlp.history.json" || fail "mlp history lacks train_loss"

"$SCARP" evaluate "$INI" --repeats 2 > "$TMP/eval.txt" 2> "$TMP/eval.err" || { cat "$TMP/eval.err"; fail "scarp evaluate"; }
grep -q '^model .*accuracy .*precision .*recall .*F1 .*AUC' "$TMP/eval.txt" || fail "no study-layout table"
grep -q '^forest ' "$TMP/eval.txt" || fail "no forest row in the table"
grep -q 'mean of 3 runs' "$TMP/eval.txt" || fail "no fold summary in the table"
R=$TMP/area/run
for f in metrics.json metrics.csv report.html plots/roc.png plots/calibration.png plots/training_mlp.png \
         plots/importance_forest.png plots/runs_auc.png; do
  test -s "$R/$f" || fail "missing $f"
done
head -1 "$R/metrics.csv" | grep -q '^model,accuracy,precision,recall,f1,auc,' || fail "metrics.csv header"
test "$(wc -l < "$R/metrics.csv")" -eq 7 || fail "metrics.csv should have 6 model rows"
grep -q '"runs"' "$R/metrics.json" || fail "metrics.json lacks runs"
n_img=$(grep -o '<img ' "$R/report.html" | wc -l)
n_data=$(grep -o 'src="data:image/png;base64,' "$R/report.html" | wc -l)
test "$n_img" -ge 5 -a "$n_img" -eq "$n_data" || fail "report.html: $n_img images, $n_data embedded"
ls "$R"/*.partial "$R"/plots/*.partial 2>/dev/null && fail "partial files left behind"
# issue 18: a study that is not the Kerman one shows no "Beside the reference study"
# section and no study column; [report] reference = kerman brings both
grep -q 'Beside the reference study' "$R/report.html" && fail "mini study's report compares with the Kerman study"
grep -q 'study AUC' "$TMP/eval.txt" && fail "mini study's table has a study AUC column"
KINI=$TMP/area/study_kref.ini # beside study.ini: the same relative paths, the same run folder
cp "$INI" "$KINI"
printf '\n[report]\nreference = kerman\n' >> "$KINI"
"$SCARP" evaluate "$KINI" --no-importance > "$TMP/kref.txt" 2> "$TMP/kref.err" ||
  { cat "$TMP/kref.err"; fail "evaluate with [report] reference = kerman"; }
grep -q 'Beside the reference study' "$R/report.html" || fail "[report] reference = kerman: no reference section"
grep -q 'study AUC' "$TMP/kref.txt" || fail "[report] reference = kerman: no study AUC column"

# a damaged model file is a clear error naming it (exit 1)
cp "$R/models/forest.model" "$TMP/forest.bak"
printf 'garbage' | dd of="$R/models/forest.model" bs=1 seek=100 conv=notrunc 2>/dev/null
"$SCARP" evaluate "$INI" --quiet --no-importance 2> "$TMP/bad.err"; rc=$?
test $rc -eq 1 || fail "damaged model: exit $rc, expected 1"
grep -q 'forest.model' "$TMP/bad.err" || fail "damaged model: message does not name the file: $(cat "$TMP/bad.err")"
cp "$TMP/forest.bak" "$R/models/forest.model"

# usage errors exit 2
"$SCARP" train "$INI" --model xgboost >/dev/null 2>&1; test $? -eq 2 || fail "--model xgboost should exit 2"
"$SCARP" evaluate >/dev/null 2>&1; test $? -eq 2 || fail "evaluate without CONFIG should exit 2"
"$SCARP" evaluate --help | grep -q 'usage: scarp evaluate' || fail "evaluate --help"

# a spatial split: trains and reports it
sed -i -e 's/^method = random/method = spatial\nblock_size = 3000/' -e '/^folds = 3/d' \
       -e 's/^models = .*/models = forest logreg/' "$INI"
"$SCARP" train "$INI" --quiet --out "$TMP/spatial" > /dev/null 2> "$TMP/sp.err" || { cat "$TMP/sp.err"; fail "spatial train"; }
"$SCARP" evaluate "$INI" --quiet --out "$TMP/spatial" 2>> "$TMP/sp.err" || { cat "$TMP/sp.err"; fail "spatial evaluate"; }
grep -Eq '"split_method":[[:space:]]*"spatial"' "$TMP/spatial/metrics.json" || fail "metrics.json does not say spatial"
rm -rf "$TMP"
echo "report_cli: ok"
