#!/usr/bin/env bash
# The benchmarks that hold knockd to its speed and memory targets, ours beside Debian's knockd 0.8 and fwknop
# 2.6.10, in one run on this machine:
#   1. knock to open (p50, p99)        2. matcher throughput (packets/s/core)
#   3. valid knocks under a SYN flood  4. scale (10,000 clients, 1M sources)
#   5. valid knocks under attack (table fill, blind fill, replay flood)
#
#   bench/run.sh [--smoke] [--build-dir DIR] [--no-install] [--parts 1,2,3,4,5]
#
# The full run installs the peers from Debian, builds ours in Release, writes
# bench/results/ and regenerates the tables of docs/BENCHMARKS.md. --smoke is
# a seconds-long run of every part (ctest label "bench"): it writes nothing
# in the tree and skips a peer that is not installed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOKE=0 INSTALL=1 PARTS=1,2,3,4,5 BUILD=
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) SMOKE=1 INSTALL=0 ;;
    --build-dir) BUILD=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --parts) PARTS=$2; shift ;;
    *) echo "usage: bench/run.sh [--smoke] [--build-dir DIR] [--no-install] [--parts 1,2,3,4,5]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, firewalls)" >&2; exit 1; }

source "$ROOT/bench/lib.sh"
WORK=$(mktemp -d /tmp/knock-bench.XXXXXX)
chmod 755 "$WORK"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if [ "$SMOKE" = 1 ]; then
  RUNS=5 WAIT_RUNS=1 MATCH_PACKETS=200000 MATCH_PLANTED=20 SPA_PACKETS=5
  SPA_NOISE=20000 FLOOD_KNOCKS=5 SCALE_CLIENTS=50 FILL_SOURCES=20000
  ATTACK_KNOCKS=2 ATTACK_MAX_SOURCES=500 ATTACK_CLIENTS=50 CLIENT_RUNS=2
  RESULTS=$WORK/results
else
  RUNS=200 WAIT_RUNS=10 MATCH_PACKETS=10000000 MATCH_PLANTED=200 SPA_PACKETS=100
  SPA_NOISE=1000000 FLOOD_KNOCKS=100 SCALE_CLIENTS=10000 FILL_SOURCES=1000000
  ATTACK_KNOCKS=20 ATTACK_MAX_SOURCES=2000 ATTACK_CLIENTS=1000 CLIENT_RUNS=50
  RESULTS=$ROOT/bench/results
fi
mkdir -p "$RESULTS"
TRICKLE_PER_S=2000  # new forged sources a second after a table fill (part 5)
SUMMARY=$RESULTS/summary.txt
: >"$SUMMARY"
result() { echo "$1 $2" | tee -a "$SUMMARY"; }
part() { [[ ",$PARTS," == *",$1,"* ]]; }

# --- Peers and our build -------------------------------------------------

if [ "$INSTALL" = 1 ]; then
  # Debian would start the peers' services on install; policy-rc.d says no.
  POLICY=/usr/sbin/policy-rc.d
  [ -e "$POLICY" ] || { printf '#!/bin/sh\nexit 101\n' >"$POLICY"; chmod 755 "$POLICY"; ADDED_POLICY=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    knockd fwknop-server fwknop-client iptables nftables tcpdump time >"$WORK/apt.log" 2>&1 ||
    { tail "$WORK/apt.log"; exit 1; }
  [ -n "${ADDED_POLICY:-}" ] && rm -f "$POLICY"
fi
HAVE_KNOCKD=0 HAVE_FWKNOP=0
[ -x /usr/sbin/knockd ] && HAVE_KNOCKD=1
[ -x /usr/sbin/fwknopd ] && [ -x /usr/bin/fwknop ] && command -v iptables >/dev/null && HAVE_FWKNOP=1

if [ -z "$BUILD" ]; then
  BUILD=$ROOT/build-bench
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    >"$WORK/cmake.log" 2>&1 || { tail "$WORK/cmake.log"; exit 1; }
  cmake --build "$BUILD" >>"$WORK/cmake.log" 2>&1 || { tail -n 30 "$WORK/cmake.log"; exit 1; }
fi
BUILD=$(cd "$BUILD" && pwd)
OURS=$BUILD/knockd CLIENT=$BUILD/knock TOOLS=$BUILD/bench
for tool in "$OURS" "$CLIENT" "$TOOLS"/bench_{gen_config,gen_capture,open_latency,syn_flood,matcher_scale}; do
  [ -x "$tool" ] || { echo "bench: $tool is not built" >&2; exit 1; }
done

# --- Keys and configurations ----------------------------------------------

(umask 077; "$OURS" genkey >"$WORK/server.key"; "$CLIENT" genkey >"$WORK/alice.key")
SERVER_PUB=$("$OURS" pubkey <"$WORK/server.key")
ALICE_PUB=$("$CLIENT" pubkey <"$WORK/alice.key")

# ours_config FILE STATE_DIR DEV: one service on tcp/2222, slots enough for
# every run to use a fresh sequence.
ours_config() {
  cat >"$1" <<TOML
private_key_file = "$WORK/server.key"
state_dir = "$2"
audit_log = "$WORK/audit.jsonl"
interfaces = ["$3"]
[knock]
ports = "16384-32767"
slots = 256
seq_timeout = "5s"
[firewall]
table = "kbench"
[service.ssh]
ports = ["tcp/2222"]
open_for = "2s"
[[client]]
name = "alice"
public_key = "$ALICE_PUB"
services = ["ssh"]
TOML
}

cat >"$WORK/client.toml" <<TOML
private_key_file = "$WORK/alice.key"
[server.bench]
host = "198.18.0.1"
public_key = "$SERVER_PUB"
slots = 256
service = "ssh"
TOML
client() {
  env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" \
    XDG_CONFIG_HOME="$WORK/home/.config" "$CLIENT" -c "$WORK/client.toml" "$@"
}

KNOCKD_PORTS=7000,8000,9000
knockd_config() {
  cat >"$1" <<CONF
[options]
  LogFile = $WORK/theirs-knockd-events.log
  Interface = $S_DEV
[open]
  sequence = $KNOCKD_PORTS
  seq_timeout = 5
  tcpflags = syn
  start_command = /usr/sbin/nft insert rule inet kdbench input ip saddr %IP% tcp dport 2222 accept
CONF
}

FWKNOP_KEY=$(head -c 32 /dev/urandom | base64)
FWKNOP_HMAC=$(head -c 64 /dev/urandom | base64 -w0)
fwknop_configs() {
  mkdir -p "$WORK/fwknop-run"
  cat >"$WORK/fwknopd.conf" <<CONF
PCAP_INTF $S_DEV;
ENABLE_PCAP_PROMISC N;
FIREWALL_EXE /usr/sbin/iptables;
CONF
  cat >"$WORK/access.conf" <<CONF
SOURCE ANY
KEY_BASE64 $FWKNOP_KEY
HMAC_KEY_BASE64 $FWKNOP_HMAC
FW_ACCESS_TIMEOUT 30
CONF
  chmod 600 "$WORK/fwknopd.conf" "$WORK/access.conf"
}
fwknopd_args() {
  echo -c "$WORK/fwknopd.conf" -a "$WORK/access.conf" -d "$WORK/digest.cache" \
    -p "$WORK/fwknopd.pid" -r "$WORK/fwknop-run"
}
# spa_packet ALLOW_IP FILE: one fresh SPA packet for ALLOW_IP appended to FILE.
spa_packet() {
  HOME=$WORK/home fwknop -A tcp/2222 -a "$1" -D 198.18.0.1 --use-hmac \
    --key-base64-rijndael "$FWKNOP_KEY" --key-base64-hmac "$FWKNOP_HMAC" \
    --no-save-args -T -B "$2" -b >/dev/null 2>&1
}
mkdir -p "$WORK/home"

# --- Daemons in the server namespace ---------------------------------------

start_ours() {  # start_ours NAME
  ours_config "$WORK/$1.toml" "$WORK/state-$1" "$S_DEV"
  start_bg "$S" "$WORK/$1.log" "$OURS" -c "$WORK/$1.toml" run
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$1.log" "started:" 20
}
# stop_ours NAME: our daemon leaves its table (fail closed); the peers'
# runs need tcp/2222 without it.
stop_ours() { stop_pid "$DAEMON_PID"; in_ns "$S" nft delete table inet kbench 2>/dev/null || true; }
start_knockd() {  # start_knockd NAME
  in_ns "$S" nft -f - <<NFT
table inet kdbench {
  chain input {
    type filter hook input priority 0;
    tcp dport 2222 drop
  }
}
NFT
  knockd_config "$WORK/$1.conf"
  start_bg "$S" "$WORK/$1.log" /usr/sbin/knockd -c "$WORK/$1.conf" -i "$S_DEV" -v
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$1.log" "listening on" 20
}
stop_knockd() { stop_pid "$DAEMON_PID"; in_ns "$S" nft delete table inet kdbench 2>/dev/null || true; }
start_fwknopd() {  # start_fwknopd NAME
  fwknop_configs
  rm -f "$WORK/digest.cache"
  # shellcheck disable=SC2046
  start_bg "$S" "$WORK/$1.log" fwknopd $(fwknopd_args) -f -i "$S_DEV"
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$1.log" "main event loop" 20
  in_ns "$S" iptables -A INPUT -p tcp --dport 2222 -j DROP
}
stop_fwknopd() { stop_pid "$DAEMON_PID"; in_ns "$S" iptables -F; in_ns "$S" iptables -X 2>/dev/null || true; }

# knock_once N KIND TIMEOUT_MS: one knock-to-open from client address N;
# prints the milliseconds, or "timeout".
knock_once() {
  local n=$1 source ports
  source=$(client_address "$n")
  local args=(knock --dest 198.18.0.1 --port 2222 --source "$source" --timeout-ms "$3")
  case $2 in
    ours) ports=$(client --dry-run --at "$T0" --slot $(((n - 1) % 256)) bench | tr ' ' ',')
          args+=(--syn "$ports") ;;
    knockd) args+=(--syn "$KNOCKD_PORTS") ;;
    fwknop) rm -f "$WORK/spa.one"; spa_packet "$source" "$WORK/spa.one"
            args+=(--udp-payload-file "$WORK/spa.one" --udp-port 62201) ;;
  esac
  { in_ns "$C" "$TOOLS/bench_open_latency" "${args[@]}" || true; } |
    awk '{print ($1 == "open_ms") ? $2 : "timeout"}'
}

hosts "$RUNS"
start_bg "$S" "$WORK/service.log" "$TOOLS/bench_open_latency" listen 2222 3600
wait_for_log "$WORK/service.log" listening 10
T0=$(date +%s)

# --- 1. Knock to open -----------------------------------------------------

latency_runs() {  # latency_runs KIND
  local file=$RESULTS/open-$1.txt i
  : >"$file"
  for i in $(seq 1 "$RUNS"); do knock_once "$i" "$1" 3000 >>"$file"; done
  local ok
  ok=$(grep -cv timeout "$file" || true)
  grep -v timeout "$file" >"$WORK/ok.txt" || true
  result "open_${1}_p50_ms" "$(percentile "$WORK/ok.txt" 50)"
  result "open_${1}_p99_ms" "$(percentile "$WORK/ok.txt" 99)"
  result "open_${1}_opened" "$ok/$RUNS"
}

if part 1; then
  T0=$(date +%s)
  echo "== 1. knock to open, $RUNS runs each"
  start_ours ours1
  latency_runs ours
  # The real client, as a person runs it: knock, then --wait for the port.
  : >"$RESULTS/open-client-wait.txt"
  for w in $(seq 1 "$WAIT_RUNS"); do
    t=$(in_ns "$C" bash -c 'a=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || exit 1; b=$EPOCHREALTIME;
        awk -v a="$a" -v b="$b" "BEGIN {printf \"%.3f\n\", (b - a) * 1000}"' _ \
        env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" "$CLIENT" \
        -c "$WORK/client.toml" bench --slot $((256 - w)) --wait 2222 --timeout 5s) || t=timeout
    echo "$t" >>"$RESULTS/open-client-wait.txt"
    sleep 2.2  # the grant (open_for 2s) lapses before the next run
  done
  grep -v timeout "$RESULTS/open-client-wait.txt" >"$WORK/ok.txt" || true
  result open_client_wait_p50_ms "$(percentile "$WORK/ok.txt" 50)"
  result open_client_wait_p99_ms "$(percentile "$WORK/ok.txt" 99)"
  # The same client doing everything but the network (keys, config, state,
  # derivation): what --wait adds over it is the knock, the open and the probe.
  : >"$RESULTS/open-client-dry-run.txt"
  for w in $(seq 1 "$WAIT_RUNS"); do
    in_ns "$C" bash -c 'a=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || exit 1; b=$EPOCHREALTIME;
        awk -v a="$a" -v b="$b" "BEGIN {printf \"%.3f\n\", (b - a) * 1000}"' _ \
        env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" "$CLIENT" \
        -c "$WORK/client.toml" bench --slot $((256 - w)) --dry-run >>"$RESULTS/open-client-dry-run.txt"
  done
  result open_client_dry_run_p50_ms "$(percentile "$RESULTS/open-client-dry-run.txt" 50)"
  result open_client_dry_run_p99_ms "$(percentile "$RESULTS/open-client-dry-run.txt" 99)"
  stop_ours ours1
  if [ "$HAVE_KNOCKD" = 1 ]; then start_knockd knockd1; latency_runs knockd; stop_knockd; fi
  if [ "$HAVE_FWKNOP" = 1 ]; then start_fwknopd fwknop1; latency_runs fwknop; stop_fwknopd; fi
fi

# --- 1b. Real clients, exec to exit ------------------------------------------

# Each run from a fresh client address (a host route to the server with that
# source), so no run sees an earlier grant, against a daemon of its own with
# the port behind it closed. Ours: `knock --wait` (exec to exit includes the
# knock, the open and the probe) beside its --dry-run (everything but the
# network and the state file's record). knockd 0.8's `knock` and `fwknop`
# exit once their packets left: exec to exit, and exec to open (their exit,
# then probes from the same address until the port accepts).
CLIENT_ROUTE=198.18.0.1/32
client_source() { ip -n "$C" route replace "$CLIENT_ROUTE" dev "$C_DEV" src "$(client_address "$1")"; }
# exec_ms CMD...: milliseconds from exec to exit of CMD in the client
# namespace (timed inside it), or "failed".
exec_ms() {
  in_ns "$C" bash -c 'a=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || { echo failed; exit 0; }; b=$EPOCHREALTIME;
      awk -v a="$a" -v b="$b" "BEGIN {printf \"%.3f\n\", (b - a) * 1000}"' _ "$@"
}
# TO_OPEN ADDRESS CMD...: CMD, then probes from ADDRESS until the port
# accepts (bench_open_latency with no knocks of its own).
TO_OPEN=(bash -c '"${@:2}" && "$0" knock --dest 198.18.0.1 --port 2222 --timeout-ms 3000 --syn "" --source "$1"'
  "$TOOLS/bench_open_latency")
# client_exec_runs NAME CMD...: CLIENT_RUNS timed runs ("{}" in CMD is the
# run's client address); p50 and p99 of those that succeeded.
client_exec_runs() {
  local name=$1 file=$RESULTS/client-exec-$1.txt i; shift
  : >"$file"
  for i in $(seq 1 "$CLIENT_RUNS"); do
    client_source "$i"
    exec_ms "${@//\{\}/$(client_address "$i")}" >>"$file"
  done
  grep -v failed "$file" >"$WORK/ok.txt" || true
  result "client_exec_${name}_p50_ms" "$(percentile "$WORK/ok.txt" 50)"
  result "client_exec_${name}_p99_ms" "$(percentile "$WORK/ok.txt" 99)"
  result "client_exec_${name}_ok" "$(wc -l <"$WORK/ok.txt")/$CLIENT_RUNS"
}

if part 1; then
  echo "== 1b. real clients, exec to exit, $CLIENT_RUNS runs each"
  start_ours client1
  client_exec_runs ours_wait env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" \
    "$CLIENT" -c "$WORK/client.toml" bench --wait 2222 --timeout 3s
  client_exec_runs ours_dry_run env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" \
    "$CLIENT" -c "$WORK/client.toml" bench --dry-run
  stop_ours
  if [ "$HAVE_KNOCKD" = 1 ] && [ -x /usr/bin/knock ]; then
    start_knockd client-knockd
    client_exec_runs knockd /usr/bin/knock 198.18.0.1 ${KNOCKD_PORTS//,/ }
    stop_knockd
    start_knockd client-knockd-open
    client_exec_runs knockd_to_open "${TO_OPEN[@]}" "{}" /usr/bin/knock 198.18.0.1 ${KNOCKD_PORTS//,/ }
    stop_knockd
  fi
  if [ "$HAVE_FWKNOP" = 1 ]; then
    fwknop_client=(env HOME="$WORK/home" fwknop -A tcp/2222 -a "{}" -D 198.18.0.1 --use-hmac
      --key-base64-rijndael "$FWKNOP_KEY" --key-base64-hmac "$FWKNOP_HMAC" --no-save-args)
    start_fwknopd client-fwknop
    client_exec_runs fwknop "${fwknop_client[@]}"
    stop_fwknopd
    start_fwknopd client-fwknop-open
    client_exec_runs fwknop_to_open "${TO_OPEN[@]}" "{}" "${fwknop_client[@]}"
    stop_fwknopd
  fi
  ip -n "$C" route del "$CLIENT_ROUTE" 2>/dev/null || true
fi

# --- 2. Matcher throughput ------------------------------------------------

# timed OUT CMD...: runs CMD pinned to one core; "user sys wall maxrss_kb" in OUT.
timed() {
  local out=$1; shift
  /usr/bin/time -f "%U %S %e %M" -o "$out.raw" taskset -c 1 "$@" || true
  tail -n 1 "$out.raw" >"$out"
}

per_cpu_second() { awk -v n="$1" -v u="$2" -v s="$3" 'BEGIN {printf "%.0f", n / (u + s + 1e-9)}'; }

if part 2; then
  T0=$(date +%s)
  echo "== 2. matcher throughput, $MATCH_PACKETS packets"
  "$TOOLS/bench_gen_config" --out "$WORK/match.toml" --server-key "$WORK/server.key" \
    --clients 8 --state-dir "$WORK/state-match"
  planted=$("$TOOLS/bench_gen_capture" -c "$WORK/match.toml" --out "$WORK/match.pcap" \
    --packets "$MATCH_PACKETS" --planted "$MATCH_PLANTED" --pps 33333 | awk '{print $2}')
  timed "$WORK/match.time" "$OURS" -c "$WORK/match.toml" replay --pcap "$WORK/match.pcap" >"$WORK/match.out"
  rm -f "$WORK/match.pcap"
  read -r user sys wall rss <"$WORK/match.time"
  grants=$(grep -c ' granted ' "$WORK/match.out" || true)
  grep '^counters:' "$WORK/match.out" >"$RESULTS/match-ours-counters.txt"
  result match_ours_pps_per_core "$(per_cpu_second "$MATCH_PACKETS" "$user" "$sys")"
  result match_ours_cpu_s "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')"
  result match_ours_wall_s "$wall"
  result match_ours_grants "$grants/$planted"
  if [ "$HAVE_FWKNOP" = 1 ]; then
    fwknop_configs
    rm -f "$WORK/spa.txt" "$WORK/digest.cache"
    for i in $(seq 1 "$SPA_PACKETS"); do spa_packet "$(client_address "$i")" "$WORK/spa.txt"; done
    spa_planted=$("$TOOLS/bench_gen_capture" --spa-file "$WORK/spa.txt" --out "$WORK/spa.pcap" \
      --packets "$SPA_NOISE" | awk '{print $2}')
    # shellcheck disable=SC2046
    # -C: exit after the file (at its end fwknopd otherwise signals its whole
    # process group); no sleep between dispatches, as a file never waits.
    printf 'PCAP_DISPATCH_COUNT 1000000;\nPCAP_LOOP_SLEEP 1;\n' >>"$WORK/fwknopd.conf"
    timed "$WORK/spa.time" timeout 600 fwknopd $(fwknopd_args) -f -t -C "$SPA_NOISE" --pcap-file "$WORK/spa.pcap" >"$WORK/spa.out" 2>&1 || true
    read -r user sys wall rss <"$WORK/spa.time"
    grants=$(grep -c 'test mode enabled, skipping firewall' "$WORK/spa.out" || true)
    result match_fwknop_pps_per_core "$(per_cpu_second "$SPA_NOISE" "$user" "$sys")"
    result match_fwknop_packets "$SPA_NOISE"
    result match_fwknop_grants "$grants/$spa_planted"
  fi
fi

# --- 3. Under a SYN flood -------------------------------------------------

flood_part() {  # flood_part KIND FLOOD_PORTS
  local kind=$1 file=$RESULTS/flood-$1.txt i
  T0=$(date +%s)
  case $kind in
    ours) start_ours flood-ours ;;
    knockd) start_knockd flood-knockd ;;
    fwknop) start_fwknopd flood-fwknop ;;
  esac
  local cpu0 start_s
  cpu0=$(cpu_ticks "$DAEMON_PID")
  start_s=$EPOCHREALTIME
  start_bg "$C" "$WORK/flood-$kind-gen.log" "$TOOLS/bench_syn_flood" --dev "$C_DEV" \
    --dst-mac "$S_MAC" --dest 198.18.0.1 --ports "$2" --seconds $((FLOOD_KNOCKS + 10))
  local flood_pid=$LAST_PID
  sleep 0.5
  : >"$file"
  for i in $(seq 1 "$FLOOD_KNOCKS"); do knock_once "$i" "$kind" 2000 >>"$file"; sleep 0.1; done
  stop_pid "$flood_pid" INT
  local cpu1 hwm elapsed
  cpu1=$(cpu_ticks "$DAEMON_PID")
  hwm=$(peak_rss_kb "$DAEMON_PID")
  elapsed=$(awk -v a="$start_s" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')
  case $kind in
    ours) stop_ours flood-ours
          result "flood_ours_capture" "$(sed -n 's/.*capture: \(received.*\)/\1/p' "$WORK/flood-ours.log" | tr ' ' '_')" ;;
    knockd) stop_knockd ;;
    fwknop) stop_fwknopd ;;
  esac
  grep -v timeout "$file" >"$WORK/ok.txt" || true
  result "flood_${kind}_opened" "$(grep -cv timeout "$file" || true)/$FLOOD_KNOCKS"
  result "flood_${kind}_open_p50_ms" "$(percentile "$WORK/ok.txt" 50)"
  result "flood_${kind}_flood_pps" "$(awk '{print int($6)}' "$WORK/flood-$kind-gen.log")"
  result "flood_${kind}_cpu_pct" "$(awk -v t="$((cpu1 - cpu0))" -v e="$elapsed" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", 100 * t / hz / e}')"
  result "flood_${kind}_ns_per_packet" "$(ns_per_packet "$((cpu1 - cpu0))" "$(awk '{print $2}' "$WORK/flood-$kind-gen.log")")"
  result "flood_${kind}_peak_rss_kb" "$hwm"
}

# ns_per_packet TICKS SENT: daemon CPU (both processes) per packet sent.
ns_per_packet() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {if (n > 0) printf "%.0f", t / hz * 1e9 / n; else print "n/a"}'
}

# flood_clients N: ours with N generated clients (1 service, 4 slots) under
# the flood alone, no knocks: daemon CPU per flood packet, and how many
# ports of the range its capture filter passes.
flood_clients() {
  local n=$1 name=flood-clients-$1
  "$TOOLS/bench_gen_config" --out "$WORK/$name.toml" --server-key "$WORK/server.key" \
    --clients "$n" --state-dir "$WORK/state-$name" --table kbench
  sed -i "s/^interfaces = .*/interfaces = [\"$S_DEV\"]/" "$WORK/$name.toml"
  start_bg "$S" "$WORK/$name.log" "$OURS" -c "$WORK/$name.toml" run
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$name.log" "started:" 120
  local cpu0 cpu1
  cpu0=$(cpu_ticks "$DAEMON_PID")
  start_bg "$C" "$WORK/$name-gen.log" "$TOOLS/bench_syn_flood" --dev "$C_DEV" \
    --dst-mac "$S_MAC" --dest 198.18.0.1 --ports 16384-32767 --seconds "$FLOOD_CLIENT_SECONDS"
  wait "$LAST_PID" || true
  cpu1=$(cpu_ticks "$DAEMON_PID")
  stop_ours
  result "flood_ours_${n}_clients_ns_per_packet" "$(ns_per_packet "$((cpu1 - cpu0))" "$(awk '{print $2}' "$WORK/$name-gen.log")")"
  result "flood_ours_${n}_clients_filter_ports" "$(sed -n 's/.*capture filter: \([0-9]*\) ports.*/\1/p' "$WORK/$name.log" | head -n 1)"
  result "flood_ours_${n}_clients_capture" "$(sed -n 's/.*capture: \(received.*\)/\1/p' "$WORK/$name.log" | tr ' ' '_')"
  # The same frames matched without capture or wake-ups: what of the
  # figure above the matcher itself costs (the rest is the kernel's).
  local seconds=5
  [ "$SMOKE" = 1 ] && seconds=1
  "$TOOLS/bench_flood_matching" -c "$WORK/$name.toml" --seconds "$seconds" >"$WORK/$name-matching.txt"
  result "flood_ours_${n}_clients_matching_ns_per_frame" "$(awk '$1 == "ns_per_frame" {printf "%.0f", $2}' "$WORK/$name-matching.txt")"
}

if part 3; then
  echo "== 3. under a SYN flood, $FLOOD_KNOCKS valid knocks each"
  flood_part ours 16384-32767
  [ "$HAVE_KNOCKD" = 1 ] && flood_part knockd "$KNOCKD_PORTS"
  [ "$HAVE_FWKNOP" = 1 ] && flood_part fwknop 16384-32767
  # A whole step (30 s), so the figure averages over the phases in which the
  # filter passes three or four windows.
  if [ "$SMOKE" = 1 ]; then FLOOD_CLIENT_SECONDS=2; else FLOOD_CLIENT_SECONDS=30; fi
  for n in 1 100 10000; do flood_clients "$n"; done
fi

# --- 4. Scale ---------------------------------------------------------------

# start_time_ms NAME READY_PATTERN CMD...: milliseconds from exec to the
# pattern in its log, in the server namespace; leaves RSS_KB set.
start_time_ms() {
  local name=$1 pattern=$2; shift 2
  local a=$EPOCHREALTIME
  start_bg "$S" "$WORK/$name.log" "$@"
  local pid=$LAST_PID
  if wait_for_log "$WORK/$name.log" "$pattern" 120; then
    STARTED_MS=$(awk -v a="$a" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    RSS_KB=$(sum_status "$pid" VmRSS)
  else
    STARTED_MS=n/a RSS_KB=n/a
  fi
  stop_pid "$pid"
}

if part 4; then
  echo "== 4. scale: $SCALE_CLIENTS clients x 2 services"
  "$TOOLS/bench_gen_config" --out "$WORK/scale.toml" --server-key "$WORK/server.key" \
    --clients "$SCALE_CLIENTS" --services 2 --state-dir "$WORK/state-scale"
  "$TOOLS/bench_matcher_scale" -c "$WORK/scale.toml" --rolls 3 >"$RESULTS/scale-matcher.txt"
  result scale_clients "$SCALE_CLIENTS"
  result scale_matcher_start_ms "$(awk '$1 == "start_wall_ms" {print $2}' "$RESULTS/scale-matcher.txt")"
  result scale_roll_cpu_ms "$(awk '$1 == "roll_cpu_ms" {print $2}' "$RESULTS/scale-matcher.txt")"
  start_time_ms scale-ours "started:" "$OURS" -c "$WORK/scale.toml" run
  result scale_ours_start_ms "$STARTED_MS"
  result scale_ours_rss_kb "$RSS_KB"
  "$TOOLS/bench_gen_config" --out "$WORK/full.toml" --server-key "$WORK/server.key" \
    --clients "$SCALE_CLIENTS" --services 2 --state-dir "$WORK/state-full" --max-sources "$FILL_SOURCES"
  "$TOOLS/bench_matcher_scale" -c "$WORK/full.toml" --rolls 0 --fill "$FILL_SOURCES" >"$RESULTS/scale-full.txt"
  result full_sources_tracked "$(awk '$1 == "sources_tracked" {print $2}' "$RESULTS/scale-full.txt")"
  result full_matcher_rss_kb "$(awk '$1 == "rss_full_kb" {print $2}' "$RESULTS/scale-full.txt")"
  "$TOOLS/bench_gen_capture" --distinct-sources --out "$WORK/full.pcap" --packets "$FILL_SOURCES" >/dev/null
  timed "$WORK/full.time" "$OURS" -c "$WORK/full.toml" replay --pcap "$WORK/full.pcap" >"$WORK/full.out"
  rm -f "$WORK/full.pcap"
  result full_replay_peak_rss_kb "$(awk '{print $4}' "$WORK/full.time")"
  result full_replay_counters "$(sed -n 's/^counters: .*\(sources [0-9]*\).*/\1/p' "$WORK/full.out" | tr ' ' '_')"
  if [ "$HAVE_KNOCKD" = 1 ]; then
    # knockd has no clients: one door (a static 3-port sequence) per client
    # and service is its nearest equivalent.
    { printf '[options]\n  LogFile = %s/scale-knockd-events.log\n' "$WORK"
      for d in $(seq 1 $((SCALE_CLIENTS * 2))); do
        printf '[door%d]\n  sequence = %d,%d,%d\n  seq_timeout = 5\n  tcpflags = syn\n  start_command = /bin/true\n' \
          "$d" $((1024 + RANDOM % 30000)) $((1024 + RANDOM % 30000)) $((1024 + RANDOM % 30000))
      done; } >"$WORK/scale-knockd.conf"
    start_time_ms scale-knockd "listening on" /usr/sbin/knockd -c "$WORK/scale-knockd.conf" -i "$S_DEV" -v
    result scale_knockd_start_ms "$STARTED_MS"
    result scale_knockd_rss_kb "$RSS_KB"
  fi
  if [ "$HAVE_FWKNOP" = 1 ]; then
    fwknop_configs
    for c in $(seq 1 "$SCALE_CLIENTS"); do
      printf 'SOURCE ANY\nKEY_BASE64 %s\nHMAC_KEY_BASE64 %s\nFW_ACCESS_TIMEOUT 30\n\n' \
        "$(head -c 32 /dev/urandom | base64)" "$FWKNOP_HMAC"
    done >"$WORK/access.conf"
    # shellcheck disable=SC2046
    start_time_ms scale-fwknop "main event loop" fwknopd $(fwknopd_args) -f -i "$S_DEV"
    result scale_fwknop_start_ms "$STARTED_MS"
    result scale_fwknop_rss_kb "$RSS_KB"
  fi
fi

# --- 5. Under attack ---------------------------------------------------------

# The attacks on the source table and on the audit path, each while valid
# knocks are made (a fresh sequence and source each, 2 s timeout): share
# opened, daemon CPU and peak RSS over the attack, and for ours the kernel's
# capture drops. Floods come from forged 198.19.0.0/16 sources, bounded in
# sources, packets and seconds.
ATTACK_FLOOD=$BUILD/tests/flood_knocks ATTACK_REPLAY=$BUILD/tests/knock_flood

# attack_ours_knock N SERVICE: as knock_once for ours, to SERVICE.
attack_ours_knock() {
  local ports
  ports=$(client --dry-run --at "$T0" --slot $((($1 - 1) % 256)) bench "$2" | tr ' ' ',')
  { in_ns "$C" "$TOOLS/bench_open_latency" knock --dest 198.18.0.1 --port 2222 \
      --source "$(client_address "$1")" --timeout-ms 2000 --syn "$ports" || true; } |
    awk '{print ($1 == "open_ms") ? $2 : "timeout"}'
}

# attack_knocks NAME KIND [SERVICE]: the valid knocks during an attack, in
# $RESULTS/attack-NAME.txt.
attack_knocks() {
  local file=$RESULTS/attack-$1.txt i
  : >"$file"
  for i in $(seq 1 "$ATTACK_KNOCKS"); do
    if [ "$2" = ours ] && [ -n "${3:-}" ]; then
      attack_ours_knock "$i" "$3" >>"$file"
    else
      knock_once "$i" "$2" 2000 >>"$file"
    fi
    sleep 0.1
  done
}

# attack_begin / attack_end NAME: daemon CPU and peak RSS over the attack
# (read before the daemon stops), and the share of valid knocks opened.
attack_begin() { ATTACK_CPU0=$(cpu_ticks "$DAEMON_PID"); ATTACK_T0=$EPOCHREALTIME; }
attack_end() {
  local ticks elapsed
  ticks=$(($(cpu_ticks "$DAEMON_PID") - ATTACK_CPU0))
  elapsed=$(awk -v a="$ATTACK_T0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')
  result "attack_$1_cpu_pct" "$(awk -v t="$ticks" -v e="$elapsed" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", 100 * t / hz / e}')"
  result "attack_$1_peak_rss_kb" "$(peak_rss_kb "$DAEMON_PID")"
  result "attack_$1_opened" "$(grep -cv timeout "$RESULTS/attack-$1.txt" || true)/$ATTACK_KNOCKS"
}

# attack_ours_counters NAME LOG: what our daemon said at its stop.
attack_ours_counters() {
  result "attack_$1_capture" "$(sed -n 's/.*capture: \(received.*\)/\1/p' "$2" | tail -n 1 | tr ' ' '_')"
  result "attack_$1_evictions" "$(grep -o 'evictions [0-9]*' "$2" | tail -n 1 | cut -d' ' -f2)"
}

# start_ours_conf NAME CONF: our daemon on a configuration of its own.
start_ours_conf() {
  start_bg "$S" "$WORK/$1.log" "$OURS" -c "$2" run
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$1.log" "started:" 30
}

# start_knockd_conf NAME CONF: knockd 0.8 on CONF behind the kdbench drop
# rule; fails (status 1) if it does not start.
start_knockd_conf() {
  in_ns "$S" nft -f - <<NFT
table inet kdbench {
  chain input {
    type filter hook input priority 0;
    tcp dport 2222 drop
  }
}
NFT
  start_bg "$S" "$WORK/$1.log" /usr/sbin/knockd -c "$2" -i "$S_DEV" -v
  DAEMON_PID=$LAST_PID
  wait_for_log "$WORK/$1.log" "listening on" 120 || { stop_knockd; return 1; }
}

# fill_flood ARGS...: flood_knocks from the client's link, to its end.
fill_flood() {
  in_ns "$C" timeout 120 "$ATTACK_FLOOD" "$C_DEV" "$S_MAC" 198.18.0.1 "$@" >/dev/null
}
# trickle_flood ARGS...: flood_knocks in the background at TRICKLE_PER_S
# new sources a second for as long as the valid knocks can take.
trickle_flood() {
  start_bg "$C" "$WORK/trickle.log" timeout $((ATTACK_KNOCKS * 3 + 10)) "$ATTACK_FLOOD" \
    "$C_DEV" "$S_MAC" 198.18.0.1 "$@" --rate "$TRICKLE_PER_S" --seconds $((ATTACK_KNOCKS * 3 + 5))
  TRICKLE_PID=$LAST_PID
  sleep 0.5
}

# (a) The table filled three times over with sources holding 7 of the 8
# ports of one sniffed live sequence, then new such sources trickling in.
# knockd 0.8: sources holding the first 2 of its 3 static ports.
attack_fill() {
  local kind=$1 sniffer=$((ATTACK_KNOCKS + 1)) partial
  T0=$(date +%s)
  case $kind in
    ours)
      ours_config "$WORK/attack-fill.toml" "$WORK/state-attack-fill" "$S_DEV"
      sed -i "s/^seq_timeout = .*/&\nmax_sources = $ATTACK_MAX_SOURCES/" "$WORK/attack-fill.toml"
      start_ours_conf attack-fill-ours "$WORK/attack-fill.toml"
      # One knock the attacker sniffed: it opened, and its ports are known.
      knock_once "$sniffer" ours 2000 >/dev/null
      partial=$(client --dry-run --at "$T0" --slot $((sniffer - 1)) bench | tr ' ' ',' | cut -d, -f1-7) ;;
    knockd)
      start_knockd attack-fill-knockd
      partial=$(cut -d, -f1-2 <<<"$KNOCKD_PORTS") ;;
  esac
  attack_begin
  fill_flood --sources $((ATTACK_MAX_SOURCES * 3)) --ports "$partial" --seconds 30
  trickle_flood --first $((ATTACK_MAX_SOURCES * 3)) --sources $((65536 - ATTACK_MAX_SOURCES * 3)) --ports "$partial"
  attack_knocks "fill_$kind" "$kind"
  stop_pid "$TRICKLE_PID"
  attack_end "fill_$kind"
  case $kind in
    ours) stop_ours; attack_ours_counters fill_ours "$WORK/attack-fill-ours.log" ;;
    knockd) stop_knockd ;;
  esac
}

# (b) 1,000 clients configured (as many slots as valid knocks, so each is a
# fresh sequence): a blind fill of sources knocking 16 random ports of the
# knock range each (five times the table), then a trickle. knockd 0.8: 1,000
# doors of 3 random ports in the same range, the valid knocks on the first
# door's.
attack_blind() {
  local kind=$1 saved_ports=$KNOCKD_PORTS
  T0=$(date +%s)
  case $kind in
    ours)
      "$TOOLS/bench_gen_config" --out "$WORK/attack-blind.toml" --server-key "$WORK/server.key" \
        --state-dir "$WORK/state-attack-blind" --clients "$ATTACK_CLIENTS" --client-pub "$ALICE_PUB" \
        --max-sources "$ATTACK_MAX_SOURCES" --slots $((ATTACK_KNOCKS + 1)) --table kbench --backend nftables --open-for 2s
      sed -i "s/^interfaces = .*/interfaces = [\"$S_DEV\"]/" "$WORK/attack-blind.toml"
      start_ours_conf attack-blind-ours "$WORK/attack-blind.toml" ;;
    knockd)
      KNOCKD_PORTS=$(shuf -i 16384-32767 -n 3 | paste -sd,)
      { printf '[options]\n  LogFile = %s/attack-blind-knockd-events.log\n' "$WORK"
        printf '[open]\n  sequence = %s\n  seq_timeout = 5\n  tcpflags = syn\n' "$KNOCKD_PORTS"
        printf '  start_command = /usr/sbin/nft insert rule inet kdbench input ip saddr %%IP%% tcp dport 2222 accept\n'
        for d in $(seq 2 "$ATTACK_CLIENTS"); do
          printf '[door%d]\n  sequence = %s\n  seq_timeout = 5\n  tcpflags = syn\n  start_command = /bin/true\n' \
            "$d" "$(shuf -i 16384-32767 -n 3 | paste -sd,)"
        done; } >"$WORK/attack-blind-knockd.conf"
      if ! start_knockd_conf attack-blind-knockd "$WORK/attack-blind-knockd.conf"; then
        result attack_blind_knockd_opened "n/a_(no_start_with_${ATTACK_CLIENTS}_doors)"
        KNOCKD_PORTS=$saved_ports
        return 0
      fi ;;
  esac
  attack_begin
  fill_flood --sources $((ATTACK_MAX_SOURCES * 5)) --random-ports 16 --range 16384-32767 \
    --seed "$RANDOM" --seconds 60
  trickle_flood --first $((ATTACK_MAX_SOURCES * 5)) --sources $((65536 - ATTACK_MAX_SOURCES * 5)) \
    --random-ports 16 --range 16384-32767 --seed "$RANDOM"
  attack_knocks "blind_$kind" "$kind" svc0
  stop_pid "$TRICKLE_PID"
  attack_end "blind_$kind"
  case $kind in
    ours) stop_ours; attack_ours_counters blind_ours "$WORK/attack-blind-ours.log" ;;
    knockd) stop_knockd; KNOCKD_PORTS=$saved_ports ;;
  esac
}

# (c) One sniffed valid knock replayed from ever new forged sources as fast
# as this machine sends, during the valid knocks. Ours with the audit log on
# (every refusal is audited); knockd 0.8: its static sequence, which opens
# for each forged source that completes it; fwknop: one captured SPA packet,
# which its digest cache refuses.
attack_replay() {
  local kind=$1 sniffer=$((ATTACK_KNOCKS + 1)) ports seconds=$((ATTACK_KNOCKS / 3 + 4))
  T0=$(date +%s)
  case $kind in
    ours)
      ours_config "$WORK/attack-replay.toml" "$WORK/state-attack-replay" "$S_DEV"
      rm -f "$WORK/audit.jsonl"
      "$OURS" -c "$WORK/attack-replay.toml" audit init >"$WORK/audit-verify.key" 2>/dev/null
      start_ours_conf attack-replay-ours "$WORK/attack-replay.toml"
      knock_once "$sniffer" ours 2000 >/dev/null
      ports=$(client --dry-run --at "$T0" --slot $((sniffer - 1)) bench | tr ' ' ',')
      start_bg "$C" "$WORK/replay-gen.log" "$ATTACK_REPLAY" --dev "$C_DEV" --dst-mac "$S_MAC" \
        --dest 198.18.0.1 --seconds "$seconds" --max-packets $((seconds * 2000000)) --replay "$ports" ;;
    knockd)
      start_knockd attack-replay-knockd
      start_bg "$C" "$WORK/replay-gen.log" "$ATTACK_REPLAY" --dev "$C_DEV" --dst-mac "$S_MAC" \
        --dest 198.18.0.1 --seconds "$seconds" --max-packets $((seconds * 2000000)) --replay "$KNOCKD_PORTS" ;;
    fwknop)
      start_fwknopd attack-replay-fwknop
      knock_once "$sniffer" fwknop 2000 >/dev/null
      cp "$WORK/spa.one" "$WORK/spa.captured"
      start_bg "$C" "$WORK/replay-gen.log" "$TOOLS/bench_syn_flood" --dev "$C_DEV" --dst-mac "$S_MAC" \
        --dest 198.18.0.1 --udp-payload-file "$WORK/spa.captured" --udp-port 62201 \
        --seconds "$seconds" --max-packets $((seconds * 2000000)) ;;
  esac
  local flood_pid=$LAST_PID
  attack_begin
  sleep 0.5
  attack_knocks "replay_$kind" "$kind"
  stop_pid "$flood_pid" INT
  attack_end "replay_$kind"
  result "attack_replay_${kind}_flood_pps" "$(awk '{print int($NF)}' "$WORK/replay-gen.log")"
  case $kind in
    ours)
      sleep 1.5  # the last second's refusal summary reaches the audit log
      stop_ours
      attack_ours_counters replay_ours "$WORK/attack-replay-ours.log"
      result attack_replay_ours_replays_refused "$(grep -o 'replays [0-9]*' "$WORK/attack-replay-ours.log" | tail -n 1 | cut -d' ' -f2)"
      result attack_replay_ours_audit_records "$(grep -c '"event":"refusals"' "$WORK/audit.jsonl" || true)" ;;
    knockd)
      stop_knockd
      result attack_replay_knockd_spoofed_opened "$(grep -c '198\.19\.[0-9.]*: open: OPEN SESAME' "$WORK/attack-replay-knockd.log" || true)" ;;
    fwknop)
      stop_fwknopd
      result attack_replay_fwknop_replays_refused "$(grep -ci 'replay' "$WORK/attack-replay-fwknop.log" || true)" ;;
  esac
}

if part 5; then
  echo "== 5. under attack, $ATTACK_KNOCKS valid knocks each"
  for tool in "$ATTACK_FLOOD" "$ATTACK_REPLAY"; do
    [ -x "$tool" ] || { echo "bench: $tool is not built (BUILD_TESTING)" >&2; exit 1; }
  done
  attack_fill ours
  [ "$HAVE_KNOCKD" = 1 ] && attack_fill knockd
  attack_blind ours
  [ "$HAVE_KNOCKD" = 1 ] && attack_blind knockd
  attack_replay ours
  [ "$HAVE_KNOCKD" = 1 ] && attack_replay knockd
  [ "$HAVE_FWKNOP" = 1 ] && attack_replay fwknop
fi

# --- Report ----------------------------------------------------------------

{
  echo "machine $(nproc)_cores_$(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
  echo "cpu $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1 | tr ' ' '_')"
  echo "kernel $(uname -r)"
  echo "load_at_end $(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
  echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >>"$SUMMARY"
if [ "$SMOKE" = 0 ]; then
  bash "$ROOT/bench/report.sh" "$SUMMARY" "$ROOT/docs/BENCHMARKS.md"
fi
echo "bench: done ($SUMMARY)"
