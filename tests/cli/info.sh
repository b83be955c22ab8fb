#!/usr/bin/env bash
# scarp info on rasters: statistics against a hand-computed grid and against gdalinfo on
# the real NASADEM tile; bad input is one line with exit 1, usage errors exit 2.
set -u
BIN=$1
DATA=${2:-}
T=$(mktemp -d /tmp/scarp_cli_info_XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; else echo "ok   $2"; fi; }

# A 4 x 3 grid with one nodata cell: valid 11 cells, min -2.5, max 40, mean 86.5/11 = 7.8636364.
cat > "$T/g.asc" <<'ASC'
ncols 4
nrows 3
xllcorner 500000
yllcorner 4980000
cellsize 30
NODATA_value -9999
1 2 3 4
5 -9999 7 8
9 10 -2.5 40
ASC
gdal_translate -q -a_srs EPSG:32633 -ot Float32 "$T/g.asc" "$T/g.tif" || { echo "gdal_translate missing"; exit 1; }
out=$("$BIN" info "$T/g.tif"); rc=$?
echo "$out"
check '[ $rc -eq 0 ]' "raster: exit 0"
check 'grep -q "CRS *EPSG:32633" <<<"$out"' "raster: CRS name"
check 'grep -q "4 x 3 cells (12)" <<<"$out"' "raster: size"
check 'grep -q "resolution *30 x 30" <<<"$out"' "raster: resolution"
check 'grep -q "extent *500000 4980000 500120 4980090" <<<"$out"' "raster: extent"
check 'grep -q "band 1: Float32, nodata -9999" <<<"$out"' "raster: band type and nodata"
check 'grep -q "valid 11 cells (91.67 %), min -2.5, max 40, mean 7.8636364" <<<"$out"' "raster: stats"

# The real DEM: min/max/mean equal gdalinfo's exact statistics.
DEM="$DATA/dem/nasadem_N44W072_3arcsec.tif"
if [ -n "$DATA" ] && [ -f "$DEM" ]; then
  cp "$DEM" "$T/dem.tif"   # gdalinfo -stats writes an .aux.xml: never next to the shared file
  ref=$(gdalinfo -stats "$T/dem.tif" | grep -E "STATISTICS_(MINIMUM|MAXIMUM|MEAN)=" | sort)
  gmin=$(grep MINIMUM <<<"$ref" | cut -d= -f2); gmax=$(grep MAXIMUM <<<"$ref" | cut -d= -f2)
  gmean=$(grep MEAN <<<"$ref" | cut -d= -f2)
  out=$("$BIN" info "$T/dem.tif")
  line=$(grep "valid " <<<"$out")
  echo "gdalinfo: min $gmin max $gmax mean $gmean | scarp: $line"
  smin=$(sed -E 's/.*min ([^,]+),.*/\1/' <<<"$line"); smax=$(sed -E 's/.*max ([^,]+),.*/\1/' <<<"$line")
  smean=$(sed -E 's/.*mean ([^ ]+).*/\1/' <<<"$line")
  check "awk -v a=$smin -v b=$gmin 'BEGIN{exit !(a==b)}'" "NASADEM: min equals gdalinfo"
  check "awk -v a=$smax -v b=$gmax 'BEGIN{exit !(a==b)}'" "NASADEM: max equals gdalinfo"
  check "awk -v a=$smean -v b=$gmean 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d<1e-4)}'" "NASADEM: mean equals gdalinfo"
  check 'grep -q "EPSG:4326 (geographic, degrees)" <<<"$out"' "NASADEM: geographic CRS"
  check 'grep -q "Int16, nodata -32768" <<<"$out"' "NASADEM: type and nodata"
else
  echo "SKIP: $DEM absent: NASADEM comparison with gdalinfo not run"
fi

# Bad input: one line on stderr, exit 1; usage: exit 2.
err=$("$BIN" info "$T/missing.tif" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l <<<"$err") -eq 1 ] && grep -q "missing.tif" <<<"$err"' "missing file: exit 1, one line naming it"
echo "not a raster" > "$T/notes.txt"
err=$("$BIN" info "$T/notes.txt" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l <<<"$err") -eq 1 ] && grep -q "notes.txt" <<<"$err"' "not a raster: exit 1, one line naming it"
err=$("$BIN" info "$T" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 1 ] && grep -q "not a run folder" <<<"$err"' "plain folder: exit 1"
"$BIN" info >/dev/null 2>&1; rc=$?
check '[ $rc -eq 2 ]' "no FILE: exit 2"
"$BIN" info --bogus x >/dev/null 2>&1; rc=$?
check '[ $rc -eq 2 ]' "unknown option: exit 2"
"$BIN" info --help | grep -q "usage: scarp info"; rc=$?
check '[ $rc -eq 0 ]' "--help"
exit $fail
