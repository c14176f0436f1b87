#!/usr/bin/env bash
# A flood cannot turn the source table against a client. With a small table
# (max_sources 2000), two attacks from forged 198.19.0.0/16 sources, each
# after a control without it:
#  1. the table filled three times over with sources holding 7 of the 8
#     ports of live sequences (one sniffed from alice's own knock, one that
#     an insider derives with its client key), then 2,000 new such sources a
#     second while alice knocks;
#  2. with 1,000 clients configured, a blind fill of sources knocking 16
#     random ports each, then 2,000 new ones a second while alice knocks.
# Each time `knock --wait` must open with its first burst (no second knock)
# and knockd must have evicted (the table was really full). Every flood is
# bounded in sources and seconds.
source "$(dirname "$0")/lib.sh"

FLOOD=$(dirname "$SEND_KNOCKS")/flood_knocks
GEN_CONFIG=$(dirname "$SEND_KNOCKS")/../bench/bench_gen_config
[ -x "$FLOOD" ] || fail "no flood_knocks next to send_knocks ($FLOOD)"
[ -x "$GEN_CONFIG" ] || fail "no bench_gen_config in the build ($GEN_CONFIG)"
MAX_SOURCES=2000
TRICKLE_PER_S=2000

two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
MALLORY_PUB=$(client_keys mallory)
SERVER_MAC=$(ip -n "$S" link show dev "$(veth_dev "$S")" | awk '/link\/ether/ {print $2}')
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
client_config "$WORK/mallory.toml" mallory "$SERVER_PUB"
start_bg "$S" listener nc -lk 198.18.0.1 2222

# start_knockd CONF: knockd on CONF in $S; its pid in KNOCKD_PID.
start_knockd() {
  "$KNOCKD" -c "$1" check >/dev/null
  start_bg "$S" knockd "$KNOCKD" -c "$1" run
  KNOCKD_PID=$LAST_PID
  wait_for_log knockd "started" 10
}

# first_burst_opens NAME SERVICE: alice knocks once with --wait; fails unless
# the port opened without the client's second knock.
first_burst_opens() {
  local rc=0
  knock_with "$C" "$WORK/alice.toml" -v bastion "$2" --wait 2222 --timeout 6s \
    >"$WORK/knock-$1.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "$1: knock --wait exited $rc"
  ! grep -q "knocking again" "$WORK/knock-$1.log" ||
    fail "$1: the first burst did not open, the client knocked again"
}

# wait_closed: until alice's last grant has run out (open_for 4 s).
wait_closed() {
  for _ in $(seq 40); do can_connect "$C" 198.18.0.1 2222 || return 0; sleep 0.25; done
  fail "port 2222 still open 10 s after the grant"
}

# evictions: the count in knockd's counters line at its stop.
stop_knockd_evictions() {
  stop_pid "$KNOCKD_PID"
  [ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
  EVICTIONS=$(grep -o "evictions [0-9]*" "$WORK/knockd.log" | tail -n 1 | cut -d' ' -f2)
  mv "$WORK/knockd.log" "$WORK/knockd-$1.log"
}

# flood ARGS...: flood_knocks from the client's link to the server.
flood() {
  in_ns "$C" timeout 70 "$FLOOD" "$C_DEV" "$SERVER_MAC" 198.18.0.1 "$@"
}

# --- 1. Partial sequences of live owners, then a trickle. ---
server_config "$WORK/knockd.toml" knockd_e2e_flood
sed -i "s/^seq_timeout = .*/&\nmax_sources = $MAX_SOURCES/" "$WORK/knockd.toml"
cat >>"$WORK/knockd.toml" <<TOML
[[client]]
name = "mallory"
public_key = "$MALLORY_PUB"
services = ["ssh"]
TOML
start_knockd "$WORK/knockd.toml"

first_burst_opens control-known ssh
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
SNIFFED=$(grant_ports knockd alice 198.18.0.2)
pass "control: alice opens with no flood (sniffed: $SNIFFED)"
# The insider knocks as itself from its own address and so learns a live
# sequence of its own.
knock_with "$C" "$WORK/mallory.toml" bastion ssh ||
  fail "mallory could not knock"
wait_for_log knockd "granted client mallory service ssh from 198.18.0.2 " 5
INSIDER=$(grant_ports knockd mallory 198.18.0.2)
wait_closed

# Seven of eight of each, three times the table, as fast as it goes.
SEVEN=$(cut -d, -f1-7 <<<"$SNIFFED")
INSIDER_SEVEN=$(cut -d, -f2-8 <<<"$INSIDER")
read -r N _ <<<"$(flood --sources $((MAX_SOURCES * 3 / 2)) --ports "$SEVEN" --seconds 20)"
[ "$N" -eq $((MAX_SOURCES * 3 / 2)) ] || fail "the fill sent $N sources"
read -r N _ <<<"$(flood --first 3000 --sources $((MAX_SOURCES * 3 / 2)) \
  --ports "$INSIDER_SEVEN" --seconds 20)"
[ "$N" -eq $((MAX_SOURCES * 3 / 2)) ] || fail "the insider fill sent $N sources"
sleep 0.5
pass "table filled with 6,000 sources holding 7 of 8 ports of two live sequences"

# The trickle runs through alice's knock: at most 8 s, 16,000 sources.
start_bg "$C" trickle timeout 20 "$FLOOD" "$C_DEV" "$SERVER_MAC" 198.18.0.1 \
  --first 6000 --sources 16000 --ports "$SEVEN" --rate "$TRICKLE_PER_S" --seconds 8
TRICKLE_PID=$LAST_PID
sleep 1
first_burst_opens attack-known ssh
stop_pid "$TRICKLE_PID"
[ "$(log_count knockd "granted client alice")" -eq 2 ] ||
  fail "alice's grants: $(log_count knockd "granted client alice"), not 2"
stop_knockd_evictions known
[ "${EVICTIONS:-0}" -gt 0 ] || fail "the table never evicted: not full"
pass "alice opens on her first burst during the trickle ($EVICTIONS evictions)"

# --- 2. 1,000 clients configured, a blind random fill and trickle. ---
"$GEN_CONFIG" --out "$WORK/knockd-1000.toml" --server-key "$WORK/server.key" \
  --state-dir "$WORK/state-1000" --clients 1000 --client-pub "$ALICE_PUB" \
  --max-sources "$MAX_SOURCES" --table knockd_e2e_flood --backend nftables \
  --open-for 4s
start_knockd "$WORK/knockd-1000.toml"
first_burst_opens control-blind svc0
pass "control: alice opens among 1,000 clients with no flood"
wait_closed

read -r N _ <<<"$(flood --sources $((MAX_SOURCES * 5)) --random-ports 16 \
  --range 16384-32767 --seed "$RANDOM" --seconds 30)"
[ "$N" -eq $((MAX_SOURCES * 5)) ] || fail "the blind fill sent $N sources"
sleep 0.5
pass "table filled with 10,000 sources knocking 16 random ports each"
start_bg "$C" trickle-blind timeout 20 "$FLOOD" "$C_DEV" "$SERVER_MAC" 198.18.0.1 \
  --first 10000 --sources 16000 --random-ports 16 --range 16384-32767 \
  --rate "$TRICKLE_PER_S" --seconds 8 --seed "$RANDOM"
TRICKLE_PID=$LAST_PID
sleep 1
first_burst_opens attack-blind svc0
stop_pid "$TRICKLE_PID"
stop_knockd_evictions blind
[ "${EVICTIONS:-0}" -gt 0 ] || fail "the table never evicted: not full"
pass "alice opens on her first burst during the blind trickle ($EVICTIONS evictions)"
