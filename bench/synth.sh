#!/usr/bin/env bash
# synth.sh — wall time and peak RSS of `scarp synth` (issue 3) for mini, kerman and a
# 10000 × 10000 province, with /usr/bin/time -v. Median of REPEATS runs (default 3; the
# 10000² size runs BIG_REPEATS times, default 1). Results go to stdout as a Markdown table.
# Usage: bench/synth.sh BUILD_DIR [TMPDIR]
set -eu
BIN=${1:-build}/scarp
TMP=${2:-$(mktemp -d)}
mkdir -p "$TMP"
REPEATS=${REPEATS:-3}
BIG_REPEATS=${BIG_REPEATS:-1}
run() { # name, repeats, args...
  local name=$1 reps=$2; shift 2
  local times=() rss=()
  for i in $(seq "$reps"); do
    rm -rf "$TMP/out"
    /usr/bin/time -v "$BIN" synth "$@" --out "$TMP/out" --quiet 2> "$TMP/time.txt"
    times+=("$(awk -F': ' '/Elapsed/ {n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$TMP/time.txt")")
    rss+=("$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$TMP/time.txt")")
  done
  local mt mr
  mt=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  mr=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  local size; size=$(du -sm "$TMP/out" | cut -f1)
  echo "| $name | $* | $reps | $mt | $mr | $size |"
}
echo "| case | arguments | runs | median wall (s) | median peak RSS (MB) | output (MB) |"
echo "|---|---|---|---|---|---|"
run mini "$REPEATS" --preset mini
run kerman "$REPEATS" --preset kerman
run 10000x10000 "$BIG_REPEATS" --preset kerman --size 10000x10000
rm -rf "$TMP/out"
