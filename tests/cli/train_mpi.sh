#!/bin/bash
# train_mpi.sh — `mpirun -np 2 scarp train` (ranks share the model x run units of the
# cross-validation, rank 0 writes best.json) gives the same models and the same metrics as
# one process, and a run whose rank 1 is killed with -9 resumes from models/train.journal
# to the same files (issue 16, item 3). Mini synthetic area, mlp logreg tree, 3 folds x 2
# repeats. Skips loudly without mpirun or when the binary was built without MPI.
# Usage: train_mpi.sh SCARP_BINARY
set -u
SCARP=$1
PY=/usr/bin/python3
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found"; exit 0; }
ldd "$SCARP" | grep -q libmpi || { echo "SKIP: $SCARP built without MPI"; exit 0; }
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export OMP_NUM_THREADS=1
TMP=$(mktemp -d /tmp/scarp_train_mpi.XXXXXX)
BG=
cleanup() { [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; trap - EXIT; [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; echo "(outputs kept in $TMP)" >&2; exit 1; }
# Under ASan, OpenMPI's plugins leak a few bytes at exit: unwind fully so tests/lsan.supp matches.
mpi2() {
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0 \
    mpirun --oversubscribe --allow-run-as-root -np 2 "$SCARP" "$@"
}

"$SCARP" synth --preset mini --size 160x160 --events 60 --out "$TMP/area" --quiet >/dev/null 2>&1 ||
  fail "scarp synth --preset mini --size 160x160"
INI=$TMP/area/study.ini
sed -i -e 's/^epochs = .*/epochs = 5\nmodels = mlp logreg tree\ntune = none/' \
       -e 's/^test = 0.15/test = 0.15\nfolds = 3\nrepeats = 2/' "$INI"
grep -q '^models = mlp logreg tree' "$INI" && grep -q '^folds = 3' "$INI" || fail "could not edit $INI"
RUN=$TMP/area/run
"$SCARP" prepare "$INI" --quiet >/dev/null 2>"$TMP/prepare.err" || { cat "$TMP/prepare.err"; fail "scarp prepare"; }
cp -r "$RUN" "$TMP/base"

# same_json A B: two JSON files equal once every "...seconds" timing field is removed
same_json() {
  "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if not k.endswith("seconds")}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
sys.exit(a != b)
PYEOF
}

# Every file of models/ must match: .model and best.json byte for byte, histories but for
# their timings; and metrics.json but for its timings.
same_models() { # DIR_A DIR_B WHAT
  local a=$1 b=$2 n=0
  for f in "$a"/models/*; do
    local g=$b/models/$(basename "$f")
    [ -e "$g" ] || fail "$3: $(basename "$f") missing"
    case $f in
      *.history.json) same_json "$f" "$g" || fail "$3: $(basename "$f") differs (timings aside)" ;;
      *) cmp -s "$f" "$g" || fail "$3: $(basename "$f") differs" ;;
    esac
    n=$((n + 1))
  done
  [ "$(ls "$a/models" | wc -l)" = "$(ls "$b/models" | wc -l)" ] || fail "$3: another number of files in models/"
  [ -e "$b/models/train.journal" ] && fail "$3: models/train.journal left after a finished run"
  echo "ok   $3: $n files of models/ identical (histories up to timings)"
}

# ---- one process, then 2 ranks, into the same folder (paths in the outputs agree) -------
"$SCARP" train "$INI" --threads 1 --quiet >"$TMP/t1.out" 2>"$TMP/t1.err" || { cat "$TMP/t1.err"; fail "scarp train"; }
"$SCARP" evaluate "$INI" --threads 1 --quiet --no-importance >/dev/null 2>"$TMP/e1.err" ||
  { cat "$TMP/e1.err"; fail "scarp evaluate"; }
mv "$RUN" "$TMP/one" && cp -r "$TMP/base" "$RUN"
mpi2 train "$INI" --threads 1 >"$TMP/t2.out" 2>"$TMP/t2.err" || { cat "$TMP/t2.err"; fail "mpirun -np 2 scarp train"; }
"$SCARP" evaluate "$INI" --threads 1 --quiet --no-importance >/dev/null 2>"$TMP/e2.err" ||
  { cat "$TMP/e2.err"; fail "scarp evaluate after mpirun"; }
same_models "$TMP/one" "$RUN" "mpirun -np 2 train == one process"
same_json "$TMP/one/metrics.json" "$RUN/metrics.json" || fail "metrics.json differs (timings aside)"
echo "ok   metrics.json identical but for timings"
# rank 0 alone prints: the result table once, the ranks' plan once
[ "$(grep -c 'trained in' "$TMP/t2.out")" = 3 ] || fail "mpirun: expected 3 result lines, got: $(cat "$TMP/t2.out")"
[ "$(grep -c 'over 2 MPI ranks' "$TMP/t2.err")" = 1 ] || fail "mpirun: the plan line is missing or repeated"
echo "ok   terminal output printed once (rank 0)"

# ---- resume: kill -9 rank 1 after the first fold model, rerun ------------------------------
# Slower units (many epochs, no early stop) so that the kill lands mid-run.
SLOW=$TMP/area/slow.ini
sed -e 's/^epochs = 5/epochs = 800\npatience = 100000/' "$INI" >"$SLOW"
rm -rf "$RUN" && cp -r "$TMP/base" "$RUN"
"$SCARP" train "$SLOW" --threads 1 --quiet >/dev/null 2>"$TMP/s1.err" || { cat "$TMP/s1.err"; fail "scarp train (slow)"; }
mv "$RUN" "$TMP/slow_one" && cp -r "$TMP/base" "$RUN"
mpi2 train "$SLOW" --threads 1 >"$TMP/k.out" 2>"$TMP/k.err" &
BG=$!
rank1=
for _ in $(seq 1 600); do # up to 60 s
  if [ -z "$rank1" ]; then
    for p in $(pgrep -f "$SCARP train $SLOW"); do
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
    done
  fi
  if [ -n "$rank1" ] && ls "$RUN"/models/*.r*.f*.model >/dev/null 2>&1; then break; fi
  kill -0 "$BG" 2>/dev/null || break
  sleep 0.1
done
[ -n "$rank1" ] || fail "rank 1 of the mpirun train not found"
kill -9 "$rank1" 2>/dev/null || fail "mpirun train finished before the kill (machine too fast?)"
wait "$BG" && fail "mpirun train exited 0 although rank 1 was killed"
BG=
[ -s "$RUN/models/best.json" ] && fail "killed run wrote best.json"
before=$(cat "$RUN/models/train.journal" 2>/dev/null | grep -c .)
[ "$before" -ge 1 ] || fail "no unit in models/train.journal after the kill"
[ "$before" -lt 21 ] || fail "all 21 units had finished before the kill"
printf 'scarp-train-1 0123' >>"$RUN/models/train.journal" # a torn last line
echo "ok   rank 1 killed with -9 after $before of 21 units; a torn line appended to the journal"
mpi2 train "$SLOW" --threads 1 >"$TMP/r.out" 2>"$TMP/r.err" || { cat "$TMP/r.err"; fail "mpirun train rerun"; }
grep -q "21 units (model x run) over 2 MPI ranks, [1-9][0-9]* finished before" "$TMP/r.err" ||
  fail "rerun did not resume: $(grep units "$TMP/r.err")"
same_models "$TMP/slow_one" "$RUN" "rerun after kill -9 == one uninterrupted process"
echo "ok   train_mpi"
