#!/usr/bin/env bash
# The server never answers what is not a valid knock: invalid knocks (TCP
# and UDP, anywhere in the range) and a connect to the protected port get no
# RST, no ICMP unreachable, no SYN-ACK; the client's capture holds nothing
# sent from the server's address. A sweep of the whole range opens nothing.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_silent
two_hosts
# Fixed neighbours: no ARP either way, so that the server's address appears
# in the capture only if the server answered something.
S_DEV=$(veth_dev "$S")
S_MAC=$(ip -n "$S" -o link show "$S_DEV" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
C_MAC=$(ip -n "$C" -o link show "$C_DEV" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n "$C" neigh replace 198.18.0.1 lladdr "$S_MAC" dev "$C_DEV" nud permanent
ip -n "$S" neigh replace 198.18.0.2 lladdr "$C_MAC" dev "$S_DEV" nud permanent
ip -n "$S" neigh replace 198.18.0.3 lladdr "$C_MAC" dev "$S_DEV" nud permanent

server_keys
ALICE_PUB=$(client_keys alice)
# The default protocol (tcp): UDP into the range must be silent too.
server_config "$WORK/knockd.toml" "$TABLE"

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd

start_capture "$C" "$WORK/client.pcap"
RANDOM=$$
random_ports() {
  local list=() _
  for _ in $(seq "$1"); do list+=($((16384 + RANDOM % 16384))); done
  local IFS=,; echo "${list[*]}"
}
in_ns "$C" "$SEND_KNOCKS" 198.18.0.1 "$(random_ports 200)" ||
  fail "send_knocks (tcp) failed"
in_ns "$C" "$SEND_KNOCKS" --udp 198.18.0.1 "$(random_ports 200)" ||
  fail "send_knocks (udp) failed"
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$(random_ports 100)" ||
  fail "send_knocks (tcp, second address) failed"
in_ns "$C" "$SEND_KNOCKS" --udp --source 198.18.0.3 198.18.0.1 "$(random_ports 100)" ||
  fail "send_knocks (udp, second address) failed"
expect_closed "$C" 198.18.0.1 2222
stop_capture

SENT=$(tcpdump -r "$WORK/client.pcap" -nn src host 198.18.0.2 or src host 198.18.0.3 2>/dev/null | wc -l)
[ "$SENT" -ge 600 ] || fail "the capture holds only $SENT of the client's packets"
ANSWERS=$(tcpdump -r "$WORK/client.pcap" -nn src host 198.18.0.1 2>/dev/null)
[ -z "$ANSWERS" ] || fail "the server answered: $(head -n 5 <<<"$ANSWERS")"
pass "$SENT packets sent, none answered (no RST, no ICMP, no SYN-ACK)"

# The whole range in order, as fast as it goes: every port of every valid
# sequence passes by, but never eight of them within 8 + slack knocks.
in_ns "$C" "$SEND_KNOCKS" --gap-ms 0 198.18.0.1 "$(seq -s, 16384 32767)" ||
  fail "the sweep failed"
sleep 1
[ "$(log_count knockd "granted")" -eq 0 ] || fail "a spray or sweep was granted"
expect_closed "$C" 198.18.0.1 2222
pass "a sweep of 16384-32767 opens nothing"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
COUNTERS=$(grep "counters:" "$WORK/knockd.log")
KNOCKS=$(sed -n 's/.* knocks \([0-9]*\) .*/\1/p' <<<"$COUNTERS")
# The capture filter passes only the ports of the windows a knock can use
# now; the sweep sends each of them once, so all of them must have reached
# the matcher. LIVE, logged at the start, counts the three live windows and
# perhaps the next or the expired one; by the sweep the filter may have lost
# that fourth one, and a roll may have replaced one of the three (a third of
# the ports, at most), hence two thirds.
LIVE=$(sed -n 's/.*capture filter: \([0-9]*\) ports.*/\1/p' "$WORK/knockd.log" | tail -n 1)
[ -n "$LIVE" ] || fail "knockd did not say what its capture filter passes"
[ "${KNOCKS:-0}" -ge $((LIVE * 2 / 3)) ] || fail "knockd saw only ${KNOCKS:-0} knocks of $LIVE live ports: $COUNTERS"
pass "knockd saw every live port of the sweep ($KNOCKS knocks, $LIVE live ports) and granted nothing"
