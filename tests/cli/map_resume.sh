#!/bin/bash
# map_resume.sh — `kill -9` during `scarp map`, then rerun: the rerun skips the journalled
# tiles and the result is byte-identical to an uninterrupted run; no final file exists
# while the run is incomplete. The study is built by `test_map --fixture` (a constructed
# stack and a random CNN model). Usage: map_resume.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
FIX=$(dirname "$BIN")/tests/test_map
[ -x "$FIX" ] || { echo "SKIP: $FIX not built"; exit 0; }
D=$(mktemp -d /tmp/scarp_map_resume.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$FIX" --fixture "$D" 900 900 >/dev/null 2>&1 || fail "fixture"
cp -r "$D/run" "$D/run2"
"$BIN" map "$D/study.ini" --tile 64 --threads 2 --quiet || fail "uninterrupted run"
"$BIN" map "$D/study.ini" --out "$D/run2" --tile 64 --threads 1 --quiet &
pid=$!
J=$D/run2/map/tiles/tiles.done
for _ in $(seq 1 600); do
  n=$( [ -f "$J" ] && wc -l < "$J" || echo 0 )
  [ "$n" -ge 15 ] && break
  sleep 0.02
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
done_tiles=$(wc -l < "$J")
total=$(( ((900 + 63) / 64) * ((900 + 63) / 64) ))
echo "killed after $done_tiles of $total tiles"
[ "$done_tiles" -lt "$total" ] || fail "the run finished before it was killed"
[ -e "$D/run2/map/susceptibility.tif" ] && fail "a final susceptibility.tif exists after the kill"
out=$("$BIN" map "$D/study.ini" --out "$D/run2" --tile 64 --threads 2 2>&1) || fail "rerun: $out"
echo "$out" | grep -q "resumed" || fail "rerun did not report resumed tiles: $out"
for f in susceptibility.tif classes.tif classes.tif.aux.xml classes.qml; do
  cmp "$D/run/map/$f" "$D/run2/map/$f" || fail "$f differs between the interrupted and the uninterrupted run"
done
[ -e "$D/run2/map/tiles" ] && fail "tiles folder left after a complete run"
echo "ok: byte-identical after kill -9 and resume"
