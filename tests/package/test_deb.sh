#!/usr/bin/env bash
# The Debian package: built by CPack from a configured build directory,
# unpacked with dpkg -x into a scratch root (never installed on the host); its
# file list is exact, its programs run from there, its man pages are gzipped
# and lint-clean, its unit starts /usr/sbin/knockd, and its Depends name the
# shared libraries the programs link.
# Usage: test_deb.sh BUILD_DIR
set -uo pipefail

build=$1
failures=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if ! (cd "$build" && timeout 120 cpack -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1); then
  cat "$scratch/cpack.log"
  echo "FAIL: cpack -G DEB"
  exit 1
fi
debs=("$scratch"/out/knock_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "FAIL: no single knock_*.deb: ${debs[*]}"; exit 1; }
deb=${debs[0]}
root=$scratch/root
dpkg -x "$deb" "$root" || { echo "FAIL: dpkg -x $deb"; exit 1; }

expected="lib/systemd/system/knockd.service
usr/bin/knock
usr/sbin/knockd
usr/share/bash-completion/completions/knock
usr/share/bash-completion/completions/knockd
usr/share/doc/knock/ARCHITECTURE.md
usr/share/doc/knock/AUDIT.md
usr/share/doc/knock/PROTOCOL.md
usr/share/doc/knock/README.md
usr/share/doc/knock/SECURITY.md
usr/share/doc/knock/examples/knock.toml
usr/share/doc/knock/examples/knockd.toml
usr/share/man/man1/knock.1.gz
usr/share/man/man5/knock.toml.5.gz
usr/share/man/man5/knockd.toml.5.gz
usr/share/man/man8/knockd.8.gz"
actual=$(cd "$root" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
if [ "$actual" != "$expected" ]; then
  fail "file list differs (- expected, + packaged):"
  diff <(echo "$expected") <(echo "$actual") | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
fi

[ -x "$root/usr/sbin/knockd" ] && [ -x "$root/usr/bin/knock" ] || fail "programs are not executable"
out=$("$root/usr/sbin/knockd" -c "$root/usr/share/doc/knock/examples/knockd.toml" check 2>&1) ||
  fail "packaged knockd check of the packaged example: $out"
out=$("$root/usr/bin/knock" --help 2>&1) || fail "packaged knock --help: $out"
grep -q '^Usage: knock' <<<"$out" || fail "packaged knock --help printed no usage"

for page in "$root"/usr/share/man/man*/*.gz; do
  lint=$(gzip -dc "$page" | mandoc -Tlint 2>&1)
  [ -z "$lint" ] || fail "${page#$root/}: $lint"
done

grep -qx 'ExecStart=/usr/sbin/knockd -c /etc/knockd/knockd.toml run' \
  "$root/lib/systemd/system/knockd.service" || fail "the unit does not start /usr/sbin/knockd"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsodium23 libpcap0.8 libtomlplusplus3 libnftables1; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
[ "$(dpkg-deb -f "$deb" Package)" = knock ] || fail "package name is not knock"
[ "$(dpkg-deb -f "$deb" Section)" = net ] || fail "section is not net"

if [ $failures -ne 0 ]; then
  echo "$failures problems"
  exit 1
fi
echo "ok: $(basename "$deb"): files, programs, man pages, unit and Depends"
