#!/usr/bin/env bash
# terrain_errors.sh — `scarp terrain` on bad input: missing file, not a raster, no CRS,
# all-nodata DEM, bad options. Each must print one line naming the problem, exit 1 (bad
# input) or 2 (usage), and leave no output file behind.   usage: terrain_errors.sh SCARP [DATA]
set -u
SCARP=${1:?usage: terrain_errors.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-terrain-err.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0

# expect CODE PATTERN -- args...: exit code, a pattern the single stderr line must contain
expect() {
  local code=$1 pattern=$2; shift 3
  rm -rf "$T/out"
  "$SCARP" terrain "$@" >"$T/stdout" 2>"$T/stderr"
  local rc=$? lines
  lines=$(wc -l <"$T/stderr")
  if [ "$rc" != "$code" ]; then echo "FAIL: terrain $* exited $rc, expected $code"; cat "$T/stderr"; fail=1; return; fi
  if [ "$lines" != 1 ]; then echo "FAIL: terrain $*: $lines lines on stderr, expected 1"; cat "$T/stderr"; fail=1; return; fi
  if ! grep -q -- "$pattern" "$T/stderr"; then echo "FAIL: terrain $*: message lacks '$pattern'"; cat "$T/stderr"; fail=1; return; fi
  if [ -d "$T/out" ] && [ -n "$(ls -A "$T/out")" ]; then echo "FAIL: terrain $*: left files: $(ls "$T/out")"; fail=1; return; fi
  echo "ok   exit $code: $(cat "$T/stderr")"
}

# A 6 x 5 ASCII grid; with a .prj it has a CRS, without one it has none.
asc() { # asc FILE NODATA_FILL(0|1)
  {
    echo "ncols 6"; echo "nrows 5"; echo "xllcorner 500000"; echo "yllcorner 4000000"; echo "cellsize 30"
    echo "NODATA_value -9999"
    for r in 1 2 3 4 5; do
      if [ "$2" = 1 ]; then echo "-9999 -9999 -9999 -9999 -9999 -9999"; else echo "$r 2 3 4 5 6"; fi
    done
  } >"$1"
}
asc "$T/nocrs.asc" 0
gdal_translate -q "$T/nocrs.asc" "$T/nocrs.tif" || { echo "FAIL: gdal_translate missing"; exit 1; }
gdal_translate -q -a_srs EPSG:32632 "$T/nocrs.asc" "$T/good.tif"
asc "$T/empty.asc" 1
gdal_translate -q -a_srs EPSG:32632 "$T/empty.asc" "$T/empty.tif"
echo "this is not a raster" >"$T/notraster.tif"

expect 1 "missing.tif" -- "$T/missing.tif" --out "$T/out"
expect 1 "notraster.tif" -- "$T/notraster.tif" --out "$T/out"
expect 1 "no CRS" -- "$T/nocrs.tif" --out "$T/out"
expect 1 "every cell is nodata" -- "$T/empty.tif" --out "$T/out"
expect 1 "notraster.tif/sub" -- "$T/good.tif" --out "$T/notraster.tif/sub"
expect 2 "--out" -- "$T/empty.tif"
expect 2 "--flow" -- "$T/empty.tif" --out "$T/out" --flow dinf
expect 2 "--threads" -- "$T/empty.tif" --out "$T/out" --threads many
expect 2 "--river-area" -- "$T/empty.tif" --out "$T/out" --river-area -5
expect 2 "unknown output 'bogus'" -- "$T/empty.tif" --out "$T/out" --only slope,bogus
expect 2 "missing the DEM" -- --out "$T/out"
exit $fail
