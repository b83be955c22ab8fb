#!/usr/bin/env bash
# fault_disk.sh — a full disk during `scarp synth`, `prepare`, `train` and `map` gives
# exit 1 with one clear line naming the file and the cause, and leaves no output under a
# final name that looks complete but is not. Two ways to fill the disk:
#   * a small tmpfs mounted in the test (ENOSPC, the real thing; needs mount rights —
#     root in a container usually has them; skipped loudly otherwise)
#   * RLIMIT_FSIZE (`ulimit -f` with SIGXFSZ ignored, so write() fails with EFBIG):
#     works everywhere.
# usage: fault_disk.sh SCARP [SHARED_DATA]
set -u
SCARP=${1:?usage: fault_disk.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-fault-disk.XXXXXX")
MOUNTS=()
cleanup() { for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
trap "exit 1" INT TERM HUP
. "$(dirname "$0")/fault_lib.bash"
export OMP_NUM_THREADS=2
SIZE=192x192 EVENTS=40

# small_disk DIR KB: mounts a KB-sized tmpfs at DIR; returns 1 when mounting is not allowed.
small_disk() {
  mkdir -p "$1"
  mount -t tmpfs -o size="$2"k tmpfs "$1" 2>/dev/null || return 1
  MOUNTS+=("$1")
}
# fill DIR KEEP_KB: fills the file system of DIR but KEEP_KB.
fill() {
  local avail
  avail=$(df -k --output=avail "$1" | tail -1)
  [ "$avail" -gt "$2" ] && dd if=/dev/zero of="$1/.filler" bs=1k count=$((avail - $2)) status=none 2>/dev/null
  return 0
}
# expect_disk_error WHAT DIR LOG: exit status in $RC must be 1; one line naming a file
# under DIR with the cause; nothing incomplete-looking left in DIR.
expect_disk_error() {
  local what=$1 dir=$2 log=$3 cause=$4
  if [ "$RC" != 1 ]; then fail "$what: exit $RC, expected 1: $(head -3 "$log")"; return; fi
  grep -v -E '^(synth|prepare|train|training|map|patches|stack|classes|landslides|outputs)[: ]' "$log" | grep . >"$log.err"
  one_line_error "$log.err" "$cause" "$what" || return
  grep -q "/" "$log.err" || { fail "$what: the message names no file: $(cat "$log.err")"; return; }
  if check_complete "$dir"; then ok "$what: exit 1, '$(cat "$log.err")', no complete-looking partial output"
  else fail "$what: a truncated file was left under its final name"; fi
}

"$SCARP" synth --out "$T/area" --size $SIZE --events $EVENTS --quiet || { fail "synth failed"; exit 1; }
sed -i 's/^epochs *=.*/epochs = 1/' "$T/area/study.ini"
"$SCARP" prepare "$T/area/study.ini" --quiet >/dev/null || { fail "prepare failed"; exit 1; }
"$SCARP" train "$T/area/study.ini" --model cnn_lstm --quiet >/dev/null || { fail "train failed"; exit 1; }
run_kb=$(du -sk "$T/area/run" | cut -f1)

# ---- RLIMIT_FSIZE: every platform ------------------------------------------------------
( trap '' XFSZ; ulimit -f 40; exec "$SCARP" synth --out "$T/fsize" --size $SIZE --events $EVENTS --quiet ) >"$T/fsize.log" 2>&1
RC=$?
expect_disk_error "synth, RLIMIT_FSIZE 40 KB" "$T/fsize" "$T/fsize.log" "File too large|disk full|write"
mkdir -p "$T/fsize_run" && cp "$T/area/run/dataset.bin" "$T/area/run/norm.bin" "$T/fsize_run/"
( trap '' XFSZ; ulimit -f 200; exec "$SCARP" train "$T/area/study.ini" --model cnn_lstm --out "$T/fsize_run" --quiet ) >"$T/fsize_train.log" 2>&1
RC=$?
expect_disk_error "train, RLIMIT_FSIZE 200 KB (model 1 MB)" "$T/fsize_run" "$T/fsize_train.log" "File too large|disk full|write"
if placeholder map; then skip "map is still a placeholder"; else
  cp -r "$T/area/run" "$T/fsize_map"; rm -rf "$T/fsize_map/map"
  ( trap '' XFSZ; ulimit -f 30; exec "$SCARP" map "$T/area/study.ini" --model cnn_lstm --out "$T/fsize_map" --quiet ) >"$T/fsize_map.log" 2>&1
  RC=$?
  expect_disk_error "map, RLIMIT_FSIZE 30 KB" "$T/fsize_map" "$T/fsize_map.log" "File too large|disk full|write"
fi

# ---- a real full file system (tmpfs) --------------------------------------------------
if ! small_disk "$T/probe" 64; then
  skip "mount -t tmpfs is not permitted here: the ENOSPC part is not exercised (RLIMIT_FSIZE part ran)"
else
  umount "$T/probe"; MOUNTS=()
  small_disk "$T/d_synth" 300
  "$SCARP" synth --out "$T/d_synth/area" --size $SIZE --events $EVENTS --quiet >"$T/d_synth.log" 2>&1
  RC=$?
  expect_disk_error "synth on a 300 KB file system" "$T/d_synth" "$T/d_synth.log" "No space left on device|disk full"

  small_disk "$T/d_prep" 1000
  "$SCARP" prepare "$T/area/study.ini" --out "$T/d_prep/run" --quiet >"$T/d_prep.log" 2>&1
  RC=$?
  expect_disk_error "prepare on a 1 MB file system" "$T/d_prep" "$T/d_prep.log" "No space left on device|disk full"

  small_disk "$T/d_train" $((run_kb + 2048))
  mkdir -p "$T/d_train/run" && cp "$T/area/run/dataset.bin" "$T/area/run/norm.bin" "$T/d_train/run/"
  fill "$T/d_train" 300
  "$SCARP" train "$T/area/study.ini" --model cnn_lstm --out "$T/d_train/run" --quiet >"$T/d_train.log" 2>&1
  RC=$?
  expect_disk_error "train with 300 KB free (model 1 MB)" "$T/d_train" "$T/d_train.log" "No space left on device|disk full"
  # space again: the rerun over the same folder completes and gives a loadable model
  rm -f "$T/d_train/.filler"
  "$SCARP" train "$T/area/study.ini" --model cnn_lstm --out "$T/d_train/run" --quiet >"$T/d_train2.log" 2>&1
  RC=$?
  if [ $RC = 0 ] && "$SCARP" info "$T/d_train/run/models/cnn_lstm.model" >/dev/null 2>&1 && check_complete "$T/d_train"; then
    ok "train rerun after freeing space: exit 0, cnn_lstm.model loads"
  else fail "train rerun after freeing space: exit $RC: $(tail -2 "$T/d_train2.log")"; fi

  if ! placeholder map; then
    small_disk "$T/d_map" $((run_kb + 2048))
    cp -r "$T/area/run" "$T/d_map/run"; rm -rf "$T/d_map/run/map"
    fill "$T/d_map" 100
    "$SCARP" map "$T/area/study.ini" --model cnn_lstm --out "$T/d_map/run" --quiet >"$T/d_map.log" 2>&1
    RC=$?
    expect_disk_error "map with 100 KB free" "$T/d_map" "$T/d_map.log" "No space left on device|disk full"
    rm -f "$T/d_map/.filler"
    "$SCARP" map "$T/area/study.ini" --model cnn_lstm --out "$T/d_map/run" --quiet >"$T/d_map2.log" 2>&1
    RC=$?
    if [ $RC = 0 ] && gdalinfo "$T/d_map/run/map/susceptibility.tif" >/dev/null 2>&1 && check_complete "$T/d_map"; then
      ok "map rerun after freeing space: exit 0, susceptibility.tif complete"
    else fail "map rerun after freeing space: exit $RC: $(tail -2 "$T/d_map2.log")"; fi
  fi
fi
[ $fails = 0 ] && echo "fault_disk: all passed" || echo "fault_disk: $fails failure(s)"
exit $((fails > 0))
