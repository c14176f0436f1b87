#!/usr/bin/env bash
# Installs what the Windows build of the client and its tests under wine
# need, from Debian 12 packages only: the mingw-w64 cross compiler (the posix
# thread model, whose std::thread works), wine64 to run the tests, and
# Debian's own libsodium source package (built for mingw by
# scripts/build-windows.sh). Enables deb-src for that, once. Safe to run again.
set -euo pipefail

packages=(
  g++-mingw-w64-x86-64-posix mingw-w64-x86-64-dev binutils-mingw-w64-x86-64
  wine64   # Debian's wine; the launcher is /usr/lib/wine/wine64
  dpkg-dev # apt-get source unpacks with dpkg-source
  autoconf automake libtool  # Debian's libsodium source has no configure
  zip
)

# deb-src next to every deb entry, in whichever form the machine has.
enable_deb_src() {
  local changed=0 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    if grep -q '^Types: deb$' "$f"; then
      sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
      changed=1
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    while read -r line; do
      local src="deb-src${line#deb}"
      if ! grep -qxF "$src" "$f"; then
        echo "$src" >>"$f"
        changed=1
      fi
    done < <(grep -E '^deb\s' "$f" || true)
  done
  echo "$changed"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
changed=$(enable_deb_src)
have_sources=0
ls /var/lib/apt/lists/*_Sources* >/dev/null 2>&1 && have_sources=1
if [ ${#missing[@]} -gt 0 ] || [ "$changed" = 1 ] || [ "$have_sources" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
