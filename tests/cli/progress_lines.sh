#!/usr/bin/env bash
# progress_lines.sh — `--progress lines` (the machine-readable progress the QGIS plugin
# reads): every line is "@progress DONE TOTAL LABEL" with 0 <= DONE <= TOTAL, each task
# starts at 0 and ends at DONE = TOTAL (also a task whose steps fall short of its total:
# fill depressions counts the valid cells it pops against a total of all cells), DONE never decreases within a task, at most one line
# per percent (101 a task), the plain "LABEL: done in" line still follows each task;
# --quiet prints none; a bad mode is a usage error (exit 2) naming --progress.
# usage: progress_lines.sh SCARP
set -u
BIN=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

"$BIN" synth --size 200x160 --events 20 --out "$TMP/a" --progress lines 2> "$TMP/err.txt"
check '[ $? -eq 0 ]' "synth --progress lines runs"
"$BIN" terrain "$TMP/a/dem.tif" --out "$TMP/t" --progress lines 2> "$TMP/terrain.txt"
check '[ $? -eq 0 ]' "terrain --progress lines runs"
for log in err terrain; do
/usr/bin/python3 - "$TMP/$log.txt" <<'PYEOF'
import re, sys
tasks, order, bad = {}, [], []
lines = open(sys.argv[1]).read().splitlines()
for l in lines:
    if not l.startswith("@progress"): continue
    m = re.fullmatch(r"@progress (\d+) (\d+) (.+)", l)
    if not m: bad.append("malformed: " + l); continue
    d, t, label = int(m.group(1)), int(m.group(2)), m.group(3)
    if not 0 <= d <= t: bad.append("DONE outside [0, TOTAL]: " + l)
    if label not in tasks: tasks[label] = []; order.append(label)
    tasks[label].append((d, t))
for label, v in tasks.items():
    ds = [d for d, _ in v]
    if ds[0] != 0: bad.append("%s starts at %d" % (label, ds[0]))
    if ds[-1] != v[-1][1]: bad.append("%s ends at %d of %d" % (label, ds[-1], v[-1][1]))
    if ds != sorted(ds): bad.append("%s goes back" % label)
    if len(v) > 101: bad.append("%s: %d lines (more than one per percent)" % (label, len(v)))
    if not any(l.startswith(label + ": done in") for l in lines): bad.append("no '%s: done in' line" % label)
if not tasks: bad.append("no @progress line")
print("  tasks: " + ", ".join("%s (%d lines)" % (k, len(tasks[k])) for k in order))
for b in bad: print("  " + b)
sys.exit(1 if bad else 0)
PYEOF
check '[ $? -eq 0 ]' "$log: every @progress line well formed; tasks from 0 to TOTAL, never back, <= 101 lines"
done
"$BIN" prepare "$TMP/a/study.ini" --progress lines --quiet 2> "$TMP/quiet.txt"
check '[ $? -eq 0 ] && ! grep -q "^@progress" "$TMP/quiet.txt"' "--quiet wins: no @progress lines"
"$BIN" map "$TMP/a/study.ini" --progress dots 2> "$TMP/bad.txt"
check '[ $? -eq 2 ] && grep -q -- "--progress must be auto or lines" "$TMP/bad.txt" && [ $(wc -l < "$TMP/bad.txt") -eq 1 ]' \
  "--progress dots: one-line usage error, exit 2"
missing=""
for c in synth terrain prepare train evaluate map run; do
  "$BIN" $c --help | grep -q -- "--progress MODE" || missing+=" $c"
done
check '[ -z "$missing" ]' "every subcommand's --help lists --progress (missing:${missing:- none})"
exit $fail
