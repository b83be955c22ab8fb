#!/usr/bin/env bash
# fault_inputs.sh — every bad input of docs/ROBUSTNESS.md through the CLI: each must end
# with exit 1 (2 for usage) and ONE line on stderr naming the file (and line, column or
# key) and what is wrong, and leave no output under a final name; the accepted-but-
# imperfect inputs (NaN/Inf raster cells, empty/NA rainfall cells, points off the grid)
# must be masked or dropped AND counted in the run's reports.
# usage: fault_inputs.sh SCARP [SHARED_DATA]
set -u
SCARP=${1:?usage: fault_inputs.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-fault-inputs.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/fault_lib.bash"
export OMP_NUM_THREADS=2
A=$T/area

"$SCARP" synth --out "$A" --size 192x192 --events 40 --quiet || { fail "synth failed"; exit 1; }
sed -i 's/^epochs *=.*/epochs = 1/' "$A/study.ini"
"$SCARP" prepare "$A/study.ini" --quiet >/dev/null || { fail "prepare failed"; exit 1; }
"$SCARP" train "$A/study.ini" --model mlp --quiet >/dev/null || { fail "train failed"; exit 1; }

# cfg NAME SED...: a copy of study.ini (in the area folder, so relative paths still work)
cfg() { local n=$1; shift; sed "$@" "$A/study.ini" >"$A/$n.ini"; echo "$A/$n.ini"; }
# bad CODE PATTERN WHAT -- CMD...: exit CODE, one stderr line matching PATTERN (grep -E)
bad() {
  local code=$1 pattern=$2 what=$3
  shift 4
  "$@" >"$T/out.log" 2>"$T/err.log"
  local rc=$?
  if [ $rc != "$code" ]; then fail "$what: exit $rc, expected $code: $(head -3 "$T/err.log")"; return; fi
  one_line_error "$T/err.log" "$pattern" "$what" || return
  echo "ok   $what | exit $rc | $(sed "s#$T/##g" "$T/err.log")"
}
prep() { "$SCARP" prepare "$1" --out "$T/o_$(basename "$1" .ini)" --quiet; }
no_final() { # DIR: nothing under a final name except the (crash-safe) logs
  [ -d "$1" ] || return 0
  check_complete "$1" || fail "$1: incomplete output under a final name"
}

# ---- rasters ------------------------------------------------------------------------------
echo "not a raster" >"$A/text.tif"
gdal_translate -q -of AAIGrid "$A/dem.tif" "$A/nocrs.asc" && rm -f "$A/nocrs.prj" "$A/nocrs.asc.aux.xml"
gdal_translate -q -a_srs EPSG:4326 "$A/aap.tif" "$A/aap_wrongcrs.tif"
gdal_translate -q -a_ullr 900000 3000000 905760 2994240 "$A/aap.tif" "$A/aap_far.tif"
gdal_calc.py --quiet -A "$A/dem.tif" --outfile="$A/dem_empty.tif" --calc="A*0-9999" --NoDataValue=-9999 >/dev/null 2>&1 \
  || "$PY" -c "
from osgeo import gdal; import numpy as np
s=gdal.Open('$A/dem.tif'); d=gdal.GetDriverByName('GTiff').CreateCopy('$A/dem_empty.tif', s)
b=d.GetRasterBand(1); b.SetNoDataValue(-9999); b.WriteArray(np.full((s.RasterYSize,s.RasterXSize),-9999,'f4')); d=None"
bad 1 "nope\.tif" "missing raster file" -- prep "$(cfg missing -e 's#^path = dem.tif#path = nope.tif#')"
bad 1 "text\.tif" "not a raster" -- prep "$(cfg notraster -e 's#^path = dem.tif#path = text.tif#')"
bad 1 "nocrs\.asc.*(CRS|coordinate)" "raster without CRS" -- prep "$(cfg nocrs -e 's#^path = dem.tif#path = nocrs.asc#')"
bad 1 "aap_wrongcrs\.tif" "raster in a wrong CRS (UTM numbers labelled EPSG:4326)" -- prep "$(cfg wrongcrs -e 's#^path = aap.tif#path = aap_wrongcrs.tif#')"
bad 1 "aap_far\.tif.*(overlap|outside)" "layer that does not overlap the grid" -- prep "$(cfg far -e 's#^path = aap.tif#path = aap_far.tif#')"
bad 1 "dem_empty\.tif" "all-nodata DEM" -- prep "$(cfg empty -e 's#^path = dem.tif#path = dem_empty.tif#')"
bad 1 "s2\.tif|red_missing\.tif" "missing NDVI band file" -- prep "$(cfg ndvi -e 's#^red = red.tif:1#red = red_missing.tif:1#')"
bad 1 "red\.tif.*band" "NDVI band that does not exist" -- prep "$(cfg band -e 's#^red = red.tif:1#red = red.tif:7#')"

# ---- vectors and the inventory ---------------------------------------------------------------
awk -F, 'BEGIN{OFS=","} NR>1{$2=$2+1000000} {print}' "$A/landslides.csv" >"$A/ls_off.csv"
awk -F, 'BEGIN{OFS=","} NR==5{$0=$0",extra"} {print}' "$A/landslides.csv" >"$A/ls_badline.csv"
awk -F, 'BEGIN{OFS=","} NR==6{$2="12a"} {print}' "$A/landslides.csv" >"$A/ls_badnum.csv"
awk -F, 'BEGIN{OFS=","} NR>1 && NR<=6{$2=$2+1000000} {print}' "$A/landslides.csv" >"$A/ls_some_off.csv"
echo "not a vector" >"$A/faults_text.gpkg"
bad 1 "ls_off\.csv" "inventory entirely off the grid" -- prep "$(cfg off -e 's#^path = landslides.csv#path = ls_off.csv#')"
bad 1 "ls_badline\.csv:5: column" "malformed CSV line (an extra field)" -- prep "$(cfg badline -e 's#^path = landslides.csv#path = ls_badline.csv#')"
bad 1 "ls_badnum\.csv:6: column 2" "non-numeric coordinate" -- prep "$(cfg badnum -e 's#^path = landslides.csv#path = ls_badnum.csv#')"
bad 1 "landslides\.csv.*'east'" "unknown inventory column" -- prep "$(cfg col -e 's#^x = x#x = east#')"
bad 1 "faults_text\.gpkg" "not a vector" -- prep "$(cfg vec -e 's#^path = faults.gpkg#path = faults_text.gpkg#')"
bad 1 "EPSG:999999|crs" "unknown CRS code" -- prep "$(cfg crs -e 's#^crs = EPSG:32640#crs = EPSG:999999#')"
# some points off the grid: accepted, dropped AND counted
c=$(cfg someoff -e 's#^path = landslides.csv#path = ls_some_off.csv#')
if prep "$c" >/dev/null 2>"$T/err.log"; then
  if grep -q -E "dropped off the grid: 5$" "$T/o_someoff/prepare_summary.txt"; then
    ok "5 inventory points off the grid: dropped and counted ('dropped off the grid: 5' in prepare_summary.txt, listed in prepare_dropped.csv)"
  else fail "5 points off the grid: not counted in prepare_summary.txt: $(grep -E 'off the grid' "$T/o_someoff/prepare_summary.txt")"; fi
else fail "5 points off the grid: prepare failed: $(cat "$T/err.log")"; fi

# ---- rainfall and other station series --------------------------------------------------------
setcell() { awk -F, -v v="$2" 'BEGIN{OFS=","} NR==40{$2=v} {print}' "$A/rainfall.csv" >"$A/$1.csv"; }
for v in inf 1e999 -inf; do
  setcell rain_bad "$v"
  bad 1 "rain_bad\.csv:40: column 2 \('S01'\): '$v' is not a number" "rainfall cell '$v'" -- prep "$(cfg rain -e 's#^rainfall = rainfall.csv#rainfall = rain_bad.csv#')"
done
setcell rain_huge 1e300
bad 1 "rain_huge\.csv:40: column 2 \('S01'\): value 1e\+300 is beyond the float range" "rainfall cell '1e300' (finite, beyond float32)" -- prep "$(cfg huge -e 's#^rainfall = rainfall.csv#rainfall = rain_huge.csv#')"
setcell rain_na NA
c=$(cfg na -e 's#^rainfall = rainfall.csv#rainfall = rain_na.csv#')
if prep "$c" >/dev/null 2>"$T/err.log"; then
  n0=$(grep -E -o "[0-9]+ missing days filled" "$A/run/prepare_summary.txt" | head -1 | cut -d' ' -f1)
  n1=$(grep -E -o "[0-9]+ missing days filled" "$T/o_na/prepare_summary.txt" | head -1 | cut -d' ' -f1)
  if [ -n "$n1" ] && [ "$n1" = $(( ${n0:-0} + 1 )) ]; then
    ok "rainfall cell 'NA': a gap, interpolated and counted ('$n1 missing days filled by linear interpolation', one more than the $n0 of the clean series)"
  else fail "rainfall cell 'NA': gap count $n1, expected ${n0:-0} + 1"; fi
else fail "rainfall cell 'NA' rejected: $(cat "$T/err.log")"; fi
awk -F, 'NR==1{print; next} {print "x" $0}' "$A/rainfall.csv" >"$A/rain_date.csv"
bad 1 "rain_date\.csv:2: column 1 \('date'\)" "malformed date" -- prep "$(cfg date -e 's#^rainfall = rainfall.csv#rainfall = rain_date.csv#')"
sed '1s/S01/S99/' "$A/rainfall.csv" >"$A/rain_station.csv"
bad 1 "rain_station\.csv:1: column 2 \('S99'\)" "series column that is not a station" -- prep "$(cfg st -e 's#^rainfall = rainfall.csv#rainfall = rain_station.csv#')"

# ---- NaN / Inf raster cells: masked and counted ------------------------------------------------
"$PY" - "$A/dem.tif" "$A/dem_naninf.tif" <<'PYEOF'
import sys
from osgeo import gdal
import numpy as np
s = gdal.Open(sys.argv[1])
d = gdal.GetDriverByName("GTiff").CreateCopy(sys.argv[2], s)
b = d.GetRasterBand(1)
a = b.ReadAsArray()
a[50:55, 60:65] = np.inf     # 25 cells +Inf
a[100, 10:30] = np.nan       # 20 cells NaN
a[120:122, 120:122] = -np.inf  # 4 cells -Inf
b.WriteArray(a)
d = None
PYEOF
c=$(cfg naninf -e 's#^path = dem.tif#path = dem_naninf.tif#')
if prep "$c" >/dev/null 2>"$T/err.log"; then
  "$PY" - "$T/o_naninf" <<'PYEOF' && ok "DEM with 49 NaN/Inf cells: masked (stack and preflight report them void, no Inf in the stack)" || fail "DEM with NaN/Inf cells: not masked or not counted"
import glob, json, os, sys
from osgeo import gdal
import numpy as np
out = sys.argv[1]
pf = json.load(open(os.path.join(out, "preflight.json")))
text = json.dumps(pf)
assert "void" in text, "preflight.json has no void counts"
for p in glob.glob(os.path.join(out, "stack", "*.tif")):
    ds = gdal.Open(p)
    a = ds.GetRasterBand(1).ReadAsArray().astype("f8")
    ds = None
    assert not np.isinf(a).any(), p + " holds an infinity"
PYEOF
else fail "DEM with NaN/Inf cells: prepare failed: $(cat "$T/err.log")"; fi

# ---- config --------------------------------------------------------------------------------------
bad 1 "study_k\.ini:[0-9]+: unknown key 'epoch' in \[model\] \(did you mean 'epochs'\?\)" "unknown config key" -- prep "$(cfg study_k -e 's#^epochs = 1#epoch = 1#')"
bad 1 "study_v\.ini:[0-9]+: 'epochs' must be a whole number \(got 'many'\)" "bad config value" -- prep "$(cfg study_v -e 's#^epochs = 1#epochs = many#')"
bad 1 "study_s\.ini:[0-9]+: unknown section \[modle\]" "unknown config section" -- prep "$(cfg study_s -e 's#^\[model\]#[modle]#')"
bad 1 "nothere\.ini: cannot read the config file: cannot open: No such file or directory$" "missing config file" -- prep "$A/nothere.ini"
bad 2 "." "unknown option" -- "$SCARP" prepare "$A/study.ini" --bogus

# ---- damaged products ----------------------------------------------------------------------------
M=$A/run/models/mlp.model
cp -r "$A/run" "$T/r_dmg"
printf '\x55' | dd of="$T/r_dmg/models/mlp.model" bs=1 seek=200 conv=notrunc status=none
bad 1 "mlp\.model.*(checksum|CRC|damaged)" "damaged model file (one byte)" -- "$SCARP" map "$A/study.ini" --model mlp --out "$T/r_dmg" --quiet
no_final "$T/r_dmg/map"
cp "$M" "$T/r_dmg/models/mlp.model" && truncate -s 300 "$T/r_dmg/models/mlp.model"
bad 1 "mlp\.model.*truncated" "truncated model file" -- "$SCARP" map "$A/study.ini" --model mlp --out "$T/r_dmg" --quiet
bad 1 "mlp\.model.*truncated" "truncated model file (scarp info)" -- "$SCARP" info "$T/r_dmg/models/mlp.model"
cp -r "$A/run" "$T/r_ds"; rm -rf "$T/r_ds/models"
printf '\x55' | dd of="$T/r_ds/dataset.bin" bs=1 seek=4000 conv=notrunc status=none
bad 1 "dataset\.bin.*(CRC|damaged)" "damaged dataset file" -- "$SCARP" train "$A/study.ini" --model logreg --out "$T/r_ds" --quiet
[ -e "$T/r_ds/models/logreg.model" ] && fail "damaged dataset: a model was written"
[ $fails = 0 ] && echo "fault_inputs: all passed" || echo "fault_inputs: $fails failure(s)"
exit $((fails > 0))
