# fault_lib.bash — helpers of the fault tests (tests/cli/fault_*.sh; this file is sourced,
# not run: its .bash suffix keeps it out of the ctest glob).
#   SCARP       the CLI under test (set by the caller)
#   T           the test's scratch folder (set by the caller)
PY=/usr/bin/python3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
skip() { echo "SKIP: $*"; }

# 1 when SCARP is a sanitizer build (tests then use smaller inputs).
is_sanitized() { ldd "$SCARP" 2>/dev/null | grep -q -E 'libasan|libubsan' || nm -an "$SCARP" 2>/dev/null | grep -q __asan_init; }

# 1 if the subcommand is still the placeholder.
placeholder() { "$SCARP" "$1" --help 2>&1 | grep -q "not available in this build yet"; }

# check_complete DIR — every file under a final name (not *.partial, not inside a tiles/
# journal folder) must be whole: rasters read to the last block, vectors to the last
# feature, JSON/XML parse, PNG ends with IEND, scarp binary files (.model, .bin) carry a
# matching trailing CRC-32, text files end with a newline. Prints each bad file.
check_complete() {
  "$PY" - "$1" <<'PYEOF'
import json, os, sys, zlib, xml.etree.ElementTree as ET
root = sys.argv[1]
bad = 0
def complain(p, why):
    global bad
    bad += 1
    print("  incomplete-looking final file: %s (%s)" % (p, why))
try:
    from osgeo import gdal, ogr
    gdal.UseExceptions()
except Exception:
    gdal = None
for d, dirs, files in os.walk(root):
    if os.path.basename(d) == "tiles":
        dirs[:] = []
        continue
    for f in files:
        p = os.path.join(d, f)
        if f.endswith(".partial") or ".partial" in f:
            continue
        ext = os.path.splitext(f)[1].lower()
        try:
            data = open(p, "rb").read()
            if ext in (".tif", ".tiff") and gdal:
                ds = gdal.Open(p)
                for b in range(1, ds.RasterCount + 1):
                    ds.GetRasterBand(b).Checksum()
                ds = None
            elif ext == ".gpkg" and gdal:
                ds = ogr.Open(p)
                if ds is None: raise RuntimeError("not readable by OGR")
                for i in range(ds.GetLayerCount()):
                    for _ in ds.GetLayer(i): pass
                ds = None
            elif ext == ".json":
                json.loads(data)
            elif ext in (".qml", ".xml"):
                ET.fromstring(data)
            elif ext == ".png":
                if not data.endswith(b"IEND\xaeB`\x82"): raise RuntimeError("no IEND chunk")
            elif ext in (".model", ".bin"):
                if len(data) < 8 or zlib.crc32(data[:-4]) != int.from_bytes(data[-4:], "little"):
                    raise RuntimeError("trailing CRC-32 does not match")
            elif ext in (".csv", ".txt", ".ini", ".html", ".md"):
                if data and not data.endswith(b"\n") and not data.rstrip().endswith(b"</html>"):
                    raise RuntimeError("does not end with a newline")
        except Exception as e:
            complain(p, str(e).splitlines()[0] if str(e) else type(e).__name__)
sys.exit(1 if bad else 0)
PYEOF
}

# run_and_kill LOG WHEN MAXWAIT -- CMD... : starts CMD (stdout+stderr to LOG) and sends it
# SIGKILL as soon as the shell condition WHEN holds (polled every 20 ms), or after MAXWAIT
# seconds. Sets KILLED=1 if the process was still running when killed.
run_and_kill() {
  local log=$1 when=$2 maxwait=$3
  shift 4
  "$@" >"$log" 2>&1 &
  local pid=$! i=0 n=$((maxwait * 50))
  while [ $i -lt $n ]; do
    kill -0 $pid 2>/dev/null || break
    if eval "$when"; then break; fi
    sleep 0.02
    i=$((i + 1))
  done
  KILLED=0
  if kill -0 $pid 2>/dev/null; then
    kill -9 $pid 2>/dev/null && KILLED=1
  fi
  wait $pid 2>/dev/null
  return 0
}

# one_line_error LOG PATTERN WHAT: the command failed with exactly one line on stderr that
# contains PATTERN (grep -E).
one_line_error() {
  local log=$1 pattern=$2 what=$3 n
  n=$(grep -c . "$log")
  if [ "$n" != 1 ]; then fail "$what: $n lines of error output, expected one:"; sed 's/^/    /' "$log" | head -8; return 1; fi
  if ! grep -q -E -- "$pattern" "$log"; then fail "$what: message lacks /$pattern/: $(cat "$log")"; return 1; fi
  return 0
}

# Raster pixels equal (all bands) — for "the rerun equals an uninterrupted run".
same_pixels() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from osgeo import gdal
import numpy as np
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
assert a.RasterCount == b.RasterCount and a.RasterXSize == b.RasterXSize and a.RasterYSize == b.RasterYSize
for i in range(1, a.RasterCount + 1):
    x, y = a.GetRasterBand(i).ReadAsArray(), b.GetRasterBand(i).ReadAsArray()
    if not np.array_equal(x, y, equal_nan=True):
        print("  band %d differs in %d cells" % (i, int(np.sum(~((x == y) | (np.isnan(x) & np.isnan(y)))))))
        sys.exit(1)
PYEOF
}
