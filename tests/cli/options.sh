#!/bin/bash
# options.sh — the one table-driven option parser of src/cli/common.c, seen from outside:
# every subcommand's --help lists the shared options with the same text (declared once in
# cli.h), and every usage error is one line on stderr naming the option, exit 2, before
# anything is read or written. Usage: options.sh SCARP_BINARY [SHARED_DATA]
set -u
BIN=$1
T=$(mktemp -d /tmp/scarp_options.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

# --help: exit 0 on stdout, the usage line, the generated options block, the shared rows.
for cmd in synth terrain prepare train evaluate map run info; do
  "$BIN" $cmd --help > "$T/help" 2> "$T/err"; rc=$?
  [ $rc -eq 0 ] && [ ! -s "$T/err" ] || { fail "$cmd --help: exit $rc, stderr $(head -1 "$T/err")"; continue; }
  grep -q "^usage: scarp $cmd" "$T/help" || fail "$cmd --help: no usage line"
  grep -q "^options:$" "$T/help" || fail "$cmd --help: no options block"
  grep -E -q "^  --threads N +threads \(0 = all cores, default\)$" "$T/help" || fail "$cmd --help: shared --threads row"
  grep -E -q "^  --quiet +no progress output" "$T/help" || fail "$cmd --help: shared --quiet row"
  grep -E -q "^  -h, --help +this text$" "$T/help" || fail "$cmd --help: --help row"
  ok "$cmd --help lists the shared options"
done
# -h is --help too
"$BIN" map -h | grep -q "^usage: scarp map" && ok "map -h" || fail "map -h"

# usage errors: exit 2, ONE line on stderr naming the command and the option, nothing on stdout
usage_error() { # PATTERN -- ARGS...
  local pat=$1; shift 2
  "$BIN" "$@" > "$T/out" 2> "$T/err"; local rc=$?
  if [ $rc -ne 2 ]; then fail "scarp $*: exit $rc, expected 2"; return; fi
  if [ "$(wc -l < "$T/err")" -ne 1 ] || [ -s "$T/out" ]; then fail "scarp $*: not one line: $(cat "$T/err" "$T/out")"; return; fi
  grep -E -q -- "$pat" "$T/err" || { fail "scarp $*: '$(cat "$T/err")' does not match '$pat'"; return; }
  ok "scarp $*: $(cat "$T/err")"
}
usage_error "^scarp map: unknown option '--frobnicate'" -- map x.ini --frobnicate
usage_error "^scarp map: --tile needs a value" -- map x.ini --tile
usage_error "^scarp map: --tile must be a whole number from 16 to 65536 \(got 'ten'\)" -- map x.ini --tile ten
usage_error "^scarp map: --keep-tiles takes no value" -- map x.ini --keep-tiles=yes
usage_error "^scarp train: --threads must be a whole number from 0 to 1024 \(got '-1'\)" -- train x.ini --threads -1
usage_error "^scarp run: unknown option '-q'" -- run x.ini -q
usage_error "^scarp evaluate: --repeats must be a whole number from 1 to 1000" -- evaluate x.ini --repeats 0
usage_error "^scarp prepare: missing the CONFIG file" -- prepare --quiet
usage_error "^scarp prepare: one CONFIG only \(extra argument 'b.ini'\)" -- prepare a.ini b.ini
usage_error "^scarp terrain: --flow must be 'mfd' or 'd8' \(got 'dinf'\)" -- terrain dem.tif --out "$T/t" --flow dinf
usage_error "^scarp terrain: --mfd-exponent must be a number in \(0, 100\]" -- terrain dem.tif --out "$T/t" --mfd-exponent 0
usage_error "^scarp terrain: --only: unknown output 'slop'" -- terrain dem.tif --out "$T/t" --only slop
usage_error "^scarp synth: --events must be a whole number" -- synth --out "$T/s" --events 0
usage_error "^scarp synth: --out DIR is required" -- synth --size 64x64
usage_error "^scarp info: unknown option '--bogus'" -- info --bogus x
# a usage error writes nothing
if [ -e "$T/t" ] || [ -e "$T/s" ]; then fail "a usage error created an output folder"; else ok "usage errors wrote nothing"; fi
# options after the operand are options too (GNU order), and --opt=value works
"$BIN" prepare "$T/none.ini" --threads=1 --quiet 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "none.ini" "$T/err" && ok "options after CONFIG, --threads=1: the missing config is reported (exit 1)" \
  || fail "prepare none.ini --threads=1: exit $rc $(cat "$T/err")"
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: option parsing"
