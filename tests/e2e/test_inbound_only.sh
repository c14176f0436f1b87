#!/usr/bin/env bash
# knockd counts only what arrives: the server's own connections out, to ports
# that make up a live sequence, are no knock, whatever address they leave
# from. Control: the very same ports sent by the client open.
source "$(dirname "$0")/lib.sh"

alice_server knockd_e2e_inbound
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null
client_config "$WORK/knock.toml" alice "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd

# Two live sequences of alice's (slots 0 and 1 of this window), one per
# address family.
ports_of() {
  local ports
  ports=$(knock_with "$C" "$WORK/knock.toml" "$1" ssh --slot "$2" --dry-run)
  read -r -a P <<<"$ports"
  [ "${#P[@]}" -eq 8 ] || fail "--dry-run printed \"$ports\""
  (IFS=,; echo "${P[*]}")
}
PORTS4=$(ports_of bastion 0)
PORTS6=$(ports_of bastion6 1)

# The server itself connects out to those ports on the client's addresses:
# the SYNs leave with the server's addresses as source and the sequence's
# ports as destination, exactly what a knock from the server would be.
in_ns "$S" "$SEND_KNOCKS" --source 198.18.0.1 198.18.0.2 "$PORTS4" ||
  fail "the server could not connect out"
in_ns "$S" "$SEND_KNOCKS" --source 2001:db8::1 2001:db8::2 "$PORTS6" ||
  fail "the server could not connect out over IPv6"
sleep 1
for address in 198.18.0.1 198.18.0.2 2001:db8::1 2001:db8::2; do
  [ "$(log_count knockd "from $address ")" -eq 0 ] ||
    fail "the server's own SYNs were taken as a knock: $(grep -F "from $address " "$WORK/knockd.log")"
done
pass "the server's own SYNs to a live sequence open nothing and use up nothing"

# Control: the same ports sent by the client open, as first uses (had the
# server's SYNs counted, these would be refused as replays).
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.2 198.18.0.1 "$PORTS4" ||
  fail "send_knocks could not knock"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
in_ns "$C" "$SEND_KNOCKS" --source 2001:db8::2 2001:db8::1 "$PORTS6" ||
  fail "send_knocks could not knock over IPv6"
wait_for_log knockd "granted client alice service ssh from 2001:db8::2 " 5
expect_open "$C" 198.18.0.1 2222
[ "$(log_count knockd "refused")" -eq 0 ] || fail "a refusal was logged"
pass "the same ports sent by the client open, over IPv4 and IPv6"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
