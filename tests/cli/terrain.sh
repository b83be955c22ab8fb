#!/usr/bin/env bash
# terrain.sh — `scarp terrain` on a small V-shaped valley DEM made here (no real data needed):
# every output exists with the DEM's grid and CRS, D8 and MFD both run, rivers follow the
# valley axis, --help works, and no ".partial" file is left.   usage: terrain.sh SCARP [DATA]
set -u
SCARP=${1:?usage: terrain.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-terrain.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL: $1"; fail=1; fi; }

# 31 x 40 cells of 30 m (values scaled by 0.1): side slopes 0.5 toward column 15, falling 0.05 southward
{
  echo "ncols 31"; echo "nrows 40"; echo "xllcorner 500000"; echo "yllcorner 4000000"; echo "cellsize 30"
  echo "NODATA_value -9999"
  for r in $(seq 0 39); do
    line=""
    for c in $(seq 0 30); do d=$(( c > 15 ? c - 15 : 15 - c )); line="$line $(( d * 150 + (40 - r) * 15 ))"; done
    echo "$line"
  done
} >"$T/valley.asc"
gdal_translate -q -a_srs EPSG:32632 -scale 0 1 0 0.1 -ot Float32 "$T/valley.asc" "$T/valley.tif"

check "--help exits 0" '"$SCARP" terrain --help | grep -q "scarp terrain DEM.tif"'
"$SCARP" terrain "$T/valley.tif" --out "$T/mfd" --threads 2 --quiet 2>"$T/err"
check "MFD run exits 0" '[ $? = 0 ]'
check "--quiet prints nothing" '[ ! -s "$T/err" ]'
for f in slope aspect plan_curvature profile_curvature filled flow_accumulation sca twi spi_ln rivers; do
  check "$f.tif written with the DEM's CRS and size" \
    'gdalinfo "$T/mfd/$f.tif" 2>/dev/null | grep -q "Size is 31, 40" && gdalinfo "$T/mfd/$f.tif" | grep -q "32632"'
done
check "no .partial file left" '[ -z "$(ls "$T/mfd" | grep partial)" ]'
# the outlet (axis, last row) collects the whole 31 x 40 x 900 m² = 1 116 000 m²
acc=$(gdallocationinfo -valonly "$T/mfd/flow_accumulation.tif" 15 39)
check "MFD outlet accumulation = whole DEM area ($acc)" 'awk -v a="$acc" "BEGIN{exit !(a > 1115000 && a < 1117000)}"'
"$SCARP" terrain "$T/valley.tif" --out "$T/d8" --flow d8 --river-area 20000 --quiet
check "D8 run exits 0" '[ $? = 0 ]'
riv_axis=$(gdallocationinfo -valonly "$T/d8/rivers.tif" 15 30)
riv_side=$(gdallocationinfo -valonly "$T/d8/rivers.tif" 3 30)
check "river on the valley axis ($riv_axis), none on the side ($riv_side)" '[ "$riv_axis" = 1 ] && [ "$riv_side" = 0 ]'
slope=$(gdallocationinfo -valonly "$T/d8/slope.tif" 5 20)
# dz/dx = 150 * 0.1 / 30 = 0.5 across the valley, dz/dy = 15 * 0.1 / 30 = 0.05 down it
check "side slope = atan(hypot(0.5, 0.05)) = 26.68 deg ($slope)" 'awk -v s="$slope" "BEGIN{exit !(s > 26.67 && s < 26.69)}"'
"$SCARP" terrain "$T/valley.tif" --out "$T/only" --only slope,twi.tif --quiet
check "--only slope,twi.tif writes exactly those two" '[ "$(ls "$T/only" | tr "\n" " ")" = "slope.tif twi.tif " ]'
cmp_slope=$(gdallocationinfo -valonly "$T/only/slope.tif" 5 20)
check "--only gives the same slope ($cmp_slope = $slope)" '[ "$cmp_slope" = "$slope" ]'
# a real geographic DEM (EPSG:4326, Int16, nodata -32768): slopes in degrees from true metres
NASADEM=${2:-}/dem/nasadem_N44W072_3arcsec.tif
if [ -n "${2:-}" ] && [ -f "$NASADEM" ]; then
  "$SCARP" terrain "$NASADEM" --out "$T/nasadem" --only slope --quiet
  mean=$(gdalinfo -stats "$T/nasadem/slope.tif" | sed -n 's/.*STATISTICS_MEAN=//p')
  # the same tile warped to UTM 19N gives 8.62 deg (tests/test_terrain_gdaldem.c)
  check "NASADEM mean slope $mean deg (UTM-warped: 8.62)" 'awk -v m="$mean" "BEGIN{exit !(m > 8.3 && m < 8.9)}"'
else
  echo "SKIP: ${NASADEM} absent: geographic CLI check not run"
fi
exit $fail
