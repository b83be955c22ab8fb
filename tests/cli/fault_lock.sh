#!/bin/bash
# fault_lock.sh — two runs on the same output folder at once: the second stops at once
# (exit 1, one line naming OUT/.scarp.lock and the holder) and touches nothing; the first
# finishes normally; a holder killed with -9 leaves no stale lock (flock is released by
# the kernel), so a rerun starts at once. The first run is held with SIGSTOP while it owns
# the lock, so the test does not depend on timing. The study is built by
# `test_map --fixture`. Usage: fault_lock.sh SCARP_BINARY [SHARED_DATA]
set -u
SCARP=$1
FIX=$(dirname "$SCARP")/tests/test_map
[ -x "$FIX" ] || { echo "SKIP: $FIX not built"; exit 0; }
T=$(mktemp -d /tmp/scarp_fault_lock.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/fault_lib.bash"
"$FIX" --fixture "$T" 120 90 >/dev/null 2>&1 || { echo "FAIL: fixture"; exit 1; }
OUT=$T/run
LOCK=$OUT/.scarp.lock

# start_holder: a map in the background, stopped (SIGSTOP) once it holds the lock
start_holder() {
  "$SCARP" map "$T/study.ini" --tile 16 --threads 1 --quiet > "$T/holder.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    grep -q "pid $PID" "$LOCK" 2>/dev/null && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.05
  done
  kill -STOP $PID 2>/dev/null
  grep -q "pid $PID" "$LOCK" 2>/dev/null
}

snapshot() { (cd "$OUT" && find . -type f ! -name '.scarp.lock*' -printf '%p %s %T@\n' | sort) > "$1"; }

if start_holder; then
  snapshot "$T/before"
  t0=$(date +%s.%N)
  "$SCARP" map "$T/study.ini" --tile 16 --quiet > "$T/second.out" 2> "$T/second.err"; rc=$?
  t1=$(date +%s.%N)
  snapshot "$T/after"
  secs=$(echo "$t1 - $t0" | bc)
  if [ $rc = 1 ] && [ "$(wc -l < "$T/second.err")" = 1 ] && grep -q "$LOCK: another scarp (pid $PID, scarp map) is working in" "$T/second.err"; then
    ok "second map on the same folder: exit 1 in ${secs}s: $(cat "$T/second.err")"
  else fail "second map: exit $rc, stderr: $(cat "$T/second.err")"; fi
  [ "$(echo "$secs < 10" | bc)" = 1 ] || fail "second map took ${secs}s to give up (it must not wait)"
  if cmp -s "$T/before" "$T/after"; then ok "the refused run touched no file of the folder"
  else fail "the refused run changed the folder: $(diff "$T/before" "$T/after" | head -5)"; fi
  # other commands collide on the same lock
  "$SCARP" evaluate "$T/study.ini" --quiet 2> "$T/eval.err"; rc=$?
  [ $rc = 1 ] && grep -q "\.scarp\.lock: another scarp" "$T/eval.err" && ok "evaluate on the same folder is refused too" \
    || fail "evaluate during a map: exit $rc: $(cat "$T/eval.err")"
  # the holder goes on and finishes normally
  kill -CONT $PID
  wait $PID; rc=$?; PID=
  [ $rc = 0 ] && ok "the first map finishes (exit 0)" || fail "the first map: exit $rc: $(tail -3 "$T/holder.log")"
  check_complete "$OUT" && ok "every final file of the run folder is complete" || fail "a final file is incomplete"
  gdalinfo -stats "$OUT/map/susceptibility.tif" >/dev/null 2>&1 && ok "susceptibility.tif reads" || fail "susceptibility.tif unreadable"
else
  fail "the map never took the lock: $(head -3 "$T/holder.log")"
fi

# kill -9 while holding the lock: the rerun starts at once
if start_holder; then
  kill -9 $PID; wait $PID 2>/dev/null; PID=
  "$SCARP" map "$T/study.ini" --tile 16 --quiet > "$T/rerun.out" 2> "$T/rerun.err"; rc=$?
  [ $rc = 0 ] && ok "after kill -9 of the holder, a rerun takes the lock and completes" \
    || fail "rerun after kill -9: exit $rc: $(cat "$T/rerun.err")"
else
  fail "second holder never took the lock"
fi

# a folder where the lock cannot be created: one line naming it
mkdir -p "$T/ro" && touch "$T/ro/.scarp.lock" && chattr +i "$T/ro/.scarp.lock" 2>/dev/null && {
  "$SCARP" map "$T/study.ini" --out "$T/ro" --quiet 2> "$T/ro.err"; rc=$?
  chattr -i "$T/ro/.scarp.lock"
  [ $rc = 1 ] && grep -q "ro/.scarp.lock: cannot create the run-folder lock" "$T/ro.err" \
    && ok "an unwritable lock file: $(cat "$T/ro.err")" || fail "unwritable lock: exit $rc: $(cat "$T/ro.err")"
} || skip "chattr +i not available: unwritable-lock case not run"
[ $fails = 0 ] || exit 1
echo "ok: run-folder lock"
