#!/usr/bin/env bash
# The Debian packages knock-server and knock-client: built by CPack from a
# configured build directory, unpacked with dpkg -x into scratch roots (never
# installed on the host; tests/package/test_systemd.sh installs them under a
# real systemd). Each file list is exact, the programs run from there, the man
# pages are gzipped and lint-clean, the unit starts /usr/sbin/knockd as
# User=knockd only once configured, validates before a reload, and has a
# systemd-analyze exposure of 2.0 or lower; the server's Depends name its
# libraries, adduser and nftables, the client's only its own two libraries;
# both conflict with and replace Debian's knockd 0.8; the maintainer scripts
# are valid sh, and the postinst creates the knockd system account once
# (checked with stub commands, and as root with the real adduser in a
# private mount namespace over copies of /etc and /var/lib).
# Usage: test_deb.sh BUILD_DIR
set -uo pipefail

# matches GREP_ARGS...: `grep -q` that reads all of its input first. Under
# pipefail, `cmd | grep -q X` fails at random: grep exits at the first match
# and cmd, still writing, dies of SIGPIPE.
matches() { local input; input=$(cat); grep -q "$@" <<<"$input"; }

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
debs=$(cd "$scratch/out" && ls *.deb | LC_ALL=C sort | sed 's/_.*//' | tr '\n' ' ')
[ "$debs" = "knock-client knock-server " ] || { echo "FAIL: cpack made $debs, not knock-client and knock-server"; exit 1; }
server_deb=$(ls "$scratch"/out/knock-server_*.deb)
client_deb=$(ls "$scratch"/out/knock-client_*.deb)
deb=$server_deb
root=$scratch/root
client_root=$scratch/client-root
dpkg -x "$server_deb" "$root" || { echo "FAIL: dpkg -x $server_deb"; exit 1; }
dpkg -x "$client_deb" "$client_root" || { echo "FAIL: dpkg -x $client_deb"; exit 1; }

# Nothing in /etc: the configuration is the admin's (copied from the
# example), /etc/knockd is made by the postinst, so there are no conffiles.
server_expected="lib/systemd/system/knockd.service
usr/sbin/knockd
usr/share/bash-completion/completions/knockd
usr/share/doc/knock-server/ARCHITECTURE.md
usr/share/doc/knock-server/AUDIT.md
usr/share/doc/knock-server/PROTOCOL.md
usr/share/doc/knock-server/README.md
usr/share/doc/knock-server/SECURITY.md
usr/share/doc/knock-server/examples/knockd.toml
usr/share/man/man5/knockd.toml.5.gz
usr/share/man/man8/knockd.8.gz"
client_expected="usr/bin/knock
usr/share/bash-completion/completions/knock
usr/share/doc/knock-client/PROTOCOL.md
usr/share/doc/knock-client/README.md
usr/share/doc/knock-client/examples/knock.toml
usr/share/man/man1/knock.1.gz
usr/share/man/man5/knock.toml.5.gz"
for pkg in server client; do
  if [ $pkg = server ]; then dir=$root expected=$server_expected; else dir=$client_root expected=$client_expected; fi
  actual=$(cd "$dir" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
  if [ "$actual" != "$expected" ]; then
    fail "knock-$pkg's file list differs (- expected, + packaged):"
    diff <(echo "$expected") <(echo "$actual") | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
  fi
done
for d in "$scratch/out"/*.deb; do
  conffiles=$(dpkg-deb -I "$d" conffiles 2>/dev/null)
  [ -z "$conffiles" ] || fail "$(basename "$d") has conffiles: $conffiles"
done

[ -x "$root/usr/sbin/knockd" ] && [ -x "$client_root/usr/bin/knock" ] || fail "programs are not executable"
out=$("$root/usr/sbin/knockd" -c "$root/usr/share/doc/knock-server/examples/knockd.toml" check 2>&1) ||
  fail "packaged knockd check of the packaged example: $out"
out=$("$client_root/usr/bin/knock" --help 2>&1) || fail "packaged knock --help: $out"
grep -q '^Usage: knock' <<<"$out" || fail "packaged knock --help printed no usage"
for lib in libpcap libnftables libseccomp; do
  ldd "$client_root/usr/bin/knock" | matches "$lib" && fail "the client links $lib"
done

for page in "$root"/usr/share/man/man*/*.gz "$client_root"/usr/share/man/man*/*.gz; do
  lint=$(gzip -dc "$page" | mandoc -Tlint 2>&1)
  [ -z "$lint" ] || fail "${page#$scratch/}: $lint"
done

grep -qx 'ExecStart=/usr/sbin/knockd -c /etc/knockd/knockd.toml run' \
  "$root/lib/systemd/system/knockd.service" || fail "the unit does not start /usr/sbin/knockd"

unit=$root/lib/systemd/system/knockd.service
grep -qx 'User=knockd' "$unit" || fail "the unit does not run as User=knockd"
grep -qx 'ConditionPathExists=/etc/knockd/knockd.toml' "$unit" ||
  fail "the unit may start without a configuration"
reload=$(grep '^ExecReload=' "$unit")
[ "$reload" = "ExecReload=/usr/sbin/knockd -c /etc/knockd/knockd.toml reload" ] ||
  fail "the reload does not validate before it signals and wait for the answer: $reload"
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
for lib in libsodium23 libpcap0.8 libtomlplusplus3 libnftables1 libseccomp2 adduser nftables; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "knock-server's Depends lacks $lib: $depends"
done
client_depends=$(dpkg-deb -f "$client_deb" Depends)
for lib in libsodium23 libtomlplusplus3; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$client_depends" || fail "knock-client's Depends lacks $lib: $client_depends"
done
for lib in libpcap0.8 libnftables1 libseccomp2 adduser nftables; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$client_depends" && fail "knock-client depends on $lib: $client_depends"
done
for d in "$server_deb" "$client_deb"; do
  for field in Conflicts Replaces; do
    [ "$(dpkg-deb -f "$d" "$field")" = knockd ] ||
      fail "$(basename "$d"): $field is \"$(dpkg-deb -f "$d" "$field")\", not knockd (Debian's knockd 0.8)"
  done
  [ "$(dpkg-deb -f "$d" Section)" = net ] || fail "$(basename "$d"): section is not net"
done
[ -z "$(dpkg-deb -I "$client_deb" | grep -E '^ +[0-9]+ bytes.*(preinst|postinst|prerm|postrm)')" ] ||
  fail "knock-client has maintainer scripts"

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
  # The rest of what the postinst calls only records that it was called:
  # nothing on the host changes.
  for tool in install deb-systemd-helper deb-systemd-invoke systemctl; do
    printf '#!/bin/sh\necho "%s $*" >>"$STUBS/calls.log"\n' "$tool" >"$stubs/$tool"
  done
  chmod +x "$stubs"/*
  run_postinst() { STUBS=$stubs PATH=$stubs:$PATH sh "$postinst" configure >>"$stubs/out.log"; }
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
  if [ ! -e /etc/knockd/knockd.toml ]; then
    grep -q "deb-systemd-helper enable\|invoke" "$stubs/calls.log" &&
      fail "the postinst enabled or started knockd.service without a configuration: $(cat "$stubs/calls.log")"
    grep -q "knockd.service is not enabled: there is no /etc/knockd/knockd.toml yet" "$stubs/out.log" ||
      fail "the postinst did not say why knockd.service is not enabled"
  fi
  for script in preinst prerm postrm; do
    [ -x "$control/$script" ] && sh -n "$control/$script" || fail "the $script is missing, not executable or not valid sh"
  done

  # The real adduser and install, as root, over copies of /etc and
  # /var/lib in a private mount namespace: the host's accounts and
  # directories are never touched (systemd's tools stay stubbed).
  if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && command -v adduser >/dev/null; then
    cp -a /etc "$scratch/etc"
    mkdir -p "$scratch/varlib" "$scratch/systemd-stubs"
    cp "$stubs/deb-systemd-helper" "$stubs/deb-systemd-invoke" "$stubs/systemctl" "$scratch/systemd-stubs/"
    rm -rf "$scratch/etc/knockd"
    for db in passwd shadow group gshadow; do
      [ -f "$scratch/etc/$db" ] && sed -i '/^knockd:/d' "$scratch/etc/$db"
    done
    real=$(STUBS=$stubs PATH=$scratch/systemd-stubs:$PATH unshare --mount sh -c '
      mount --bind "$1/etc" /etc || exit 9
      mount --bind "$1/varlib" /var/lib || exit 9
      getent passwd knockd >/dev/null && exit 9
      sh "$2" configure >/dev/null || exit 1
      first=$(getent passwd knockd) || exit 4
      sh "$2" configure >/dev/null || exit 2
      [ "$(getent passwd knockd)" = "$first" ] || exit 3
      echo "$first $(id -gn knockd 2>/dev/null) $(stat -c "%a:%U:%G" /etc/knockd /var/lib/knockd | tr "\n" " ")"' \
      sh "$scratch" "$postinst")
    rc=$?
    case $rc in
      0)
        IFS=: read -r name _ uid gid _ home shell_group_dirs <<<"$real"
        [ "$name" = knockd ] && [ "$uid" -lt 1000 ] && [ "$uid" -gt 0 ] && [ "$home" = /nonexistent ] &&
          [ "$shell_group_dirs" = "/usr/sbin/nologin knockd 750:root:knockd 700:knockd:knockd " ] ||
          fail "the real postinst made an unexpected account: $real"
        ;;
      9) echo "note: no private /etc for the real postinst check; skipped" ;;
      4) fail "the real postinst made no knockd account" ;;
      *) fail "the real postinst failed (step $rc): $real" ;;
    esac
  fi
fi

if [ $failures -ne 0 ]; then
  echo "$failures problems"
  exit 1
fi
echo "ok: $(basename "$server_deb") and $(basename "$client_deb"): files, programs, man pages," \
  "unit (User=knockd, configured first, reload validated, exposure $exposure), Depends, Conflicts, maintainer scripts"
