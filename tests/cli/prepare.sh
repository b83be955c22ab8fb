#!/usr/bin/env bash
# prepare.sh — `scarp prepare` end to end on the mini synthetic province, plus its errors:
# exit 0 and the four outputs; a bad config key → exit 1 naming file:line and a suggestion;
# a missing config → exit 1; a bad option → exit 2; --help → exit 0.
set -u
SCARP="$1"
TMP=$(mktemp -d /tmp/scarp_cli_prepare.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$SCARP" prepare --help | grep -q "usage: scarp prepare" || fail "--help"
"$SCARP" synth --preset mini --out "$TMP/mini" --quiet >/dev/null 2>&1 || fail "synth mini"
"$SCARP" prepare "$TMP/mini/study.ini" --out "$TMP/run" --threads 2 --quiet || fail "prepare exit $?"
for f in dataset.bin norm.bin prepare_summary.txt prepare_dropped.csv stack/stack.json; do
    [ -s "$TMP/run/$f" ] || fail "missing $f"
done
grep -q "train" "$TMP/run/prepare_summary.txt" || fail "summary lacks the split table"
ls "$TMP/run" | grep -q partial && fail "a .partial file was left behind"
# same config and seed → the same dataset, with 1 thread or 2 (stack reused the second time)
cp "$TMP/run/dataset.bin" "$TMP/first.bin"
"$SCARP" prepare "$TMP/mini/study.ini" --out "$TMP/run" --threads 1 --quiet || fail "second prepare"
cmp -s "$TMP/first.bin" "$TMP/run/dataset.bin" || fail "dataset differs between runs (1 vs 2 threads)"

# a misspelt key: exit 1, one line naming file:line and the suggestion
sed 's/^min_distance = 300/min_distanse = 300/' "$TMP/mini/study.ini" > "$TMP/mini/bad.ini"
out=$("$SCARP" prepare "$TMP/mini/bad.ini" --out "$TMP/bad" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "bad key: exit $rc"
echo "$out" | grep -q "bad.ini:[0-9]*: unknown key 'min_distanse' in \[negatives\] (did you mean 'min_distance'?)" \
    || fail "bad key message: $out"
[ -e "$TMP/bad/dataset.bin" ] && fail "output left after a failure"

# a malformed inventory line: exit 1 naming file, line and column
cp "$TMP/mini/study.ini" "$TMP/mini/bad2.ini"
sed -i 's/^path = landslides.csv/path = broken.csv/' "$TMP/mini/bad2.ini"
printf 'x,y,date\n360000,3440000,2018-01-01\n360000,abc,2018-01-01\n' > "$TMP/mini/broken.csv"
out=$("$SCARP" prepare "$TMP/mini/bad2.ini" --out "$TMP/run" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "broken inventory: exit $rc"
echo "$out" | grep -q "broken.csv:3: column 2 ('y'): 'abc' is not a number" || fail "broken inventory message: $out"

out=$("$SCARP" prepare "$TMP/nope.ini" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "missing config: exit $rc"
echo "$out" | grep -q "nope.ini" || fail "missing config message: $out"
"$SCARP" prepare --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "bad option: exit $rc"
"$SCARP" prepare >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no config: exit $rc"
echo "ok prepare.sh"
