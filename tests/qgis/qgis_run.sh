#!/usr/bin/env bash
# qgis_run.sh — the scarp Processing provider in real QGIS, headless (qgis_process,
# QT_QPA_PLATFORM=offscreen): scarp:synth makes the mini study; scarp:run on it, every
# input given as a layer parameter (not the synth's study.ini), produces the map and the
# report (files exist, GeoTIFFs read to their last block with GDAL, the class map carries
# the class names, the styles parse, the report and metrics name the models); the
# study.ini written beside the outputs repeats the run from the shell (scarp run reuses
# every stage); scarp:prepare, train, map and evaluate in turn from a study.ini, and
# scarp:terrain, produce their outputs; loaded into a project (qgis_load.py) the maps carry
# the class colours and names; a bad input gives scarp's one-line error and a non-zero exit, and no map.
# usage: qgis_run.sh SCARP
set -u
SCARP=${1:?usage: qgis_run.sh path/to/scarp}
T=$(mktemp -d "${TMPDIR:-/tmp}/scarp-qgis-run.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/qgis_lib.bash"
export OMP_NUM_THREADS=2

# ---- scarp:synth ----------------------------------------------------------------------
M=$T/mini
"$QGIS_PROCESS" run scarp:synth -- PRESET=0 OUT="$M" > "$T/synth.log" 2>&1
rc=$?
[ $rc = 0 ] && ok "qgis_process run scarp:synth exits 0" || { fail "scarp:synth exit $rc"; tail -20 "$T/synth.log"; }
grep -q "^STUDY:	$M/study.ini" "$T/synth.log" && ok "scarp:synth reports STUDY = $M/study.ini" ||
  fail "scarp:synth did not report its study.ini"
events=$(($(wc -l < "$M/landslides.csv") - 1))
[ "$events" = 100 ] && ok "the mini preset's 100 events in landslides.csv" || fail "landslides.csv holds $events events, not 100"
gdalinfo "$M/dem.tif" 2>/dev/null | grep -q "Size is 512, 512" && ok "dem.tif is 512 x 512" || fail "dem.tif is not the mini preset's 512 x 512"

# ---- scarp:run, every input a layer parameter ------------------------------------------
R=$T/run
args=(DEM="$M/dem.tif" CATEGORICAL="$M/erg.tif" CATEGORICAL="$M/landuse.tif" CONTINUOUS="$M/aap.tif"
      DISTANCE="$M/faults.gpkg" DISTANCE="$M/rivers.gpkg" DISTANCE="$M/roads.gpkg"
      NDVI_RED="$M/red.tif" NDVI_NIR="$M/nir.tif" INVENTORY="$M/landslides.gpkg" INVENTORY_DATE=date
      STATIONS="$M/stations.csv" RAINFALL="$M/rainfall.csv" RESERVOIRS="$M/reservoirs.csv"
      RESERVOIR_LEVELS="$M/reservoir_levels.csv" MODELS=3,7 EPOCHS=3 TUNE=2 SEED=7 CLASSES=4)
"$QGIS_PROCESS" run scarp:run -- "${args[@]}" OUT="$R" > "$T/run.log" 2>&1
rc=$?
[ $rc = 0 ] && ok "qgis_process run scarp:run exits 0" || { fail "scarp:run exit $rc"; tail -30 "$T/run.log"; }
for key in CLASSES SUSCEPTIBILITY REPORT STUDY_INI; do
  grep -q "^$key:	$R/" "$T/run.log" && ok "scarp:run reports $key" || fail "scarp:run did not report $key"
done
grep -q "100 - done" "$T/run.log" && ok "the progress bar reached 100" || fail "no '100 - done' in the qgis_process log"
grep -q "^@progress" "$T/run.log" && fail "raw @progress lines leaked into the log" || ok "@progress lines drive the bar, not the log"
for f in map/classes.tif map/susceptibility.tif map/classes.qml map/susceptibility.qml report.html metrics.json study.ini; do
  [ -s "$R/$f" ] && ok "$f exists" || fail "$f missing"
done
"$PY" - "$R" <<'PYEOF' && ok "rasters read whole, styles parse, report and metrics name the models" || fail "output check (above)"
import json, sys, xml.etree.ElementTree as ET
from osgeo import gdal
gdal.UseExceptions()
R = sys.argv[1]
bad = []
sus = gdal.Open(R + "/map/susceptibility.tif")
cls = gdal.Open(R + "/map/classes.tif")
for ds in (sus, cls):
    b = ds.GetRasterBand(1)
    b.Checksum()  # reads every block
    if (ds.RasterXSize, ds.RasterYSize) != (512, 512): bad.append("size %dx%d" % (ds.RasterXSize, ds.RasterYSize))
a = sus.GetRasterBand(1).ReadAsArray()
nd = sus.GetRasterBand(1).GetNoDataValue()
v = a[a != nd]
if not (v.size > 0 and v.min() >= 0 and v.max() <= 1): bad.append("probabilities outside [0, 1] or none")
for q, kind in (("classes", "paletted"), ("susceptibility", "singlebandpseudocolor")):
    r = ET.parse("%s/map/%s.qml" % (R, q)).getroot().find("pipe/rasterrenderer")
    if r is None or r.get("type") != kind: bad.append("%s.qml: renderer %r" % (q, r is not None and r.get("type")))
pal = ET.parse(R + "/map/classes.qml").getroot().findall(".//paletteEntry")
if [e.get("label") for e in pal] != ["low", "moderate", "high", "very high"]: bad.append("classes.qml labels")
m = json.load(open(R + "/metrics.json"))["models"]
if sorted(m) != ["logreg", "mlp"]: bad.append("metrics.json models %r" % sorted(m))
html = open(R + "/report.html", encoding="utf-8").read()
for name in ("mlp", "logreg"):
    if name not in html: bad.append("report.html does not mention " + name)
for b in bad: print("  " + b)
print("  %d valid cells, probability %.3f..%.3f, AUC %s" % (v.size, v.min(), v.max(),
      {k: round(x["test"]["auc"], 3) for k, x in m.items()}))
sys.exit(1 if bad else 0)
PYEOF
cats=$(gdalinfo "$R/map/classes.tif" | sed -n '/Categories:/,/Color Table/p' | tr -s ' ' | tr '\n' '|')
[ "$cats" = " Categories:| 0: low| 1: moderate| 2: high| 3: very high| Color Table (RGB with 256 entries)|" ] &&
  ok "classes.tif carries the class names (gdalinfo)" || fail "classes.tif categories: $cats"
# the study.ini beside the outputs holds what the dialog was given, and repeats the run
ini=$R/study.ini
grep -q "^path = $M/landslides.gpkg" "$ini" && grep -q "^\[layer.landuse\]" "$ini" && grep -q "^kind = categorical" "$ini" &&
  grep -q "^models = mlp logreg" "$ini" && grep -q "^epochs = 3" "$ini" && grep -q "^\[distance.roads\]" "$ini" &&
  grep -q "^red = $M/red.tif:1" "$ini" && ok "study.ini holds the layers and keys given" || { fail "study.ini content"; cat "$ini"; }
"$SCARP" run "$ini" > "$T/rerun.log" 2>&1
rc=$?
n_reused=$(grep -c "unchanged, reusing" "$T/rerun.log")
[ $rc = 0 ] && [ "$n_reused" = 5 ] && ok "scarp run OUT/study.ini from the shell reuses all 5 stages" ||
  { fail "shell rerun: exit $rc, $n_reused stages reused (5 expected)"; tail -5 "$T/rerun.log"; }

# ---- the stages one by one (prepare, train, map, evaluate) from the synth's study.ini, and terrain
S=$T/stages
for alg in prepare train map evaluate; do
  "$QGIS_PROCESS" run scarp:$alg -- STUDY="$M/study.ini" MODELS=7 OUT="$S" > "$T/$alg.log" 2>&1
  rc=$?
  [ $rc = 0 ] || { fail "scarp:$alg exit $rc"; tail -10 "$T/$alg.log"; }
done
[ -s "$S/preflight.txt" ] && [ -s "$S/models/logreg.model" ] && [ -s "$S/map/classes.tif" ] && [ -s "$S/report.html" ] &&
  grep -q "^models = logreg" "$S/study.ini" && grep -q "^truth = $M/truth.json" "$S/study.ini" &&
  ok "scarp:prepare, train, map, evaluate in turn: preflight, logreg.model, classes.tif, report.html; base paths made absolute" ||
  fail "the stage algorithms' outputs"
grep -q "^CLASSES:	$S/map/classes.tif" "$T/map.log" && grep -q "^REPORT:	$S/report.html" "$T/evaluate.log" &&
  ok "scarp:map and scarp:evaluate report their outputs" || fail "stage outputs not reported"
"$PY" "$(dirname "$0")/qgis_load.py" "$M/study.ini" "$S" > "$T/load.log" 2>&1
rc=$?
grep -E "^(ok|FAIL)|renderer:|raster:" "$T/load.log"
[ $rc = 0 ] && ok "the loaded layers carry the class colours and names, and the probability ramp" ||
  { fail "loaded layers (exit $rc)"; tail -10 "$T/load.log"; }
"$QGIS_PROCESS" run scarp:terrain -- DEM="$M/dem.tif" FLOW=1 OUT="$T/terrain" > "$T/terrain.log" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "^TWI:	$T/terrain/twi.tif" "$T/terrain.log" && gdalinfo "$T/terrain/slope.tif" 2>/dev/null | grep -q "Size is 512, 512" &&
  grep -q -- "terrain $M/dem.tif --out $T/terrain --flow d8" "$T/terrain.log" &&
  ok "scarp:terrain (d8): slope.tif 512 x 512, TWI reported, the command line in the log" ||
  { fail "scarp:terrain exit $rc"; tail -10 "$T/terrain.log"; }

# ---- a bad input: one line from scarp, a non-zero exit, no map -------------------------
B=$T/bad
sed '3s/.*/2001-01-03,not-a-number/' "$M/rainfall.csv" > "$T/bad_rain.csv"
head -3 "$M/rainfall.csv" | tail -1 | grep -q , || fail "rainfall.csv is not the expected CSV"
"$QGIS_PROCESS" run scarp:run -- "${args[@]/#RAINFALL=*/RAINFALL=$T/bad_rain.csv}" OUT="$B" > "$T/bad.log" 2>&1
rc=$?
line=$(grep -m1 "^scarp run: " "$T/bad.log")
[ $rc != 0 ] && ok "a malformed rainfall CSV: qgis_process exits $rc" || fail "bad input: qgis_process exit 0"
echo "$line" | grep -q "bad_rain.csv:3" && ok "the error is scarp's one line naming the file and line: $line" ||
  { fail "no one-line error naming bad_rain.csv:3"; tail -15 "$T/bad.log"; }
[ "$(grep -c "^scarp run: " "$T/bad.log")" -ge 1 ] && grep -q "^ERROR:" "$T/bad.log" && ok "QGIS shows it as the algorithm's error" ||
  fail "no ERROR line from qgis_process"
[ ! -e "$B/map/classes.tif" ] && [ ! -e "$B/report.html" ] && ok "no map, no report after the error" || fail "outputs written despite the error"
finish
