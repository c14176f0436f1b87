# The client's libraries for the Windows cross build, under the names the
# Linux build gets from pkg-config: PkgConfig::SODIUM (static libsodium
# built from Debian's source) and PkgConfig::TOMLPP (toml++ header-only).
# scripts/build-windows.sh fills KNOCK_WINDOWS_DEPS.
set(KNOCK_WINDOWS_DEPS "" CACHE PATH "libsodium and headers for the Windows build")
if(NOT EXISTS "${KNOCK_WINDOWS_DEPS}/lib/libsodium.a")
  message(FATAL_ERROR "no ${KNOCK_WINDOWS_DEPS}/lib/libsodium.a: build with scripts/build-windows.sh")
endif()
add_library(PkgConfig::SODIUM STATIC IMPORTED)
set_target_properties(PkgConfig::SODIUM PROPERTIES
  IMPORTED_LOCATION "${KNOCK_WINDOWS_DEPS}/lib/libsodium.a"
  INTERFACE_INCLUDE_DIRECTORIES "${KNOCK_WINDOWS_DEPS}/include"
  # sodium.h declares its functions dllimport unless told it is linked in.
  INTERFACE_COMPILE_DEFINITIONS SODIUM_STATIC)
add_library(PkgConfig::TOMLPP INTERFACE IMPORTED)
set_target_properties(PkgConfig::TOMLPP PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${KNOCK_WINDOWS_DEPS}/include"
  INTERFACE_COMPILE_DEFINITIONS "TOML_HEADER_ONLY=1")
