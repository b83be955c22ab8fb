#!/usr/bin/env bash
# fault_readonly.sh — an output folder that cannot be written: exit 1, one line naming
# the folder and the cause, nothing written. The tests run as root, for whom chmod does
# not stop writes, so three other ways are used:
#   * OUT below a regular file (ENOTDIR)                         — always
#   * a read-only bind mount of the output folder (EROFS)        — when mount is permitted
#   * chattr -R +i on the output folder (EPERM)               — when the file system supports it
# The run folder read-only holds a prepared dataset and a model, so train and map fail
# at their first write, not at the missing input.
# usage: fault_readonly.sh SCARP [SHARED_DATA]
set -u
SCARP=${1:?usage: fault_readonly.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-fault-ro.XXXXXX")
MOUNTS=() IMMUTABLE=()
cleanup() {
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
  for d in "${IMMUTABLE[@]}"; do chattr -R -i "$d" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
. "$(dirname "$0")/fault_lib.bash"
export OMP_NUM_THREADS=2

# expect_ro WHAT PATTERN DIR -- CMD...: exit 1, one line matching PATTERN, DIR unchanged.
expect_ro() {
  local what=$1 pattern=$2 dir=$3
  shift 4
  local before after
  before=$(find "$dir" 2>/dev/null | sort | md5sum)
  "$@" >"$T/out.log" 2>"$T/err.log"
  local rc=$?
  after=$(find "$dir" 2>/dev/null | sort | md5sum)
  if [ $rc != 1 ]; then fail "$what: exit $rc, expected 1: $(head -2 "$T/err.log")"; return; fi
  one_line_error "$T/err.log" "$pattern" "$what" || return
  [ "$before" = "$after" ] || { fail "$what: the read-only folder changed"; return; }
  ok "$what: exit 1, '$(cat "$T/err.log")'"
}

"$SCARP" synth --out "$T/area" --size 192x192 --events 40 --quiet || { fail "synth failed"; exit 1; }
sed -i 's/^epochs *=.*/epochs = 1/' "$T/area/study.ini"
"$SCARP" prepare "$T/area/study.ini" --quiet >/dev/null || { fail "prepare failed"; exit 1; }
"$SCARP" train "$T/area/study.ini" --model mlp --quiet >/dev/null || { fail "train failed"; exit 1; }
INI=$T/area/study.ini

# ---- below a regular file ---------------------------------------------------------------
touch "$T/file"
expect_ro "synth --out FILE/x" "$T/file/x.*(Not a directory|not a folder)" "$T/file" -- "$SCARP" synth --out "$T/file/x" --size 192x192 --quiet
expect_ro "prepare --out FILE/x" "$T/file/x.*(Not a directory|not a folder)" "$T/file" -- "$SCARP" prepare "$INI" --out "$T/file/x" --quiet
expect_ro "terrain --out FILE/x" "$T/file/x.*(Not a directory|not a folder)" "$T/file" -- "$SCARP" terrain "$T/area/dem.tif" --out "$T/file/x" --quiet

# ---- a read-only bind mount ---------------------------------------------------------------
cp -r "$T/area/run" "$T/ro_run"
if mount --bind "$T/ro_run" "$T/ro_run" 2>/dev/null && MOUNTS+=("$T/ro_run") && mount -o remount,bind,ro "$T/ro_run" 2>/dev/null \
   && ! touch "$T/ro_run/.probe" 2>/dev/null; then
  expect_ro "train into a read-only run folder" "$T/ro_run.*Read-only file system" "$T/ro_run" -- "$SCARP" train "$INI" --model logreg --out "$T/ro_run" --quiet
  if placeholder map; then skip "map is still a placeholder"; else
    expect_ro "map into a read-only run folder" "$T/ro_run.*Read-only file system" "$T/ro_run" -- "$SCARP" map "$INI" --model mlp --out "$T/ro_run" --quiet
  fi
  expect_ro "synth into a read-only folder" "$T/ro_run/x.*Read-only file system" "$T/ro_run" -- "$SCARP" synth --out "$T/ro_run/x" --size 192x192 --quiet
else
  skip "read-only bind mounts are not permitted here"
fi

# ---- chattr +i ------------------------------------------------------------------------------
cp -r "$T/area/run" "$T/imm_run"
if chattr -R +i "$T/imm_run" 2>/dev/null && IMMUTABLE+=("$T/imm_run") && ! touch "$T/imm_run/.probe" 2>/dev/null; then
  expect_ro "train into an immutable (chattr +i) run folder" "$T/imm_run.*(Operation not permitted|Permission denied)" "$T/imm_run" -- "$SCARP" train "$INI" --model logreg --out "$T/imm_run" --quiet
  if ! placeholder map; then
    expect_ro "map into an immutable run folder" "$T/imm_run.*(Operation not permitted|Permission denied)" "$T/imm_run" -- "$SCARP" map "$INI" --model mlp --out "$T/imm_run" --quiet
  fi
else
  skip "chattr +i is not supported on this file system"
fi
[ $fails = 0 ] && echo "fault_readonly: all passed" || echo "fault_readonly: $fails failure(s)"
exit $((fails > 0))
