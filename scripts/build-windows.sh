#!/usr/bin/env bash
# Cross-compiles the client for 64-bit Windows into ./build-windows (or
# $WINDOWS_BUILD_DIR): libsodium from Debian's own source package (built
# once, kept in build-windows/deps), toml++ and Catch2 as headers, then
# knock.exe and knock_windows_tests.exe (the client's and common's unit
# tests) with cmake/mingw-w64.cmake; finally knock-VERSION-win64.zip.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
build_dir=$(realpath -m "${WINDOWS_BUILD_DIR:-build-windows}")
deps=$build_dir/deps
triple=x86_64-w64-mingw32

scripts/install-windows-deps.sh

# libsodium: Debian's source with Debian's patches, static, for mingw.
if [ ! -f "$deps/lib/libsodium.a" ]; then
  start=$SECONDS
  rm -rf "$deps/src" && mkdir -p "$deps/src"
  (cd "$deps/src" && apt-get source -qq libsodium >/dev/null 2>&1)
  src=$(find "$deps/src" -maxdepth 1 -type d -name 'libsodium-*' | head -1)
  (cd "$src" && autoreconf -if >/dev/null 2>&1 &&
    ./configure -q --host=$triple --prefix="$deps" --disable-shared \
      --enable-static --disable-dependency-tracking \
      CC=$triple-gcc-posix CFLAGS="-O2" >/dev/null &&
    make -s -j"$(nproc)" >/dev/null 2>&1 && make -s install >/dev/null)
  echo "libsodium for Windows built in $((SECONDS - start)) s"
fi

# Header-only libraries, copied so that the cross build never sees /usr/include.
mkdir -p "$deps/include"
for dir in toml++ catch2 nlohmann; do
  [ -d "$deps/include/$dir" ] || cp -r "/usr/include/$dir" "$deps/include/"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$source_dir/cmake/mingw-w64.cmake" \
  -DKNOCK_WINDOWS_DEPS="$deps" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
(cd "$build_dir" && cpack -G ZIP >/dev/null && ls knock-*-win64.zip)
