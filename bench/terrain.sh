#!/usr/bin/env bash
# terrain.sh — terrain benchmarks of issue 2, peers and scarp interleaved run by run
# (other work may share the cores: interleaving spreads that noise over both sides).
#   bench/terrain.sh BUILD_DIR [REPEATS=3] [DEM=/tmp/peers/dem4k.tif]
# 1. slope + aspect: `scarp terrain --only slope,aspect` (read, compute, write 2 DEFLATE
#    GeoTIFFs) vs gdaldem slope + gdaldem aspect (default plain GeoTIFF, and with scarp's
#    creation options)
# 2. fill + MFD + TWI + ln SPI: `scarp terrain --only filled,flow_accumulation,twi,spi_ln`
#    (read, slope, fill, MFD, SCA, TWI, SPI, writing 4 GeoTIFFs) vs SAGA 8.5 ta_preprocessor 5
#    (or 4) + ta_hydrology 0 -METHOD 4 + 20 + 21 on .sgrd grids (SAGA's slope and GeoTIFF
#    import are not counted against it; our slope and GeoTIFF reading are)
# Kernel times without I/O: bench_terrain kernels, once per repeat, into $W/kernels.log.
# 3. peak RSS of the whole `scarp terrain` run (SIZES="4000 8000" makes /tmp/peers/demNk.tif)
# Threads: 2 (OMP_NUM_THREADS, saga_cmd --cores=2). Prints medians; raw rows in $W/runs.tsv.
set -u
B=${1:?usage: terrain.sh BUILD_DIR [REPEATS] [DEM]}
B=$(cd "$B" && pwd)
REPEATS=${2:-3}
DEM=${3:-/tmp/peers/dem4k.tif}
SIZES=${SIZES:-"4000 8000"}
W=${W:-/tmp/scarp-bench-terrain}
export OMP_NUM_THREADS=2
mkdir -p "$W/out" "$W/saga" "$W/gd"
RUNS=$W/runs.tsv
printf "what\trun\twall_s\tmaxrss_MiB\n" >"$RUNS"
: >"$W/kernels.log"
# shared peers: ../shared/peers relative to the repository root
PEERS=${PEERS:-$(cd "$(dirname "$0")/.." && pwd)/../shared/peers}
[ -f "$DEM" ] || /usr/bin/python3 "$PEERS/make_dem.py" "$DEM" 4000 30

# timeit NAME RUN cmd... : one row of wall seconds and peak RSS (MiB)
timeit() {
  local name=$1 run=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$W/time.txt" "$@" >"$W/last.log" 2>&1 || { echo "FAILED: $*"; cat "$W/last.log"; }
  read -r wall kb <"$W/time.txt"
  printf "%s\t%s\t%s\t%d\n" "$name" "$run" "$wall" $((kb / 1024)) >>"$RUNS"
}
GDCO="-co TILED=YES -co BLOCKXSIZE=256 -co BLOCKYSIZE=256 -co COMPRESS=DEFLATE -co PREDICTOR=3"
HAVE_SAGA=0; command -v saga_cmd >/dev/null && HAVE_SAGA=1
S="saga_cmd --cores=2"
if [ $HAVE_SAGA = 1 ]; then
  $S io_gdal 0 -FILES "$DEM" -GRIDS "$W/saga/dem" -TRANSFORM 0 >/dev/null 2>&1
  [ -f "$W/saga/dem.sgrd" ] || mv "$W"/saga/dem*.sgrd "$W/saga/dem.sgrd" 2>/dev/null
  $S ta_morphometry 0 -ELEVATION "$W/saga/dem.sgrd" -SLOPE "$W/saga/slope.sgrd" -METHOD 6 -UNIT_SLOPE 0 >/dev/null 2>&1
fi
for r in $(seq 1 "$REPEATS"); do
  rm -f "$W"/gd/*.tif
  timeit gdaldem_slope "$r" gdaldem slope -q "$DEM" "$W/gd/slope.tif"
  timeit gdaldem_aspect "$r" gdaldem aspect -q "$DEM" "$W/gd/aspect.tif"
  rm -rf "$W/out"
  timeit scarp_slope_aspect "$r" "$B/scarp" terrain "$DEM" --out "$W/out" --only slope,aspect --threads 2 --quiet
  rm -f "$W"/gd/*.tif
  timeit gdaldem_slope_deflate "$r" gdaldem slope -q $GDCO "$DEM" "$W/gd/slope.tif"
  timeit gdaldem_aspect_deflate "$r" gdaldem aspect -q $GDCO "$DEM" "$W/gd/aspect.tif"
  if [ $HAVE_SAGA = 1 ]; then
    timeit saga_fill_xxl "$r" $S ta_preprocessor 5 -ELEV "$W/saga/dem.sgrd" -FILLED "$W/saga/filled.sgrd" -MINSLOPE 0.1
    timeit saga_fill_wangliu "$r" $S ta_preprocessor 4 -ELEV "$W/saga/dem.sgrd" -FILLED "$W/saga/filled4.sgrd" -FDIR "$W/saga/fdir.sgrd" -WSHED "$W/saga/wshed.sgrd" -MINSLOPE 0.1
    timeit saga_mfd "$r" $S ta_hydrology 0 -ELEVATION "$W/saga/filled.sgrd" -FLOW "$W/saga/acc.sgrd" -METHOD 4 -FLOW_UNIT 1
    timeit saga_twi "$r" $S ta_hydrology 20 -SLOPE "$W/saga/slope.sgrd" -AREA "$W/saga/acc.sgrd" -TWI "$W/saga/twi.sgrd" -CONV 1 -METHOD 0
    timeit saga_spi "$r" $S ta_hydrology 21 -SLOPE "$W/saga/slope.sgrd" -AREA "$W/saga/acc.sgrd" -SPI "$W/saga/spi.sgrd" -CONV 1
  fi
  rm -rf "$W/out"
  timeit scarp_hydro "$r" "$B/scarp" terrain "$DEM" --out "$W/out" --only filled,flow_accumulation,twi,spi_ln --threads 2 --quiet
  "$B/bench/bench_terrain" kernels "$DEM" "$W" 2 >>"$W/kernels.log" 2>&1
done
for n in $SIZES; do
  d=/tmp/peers/dem$((n / 1000))k.tif
  [ -f "$d" ] || /usr/bin/python3 "$PEERS/make_dem.py" "$d" "$n" 30 >/dev/null
  for r in $(seq 1 "$REPEATS"); do
    rm -rf "$W/terrain$n"
    timeit "scarp_terrain_${n}" "$r" "$B/scarp" terrain "$d" --out "$W/terrain$n" --threads 2 --quiet
  done
done
# medians per row name
awk -F'\t' 'NR > 1 { w[$1] = w[$1] " " $3; m[$1] = m[$1] " " $4; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
END { printf "%-26s %10s %12s\n", "what", "median_s", "median_MiB"; for (i = 1; i <= k; i++) printf "%-26s %10.2f %12d\n", order[i], median(w[order[i]]), median(m[order[i]]) }' "$RUNS" | tee "$W/medians.txt"
