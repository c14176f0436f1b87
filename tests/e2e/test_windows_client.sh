#!/usr/bin/env bash
# The Windows client: knock.exe (cross-built by scripts/build-windows.sh)
# under wine in the laptop namespace. `knock init` makes its key under
# %APPDATA%\knock with a private access list; the knock opens the real
# knockd's port and --wait sees it open; a key that Everyone may read is
# refused with the fix; `knock proxy` carries bytes both ways through pipes,
# as OpenSSH for Windows runs it.
source "$(dirname "$0")/lib.sh"

WINE=/usr/lib/wine/wine64
EXE=${KNOCK_WINDOWS_EXE:-$(dirname "$0")/../../build-windows/knock.exe}
if [ ! -x "$WINE" ]; then
  echo "SKIP: wine64 is not installed (scripts/install-windows-deps.sh)"
  exit 77
fi
if [ ! -f "$EXE" ]; then
  echo "SKIP: no $EXE (scripts/build-windows.sh builds it)"
  exit 77
fi
EXE=$(readlink -f "$EXE")

# wine: a prefix of its own, no display, quiet; its wineserver is stopped at
# the end (it is also in the namespace, which e2e_cleanup empties).
export WINEPREFIX=$WORK/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
stop_wineserver() { /usr/lib/wine/wineserver -k 2>/dev/null || true; }
trap 'stop_wineserver; e2e_cleanup' EXIT
win_knock() { in_ns "$C" timeout 120 "$WINE" "$EXE" "$@"; }

two_hosts
server_keys

# The first run makes the prefix (tens of seconds, once).
win_knock init --name alice >"$WORK/init.out" 2>"$WORK/init.log" ||
  fail "knock.exe init failed: $(cat "$WORK/init.log")"
APPDATA_DIR=$WINEPREFIX/drive_c/users/$(id -un)/AppData/Roaming/knock
KEY=$APPDATA_DIR/private.key
[ -f "$KEY" ] || fail "no key at $KEY: $(cat "$WORK/init.out")"
grep -q 'private key: C:\\users\\.*\\AppData\\Roaming\\knock\\private.key (created)' \
  "$WORK/init.out" || fail "init did not report %APPDATA%\\knock: $(cat "$WORK/init.out")"
# wine keeps a file's access list in its mode: nobody else may read it.
[ $(( $(stat -c %#a "$KEY") & 07 )) -eq 0 ] || fail "key mode $(stat -c %a "$KEY")"
pass "knock.exe init: the key under %APPDATA%\\knock, private to its owner"

ALICE_PUB=$(tr -d '\r' <"$WORK/init.out" | sed -n 's/^# public key: *//p')
server_config "$WORK/knockd.toml" knockd_win
cat >"$APPDATA_DIR/knock.toml" <<TOML
[server.bastion]
host = "198.18.0.1"
public_key = "$SERVER_PUB"
TOML
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null

start_bg "$S" listener nc -lk 198.18.0.1 2222
start_bg "$S" knockd "$KNOCKD" -c "$WORK/knockd.toml" run
wait_for_log knockd "started" 10
expect_closed "$C" 198.18.0.1 2222

win_knock bastion --wait 2222 --timeout 5s -v 2>"$WORK/knock.log" ||
  fail "knock.exe --wait did not see the port open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2" 5
grep -q "port 2222 open after" "$WORK/knock.log" || fail "no open report"
pass "knock.exe under wine knocked the real knockd; --wait saw the port open"

# Everyone may read the key (wine shows o+r as an Everyone entry).
chmod o+r "$KEY"
if win_knock bastion --dry-run >/dev/null 2>"$WORK/refused.log"; then
  fail "a key Everyone may read was accepted"
fi
grep -q 'private key file is readable by others (Everyone); run: icacls "C:\\users\\.*private.key" /inheritance:r /grant:r "%USERNAME%:F"' \
  "$WORK/refused.log" || fail "unexpected refusal: $(cat "$WORK/refused.log")"
chmod o-r "$KEY"
win_knock bastion --dry-run >/dev/null || fail "the private key again refused"
pass "a key Everyone may read is refused with the icacls fix; private again, accepted"

# knock proxy: standard input from a pipe reaches the opened port (both
# directions through pipes are checked by the Windows unit tests).
printf 'hello-from-windows\r\n' |
  in_ns "$C" timeout 30 "$WINE" "$EXE" proxy bastion 2222 --timeout 5s \
    >"$WORK/proxy.out" 2>"$WORK/proxy.log" ||
  fail "knock.exe proxy failed: $(cat "$WORK/proxy.log")"
wait_for_log listener "hello-from-windows" 5
pass "knock.exe proxy relayed standard input to the opened port"
