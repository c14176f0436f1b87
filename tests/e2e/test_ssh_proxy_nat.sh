#!/usr/bin/env bash
# The laptop case end to end: a real OpenSSH server behind knockd, two
# laptops behind a masquerading router (port rewriting), ssh with
# `ProxyCommand knock proxy ...`. The grant is for the router's outer
# address; both laptops knocking at the same moment get in; plain ssh
# without a knock times out; --wait says 0 or 3; a second knock in the same
# window takes another slot; an unlisted key opens nothing.
source "$(dirname "$0")/lib.sh"

S=${E2E}s R=${E2E}r L1=${E2E}l1 L2=${E2E}l2
for ns in "$S" "$R" "$L1" "$L2"; do ns_add "$ns"; done
veth "$S" 198.18.0.1/24 "$R" 198.18.0.254/24
veth "$L1" 198.19.1.2/24 "$R" 198.19.1.1/24
veth "$L2" 198.19.2.2/24 "$R" 198.19.2.1/24
ip -n "$L1" route add default via 198.19.1.1
ip -n "$L2" route add default via 198.19.2.1
in_ns "$R" sysctl -qw net.ipv4.ip_forward=1
OUTER=$(ip -n "$R" -o addr show | awk '/198.18.0.254/ {print $2}')
in_ns "$R" nft -f - <<NFT
table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "$OUTER" masquerade random,fully-random
  }
}
NFT

# --- the server: sshd (key login only) behind knockd ---
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id_ed25519"
cp "$WORK/id_ed25519.pub" "$WORK/authorized_keys"
cat >"$WORK/sshd_config" <<CONF
ListenAddress 198.18.0.1
Port 22
HostKey $WORK/ssh_host_ed25519_key
AuthorizedKeysFile $WORK/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
PidFile $WORK/sshd.pid
CONF
start_bg "$S" sshd /usr/sbin/sshd -D -e -f "$WORK/sshd_config"
wait_for_log sshd "Server listening" 10

server_keys
L1_PUB=$(client_keys laptop1)
L2_PUB=$(client_keys laptop2)
STRANGER_PUB=$(client_keys stranger)
cat >"$WORK/knockd.toml" <<TOML
private_key_file = "$WORK/server.key"
state_dir = "$WORK/state"
[firewall]
table = "knockd_e2e_ssh"
[service.ssh]
ports = ["tcp/22"]
open_for = "20s"
[[client]]
name = "laptop1"
public_key = "$L1_PUB"
services = ["ssh"]
[[client]]
name = "laptop2"
public_key = "$L2_PUB"
services = ["ssh"]
TOML
launch_knockd knockd

for who in laptop1 laptop2 stranger; do
  mkdir -p "$WORK/$who-home"
  cat >"$WORK/$who.toml" <<TOML
private_key_file = "$WORK/$who.key"
[server.bastion]
host = "198.18.0.1"
public_key = "$SERVER_PUB"
service = "ssh"
TOML
done

# ssh_as NS WHO [ssh options...] COMMAND: ssh through knock proxy.
ssh_as() {
  local ns=$1 who=$2; shift 2
  timeout 30 ip netns exec "$ns" env HOME="$WORK/$who-home" \
    XDG_STATE_HOME="$WORK/$who-home/state" \
    ssh -F none -i "$WORK/id_ed25519" -o BatchMode=yes \
    -o UserKnownHostsFile="$WORK/known_hosts" -o StrictHostKeyChecking=accept-new \
    -o ProxyCommand="$KNOCK -c $WORK/$who.toml proxy bastion ssh %p" \
    root@bastion "$@"
}
knock_as() {
  local ns=$1 who=$2; shift 2
  timeout 30 ip netns exec "$ns" env HOME="$WORK/$who-home" \
    XDG_STATE_HOME="$WORK/$who-home/state" "$KNOCK" -c "$WORK/$who.toml" "$@"
}

# Plain ssh, no knock: nothing answers.
if timeout 10 ip netns exec "$L1" ssh -F none -i "$WORK/id_ed25519" -o BatchMode=yes \
  -o ConnectTimeout=3 -o StrictHostKeyChecking=no root@198.18.0.1 true 2>/dev/null; then
  fail "ssh without a knock got in"
fi
pass "plain ssh without a knock times out"

# Both laptops at the same moment, through the same NAT address.
ssh_as "$L1" laptop1 echo hello-laptop1 >"$WORK/l1.out" 2>"$WORK/l1.err" &
P1=$!
ssh_as "$L2" laptop2 echo hello-laptop2 >"$WORK/l2.out" 2>"$WORK/l2.err" &
P2=$!
PIDS+=("$P1" "$P2")
wait "$P1" || fail "laptop1's ssh failed: $(cat "$WORK/l1.err")"
wait "$P2" || fail "laptop2's ssh failed: $(cat "$WORK/l2.err")"
grep -qx hello-laptop1 "$WORK/l1.out" || fail "laptop1 ran nothing"
grep -qx hello-laptop2 "$WORK/l2.out" || fail "laptop2 ran nothing"
pass "ssh -o ProxyCommand='knock proxy ...' logs in from two laptops at once"
grep -q "granted client laptop1 service ssh from 198.18.0.254 " "$WORK/knockd.log" ||
  fail "laptop1's grant is not for the router's outer address"
grep -q "granted client laptop2 service ssh from 198.18.0.254 " "$WORK/knockd.log" ||
  fail "laptop2's grant is not for the router's outer address"
pass "both grants are for the NAT's outer address 198.18.0.254"

# A second knock in the same window takes the next slot and opens again.
# Slots count per window: a window that rolls between the ssh above and this
# knock frees slot 0 again, so the windows are compared too, and a knock
# across a roll is followed by one more (two knocks a second apart share a
# 30 s window). The port is already open for the NAT address, so --wait
# returns before the helper has logged the new grant: wait for the line.
laptop1_grants() {
  grep -F "granted client laptop1 service ssh " "$WORK/knockd.log" |
    sed -n 's/.*(window \([0-9]*\) slot \([0-9]*\)).*/\1 \2/p'
}
knock_again() {
  local before
  before=$(laptop1_grants | wc -l)
  knock_as "$L1" laptop1 bastion --wait 22 --timeout 5s ||
    fail "second knock: --wait did not say open"
  for _ in $(seq 100); do
    [ "$(laptop1_grants | wc -l)" -gt "$before" ] && return
    sleep 0.05
  done
  fail "the second knock made no new grant"
}
knock_again
read -r W1 S1 <<<"$(laptop1_grants | tail -n 2 | head -n 1)"
read -r W2 S2 <<<"$(laptop1_grants | tail -n 1)"
if [ "$W1" != "$W2" ]; then
  echo "note: window $W1 rolled to $W2 between the knocks; one more knock"
  knock_again
  W1=$W2 S1=$S2
  read -r W2 S2 <<<"$(laptop1_grants | tail -n 1)"
fi
[ "$W1" = "$W2" ] || fail "knocks a second apart in windows $W1 and $W2"
[ "$S1" != "$S2" ] || fail "the second knock reused slot $S1 of window $W1"
pass "a second knock in the same window uses another slot (window $W1: slot $S1, then $S2)"

# A key the server does not list opens nothing. (The port is open for the
# NAT address already, by the laptops' grants: the known limit of NAT.)
GRANTS=$(grep -c granted "$WORK/knockd.log")
knock_as "$L1" stranger bastion 2>/dev/null || fail "the stranger's knock was not sent"
sleep 0.5
[ "$(grep -c granted "$WORK/knockd.log")" -eq "$GRANTS" ] ||
  fail "an unlisted key made a grant"
pass "an unlisted key opens nothing"

# With the daemon down, --wait gives up with 3.
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
# The sniffer closes its capture under the syscall filter and exits 0.
! grep -q "the sniffer .* at stop" "$WORK/knockd.log" ||
  fail "$(grep "the sniffer .* at stop" "$WORK/knockd.log")"
pass "knockd and its sniffer stop cleanly (pcap_close under the filter)"
in_ns "$S" "$KNOCKD" -c "$WORK/knockd.toml" flush >/dev/null
in_ns "$S" nft add table inet hide
in_ns "$S" nft add chain inet hide input '{ type filter hook input priority 0; policy accept; tcp dport 22 drop; }'
RC=0
knock_as "$L2" laptop2 bastion --wait 22 --timeout 2s 2>/dev/null || RC=$?
[ "$RC" -eq 3 ] || fail "--wait with the daemon down exited $RC, not 3"
pass "--wait exits 3 when nothing opens"
