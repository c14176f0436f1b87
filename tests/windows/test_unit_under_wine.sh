#!/usr/bin/env bash
# The client's and common's unit tests built for Windows
# (build-windows/knock_client_tests.exe, scripts/build-windows.sh) run under
# Debian's wine64 in a temporary prefix, without a display.
set -euo pipefail
source_dir=$1
exe=${KNOCK_WINDOWS_TESTS_EXE:-$source_dir/build-windows/knock_client_tests.exe}
wine=/usr/lib/wine/wine64
if [ ! -x "$wine" ]; then
  echo "SKIP: wine64 is not installed (scripts/install-windows-deps.sh)"
  exit 77
fi
if [ ! -f "$exe" ]; then
  echo "SKIP: no $exe (scripts/build-windows.sh builds it)"
  exit 77
fi
prefix=$(mktemp -d /tmp/knock-wine.XXXXXX)
cleanup() {
  WINEPREFIX=$prefix /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT
unset DISPLAY WAYLAND_DISPLAY
# From a folder on wine's Z: drive, so that the tests' absolute source
# paths (/work/...) resolve.
cd /tmp
WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
  timeout 240 "$wine" "$exe"
