#!/usr/bin/env bash
# A sniffed sequence is worth nothing to anyone else: alice's knock opens the
# port for her address only; the same ports replayed from a second address
# are refused and logged as a replay naming both addresses, and that address
# stays shut out. A sequence made for another server's key opens nothing.
source "$(dirname "$0")/lib.sh"

alice_server knockd_e2e_replay
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd

# A server key that is not this server's: the pair key differs, so the
# ports mean nothing here.
(umask 077; "$KNOCKD" genkey >"$WORK/other-server.key")
OTHER_PUB=$("$KNOCKD" pubkey <"$WORK/other-server.key")
client_config "$WORK/knock-other.toml" alice "$OTHER_PUB"
knock_with "$C" "$WORK/knock-other.toml" bastion ssh ||
  fail "the client could not knock with another server's key"
sleep 1
[ "$(log_count knockd "granted")" -eq 0 ] ||
  fail "a knock for another server's key was granted"
expect_closed "$C" 198.18.0.1 2222
pass "a knock made for another server key opens nothing"

client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "alice's knock did not open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
PORTS=$(grant_ports knockd alice 198.18.0.2)
read -r WINDOW SLOT <<<"$(grant_window_slot knockd alice 198.18.0.2)"
[ "$(tr ',' '\n' <<<"$PORTS" | wc -l)" -eq 8 ] ||
  fail "cannot read eight ports from the grant line: \"$PORTS\""
pass "alice granted (window $WINDOW slot $SLOT, ports $PORTS)"

# The attacker sits next to alice and resends exactly what it sniffed.
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd "refused replay: client alice service ssh from 198.18.0.3 (window $WINDOW slot $SLOT), first used by 198.18.0.2" 5
pass "the replay from 198.18.0.3 is refused and logged with both addresses"

expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
pass "198.18.0.3 cannot connect while 198.18.0.2 can"

[ "$(log_count knockd "granted")" -eq 1 ] || fail "more than one grant logged"
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
grep -q "replays 1 " "$WORK/knockd.log" || fail "the counters do not show one replay"
pass "counters: one grant, one replay"
