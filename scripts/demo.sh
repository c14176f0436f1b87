#!/usr/bin/env bash
# The main job, shown in network namespaces in under a minute: a protected
# port is hidden, a laptop's authenticated knock opens it for that laptop
# only, and it closes again. Needs root; installs and builds what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: the demo builds network namespaces and nftables rules" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh >/dev/null
B=$PWD/${BUILD_DIR:-build}

# The test helpers give us namespaces, cleanup on exit and bounded waits.
source tests/e2e/lib.sh "$B/knockd" "$B/knock" "$B/tests/send_knocks"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
try_connect() {
  local start=$SECONDS
  if can_connect "$LAPTOP" 198.18.0.1 22; then
    echo "   laptop -> 198.18.0.1:22  CONNECTED"
  else
    echo "   laptop -> 198.18.0.1:22  no answer at all (timed out after $((SECONDS - start)) s)"
  fi
}

SERVER=${E2E}-server LAPTOP=${E2E}-laptop
say "Two network namespaces: 'server' 198.18.0.1 and 'laptop' 198.18.0.2"
ns_add "$SERVER"; ns_add "$LAPTOP"
veth "$SERVER" 198.18.0.1/24 "$LAPTOP" 198.18.0.2/24 2001:db8::1/64 2001:db8::2/64

say "Keys: one X25519 pair each (knockd genkey / knock genkey)"
server_keys
LAPTOP_PUB=$(client_keys laptop)
echo "   server public key: $SERVER_PUB"
echo "   laptop public key: $LAPTOP_PUB"

cat >"$WORK/knockd.toml" <<TOML
private_key_file = "$WORK/server.key"
state_dir = "$WORK/state"
[firewall]
table = "knockd_demo"
[service.ssh]
ports = ["tcp/22"]
open_for = "6s"
[[client]]
name = "laptop"
public_key = "$LAPTOP_PUB"
services = ["ssh"]
TOML
cat >"$WORK/knock.toml" <<TOML
private_key_file = "$WORK/laptop.key"
[server.bastion]
host = "198.18.0.1"
public_key = "$SERVER_PUB"
TOML

say "The server: a service on port 22, and knockd guarding it"
"$KNOCKD" -c "$WORK/knockd.toml" check | sed 's/^/   /'
start_bg "$SERVER" service nc -lk 198.18.0.1 22
start_bg "$SERVER" knockd "$KNOCKD" -c "$WORK/knockd.toml" run
wait_for_log knockd started 10
sed 's/^/   /' "$WORK/knockd.log"
SNIFFER_PID=$(sed -n 's/.*, sniffer pid \([0-9]*\) as .*/\1/p' "$WORK/knockd.log")
HELPER_PID=$(ps -o ppid= -p "$SNIFFER_PID" | tr -d ' ')
caps() { awk '$1 == "Uid:" {u = $2} $1 == "CapEff:" {c = $2} $1 == "Seccomp:" {s = $2}
  END {printf "uid %s, capabilities %s, seccomp mode %s", u, c, s}' "/proc/$1/status"; }
echo "   two processes: the firewall helper (pid $HELPER_PID: $(caps "$HELPER_PID"))"
echo "   and the packet sniffer, chrooted to an empty directory (pid $SNIFFER_PID: $(caps "$SNIFFER_PID"))"
echo "   nftables table the daemon owns:"
in_ns "$SERVER" nft list table inet knockd_demo | sed 's/^/     /'

say "1. Hidden: the laptop tries port 22 before knocking"
try_connect

say "2. Knock: 8 one-time ports derived from the pair key and the time window"
in_ns "$LAPTOP" env HOME="$WORK/home" XDG_STATE_HOME="$WORK/home/state" \
  "$KNOCK" -c "$WORK/knock.toml" -v bastion ssh --wait 22 --timeout 5s 2>&1 | sed 's/^/   /'
grep granted "$WORK/knockd.log" | sed 's/^/   /'
try_connect
echo "   the hole, as the kernel holds it (it closes itself, even if knockd dies):"
in_ns "$SERVER" nft list set inet knockd_demo allowed4 | grep -A1 elements | sed 's/^/     /'

say "3. A sniffer replays the same 8 ports from another address"
ip -n "$LAPTOP" addr add 198.18.0.3/24 dev "$(ip -n "$LAPTOP" -o link show type veth | awk -F'[ @:]+' '{print $2}')"
PORTS=$(grep -o 'ports [0-9,]*' "$WORK/knockd.log" | head -1 | cut -d' ' -f2)
in_ns "$LAPTOP" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS"
wait_for_log knockd "refused replay" 5
grep "refused replay" "$WORK/knockd.log" | sed 's/^/   /'

say "4. Closed again: wait out open_for (6 s)"
sleep 6
try_connect

say "Done: hidden, opened by one knock for one address, closed again."
