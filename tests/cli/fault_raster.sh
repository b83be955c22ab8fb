#!/usr/bin/env bash
# fault_raster.sh — a raster with a corrupt compressed block, and a truncated raster:
# `scarp terrain` and `scarp prepare` must stop with exit 1 and one line naming the file,
# never produce a map from garbage, never leave output under a final name.
# The corrupt file is a tiled DEFLATE GeoTIFF (gdal_translate -co TILED=YES) whose tile
# (1, 1) has 64 bytes overwritten just after its zlib header (an invalid DEFLATE block).
# usage: fault_raster.sh SCARP [SHARED_DATA]
set -u
SCARP=${1:?usage: fault_raster.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-fault-raster.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/fault_lib.bash"
export OMP_NUM_THREADS=2
command -v gdal_translate >/dev/null || { skip "gdal_translate missing"; exit 0; }

"$SCARP" synth --out "$T/area" --size 192x192 --events 40 --quiet || { fail "synth failed"; exit 1; }
gdal_translate -q -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 -co COMPRESS=DEFLATE \
  "$T/area/dem.tif" "$T/corrupt.tif" || { fail "gdal_translate failed"; exit 1; }
"$PY" - "$T/corrupt.tif" <<'PYEOF' || { fail "could not corrupt the tile"; exit 1; }
import sys
from osgeo import gdal
p = sys.argv[1]
ds = gdal.Open(p)
b = ds.GetRasterBand(1)
off = int(b.GetMetadataItem("BLOCK_OFFSET_1_1", "TIFF"))
size = int(b.GetMetadataItem("BLOCK_SIZE_1_1", "TIFF"))
assert size > 200, size
ds = None
with open(p, "r+b") as f:
    f.seek(off + 2)
    f.write(bytes((i * 37 + 11) & 0xFF for i in range(64)))
PYEOF
# the corruption is real: GDAL itself fails to read that block
gdalinfo -checksum "$T/corrupt.tif" >/dev/null 2>"$T/gdal.err"
grep -q ERROR "$T/gdal.err" || { fail "the corrupted tile still decodes: test input not corrupt"; }
cp "$T/area/dem.tif" "$T/truncated.tif"
truncate -s $(( $(stat -c %s "$T/area/dem.tif") / 2 )) "$T/truncated.tif"

expect_bad_raster() { # WHAT FILE OUTDIR -- CMD...
  local what=$1 file=$2 out=$3
  shift 4
  "$@" >"$T/out.log" 2>"$T/err.log"
  local rc=$?
  if [ $rc != 1 ]; then fail "$what: exit $rc, expected 1: $(head -2 "$T/err.log")"; return; fi
  one_line_error "$T/err.log" "$(basename "$file")" "$what" || return
  if [ -d "$out" ] && ! check_complete "$out"; then fail "$what: incomplete output under a final name"; return; fi
  local finals
  finals=$(find "$out" -name '*.tif' ! -name '*.partial' 2>/dev/null | grep -v '/stack.partial/' | head -3)
  [ -z "$finals" ] || { fail "$what: final rasters written from a corrupt input: $finals"; return; }
  ok "$what: exit 1, '$(cat "$T/err.log")'"
}
for f in corrupt truncated; do
  if placeholder terrain; then skip "terrain is a placeholder"; else
    expect_bad_raster "terrain on a $f DEM" "$T/$f.tif" "$T/terrain_$f" -- "$SCARP" terrain "$T/$f.tif" --out "$T/terrain_$f" --quiet
  fi
  sed "s#^path = dem.tif#path = $T/$f.tif#" "$T/area/study.ini" >"$T/area/study_$f.ini"
  expect_bad_raster "prepare with a $f DEM" "$T/$f.tif" "$T/prep_$f" -- "$SCARP" prepare "$T/area/study_$f.ini" --out "$T/prep_$f" --quiet
done
[ $fails = 0 ] && echo "fault_raster: all passed" || echo "fault_raster: $fails failure(s)"
exit $((fails > 0))
