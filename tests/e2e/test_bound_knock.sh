#!/usr/bin/env bash
# Address-bound knocks (knock/v1 section 7), IPv4 and IPv6: an attacker in a
# third namespace who sniffed alice's bound sequence and races it to the
# server first opens nothing, and alice still gets in. Control: the same race
# with an unbound sequence does open for the attacker. bob's client table
# has require_bound: his unbound knock is refused, his bound one opens.
source "$(dirname "$0")/lib.sh"

two_hosts
# The attacker: its own namespace and link to the server, own addresses.
A=${E2E}a
ns_add "$A"
veth "$S" 198.18.1.1/24 "$A" 198.18.1.2/24 2001:db8:1::1/64 2001:db8:1::2/64
ip -n "$A" route add 198.18.0.0/24 via 198.18.1.1
ip -n "$A" -6 route add 2001:db8::/64 via 2001:db8:1::1
ip -n "$C" -6 route add 2001:db8:1::/64 via 2001:db8::1 || true
ip -n "$C" route add 198.18.1.0/24 via 198.18.0.1

server_keys
ALICE_PUB=$(client_keys alice)
BOB_PUB=$(client_keys bob)
server_config "$WORK/knockd.toml" knockd_e2e_bound
cat >>"$WORK/knockd.toml" <<TOML
allow_bound = true
[[client]]
name = "bob"
public_key = "$BOB_PUB"
services = ["ssh"]
require_bound = true
TOML
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null

start_bg "$S" listener nc -lk 198.18.0.1 2222
start_bg "$S" listener6 nc -6 -lk 2001:db8::1 2222
launch_knockd knockd

client_config "$WORK/alice.toml" alice "$SERVER_PUB"
client_config "$WORK/bob.toml" bob "$SERVER_PUB"
AT=$(date +%s)

# dry_ports CONF SERVER SLOT [--bind ADDR]: the ports a knock would send, as
# "P1,P2,...", without sending them.
dry_ports() {
  local conf=$1 server=$2 slot=$3; shift 3
  knock_with "$C" "$conf" "$server" ssh --dry-run --at "$AT" --slot "$slot" \
    "$@" 2>/dev/null | tr ' ' ','
}

# race SERVER_HOST ATTACKER CLIENT SLOT BIND...: the attacker sends alice's
# sequence first (it sniffed it: here the dry run stands for the sniffing),
# then alice knocks the very same sequence.
race_bound() {
  local server=$1 host=$2 attacker=$3 client=$4 slot=$5; shift 5
  local ports
  ports=$(dry_ports "$WORK/alice.toml" "$server" "$slot" "$@")
  [ "$(tr ',' '\n' <<<"$ports" | wc -l)" -eq 12 ] ||
    fail "a bound sequence of 8 knocks is 12 ports, got \"$ports\""
  in_ns "$A" "$SEND_KNOCKS" --source "$attacker" "$host" "$ports" ||
    fail "send_knocks could not race from $attacker"
  wait_for_log knockd "refused a grant: client alice service ssh from $attacker .*bound to another address than $attacker" 5
  expect_closed_from "$A" "$attacker" "$host" 2222
  pass "the bound sequence raced from $attacker opens nothing"
  knock_with "$C" "$WORK/alice.toml" "$server" ssh --at "$AT" --slot "$slot" \
    "$@" --wait 2222 --timeout 5s ||
    fail "alice's bound knock from $client did not open after the race"
  wait_for_log knockd "granted client alice service ssh from $client " 5
  expect_open_from "$C" "$client" "$host" 2222
  expect_closed_from "$A" "$attacker" "$host" 2222
  pass "alice ($client) still gets in; the attacker does not"
}

race_bound bastion 198.18.0.1 198.18.1.2 198.18.0.2 0 --bind 198.18.0.2
# IPv6, with the route's own source address.
race_bound bastion6 2001:db8::1 2001:db8:1::2 2001:db8::2 1 --bind auto

# Control: the same race with alice's unbound sequence opens for the
# attacker, so the test above can fail.
PORTS=$(dry_ports "$WORK/alice.toml" bastion 2)
[ "$(tr ',' '\n' <<<"$PORTS" | wc -l)" -eq 8 ] ||
  fail "an unbound sequence is 8 ports, got \"$PORTS\""
in_ns "$A" "$SEND_KNOCKS" --source 198.18.1.2 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not race"
wait_for_log knockd "granted client alice service ssh from 198.18.1.2 " 5
expect_open_from "$A" 198.18.1.2 198.18.0.1 2222
pass "control: the unbound sequence raced from 198.18.1.2 opens for it"

# require_bound: bob's unbound knock is refused by name, his bound one opens.
# (The client state is shared with alice's: bob takes slots she left.)
knock_with "$C" "$WORK/bob.toml" bastion ssh --at "$AT" --slot 2 ||
  fail "bob could not knock"
wait_for_log knockd "refused a grant: client bob service ssh from 198.18.0.2 .*(require_bound)" 5
[ "$(log_count knockd "granted client bob")" -eq 0 ] ||
  fail "bob's unbound knock was granted"
pass "require_bound refuses bob's unbound knock"
knock_with "$C" "$WORK/bob.toml" bastion ssh --at "$AT" --slot 3 \
  --bind 198.18.0.2 --wait 2222 --timeout 5s ||
  fail "bob's bound knock did not open"
wait_for_log knockd "granted client bob service ssh from 198.18.0.2 " 5
pass "bob's bound knock opens"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
