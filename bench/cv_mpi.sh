#!/usr/bin/env bash
# cv_mpi.sh — issue 16's figure "CV throughput with 1 and 2 ranks (1 thread each)":
# `scarp train` of a cross-validated study as one process and as `mpirun -np 2`, the two
# alternated run by run so that both see the same load, each run from a fresh copy of the
# prepared folder. Prints the wall time of every run, the median per variant, the units
# per minute, and checks that both variants wrote the same model files and best.json.
# Usage: bash bench/cv_mpi.sh [BUILD_DIR=build] [WORK_DIR=/tmp/scarp_cv_mpi] [RUNS=3]
# The study (docs/BENCHMARKS.md, "Cross-validation over MPI"): `scarp synth --preset mini
# --size 160x160 --events 175` (random folds, its default), [negatives] min_distance = 150, [model] models = mlp cnn
# logreg, epochs = 5, [split] folds = 5, repeats = 2: 33 units (3 models x (10 folds + main)).
set -euo pipefail
B=$(cd "${1:-build}" && pwd)/scarp
W=${2:-/tmp/scarp_cv_mpi}
RUNS=${3:-3}
mkdir -p "$W" && cd "$W"
if [ ! -f area/run/dataset.bin ]; then
  rm -rf area
  "$B" synth --preset mini --size 160x160 --events 175 --out area --quiet
  sed -i -e 's/^min_distance = .*/min_distance = 150/' -e 's/^epochs = .*/epochs = 5/' \
         -e 's/^\[split\]$/[split]\nfolds = 5\nrepeats = 2/' -e 's/^\[model\]$/[model]\nmodels = mlp cnn logreg/' area/study.ini
  grep -q '^folds = 5' area/study.ini && grep -q '^models = mlp cnn logreg' area/study.ini && grep -q '^epochs = 5' area/study.ini \
    || { echo "cv_mpi.sh: the mini preset's study.ini changed; this script cannot set its keys" >&2; exit 1; }
  "$B" prepare area/study.ini --quiet
fi
export OMP_NUM_THREADS=1
one() { # label, then the command prefix (may be empty)
  local label=$1; shift
  rm -rf "cp_$label" && cp -r area "cp_$label"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" "$B" train "cp_$label/study.ini" --threads 1 --quiet
  t1=$(date +%s.%N)
  awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s %.2f\n", l, b - a }'
}
: > times.txt
for r in $(seq "$RUNS"); do
  echo "run $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  one ranks1 | tee -a times.txt
  one ranks2 mpirun --allow-run-as-root --oversubscribe -np 2 | tee -a times.txt
done
units=$(ls cp_ranks1/run/models/*.model | wc -l)
for v in ranks1 ranks2; do
  m=$(grep "^$v " times.txt | cut -d' ' -f2 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  awk -v v="$v" -v m="$m" -v n="$RUNS" -v u="$units" 'BEGIN { printf "%s: median %.1f s over %d runs, %.1f units/min (%d model files)\n", v, m, n, u * 60 / m, u }'
done
same=1
for f in cp_ranks1/run/models/*.model cp_ranks1/run/models/best.json; do
  cmp -s "$f" "cp_ranks2/run/models/$(basename "$f")" || { echo "DIFFERS: $(basename "$f")"; same=0; }
done
[ $same = 1 ] && echo "all model files and best.json byte-identical between 1 and 2 ranks"
