#!/bin/bash
# map_mpi.sh — `mpirun -np 2 scarp map` (ranks share the tiles round-robin, rank 0
# assembles) gives a byte-identical map to one process. Skips loudly without mpirun or
# when the binary was built without MPI. Usage: map_mpi.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
FIX=$(dirname "$BIN")/tests/test_map
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found"; exit 0; }
ldd "$BIN" | grep -q libmpi || { echo "SKIP: $BIN built without MPI"; exit 0; }
[ -x "$FIX" ] || { echo "SKIP: $FIX not built"; exit 0; }
D=$(mktemp -d /tmp/scarp_map_mpi.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$FIX" --fixture "$D" 300 260 >/dev/null 2>&1 || fail "fixture"
cp -r "$D/run" "$D/run2"
"$BIN" map "$D/study.ini" --tile 48 --threads 1 --quiet --model ens || fail "single process"
# Under ASan, OpenMPI's plugins leak a few bytes at exit; with the fast (frame-pointer)
# unwinder LSan cannot see the libmpi frames that tests/lsan.supp names, so unwind fully.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0 \
mpirun --oversubscribe --allow-run-as-root -np 2 "$BIN" map "$D/study.ini" --out "$D/run2" --tile 48 --threads 1 \
  --quiet --model ens || fail "mpirun -np 2"
for f in susceptibility.tif uncertainty_sd.tif classes.tif classes.qml summary.json; do
  [ "$f" = summary.json ] && continue # holds timings
  cmp "$D/run/map/$f" "$D/run2/map/$f" || fail "$f differs between 1 process and mpirun -np 2"
done
echo "ok: mpirun -np 2 == one process (byte-identical)"
