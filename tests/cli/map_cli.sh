#!/bin/bash
# map_cli.sh — `scarp map` at the command line: --help lists examples (including mpirun)
# and exits 0; a bad option or value exits 2 naming it; a missing model file exits 1 with
# one line naming it and leaves no map; a good run prints the summary and GFLOP/s.
# The study is built by `test_map --fixture`. Usage: map_cli.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
FIX=$(dirname "$BIN")/tests/test_map
[ -x "$FIX" ] || { echo "SKIP: $FIX not built"; exit 0; }
D=$(mktemp -d /tmp/scarp_map_cli.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # code, grep pattern, args...
  local code=$1 pat=$2; shift 2
  "$BIN" map "$@" > "$D/out.txt" 2> "$D/err.txt"
  local rc=$?
  [ "$rc" -eq "$code" ] || { cat "$D/out.txt" "$D/err.txt"; fail "scarp map $*: exit $rc, expected $code"; }
  grep -q -- "$pat" "$D/out.txt" "$D/err.txt" || { cat "$D/out.txt" "$D/err.txt"; fail "scarp map $*: no '$pat'"; }
}
expect 0 "mpirun -np" --help
expect 0 "examples:" --help
expect 0 "hostfile" --help
"$FIX" --fixture "$D" 120 90 >/dev/null 2>&1 || fail "fixture"
expect 2 "tile" "$D/study.ini" --tile 3
expect 2 "unknown option" "$D/study.ini" --frobnicate
expect 2 "CONFIG" 
expect 1 "no model 'forest'" "$D/study.ini" --model forest
expect 1 "nothing.model: model file not found" "$D/study.ini" --model "$D/nothing.model"
[ "$(wc -l < "$D/err.txt")" -eq 1 ] || { cat "$D/err.txt"; fail "a bad model should give one line"; }
[ -e "$D/run/map/susceptibility.tif" ] && fail "a failed run left susceptibility.tif"
expect 0 "valid cells" "$D/study.ini" --tile 32 --threads 2
expect 0 "GFLOP/s" "$D/study.ini" --tile 32 --threads 1
[ -s "$D/run/map/susceptibility.tif" ] || fail "no susceptibility.tif"
grep -q '"dense_gflops_per_second"' "$D/run/map/summary.json" || fail "summary.json has no dense_gflops_per_second"
echo "ok: scarp map --help, usage errors (2), input errors (1), a good run (0)"
