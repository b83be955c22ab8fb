#!/bin/bash
# apply.sh — `scarp apply RUN_DIR NEW.ini` (issue 17) on a small mini synthetic study with
# two constructed layers: `check` (continuous, a 2×2-cell checkerboard of 0 and 1, so every
# 22×22 training patch holds both and the training range is exactly [0, 1]) and `zone`
# (categorical, a 3×3-cell checkerboard of 1 and 2, so both categories are seen).
#  - the same area: apply reproduces scarp map byte for byte (logreg; cnn, 3 epochs);
#  - a shifted area: K_hi cells of `check` set to 1.5 and K_lo to -0.5 (valid cells chosen
#    by this script): the domain report counts exactly K_hi above and K_lo below, the other
#    factors exactly as on the same area, and outside_range.tif marks their union;
#  - an unseen category (zone = 7 on K_u cells): exit 1, one line naming zone and 7,
#    nothing under final names; with [apply] unseen = nodata those cells are nodata in the
#    map, 2 in the mask, and every other cell keeps the same-area value (logreg: the
#    centre cell alone);
#  - a missing factor, a [map] date whose window leaves the new series: exit 1, one line
#    naming it, no map; usage errors exit 2; [apply] keys checked.
# Usage: apply.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
PY=/usr/bin/python3
$PY -c "from osgeo import gdal" 2>/dev/null || { echo "SKIP: no GDAL Python bindings"; exit 0; }
D=$(mktemp -d /tmp/scarp_apply.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }

"$BIN" apply --help > "$D/h.txt"; [ $? -eq 0 ] && grep -q "examples" "$D/h.txt" || fail "--help"
"$BIN" apply 2> "$D/e.txt"; [ $? -eq 2 ] && grep -q "RUN_DIR" "$D/e.txt" || fail "no operands is a usage error"
"$BIN" apply "$D" 2> "$D/e.txt"; [ $? -eq 2 ] && grep -q "NEW.ini" "$D/e.txt" || fail "one operand is a usage error"
ok "usage"

"$BIN" synth --preset mini --size 256x256 --events 40 --seed 7 --out "$D/a" --quiet || fail "synth"
A=$D/a
$PY - "$A" <<'EOF' || fail "fixture layers"
import sys, numpy as np
from osgeo import gdal
a = sys.argv[1]
src = gdal.Open(f"{a}/dem.tif")
h, w = src.RasterYSize, src.RasterXSize
r, c = np.mgrid[0:h, 0:w]
def write(name, arr, dtype):
    d = gdal.GetDriverByName("GTiff").Create(f"{a}/{name}.tif", w, h, 1, dtype)
    d.SetGeoTransform(src.GetGeoTransform()); d.SetProjection(src.GetProjection())
    d.GetRasterBand(1).WriteArray(arr); d = None
write("check", ((r // 2 + c // 2) % 2).astype(np.float32), gdal.GDT_Float32)
write("zone", (1 + (r // 3 + c // 3) % 2).astype(np.int16), gdal.GDT_Int16)
EOF
$PY - "$A/study.ini" <<'EOF' || fail "study.ini"
import sys, re
p = sys.argv[1]; s = open(p).read()
s = s.replace("epochs = 15", "epochs = 3\ntune = none\nmodels = logreg cnn")
s = s.replace("breaks = natural", "breaks = natural\nmodel = logreg")
s += "\n[layer.check]\npath = check.tif\nkind = continuous\n\n[layer.zone]\npath = zone.tif\nkind = categorical\n"
open(p, "w").write(s)
EOF
"$BIN" run "$A/study.ini" --quiet > "$D/run.txt" 2>&1 || { cat "$D/run.txt"; fail "scarp run"; }
ini() { # NAME OUT [sed expressions...]: a copy of study.ini with out = OUT
  local name=$1 out=$2; shift 2
  sed "s/^out = run$/out = $out/" "$A/study.ini" > "$A/$name.ini"
  for e in "$@"; do sed -i "$e" "$A/$name.ini"; done
}

# 1. the same area: byte for byte
ini same same
"$BIN" apply "$A/run" "$A/same.ini" --model logreg > "$D/o.txt" 2>&1 || { cat "$D/o.txt"; fail "apply, same area"; }
grep -q "domain: " "$D/o.txt" && grep -q "transfer: AUC" "$D/o.txt" || { cat "$D/o.txt"; fail "CLI summary"; }
cmp "$A/run/map/susceptibility.tif" "$A/same/map/susceptibility.tif" || fail "logreg: susceptibility.tif differs from scarp map"
cmp "$A/run/map/classes.tif" "$A/same/map/classes.tif" || fail "logreg: classes.tif differs from scarp map"
for f in classes.qml outside_range.tif outside_range.qml quicklook.png summary.json; do
  [ -s "$A/same/map/$f" ] || fail "no map/$f"
done
for f in domain.json domain.txt domain.html metrics.json; do [ -s "$A/same/apply/$f" ] || fail "no apply/$f"; done
ok "logreg: apply on the same area == scarp map, byte for byte"
"$BIN" map "$A/study.ini" --model cnn --out "$A/run" --quiet || fail "scarp map cnn"
ini same_cnn same_cnn
"$BIN" apply "$A/run" "$A/same_cnn.ini" --model cnn --quiet || fail "apply cnn"
cmp "$A/run/map/susceptibility.tif" "$A/same_cnn/map/susceptibility.tif" || fail "cnn: susceptibility.tif differs"
cmp "$A/run/map/classes.tif" "$A/same_cnn/map/classes.tif" || fail "cnn: classes.tif differs"
ok "cnn: apply on the same area == scarp map, byte for byte"

# 2. a shifted area: planted cells outside the training range of `check`
$PY - "$A" <<'EOF' || fail "shifted fixture"
import sys, numpy as np
from osgeo import gdal
a = sys.argv[1]
valid = gdal.Open(f"{a}/run/stack/valid.tif").ReadAsArray() == 1
src = gdal.Open(f"{a}/check.tif"); chk = src.ReadAsArray()
zone = gdal.Open(f"{a}/zone.tif").ReadAsArray()
rows, cols = np.nonzero(valid)
rng = np.random.default_rng(5)
pick = rng.choice(len(rows), 900, replace=False)
hi, lo, un = pick[:500], pick[500:700], pick[700:]
chk2 = chk.copy(); chk2[rows[hi], cols[hi]] = 1.5; chk2[rows[lo], cols[lo]] = -0.5
zone2 = zone.copy(); zone2[rows[un], cols[un]] = 7
def write(name, arr, like):
    d = gdal.GetDriverByName("GTiff").CreateCopy(f"{a}/{name}.tif", like)
    d.GetRasterBand(1).WriteArray(arr); d = None
write("check2", chk2, src)
write("zone2", zone2, gdal.Open(f"{a}/zone.tif"))
planted = np.zeros_like(valid); planted[rows[hi], cols[hi]] = True; planted[rows[lo], cols[lo]] = True
np.save(f"{a}/planted.npy", planted)
unseen = np.zeros_like(valid); unseen[rows[un], cols[un]] = True
np.save(f"{a}/unseen.npy", unseen)
EOF
ini shifted shifted "s#^path = check.tif#path = check2.tif#"
"$BIN" apply "$A/run" "$A/shifted.ini" --model logreg --quiet || fail "apply, shifted area"
$PY - "$A" <<'EOF' || fail "domain counts of the shifted area"
import sys, json, numpy as np
from osgeo import gdal
a = sys.argv[1]
same = json.load(open(f"{a}/same/apply/domain.json")); sh = json.load(open(f"{a}/shifted/apply/domain.json"))
f0 = {f["name"]: f for f in same["factors"]}; f1 = {f["name"]: f for f in sh["factors"]}
bad = 0
def check(what, got, want):
    global bad
    print(f"  {what}: got {got}, want {want}")
    bad |= got != want
check("check on the same area: outside", f0["check"]["outside"], 0)
check("check above", f1["check"]["above"], 500)
check("check below", f1["check"]["below"], 200)
check("check outside", f1["check"]["outside"], 700)
check("zone unseen (same area)", f0["zone"]["outside"], 0)
for n in f0:
    if n != "check":
        check(f"{n} outside (as on the same area)", f1[n]["outside"], f0[n]["outside"])
m0 = gdal.Open(f"{a}/same/map/outside_range.tif").ReadAsArray()
m1 = gdal.Open(f"{a}/shifted/map/outside_range.tif").ReadAsArray()
planted = np.load(f"{a}/planted.npy")
valid = gdal.Open(f"{a}/run/stack/valid.tif").ReadAsArray() == 1
want = ((m0 == 1) | planted) & valid
check("mask == 1 exactly on the union of same-area outside cells and planted cells",
      int(((m1 == 1) != want).sum()), 0)
check("mask == 255 exactly off the valid area", int(((m1 == 255) != ~valid).sum()), 0)
check("outside_cells of the report == mask count", sh["outside_cells"], int(want.sum()))
sys.exit(bad)
EOF
ok "shifted area: the domain report counts exactly the planted cells"

# 3. an unseen category
ini unseen unseen "s#^path = zone.tif#path = zone2.tif#"
"$BIN" apply "$A/run" "$A/unseen.ini" --model logreg --quiet > "$D/o.txt" 2> "$D/e.txt"
rc=$?
[ $rc -eq 1 ] || { cat "$D/o.txt" "$D/e.txt"; fail "unseen category: exit $rc, expected 1"; }
[ "$(wc -l < "$D/e.txt")" -eq 1 ] || { cat "$D/e.txt"; fail "unseen category: not one line"; }
grep -q "zone = 7 (200 cells)" "$D/e.txt" || { cat "$D/e.txt"; fail "unseen category: the line does not name zone = 7"; }
for f in map/susceptibility.tif map/classes.tif map/outside_range.tif apply/domain.json apply/domain.html apply/metrics.json; do
  [ -e "$A/unseen/$f" ] && fail "unseen category: $f written"
done
ok "unseen category: exit 1, one line naming it ($(cat "$D/e.txt" | cut -c1-60)...), nothing written"
printf '\n[apply]\nunseen = nodata\n' >> "$A/unseen.ini"
"$BIN" apply "$A/run" "$A/unseen.ini" --model logreg --quiet || fail "apply, unseen = nodata"
$PY - "$A" <<'EOF' || fail "unseen = nodata map"
import sys, json, numpy as np
from osgeo import gdal
a = sys.argv[1]
un = np.load(f"{a}/unseen.npy")
d = json.load(open(f"{a}/unseen/apply/domain.json"))
s0 = gdal.Open(f"{a}/same/map/susceptibility.tif"); b0 = s0.GetRasterBand(1)
p0 = b0.ReadAsArray(); nd = b0.GetNoDataValue()
p1 = gdal.Open(f"{a}/unseen/map/susceptibility.tif").ReadAsArray()
m = gdal.Open(f"{a}/unseen/map/outside_range.tif").ReadAsArray()
bad = 0
def check(what, got, want):
    global bad
    print(f"  {what}: got {got}, want {want}")
    bad |= got != want
check("unseen_cells", d["unseen_cells"], 200)
check("mask == 2 exactly on the planted cells", int(((m == 2) != un).sum()), 0)
check("planted cells are nodata in the map", int((p1[un] != nd).sum()), 0)
check("other cells: the same-area map", int((p1[~un] != p0[~un]).sum()), 0)
sys.exit(bad)
EOF
ok "unseen = nodata: those cells are nodata, the rest is the same-area map"

# 4. a missing factor, [apply] keys
ini missing missing
$PY - "$A/missing.ini" <<'EOF'
import sys, re
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"\[layer\.check\]\npath = check.tif\nkind = continuous\n", "", s)
open(p, "w").write(s)
EOF
grep -q "layer.check" "$A/missing.ini" && fail "fixture: [layer.check] still there"
"$BIN" apply "$A/run" "$A/missing.ini" --model logreg --quiet > "$D/o.txt" 2> "$D/e.txt"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$D/e.txt")" -eq 1 ] && grep -q "factor 'check'" "$D/e.txt" || {
  cat "$D/e.txt"; fail "missing factor: exit $rc, expected 1 and one line naming 'check'"; }
[ -e "$A/missing/map/susceptibility.tif" ] && fail "missing factor: a map was written"
ok "missing factor: $(cat "$D/e.txt")"
ini mapdate mapdate "s/^\[map\]$/[map]\ndate = 1990-01-01/"
grep -q "^date = 1990-01-01" "$A/mapdate.ini" || fail "fixture: no [map] date"
"$BIN" apply "$A/run" "$A/mapdate.ini" --model logreg --quiet > "$D/o.txt" 2> "$D/e.txt"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$D/e.txt")" -eq 1 ] && grep -q "1990-01-01: its 30-day window leaves this area's series" "$D/e.txt" || {
  cat "$D/e.txt"; fail "map date outside the series: exit $rc, expected 1 and one line"; }
[ -e "$A/mapdate/map/susceptibility.tif" ] || [ -e "$A/mapdate/apply/domain.json" ] && fail "map date outside the series: output written"
ok "a map date outside the new series: $(cut -c1-150 "$D/e.txt")"
ini badkey badkey
printf '\n[apply]\nunsen = nodata\n' >> "$A/badkey.ini"
"$BIN" apply "$A/run" "$A/badkey.ini" 2> "$D/e.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "unseen" "$D/e.txt" || { cat "$D/e.txt"; fail "unknown [apply] key: exit $rc"; }
ini badval badval
printf '\n[apply]\nunseen = maybe\n' >> "$A/badval.ini"
"$BIN" apply "$A/run" "$A/badval.ini" 2> "$D/e.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "maybe" "$D/e.txt" || { cat "$D/e.txt"; fail "bad [apply] unseen value: exit $rc"; }
"$BIN" apply "$A/run" "$A/study.ini" 2> "$D/e.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "run folder" "$D/e.txt" || { cat "$D/e.txt"; fail "out = RUN_DIR: exit $rc"; }
ok "[apply] keys checked; out = RUN_DIR refused"
echo "ok: scarp apply"
