#!/usr/bin/env bash
# The Debian package: built by CPack from a configured build directory,
# unpacked with dpkg -x into a scratch root (never installed on the host); its
# file list is exact, its programs run from there, its man pages are gzipped
# and lint-clean, its unit starts /usr/sbin/knockd as User=knockd at a
# systemd-analyze exposure of 2.0 or lower, its Depends name the shared
# libraries the programs link, and its postinst creates the knockd system
# account, once (checked with stub commands, and as root with the real
# adduser in a private mount namespace over a copy of /etc).
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

unit=$root/lib/systemd/system/knockd.service
grep -qx 'User=knockd' "$unit" || fail "the unit does not run as User=knockd"
if command -v systemd-analyze >/dev/null; then
  exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 |
    sed -n 's/.*Overall exposure level for knockd\.service: \([0-9.]*\).*/\1/p')
  if [ -z "$exposure" ]; then
    fail "systemd-analyze security printed no overall exposure for the unit"
  elif ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    fail "the unit's exposure is $exposure, above 2.0"
  fi
else
  fail "systemd-analyze is not installed"
fi

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsodium23 libpcap0.8 libtomlplusplus3 libnftables1 libseccomp2 adduser; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

# The postinst: present, executable, and it makes the account exactly once.
control=$scratch/control
dpkg-deb -e "$deb" "$control" || fail "dpkg-deb -e $deb"
postinst=$control/postinst
if [ ! -f "$postinst" ]; then
  fail "the package has no postinst"
else
  [ -x "$postinst" ] || fail "the postinst is not executable"
  sh -n "$postinst" || fail "the postinst is not valid sh"
  # Stubs first on PATH: getent answers from files under $stubs, adduser
  # records its arguments and then "creates" the account.
  stubs=$scratch/stubs
  mkdir -p "$stubs"
  cat >"$stubs/getent" <<'STUB'
#!/bin/sh
grep -qx "$2" "$STUBS/$1" 2>/dev/null
STUB
  cat >"$stubs/adduser" <<'STUB'
#!/bin/sh
echo "$*" >>"$STUBS/adduser.log"
for name; do :; done
echo "$name" >>"$STUBS/passwd"
STUB
  chmod +x "$stubs/getent" "$stubs/adduser"
  run_postinst() { STUBS=$stubs PATH=$stubs:$PATH sh "$postinst" configure; }
  run_postinst || fail "postinst configure exited $? without the account"
  calls=$(cat "$stubs/adduser.log" 2>/dev/null)
  [ "$calls" = "--system --group --no-create-home --home /nonexistent --shell /usr/sbin/nologin --quiet knockd" ] ||
    fail "postinst did not create the system account knockd as expected: adduser ${calls:-never called}"
  run_postinst || fail "postinst configure exited $? the second time"
  [ "$(cat "$stubs/adduser.log" 2>/dev/null | wc -l)" -le 1 ] || fail "postinst ran adduser again for an existing account"
  rm -f "$stubs/adduser.log" "$stubs/passwd"
  echo knockd >"$stubs/group"
  run_postinst || fail "postinst configure exited $? with the group but no account"
  grep -q -- '--ingroup knockd' "$stubs/adduser.log" 2>/dev/null ||
    fail "postinst did not put the account into the existing group: $(cat "$stubs/adduser.log" 2>/dev/null)"

  # The real adduser, as root, over a copy of /etc in a private mount
  # namespace: the host's accounts are never touched.
  if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && command -v adduser >/dev/null; then
    cp -a /etc "$scratch/etc"
    for db in passwd shadow group gshadow; do
      [ -f "$scratch/etc/$db" ] && sed -i '/^knockd:/d' "$scratch/etc/$db"
    done
    real=$(unshare --mount sh -c '
      mount --bind "$1/etc" /etc || exit 9
      getent passwd knockd >/dev/null && exit 9
      sh "$2" configure || exit 1
      first=$(getent passwd knockd) || exit 4
      sh "$2" configure || exit 2
      [ "$(getent passwd knockd)" = "$first" ] || exit 3
      echo "$first $(id -gn knockd 2>/dev/null)"' sh "$scratch" "$postinst")
    rc=$?
    case $rc in
      0)
        IFS=: read -r name _ uid gid _ home shell_group <<<"$real"
        [ "$name" = knockd ] && [ "$uid" -lt 1000 ] && [ "$uid" -gt 0 ] && [ "$home" = /nonexistent ] &&
          [ "$shell_group" = "/usr/sbin/nologin knockd" ] ||
          fail "the real postinst made an unexpected account: $real"
        ;;
      9) echo "note: no private /etc for the real postinst check; skipped" ;;
      4) fail "the real postinst made no knockd account" ;;
      *) fail "the real postinst failed (step $rc): $real" ;;
    esac
  fi
fi

[ "$(dpkg-deb -f "$deb" Package)" = knock ] || fail "package name is not knock"
[ "$(dpkg-deb -f "$deb" Section)" = net ] || fail "section is not net"

if [ $failures -ne 0 ]; then
  echo "$failures problems"
  exit 1
fi
echo "ok: $(basename "$deb"): files, programs, man pages, unit (User=knockd, exposure $exposure), Depends and postinst"
