#!/usr/bin/env bash
# synth.sh — `scarp synth` from the command line: usage errors (exit 2), a small province
# whose files open with gdalinfo/ogrinfo carrying EPSG:32640 and nodata, rivers that descend
# downstream (DEM sampled at each line's first and last vertex, with GDAL's Python bindings),
# and the exact event count.  Usage: synth.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

"$BIN" synth --help > "$TMP/help.txt"; check '[ $? -eq 0 ] && grep -q "examples" "$TMP/help.txt"' "--help exits 0 with examples"
"$BIN" synth --preset mini 2> "$TMP/err.txt"; check '[ $? -eq 2 ] && grep -q -- "--out" "$TMP/err.txt"' "missing --out is a usage error"
"$BIN" synth --preset nowhere --out "$TMP/x" 2> "$TMP/err.txt"; check '[ $? -eq 2 ] && grep -q "preset" "$TMP/err.txt"' "unknown preset is a usage error"
"$BIN" synth --size 12x5000 --out "$TMP/x" 2> "$TMP/err.txt"; check '[ $? -eq 2 ] && grep -q "size" "$TMP/err.txt"' "bad --size is a usage error"
check '[ ! -e "$TMP/x" ]' "no output after a usage error"

# issue 18: only the kerman preset asks for the Kerman study's table in its report
"$BIN" synth --preset kerman --size 160x160 --events 20 --seed 3 --out "$TMP/kerman" --quiet
check '[ $? -eq 0 ] && grep -q "^reference = kerman" "$TMP/kerman/study.ini"' "kerman preset writes [report] reference = kerman"
OUT="$TMP/area"
"$BIN" synth --preset mini --size 320x288 --events 30 --seed 5 --out "$OUT" --quiet
check '[ $? -eq 0 ]' "synth --size 320x288 runs"
check '! grep -q "^reference = kerman" "$OUT/study.ini"' "mini preset writes no [report] reference"
for f in dem erg landuse aap red nir truth; do
  info=$(gdalinfo "$OUT/$f.tif" 2>&1)
  check 'echo "$info" | grep -q "32640" && echo "$info" | grep -q "NoData Value" && echo "$info" | grep -q "Size is 320, 288"' "gdalinfo $f.tif: CRS, nodata, size"
done
check 'gdalinfo "$OUT/erg.tif" | grep -q "Categories"' "erg.tif carries class names"
for f in faults rivers roads reservoirs landslides; do
  info=$(ogrinfo -ro -al -so "$OUT/$f.gpkg" 2>&1)
  n=$(echo "$info" | sed -n 's/^Feature Count: //p')
  check 'echo "$info" | grep -q "32640" && [ "${n:-0}" -gt 0 ]' "ogrinfo $f.gpkg: CRS and $n features"
done
check '[ $(($(wc -l < "$OUT/landslides.csv") - 1)) -eq 30 ]' "30 events in landslides.csv"
check '[ "$(head -1 "$OUT/landslides.csv")" = "x,y,date" ] && [ "$(head -1 "$OUT/stations.csv")" = "id,x,y" ]' "CSV headers"
check 'ls "$OUT" | grep -q partial; [ $? -ne 0 ]' "no partial file left"

# Small areas (issue 13: below 200 x 200 cells the roads layer used to be empty, and a
# study's [distance.roads] then failed): every size from the smallest has roads inside the
# area, and the small study prepares.
for size in 64x64 96x160 150x150; do
  S="$TMP/small_$size"
  "$BIN" synth --size $size --events 10 --out "$S" --quiet
  check '[ $? -eq 0 ]' "synth --size $size runs"
  n=$(ogrinfo -ro -al -so "$S/roads.gpkg" 2>&1 | sed -n 's/^Feature Count: //p')
  check '[ "${n:-0}" -gt 0 ]' "synth --size $size: roads.gpkg has $n roads"
  # every road vertex inside the area (DEM extent)
  ext=$(gdalinfo "$S/dem.tif" | sed -n -e 's/^Upper Left *( *\([0-9.]*\), *\([0-9.]*\)).*/\1 \2/p' -e 's/^Lower Right *( *\([0-9.]*\), *\([0-9.]*\)).*/\1 \2/p' | tr '\n' ' ')
  out=$(ogrinfo -ro -al "$S/roads.gpkg" | grep LINESTRING | tr -d 'LINESTRING()' | tr ',' '\n' |
        awk -v e="$ext" 'BEGIN{split(e,a," ")} NF==2{ if ($1<a[1]||$1>a[3]||$2<a[4]||$2>a[2]) bad++; n++ } END{print n+0, bad+0}')
  check '[ "${out% *}" -gt 1 ] && [ "${out#* }" -eq 0 ]' "synth --size $size: road vertices (count, outside) = $out inside $ext"
done
"$BIN" prepare "$TMP/small_150x150/study.ini" --quiet 2> "$TMP/err.txt"
check '[ $? -eq 0 ]' "prepare on a 150x150 area (its roads distance layer): $(head -1 "$TMP/err.txt")"

PY=/usr/bin/python3
if $PY -c "from osgeo import gdal, ogr" 2>/dev/null; then
  $PY - "$OUT" <<'PYEOF'
import sys
from osgeo import gdal, ogr
d = sys.argv[1]
ds = gdal.Open(d + "/dem.tif"); gt = ds.GetGeoTransform(); z = ds.GetRasterBand(1).ReadAsArray()
def at(x, y):
    return float(z[int((y - gt[3]) / gt[5]), int((x - gt[0]) / gt[1])])
src = ogr.Open(d + "/rivers.gpkg"); lyr = src.GetLayer(0)
n = up = 0
for f in lyr:
    g = f.GetGeometryRef(); pts = g.GetPoints()
    if len(pts) < 3: continue
    n += 1; up += at(*pts[0][:2]) < at(*pts[-1][:2]) - 1.0
print("rivers checked:", n, "rising:", up)
sys.exit(0 if n > 0 and up <= 0.05 * n else 1)
PYEOF
  check '[ $? -eq 0 ]' "rivers descend downstream"
else
  echo "SKIP rivers descend downstream: /usr/bin/python3 has no GDAL bindings"
fi
exit $fail
