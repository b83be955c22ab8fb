# qgis_lib.bash — what the QGIS tests (tests/qgis/*.sh) share; sourced, not run (its .bash
# suffix keeps it out of the ctest glob).
#   SCARP  the CLI under test ($1 of the test)   T  the test's scratch folder
# Sets QGIS_PROCESS (the headless Processing runner) and a throw-away QGIS profile in
# $T/qgis-config with the scarp plugin (this repository's qgis/scarp) enabled, so a test
# never touches the user's QGIS settings. Exits 77 (ctest: skipped) with a loud message
# when QGIS is not installed.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
finish() { if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi; echo "all checks passed"; exit 0; }

if ! command -v qgis_process > /dev/null 2>&1; then
  echo "##########################################################################"
  echo "SKIPPED: qgis_process not found — the QGIS tests did NOT run."
  echo "Install QGIS with: scripts/setup --qgis"
  echo "##########################################################################"
  exit 77
fi
# Debian 12's /usr/bin/qgis_process wrapper passes --noversioncheck (from
# /etc/default/qgis), which qgis_process 3.22 rejects ("Command --noversioncheck not
# known!"): call the real program beside it when the wrapper is that one.
QGIS_PROCESS=$(command -v qgis_process)
if [ -x "$QGIS_PROCESS.bin" ] && grep -qs 'QGIS_OPTS' "$QGIS_PROCESS"; then QGIS_PROCESS=$QGIS_PROCESS.bin; fi

export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$T/xdg
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export QGIS_CUSTOM_CONFIG_PATH=$T/qgis-config QGIS_PLUGINPATH=$REPO/qgis SCARP_BINARY=$SCARP
mkdir -p "$QGIS_CUSTOM_CONFIG_PATH/profiles/default/QGIS"
printf '[PythonPlugins]\nscarp=true\n' > "$QGIS_CUSTOM_CONFIG_PATH/profiles/default/QGIS/QGIS3.ini"
