#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test
# (unit and end-to-end in network namespaces; needs root) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: the end-to-end tests build network namespaces and nftables rules" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 "$@"
