#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test
# (unit and end-to-end in network namespaces; needs root; the Windows client
# under wine) under ctest; then
# the hardening runs (packets are hostile): the unit and end-to-end tests again built
# with ASan and UBSan in ./build-asan, and every fuzz target for a short
# bounded time (scripts/fuzz.sh). KNOCK_QUICK=1 skips the hardening runs
# (for developers; CI runs everything). Arguments go to the first ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: the end-to-end tests build network namespaces and nftables rules" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh
# The Windows client (knock.exe, its unit tests, the zip), which the first
# ctest runs under wine; libsodium for it is built once and kept.
windows_start=$SECONDS
scripts/build-windows.sh
echo "windows build: $((SECONDS - windows_start)) s"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 600 "$@")

if [ "${KNOCK_QUICK:-0}" = 1 ]; then
  echo "KNOCK_QUICK=1: sanitizer and fuzz runs skipped"
  exit 0
fi

# Sanitizers: any ASan, UBSan or leak report fails the test that caused it
# (the end-to-end tests also collect the reports of the programs they start;
# see tests/e2e/lib.sh). Benchmarks, packaging and the soak are not run
# twice (a sanitized build's memory is not the daemon's).
asan_start=$SECONDS
cmake -S . -B build-asan -G Ninja -DKNOCK_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan &&
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure --timeout 600 -j"$(nproc)" -LE "bench|package|soak|windows")
echo "sanitizers: $((SECONDS - asan_start)) s"

fuzz_start=$SECONDS
scripts/fuzz.sh "${KNOCK_FUZZ_SECONDS:-20}"
echo "fuzz: $((SECONDS - fuzz_start)) s"
