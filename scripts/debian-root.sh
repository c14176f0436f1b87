#!/usr/bin/env bash
# A Debian 12 minbase root as a tarball, made once by debootstrap and reused:
# the clean machine of scripts/fresh-check.sh and the container of
# tests/package/test_systemd.sh. The mirror is the one this machine's apt
# uses (the first Debian archive URI in /etc/apt/sources.list*). Prints the
# tarball's path; its name holds the package list, so another list makes
# another root.
# Usage: debian-root.sh CACHE_DIR [PACKAGE...]   (as root)
set -euo pipefail

cache=$1
shift
mkdir -p "$cache"
cache=$(readlink -f "$cache")
name=bookworm-minbase
[ $# -eq 0 ] || name=$name-$(printf '%s\n' "$@" | LC_ALL=C sort | sha256sum | cut -c1-12)
tarball=$cache/$name.tar
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

# deb822 (URIs:) and one-line (deb URI SUITE) sources; security and other
# archives are not the base system's.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?//p' |
  tr ' ' '\n' | grep -E '^https?://[^ ]*/debian/?$' | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d "$cache/.root.XXXXXX")
cleanup() {
  # debootstrap mounts proc and sys in the root while it works; a failed run
  # can leave them, and rm must never walk into them.
  set +e
  findmnt -rn -o TARGET | grep -F "$work/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
include=$(IFS=,; echo "$*")
echo "debootstrap: bookworm minbase${include:+ + $include} from $mirror (once; cached in $tarball)" >&2
if ! timeout 1500 debootstrap --variant=minbase ${include:+--include="$include"} \
    bookworm "$work/root" "$mirror" >"$work/log" 2>&1; then
  tail -n 30 "$work/log" >&2
  echo "debian-root.sh: debootstrap failed" >&2
  exit 1
fi
rm -f "$work"/root/var/cache/apt/archives/*.deb
tar -C "$work/root" --numeric-owner -cf "$work/root.tar" .
mv "$work/root.tar" "$tarball"
echo "$tarball"
