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

OUT="$TMP/area"
"$BIN" synth --preset mini --size 320x288 --events 30 --seed 5 --out "$OUT" --quiet
check '[ $? -eq 0 ]' "synth --size 320x288 runs"
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
