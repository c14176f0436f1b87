#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into ./build-fuzz and runs
# each over its seed corpus tests/fuzz/corpus/<target> for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s, all)
# New inputs go to a scratch directory, so the committed seeds stay as they
# are; a crash, leak, sanitizer report or timeout fails the script and its
# input is kept under build-fuzz/artifacts/<target>/ to become a regression
# test (run it again with: build-fuzz/tests/fuzz/<target> FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in tests/fuzz/fuzz_*.cc; do targets+=("$(basename "$source" .cc)"); done
fi

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DKNOCK_FUZZ=ON \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"

scratch=$(mktemp -d /tmp/knock-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for target in "${targets[@]}"; do
  binary=$build_dir/tests/fuzz/$target
  seeds=tests/fuzz/corpus/$target
  artifacts=$build_dir/artifacts/$target
  mkdir -p "$scratch/$target" "$artifacts" "$seeds"
  echo "fuzz: $target for ${seconds}s"
  # The scratch directory comes first: libFuzzer writes new inputs there.
  if "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$scratch/$target" "$seeds" >"$scratch/$target.log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' \
      "$scratch/$target.log" | tr '\n' ' '
    echo
  else
    tail -n 60 "$scratch/$target.log"
    echo "fuzz: $target FAILED; inputs kept in $artifacts/" >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding"
