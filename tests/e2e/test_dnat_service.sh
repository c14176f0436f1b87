#!/usr/bin/env bash
# A forwarded service is hidden too: a third namespace runs the service, the
# server namespace DNATs its public port to it as Docker's `-p 2222:8080`
# does (a nat prerouting dnat rule and forwarding). The public port is
# hidden until a knock, open to the knocker after it, still hidden from a
# stranger, over IPv4 and IPv6; the knock range stays silent. Control:
# without knockd the same path is open.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_dnat
two_hosts
B=${E2E}b
ns_add "$B"
veth "$S" 198.19.5.1/24 "$B" 198.19.5.2/24 2001:db8:5::1/64 2001:db8:5::2/64
ip -n "$B" route add default via 198.19.5.1
ip -n "$B" -6 route add default via 2001:db8:5::1
ip -n "$C" addr add 2001:db8::3/64 dev "$C_DEV" nodad
in_ns "$S" sysctl -qw net.ipv4.ip_forward=1
in_ns "$S" sysctl -qw net.ipv6.conf.all.forwarding=1
in_ns "$S" nft -f - <<'NFT'
table ip docker_like {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 2222 dnat to 198.19.5.2:8080
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    ip daddr 198.19.5.2 tcp dport 8080 accept
  }
}
table ip6 docker_like6 {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 2222 dnat to [2001:db8:5::2]:8080
  }
}
NFT
start_bg "$B" service nc -lk 198.19.5.2 8080
start_bg "$B" service6 nc -6 -lk 2001:db8:5::2 8080

# Control: the forwarded service answers anyone while knockd is not there
# (a few tries while the listeners start and, for IPv6, the new links'
# neighbours settle).
for _ in $(seq 20); do can_connect_from "$C" 198.18.0.3 198.18.0.1 2222 && break; sleep 0.25; done
expect_open_from "$C" 198.18.0.3 198.18.0.1 2222
for _ in 1 2 3; do can_connect_from "$C" 2001:db8::3 2001:db8::1 2222 && break; sleep 1; done
expect_open_from "$C" 2001:db8::3 2001:db8::1 2222
pass "control: without knockd the DNAT'd service answers a stranger (IPv4 and IPv6)"

server_keys
ALICE_PUB=$(client_keys alice)
server_config "$WORK/knockd.toml" "$TABLE"
sed -i 's/open_for = "4s"/open_for = "30s"/' "$WORK/knockd.toml"
launch_knockd knockd

expect_closed_from "$C" 198.18.0.2 198.18.0.1 2222
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
pass "hidden before any knock, though the service lives in another namespace"

# Silent, not refused: a connect to the hidden port and to the knock range
# runs into nc's 2 s timeout instead of an immediate RST.
silent_from() {
  local start=$EPOCHREALTIME
  ! can_connect_from "$@" || fail "$3 port $4 answers $2"
  local ms
  ms=$(awk "BEGIN {printf \"%d\", ($EPOCHREALTIME - $start) * 1000}")
  [ "$ms" -ge 1500 ] || fail "$3 port $4 refused $2 at once (${ms} ms): not silent"
}
silent_from "$C" 198.18.0.3 198.18.0.1 2222
silent_from "$C" 198.18.0.3 198.18.0.1 20000
pass "the hidden port and the knock range are silent (no RST)"

client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "knock --wait did not open the forwarded port"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2" 5
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
pass "open to the knocker after the knock, still hidden from a stranger"

# Data flows both ways through the forward (established traffic passes).
echo "hello-through-dnat" |
  timeout 5 ip netns exec "$C" nc -w 1 -s 198.18.0.2 198.18.0.1 2222 ||
  true
wait_for_log service "hello-through-dnat" 3
pass "an established forwarded connection carries data"

expect_closed_from "$C" 2001:db8::2 2001:db8::1 2222
expect_closed_from "$C" 2001:db8::3 2001:db8::1 2222
knock_with "$C" "$WORK/knock.toml" bastion6 ssh --wait 2222 --timeout 5s ||
  fail "an IPv6 knock did not open the forwarded port"
# The kernel picks the knock's source among the client's two addresses.
KNOCKER6=$(grep -o "granted client alice service ssh from 2001:db8::[23]" \
  "$WORK/knockd.log" | tail -n 1 | awk '{print $NF}')
[ -n "$KNOCKER6" ] || fail "no IPv6 grant logged"
STRANGER6=2001:db8::2
[ "$KNOCKER6" = 2001:db8::2 ] && STRANGER6=2001:db8::3
expect_open_from "$C" "$KNOCKER6" 2001:db8::1 2222
expect_closed_from "$C" "$STRANGER6" 2001:db8::1 2222
pass "IPv6: hidden, then open to the knocker ($KNOCKER6) only"

# The server's own services (not forwarded) still reach the backend.
timeout 4 ip netns exec "$S" nc -z -w 2 198.19.5.2 8080 ||
  fail "the server cannot reach the backend itself"
pass "the server's own outgoing connections are untouched"
kill -0 "$KNOCKD_PID" || fail "knockd stopped"
